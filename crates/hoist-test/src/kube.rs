//! The real control plane of the Kubernetes tests: the cluster `scripts/kube-cluster start`
//! runs (scripts/test starts it and exports HOIST_TEST_KUBECONFIG), read and changed with the
//! cluster's own kubectl. Each test works in namespaces of its own, deleted when it ends, so
//! tests run in parallel. Without the cluster, tests fail and say how to start it.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fs::repo_root;
use crate::names::unique_dns;
use crate::ports::free_port;

const START: &str = "no test cluster: run the tests through scripts/test, or start one with `eval \"$(scripts/kube-cluster start)\"` (it exports HOIST_TEST_KUBECONFIG)";

/// The admin kubeconfig of the test cluster: tests check what hoist did as the admin, whatever
/// user hoist ran as.
pub fn kubeconfig() -> PathBuf {
    let path =
        std::env::var_os("HOIST_TEST_KUBECONFIG").map_or_else(|| panic!("{START}"), PathBuf::from);
    assert!(path.is_file(), "{} does not exist: {START}", path.display());
    path
}

/// The cluster's kubectl (HOIST_KUBECTL, as exported by scripts/kube-cluster).
fn kubectl_bin() -> PathBuf {
    std::env::var_os("HOIST_KUBECTL").map_or_else(
        || panic!("HOIST_KUBECTL is not set: {START}"),
        PathBuf::from,
    )
}

/// The test cluster's kubeconfig pointed at a port nothing listens on, written into `dir`;
/// returns the file and the server it names.
pub fn unreachable_kubeconfig(dir: &std::path::Path) -> (PathBuf, String) {
    let port = free_port();
    let text = std::fs::read_to_string(kubeconfig()).unwrap();
    let server = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .unwrap()
        .to_owned();
    let elsewhere = format!("https://127.0.0.1:{port}");
    let kc = dir.join("unreachable-kubeconfig");
    std::fs::write(&kc, text.replace(&server, &elsewhere)).unwrap();
    (kc, elsewhere)
}

/// Runs kubectl as the cluster admin; panics with its output when it fails.
pub fn kubectl(args: &[&str]) -> String {
    kubectl_stdin(args, None)
}

/// [`kubectl`] with `stdin`.
pub fn kubectl_stdin(args: &[&str], stdin: Option<&str>) -> String {
    let out = kubectl_try(args, stdin);
    assert!(out.0, "`kubectl {}` failed:\n{}", args.join(" "), out.1);
    out.1
}

/// Runs kubectl; (succeeded, stdout or stderr).
pub fn kubectl_try(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    use std::io::Write as _;
    let mut child = Command::new(kubectl_bin())
        .arg("--kubeconfig")
        .arg(kubeconfig())
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run kubectl");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        (true, String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        (false, String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `kubectl get KIND NAME -n NS -o json`, parsed.
pub fn get(ns: &str, kind: &str, name: &str) -> Value {
    serde_json::from_str(&kubectl(&[
        "get",
        kind,
        name,
        "-n",
        ns,
        "-o",
        "json",
        "--show-managed-fields",
    ]))
    .unwrap()
}

/// Whether `KIND NAME` exists in `ns` (pruned objects must not).
pub fn exists(ns: &str, kind: &str, name: &str) -> bool {
    kubectl_try(&["get", kind, name, "-n", ns, "-o", "name"], None).0
}

/// `kubectl get KIND -n NS -l SELECTOR -o json`'s items.
pub fn list(ns: &str, kind: &str, selector: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(&kubectl(&[
        "get", kind, "-n", ns, "-l", selector, "-o", "json",
    ]))
    .unwrap();
    v["items"].as_array().cloned().unwrap_or_default()
}

/// The field managers of an object: server-side apply must leave `hoist` among them.
pub fn managers(o: &Value) -> Vec<String> {
    o["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["manager"].as_str().map(str::to_owned))
        .collect()
}

/// A namespace of the test cluster, deleted (without waiting) when dropped.
pub struct Namespace(pub String);

impl Namespace {
    /// A new namespace `PREFIX-<unique>`.
    pub fn new(prefix: &str) -> Self {
        let name = unique_dns(prefix);
        kubectl(&["create", "namespace", &name]);
        Self(name)
    }

    /// A name for a namespace that does not exist (yet).
    pub fn name_only(prefix: &str) -> Self {
        Self(unique_dns(prefix))
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = kubectl_try(
            &[
                "delete",
                "namespace",
                &self.0,
                "--wait=false",
                "--ignore-not-found",
            ],
            None,
        );
    }
}

/// A well-formed image reference pinned by digest; kwok never pulls it. An image whose name
/// contains `never-ready` gives pods that never become Ready (tests/tools/kubecluster).
pub fn image(name: &str, n: u8) -> String {
    format!(
        "registry.example.com/{name}@sha256:{}",
        format!("{n:02x}").repeat(32)
    )
}

/// A kubeconfig for a new user `name` whose context's namespace is `ns`, with the `admin`
/// ClusterRole in `ns` only (`rights: false`: no rights at all).
pub fn user(name: &str, ns: &str, rights: bool) -> PathBuf {
    let script = repo_root().join("scripts/kube-cluster");
    let out = Command::new(&script)
        .args(["user", name, "--namespace", ns])
        .output()
        .expect("run scripts/kube-cluster user");
    assert!(
        out.status.success(),
        "scripts/kube-cluster user failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if rights {
        kubectl(&[
            "create",
            "rolebinding",
            &format!("{name}-admin"),
            "-n",
            ns,
            "--clusterrole=admin",
            &format!("--user={name}"),
        ]);
    }
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Polls `f` until it returns `Some`, for at most `within`: the cluster's controllers act after
/// hoist's command has returned.
pub fn eventually<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < within, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}
