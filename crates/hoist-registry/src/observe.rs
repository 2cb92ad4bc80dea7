//! Progress reporting: the client tells an [`Observer`] about each blob; the CLI draws bars
//! or prints lines. The default methods do nothing.

use hoist_core::Digest;

/// What happened to one blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobOutcome {
    /// Uploaded to the registry.
    Uploaded,
    /// The registry already had it (found by HEAD); nothing was sent.
    Exists,
    /// Mounted from another repository of the same registry; nothing was sent.
    Mounted {
        /// The repository it was mounted from.
        from: String,
    },
    /// Downloaded (and verified) into the local store.
    Downloaded,
    /// Already in the local store; nothing was downloaded.
    Cached,
}

/// Receives progress events; may be called from several threads at once.
pub trait Observer: Send + Sync {
    /// A blob transfer starts.
    fn blob_started(&self, _digest: &Digest, _size: u64) {}
    /// `bytes` more bytes of the blob went over the wire.
    fn blob_progress(&self, _digest: &Digest, _bytes: u64) {}
    /// A blob is done.
    fn blob_finished(&self, _digest: &Digest, _size: u64, _outcome: &BlobOutcome) {}
    /// A manifest or index was pushed under `reference` (a tag or a digest).
    fn manifest_pushed(&self, _reference: &str) {}
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Observer for Quiet {}
