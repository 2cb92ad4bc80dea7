//! Deterministic tar archives, written header by header.
//!
//! The `tar` crate's directory walkers read `read_dir` order and host metadata; here every field
//! is chosen: entries sorted by path components (so a parent always precedes its children),
//! owner and mode given per entry, one mtime for the whole archive, empty user and group names,
//! no device numbers, no extended attributes. The same entries and mtime always give the same
//! bytes on every machine.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// Mode of directories and executables: what distroless and ko use.
pub(crate) const MODE_DIR: u32 = 0o755;
/// Mode of executables: readable and runnable by the non-root user the image runs as.
pub(crate) const MODE_EXEC: u32 = 0o755;
/// Mode of plain files: world-readable, so the non-root user can read the CA bundle and passwd.
pub(crate) const MODE_FILE: u32 = 0o644;
/// root's uid and gid: files nobody should change at run time belong to root.
pub(crate) const ROOT: u64 = 0;

/// The ustar `name` field holds 100 bytes; hoist's paths are short, so longer ones are refused
/// rather than split into the `prefix` field or a GNU long-name entry.
const MAX_PATH: usize = 100;

/// One file or directory of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry<'a> {
    /// Relative path without leading or trailing `/`, e.g. `etc/ssl/certs`.
    pub path: String,
    /// `None` for a directory, the contents for a regular file.
    pub data: Option<Cow<'a, [u8]>>,
    /// Permission bits (and sticky bit for `/tmp`).
    pub mode: u32,
    /// Owner uid and gid.
    pub owner: u64,
}

impl<'a> Entry<'a> {
    /// A directory owned by `owner`.
    pub fn dir(path: &str, mode: u32, owner: u64) -> Self {
        Self {
            path: path.trim_matches('/').to_owned(),
            data: None,
            mode,
            owner,
        }
    }

    /// A regular file owned by root.
    pub fn file(path: &str, data: impl Into<Cow<'a, [u8]>>, mode: u32) -> Self {
        Self {
            path: path.trim_matches('/').to_owned(),
            data: Some(data.into()),
            mode,
            owner: ROOT,
        }
    }
}

/// Writes `entries` as a tar archive with every mtime set to `mtime`.
///
/// Missing parent directories are added (0755, root), entries are sorted by path components,
/// and a path given twice keeps its last entry. Paths longer than 100 bytes panic: every caller
/// in this crate validates its paths first.
pub(crate) fn write(entries: Vec<Entry<'_>>, mtime: u64) -> Vec<u8> {
    // Keyed by components so `a/b` sorts right after `a` and before `a-c`: parents come first.
    let mut sorted: BTreeMap<Vec<String>, Entry<'_>> = BTreeMap::new();
    for entry in entries {
        let parts: Vec<String> = entry.path.split('/').map(str::to_owned).collect();
        for depth in 1..parts.len() {
            let parent = parts[..depth].to_vec();
            sorted
                .entry(parent)
                .or_insert_with(|| Entry::dir(&parts[..depth].join("/"), MODE_DIR, ROOT));
        }
        sorted.insert(parts, entry);
    }
    let size: usize = sorted
        .values()
        .map(|e| 512 + e.data.as_ref().map_or(0, |d| d.len().next_multiple_of(512)))
        .sum();
    let mut out = Vec::with_capacity(size + 1024);
    for entry in sorted.values() {
        append(&mut out, entry, mtime);
    }
    // End of archive: two zero blocks.
    out.resize(out.len() + 1024, 0);
    out
}

fn append(out: &mut Vec<u8>, entry: &Entry<'_>, mtime: u64) {
    let header = match &entry.data {
        None => header(&entry.path, None, entry.mode, entry.owner, mtime),
        Some(d) => header(
            &entry.path,
            Some(d.len() as u64),
            entry.mode,
            entry.owner,
            mtime,
        ),
    };
    out.extend_from_slice(header.as_bytes());
    if let Some(data) = &entry.data {
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(512), 0);
    }
}

/// A ustar header with only the given fields set: a directory when `size` is `None`, else a
/// regular file of `size` bytes. uid and gid are both `owner`.
pub(crate) fn header(
    path: &str,
    size: Option<u64>,
    mode: u32,
    owner: u64,
    mtime: u64,
) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    let name = match size {
        // Directories end in `/`, as Go's archive/tar and docker write them.
        None => format!("{path}/"),
        Some(_) => path.to_owned(),
    };
    assert!(
        name.len() <= MAX_PATH,
        "tar path `{name}` longer than {MAX_PATH} bytes"
    );
    // Written into the field directly: `set_path` would drop the trailing `/` of directories.
    if let Some(ustar) = header.as_ustar_mut() {
        ustar.name[..name.len()].copy_from_slice(name.as_bytes());
    }
    header.set_entry_type(if size.is_some() {
        tar::EntryType::Regular
    } else {
        tar::EntryType::Directory
    });
    header.set_size(size.unwrap_or(0));
    header.set_mode(mode);
    header.set_uid(owner);
    header.set_gid(owner);
    header.set_mtime(mtime);
    // uname/gname and the device numbers stay zeroed (as `new_ustar` made them): names would
    // depend on the build host, and there are no device files.
    header.set_cksum();
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_parents_first_with_fixed_metadata() {
        let tar = write(
            vec![
                Entry::file("a-c", &b"x"[..], MODE_FILE),
                Entry::file("a/b/f", &b"hello"[..], MODE_EXEC),
                Entry::dir("a", 0o700, 65532),
            ],
            1_700_000_000,
        );
        let mut archive = tar::Archive::new(&tar[..]);
        let got: Vec<(String, u32, u64, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                let path = String::from_utf8(e.path_bytes().into_owned()).unwrap();
                (
                    path,
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.mtime().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a/".to_owned(), 0o700, 65532, 1_700_000_000),
                ("a/b/".to_owned(), 0o755, 0, 1_700_000_000),
                ("a/b/f".to_owned(), 0o755, 0, 1_700_000_000),
                ("a-c".to_owned(), 0o644, 0, 1_700_000_000),
            ]
        );
        assert_eq!(tar.len() % 512, 0);
    }
}
