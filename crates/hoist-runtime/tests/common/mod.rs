//! Helpers shared by the runtime's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds examples/hello with the machine's Go into `dir`, stamped with `version`.
pub fn build_hello(dir: &Path, version: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello");
    let out = dir.join(format!("hello-{version}"));
    go_build(&src, &out, &format!("-X=main.version={version}"));
    out
}

/// Builds tests/fixtures/replica (the service that misbehaves on demand) with the machine's Go
/// into `dir`.
pub fn build_replica(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replica");
    let out = dir.join("replica");
    go_build(&src, &out, "");
    out
}

/// `go build` of the main package in `src` to `out`, static (no cgo), with `ldflags`.
fn go_build(src: &Path, out: &Path, ldflags: &str) {
    let status = Command::new("go")
        .args(["build", "-trimpath", "-ldflags", ldflags, "-o"])
        .arg(out)
        .arg(".")
        .current_dir(src)
        .env("CGO_ENABLED", "0")
        .status()
        .expect("the tests need Go on PATH");
    assert!(status.success(), "go build of {} failed", src.display());
}
