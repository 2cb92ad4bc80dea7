//! hoist-image's integration tests, one binary (`cargo test -p hoist-image --test it MODULE::`):
//! images built from a stand-in binary, checked byte for byte, on a registry base, and read back
//! by skopeo. None needs a service.

mod image;
mod registry_base;
mod skopeo;

use std::io::Read;
use std::path::{Path, PathBuf};

use hoist_image::{BlobStore, BuiltImage, ImageSpec, build_image};

/// The fixed app mtime of the tests: 2023-11-14T22:13:20Z.
const MTIME: u64 = 1_700_000_000;

/// 300 KB of deterministic, partly compressible bytes standing in for a Go binary: enough for
/// three gzip blocks.
fn fake_binary() -> Vec<u8> {
    let mut v = Vec::with_capacity(300_000);
    let mut x: u32 = 7;
    while v.len() < 300_000 {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        if x.is_multiple_of(3) {
            v.extend_from_slice(b"runtime.main\0go.buildid\0");
        } else {
            v.extend_from_slice(&x.to_le_bytes());
        }
    }
    v.truncate(300_000);
    v
}

/// Writes the stand-in binary as `hello` in `dir`.
fn write_binary(dir: &Path, bytes: &[u8]) -> PathBuf {
    let path = dir.join("hello");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The tests' image spec for `binary`: fixed time, port and revision, so digests are golden.
fn spec(binary: &Path, platform: &str) -> ImageSpec {
    let mut spec = ImageSpec::new(platform.parse().unwrap(), "hello", binary);
    spec.created = MTIME;
    spec.port = Some(8080);
    spec.revision = Some("0123456789abcdef0123456789abcdef01234567".to_owned());
    spec
}

/// Builds [`spec`] into `store`.
fn build(store: &BlobStore, binary: &Path, platform: &str) -> BuiltImage {
    build_image(&spec(binary, platform), store).unwrap()
}

/// [`fake_binary`]'s linux/amd64 image, in a store of its own under a new temporary directory
/// (kept alive by the first value).
fn fake_image() -> (tempfile::TempDir, BlobStore, BuiltImage) {
    let tmp = tempfile::tempdir().unwrap();
    let store = BlobStore::open(tmp.path().join("store")).unwrap();
    let image = build(
        &store,
        &write_binary(tmp.path(), &fake_binary()),
        "linux/amd64",
    );
    (tmp, store, image)
}

/// The one gzip member of a layer, decompressed (a second member would be left out, and the
/// tar would not match).
fn gunzip(gz: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut out)
        .unwrap();
    out
}
