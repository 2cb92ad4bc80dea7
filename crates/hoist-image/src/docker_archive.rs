//! Writing one image as a `docker save` archive, which `docker load` and `podman load` read.
//!
//! The classic format: `manifest.json` (`[{"Config", "RepoTags", "Layers"}]`), the config as
//! `<hex>.json`, and each layer as an uncompressed `<diff_id hex>/layer.tar`. Layers are
//! decompressed from the store while the archive is written, and each one's sha256 is checked
//! against the config's diff_id, so a damaged store cannot produce an archive that loads wrong.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

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
    let (manifest, config_bytes, diff_ids) = parts_of(file, image, store)?;
    write_archive(
        file,
        &manifest.config.digest,
        &config_bytes,
        &diff_ids,
        repo_tags,
        |i| {
            let layer = &manifest.layers[i].digest;
            let size = match image.layers.iter().find(|l| l.digest == *layer) {
                Some(l) => l.uncompressed_size,
                None => {
                    io::copy(&mut gunzip(store, layer)?, &mut io::sink()).map_err(|source| {
                        ImageError::Archive {
                            path: file.to_path_buf(),
                            source,
                        }
                    })?
                }
            };
            Ok((layer.clone(), size, Box::new(gunzip(store, layer)?)))
        },
    )
}

/// An image as the parts of a docker archive, each a file named by its digest: what a host is
/// sent one by one, only those it lacks, to assemble the archive itself
/// ([`write_docker_archive_from_parts`]).
#[derive(Debug, Clone)]
pub struct ArchiveParts {
    /// The config's digest (the image's id in docker and podman) and its file.
    pub config: (Digest, PathBuf),
    /// Each layer, uncompressed, bottom first: its diff_id and its file.
    pub layers: Vec<(Digest, PathBuf)>,
}

/// Writes the parts of `image` into `dir` as `sha256-HEX` files (the config, and each layer
/// uncompressed, named by its diff_id); a part already there is kept as it is.
///
/// # Errors
/// As [`write_docker_archive`], naming the part's file.
pub fn export_archive_parts(
    dir: &Path,
    image: &BuiltImage,
    store: &BlobStore,
) -> Result<ArchiveParts> {
    let (manifest, config_bytes, diff_ids) = parts_of(dir, image, store)?;
    let name = |d: &Digest| dir.join(format!("sha256-{}", d.hex()));
    let config = (
        manifest.config.digest.clone(),
        name(&manifest.config.digest),
    );
    // Each part is complete under its name or absent: written aside, checked, then renamed.
    let write = |path: &Path, from: &mut dyn Read, expected: &Digest| -> Result<()> {
        let err = |source| ImageError::Archive {
            path: path.to_path_buf(),
            source,
        };
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
        let mut hashing = Hashing::new(from);
        let mut w = BufWriter::new(tmp.as_file_mut());
        io::copy(&mut hashing, &mut w).map_err(err)?;
        w.flush().map_err(err)?;
        drop(w);
        let (actual, _) = hashing.finish();
        if actual != *expected {
            return Err(ImageError::DiffIdMismatch {
                digest: expected.clone(),
                expected: expected.clone(),
                actual,
            });
        }
        tmp.persist(path).map_err(|e| err(e.error))?;
        Ok(())
    };
    if !config.1.is_file() {
        write(&config.1, &mut &config_bytes[..], &config.0)?;
    }
    let mut layers = Vec::with_capacity(diff_ids.len());
    for (layer, diff_id) in manifest.layers.iter().zip(&diff_ids) {
        let path = name(diff_id);
        if !path.is_file() {
            write(&path, &mut gunzip(store, &layer.digest)?, diff_id).map_err(|e| match e {
                ImageError::DiffIdMismatch {
                    expected, actual, ..
                } => ImageError::DiffIdMismatch {
                    digest: layer.digest.clone(),
                    expected,
                    actual,
                },
                other => other,
            })?;
        }
        layers.push((diff_id.clone(), path));
    }
    Ok(ArchiveParts { config, layers })
}

/// Writes a docker archive at `file` from its parts on disk (the config's bytes and each
/// uncompressed layer file, bottom first), tagged `repo_tags`: how a host's agent turns the
/// parts it was sent into what its engine loads. Each layer's sha256 is checked against the
/// config's diff_id on the way.
///
/// # Errors
/// [`ImageError::Archive`] naming `file` (or a part) on I/O errors, or when the config lists
/// another number of layers; [`ImageError::DiffIdMismatch`] for a layer file with other bytes.
pub fn write_docker_archive_from_parts(
    file: &Path,
    config: &Path,
    layers: &[PathBuf],
    repo_tags: &[String],
) -> Result<()> {
    // Errors name the archive, and the part in their cause.
    let read_err = |part: &Path| {
        let part = part.to_path_buf();
        move |e: io::Error| ImageError::Archive {
            path: file.to_path_buf(),
            source: io::Error::new(e.kind(), format!("`{}`: {e}", part.display())),
        }
    };
    let config_bytes = std::fs::read(config).map_err(read_err(config))?;
    let parsed: ImageConfig =
        serde_json::from_slice(&config_bytes).map_err(|source| ImageError::CorruptBlob {
            digest: Digest::of(&config_bytes),
            what: "image config",
            source,
        })?;
    let diff_ids = parsed.rootfs.diff_ids;
    if diff_ids.len() != layers.len() {
        return Err(ImageError::Archive {
            path: file.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the image config lists {} layers, {} were given",
                    diff_ids.len(),
                    layers.len()
                ),
            ),
        });
    }
    write_archive(
        file,
        &Digest::of(&config_bytes),
        &config_bytes,
        &diff_ids,
        repo_tags,
        |i| {
            let path = &layers[i];
            let f = File::open(path).map_err(read_err(path))?;
            let size = f.metadata().map_err(read_err(path))?.len();
            Ok((
                diff_ids[i].clone(),
                size,
                Box::new(BufReader::with_capacity(256 * 1024, f)),
            ))
        },
    )
}

/// The manifest of `image`, its config's bytes and the config's diff_ids (as many as layers).
fn parts_of(
    file: &Path,
    image: &BuiltImage,
    store: &BlobStore,
) -> Result<(Manifest, Vec<u8>, Vec<Digest>)> {
    let manifest: Manifest = read_json(store, &image.manifest.digest, "image manifest")?;
    let config_bytes = store.read(&manifest.config.digest)?;
    let config: ImageConfig =
        serde_json::from_slice(&config_bytes).map_err(|source| ImageError::CorruptBlob {
            digest: manifest.config.digest.clone(),
            what: "image config",
            source,
        })?;
    let diff_ids = config.rootfs.diff_ids;
    if diff_ids.len() != manifest.layers.len() {
        return Err(ImageError::Archive {
            path: file.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::InvalidData,
                "the image config and manifest list different numbers of layers",
            ),
        });
    }
    Ok((manifest, config_bytes, diff_ids))
}

/// What layer `i` is read from: its name for errors (the compressed digest, or the diff_id),
/// its uncompressed size and its uncompressed bytes.
type LayerReader = (Digest, u64, Box<dyn Read>);

/// The archive itself: manifest.json, the config, then each layer, hashed against its
/// diff_id while it is written.
fn write_archive(
    file: &Path,
    config_digest: &Digest,
    config_bytes: &[u8],
    diff_ids: &[Digest],
    repo_tags: &[String],
    mut layer: impl FnMut(usize) -> Result<LayerReader>,
) -> Result<()> {
    let err = |source: io::Error| ImageError::Archive {
        path: file.to_path_buf(),
        source,
    };
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

    let config_name = format!("{}.json", config_digest.hex());
    let docker_manifest = [DockerManifest {
        config: config_name.clone(),
        repo_tags: repo_tags.to_vec(),
        layers: diff_ids
            .iter()
            .map(|d| format!("{}/layer.tar", d.hex()))
            .collect(),
    }];
    let json = canonical_json(&docker_manifest);
    append_bytes(&mut out, "manifest.json", &json).map_err(err)?;
    append_bytes(&mut out, &config_name, config_bytes).map_err(err)?;

    for (i, diff_id) in diff_ids.iter().enumerate() {
        let (name, size, reader) = layer(i)?;
        let mut reader = Hashing::new(reader);
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
                digest: name,
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
