//! Helpers shared by the runtime's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds examples/hello with the machine's Go into `dir`, stamped with `version`.
pub fn build_hello(dir: &Path, version: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello");
    let out = dir.join(format!("hello-{version}"));
    let status = Command::new("go")
        .args(["build", "-trimpath", "-ldflags"])
        .arg(format!("-X=main.version={version}"))
        .arg("-o")
        .arg(&out)
        .arg(".")
        .current_dir(&src)
        .env("CGO_ENABLED", "0")
        .status()
        .expect("the tests need Go on PATH");
    assert!(status.success(), "go build of examples/hello failed");
    out
}
