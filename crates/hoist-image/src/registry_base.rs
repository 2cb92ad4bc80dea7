//! Bases from a registry, once pulled: their layers reused as they are, their config merged.
//!
//! This module never touches the network. The caller (the CLI, through `hoist-registry`) pulls
//! the base's config and layers into the [`BlobStore`], every digest checked, and hands over a
//! [`BaseImage`] per platform. Here the compressed layers go into the image unchanged (same
//! digests, so registries mount or find them instead of receiving them again), and the base's
//! config is read for what the image keeps from it (`ImageConfig::new` says what).

use std::io::{self, BufReader, Read};
use std::path::Path;
use std::time::Instant;

use flate2::read::GzDecoder;
use hoist_core::{Digest, Platform};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::config::{History, RootFs};
use crate::error::{ImageError, Result};
use crate::layer::{Layer, LayerKind};
use crate::manifest::{Descriptor, MEDIA_TYPE_LAYER_GZIP, canonical_json, read_json};
use crate::store::BlobStore;

/// Docker's media type of a gzipped layer: the same bytes as OCI's `tar+gzip`.
const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// What the app layer is put on, resolved: hoist's own layer, nothing, or a registry image
/// already in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageBase {
    /// hoist's `static` layer (CA bundle, passwd/group with nonroot 65532, /tmp, homes).
    Static,
    /// Nothing below the app layer.
    Scratch,
    /// One platform's image of a registry base, pulled into the store.
    Image(BaseImage),
}

/// One platform's image of a base from a registry, with its config and layers in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseImage {
    /// The reference as configured (`registry.example.com/base:1`), for errors.
    pub reference: String,
    /// The digest of the base's manifest for this platform (what the tag resolved to).
    pub manifest: Digest,
    /// The base's image config: its `Env`, `User`, diff_ids and history are kept.
    pub config: Digest,
    /// The base's compressed layers, bottom first: put into the image as they are.
    pub layers: Vec<Descriptor>,
}

/// The parts of a base's image config hoist reads (OCI and Docker configs alike).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BaseConfig {
    pub architecture: String,
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub config: Option<BaseRunConfig>,
    pub rootfs: RootFs,
    #[serde(default)]
    pub history: Vec<History>,
}

/// The base's runtime settings that hoist keeps.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BaseRunConfig {
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default)]
    pub user: Option<String>,
}

impl BaseConfig {
    /// The base's `Env` (empty when it has none).
    pub fn env(&self) -> &[String] {
        self.config
            .as_ref()
            .and_then(|c| c.env.as_deref())
            .unwrap_or_default()
    }

    /// The base's `User`, when it sets one.
    pub fn user(&self) -> Option<&str> {
        self.config
            .as_ref()
            .and_then(|c| c.user.as_deref())
            .filter(|u| !u.is_empty())
    }
}

/// Reads `base`'s config and describes its layers, checking that it is for `platform`, that
/// its layers are gzipped tars, and (once per layer, then remembered) that each decompresses to
/// the diff_id the config gives it.
pub(crate) fn load(
    store: &BlobStore,
    base: &BaseImage,
    platform: &Platform,
) -> Result<(BaseConfig, Vec<Layer>)> {
    let config: BaseConfig = read_json(store, &base.config, "image config")?;
    let found = Platform {
        os: config.os.clone(),
        arch: config.architecture.clone(),
        variant: config.variant.clone(),
    };
    if !found.matches(platform) {
        return Err(ImageError::BasePlatform {
            reference: base.reference.clone(),
            platform: platform.to_string(),
            found: found.to_string(),
        });
    }
    let diff_ids = &config.rootfs.diff_ids;
    if diff_ids.len() != base.layers.len() {
        return Err(ImageError::BaseLayerCount {
            reference: base.reference.clone(),
            layers: base.layers.len(),
            diff_ids: diff_ids.len(),
        });
    }
    let layers = base
        .layers
        .iter()
        .zip(diff_ids)
        .map(|(d, diff_id)| layer(store, base, d, diff_id))
        .collect::<Result<_>>()?;
    Ok((config, layers))
}

/// What is remembered about a base layer once its diff_id has been checked.
#[derive(Serialize, Deserialize)]
struct Checked {
    diff_id: Digest,
    uncompressed_size: u64,
}

fn layer(
    store: &BlobStore,
    base: &BaseImage,
    desc: &Descriptor,
    diff_id: &Digest,
) -> Result<Layer> {
    let start = Instant::now();
    if desc.media_type != MEDIA_TYPE_LAYER_GZIP && desc.media_type != DOCKER_LAYER_GZIP {
        return Err(ImageError::BaseLayerMediaType {
            reference: base.reference.clone(),
            digest: desc.digest.clone(),
            media_type: desc.media_type.clone(),
        });
    }
    let record = store
        .root()
        .join("layers")
        .join("registry")
        .join(format!("{}.json", desc.digest.hex()));
    let checked = if let Some(c) = read_checked(&record).filter(|c| c.diff_id == *diff_id) {
        c
    } else {
        let c = check(store, &desc.digest, diff_id)?;
        store.write_atomic(&record, &canonical_json(&c))?;
        c
    };
    Ok(Layer {
        kind: LayerKind::Base,
        digest: desc.digest.clone(),
        diff_id: checked.diff_id,
        size: desc.size,
        uncompressed_size: checked.uncompressed_size,
        cached: true,
        blocks_reused: 0,
        duration: start.elapsed(),
    })
}

fn read_checked(path: &Path) -> Option<Checked> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Decompresses the layer, hashing the tar: it must be the config's diff_id.
fn check(store: &BlobStore, digest: &Digest, diff_id: &Digest) -> Result<Checked> {
    let path = store.path(digest);
    let file = store.open_blob(digest)?;
    let mut gz = GzDecoder::new(BufReader::with_capacity(256 * 1024, file));
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 256 * 1024];
    let mut len = 0u64;
    loop {
        let n = match gz.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(ImageError::Store { path, source }),
        };
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    let actual = Digest::from_sha256(hasher.finalize().into());
    if actual != *diff_id {
        return Err(ImageError::DiffIdMismatch {
            digest: digest.clone(),
            expected: diff_id.clone(),
            actual,
        });
    }
    Ok(Checked {
        diff_id: actual,
        uncompressed_size: len,
    })
}
