//! Writing images as an OCI image layout directory (`oci-layout`, `index.json`, `blobs/`).
//!
//! The layout is assembled in a temporary sibling directory and renamed over the target only when
//! complete, so a failure never leaves a half-written layout behind, and a previous layout at the
//! target is removed only after the new one is in place. Blobs are hard-linked from the store
//! when it is on the same filesystem (instant, no extra space), copied otherwise.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use hoist_core::Digest;

use crate::error::{ImageError, Result};
use crate::manifest::{
    ANNOTATION_REF_NAME, Descriptor, Index, MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST, Manifest,
    canonical_json, read_json,
};
use crate::store::BlobStore;

/// The `oci-layout` file: the layout version this writer follows.
const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// One entry of the layout's `index.json`: an image (manifest) or a multi-platform index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutRoot {
    /// The manifest or index descriptor.
    pub descriptor: Descriptor,
    /// A tag for it (`org.opencontainers.image.ref.name`), so `oci:DIR:TAG` can name it.
    pub tag: Option<String>,
}

/// Writes the images `roots` (and every blob they reach) as an OCI layout at `dir`, replacing
/// an earlier layout there.
///
/// # Errors
/// [`ImageError::NotALayout`] if `dir` exists and is neither empty nor an OCI layout;
/// [`ImageError::Layout`] naming `dir` if it cannot be written (e.g. an unwritable parent);
/// [`ImageError::MissingBlob`] or [`ImageError::CorruptBlob`] if the store lacks a blob.
pub fn write_oci_layout(dir: &Path, roots: &[LayoutRoot], store: &BlobStore) -> Result<()> {
    check_replaceable(dir)?;
    let err = |source: io::Error| ImageError::Layout {
        path: dir.to_path_buf(),
        source,
    };
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = dir
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    // The user's umask decides the layout's modes (a temporary directory alone would be 0700).
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.hoist-"))
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o777))
        .tempdir_in(parent)
        .map_err(err)?;

    let mut blobs = BTreeSet::new();
    for root in roots {
        collect(store, &root.descriptor, &mut blobs)?;
    }
    let blob_dir = tmp.path().join("blobs").join("sha256");
    fs::create_dir_all(&blob_dir).map_err(err)?;
    for digest in &blobs {
        link_or_copy(&store.path(digest), &blob_dir.join(digest.hex())).map_err(|source| {
            if source.kind() == io::ErrorKind::NotFound {
                ImageError::MissingBlob {
                    digest: digest.clone(),
                    path: store.path(digest),
                }
            } else {
                err(source)
            }
        })?;
    }
    let index = Index::new(
        roots
            .iter()
            .map(|r| {
                let mut d = r.descriptor.clone();
                if let Some(tag) = &r.tag {
                    d.annotations
                        .insert(ANNOTATION_REF_NAME.to_owned(), tag.clone());
                }
                d
            })
            .collect(),
    );
    fs::write(tmp.path().join("oci-layout"), OCI_LAYOUT).map_err(err)?;
    fs::write(tmp.path().join("index.json"), canonical_json(&index)).map_err(err)?;

    swap_into_place(tmp, dir).map_err(err)
}

/// Refuses to replace anything but an empty directory or an earlier OCI layout.
fn check_replaceable(dir: &Path) -> Result<()> {
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return Ok(());
    };
    let empty = meta.is_dir() && fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none());
    if empty || (meta.is_dir() && dir.join("oci-layout").is_file()) {
        Ok(())
    } else {
        Err(ImageError::NotALayout {
            path: dir.to_path_buf(),
        })
    }
}

/// Adds `desc` and everything it references to `out`.
fn collect(store: &BlobStore, desc: &Descriptor, out: &mut BTreeSet<Digest>) -> Result<()> {
    if !out.insert(desc.digest.clone()) {
        return Ok(());
    }
    match desc.media_type.as_str() {
        MEDIA_TYPE_MANIFEST => {
            let m: Manifest = read_json(store, &desc.digest, "image manifest")?;
            out.insert(m.config.digest);
            out.extend(m.layers.into_iter().map(|l| l.digest));
        }
        MEDIA_TYPE_INDEX => {
            let i: Index = read_json(store, &desc.digest, "image index")?;
            for m in &i.manifests {
                collect(store, m, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn link_or_copy(from: &Path, to: &Path) -> io::Result<()> {
    match fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        // Cross-device, or a filesystem without hard links: copy instead.
        Err(e) if e.kind() != io::ErrorKind::NotFound => fs::copy(from, to).map(drop),
        Err(e) => Err(e),
    }
}

/// Renames the finished `tmp` to `dir`; an old layout at `dir` is moved aside first and deleted
/// only once the new one is in place (and moved back if the rename fails).
fn swap_into_place(tmp: tempfile::TempDir, dir: &Path) -> io::Result<()> {
    let old: Option<PathBuf> = if dir.exists() {
        // Unique per write (the temporary directory's random name), so writers cannot collide.
        let mut aside = tmp.path().as_os_str().to_owned();
        aside.push(".old");
        let aside = PathBuf::from(aside);
        fs::rename(dir, &aside)?;
        Some(aside)
    } else {
        None
    };
    let tmp_path = tmp.keep();
    if let Err(e) = fs::rename(&tmp_path, dir) {
        let _ = fs::remove_dir_all(&tmp_path);
        if let Some(old) = &old {
            let _ = fs::rename(old, dir);
        }
        return Err(e);
    }
    if let Some(old) = old {
        fs::remove_dir_all(old)?;
    }
    Ok(())
}
