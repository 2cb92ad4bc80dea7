//! Reading image layers back: a test checks the files a user's container would see, with their
//! owners, modes and times.

use std::collections::BTreeMap;
use std::io::Read as _;

/// One tar entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Permission bits, with setuid/setgid/sticky.
    pub mode: u32,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// The contents of a regular file.
    pub data: Vec<u8>,
}

/// The entries of a gzip-compressed tar (one member or several), by path without `./` or a
/// trailing `/`.
pub fn untar_gzip(gz: &[u8]) -> BTreeMap<String, Entry> {
    let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(gz));
    let mut files = BTreeMap::new();
    for entry in archive.entries().expect("a tar") {
        let mut entry = entry.expect("a tar entry");
        let path = entry
            .path()
            .expect("entry path")
            .to_string_lossy()
            .into_owned();
        let path = path
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_owned();
        let header = entry.header().clone();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("entry data");
        files.insert(
            path,
            Entry {
                mode: header.mode().expect("mode"),
                uid: header.uid().expect("uid"),
                gid: header.gid().expect("gid"),
                mtime: header.mtime().expect("mtime"),
                is_dir: header.entry_type().is_dir(),
                data,
            },
        );
    }
    files
}
