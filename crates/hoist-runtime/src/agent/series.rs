//! The dashboard's time series: once a second the agent snapshots the proxy's per-revision
//! counters ([`crate::proxy::Traffic`]) and keeps, per app and revision, the last ten minutes
//! of per-second figures — requests, errors, error rate, p50 and p99 — so a page can draw a
//! canary's breach as it happens.
//!
//! Why a sampler and not the proxy: the proxy's hot path only counts (relaxed atomics, no
//! allocation); turning cumulative counts into per-interval figures is the reader's job, done
//! once a second off that path ([`Sample::since`] of two snapshots). Memory is bounded: at most
//! [`WINDOW`] points per revision, and a revision that answered nothing for a whole window has
//! no ring at all (only its last cumulative snapshot, one histogram, is kept, so its next
//! request is counted from the right place).
//!
//! [`Series`] is pure (the time is passed in) and unit-tested; [`run`] is the loop that feeds
//! it from the proxy.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hoist_canary::Sample;
use serde::Serialize;

use crate::proxy::Proxy;

/// How often the sampler takes a snapshot: one point per revision per interval.
pub(crate) const INTERVAL: Duration = Duration::from_secs(1);

/// Points kept per revision: ten minutes of one-second intervals, long enough to see a canary's
/// steps side by side, short enough that the page can fetch them all every second.
pub(crate) const WINDOW: usize = 600;

/// `(app, revision)`, as the proxy labels its counters.
type Key = (String, String);

/// What one revision answered in one interval.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    /// The end of the interval, in milliseconds since the Unix epoch.
    at_ms: u64,
    requests: u64,
    errors: u64,
    /// Latency quantiles of the answered requests (none when nothing was answered).
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
}

impl Point {
    fn of(at_ms: u64, window: &Sample) -> Self {
        let q = |q| window.latency.quantile(q).map(|d| d.as_secs_f64() * 1000.0);
        Self {
            at_ms,
            requests: window.requests,
            errors: window.errors,
            p50_ms: q(0.5),
            p99_ms: q(0.99),
        }
    }

    /// `errors / requests`, none for an interval without requests (a gap in the chart, not a
    /// zero: no traffic is not a good error rate).
    fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors as f64 / self.requests as f64)
    }
}

/// Every revision's recent points, and the cumulative snapshots they are the differences of.
#[derive(Debug)]
pub(crate) struct Series {
    capacity: usize,
    /// The cumulative counters at the last snapshot, for every revision the proxy counts. The
    /// proxy's counters start at zero, so a revision seen for the first time subtracts nothing.
    last: BTreeMap<Key, Sample>,
    rings: BTreeMap<Key, VecDeque<Point>>,
}

/// One revision's points as the page reads them: one array per figure, index by index, so a
/// ten-minute window stays small on the wire.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RevisionSeries {
    /// The revision, as the proxy labels it (its number).
    pub(crate) revision: String,
    /// The end of each interval, in milliseconds since the Unix epoch.
    pub(crate) t_ms: Vec<u64>,
    /// Requests routed to the revision in each interval.
    pub(crate) requests: Vec<u64>,
    /// Of those, 5xx answers and failed attempts.
    pub(crate) errors: Vec<u64>,
    /// `errors / requests` (null without requests).
    pub(crate) error_rate: Vec<Option<f64>>,
    /// Median latency in milliseconds (null without answers).
    pub(crate) p50_ms: Vec<Option<f64>>,
    /// 99th percentile latency in milliseconds (null without answers).
    pub(crate) p99_ms: Vec<Option<f64>>,
}

impl Series {
    /// Empty rings of `capacity` points each.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            last: BTreeMap::new(),
            rings: BTreeMap::new(),
        }
    }

    /// Records the interval that ended at `at_ms`, given every revision's cumulative counters
    /// now (what [`crate::proxy::Traffic::all_samples`] returns).
    pub(crate) fn record(&mut self, at_ms: u64, snapshots: BTreeMap<Key, Sample>) {
        for (key, now) in snapshots {
            let point = match self.last.get(&key) {
                Some(then) => Point::of(at_ms, &now.since(then)),
                None => Point::of(at_ms, &now),
            };
            if point.requests > 0 || self.rings.contains_key(&key) {
                let ring = self
                    .rings
                    .entry(key.clone())
                    .or_insert_with(|| VecDeque::with_capacity(self.capacity.min(64)));
                if ring.len() == self.capacity {
                    ring.pop_front();
                }
                ring.push_back(point);
            }
            self.last.insert(key, now);
        }
        // A revision that answered nothing for a whole window leaves the page.
        self.rings
            .retain(|_, ring| ring.iter().any(|p| p.requests > 0));
    }

    /// `app`'s revisions with points, in revision order (2 before 10).
    pub(crate) fn of(&self, app: &str) -> Vec<RevisionSeries> {
        let mut out: Vec<RevisionSeries> = self
            .rings
            .iter()
            .filter(|((a, _), _)| a == app)
            .map(|((_, revision), ring)| RevisionSeries {
                revision: revision.clone(),
                t_ms: ring.iter().map(|p| p.at_ms).collect(),
                requests: ring.iter().map(|p| p.requests).collect(),
                errors: ring.iter().map(|p| p.errors).collect(),
                error_rate: ring.iter().map(Point::error_rate).collect(),
                p50_ms: ring.iter().map(|p| p.p50_ms).collect(),
                p99_ms: ring.iter().map(|p| p.p99_ms).collect(),
            })
            .collect();
        out.sort_by(|a, b| {
            let n = |s: &str| s.parse::<u64>().unwrap_or(u64::MAX);
            (n(&a.revision), &a.revision).cmp(&(n(&b.revision), &b.revision))
        });
        out
    }

    /// How many points are held in all (for the memory bound's test).
    #[cfg(test)]
    fn points(&self) -> usize {
        self.rings.values().map(VecDeque::len).sum()
    }
}

/// The series shared by the sampler (which writes once a second) and the admin listener
/// (which reads per request); the lock is held for one record or one copy.
pub(crate) type Shared = Arc<Mutex<Series>>;

/// A new, empty [`Shared`] of [`WINDOW`] points per revision.
pub(crate) fn shared() -> Shared {
    Arc::new(Mutex::new(Series::new(WINDOW)))
}

/// The series, locked (a panic elsewhere while holding it leaves figures, not a broken page).
pub(crate) fn lock(series: &Shared) -> MutexGuard<'_, Series> {
    series
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Milliseconds since the Unix epoch, the page's time axis.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Snapshots the proxy's counters every [`INTERVAL`] into `series`, until the task is dropped.
pub(crate) async fn run(proxy: Arc<Proxy>, series: Shared) {
    let mut tick = tokio::time::interval(INTERVAL);
    // A late tick (a busy machine) makes one longer interval, not a burst of empty ones.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let snapshots = proxy.metrics().traffic().all_samples();
        lock(&series).record(now_ms(), snapshots);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Cumulative counters: `requests` in all, `errors` of them failed, each answered in `ms`.
    fn cumulative(requests: u64, errors: u64, ms: u64) -> Sample {
        let mut s = Sample {
            requests,
            errors,
            ..Sample::default()
        };
        for _ in 0..requests {
            s.latency.record(Duration::from_millis(ms));
        }
        s
    }

    fn snap(entries: &[(&str, &str, Sample)]) -> BTreeMap<Key, Sample> {
        entries
            .iter()
            .map(|(a, r, s)| (((*a).to_owned(), (*r).to_owned()), s.clone()))
            .collect()
    }

    #[test]
    fn points_are_the_differences_of_cumulative_snapshots() {
        let mut s = Series::new(10);
        s.record(1000, snap(&[("web", "1", cumulative(100, 0, 5))]));
        s.record(
            2000,
            snap(&[
                ("web", "1", cumulative(150, 0, 5)),
                ("web", "2", cumulative(20, 5, 200)),
            ]),
        );
        let web = s.of("web");
        assert_eq!(web.len(), 2);
        let (r1, r2) = (&web[0], &web[1]);
        assert_eq!(r1.revision, "1");
        assert_eq!(r1.t_ms, [1000, 2000]);
        assert_eq!(r1.requests, [100, 50], "the second point is the difference");
        assert_eq!(r1.error_rate, [Some(0.0), Some(0.0)]);
        assert_eq!(r2.requests, [20], "a new revision counts from zero");
        assert_eq!(r2.errors, [5]);
        assert_eq!(r2.error_rate, [Some(0.25)]);
        let p99 = r2.p99_ms[0].expect("answered requests have a p99");
        assert!((p99 - 200.0).abs() < 200.0 * 0.07, "p99 {p99}");
        assert!(s.of("other").is_empty());
    }

    #[test]
    fn an_idle_interval_is_a_gap_not_a_zero() {
        let mut s = Series::new(10);
        s.record(1000, snap(&[("web", "1", cumulative(10, 1, 5))]));
        s.record(2000, snap(&[("web", "1", cumulative(10, 1, 5))]));
        let r1 = &s.of("web")[0];
        assert_eq!(r1.requests, [10, 0]);
        assert_eq!(r1.error_rate, [Some(0.1), None]);
        assert_eq!(r1.p99_ms[1], None);
    }

    #[test]
    fn memory_is_bounded_by_the_window() {
        let mut s = Series::new(5);
        for i in 1..=100 {
            s.record(i * 1000, snap(&[("web", "1", cumulative(i, 0, 1))]));
        }
        let r1 = &s.of("web")[0];
        assert_eq!(
            r1.t_ms,
            [96_000, 97_000, 98_000, 99_000, 100_000],
            "the last 5"
        );
        assert_eq!(s.points(), 5);
    }

    #[test]
    fn a_revision_idle_for_a_whole_window_leaves_and_counts_right_when_back() {
        let mut s = Series::new(3);
        s.record(1000, snap(&[("web", "1", cumulative(7, 0, 1))]));
        for t in 2..=4 {
            s.record(t * 1000, snap(&[("web", "1", cumulative(7, 0, 1))]));
        }
        assert!(s.of("web").is_empty(), "nothing answered in the window");
        assert_eq!(s.points(), 0);
        s.record(5000, snap(&[("web", "1", cumulative(9, 1, 1))]));
        let r1 = &s.of("web")[0];
        assert_eq!(
            r1.requests,
            [2],
            "counted from the last snapshot, not from zero"
        );
        assert_eq!(r1.errors, [1]);
    }

    #[test]
    fn revisions_are_in_numeric_order() {
        let mut s = Series::new(3);
        s.record(
            1000,
            snap(&[
                ("web", "10", cumulative(1, 0, 1)),
                ("web", "9", cumulative(1, 0, 1)),
                ("web", "2", cumulative(1, 0, 1)),
            ]),
        );
        let order: Vec<String> = s.of("web").into_iter().map(|r| r.revision).collect();
        assert_eq!(order, ["2", "9", "10"]);
    }
}
