//! A content-addressed blob store in the user's cache directory.
//!
//! Every blob hoist builds (layers, configs, manifests, indexes) is written here first, named by
//! its sha256 (`blobs/sha256/<hex>`, the same shape as an OCI layout, so layouts can hard-link
//! from it). Writes go to a temporary file in the store and are renamed into place, so a reader
//! never sees a half-written blob and two hoist processes may write the same blob at once.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use hoist_core::Digest;
use sha2::{Digest as _, Sha256};

use crate::error::{ImageError, Result};

/// A directory of blobs addressed by digest.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// Opens (creating if needed) the store rooted at `dir`, usually hoist's cache directory.
    ///
    /// # Errors
    /// [`ImageError::Store`] when the directories cannot be created.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let root = dir.into();
        for sub in [root.join("blobs").join("sha256"), root.join("tmp")] {
            fs::create_dir_all(&sub).map_err(|source| ImageError::Store { path: sub, source })?;
        }
        Ok(Self { root })
    }

    /// The store's directory; other caches of this crate (the layer records) live beside the blobs.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with `digest` is (or would be) stored.
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs").join("sha256").join(digest.hex())
    }

    /// Whether the blob is present.
    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    /// Stores `bytes` and returns their digest. A blob already present is not rewritten.
    ///
    /// # Errors
    /// [`ImageError::Store`] when the temporary file cannot be written or renamed.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Digest> {
        let digest = Digest::from_sha256(Sha256::digest(bytes).into());
        let path = self.path(&digest);
        // A blob of the wrong length (a crash mid-copy by another tool) is replaced, not trusted.
        let present = fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64);
        if !present {
            self.write_atomic(&path, bytes)?;
        }
        Ok(digest)
    }

    /// Reads a whole blob (manifests, configs and indexes are small).
    ///
    /// # Errors
    /// [`ImageError::MissingBlob`] when absent, [`ImageError::Store`] on other I/O errors.
    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>> {
        let path = self.path(digest);
        fs::read(&path).map_err(|source| Self::read_error(digest, path, source))
    }

    /// Opens a blob for streaming (layers can be large).
    ///
    /// # Errors
    /// As [`BlobStore::read`].
    pub fn open_blob(&self, digest: &Digest) -> Result<fs::File> {
        let path = self.path(digest);
        fs::File::open(&path).map_err(|source| Self::read_error(digest, path, source))
    }

    fn read_error(digest: &Digest, path: PathBuf, source: io::Error) -> ImageError {
        if source.kind() == io::ErrorKind::NotFound {
            ImageError::MissingBlob {
                digest: digest.clone(),
                path,
            }
        } else {
            ImageError::Store { path, source }
        }
    }

    /// Writes `bytes` to `target` inside the store through a temporary file and a rename, so the
    /// target is either absent or complete.
    pub(crate) fn write_atomic(&self, target: &Path, bytes: &[u8]) -> Result<()> {
        let tmp_dir = self.root.join("tmp");
        let store_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ImageError::Store { path, source }
        };
        // Blobs are hard-linked into the OCI layouts hoist writes: the user's umask decides
        // their modes, as for any file they write (a temporary file alone would be 0600).
        let mut tmp = tempfile::Builder::new()
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .tempfile_in(&tmp_dir)
            .map_err(store_err(&tmp_dir))?;
        tmp.write_all(bytes).map_err(store_err(tmp.path()))?;
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(store_err(parent))?;
        }
        tmp.persist(target)
            .map_err(|e| ImageError::Store {
                path: target.to_path_buf(),
                source: e.error,
            })
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_by_digest_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let d = store.put_bytes(b"hello").unwrap();
        assert_eq!(d, Digest::of(b"hello"));
        assert!(store.contains(&d));
        assert_eq!(store.read(&d).unwrap(), b"hello");
        assert!(
            store
                .path(&d)
                .ends_with(format!("blobs/sha256/{}", d.hex()))
        );
        let missing = Digest::of(b"absent");
        assert!(matches!(
            store.read(&missing),
            Err(ImageError::MissingBlob { .. })
        ));
        // Nothing is left behind in the temporary directory.
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }
}
