//! The ingress proxy in front of real replicas (examples/hello built by the machine's Go,
//! run by the process driver): balancing, a replica killed with SIGKILL under load, no replica,
//! and the metrics endpoint.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use hoist_runtime::driver::free_port;
use hoist_runtime::driver::process::{ProcessReplica, ProcessSpec};
use hoist_runtime::logs::LogPolicy;
use hoist_runtime::proxy::{Backend, BackendSet, Balance, Route, RouteTable};
use hoist_test::fixtures;

use crate::{start_proxy, wait_listening};

struct Replicas {
    running: Vec<ProcessReplica>,
    backends: Vec<Arc<Backend>>,
}

async fn start_replicas(dir: &Path, n: usize) -> Replicas {
    let mut running = Vec::new();
    let mut backends = Vec::new();
    for i in 1..=n {
        let version = format!("r{i}");
        let port = free_port().unwrap();
        let spec = ProcessSpec {
            binary: fixtures::hello(&version),
            args: vec![],
            env: BTreeMap::new(),
            port,
            log: LogPolicy {
                path: dir.join(format!("{version}.log")),
                max_bytes: 1 << 20,
                keep: 1,
            },
            dir: None,
        };
        running.push(ProcessReplica::start(&spec).unwrap());
        wait_listening(port).await;
        backends.push(Backend::new(
            SocketAddr::from(([127, 0, 0, 1], port)),
            version,
        ));
    }
    Replicas { running, backends }
}

/// One request on a fresh connection, through the proxy on the test's runtime; the status code
/// and body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let answer = hoist_test::http::get_async(addr, "anything.test", path)
        .await
        .expect("the proxy answers");
    (answer.status, answer.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balances_over_every_ready_replica() {
    let dir = tempfile::tempdir().unwrap();
    let mut replicas = start_replicas(dir.path(), 3).await;
    let (proxy, addr) = start_proxy("hello", replicas.backends.clone()).await;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..9 {
        let (code, body) = get(addr, "/").await;
        assert_eq!(code, 200, "{body}");
        let version = body
            .split("version ")
            .nth(1)
            .and_then(|v| v.split(',').next())
            .unwrap();
        seen.insert(version.to_owned());
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["r1", "r2", "r3"]);
    let metrics = proxy.metrics().encode();
    assert!(
        metrics.contains(r#"hoist_proxy_requests_total{app="hello",revision="r2",code="200"} 3"#),
        "{metrics}"
    );
    for r in &mut replicas.running {
        r.stop(Duration::from_secs(5)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_under_load_costs_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let mut replicas = start_replicas(dir.path(), 3).await;
    let (proxy, addr) = start_proxy("hello", replicas.backends.clone()).await;
    // 4 clients send requests until told to stop (at most 20 s and 5,000 requests in all). The
    // second replica is SIGKILLed once 200 have been answered and stays in the backend set (no
    // agent here to take it out); 600 more are sent after the kill: every one must succeed.
    let done = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (done, stop) = (Arc::clone(&done), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut failures = Vec::new();
                while !stop.load(Ordering::Relaxed) && done.load(Ordering::Relaxed) < 5_000 {
                    let (code, body) = get(addr, "/").await;
                    if code != 200 {
                        failures.push(format!("{code} {body}"));
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                failures
            })
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let wait_for = |n: usize| {
        let done = Arc::clone(&done);
        async move {
            while done.load(Ordering::Relaxed) < n && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            done.load(Ordering::Relaxed)
        }
    };
    assert!(wait_for(200).await >= 200, "the load did not get going");
    let victim = replicas.running[1].pid();
    let killed = Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let killed_at = done.load(Ordering::Relaxed);
    let kill_time = std::time::Instant::now();
    assert!(
        wait_for(killed_at + 600).await >= killed_at + 600,
        "too few requests after the kill"
    );
    let after_kill = kill_time.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for c in clients {
        failures.extend(c.await.unwrap());
    }
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(replicas.running[1].exited().await.is_ok());
    let metrics = proxy.metrics().encode();
    assert!(
        metrics.contains("hoist_proxy_retries_total"),
        "retries were counted"
    );
    // Passive health: the dead replica, still in the set, is tried about once per rest (by
    // each of the 4 clients at most), not by a third of the requests after the kill (277 of
    // 600 before it rested).
    let failed: u64 = metrics
        .lines()
        .find(|l| l.starts_with("hoist_proxy_failed_attempts_total") && l.contains("\"r2\""))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .expect("the dead replica's failed attempts");
    let rests = after_kill.as_millis() / hoist_runtime::proxy::REST.as_millis() + 1;
    let bound = 4 * u64::try_from(rests).unwrap();
    eprintln!("failed attempts on the dead replica: {failed} in {after_kill:?}");
    assert!(
        (1..=bound).contains(&failed),
        "{failed} failed attempts on the dead replica in {after_kill:?} (at most {bound})"
    );
    for r in &mut replicas.running {
        r.stop(Duration::from_secs(5)).await.unwrap();
    }
}

#[tokio::test]
async fn no_ready_replica_is_503_and_unknown_host_404() {
    let (proxy, addr) = start_proxy("hello", vec![]).await;
    let (code, body) = get(addr, "/").await;
    assert_eq!(code, 503);
    assert!(body.contains("no ready replica for app hello"), "{body}");
    proxy.set_routes(RouteTable::new(vec![Route {
        app: "hello".into(),
        host: Some("hello.test".into()),
        path: "/".into(),
        backends: Arc::new(BackendSet::new(Balance::RoundRobin)),
        split: None,
    }]));
    assert_eq!(get(addr, "/").await.0, 404);
}
