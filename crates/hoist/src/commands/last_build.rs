//! What the last `hoist build` of a project directory (and environment) made, so `hoist render`
//! can pin the image without `--image`. Kept in hoist's cache, never in the project: a file in
//! the source tree would make git (and so the version stamp) see a dirty tree.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The record of one build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastBuild {
    /// The image's digest (the index for several platforms).
    pub digest: String,
    /// `repository@digest` when the build was pushed.
    pub pushed: Option<String>,
}

/// `<cache>/builds/<project dir hash>-<environment>.json`.
fn path(cache: &Path, dir: &Path, environment: Option<&str>) -> PathBuf {
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let key = hoist_core::Digest::of(abs.as_os_str().as_encoded_bytes());
    cache.join("builds").join(format!(
        "{}-{}.json",
        &key.hex()[..16],
        environment.unwrap_or("-")
    ))
}

/// Records a build; a failure only costs `render` its default, so it is a warning.
pub fn remember(cache: &Path, dir: &Path, environment: Option<&str>, build: &LastBuild) {
    let path = path(cache, dir, environment);
    let write = || -> std::io::Result<()> {
        let parent = path.parent().unwrap_or(cache);
        std::fs::create_dir_all(parent)?;
        let mut tmp = tempfile::NamedTempFile::new_in(parent)?;
        serde_json::to_writer(&mut tmp, build)?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    };
    if let Err(e) = write() {
        tracing::warn!(path = %path.display(), error = %e, "could not record the build for `hoist render`");
    }
}

/// The last build of `dir` with `environment`, if there was one.
pub fn recall(cache: &Path, dir: &Path, environment: Option<&str>) -> Option<LastBuild> {
    let text = std::fs::read(path(cache, dir, environment)).ok()?;
    serde_json::from_slice(&text).ok()
}
