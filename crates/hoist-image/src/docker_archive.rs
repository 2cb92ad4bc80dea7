//! Writing one image as a `docker save` archive, which `docker load` and `podman load` read.
//!
//! The classic format: `manifest.json` (`[{"Config", "RepoTags", "Layers"}]`), the config as
//! `<hex>.json`, and each layer as an uncompressed `<diff_id hex>/layer.tar`. Layers are
//! decompressed from the store while the archive is written, and each one's sha256 is checked
//! against the config's diff_id, so a damaged store cannot produce an archive that loads wrong.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use flate2::read::GzDecoder;
use hoist_core::Digest;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::BuiltImage;
use crate::config::ImageConfig;
use crate::error::{ImageError, Result};
use crate::manifest::{Manifest, canonical_json, read_json};
use crate::store::BlobStore;
use crate::tar::{MODE_FILE, ROOT, header};

/// mtime of the archive's own entries: the archive is a transport, its entries carry no time.
const ARCHIVE_MTIME: u64 = 0;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifest {
    config: String,
    repo_tags: Vec<String>,
    layers: Vec<String>,
}

/// Writes `image` as a docker archive at `file`, tagged `repo_tags` (e.g. `hello:latest`).
///
/// The file is written to a temporary sibling and renamed into place, so `file` is either the
/// old content or the complete archive.
///
/// # Errors
/// [`ImageError::Archive`] naming `file` on I/O errors (including corrupt gzip data);
/// [`ImageError::DiffIdMismatch`] if a layer decompresses to other bytes than the config says;
/// [`ImageError::MissingBlob`] / [`ImageError::CorruptBlob`] for a damaged store.
pub fn write_docker_archive(
    file: &Path,
    image: &BuiltImage,
    repo_tags: &[String],
    store: &BlobStore,
) -> Result<()> {
    let manifest: Manifest = read_json(store, &image.manifest.digest, "image manifest")?;
    let config_bytes = store.read(&manifest.config.digest)?;
    let config: ImageConfig =
        serde_json::from_slice(&config_bytes).map_err(|source| ImageError::CorruptBlob {
            digest: manifest.config.digest.clone(),
            what: "image config",
            source,
        })?;
    let diff_ids = &config.rootfs.diff_ids;
    let err = |source: io::Error| ImageError::Archive {
        path: file.to_path_buf(),
        source,
    };
    if diff_ids.len() != manifest.layers.len() {
        return Err(ImageError::Archive {
            path: file.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                "the image config and manifest list different numbers of layers",
            ),
        });
    }

    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // The user's umask decides who may read the archive, as for any file they write (a
    // temporary file alone would be 0600).
    let tmp = tempfile::Builder::new()
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(parent)
        .map_err(err)?;
    let mut out = tar::Builder::new(BufWriter::new(tmp.as_file()));

    let docker_manifest = [DockerManifest {
        config: format!("{}.json", manifest.config.digest.hex()),
        repo_tags: repo_tags.to_vec(),
        layers: diff_ids
            .iter()
            .map(|d| format!("{}/layer.tar", d.hex()))
            .collect(),
    }];
    let json = canonical_json(&docker_manifest);
    append_bytes(&mut out, "manifest.json", &json).map_err(err)?;
    let config_name = format!("{}.json", manifest.config.digest.hex());
    append_bytes(&mut out, &config_name, &config_bytes).map_err(err)?;

    for (layer, diff_id) in manifest.layers.iter().zip(diff_ids) {
        let size = match image.layers.iter().find(|l| l.digest == layer.digest) {
            Some(l) => l.uncompressed_size,
            None => io::copy(&mut gunzip(store, &layer.digest)?, &mut io::sink()).map_err(err)?,
        };
        let mut reader = Hashing::new(gunzip(store, &layer.digest)?);
        let h = header(
            &format!("{}/layer.tar", diff_id.hex()),
            Some(size),
            MODE_FILE,
            ROOT,
            ARCHIVE_MTIME,
        );
        out.append(&h, (&mut reader).take(size)).map_err(err)?;
        // Bytes past the recorded size are as wrong as a different hash.
        let trailing = reader.read(&mut [0u8; 1]).map_err(err)?;
        let (actual, len) = reader.finish();
        if trailing != 0 || len != size || actual != *diff_id {
            return Err(ImageError::DiffIdMismatch {
                digest: layer.digest.clone(),
                expected: diff_id.clone(),
                actual,
            });
        }
    }

    let mut writer = out.into_inner().map_err(err)?;
    writer.flush().map_err(err)?;
    drop(writer);
    tmp.persist(file).map_err(|e| err(e.error))?;
    Ok(())
}

fn append_bytes<W: Write>(out: &mut tar::Builder<W>, path: &str, bytes: &[u8]) -> io::Result<()> {
    let h = header(
        path,
        Some(bytes.len() as u64),
        MODE_FILE,
        ROOT,
        ARCHIVE_MTIME,
    );
    out.append(&h, bytes)
}

fn gunzip(store: &BlobStore, digest: &Digest) -> Result<GzDecoder<BufReader<File>>> {
    Ok(GzDecoder::new(BufReader::with_capacity(
        256 * 1024,
        store.open_blob(digest)?,
    )))
}

/// Hashes and counts what passes through.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    len: u64,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    fn finish(self) -> (Digest, u64) {
        (Digest::from_sha256(self.hasher.finalize().into()), self.len)
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
}
