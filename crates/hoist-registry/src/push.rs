//! Pushing an image: every blob, configs and layers (concurrently, bounded), then the
//! per-platform manifests by digest, then the root (manifest or index) by each tag, or by digest
//! when there is no tag (a manifest put under a tag is addressable by its digest too, so a
//! separate put by digest would only cost a round trip). A push interrupted at any point leaves
//! no tag on an incomplete image; the blobs that did arrive are found by HEAD next time.

use std::sync::Arc;

use hoist_core::Digest;
use hoist_image::Descriptor;
use reqwest::Method;
use reqwest::blocking::Body;
use reqwest::header::{CONTENT_TYPE, HeaderName};

use crate::auth::Scope;
use crate::blobs::{BlobDir, MountHints, unique};
use crate::client::{Client, Request, Stats};
use crate::error::{RegistryError, Result};
use crate::manifest::{self, IndexDoc, Kind, ManifestDoc};
use crate::observe::Observer;
use crate::parallel;
use crate::reference::{Reference, Repository};
use crate::session::{Session, unexpected};
use crate::upload::BlobPush;

/// What to push where.
pub struct PushRequest<'a> {
    /// The target repository.
    pub repository: &'a Repository,
    /// The image: a manifest or an index, with its media type, digest and size.
    pub root: &'a Descriptor,
    /// Where the image's blobs are read from.
    pub blobs: &'a BlobDir,
    /// Tags to point at the image once it is complete (none: pushed by digest only).
    pub tags: &'a [String],
    /// Where to look up (and record) repositories that hold a blob, for mounts.
    pub hints: Option<&'a MountHints>,
    /// Progress events.
    pub observer: Arc<dyn Observer>,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PushOutcome {
    /// The image's digest (the index's for several platforms).
    pub digest: Digest,
    /// `repository@digest`: what render and deploy use.
    pub pinned: String,
    /// `repository:tag` for each tag written.
    pub tagged: Vec<String>,
    /// Counters of this client (for one push: of that push).
    pub stats: Stats,
}

/// Every document and blob of an image, children before parents.
struct Plan {
    /// Per-platform manifests (empty when the root is a manifest), with their bytes.
    manifests: Vec<(Descriptor, Vec<u8>)>,
    /// The root document's bytes.
    root: Vec<u8>,
    layers: Vec<Descriptor>,
    configs: Vec<Descriptor>,
}

impl Client {
    /// Pushes an image. See the module documentation for the order of operations.
    ///
    /// # Errors
    /// Any [`RegistryError`]: unreachable registry, refused credentials, a blob missing from
    /// `blobs`, a server error that outlasted the retries, …
    pub fn push(&self, req: &PushRequest<'_>) -> Result<PushOutcome> {
        let repo = req.repository;
        let plan = plan(req.root, req.blobs)?;
        let session = self.session(&repo.registry, repo.api_host())?;
        let blob = BlobPush {
            client: self,
            session: &session,
            repository: &repo.name,
            blobs: req.blobs,
            observer: &req.observer,
        };
        let sources = |d: &Digest| {
            req.hints
                .map(|h| h.sources(d, &repo.registry, &repo.name))
                .unwrap_or_default()
        };
        // All blobs in one bounded group (the small configs first, so they never wait behind a
        // large layer); a manifest is only ever pushed after everything it names.
        let all: Vec<Descriptor> = plan.configs.iter().chain(&plan.layers).cloned().collect();
        parallel::for_each(&all, self.options.jobs, |d| {
            blob.push(d, &sources(&d.digest)).map(drop)
        })?;
        if let Some(h) = req.hints {
            h.record(
                repo,
                plan.layers.iter().chain(&plan.configs).map(|d| &d.digest),
            );
        }
        for (desc, bytes) in &plan.manifests {
            self.put_manifest(&session, repo, &desc.digest.to_string(), desc, bytes)?;
            req.observer
                .manifest_pushed(&repo.pinned(&desc.digest).to_string());
        }
        let root = req.root;
        if req.tags.is_empty() {
            self.put_manifest(&session, repo, &root.digest.to_string(), root, &plan.root)?;
        }
        req.observer
            .manifest_pushed(&repo.pinned(&root.digest).to_string());
        let mut tagged = Vec::new();
        for tag in req.tags {
            let r: Reference = repo.tagged(tag);
            self.put_manifest(&session, repo, tag, root, &plan.root)?;
            req.observer.manifest_pushed(&r.to_string());
            tagged.push(r.to_string());
        }
        Ok(PushOutcome {
            digest: root.digest.clone(),
            pinned: repo.pinned(&root.digest).to_string(),
            tagged,
            stats: self.stats(),
        })
    }

    /// PUT a manifest or index under a tag or digest.
    fn put_manifest(
        &self,
        session: &Session,
        repo: &Repository,
        reference: &str,
        desc: &Descriptor,
        bytes: &[u8],
    ) -> Result<()> {
        let what = format!("PUT manifest `{repo}:{reference}`");
        let body_bytes = bytes::Bytes::copy_from_slice(bytes);
        let body = move || -> Result<Body> { Ok(Body::from(body_bytes.clone())) };
        let req = Request::new(
            Method::PUT,
            session.url(&format!("{}/manifests/{reference}", repo.name)),
            what.clone(),
        )
        .scopes(vec![Scope::push(&repo.name)])
        .header(CONTENT_TYPE, desc.media_type.clone())
        .body(&body);
        let resp = self.send(session, &req, true)?;
        if !matches!(resp.status().as_u16(), 201 | 200) {
            return Err(unexpected(session, &what, resp));
        }
        let announced = resp
            .headers()
            .get(HeaderName::from_static("docker-content-digest"))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<Digest>().ok());
        match announced {
            Some(d) if d != desc.digest => Err(RegistryError::DigestMismatch {
                registry: session.registry.clone(),
                what: "pushed manifest",
                expected: desc.digest.clone(),
                actual: d,
            }),
            _ => Ok(()),
        }
    }
}

/// Reads the root (and, for an index, each manifest) and lists the blobs they name.
fn plan(root: &Descriptor, blobs: &BlobDir) -> Result<Plan> {
    let root_bytes = read_checked(blobs, root)?;
    let reference = root.digest.to_string();
    let manifests: Vec<(Descriptor, Vec<u8>)> =
        match manifest::kind(&root.media_type, &root_bytes, &reference)? {
            Kind::Manifest => Vec::new(),
            Kind::Index => {
                let index: IndexDoc = manifest::parse(&root_bytes, &format!("index {reference}"))?;
                index
                    .manifests
                    .into_iter()
                    .map(|d| read_checked(blobs, &d).map(|b| (d, b)))
                    .collect::<Result<_>>()?
            }
        };
    let docs: Vec<ManifestDoc> = if manifests.is_empty() {
        vec![manifest::parse(
            &root_bytes,
            &format!("manifest {reference}"),
        )?]
    } else {
        manifests
            .iter()
            .map(|(d, b)| manifest::parse(b, &format!("manifest {}", d.digest)))
            .collect::<Result<_>>()?
    };
    Ok(Plan {
        layers: unique(docs.iter().flat_map(|m| &m.layers)),
        configs: unique(docs.iter().map(|m| &m.config)),
        manifests,
        root: root_bytes,
    })
}

/// Reads a document and checks it is what its descriptor says.
fn read_checked(blobs: &BlobDir, desc: &Descriptor) -> Result<Vec<u8>> {
    let bytes = blobs.read(&desc.digest)?;
    let actual = Digest::of(&bytes);
    if actual == desc.digest {
        Ok(bytes)
    } else {
        Err(RegistryError::DigestMismatch {
            registry: "the local store".to_owned(),
            what: "document",
            expected: desc.digest.clone(),
            actual,
        })
    }
}
