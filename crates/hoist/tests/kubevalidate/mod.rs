//! Kubernetes' own validation of rendered manifests, for the tests that render: the validator
//! (tests/tools/k8svalidate, built from k8s.io/api and k8s.io/apimachinery) is built once per
//! source version into the test cache.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::common::repo_root;

/// The validator, built once per source version into the test cache (`go build` through the
/// Go module proxy the first time; the module cache afterwards).
pub fn k8svalidate() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        use std::hash::{Hash as _, Hasher as _};
        let src = repo_root().join("tests/tools/k8svalidate");
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        let mut files: Vec<_> = std::fs::read_dir(&src)
            .expect("tests/tools/k8svalidate")
            .map(|e| e.expect("dir entry").path())
            .collect();
        files.sort();
        for f in &files {
            f.file_name().hash(&mut hasher);
            std::fs::read(f).expect("read source").hash(&mut hasher);
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("k8svalidate");
        std::fs::create_dir_all(&dir).expect("create cache dir");
        let bin = dir.join(format!("k8svalidate-{:016x}", hasher.finish()));
        if !bin.exists() {
            let tmp = dir.join(format!("build-{}", std::process::id()));
            let out = Command::new("go")
                .args(["build", "-buildvcs=false", "-o"])
                .arg(&tmp)
                .arg(".")
                .current_dir(&src)
                .env("CGO_ENABLED", "0")
                .output()
                .expect("run go build");
            assert!(
                out.status.success(),
                "building k8svalidate failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::rename(&tmp, &bin).expect("move the validator into place");
        }
        bin
    })
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
