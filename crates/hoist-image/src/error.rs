//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

use hoist_core::Digest;

/// Why an image could not be built or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// The Go binary to put in the app layer could not be read.
    #[error("cannot read the binary `{path}`")]
    ReadBinary {
        /// The binary's path on the host.
        path: PathBuf,
        /// The I/O cause.
        #[source]
        source: io::Error,
    },
    /// The blob store (the cache directory) could not be created, read or written.
    #[error("cannot use the blob store at `{path}`")]
    Store {
        /// The file or directory in the store that failed.
        path: PathBuf,
        /// The I/O cause.
        #[source]
        source: io::Error,
    },
    /// A blob an image refers to is not in the store (it was removed, or never built).
    #[error("blob `{digest}` is missing from the store at `{path}`")]
    MissingBlob {
        /// The missing blob.
        digest: Digest,
        /// Where it was expected.
        path: PathBuf,
    },
    /// A stored manifest, index or config is not the JSON hoist wrote.
    #[error("blob `{digest}` is not a valid {what}")]
    CorruptBlob {
        /// The blob that failed to parse.
        digest: Digest,
        /// What it was read as (`manifest`, `image config`, ...).
        what: &'static str,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A layer decompressed to other bytes than its config's diff_id says.
    #[error("layer `{digest}` decompresses to `{actual}`, but the image config says `{expected}`")]
    DiffIdMismatch {
        /// The compressed layer.
        digest: Digest,
        /// The diff_id in the image config.
        expected: Digest,
        /// The sha256 of the decompressed bytes.
        actual: Digest,
    },
    /// A registry base's config is for another platform than the image being built.
    #[error("the base `{reference}` given for `{platform}` is an image for `{found}`")]
    BasePlatform {
        /// The base image reference as configured.
        reference: String,
        /// The platform being built.
        platform: String,
        /// The platform the base's config names.
        found: String,
    },
    /// A registry base's manifest and config disagree on how many layers it has.
    #[error(
        "the base `{reference}` is inconsistent: its manifest lists {layers} layers, its config {diff_ids} diff_ids"
    )]
    BaseLayerCount {
        /// The base image reference as configured.
        reference: String,
        /// Layers in the manifest.
        layers: usize,
        /// diff_ids in the config.
        diff_ids: usize,
    },
    /// A registry base has a layer that is not a gzipped tar (zstd, uncompressed, foreign).
    #[error(
        "the base `{reference}` has layer `{digest}` of media type `{media_type}`; hoist reuses gzipped tar layers only"
    )]
    BaseLayerMediaType {
        /// The base image reference as configured.
        reference: String,
        /// The layer.
        digest: Digest,
        /// Its media type.
        media_type: String,
    },
    /// A gzip level outside 0–9.
    #[error("compression level `{level}` is out of range; expected 0 to 9")]
    InvalidLevel {
        /// The level given.
        level: u32,
    },
    /// The binary's name cannot be a single file name under `/app`.
    #[error(
        "`{name}` cannot name the binary in the image; expected 1 to 64 of `a-z A-Z 0-9 . _ -`"
    )]
    InvalidBinaryName {
        /// The name given.
        name: String,
    },
    /// The deflate engine refused its input (a bug in hoist or zlib-rs).
    #[error("gzip compression failed")]
    Compress {
        /// The cause from flate2.
        #[source]
        source: flate2::CompressError,
    },
    /// An image index needs at least one image.
    #[error("an image index needs at least one image; none was built")]
    EmptyIndex,
    /// The layout target exists but holds something else: hoist never deletes what it did not write.
    #[error(
        "the OCI layout target `{path}` exists and is not an OCI layout; refusing to replace it"
    )]
    NotALayout {
        /// The target directory.
        path: PathBuf,
    },
    /// The OCI layout directory could not be written.
    #[error("cannot write the OCI layout `{path}`")]
    Layout {
        /// The target directory (or the file in it that failed).
        path: PathBuf,
        /// The I/O cause.
        #[source]
        source: io::Error,
    },
    /// The docker-archive file could not be written.
    #[error("cannot write the docker archive `{path}`")]
    Archive {
        /// The target file.
        path: PathBuf,
        /// The I/O cause.
        #[source]
        source: io::Error,
    },
}

/// Results of this crate.
pub type Result<T, E = ImageError> = std::result::Result<T, E>;
