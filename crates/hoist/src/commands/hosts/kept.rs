//! The binaries and image parts this machine sent to hosts, kept by digest so the next deploy
//! can send a host only a delta against the one it has (`hoist_hosts::Base`).
//!
//! `~/.cache/hoist/hosts/sha256-HEX`, the newest few kept. A cache, not state: when the binary a
//! host runs is not here (another machine deployed it, or the cache was cleared), the whole
//! binary goes, compressed, as before.

use std::path::{Path, PathBuf};

use hoist_core::Digest;

/// How many files are kept: enough for the revisions a fleet runs across a few apps (an image
/// is three: its config, the base layer and the app's).
const KEEP: usize = 32;

/// The directory, if the user has a cache directory.
pub(super) fn dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("hoist").join("hosts"))
}

/// The kept copy of `digest`, if there is one.
pub(super) fn find(digest: &Digest) -> Option<PathBuf> {
    let path = dir()?.join(format!("sha256-{}", digest.hex()));
    path.is_file().then_some(path)
}

/// Keeps a copy of `path` (whose digest is `digest`) and forgets the oldest beyond [`KEEP`].
/// Best effort: a copy that cannot be kept only costs the next deploy its delta.
pub(super) fn keep(path: &Path, digest: &Digest) {
    let Some(dir) = dir() else { return };
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let dest = dir.join(format!("sha256-{}", digest.hex()));
    if dest.is_file() {
        // Touched, so the binaries in use stay the newest.
        let _ =
            std::fs::File::open(&dest).and_then(|f| f.set_modified(std::time::SystemTime::now()));
    } else {
        let tmp = dir.join(format!(".tmp-{}", std::process::id()));
        if std::fs::copy(path, &tmp).is_err() || std::fs::rename(&tmp, &dest).is_err() {
            let _ = std::fs::remove_file(&tmp);
            return;
        }
    }
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut all: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("sha256-"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    all.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (_, old) in all.into_iter().skip(KEEP) {
        let _ = std::fs::remove_file(old);
    }
}
