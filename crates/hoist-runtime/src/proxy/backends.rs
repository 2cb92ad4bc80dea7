//! An app's live replica set and how requests are spread over it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

/// How the next replica is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    /// In turn.
    RoundRobin,
    /// The one with the fewest requests in flight (ties in turn).
    LeastInFlight,
}

/// One ready replica.
#[derive(Debug)]
pub struct Backend {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its revision (a metrics label).
    pub revision: String,
    in_flight: AtomicUsize,
    /// Its latency histogram and 200-response counter, looked up once instead of per request.
    pub(crate) hot_metrics: std::sync::OnceLock<super::metrics::HotMetrics>,
    /// Its revision's traffic counters (shared with the revision's other replicas).
    pub(crate) traffic: std::sync::OnceLock<Arc<super::traffic::RevisionTraffic>>,
    /// Idle keep-alive connections to it, reused by body-less requests (which can be retried
    /// elsewhere if a reused connection turns out to be closed): one pool per proxy worker,
    /// since a connection is served by a task of the worker that opened it.
    idle: Box<[Mutex<Vec<Upstream>>]>,
    /// When a connection to it was last refused (milliseconds on [`clock`], 0: not since the
    /// last one that worked). Passive health: a replica that refuses rests for [`REST`] before
    /// new requests try it again, so a replica that died costs one failed attempt per rest
    /// instead of one per request until the agent's probe takes it out of the set.
    refused_at: AtomicU64,
}

/// How long a replica that refused a connection is passed over (unless every other one is
/// tried or resting too): about one readiness probe of the agent's, which then takes a dead
/// replica out of the set or keeps a live one in it.
pub const REST: std::time::Duration = std::time::Duration::from_secs(1);

/// Milliseconds since the first call, never 0 (which [`Backend::refused_at`] keeps for "not
/// refused").
fn clock() -> u64 {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let epoch = EPOCH.get_or_init(std::time::Instant::now);
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX) + 1
}

/// A connection to a replica, ready for a request.
pub(crate) type Upstream = hyper::client::conn::http1::SendRequest<super::forward::Body>;

/// Idle connections kept per replica and worker.
const MAX_IDLE: usize = 64;

impl Backend {
    /// A replica at `addr` of `revision`.
    pub fn new(addr: SocketAddr, revision: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            addr,
            revision: revision.into(),
            in_flight: AtomicUsize::new(0),
            hot_metrics: std::sync::OnceLock::new(),
            traffic: std::sync::OnceLock::new(),
            idle: (0..super::workers::default_count().get())
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
            refused_at: AtomicU64::new(0),
        })
    }

    /// Notes that a connection to it was refused (or reset before any answer): it rests.
    pub(crate) fn refused(&self) {
        self.refused_at.store(clock(), Ordering::Relaxed);
    }

    /// Notes that a new connection to it worked: it no longer rests.
    pub(crate) fn connected(&self) {
        if self.refused_at.load(Ordering::Relaxed) != 0 {
            self.refused_at.store(0, Ordering::Relaxed);
        }
    }

    /// Whether it refused a connection less than [`REST`] ago.
    pub fn resting(&self) -> bool {
        let at = self.refused_at.load(Ordering::Relaxed);
        at != 0 && clock().saturating_sub(at) < u64::try_from(REST.as_millis()).unwrap_or(0)
    }

    /// This worker's idle connections.
    fn pool(&self) -> std::sync::MutexGuard<'_, Vec<Upstream>> {
        self.idle[super::workers::current() % self.idle.len()]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An idle connection that can take a request now, if one is pooled.
    pub(crate) fn take_idle(&self) -> Option<Upstream> {
        let mut idle = self.pool();
        while let Some(conn) = idle.pop() {
            if conn.is_ready() {
                return Some(conn);
            }
        }
        None
    }

    /// Returns a connection whose exchange is complete to the pool.
    pub(crate) fn put_idle(&self, conn: Upstream) {
        if !conn.is_ready() {
            return;
        }
        let mut idle = self.pool();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// Requests being forwarded to it now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

/// Counts a request in flight on a backend until dropped; the agent drains a replica by
/// waiting for this count to reach zero after taking it out of the set.
pub struct InFlight(Arc<Backend>);

impl InFlight {
    /// The backend.
    pub fn backend(&self) -> &Arc<Backend> {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The ready replicas of one app, swapped atomically by the agent.
pub struct BackendSet {
    live: ArcSwap<Vec<Arc<Backend>>>,
    next: AtomicUsize,
    balance: Balance,
    /// While set, a request that finds no ready replica waits for one (a `recreate` update:
    /// the old replica stops before the new one is ready) instead of getting a 503.
    hold: std::sync::atomic::AtomicBool,
    /// Woken on every change of `live` and of `hold`.
    changed: tokio::sync::Notify,
}

impl BackendSet {
    /// An empty set.
    pub fn new(balance: Balance) -> Self {
        Self {
            live: ArcSwap::from_pointee(Vec::new()),
            next: AtomicUsize::new(0),
            balance,
            hold: std::sync::atomic::AtomicBool::new(false),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// Replaces the ready replicas.
    pub fn set(&self, backends: Vec<Arc<Backend>>) {
        self.live.store(Arc::new(backends));
        self.changed.notify_waiters();
    }

    /// Holds requests while no replica is ready (`true`), or stops holding them (`false`,
    /// which lets the waiting ones through to their 503).
    pub fn hold(&self, on: bool) {
        self.hold.store(on, Ordering::Release);
        self.changed.notify_waiters();
    }

    /// Whether requests are held while no replica is ready.
    pub fn holding(&self) -> bool {
        self.hold.load(Ordering::Acquire)
    }

    /// Waits, for at most `limit`, until a replica is ready or requests are no longer held.
    pub async fn wait_ready(&self, limit: std::time::Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Registered before looking, so a change in between is not missed.
            notified.as_mut().enable();
            if !self.live.load().is_empty() || !self.holding() {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }

    /// The ready replicas now.
    pub fn snapshot(&self) -> Arc<Vec<Arc<Backend>>> {
        self.live.load_full()
    }

    /// Picks a replica not in `exclude` (those already tried for this request), passing over
    /// the [resting](Backend::resting) ones while another is left, and counts the request on
    /// it.
    pub fn pick(&self, exclude: &[SocketAddr]) -> Option<InFlight> {
        let live = self.live.load();
        if exclude.is_empty() && self.balance == Balance::RoundRobin && !live.is_empty() {
            // The common case, without the candidate list: every request takes this path once.
            let turn = self.next.fetch_add(1, Ordering::Relaxed);
            let chosen = &live[turn % live.len()];
            if !chosen.resting() {
                chosen.in_flight.fetch_add(1, Ordering::Relaxed);
                return Some(InFlight(Arc::clone(chosen)));
            }
        }
        let untried = || live.iter().filter(|b| !exclude.contains(&b.addr));
        let mut candidates: Vec<&Arc<Backend>> = untried().filter(|b| !b.resting()).collect();
        if candidates.is_empty() {
            // Only resting ones left: better to try one than to fail the request.
            candidates = untried().collect();
        }
        if candidates.is_empty() {
            return None;
        }
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        let chosen = match self.balance {
            Balance::RoundRobin => candidates[turn % candidates.len()],
            Balance::LeastInFlight => {
                let n = candidates.len();
                (0..n)
                    .map(|i| candidates[(turn + i) % n])
                    .min_by_key(|b| b.in_flight())
                    .unwrap_or(candidates[0])
            }
        };
        chosen.in_flight.fetch_add(1, Ordering::Relaxed);
        Some(InFlight(Arc::clone(chosen)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn round_robin_visits_everyone_and_skips_the_excluded() {
        let set = BackendSet::new(Balance::RoundRobin);
        set.set(vec![
            Backend::new(addr(1), "r1"),
            Backend::new(addr(2), "r1"),
            Backend::new(addr(3), "r2"),
        ]);
        let ports: Vec<u16> = (0..6)
            .map(|_| set.pick(&[]).unwrap().backend().addr.port())
            .collect();
        assert_eq!(ports, [1, 2, 3, 1, 2, 3]);
        for _ in 0..5 {
            assert_ne!(set.pick(&[addr(2)]).unwrap().backend().addr, addr(2));
        }
        assert!(set.pick(&[addr(1), addr(2), addr(3)]).is_none());
    }

    #[tokio::test]
    async fn held_requests_wait_for_a_ready_replica() {
        let set = Arc::new(BackendSet::new(Balance::RoundRobin));
        set.hold(true);
        let waiter = tokio::spawn({
            let set = Arc::clone(&set);
            async move {
                set.wait_ready(std::time::Duration::from_secs(5)).await;
                set.pick(&[]).map(|f| f.backend().addr)
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "it waits while nothing is ready");
        set.set(vec![Backend::new(addr(7), "r2")]);
        assert_eq!(waiter.await.unwrap(), Some(addr(7)));
        set.set(Vec::new());
        set.hold(false);
        // Not holding: no wait at all.
        tokio::time::timeout(
            std::time::Duration::from_millis(100),
            set.wait_ready(std::time::Duration::from_secs(5)),
        )
        .await
        .expect("no wait");
    }

    #[test]
    fn a_replica_that_refused_rests_unless_it_is_the_last_one_left() {
        for balance in [Balance::RoundRobin, Balance::LeastInFlight] {
            let set = BackendSet::new(balance);
            let dead = Backend::new(addr(2), "r");
            set.set(vec![
                Backend::new(addr(1), "r"),
                Arc::clone(&dead),
                Backend::new(addr(3), "r"),
            ]);
            dead.refused();
            assert!(dead.resting());
            for _ in 0..9 {
                assert_ne!(
                    set.pick(&[]).unwrap().backend().addr,
                    addr(2),
                    "{balance:?}"
                );
            }
            // The others tried already: the resting one is tried rather than none.
            let last = set.pick(&[addr(1), addr(3)]).unwrap();
            assert_eq!(last.backend().addr, addr(2));
            drop(last);
            // A connection that works ends the rest at once.
            dead.connected();
            assert!(!dead.resting());
            let ports: Vec<u16> = (0..6)
                .map(|_| set.pick(&[]).unwrap().backend().addr.port())
                .collect();
            assert!(ports.contains(&2), "{ports:?}");
        }
    }

    #[test]
    fn least_in_flight_prefers_the_idle_and_counts_until_dropped() {
        let set = BackendSet::new(Balance::LeastInFlight);
        let busy = Backend::new(addr(1), "r");
        set.set(vec![Arc::clone(&busy), Backend::new(addr(2), "r")]);
        let held = set.pick(&[]).unwrap();
        let other = set.pick(&[]).unwrap();
        assert_ne!(held.backend().addr, other.backend().addr);
        drop(other);
        let next = set.pick(&[]).unwrap();
        assert_ne!(next.backend().addr, held.backend().addr);
        drop((held, next));
        assert_eq!(busy.in_flight(), 0);
    }
}
