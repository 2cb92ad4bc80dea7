//! OCI descriptors, manifests and indexes, and the canonical JSON every document is written in.
//!
//! Types of our own with `BTreeMap`s rather than `oci-spec`'s (whose maps are `HashMap`s), and
//! serialized with OLPC canonical JSON (sorted keys, no whitespace): the same image always has
//! the same bytes, hence the same digest.

use std::collections::BTreeMap;

use hoist_core::{Digest, Platform};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{ImageError, Result};
use crate::store::BlobStore;

/// Media type of an OCI image manifest.
pub const MEDIA_TYPE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Media type of an OCI image index.
pub const MEDIA_TYPE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Media type of an OCI image config.
pub const MEDIA_TYPE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Media type of a gzip-compressed layer.
pub const MEDIA_TYPE_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The annotation naming a tag in an OCI layout's `index.json`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// A pointer to a blob: what it is, its digest and its size; for index entries, its platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The blob's media type, one of the `MEDIA_TYPE_*` constants.
    pub media_type: String,
    /// The blob's sha256.
    pub digest: Digest,
    /// The blob's length in bytes.
    pub size: u64,
    /// The platform of a manifest listed in an index (OCI's `{architecture, os, variant}`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_platform",
        deserialize_with = "deserialize_platform"
    )]
    pub platform: Option<Platform>,
    /// Annotations, such as the tag of a root in an OCI layout.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// A descriptor without platform or annotations.
    pub fn new(media_type: &str, digest: Digest, size: u64) -> Self {
        Self {
            media_type: media_type.to_owned(),
            digest,
            size,
            platform: None,
            annotations: BTreeMap::new(),
        }
    }
}

/// OCI's platform object, as it appears in index entries.
#[derive(Serialize, Deserialize)]
struct OciPlatform {
    architecture: String,
    os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    variant: Option<String>,
}

#[allow(clippy::ref_option)] // serde's `serialize_with` passes `&Option<T>`
fn serialize_platform<S: Serializer>(p: &Option<Platform>, s: S) -> Result<S::Ok, S::Error> {
    p.as_ref()
        .map(|p| OciPlatform {
            architecture: p.arch.clone(),
            os: p.os.clone(),
            variant: p.variant.clone(),
        })
        .serialize(s)
}

fn deserialize_platform<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Platform>, D::Error> {
    Ok(Option::<OciPlatform>::deserialize(d)?.map(|p| Platform {
        os: p.os,
        arch: p.architecture,
        variant: p.variant,
    }))
}

/// An OCI image manifest: one config and its layers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Manifest {
    pub schema_version: u32,
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// An OCI image index: manifests for several platforms (or an OCI layout's `index.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Index {
    pub schema_version: u32,
    pub media_type: String,
    pub manifests: Vec<Descriptor>,
}

impl Index {
    pub fn new(manifests: Vec<Descriptor>) -> Self {
        Self {
            schema_version: 2,
            media_type: MEDIA_TYPE_INDEX.to_owned(),
            manifests,
        }
    }
}

/// Serializes `value` as OLPC canonical JSON: sorted keys, no insignificant whitespace.
pub(crate) fn canonical_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut out, olpc_cjson::CanonicalFormatter::new());
    // Our documents hold only strings, integers, lists and string-keyed maps, all of which
    // canonical JSON can represent, and writing to a Vec cannot fail.
    value
        .serialize(&mut ser)
        .expect("hoist's OCI documents are representable in canonical JSON");
    out
}

/// Writes `value` canonically into the store and describes it.
pub(crate) fn put_json<T: Serialize>(
    store: &BlobStore,
    media_type: &str,
    value: &T,
) -> Result<Descriptor> {
    let bytes = canonical_json(value);
    let digest = store.put_bytes(&bytes)?;
    Ok(Descriptor::new(media_type, digest, bytes.len() as u64))
}

/// Reads a JSON document back from the store.
pub(crate) fn read_json<T: for<'de> Deserialize<'de>>(
    store: &BlobStore,
    digest: &Digest,
    what: &'static str,
) -> Result<T> {
    let bytes = store.read(digest)?;
    serde_json::from_slice(&bytes).map_err(|source| ImageError::CorruptBlob {
        digest: digest.clone(),
        what,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_json_is_canonical_with_oci_platform() {
        let mut d = Descriptor::new(MEDIA_TYPE_MANIFEST, Digest::of(b""), 7);
        d.platform = Some("linux/arm/v7".parse().unwrap());
        let json = String::from_utf8(canonical_json(&d)).unwrap();
        assert_eq!(
            json,
            r#"{"digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","mediaType":"application/vnd.oci.image.manifest.v1+json","platform":{"architecture":"arm","os":"linux","variant":"v7"},"size":7}"#
        );
        let back: Descriptor = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
    }
}
