//! Layers: a deterministic tar, gzipped in parallel, stored by digest, and cached by input.
//!
//! A layer's cache key covers everything its bytes depend on (the contents, their path in the
//! image, the mtime, the gzip level and this crate's version and layer format), so a hit can skip
//! tarring and compressing altogether: the record names blobs already in the store.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hoist_core::Digest;
use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::base::{self, NONROOT};
use crate::error::{ImageError, Result};
use crate::gzip::{self, BlockRef, Compression, Memo};
use crate::manifest::{Descriptor, MEDIA_TYPE_LAYER_GZIP};
use crate::store::BlobStore;
use crate::tar::{self, Entry, MODE_DIR, MODE_EXEC, ROOT};

/// Bump when the tar layout or the gzip block scheme changes, so old cache records are ignored.
/// 2: `/app` belongs to the app's user.
const LAYER_FORMAT: u32 = 2;

/// The directory binaries are put in.
pub const APP_DIR: &str = "app";

/// Which part of the image a layer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    /// The `static` base, or a layer of a registry base (reused as pulled, `cached`).
    Base,
    /// The application binary.
    App,
}

/// One built (or cached) layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layer {
    /// Base or app.
    pub kind: LayerKind,
    /// The sha256 of the gzip bytes: the blob's name in stores and registries.
    pub digest: Digest,
    /// The sha256 of the uncompressed tar: what the image config lists.
    pub diff_id: Digest,
    /// Compressed size in bytes.
    pub size: u64,
    /// Uncompressed tar size in bytes.
    pub uncompressed_size: u64,
    /// Whether the layer came from the layer cache without tarring or compressing.
    pub cached: bool,
    /// Compressed blocks copied from the previous layer of the same app and platform instead
    /// of being compressed again (0 when cached or new).
    pub blocks_reused: usize,
    /// Time spent making the tar and compressing it (near zero when cached).
    #[serde(rename = "tar_compress_ms", serialize_with = "millis")]
    pub duration: Duration,
}

impl Layer {
    /// The manifest's descriptor of this layer.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(MEDIA_TYPE_LAYER_GZIP, self.digest.clone(), self.size)
    }
}

pub(crate) fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// What the layer cache remembers about a layer.
#[derive(Serialize, Deserialize)]
struct Record {
    digest: Digest,
    diff_id: Digest,
    size: u64,
    uncompressed_size: u64,
}

/// The `static` base layer. Its tar is rebuilt (a few hundred KiB, a millisecond) to key the
/// cache by content, so a new CA list never reuses a stale layer; compression is what is cached.
pub(crate) fn static_base(store: &BlobStore, compression: &Compression) -> Result<Layer> {
    let start = Instant::now();
    let tar = base::static_tar();
    let diff_id = sha256(&tar);
    let key = cache_key(&[b"static", diff_id.hex().as_bytes()], compression);
    let layer = cached_or_build(store, &key, LayerKind::Base, compression, None, || tar)?;
    Ok(Layer {
        duration: start.elapsed(),
        ..layer
    })
}

/// What the app layer holds besides the binary.
pub(crate) struct AppExtras<'a> {
    /// The state directory (`run.state`, like `/data`).
    pub(crate) state: Option<&'a str>,
    /// Shared libraries of a cgo binary: their path in the image and their bytes.
    pub(crate) libraries: &'a [(String, Vec<u8>)],
}

/// The app layer: `/app/` and `/app/<name>`, the state directory (with its parents) and a cgo
/// binary's shared libraries, every entry with mtime `mtime`.
pub(crate) fn app(
    store: &BlobStore,
    binary: &[u8],
    name: &str,
    platform: &str,
    extras: &AppExtras<'_>,
    mtime: u64,
    compression: &Compression,
) -> Result<Layer> {
    let start = Instant::now();
    let path = format!("{APP_DIR}/{name}");
    let state_dirs = extras.state.map(state_dirs).unwrap_or_default();
    let mut key_parts: Vec<Vec<u8>> = vec![
        b"app".to_vec(),
        Sha256::digest(binary).to_vec(),
        path.as_bytes().to_vec(),
        mtime.to_le_bytes().to_vec(),
        extras.state.unwrap_or_default().as_bytes().to_vec(),
    ];
    for (lib_path, bytes) in extras.libraries {
        key_parts.push(lib_path.as_bytes().to_vec());
        key_parts.push(Sha256::digest(bytes).to_vec());
    }
    let key_refs: Vec<&[u8]> = key_parts.iter().map(Vec::as_slice).collect();
    let key = cache_key(&key_refs, compression);
    let lineage = Lineage::new(store, &[name.as_bytes(), platform.as_bytes()]);
    let layer = cached_or_build(
        store,
        &key,
        LayerKind::App,
        compression,
        Some(&lineage),
        || {
            // /app, the working directory, is the app's user's: an app that writes next to
            // its binary (pocketbase's pb_data) can; the binary itself stays root's.
            let mut entries = vec![
                Entry::dir(APP_DIR, MODE_DIR, NONROOT),
                Entry::file(&path, binary, MODE_EXEC),
            ];
            entries.extend(
                state_dirs
                    .iter()
                    .map(|(dir, owner)| Entry::dir(dir, MODE_DIR, *owner)),
            );
            entries.extend(
                extras
                    .libraries
                    .iter()
                    .map(|(p, bytes)| Entry::file(p, bytes.as_slice(), MODE_EXEC)),
            );
            tar::write(entries, mtime)
        },
    )?;
    Ok(Layer {
        duration: start.elapsed(),
        ..layer
    })
}

/// The directories of a state path, parents first, without the leading `/`: parents root's
/// (or the app's, below `/app`), the directory itself the app's user's, so a volume mounted
/// there starts out writable (engines copy the mount point's owner into a new volume).
fn state_dirs(path: &str) -> Vec<(String, u64)> {
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    (1..=parts.len())
        .map(|n| {
            let dir = parts[..n].join("/");
            let owner = if n == parts.len() || parts[0] == APP_DIR {
                NONROOT
            } else {
                ROOT
            };
            (dir, owner)
        })
        .filter(|(dir, _)| dir != APP_DIR)
        .collect()
}

fn cached_or_build(
    store: &BlobStore,
    key: &str,
    kind: LayerKind,
    compression: &Compression,
    lineage: Option<&Lineage>,
    make_tar: impl FnOnce() -> Vec<u8>,
) -> Result<Layer> {
    let record_path = store.root().join("layers").join(format!("{key}.json"));
    if let Some(record) = read_record(store, &record_path) {
        return Ok(Layer {
            kind,
            digest: record.digest,
            diff_id: record.diff_id,
            size: record.size,
            uncompressed_size: record.uncompressed_size,
            cached: true,
            blocks_reused: 0,
            duration: Duration::ZERO,
        });
    }
    let tar = make_tar();
    let previous = lineage.and_then(|l| l.previous(store));
    let memo = previous
        .as_ref()
        .map_or_else(Memo::default, |(blob, refs)| Memo::new(blob, refs));
    // The diff_id is hashed on another core while the blocks are compressed.
    let (diff_id, gz) = std::thread::scope(|s| {
        let hasher = s.spawn(|| sha256(&tar));
        let gz = gzip::compress_with(&tar, compression, &memo);
        (
            hasher
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            gz,
        )
    });
    let gz = gz?;
    let digest = store.put_bytes(&gz.bytes)?;
    if let Some(l) = lineage {
        l.remember(store, &digest, &gz.blocks);
    }
    let blocks_reused = gz.reused;
    let gz = gz.bytes;
    let record = Record {
        digest,
        diff_id,
        size: gz.len() as u64,
        uncompressed_size: tar.len() as u64,
    };
    store.write_atomic(&record_path, &crate::manifest::canonical_json(&record))?;
    Ok(Layer {
        kind,
        digest: record.digest,
        diff_id: record.diff_id,
        size: record.size,
        uncompressed_size: record.uncompressed_size,
        cached: false,
        blocks_reused,
        duration: Duration::ZERO,
    })
}

/// The latest app layer built for one app and platform, with where its blocks are: the source
/// of reusable blocks for the next build (see [`Memo`]).
struct Lineage {
    path: PathBuf,
}

/// What a lineage file holds.
#[derive(Serialize, Deserialize)]
struct LineageRecord {
    digest: Digest,
    blocks: Vec<BlockRef>,
}

impl Lineage {
    fn new(store: &BlobStore, parts: &[&[u8]]) -> Self {
        let mut h = Sha256::new();
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p);
        }
        Self {
            path: store
                .root()
                .join("layers")
                .join("lineage")
                .join(format!("{}.json", hex::encode(h.finalize()))),
        }
    }

    /// The previous layer's bytes and block list, if it is still in the store intact. Any doubt
    /// (missing, unreadable, digest mismatch) means no reuse, never a wrong byte.
    fn previous(&self, store: &BlobStore) -> Option<(Vec<u8>, Vec<BlockRef>)> {
        let record: LineageRecord =
            serde_json::from_slice(&std::fs::read(&self.path).ok()?).ok()?;
        let blob = std::fs::read(store.path(&record.digest)).ok()?;
        (sha256(&blob) == record.digest).then_some((blob, record.blocks))
    }

    /// Records the layer just built; a failure only costs reuse next time, so it is logged, not
    /// returned.
    fn remember(&self, store: &BlobStore, digest: &Digest, blocks: &[BlockRef]) {
        let record = LineageRecord {
            digest: digest.clone(),
            blocks: blocks.to_vec(),
        };
        if let Err(e) = store.write_atomic(&self.path, &crate::manifest::canonical_json(&record)) {
            tracing::debug!(error = %e, "could not record the layer for block reuse");
        }
    }
}

/// A record is trusted only if its blob is still in the store with the recorded size; anything
/// else (missing, unreadable, stale) is a miss and the layer is rebuilt.
fn read_record(store: &BlobStore, path: &PathBuf) -> Option<Record> {
    let record: Record = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let len = std::fs::metadata(store.path(&record.digest)).ok()?.len();
    (len == record.size).then_some(record)
}

/// Length-prefixed fields, so no two different inputs can hash alike.
fn cache_key(parts: &[&[u8]], compression: &Compression) -> String {
    let mut h = Sha256::new();
    let fingerprint = gzip::compressor_fingerprint(compression.level);
    let format = LAYER_FORMAT.to_le_bytes();
    let level = compression.level.to_le_bytes();
    let block = (gzip::BLOCK_SIZE as u64).to_le_bytes();
    for part in [&fingerprint[..], &format[..], &level[..], &block[..]]
        .iter()
        .chain(parts)
    {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

fn sha256(bytes: &[u8]) -> Digest {
    Digest::from_sha256(Sha256::digest(bytes).into())
}

/// Checks a path for a file hoist puts into a layer: absolute, plain (no `.` or `..`), and
/// short enough for a ustar header.
pub(crate) fn validate_path(path: &str) -> Result<()> {
    let rel = path.trim_start_matches('/');
    let ok = path.starts_with('/')
        && !rel.is_empty()
        && rel.len() <= 100
        && rel
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..");
    if ok {
        Ok(())
    } else {
        Err(ImageError::InvalidBinaryName {
            name: path.to_owned(),
        })
    }
}

/// Checks a binary name is one plain file name, safe as `/app/<name>` in a ustar header.
pub(crate) fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ImageError::InvalidBinaryName {
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_directories_belong_to_the_app_user() {
        assert_eq!(
            state_dirs("/var/lib/notes/"),
            [
                ("var".to_owned(), ROOT),
                ("var/lib".to_owned(), ROOT),
                ("var/lib/notes".to_owned(), NONROOT),
            ]
        );
        assert_eq!(
            state_dirs("/app/pb_data"),
            [("app/pb_data".to_owned(), NONROOT)]
        );
        assert_eq!(state_dirs("/data"), [("data".to_owned(), NONROOT)]);
    }
}
