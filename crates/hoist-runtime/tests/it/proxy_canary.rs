//! A canary split in front of real replicas (the webapp fixture, built by the machine's Go and
//! run by the process driver): the weight decides the share, a cookie keeps a client on one
//! revision, and the per-revision figures count what each revision answered — its 5xx, its
//! latency, and attempts that never reached it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hoist_core::Sticky;
use hoist_runtime::driver::free_port;
use hoist_runtime::driver::process::{ProcessReplica, ProcessSpec};
use hoist_runtime::logs::LogPolicy;
use hoist_runtime::proxy::{Backend, BackendSet, Balance, Proxy, Route, RouteTable, Split};
use hoist_test::fixtures;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::wait_listening;

/// One webapp replica of `revision` labelled `label`, with extra environment `env`.
async fn replica(
    dir: &Path,
    revision: &str,
    label: &str,
    env: &[(&str, &str)],
) -> (ProcessReplica, Arc<Backend>) {
    let port = free_port().unwrap();
    let mut vars: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    vars.insert("LABEL".into(), label.into());
    let spec = ProcessSpec {
        binary: fixtures::webapp(),
        args: vec![],
        env: vars,
        port,
        log: LogPolicy {
            path: dir.join(format!("{label}-{port}.log")),
            max_bytes: 1 << 20,
            keep: 1,
        },
        dir: None,
    };
    let running = ProcessReplica::start(&spec).unwrap();
    wait_listening(port).await;
    let backend = Backend::new(SocketAddr::from(([127, 0, 0, 1], port)), revision);
    (running, backend)
}

/// A proxy routing app `web` to `stable`, with `canary` behind a split (weight 0 for now).
async fn proxy(
    stable: Vec<Arc<Backend>>,
    canary: Vec<Arc<Backend>>,
    sticky: Option<Sticky>,
) -> (Arc<Proxy>, Arc<Split>, SocketAddr) {
    let stable_set = Arc::new(BackendSet::new(Balance::RoundRobin));
    stable_set.set(stable);
    let canary_set = Arc::new(BackendSet::new(Balance::RoundRobin));
    canary_set.set(canary);
    let split = Split::new("2", canary_set, sticky);
    let proxy = Proxy::new();
    proxy.set_routes(RouteTable::new(vec![Route {
        app: "web".into(),
        host: None,
        path: "/".into(),
        backends: stable_set,
        split: Some(Arc::clone(&split)),
    }]));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(Arc::clone(&proxy).serve(listener));
    (proxy, split, addr)
}

/// `GET /` through the proxy on a fresh connection, with an optional cookie: status and label.
async fn get(addr: SocketAddr, cookie: Option<&str>) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    s.write_all(
        format!("GET / HTTP/1.1\r\nHost: web.test\r\n{cookie}Connection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut raw = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut raw))
        .await
        .expect("the proxy answers within 10 s")
        .unwrap();
    let code = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or("");
    (code, fixtures::label(body).to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_weight_splits_requests_and_each_revision_is_counted_apart() {
    let dir = tempfile::tempdir().unwrap();
    let (mut stable, stable_backend) = replica(dir.path(), "1", "stable", &[]).await;
    let (mut canary, canary_backend) = replica(
        dir.path(),
        "2",
        "canary",
        &[("ERROR_PERCENT", "10"), ("DELAY", "30ms")],
    )
    .await;
    let (proxy, split, addr) = proxy(vec![stable_backend], vec![canary_backend], None).await;

    // Weight 0: the canary gets nothing.
    for _ in 0..20 {
        assert_eq!(get(addr, None).await, (200, "stable".to_owned()));
    }
    split.set_weight(25);
    let mut by_label: BTreeMap<String, usize> = BTreeMap::new();
    let mut codes: BTreeMap<(String, u16), usize> = BTreeMap::new();
    for _ in 0..400 {
        let (code, label) = get(addr, None).await;
        *by_label.entry(label.clone()).or_default() += 1;
        *codes.entry((label, code)).or_default() += 1;
    }
    let to_canary = by_label.get("canary").copied().unwrap_or(0);
    assert_eq!(by_label.values().sum::<usize>(), 400, "{by_label:?}");
    assert!((60..=140).contains(&to_canary), "25% of 400: {by_label:?}");
    assert_eq!(codes.get(&("stable".to_owned(), 500)), None, "{codes:?}");

    let samples = proxy.metrics().traffic().samples("web");
    let (s, c) = (&samples["1"], &samples["2"]);
    assert_eq!(s.requests, 20 + 400 - to_canary as u64);
    assert_eq!(s.errors, 0);
    assert_eq!(c.requests, to_canary as u64);
    // The fixture fails exactly every tenth request it serves.
    assert_eq!(c.errors, to_canary as u64 / 10, "{codes:?}");
    assert_eq!(c.errors as usize, codes[&("canary".to_owned(), 500)]);
    let (s50, c50) = (
        s.latency.quantile(0.5).unwrap(),
        c.latency.quantile(0.5).unwrap(),
    );
    assert!(c50 >= Duration::from_millis(28), "canary p50 {c50:?}");
    assert!(s50 < Duration::from_millis(25), "stable p50 {s50:?}");
    // The Prometheus text has them by revision too.
    let text = proxy.metrics().encode();
    assert!(
        text.contains(r#"hoist_proxy_requests_total{app="web",revision="2",code="500"}"#),
        "{text}"
    );

    // Weight 100: the stable revision gets nothing.
    split.set_weight(100);
    for _ in 0..20 {
        assert_eq!(get(addr, None).await.1, "canary");
    }
    stable.stop(Duration::from_secs(5)).await.unwrap();
    canary.stop(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sticky_cookie_keeps_each_client_on_one_revision() {
    let dir = tempfile::tempdir().unwrap();
    let (mut stable, stable_backend) = replica(dir.path(), "1", "stable", &[]).await;
    let (mut canary, canary_backend) = replica(dir.path(), "2", "canary", &[]).await;
    let (_proxy, split, addr) = proxy(
        vec![stable_backend],
        vec![canary_backend],
        Some(Sticky::Cookie("session".into())),
    )
    .await;
    split.set_weight(50);
    let mut on_canary = Vec::new();
    for user in 0..40 {
        let cookie = format!("theme=dark; session=u{user}");
        let first = get(addr, Some(&cookie)).await.1;
        for _ in 0..4 {
            assert_eq!(get(addr, Some(&cookie)).await.1, first, "user {user} moved");
        }
        if first == "canary" {
            on_canary.push(user);
        }
    }
    assert!(
        !on_canary.is_empty() && on_canary.len() < 40,
        "both revisions have users: {on_canary:?}"
    );
    // A larger share keeps the canary's users on it.
    split.set_weight(75);
    for user in &on_canary {
        let cookie = format!("session=u{user}");
        assert_eq!(get(addr, Some(&cookie)).await.1, "canary", "user {user}");
    }
    stable.stop(Duration::from_secs(5)).await.unwrap();
    canary.stop(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_canary_replica_counts_against_the_canary_and_no_request_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (mut stable, stable_backend) = replica(dir.path(), "1", "stable", &[]).await;
    // Nothing listens on this port: every connection to the canary is refused.
    let gone = Backend::new(
        SocketAddr::from(([127, 0, 0, 1], free_port().unwrap())),
        "2",
    );
    let (proxy, split, addr) = proxy(vec![stable_backend], vec![gone], None).await;
    split.set_weight(50);
    for _ in 0..100 {
        assert_eq!(get(addr, None).await, (200, "stable".to_owned()));
    }
    let samples = proxy.metrics().traffic().samples("web");
    let c = &samples["2"];
    assert!(c.requests > 20, "{c:?}");
    assert_eq!(c.errors, c.requests, "every attempt failed");
    assert_eq!(c.latency.count(), 0, "none was answered");
    assert_eq!(samples["1"].errors, 0);
    assert!(
        proxy
            .metrics()
            .encode()
            .contains(r#"hoist_proxy_failed_attempts_total{app="web",revision="2"}"#)
    );
    stable.stop(Duration::from_secs(5)).await.unwrap();
}
