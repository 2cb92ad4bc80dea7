//! `run.rollout.synthetic`: while a canary step is short of evidence, the agent requests the
//! configured paths itself, so a canary with little real traffic still gets a verdict instead
//! of waiting out `max_wait` (Flagger's load-tester webhook, built in).
//!
//! The requests go straight to each revision's ready replicas, not through the proxy's split.
//! Through the split, a revision would get the step's share of them: at a 10% step the canary
//! would need ten times its `min_sample` in requests while the stable revision, already past
//! its own, got nine in ten of them. Sent to each revision that is short, at `rate` each, both
//! reach their sample in `min_sample / rate` whatever the weight, and a revision that has
//! enough real traffic gets none. What the split would have added is the proxy's routing
//! (host, path prefix), which is the same for both revisions and so tells them apart in
//! nothing. Otherwise each request is handled as the proxy handles one: the replica is picked
//! from the same ready set (and counted in flight, so a drain waits for it), the revision's
//! `hoist chaos` / `[verify.chaos]` faults are applied, a replica that fails before answering
//! is a failed attempt and the next one is tried, and the answer is recorded in the proxy's
//! metrics and per-revision counters that the analysis reads — a 5xx, a failed attempt or no
//! answer within [`TIMEOUT`] is an error of the revision. They carry `User-Agent:
//! hoist-synthetic` and `X-Hoist-Synthetic: 1`, so the app and its logs can tell them apart.
//!
//! The controller says every tick which revisions are short ([`Sender::want`]); that is a
//! lease, so if the controller stops saying it (the step ended and the next has enough, the
//! agent is stopping) the requests stop within [`LEASE`]. Dropping the [`Sender`] (the canary
//! promoted or rolled back, the app stopped) ends its task and every request in flight.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hoist_core::SyntheticTraffic;
use http::{HeaderValue, StatusCode};
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::proxy::faults::Injected;
use crate::proxy::{BackendSet, Proxy};

/// A synthetic request unanswered after this long is an error of its revision (a user would
/// have given up too), and no longer held in flight.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// How long one [`Sender::want`] holds: a few controller ticks, so a controller that stops
/// steering stops the requests soon.
pub(crate) const LEASE: Duration = Duration::from_secs(1);

/// Requests in flight per revision at most: a revision slower than `rate` allows gets fewer,
/// rather than an unbounded pile of them.
const MAX_IN_FLIGHT: usize = 64;

/// Idle keep-alive connections kept for reuse, so a high rate does not open a connection per
/// request.
const MAX_IDLE: usize = 16;

/// The header that marks a synthetic request for the app and its logs.
const MARK: &str = "x-hoist-synthetic";

/// The two revisions, as indices into the sender's arrays.
#[derive(Debug, Clone, Copy)]
enum Side {
    Canary = 0,
    Stable = 1,
}

/// Which revisions want requests, until when.
#[derive(Debug)]
struct Want {
    sides: [bool; 2],
    until: Instant,
}

/// The synthetic requests of one canary: a task that sends them while the controller wants
/// them, and how many each revision has answered (or failed).
pub(crate) struct Sender {
    want: Arc<Mutex<Want>>,
    tally: Arc<Tally>,
    task: tokio::task::JoinHandle<()>,
}

/// Synthetic requests recorded per revision (canary, stable). Recording one in the proxy's
/// figures and counting it here happen under the lock, and a reader takes it too, so "n
/// synthetic of m" is exact: never a request in one count and not yet in the other.
#[derive(Default)]
struct Tally(Mutex<[u64; 2]>);

impl Tally {
    fn lock(&self) -> std::sync::MutexGuard<'_, [u64; 2]> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `record` (which puts one request of `side` in the proxy's figures) and counts it,
    /// as one step for [`Sender::figures`].
    fn record(&self, side: Side, record: impl FnOnce()) {
        let mut counts = self.lock();
        record();
        counts[side as usize] += 1;
    }
}

/// What the task needs to send and record one request.
struct Shared {
    app: String,
    proxy: Arc<Proxy>,
    /// The `Host` header: the app's ingress host, else none (the replica's address is used).
    host: Option<HeaderValue>,
    tally: Arc<Tally>,
    idle: Mutex<Vec<(SocketAddr, SendRequest<Empty<Bytes>>)>>,
}

impl Sender {
    /// Starts sending `config`'s requests to the canary's replicas (`canary`) and the stable
    /// revision's (`stable`) of `app` — none until [`Sender::want`] asks.
    pub(crate) fn start(
        app: &str,
        proxy: Arc<Proxy>,
        host: Option<&str>,
        config: &SyntheticTraffic,
        sets: [Arc<BackendSet>; 2],
    ) -> Self {
        let want = Arc::new(Mutex::new(Want {
            sides: [false; 2],
            until: Instant::now(),
        }));
        let tally = Arc::new(Tally::default());
        let shared = Arc::new(Shared {
            app: app.to_owned(),
            proxy,
            host: host.and_then(|h| HeaderValue::from_str(h).ok()),
            tally: Arc::clone(&tally),
            idle: Mutex::new(Vec::new()),
        });
        let task = tokio::spawn(run(
            shared,
            Arc::clone(&want),
            config.paths.clone(),
            config.rate.period(),
            sets,
        ));
        Self { want, tally, task }
    }

    /// Asks for requests to the canary and/or the stable revision from `now` for [`LEASE`];
    /// `false` for both stops them at once.
    pub(crate) fn want(&self, canary: bool, stable: bool, now: Instant) {
        let mut w = self.want.lock().unwrap_or_else(PoisonError::into_inner);
        w.sides = [canary, stable];
        w.until = now + LEASE;
    }

    /// The synthetic requests recorded so far (answered or failed), canary then stable,
    /// cumulative, with what `read` reads of the proxy's figures at the same instant: every
    /// request counted here is in them, and every synthetic one in them is counted here.
    pub(crate) fn figures<T>(&self, read: impl FnOnce() -> T) -> ((u64, u64), T) {
        let counts = self.tally.lock();
        let figures = read();
        ((counts[0], counts[1]), figures)
    }
}

impl Drop for Sender {
    /// Ends the task, and with its [`JoinSet`]s every request in flight.
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Every `period`, one request to each revision that wants one, to the next of `paths`.
async fn run(
    shared: Arc<Shared>,
    want: Arc<Mutex<Want>>,
    paths: Vec<String>,
    period: Duration,
    sets: [Arc<BackendSet>; 2],
) {
    let mut ticker = tokio::time::interval(period);
    // A late tick is not made up with a burst: the rate is an upper bound.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut in_flight: [JoinSet<()>; 2] = [JoinSet::new(), JoinSet::new()];
    let mut turn = [0usize; 2];
    loop {
        ticker.tick().await;
        let sides = {
            let w = want.lock().unwrap_or_else(PoisonError::into_inner);
            if Instant::now() < w.until {
                w.sides
            } else {
                [false; 2]
            }
        };
        for side in [Side::Canary, Side::Stable] {
            let i = side as usize;
            while in_flight[i].try_join_next().is_some() {}
            if !sides[i] || in_flight[i].len() >= MAX_IN_FLIGHT {
                continue;
            }
            // No ready replica: nothing is sent, so nothing is counted.
            if sets[i].snapshot().is_empty() {
                continue;
            }
            let path = paths[turn[i] % paths.len()].clone();
            turn[i] = turn[i].wrapping_add(1);
            let (shared, set) = (Arc::clone(&shared), Arc::clone(&sets[i]));
            in_flight[i].spawn(async move { one(&shared, side, &set, &path).await });
        }
    }
}

/// One request, as the proxy forwards one: the revision's injected fault decided on the first
/// replica picked; a replica that fails before answering is a failed attempt (an error of the
/// revision), and the request goes on to one not tried yet, as the proxy retries a request
/// without a body. No answer within [`TIMEOUT`] is a failed attempt too.
async fn one(shared: &Shared, side: Side, set: &BackendSet, path: &str) {
    let metrics = shared.proxy.metrics();
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let mut tried = Vec::new();
    while let Some(flight) = set.pick(&tried) {
        let backend = flight.backend();
        let failed = || {
            shared.tally.record(side, || {
                metrics.failed_attempt(&shared.app, backend);
            });
        };
        if tried.is_empty() {
            let injected = metrics.injected(&shared.app, backend);
            injected.delay().await;
            match injected {
                Injected::Forward(_) => {}
                Injected::Abort(_, code) => {
                    let code =
                        StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                    let took = started.elapsed();
                    shared.tally.record(side, || {
                        metrics.observe(&shared.app, backend, code, took);
                    });
                    return;
                }
                Injected::Reset(_) => return failed(),
            }
        }
        match tokio::time::timeout_at(deadline, get(shared, backend.addr, path)).await {
            Ok(Some((status, body, mut conn))) => {
                let took = started.elapsed();
                shared.tally.record(side, || {
                    metrics.observe(&shared.app, backend, status, took);
                });
                // Read to its end (the time to the head is what counts) so the connection
                // can be reused.
                let drained = tokio::time::timeout(TIMEOUT, body.collect()).await;
                let ready = tokio::time::timeout(Duration::from_secs(1), conn.ready());
                if matches!(drained, Ok(Ok(_))) && matches!(ready.await, Ok(Ok(()))) {
                    put_idle(shared, backend.addr, conn);
                }
                return;
            }
            Ok(None) => {
                failed();
                tried.push(backend.addr);
            }
            Err(_) => return failed(),
        }
    }
}

/// An answer's status, its body still to read, and the connection it came on.
type Head = (StatusCode, hyper::body::Incoming, SendRequest<Empty<Bytes>>);

/// `GET path` from the replica at `addr`, up to the answer's head; none when it failed before
/// one. A pooled connection that fails is tried again on a fresh one, as the proxy does: a
/// connection the replica closed while it was idle says nothing about the replica.
async fn get(shared: &Shared, addr: SocketAddr, path: &str) -> Option<Head> {
    if let Some(conn) = take_idle(shared, addr)
        && let Some(head) = exchange(shared, conn, addr, path).await
    {
        return Some(head);
    }
    exchange(shared, connect(addr).await?, addr, path).await
}

async fn exchange(
    shared: &Shared,
    mut conn: SendRequest<Empty<Bytes>>,
    addr: SocketAddr,
    path: &str,
) -> Option<Head> {
    let host = match &shared.host {
        Some(h) => h.clone(),
        None => HeaderValue::from_str(&addr.to_string()).ok()?,
    };
    let req = http::Request::get(path)
        .header(http::header::HOST, host)
        .header(http::header::USER_AGENT, "hoist-synthetic")
        .header(MARK, "1")
        .body(Empty::<Bytes>::new())
        .ok()?;
    let resp = conn.send_request(req).await.ok()?;
    Some((resp.status(), resp.into_body(), conn))
}

fn put_idle(shared: &Shared, addr: SocketAddr, conn: SendRequest<Empty<Bytes>>) {
    let mut idle = shared.idle.lock().unwrap_or_else(PoisonError::into_inner);
    if idle.len() < MAX_IDLE {
        idle.push((addr, conn));
    }
}

/// A pooled connection to `addr` that can take a request now.
fn take_idle(shared: &Shared, addr: SocketAddr) -> Option<SendRequest<Empty<Bytes>>> {
    let mut idle = shared.idle.lock().unwrap_or_else(PoisonError::into_inner);
    idle.retain(|(_, c)| !c.is_closed());
    let i = idle.iter().position(|(a, c)| *a == addr && c.is_ready())?;
    Some(idle.swap_remove(i).1)
}

/// A fresh connection to `addr`, its task spawned.
async fn connect(addr: SocketAddr) -> Option<SendRequest<Empty<Bytes>>> {
    let stream = TcpStream::connect(addr).await.ok()?;
    let _ = stream.set_nodelay(true);
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    Some(send)
}
