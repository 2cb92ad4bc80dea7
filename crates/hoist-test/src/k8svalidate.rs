//! Kubernetes' own validation of rendered manifests, for the tests that render: the validator
//! (tests/tools/k8svalidate, built from k8s.io/api and k8s.io/apimachinery) checks what the API
//! server would, without a cluster.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::fs::repo_root;
use crate::go::GoBuild;

/// The validator, built once per source version ([`crate::go`]: through the Go module proxy the
/// first time, the module cache afterwards).
pub fn k8svalidate() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| GoBuild::new(&repo_root().join("tests/tools/k8svalidate")).build())
}

/// Runs the validator on `yaml`; returns its report lines, or panics with its message.
pub fn validate(yaml: &str) -> Vec<String> {
    let mut child = Command::new(k8svalidate())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run k8svalidate");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(yaml.as_bytes())
        .expect("write manifests");
    let out = child.wait_with_output().expect("wait for k8svalidate");
    assert!(
        out.status.success(),
        "Kubernetes rejects the manifests:\n{}\n{yaml}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}
