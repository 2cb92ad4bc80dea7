//! Where blobs to push are read from, and where hoist remembers which repositories of which
//! registries already hold a blob (the candidates for a cross-repository mount).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use hoist_core::Digest;

use crate::error::{RegistryError, Result};
use crate::reference::Repository;

/// A directory with blobs at `blobs/sha256/<hex>`: hoist's blob store or an OCI image layout.
#[derive(Debug, Clone)]
pub struct BlobDir {
    root: PathBuf,
}

impl BlobDir {
    /// Blobs under `root` (the store's root or the layout's directory).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Where the blob is.
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join("sha256").join(digest.hex())
    }

    /// The whole blob (manifests and configs are small).
    ///
    /// # Errors
    /// [`RegistryError::Io`] naming the blob's path.
    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>> {
        let path = self.path(digest);
        std::fs::read(&path).map_err(|source| RegistryError::Io { path, source })
    }
}

/// How many repositories are remembered per blob.
const MAX_SOURCES: usize = 8;

/// Which repositories hold which blobs, as learned from earlier pushes and pulls: one small
/// file per blob, one `registry/repository` per line. A stale line only costs a mount that
/// the registry answers with "not mounted", after which the blob is uploaded as usual.
#[derive(Debug, Clone)]
pub struct MountHints {
    dir: PathBuf,
}

impl MountHints {
    /// Hints kept in `dir` (created when first written), usually in hoist's cache.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Repositories of `registry` (other than `except`) known to hold `digest`, newest first.
    pub fn sources(&self, digest: &Digest, registry: &str, except: &str) -> Vec<String> {
        let Ok(text) = std::fs::read_to_string(self.file(digest)) else {
            return Vec::new();
        };
        text.lines()
            .rev()
            .filter_map(|l| l.split_once('/'))
            .filter(|(r, name)| *r == registry && *name != except)
            .map(|(_, name)| name.to_owned())
            .collect()
    }

    /// Notes that `repository` now holds `digests`. Failures only cost a future mount, so
    /// they are logged, not returned.
    pub fn record<'a>(
        &self,
        repository: &Repository,
        digests: impl IntoIterator<Item = &'a Digest>,
    ) {
        let line = repository.to_string();
        for d in digests {
            let path = self.file(d);
            let mut lines: Vec<String> = std::fs::read_to_string(&path)
                .unwrap_or_default()
                .lines()
                .filter(|l| *l != line)
                .map(str::to_owned)
                .collect();
            lines.push(line.clone());
            let start = lines.len().saturating_sub(MAX_SOURCES);
            if let Err(e) = write(&path, &(lines[start..].join("\n") + "\n")) {
                tracing::debug!(error = %e, "cannot record where blob {d} is");
            }
        }
    }

    fn file(&self, digest: &Digest) -> PathBuf {
        self.dir.join(digest.hex())
    }
}

fn write(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Unique digests in first-seen order.
pub(crate) fn unique<'a>(
    digests: impl IntoIterator<Item = &'a hoist_image::Descriptor>,
) -> Vec<hoist_image::Descriptor> {
    let mut seen = BTreeSet::new();
    digests
        .into_iter()
        .filter(|d| seen.insert(d.digest.clone()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_sources_per_registry() {
        let d = tempfile::tempdir().unwrap();
        let hints = MountHints::new(d.path());
        let blob = Digest::of(b"layer");
        let a = Repository::parse("localhost:5000/base").unwrap();
        let b = Repository::parse("localhost:5000/app").unwrap();
        let c = Repository::parse("other.example.com/base").unwrap();
        hints.record(&a, [&blob]);
        hints.record(&c, [&blob]);
        hints.record(&b, [&blob]);
        assert_eq!(
            hints.sources(&blob, "localhost:5000", "new"),
            ["app", "base"]
        );
        assert_eq!(hints.sources(&blob, "localhost:5000", "app"), ["base"]);
        assert!(
            hints
                .sources(&Digest::of(b"x"), "localhost:5000", "app")
                .is_empty()
        );
    }
}
