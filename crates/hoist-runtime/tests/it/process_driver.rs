//! The process driver against real processes: the example Go service built by the machine's
//! Go toolchain, and a shell that ignores SIGTERM.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hoist_runtime::driver::process::{ProcessReplica, ProcessSpec};
use hoist_runtime::driver::{free_port, is_listening};
use hoist_runtime::logs::LogPolicy;
use hoist_test::fixtures;

use crate::wait_listening;

fn spec(binary: PathBuf, args: &[&str], dir: &Path) -> ProcessSpec {
    ProcessSpec {
        binary,
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        env: BTreeMap::from([("GREETING_TEST".to_owned(), "1".to_owned())]),
        port: free_port().unwrap(),
        log: LogPolicy {
            path: dir.join("logs/replica.log"),
            max_bytes: 1 << 20,
            keep: 2,
        },
        dir: None,
    }
}

/// The body of `GET PATH` from the replica on `port` (a process of its own: blocking is fine).
fn get(port: u16, path: &str) -> String {
    hoist_test::http::get(SocketAddr::from(([127, 0, 0, 1], port)), "x", path)
        .expect("the replica answers")
        .body
}

#[tokio::test]
async fn runs_the_service_on_port_logs_it_and_stops_it_with_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(fixtures::hello("dev"), &[], dir.path());
    let mut replica = ProcessReplica::start(&spec).unwrap();
    wait_listening(spec.port).await;
    assert!(get(spec.port, "/").contains("hello from hoist"));
    assert!(get(spec.port, "/healthz").ends_with("ok\n"));

    let (status, killed) = replica.stop(Duration::from_secs(5)).await.unwrap();
    assert!(!killed, "Go exits on SIGTERM; no SIGKILL needed");
    assert!(!status.success());
    assert!(!is_listening(spec.port, Duration::from_millis(200)).await);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let log = std::fs::read_to_string(&spec.log.path).unwrap();
    assert!(
        log.contains(&format!("listening on :{}", spec.port)),
        "{log}"
    );
}

#[tokio::test]
async fn a_replica_ignoring_sigterm_is_killed_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let script = format!(
        "trap '' TERM; sleep 300 & echo $! > {}; wait",
        pidfile.display()
    );
    let spec = spec(PathBuf::from("/bin/sh"), &["-c", &script], dir.path());
    let mut replica = ProcessReplica::start(&spec).unwrap();
    let mut child_pid = String::new();
    for _ in 0..100 {
        child_pid = std::fs::read_to_string(&pidfile).unwrap_or_default();
        if !child_pid.trim().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let child = Path::new("/proc").join(child_pid.trim());
    assert!(child.exists(), "the shell's child should run");

    let (_, killed) = replica.stop(Duration::from_millis(300)).await.unwrap();
    assert!(
        killed,
        "SIGTERM is ignored, so the grace period must end in SIGKILL"
    );
    for _ in 0..50 {
        if !child.exists()
            || std::fs::read_to_string(child.join("stat")).is_ok_and(|s| s.contains(") Z "))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the replica's child survived the stop of its process group");
}

#[tokio::test]
async fn a_missing_binary_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path().join("nope"), &[], dir.path());
    let err = ProcessReplica::start(&spec).err().expect("must fail");
    assert!(err.to_string().contains("cannot start"), "{err}");
    assert!(err.to_string().contains("nope"), "{err}");
}

#[tokio::test]
async fn a_crash_is_seen_with_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(
        PathBuf::from("/bin/sh"),
        &["-c", "echo dying >&2; exit 3"],
        dir.path(),
    );
    let mut replica = ProcessReplica::start(&spec).unwrap();
    let status = replica.exited().await.unwrap();
    assert_eq!(status.code, Some(3));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        std::fs::read_to_string(&spec.log.path)
            .unwrap()
            .contains("dying")
    );
}
