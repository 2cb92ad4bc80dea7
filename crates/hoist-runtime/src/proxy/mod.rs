//! The ingress proxy: one HTTP listener in front of every app, routing by Host and path prefix
//! to the app's *ready* replicas, so a rollout or a crash drops no request.
//!
//! - Routing ([`routes`]): exact Host match (port ignored) and longest path prefix; an app
//!   without a host answers on any Host while it is the only such app.
//! - Balancing ([`backends`]): round robin or least in-flight over the live replica set, which
//!   the agent swaps atomically as replicas become ready or leave the rotation.
//! - Forwarding ([`forward`]): a fresh upstream connection per request; a refused connection is
//!   retried on another replica, and a body-less request whose connection is reset before any
//!   response byte is retried too (a request with a body cannot be replayed). Bodies stream both
//!   ways; HTTP/1.1 upgrades (WebSocket) are spliced; X-Forwarded-For/Proto/Host are added. A
//!   replica's answer that comes before it has read the request's body is relayed, never a 502,
//!   and the client's connection is then closed after it (lingering, as nginx does: `io`). A
//!   replica that refused a connection rests for [`backends::REST`] (passive health, as nginx's
//!   `max_fails`/`fail_timeout`): a dead replica costs one failed attempt per rest, not one per
//!   request, until the agent's probe takes it out.
//! - Canary splits ([`split`]): during a canary, a route's requests are shared between the
//!   stable and the canary revision by a weight the agent turns, optionally sticky by a cookie
//!   or header.
//! - Metrics ([`metrics`]): requests, errors and latency by app and revision, in Prometheus'
//!   text format on the admin listener; and per-revision counters for canary analysis and the
//!   agent's dashboard ([`traffic`]: requests, 5xx and connection failures, latency
//!   histograms, lock-free).

pub mod backends;
pub mod challenge;
pub mod faults;
pub mod forward;
mod io;
pub mod metrics;
pub mod routes;
pub mod split;
pub mod tls;
pub mod traffic;
pub mod workers;

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

pub use backends::{Backend, BackendSet, Balance, REST};
pub use metrics::Metrics;
pub use routes::{Route, RouteTable, same_place};
pub use split::Split;
pub use traffic::Traffic;

/// The proxy's shared state: the route table (swapped whole on deploys) and the metrics.
pub struct Proxy {
    routes: ArcSwap<RouteTable>,
    metrics: Metrics,
    /// The HTTPS port plain-HTTP requests are redirected to, once TLS is served and asked for.
    redirect_https: std::sync::OnceLock<u16>,
    /// ACME HTTP-01 tokens answered on the plain listener.
    challenges: challenge::Challenges,
}

impl Proxy {
    /// A proxy with no routes yet (every request gets 404 until an app is deployed).
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            routes: ArcSwap::from_pointee(RouteTable::default()),
            metrics: Metrics::new(),
            redirect_https: std::sync::OnceLock::new(),
            challenges: challenge::Challenges::default(),
        })
    }

    /// Replaces the route table.
    pub fn set_routes(&self, table: RouteTable) {
        self.routes.store(Arc::new(table));
    }

    /// The current route table.
    pub fn routes(&self) -> Arc<RouteTable> {
        self.routes.load_full()
    }

    /// From now on, answers every plain-HTTP request with a permanent redirect (308) to the
    /// same host and path over HTTPS on `port`.
    pub fn redirect_to_https(&self, port: u16) {
        let _ = self.redirect_https.set(port);
    }

    /// The ACME HTTP-01 tokens this proxy answers on plain HTTP.
    pub fn challenges(&self) -> &challenge::Challenges {
        &self.challenges
    }

    /// The request metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Serves HTTP/1.1 on `listener` until this future is dropped: connections are accepted
    /// here and handed in turn to one worker thread per core ([`workers`]), which serves each
    /// in its own task, with keep-alive and upgrades.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        workers::run(self, listener, workers::default_count()).await;
    }

    /// Serves one accepted client connection in a task of the current runtime.
    fn serve_connection(self: Arc<Self>, stream: tokio::net::TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let client = Arc::new(forward::Peer::new(peer));
            let io = io::ClientIo::new(stream, Arc::clone(&client));
            let service = self.connection_service(client);
            let conn = http1::Builder::new()
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades();
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "client connection ended with an error");
            }
        });
    }

    /// What serves the requests of one client connection (plain or TLS): the route's
    /// answer, or a fault's [`faults::ResetConnection`] as the error that makes hyper close the
    /// connection.
    fn connection_service(
        self: &Arc<Self>,
        client: Arc<forward::Peer>,
    ) -> impl hyper::service::Service<
        hyper::Request<hyper::body::Incoming>,
        Response = hyper::Response<forward::Body>,
        Error = faults::ResetConnection,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static {
        let proxy = Arc::clone(self);
        service_fn(move |req| {
            let (proxy, client) = (Arc::clone(&proxy), Arc::clone(&client));
            async move {
                let resp = proxy.handle(req, &client).await;
                match resp.extensions().get::<faults::ResetConnection>() {
                    Some(reset) => Err(*reset),
                    None => Ok(resp),
                }
            }
        })
    }

    async fn handle(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
        peer: &Arc<forward::Peer>,
    ) -> hyper::Response<forward::Body> {
        let table = self.routes();
        let host = req
            .headers()
            .get(hyper::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().host())
            .unwrap_or("");
        if !peer.is_secure()
            && let Some(answer) = self.challenges.answer(req.uri().path())
        {
            return forward::status(hyper::StatusCode::OK, &answer);
        }
        if let Some(&port) = self.redirect_https.get()
            && !peer.is_secure()
        {
            let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
            let mut r = forward::status(
                hyper::StatusCode::PERMANENT_REDIRECT,
                "this site is served over HTTPS\n",
            );
            if let Ok(v) =
                hyper::header::HeaderValue::from_str(&tls::https_location(host, port, path))
            {
                r.headers_mut().insert(hyper::header::LOCATION, v);
            }
            return r;
        }
        match table.pick(host, req.uri().path()) {
            Some(route) => forward::forward(route, req, peer, &self.metrics).await,
            None => forward::status(hyper::StatusCode::NOT_FOUND, "no app is routed here\n"),
        }
    }
}

/// Serves the metrics in Prometheus' text format on `listener` (`GET /metrics`): the proxy on
/// its own (`examples/proxy.rs`, the benchmarks). The agent serves the same text on its admin
/// address beside its dashboard (`agent::admin`).
pub async fn serve_admin(proxy: Arc<Proxy>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let proxy = Arc::clone(&proxy);
        tokio::spawn(async move {
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let proxy = Arc::clone(&proxy);
                async move {
                    let resp = if req.uri().path() == "/metrics" {
                        let mut r = forward::status(hyper::StatusCode::OK, &proxy.metrics.encode());
                        r.headers_mut().insert(
                            hyper::header::CONTENT_TYPE,
                            hyper::header::HeaderValue::from_static(
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            ),
                        );
                        r
                    } else {
                        forward::status(hyper::StatusCode::NOT_FOUND, "try /metrics\n")
                    };
                    Ok::<_, std::convert::Infallible>(resp)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
