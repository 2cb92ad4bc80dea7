//! Reading manifests and indexes as registries serve them: OCI and Docker v2 media types.

use hoist_image::{Descriptor, MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST};
use serde::Deserialize;

use crate::error::{RegistryError, Result};

/// Docker's schema 2 image manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker's manifest list (its multi-platform index).
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The `Accept` header for manifests: every type hoist can read.
pub(crate) const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// An image manifest: a config and layers.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ManifestDoc {
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

/// An index (or manifest list): per-platform manifests.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IndexDoc {
    pub manifests: Vec<Descriptor>,
}

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Manifest,
    Index,
}

/// The kind of a document with `media_type` (falling back on the body's own `mediaType`).
pub(crate) fn kind(media_type: &str, bytes: &[u8], reference: &str) -> Result<Kind> {
    let from_body = || {
        serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| v["mediaType"].as_str().map(str::to_owned))
    };
    let mt = if media_type.is_empty() || media_type == "application/json" {
        from_body().unwrap_or_default()
    } else {
        media_type.to_owned()
    };
    match mt.as_str() {
        MEDIA_TYPE_MANIFEST | DOCKER_MANIFEST => Ok(Kind::Manifest),
        MEDIA_TYPE_INDEX | DOCKER_MANIFEST_LIST => Ok(Kind::Index),
        _ => Err(RegistryError::UnsupportedMediaType {
            reference: reference.to_owned(),
            media_type: mt,
        }),
    }
}

/// Parses a JSON document.
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|source| RegistryError::Json {
        what: what.to_owned(),
        source,
    })
}
