//! Forwarding one request to a replica, with retries that never replay a consumed body.
//!
//! A replica may answer before it has read the request's body (an upload refused with 400, 401
//! or 413): its answer is relayed as soon as its head arrives, while the body keeps flowing as
//! long as the replica reads it. Once that answer is complete, a body still not read to its end
//! is abandoned: the replica's connection is closed, and the client's is closed after the answer
//! (`Connection: close`, and a lingering close: `super::io`), since its unread rest would be taken
//! for the next request.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http_body_util::{BodyExt, Empty, Full, combinators::BoxBody};
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::Route;
use super::backends::{InFlight, Upstream};
use super::faults::{Injected, ResetConnection};
use super::io::UpstreamIo;
use super::metrics::Metrics;

/// The longest a request waits for a ready replica while an update holds requests.
const HOLD_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The body type the proxy answers with.
pub type Body = BoxBody<Bytes, hyper::Error>;

/// A short plain-text response made by the proxy itself.
pub fn status(code: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from(text.to_owned()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = code;
    r
}

/// Headers that describe one connection, not the request (RFC 9110 §7.6.1): never forwarded.
const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// The client end of one connection, as the replicas are told of it.
pub struct Peer {
    /// Its address.
    pub addr: SocketAddr,
    /// Its IP as an X-Forwarded-For value, made once per connection.
    ip: HeaderValue,
    /// Whether the body of its current request is being forwarded and not read to its end yet.
    /// Kept here, per connection (HTTP/1 has one request at a time), so that following a body
    /// costs no allocation per request.
    body_unread: AtomicBool,
    /// Whether it came over TLS (X-Forwarded-Proto: https).
    secure: bool,
}

impl Peer {
    /// The client at `addr`, over plain HTTP.
    pub fn new(addr: SocketAddr) -> Self {
        let ip = HeaderValue::from_maybe_shared(Bytes::from(addr.ip().to_string()))
            .unwrap_or(HeaderValue::from_static("unknown"));
        Self {
            addr,
            ip,
            body_unread: AtomicBool::new(false),
            secure: false,
        }
    }

    /// The client at `addr`, over TLS.
    pub fn secure(addr: SocketAddr) -> Self {
        Self {
            secure: true,
            ..Self::new(addr)
        }
    }

    /// Whether it came over TLS.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// Whether the current request's body was left half-read: the connection must then close
    /// after the answer, since the rest of the body would be taken for the next request.
    pub fn body_unread(&self) -> bool {
        self.body_unread.load(Ordering::Acquire)
    }
}

/// Sends `req` to one of `route`'s ready replicas and returns its response, streaming.
///
/// A replica that refuses the connection is skipped for the next one. A request without a
/// body is also retried when its connection breaks before any response byte (a replica killed
/// mid-request); a request with a body is not, since its body was already sent. When no replica
/// is left to try: 503 if none was ready, 502 if they all failed. An answer that comes before
/// the body is read to its end is the replica's answer all the same, with `Connection: close`.
pub async fn forward(
    route: &Route,
    mut req: Request<Incoming>,
    peer: &Arc<Peer>,
    metrics: &Metrics,
) -> Response<Body> {
    let started = Instant::now();
    let replayable = req.body().is_end_stream();
    // Decided once per request: retries stay on its side of a canary split while they can.
    let canary = route
        .split
        .as_deref()
        .filter(|s| s.to_canary(req.headers()));
    let upgrade = is_upgrade(req.headers());
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let (mut parts, body) = req.into_parts();
    if parts.version == hyper::Version::HTTP_2 {
        to_http1(&mut parts);
    }
    to_upstream_headers(&mut parts.headers, peer, upgrade);
    // Origin form (path and query) towards the replica, whatever form the client used.
    let uri = parts.uri.path_and_query().map_or_else(
        || http::Uri::from_static("/"),
        |pq| http::Uri::from(pq.clone()),
    );
    let mut body = Some(body);
    let mut tried = Vec::new();
    let mut held = false;
    // A fault is injected once per request, on its first replica, not again on a retry.
    let mut faulted = false;
    loop {
        let Some(flight) = pick(route, canary, &tried) else {
            // A `recreate` update: wait for the new replica rather than fail the request.
            if tried.is_empty() && !held && route.backends.holding() {
                held = true;
                route.backends.wait_ready(HOLD_LIMIT).await;
                continue;
            }
            let (code, reason) = if tried.is_empty() {
                (StatusCode::SERVICE_UNAVAILABLE, "no ready replica")
            } else {
                (StatusCode::BAD_GATEWAY, "every replica failed")
            };
            metrics.error(&route.app, reason);
            return status(code, &format!("{reason} for app {}\n", route.app));
        };
        let addr = flight.backend().addr;
        if !faulted {
            faulted = true;
            let injected = metrics.injected(&route.app, flight.backend());
            injected.delay().await;
            match injected {
                Injected::Forward(_) => {}
                Injected::Abort(_, code) => {
                    let code =
                        StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                    metrics.observe(&route.app, flight.backend(), code, started.elapsed());
                    return status(code, "fault injected by `hoist chaos`\n");
                }
                Injected::Reset(_) => {
                    metrics.failed_attempt(&route.app, flight.backend());
                    let mut r = status(StatusCode::BAD_GATEWAY, "");
                    r.extensions_mut().insert(ResetConnection);
                    return r;
                }
            }
        }
        // Only a replayable request may ride a pooled connection: if the replica closed it
        // meanwhile, the request is retried, which a consumed body could not be.
        let pooled = if replayable {
            flight.backend().take_idle()
        } else {
            None
        };
        let reused = pooled.is_some();
        // A fresh connection comes with its task, which an early answer may have to end.
        let (mut sender, task) = if let Some(s) = pooled {
            (s, None)
        } else {
            let Some((s, task)) = connect(addr).await else {
                tried.push(addr);
                flight.backend().refused();
                metrics.failed_attempt(&route.app, flight.backend());
                metrics.retry(&route.app);
                continue;
            };
            flight.backend().connected();
            (s, Some(task))
        };
        // A replayable request may be sent again, so it keeps its head; one with a body is
        // sent once (it is never retried after this), so its head moves.
        let (outgoing, headers) = if replayable {
            (
                Empty::new().map_err(|never| match never {}).boxed(),
                parts.headers.clone(),
            )
        } else {
            match body.take() {
                Some(b) => {
                    peer.body_unread.store(true, Ordering::Release);
                    let b = ReadToEnd {
                        inner: b,
                        peer: Arc::clone(peer),
                    };
                    (b.boxed(), std::mem::take(&mut parts.headers))
                }
                None => break,
            }
        };
        let mut upstream = Request::new(outgoing);
        *upstream.method_mut() = parts.method.clone();
        *upstream.uri_mut() = uri.clone();
        *upstream.headers_mut() = headers;
        match sender.send_request(upstream).await {
            Ok(mut resp) => {
                metrics.observe(
                    &route.app,
                    flight.backend(),
                    resp.status(),
                    started.elapsed(),
                );
                let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
                if let (Some(client), true) = (client_upgrade, switching) {
                    let server = hyper::upgrade::on(&mut resp);
                    tokio::spawn(splice(client, server));
                }
                strip_hop_by_hop(resp.headers_mut(), switching);
                if !replayable && !switching && peer.body_unread() {
                    // An early answer: the client's connection cannot carry another request.
                    tracing::debug!(
                        %addr,
                        status = %resp.status(),
                        "replica answered before the whole body was read"
                    );
                    resp.headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                }
                // The replica counts this request in flight until its body is done, so a drain
                // waits for streaming responses too; then the connection goes back to the pool.
                let give_back = GiveBack {
                    conn: Some(sender),
                    flight,
                    body: (!replayable).then(|| Arc::clone(peer)).zip(task),
                };
                return resp.map(|b| {
                    b.map_err(move |e| {
                        let _until_done = &give_back;
                        e
                    })
                    .boxed()
                });
            }
            Err(e) if replayable => {
                tracing::debug!(%addr, reused, error = %e, "replica failed before answering; retrying");
                // A stale pooled connection says nothing about the replica: it may be tried
                // afresh.
                if !reused {
                    tried.push(addr);
                    flight.backend().refused();
                    metrics.failed_attempt(&route.app, flight.backend());
                }
                metrics.retry(&route.app);
            }
            Err(e) => {
                tracing::debug!(%addr, error = %e, "replica failed with a request body in flight");
                metrics.failed_attempt(&route.app, flight.backend());
                break;
            }
        }
    }
    metrics.error(&route.app, "upstream failed");
    let mut failed = status(
        StatusCode::BAD_GATEWAY,
        "the replica failed while answering\n",
    );
    if peer.body_unread() {
        failed
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    failed
}

/// A replica for the next attempt: on the request's side of a canary split (`canary`, or the
/// stable replicas), else on the other side, so a request is served while either revision has a
/// replica left to try.
fn pick(route: &Route, canary: Option<&super::Split>, tried: &[SocketAddr]) -> Option<InFlight> {
    match (canary, route.split.as_deref()) {
        (Some(c), _) => c
            .backends
            .pick(tried)
            .or_else(|| route.backends.pick(tried)),
        (None, Some(c)) => route
            .backends
            .pick(tried)
            .or_else(|| c.backends.pick(tried)),
        (None, None) => route.backends.pick(tried),
    }
}

/// A request body on its way to a replica that notes, on the client's [`Peer`], when it has been
/// read to its end.
struct ReadToEnd {
    inner: Incoming,
    peer: Arc<Peer>,
}

impl hyper::body::Body for ReadToEnd {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let frame = Pin::new(&mut self.inner).poll_frame(cx);
        // hyper asks `is_end_stream` after a frame and may never poll again: the end is noted
        // as soon as it is known, not only at the final `None`.
        if matches!(frame, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.peer.body_unread.store(false, Ordering::Release);
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Holds a request's place on its replica until the response body is done, then offers the
/// connection back to the replica's pool.
struct GiveBack {
    conn: Option<Upstream>,
    flight: InFlight,
    /// For a request with a body on a fresh connection: the client, and the connection's task,
    /// ended when the answer is complete while the body is still not read to its end (the rest
    /// is no longer wanted, and the connection is good for nothing else).
    body: Option<(Arc<Peer>, tokio::task::JoinHandle<()>)>,
}

impl Drop for GiveBack {
    fn drop(&mut self) {
        if let Some((peer, task)) = &self.body
            && peer.body_unread()
        {
            task.abort();
            return;
        }
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let backend = Arc::clone(self.flight.backend());
        if conn.is_ready() {
            backend.put_idle(conn);
        } else if !conn.is_closed()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            // The connection task may not have seen the end of the response yet: wait for it
            // to be ready (briefly) instead of dropping a reusable connection.
            runtime.spawn(async move {
                let ready = tokio::time::timeout(std::time::Duration::from_secs(1), conn.ready());
                if matches!(ready.await, Ok(Ok(()))) {
                    backend.put_idle(conn);
                }
            });
        }
    }
}

/// A fresh connection to `addr`, and the task that runs it.
async fn connect(addr: SocketAddr) -> Option<(Upstream, tokio::task::JoinHandle<()>)> {
    let stream = TcpStream::connect(addr).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(UpstreamIo::new(stream)))
            .await
            .ok()?;
    let task = tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    Some((sender, task))
}

fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
            })
}

/// Turns the client's request headers into those a replica sees: less hop-by-hop ones, plus
/// An HTTP/2 request (from the TLS listener) as the HTTP/1.1 request replicas are sent: its
/// `:authority` as the Host header, its URI in origin form (path and query).
fn to_http1(parts: &mut hyper::http::request::Parts) {
    if !parts.headers.contains_key(header::HOST)
        && let Some(authority) = parts.uri.authority()
        && let Ok(v) = HeaderValue::from_str(authority.as_str())
    {
        parts.headers.insert(header::HOST, v);
    }
    if let Some(pq) = parts.uri.path_and_query()
        && let Ok(uri) = hyper::Uri::builder().path_and_query(pq.as_str()).build()
    {
        parts.uri = uri;
    }
    parts.version = hyper::Version::HTTP_11;
}

/// X-Forwarded-For (appended), X-Forwarded-Proto and X-Forwarded-Host.
fn to_upstream_headers(h: &mut HeaderMap, peer: &Peer, upgrade: bool) {
    strip_hop_by_hop(h, upgrade);
    let chain = match h.get(&X_FORWARDED_FOR) {
        Some(prev) => {
            let mut v = Vec::with_capacity(prev.len() + 2 + peer.ip.len());
            v.extend_from_slice(prev.as_bytes());
            v.extend_from_slice(b", ");
            v.extend_from_slice(peer.ip.as_bytes());
            HeaderValue::from_maybe_shared(Bytes::from(v)).ok()
        }
        None => Some(peer.ip.clone()),
    };
    if let Some(v) = chain {
        h.insert(X_FORWARDED_FOR, v);
    }
    h.insert(
        X_FORWARDED_PROTO,
        HeaderValue::from_static(if peer.secure { "https" } else { "http" }),
    );
    if let Some(host) = h.get(header::HOST).cloned() {
        h.insert(X_FORWARDED_HOST, host);
    }
}

/// Removes hop-by-hop headers, and those the Connection header names; an upgrade keeps
/// `Connection: upgrade` and `Upgrade`, which are the point of it.
fn strip_hop_by_hop(h: &mut HeaderMap, upgrade: bool) {
    let named: Vec<String> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|t| t.trim().to_ascii_lowercase()))
        .filter(|t| !t.is_empty() && t != "upgrade" && t != "connection")
        .collect();
    for name in &named {
        h.remove(name.as_str());
    }
    for name in &HOP_BY_HOP {
        if upgrade && (name == header::CONNECTION || name == header::UPGRADE) {
            continue;
        }
        h.remove(name);
    }
    if upgrade {
        h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// Copies bytes both ways between an upgraded client and replica until either side closes.
async fn splice(client: hyper::upgrade::OnUpgrade, server: hyper::upgrade::OnUpgrade) {
    let (Ok(client), Ok(server)) = (client.await, server.await) else {
        return;
    };
    let _ =
        tokio::io::copy_bidirectional(&mut TokioIo::new(client), &mut TokioIo::new(server)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_headers_and_hop_by_hop() {
        let mut client = HeaderMap::new();
        client.insert(header::HOST, HeaderValue::from_static("example.com"));
        client.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret-hop"),
        );
        client.insert("x-secret-hop", HeaderValue::from_static("1"));
        client.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        client.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        let mut h = client.clone();
        to_upstream_headers(&mut h, &Peer::new("127.0.0.9:5000".parse().unwrap()), false);
        assert_eq!(h["x-forwarded-for"], "10.0.0.1, 127.0.0.9");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "example.com");
        assert!(!h.contains_key("x-secret-hop"));
        assert!(!h.contains_key(header::CONNECTION));
        assert!(!h.contains_key(header::TRANSFER_ENCODING));
    }

    #[test]
    fn upgrades_keep_their_headers() {
        let mut client = HeaderMap::new();
        client.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        client.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        assert!(is_upgrade(&client));
        let mut h = client;
        to_upstream_headers(&mut h, &Peer::new("127.0.0.1:1".parse().unwrap()), true);
        assert_eq!(h[header::UPGRADE], "websocket");
        assert_eq!(h[header::CONNECTION], "upgrade");
    }
}
