//! hoist-runtime's integration tests, one binary (`cargo test -p hoist-runtime --test it
//! MODULE::`): the drivers and the proxy through the library, against real processes built from
//! the Go fixtures (hoist-test builds each once) and, for the container driver, real engines.
//! Nothing here builds or runs the `hoist` binary: the images come from hoist-image.
//!
//! `process_driver`, `proxy` and `proxy_early_answer` need Go (and curl); `container_driver`
//! needs the engines `scripts/engines start` runs, and fails without them.

mod container_driver;
mod process_driver;
mod proxy;
mod proxy_canary;
mod proxy_early_answer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hoist_runtime::driver::is_listening;
use hoist_runtime::proxy::{Backend, BackendSet, Balance, Proxy, Route, RouteTable};
use tokio::net::TcpListener;

/// Waits until something listens on `port` (a replica starting), for at most 5 s.
async fn wait_listening(port: u16) {
    for _ in 0..100 {
        if is_listening(port, Duration::from_millis(100)).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listened on {port} within 5 s");
}

/// A proxy on a free port of the test's runtime, routing every request to `app` on `backends`
/// (round robin); the proxy and its address.
async fn start_proxy(app: &str, backends: Vec<Arc<Backend>>) -> (Arc<Proxy>, SocketAddr) {
    let set = Arc::new(BackendSet::new(Balance::RoundRobin));
    set.set(backends);
    let proxy = Proxy::new();
    proxy.set_routes(RouteTable::new(vec![Route {
        app: app.into(),
        host: None,
        path: "/".into(),
        backends: set,
        split: None,
    }]));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(Arc::clone(&proxy).serve(listener));
    (proxy, addr)
}
