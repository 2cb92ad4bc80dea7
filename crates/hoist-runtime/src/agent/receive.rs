//! Blobs sent to this agent's store by another machine (`hoist deploy --target hosts`): a zstd
//! stream in, a verified file out.
//!
//! A stream may be a delta: compressed with a blob this store already has as zstd's reference
//! prefix (what `zstd --patch-from` does). A one-line change to a Go service moves code and
//! addresses but keeps most byte runs, so the new binary costs a few KiB against the old one
//! instead of megabytes; the base is named by its digest, read from the store, and the result
//! is checked against the new digest like any other blob.
//!
//! The store's layout stays the agent's: the sender names a digest and a file name and the
//! agent decides where it goes ([`super::artifact_dir`]). The stream is decompressed to a
//! temporary name beside the store and hashed on the way; only a blob whose sha256 equals the
//! digest it was sent as is renamed into place, so a broken, partial or truncated transfer (a
//! link going down, a full disk) is never visible to a deploy, and the next send starts over.

use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};

use hoist_core::Digest;
use sha2::{Digest as _, Sha256};

/// Why a blob was not stored.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// The bytes that arrived hash to something else: nothing was stored.
    #[error("the blob sent as {expected} arrived as {found}: not stored")]
    Digest {
        /// What the sender said.
        expected: Digest,
        /// What arrived.
        found: Digest,
    },
    /// Not a zstd stream, or one cut short.
    #[error("cannot decompress the blob {digest}: {source}")]
    Decompress {
        /// The blob.
        digest: Digest,
        /// Why.
        source: std::io::Error,
    },
    /// Writing the store failed (a full disk, permissions).
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file name that would leave the blob's directory.
    #[error("`{0}` is not a file name")]
    Name(String),
    /// The base of a delta is not in the store.
    #[error("the base blob {0} is not in the store")]
    NoBase(Digest),
}

/// The largest window a delta may need: zstd's limit for 64-bit hosts, so any base the sender
/// could hold fits.
const WINDOW_LOG_MAX: u32 = 31;

/// Reads a zstd stream from `compressed` (a delta against the stored blob `base`, if given),
/// checks that its content is `digest` and stores it as `artifacts/sha256-HEX/NAME`
/// (executable: blobs are binaries the agent runs). Returns the stored path and its size.
///
/// # Errors
///
/// [`ReceiveError`]; on any error the store is as it was before.
pub fn receive_blob(
    state_dir: &Path,
    digest: &Digest,
    name: &str,
    base: Option<&Digest>,
    compressed: impl Read,
) -> Result<(PathBuf, u64), ReceiveError> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(ReceiveError::Name(name.to_owned()));
    }
    let base = base
        .map(|b| base_bytes(state_dir, b, name).ok_or_else(|| ReceiveError::NoBase(b.clone())))
        .transpose()?;
    let dir = super::artifact_dir(state_dir, digest);
    let artifacts = dir.parent().unwrap_or(state_dir).to_owned();
    let write = |path: &Path| {
        let path = path.to_owned();
        move |source| ReceiveError::Write { path, source }
    };
    crate::private::create_dir(&artifacts).map_err(write(&artifacts))?;
    let tmp = artifacts.join(format!(".incoming-{}-{}", digest.hex(), std::process::id()));
    let result = (|| {
        let (found, size) = copy_hashed(digest, compressed, base.as_deref(), &tmp)?;
        if &found != digest {
            return Err(ReceiveError::Digest {
                expected: digest.clone(),
                found,
            });
        }
        crate::private::create_dir(&dir).map_err(write(&dir))?;
        let dest = dir.join(name);
        std::fs::rename(&tmp, &dest).map_err(write(&dest))?;
        Ok((dest, size))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The stored blob `digest`: its file `NAME`, else the one file its directory holds.
fn base_bytes(state_dir: &Path, digest: &Digest, name: &str) -> Option<Vec<u8>> {
    let dir = super::artifact_dir(state_dir, digest);
    std::fs::read(dir.join(name)).ok().or_else(|| {
        let file = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(Result::ok)
            .find(|e| e.file_type().is_ok_and(|t| t.is_file()))?;
        std::fs::read(file.path()).ok()
    })
}

/// Decompresses into `tmp` (mode 0700), hashing what is written; returns the digest and size.
fn copy_hashed(
    digest: &Digest,
    compressed: impl Read,
    base: Option<&[u8]>,
    tmp: &Path,
) -> Result<(Digest, u64), ReceiveError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let write = |source| ReceiveError::Write {
        path: tmp.to_owned(),
        source,
    };
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(crate::private::EXEC_MODE)
        .open(tmp)
        .map_err(write)?;
    let decompress = |source| ReceiveError::Decompress {
        digest: digest.clone(),
        source,
    };
    let reader = std::io::BufReader::new(compressed);
    let mut decoder = match base {
        Some(prefix) => zstd::stream::read::Decoder::with_ref_prefix(reader, prefix),
        None => zstd::stream::read::Decoder::with_buffer(reader),
    }
    .map_err(decompress)?;
    decoder.window_log_max(WINDOW_LOG_MAX).map_err(decompress)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = match decoder.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(decompress(source)),
        };
        hash.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(write)?;
        size += n as u64;
    }
    out.sync_all().map_err(write)?;
    Ok((Digest::from_sha256(hash.finalize().into()), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zst(bytes: &[u8]) -> Vec<u8> {
        zstd::stream::encode_all(bytes, 3).unwrap()
    }

    #[test]
    fn stores_a_blob_whose_content_matches_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let body = b"\x7fELF pretend binary".repeat(100);
        let digest = Digest::of(&body);
        let (path, size) = receive_blob(dir.path(), &digest, "app", None, &zst(&body)[..]).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), body);
        assert_eq!(size, body.len() as u64);
        assert_eq!(
            path,
            super::super::artifact_dir(dir.path(), &digest).join("app")
        );
    }

    #[test]
    fn refuses_a_blob_that_is_not_what_it_was_sent_as_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let digest = Digest::of(b"what was promised");
        let err = receive_blob(
            dir.path(),
            &digest,
            "app",
            None,
            &zst(b"something else")[..],
        )
        .unwrap_err();
        assert!(matches!(err, ReceiveError::Digest { .. }), "{err}");
        assert!(!super::super::artifact_dir(dir.path(), &digest).exists());
        let left: Vec<_> = std::fs::read_dir(dir.path().join("artifacts"))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn refuses_a_cut_stream_and_a_name_with_a_slash() {
        let dir = tempfile::tempdir().unwrap();
        let body = vec![7u8; 100_000];
        let digest = Digest::of(&body);
        let whole = zst(&body);
        let err =
            receive_blob(dir.path(), &digest, "app", None, &whole[..whole.len() / 2]).unwrap_err();
        assert!(
            matches!(
                err,
                ReceiveError::Decompress { .. } | ReceiveError::Digest { .. }
            ),
            "{err}"
        );
        assert!(!super::super::artifact_dir(dir.path(), &digest).exists());
        let err = receive_blob(dir.path(), &digest, "../x", None, &whole[..]).unwrap_err();
        assert!(matches!(err, ReceiveError::Name(_)), "{err}");
    }

    #[test]
    fn a_delta_against_a_stored_blob_rebuilds_the_new_one_and_needs_that_base() {
        let dir = tempfile::tempdir().unwrap();
        let old: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i * 7919).to_le_bytes())
            .collect();
        let mut new = old.clone();
        new[123_456..123_470].copy_from_slice(b"one line moved");
        let (old_d, new_d) = (Digest::of(&old), Digest::of(&new));
        receive_blob(dir.path(), &old_d, "app", None, &zst(&old)[..]).unwrap();
        let mut delta = Vec::new();
        let mut enc = zstd::stream::write::Encoder::with_ref_prefix(&mut delta, 3, &old).unwrap();
        enc.window_log(21).unwrap();
        std::io::Write::write_all(&mut enc, &new).unwrap();
        enc.finish().unwrap();
        assert!(
            delta.len() < 1000,
            "a delta, not the whole: {} bytes",
            delta.len()
        );
        let (path, _) = receive_blob(dir.path(), &new_d, "app", Some(&old_d), &delta[..]).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), new);
        // Against a base this store lacks, nothing is stored.
        let other = dir.path().join("other");
        let err = receive_blob(&other, &new_d, "app", Some(&old_d), &delta[..]).unwrap_err();
        assert!(matches!(err, ReceiveError::NoBase(_)), "{err}");
    }
}
