//! Binaries + base → a reproducible OCI image, with no Docker daemon.
//!
//! What it does: writes the app layer (the Go binary at `/app/<name>`) and hoist's own `static`
//! base layer as deterministic tars (sorted entries, fixed owners and modes, one given mtime),
//! or puts the app layer on a registry base already pulled into the store
//! ([`ImageBase::Image`]: its compressed layers reused as they are, its config merged);
//! gzips them in parallel with output independent of the thread count, writes the OCI config,
//! manifest and (for several platforms) index as canonical JSON, all into a content-addressed
//! [`BlobStore`]; and exports images as an OCI layout directory or a `docker save` archive.
//! Same inputs, same bytes, same digests, on any machine with the same Cargo.lock.
//!
//! What it does not do: build Go code (`hoist-gobuild`), push or pull (`hoist-registry`, which
//! also fetches registry bases into the store before a build), read the environment
//! (`SOURCE_DATE_EPOCH` is resolved by the caller and passed as [`ImageSpec::created`]), or talk
//! to an engine.

mod base;
mod config;
mod docker_archive;
mod error;
mod gzip;
mod layer;
mod layout;
mod manifest;
mod registry_base;
mod store;
mod tar;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hoist_core::{Digest, Platform};
use serde::Serialize;

pub use base::{BASE_MTIME, NONROOT};
pub use config::{DEFAULT_PATH, USER, WORKING_DIR, rfc3339};
pub use docker_archive::{
    ArchiveParts, export_archive_parts, write_docker_archive, write_docker_archive_from_parts,
};
pub use error::{ImageError, Result};
pub use gzip::{BLOCK_SIZE, Compression, compress as gzip};
pub use layer::{APP_DIR, Layer, LayerKind};
pub use layout::{LayoutRoot, write_oci_layout};
pub use manifest::{
    ANNOTATION_REF_NAME, Descriptor, MEDIA_TYPE_CONFIG, MEDIA_TYPE_INDEX, MEDIA_TYPE_LAYER_GZIP,
    MEDIA_TYPE_MANIFEST,
};
pub use registry_base::{BaseImage, ImageBase};
pub use store::BlobStore;

use crate::config::{ConfigInput, ImageConfig};
use crate::manifest::{Index, Manifest, put_json};

/// Everything one platform's image is made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageSpec {
    /// The platform the binary was built for; it goes into the config and the index.
    pub platform: Platform,
    /// What the app layer is put on (a registry base already pulled into the store).
    pub base: ImageBase,
    /// The binary's name in the image (`/app/<name>`), usually the app name.
    pub name: String,
    /// The binary on the host.
    pub binary: PathBuf,
    /// Arguments after the entrypoint (the config's `Cmd`).
    pub args: Vec<String>,
    /// Environment variables, after hoist's `PATH` (a `PATH` here replaces it).
    pub env: BTreeMap<String, String>,
    /// The port the service listens on, exposed as `<port>/tcp`.
    pub port: Option<u16>,
    /// The state directory (`run.state`, like `/data`): made in the image, owned by the app's
    /// user, so a volume mounted there is writable.
    pub state: Option<String>,
    /// Shared libraries a cgo binary needs: where the image has them (like
    /// `/lib/x86_64-linux-gnu/libc.so.6`) and the file on this machine they are copied from.
    pub libraries: Vec<(String, PathBuf)>,
    /// Extra config labels; they win over hoist's `org.opencontainers.image.*` labels.
    pub labels: BTreeMap<String, String>,
    /// `org.opencontainers.image.source`, e.g. the git remote.
    pub source: Option<String>,
    /// `org.opencontainers.image.revision`, the commit.
    pub revision: Option<String>,
    /// `org.opencontainers.image.version`.
    pub version: Option<String>,
    /// Seconds since the epoch (`SOURCE_DATE_EPOCH` or the commit time): the app layer's mtime,
    /// the config's `created`. Never the current time, or no two builds would agree.
    pub created: u64,
    /// How layers are compressed.
    pub compression: Compression,
}

impl ImageSpec {
    /// A spec on the `static` base with no args, env, port or labels.
    pub fn new(platform: Platform, name: impl Into<String>, binary: impl Into<PathBuf>) -> Self {
        Self {
            platform,
            base: ImageBase::Static,
            name: name.into(),
            binary: binary.into(),
            args: Vec::new(),
            env: BTreeMap::new(),
            port: None,
            state: None,
            libraries: Vec::new(),
            labels: BTreeMap::new(),
            source: None,
            revision: None,
            version: None,
            created: 0,
            compression: Compression::default(),
        }
    }
}

/// One platform's image, stored in the [`BlobStore`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuiltImage {
    /// The platform it runs on.
    pub platform: Platform,
    /// The manifest (with its platform set, ready for an index).
    pub manifest: Descriptor,
    /// The image config's digest, the "image ID" engines show.
    pub config: Digest,
    /// Layers, bottom first.
    pub layers: Vec<Layer>,
    /// Where the time went.
    pub timings: Timings,
}

/// Durations of one image build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timings {
    /// Making and compressing the layers (what a layer cache hit saves).
    #[serde(rename = "tar_compress_ms", serialize_with = "layer::millis")]
    pub tar_compress: Duration,
    /// The whole build, including reading the binary and writing JSON.
    #[serde(rename = "total_ms", serialize_with = "layer::millis")]
    pub total: Duration,
}

/// Builds one platform's image into `store`: layers, config and manifest.
///
/// # Errors
/// [`ImageError::InvalidBinaryName`], [`ImageError::InvalidLevel`], [`ImageError::ReadBinary`];
/// for a registry base [`ImageError::BasePlatform`], [`ImageError::BaseLayerCount`],
/// [`ImageError::BaseLayerMediaType`], [`ImageError::DiffIdMismatch`]; and store errors
/// ([`ImageError::MissingBlob`] when the base was not pulled into the store).
pub fn build_image(spec: &ImageSpec, store: &BlobStore) -> Result<BuiltImage> {
    let start = Instant::now();
    spec.compression.validate()?;
    layer::validate_name(&spec.name)?;
    // A registry base's layers are described, not built: they count as neither ours nor new.
    let (base_config, base_layers) = match &spec.base {
        ImageBase::Image(base) => {
            let (config, layers) = registry_base::load(store, base, &spec.platform)?;
            (Some(config), layers)
        }
        ImageBase::Static | ImageBase::Scratch => (None, Vec::new()),
    };
    let mut layers = match &spec.base {
        ImageBase::Static => vec![layer::static_base(store, &spec.compression)?],
        ImageBase::Scratch | ImageBase::Image(_) => Vec::new(),
    };
    let binary = std::fs::read(&spec.binary).map_err(|source| ImageError::ReadBinary {
        path: spec.binary.clone(),
        source,
    })?;
    let libraries = spec
        .libraries
        .iter()
        .map(|(at, file)| {
            layer::validate_path(at)?;
            let bytes = std::fs::read(file).map_err(|source| ImageError::ReadBinary {
                path: file.clone(),
                source,
            })?;
            Ok((at.clone(), bytes))
        })
        .collect::<Result<Vec<_>>>()?;
    layers.push(layer::app(
        store,
        &binary,
        &spec.name,
        &spec.platform.to_string(),
        &layer::AppExtras {
            state: spec.state.as_deref(),
            libraries: &libraries,
        },
        spec.created,
        &spec.compression,
    )?);
    drop(binary);

    let config = ImageConfig::new(ConfigInput {
        platform: &spec.platform,
        entrypoint: format!("/{APP_DIR}/{}", spec.name),
        args: &spec.args,
        env: &spec.env,
        port: spec.port,
        labels: labels(spec),
        created: spec.created,
        layers: layers
            .iter()
            .map(|l| match l.kind {
                LayerKind::Base => (l.diff_id.clone(), BASE_MTIME, "static base"),
                LayerKind::App => (l.diff_id.clone(), spec.created, "app"),
            })
            .collect(),
        base: base_config.as_ref(),
    });
    let layers: Vec<Layer> = base_layers.into_iter().chain(layers).collect();
    let config = put_json(store, MEDIA_TYPE_CONFIG, &config)?;
    let manifest = Manifest {
        schema_version: 2,
        media_type: MEDIA_TYPE_MANIFEST.to_owned(),
        config: config.clone(),
        layers: layers.iter().map(Layer::descriptor).collect(),
    };
    let mut manifest = put_json(store, MEDIA_TYPE_MANIFEST, &manifest)?;
    manifest.platform = Some(spec.platform.clone());
    Ok(BuiltImage {
        platform: spec.platform.clone(),
        manifest,
        config: config.digest,
        timings: Timings {
            tar_compress: layers.iter().map(|l| l.duration).sum(),
            total: start.elapsed(),
        },
        layers,
    })
}

fn labels(spec: &ImageSpec) -> BTreeMap<String, String> {
    let ours = [
        ("created", Some(rfc3339(spec.created))),
        ("source", spec.source.clone()),
        ("revision", spec.revision.clone()),
        ("version", spec.version.clone()),
    ];
    let mut labels: BTreeMap<String, String> = ours
        .into_iter()
        .filter_map(|(k, v)| Some((format!("org.opencontainers.image.{k}"), v?)))
        .collect();
    labels.extend(spec.labels.clone());
    labels
}

/// Builds the image index over several platforms' images, in the order given (engines pick the
/// first match). With one platform, use the manifest itself as the root instead.
///
/// # Errors
/// [`ImageError::EmptyIndex`] for no images; store errors.
pub fn build_index(images: &[BuiltImage], store: &BlobStore) -> Result<Descriptor> {
    if images.is_empty() {
        return Err(ImageError::EmptyIndex);
    }
    let index = Index::new(images.iter().map(|i| i.manifest.clone()).collect());
    put_json(store, MEDIA_TYPE_INDEX, &index)
}
