//! Per-revision traffic figures for canary analysis: requests, errors and a latency histogram,
//! counted with relaxed atomics on the proxy's hot path (no lock, no allocation per request).
//!
//! The buckets are `hoist_canary`'s, so a snapshot is a [`hoist_canary::Sample`] the verdict
//! logic takes as it is, and two snapshots subtract into the window between them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hoist_canary::histogram::{BUCKETS, bucket};
use hoist_canary::{Histogram, Sample};

/// One revision's cumulative counters, shared by its replicas' [`super::Backend`]s.
#[derive(Debug)]
pub struct RevisionTraffic {
    requests: AtomicU64,
    errors: AtomicU64,
    latency: Box<[AtomicU64]>,
    /// Faults injected into the revision's requests (`hoist chaos`): kept beside its counters,
    /// since every backend of the revision already holds this handle.
    pub(crate) fault: super::faults::FaultSlot,
}

impl RevisionTraffic {
    fn new() -> Self {
        Self {
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            latency: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            fault: super::faults::FaultSlot::default(),
        }
    }

    /// A replica answered (a 5xx counts as an error; its latency is counted all the same).
    pub(crate) fn answered(&self, server_error: bool, took: Duration) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if server_error {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency[bucket(micros)].fetch_add(1, Ordering::Relaxed);
    }

    /// An attempt failed before any answer (connection refused or reset): an error of this
    /// revision even when the proxy then served the request from another replica.
    pub(crate) fn failed(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now. Each is read on its own, so a snapshot taken mid-request may be one
    /// request apart between fields; a window of many requests does not notice.
    pub fn sample(&self) -> Sample {
        let counts: Vec<u64> = self
            .latency
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        Sample {
            requests: self.requests.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            latency: Histogram::from_counts(&counts),
        }
    }
}

/// Counters by `(app, revision)`.
type ByRevision = BTreeMap<(String, String), Arc<RevisionTraffic>>;

/// Every revision's counters, by app and revision. The lock is taken when a replica is first
/// used (then its backend keeps the handle) and when figures are read, never per request.
#[derive(Debug, Default)]
pub struct Traffic {
    by_revision: Mutex<ByRevision>,
}

impl Traffic {
    fn map(&self) -> std::sync::MutexGuard<'_, ByRevision> {
        self.by_revision
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The counters of `app`'s `revision`, created on first use.
    pub(crate) fn revision(&self, app: &str, revision: &str) -> Arc<RevisionTraffic> {
        Arc::clone(
            self.map()
                .entry((app.to_owned(), revision.to_owned()))
                .or_insert_with(|| Arc::new(RevisionTraffic::new())),
        )
    }

    /// Injects `fault` into `app`'s `revision` until `until` (`None` removes it).
    pub fn set_fault(
        &self,
        app: &str,
        revision: &str,
        fault: Option<super::faults::ProxyFault>,
        until: std::time::Instant,
    ) {
        self.revision(app, revision).fault.set(fault, until);
    }

    /// The faults in force on `app`'s revisions, with their ends.
    pub fn faults(
        &self,
        app: &str,
    ) -> BTreeMap<String, (super::faults::ProxyFault, std::time::Instant)> {
        self.map()
            .iter()
            .filter(|((a, _), _)| a == app)
            .filter_map(|((_, revision), t)| Some((revision.clone(), t.fault.current()?)))
            .collect()
    }

    /// Snapshots of `app`'s revisions that have seen traffic since the agent started, by
    /// revision.
    pub fn samples(&self, app: &str) -> BTreeMap<String, Sample> {
        self.map()
            .iter()
            .filter(|((a, _), _)| a == app)
            .map(|((_, revision), t)| (revision.clone(), t.sample()))
            .collect()
    }

    /// Snapshots of every app's revisions that have seen traffic since the agent started, by
    /// `(app, revision)`: what the dashboard's sampler reads once a second.
    pub fn all_samples(&self) -> BTreeMap<(String, String), Sample> {
        self.map()
            .iter()
            .map(|(key, t)| (key.clone(), t.sample()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_answers_errors_and_failures_per_revision() {
        let t = Traffic::default();
        let r1 = t.revision("a", "1");
        r1.answered(false, Duration::from_millis(2));
        r1.answered(true, Duration::from_millis(3));
        r1.failed();
        t.revision("a", "2")
            .answered(false, Duration::from_millis(200));
        t.revision("b", "1").failed();
        let samples = t.samples("a");
        assert_eq!(samples.len(), 2);
        assert_eq!(t.all_samples().len(), 3, "every app's revisions");
        let s = &samples["1"];
        assert_eq!((s.requests, s.errors, s.latency.count()), (3, 2, 2));
        let p50 = samples["2"].latency.quantile(0.5).unwrap();
        assert!(p50 > Duration::from_millis(190) && p50 < Duration::from_millis(210));
        assert!(
            Arc::ptr_eq(&r1, &t.revision("a", "1")),
            "one set of counters per revision"
        );
    }
}
