//! Runs hoist's ingress proxy alone in front of fixed replicas, for benchmarks against other
//! proxies (`scripts/bench-proxy`): `proxy LISTEN_ADDR ADMIN_ADDR BACKEND_ADDR...`.

use std::net::SocketAddr;
use std::sync::Arc;

use hoist_runtime::proxy::{Backend, BackendSet, Balance, Proxy, Route, RouteTable, serve_admin};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, admin, backends @ ..] = args.as_slice() else {
        eprintln!("usage: proxy LISTEN_ADDR ADMIN_ADDR BACKEND_ADDR...");
        std::process::exit(2);
    };
    let set = Arc::new(BackendSet::new(Balance::RoundRobin));
    set.set(
        backends
            .iter()
            .map(|b| Backend::new(b.parse::<SocketAddr>().expect("backend address"), "bench"))
            .collect(),
    );
    let proxy = Proxy::new();
    proxy.set_routes(RouteTable::new(vec![Route {
        app: "bench".into(),
        host: None,
        path: "/".into(),
        backends: set,
        split: None,
    }]));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .expect("listen address");
    let admin = tokio::net::TcpListener::bind(admin)
        .await
        .expect("admin address");
    tokio::spawn(serve_admin(Arc::clone(&proxy), admin));
    proxy.serve(listener).await;
}
