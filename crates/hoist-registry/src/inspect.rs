//! `inspect`: what an image in a registry is — its manifests, platforms, configs and sizes —
//! without downloading its layers.

use hoist_core::Digest;
use hoist_image::Descriptor;
use serde::Serialize;

use crate::client::Client;
use crate::error::Result;
use crate::manifest::{self, IndexDoc, Kind, ManifestDoc};
use crate::pull::choose;
use crate::reference::Reference;

/// An image as the registry describes it.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The reference inspected, pinned: `repository@digest`.
    pub reference: String,
    /// The digest of the document the reference names.
    pub digest: Digest,
    /// Its media type (index or manifest).
    pub media_type: String,
    /// Each platform's image.
    pub images: Vec<InspectedImage>,
}

/// One platform's image.
#[derive(Debug, Clone, Serialize)]
pub struct InspectedImage {
    /// `os/arch[/variant]`, from the config.
    pub platform: String,
    /// The manifest's digest.
    pub digest: Digest,
    /// The manifest's media type.
    pub media_type: String,
    /// The config's digest (the image ID engines show).
    pub config_digest: Digest,
    /// The config's `config` object: entrypoint, cmd, env, user, labels, exposed ports.
    pub config: serde_json::Value,
    /// The config's `created` time, if any.
    pub created: Option<String>,
    /// The layers, bottom first.
    pub layers: Vec<Descriptor>,
    /// Compressed size of config and layers: what a pull downloads at most.
    pub size: u64,
}

impl Client {
    /// Describes `reference`: fetches its manifests and configs (checked against their
    /// digests), not its layers.
    ///
    /// # Errors
    /// As [`Client::pull`].
    pub fn inspect(&self, reference: &Reference) -> Result<Inspection> {
        let repo = &reference.repository;
        let session = self.session(&repo.registry, repo.api_host())?;
        let root = self.fetch_document(&session, repo, &reference.selector())?;
        let docs = match root.kind {
            Kind::Manifest => vec![(root.descriptor.clone(), root.bytes.clone())],
            Kind::Index => {
                let index: IndexDoc =
                    manifest::parse(&root.bytes, &format!("the index of `{reference}`"))?;
                choose(&index.manifests, &[], reference)?
                    .into_iter()
                    .map(|d| {
                        let doc = self.fetch_document(&session, repo, &d.digest.to_string())?;
                        Ok((doc.descriptor, doc.bytes))
                    })
                    .collect::<Result<_>>()?
            }
        };
        let mut images = Vec::new();
        for (desc, bytes) in docs {
            let m: ManifestDoc = manifest::parse(&bytes, &format!("manifest {}", desc.digest))?;
            let config = self.fetch_blob(&session, repo, &m.config)?;
            let config: serde_json::Value =
                manifest::parse(&config, &format!("config {}", m.config.digest))?;
            let s = |k: &str| config[k].as_str().unwrap_or("unknown").to_owned();
            let mut platform = format!("{}/{}", s("os"), s("architecture"));
            if let Some(v) = config["variant"].as_str() {
                platform = format!("{platform}/{v}");
            }
            images.push(InspectedImage {
                platform,
                digest: desc.digest,
                media_type: desc.media_type,
                config_digest: m.config.digest.clone(),
                created: config["created"].as_str().map(str::to_owned),
                config: config["config"].clone(),
                size: m.config.size + m.layers.iter().map(|l| l.size).sum::<u64>(),
                layers: m.layers,
            });
        }
        Ok(Inspection {
            reference: repo.pinned(&root.descriptor.digest).to_string(),
            digest: root.descriptor.digest,
            media_type: root.descriptor.media_type,
            images,
        })
    }
}
