//! Probes as the kubelet runs them: when each is due, and what a run of results means.
//!
//! - startup: while it has not passed, readiness and liveness are not run; `failure_threshold`
//!   failures in a row restart the replica.
//! - readiness: starts as not ready; `success_threshold` passes in a row make the replica ready
//!   (it enters the proxy's rotation), `failure_threshold` failures in a row take it out.
//! - liveness: starts as passing; `failure_threshold` failures in a row restart the replica.
//!
//! Each probe first runs `initial_delay` after the replica started (after the startup probe
//! passed, for the other two), then every `period`. A probe that times out has failed.
//!
//! One deliberate difference from the kubelet: until a replica's readiness probe has passed for
//! the first time, a failed check is retried after 10 ms, doubling up to `period`, instead of
//! after a whole `period`. A replica that starts listening 30 ms after it was started is in
//! rotation within ~40 ms, not 10 s later, which is what makes a local rollout take a fraction
//! of a second (a slow starter is probed about ten times in its first ten seconds). Failures are counted the same way (readiness starts as failing anyway), so the
//! thresholds mean what they mean in Kubernetes.

use std::time::{Duration, Instant};

use hoist_core::{Health, Probe};
use serde::Serialize;

/// Which of the three probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeKind {
    /// Gates the other two.
    Startup,
    /// Gates traffic.
    Readiness,
    /// Restarts a replica that stopped working.
    Liveness,
}

/// Why a replica must be restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartReason {
    /// The startup probe failed `failure_threshold` times in a row.
    StartupFailed,
    /// The liveness probe failed `failure_threshold` times in a row.
    LivenessFailed,
}

/// The first retry of a readiness probe that has never passed.
const FIRST_RETRY: Duration = Duration::from_millis(10);

#[derive(Debug, Clone)]
struct Tracker {
    probe: Probe,
    next: Instant,
    successes: u32,
    failures: u32,
    passing: bool,
    /// Retry quickly until the first pass (readiness only).
    eager: bool,
    ever_passed: bool,
}

impl Tracker {
    fn new(probe: &Probe, from: Instant, initially_passing: bool) -> Self {
        Self {
            next: from + probe.initial_delay,
            probe: probe.clone(),
            successes: 0,
            failures: 0,
            passing: initially_passing,
            eager: false,
            ever_passed: false,
        }
    }

    /// Counts one result; returns whether the probe's pass/fail state changed.
    fn record(&mut self, ok: bool, now: Instant) -> bool {
        self.next = now + self.probe.period;
        let before = self.passing;
        if ok {
            self.ever_passed = true;
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            if self.successes >= self.probe.success_threshold {
                self.passing = true;
            }
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            if self.failures >= self.probe.failure_threshold {
                self.passing = false;
            }
            if self.eager && !self.ever_passed {
                let backoff = FIRST_RETRY.saturating_mul(1 << (self.failures - 1).min(16));
                self.next = now + backoff.min(self.probe.period);
            }
        }
        before != self.passing
    }
}

/// The probe state of one replica.
#[derive(Debug, Clone)]
pub struct ReplicaHealth {
    startup: Option<Tracker>,
    readiness: Option<Tracker>,
    liveness: Option<Tracker>,
    started: bool,
}

/// What a probe result changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    /// The replica's readiness changed to this value.
    pub ready_changed: Option<bool>,
    /// The replica must be restarted.
    pub restart: Option<RestartReason>,
}

impl ReplicaHealth {
    /// Probe state for a replica that started at `started_at`.
    pub fn new(health: &Health, started_at: Instant) -> Self {
        let startup = health
            .startup
            .as_ref()
            .map(|p| Tracker::new(p, started_at, false));
        let mut h = Self {
            startup,
            readiness: None,
            liveness: None,
            started: false,
        };
        h.arm(health, started_at);
        h
    }

    /// Arms readiness and liveness once there is no startup probe left to pass.
    fn arm(&mut self, health: &Health, from: Instant) {
        if self.started || self.startup.as_ref().is_some_and(|s| !s.passing) {
            return;
        }
        self.started = true;
        self.readiness = health.readiness.as_ref().map(|p| Tracker {
            eager: true,
            ..Tracker::new(p, from, false)
        });
        self.liveness = health
            .liveness
            .as_ref()
            .map(|p| Tracker::new(p, from, true));
    }

    /// Whether the startup probe (if any) has passed, so readiness and liveness run.
    pub fn started(&self) -> bool {
        self.started
    }

    /// Whether the replica may receive traffic: started, and its readiness probe (if any) passes.
    pub fn ready(&self) -> bool {
        self.started && self.readiness.as_ref().is_none_or(|r| r.passing)
    }

    /// The probes to run at `now`, startup first.
    pub fn due(&self, now: Instant) -> Vec<ProbeKind> {
        [
            (
                ProbeKind::Startup,
                self.startup.as_ref().filter(|_| !self.started),
            ),
            (ProbeKind::Readiness, self.readiness.as_ref()),
            (ProbeKind::Liveness, self.liveness.as_ref()),
        ]
        .into_iter()
        .filter_map(|(k, t)| t.filter(|t| t.next <= now).map(|_| k))
        .collect()
    }

    /// When the next probe is due, for the caller's timer; `None` when there are no probes.
    pub fn next_due(&self) -> Option<Instant> {
        [
            self.startup.as_ref().filter(|_| !self.started),
            self.readiness.as_ref(),
            self.liveness.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|t| t.next)
        .min()
    }

    /// The probe `kind` to use (its action and timeout).
    pub fn probe(&self, kind: ProbeKind) -> Option<&Probe> {
        match kind {
            ProbeKind::Startup => self.startup.as_ref(),
            ProbeKind::Readiness => self.readiness.as_ref(),
            ProbeKind::Liveness => self.liveness.as_ref(),
        }
        .map(|t| &t.probe)
    }

    /// Records the result of running probe `kind` at `now` (a timeout is `ok = false`).
    pub fn record(&mut self, health: &Health, kind: ProbeKind, ok: bool, now: Instant) -> Verdict {
        let was_ready = self.ready();
        let mut verdict = Verdict::default();
        match kind {
            ProbeKind::Startup => {
                if let Some(t) = self.startup.as_mut() {
                    t.record(ok, now);
                    if t.passing {
                        self.arm(health, now);
                    } else if t.failures >= t.probe.failure_threshold {
                        verdict.restart = Some(RestartReason::StartupFailed);
                    }
                }
            }
            ProbeKind::Readiness => {
                if let Some(t) = self.readiness.as_mut() {
                    t.record(ok, now);
                }
            }
            ProbeKind::Liveness => {
                if let Some(t) = self.liveness.as_mut()
                    && t.record(ok, now)
                    && !t.passing
                {
                    verdict.restart = Some(RestartReason::LivenessFailed);
                }
            }
        }
        let is_ready = self.ready();
        if is_ready != was_ready {
            verdict.ready_changed = Some(is_ready);
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hoist_core::ProbeAction;

    use super::*;

    fn probe(initial: u64, period: u64, success: u32, failure: u32) -> Probe {
        Probe {
            action: ProbeAction::Tcp { port: 8080 },
            initial_delay: Duration::from_secs(initial),
            period: Duration::from_secs(period),
            timeout: Duration::from_secs(1),
            success_threshold: success,
            failure_threshold: failure,
        }
    }

    fn secs(t0: Instant, s: u64) -> Instant {
        t0 + Duration::from_secs(s)
    }

    #[test]
    fn readiness_needs_its_threshold_and_liveness_restarts() {
        let health = Health {
            readiness: Some(probe(2, 5, 2, 3)),
            liveness: Some(probe(0, 5, 1, 2)),
            startup: None,
        };
        let t0 = Instant::now();
        let mut h = ReplicaHealth::new(&health, t0);
        assert!(!h.ready());
        assert_eq!(h.due(t0), vec![ProbeKind::Liveness]);
        assert_eq!(
            h.due(secs(t0, 2)),
            vec![ProbeKind::Readiness, ProbeKind::Liveness]
        );
        assert_eq!(
            h.record(&health, ProbeKind::Readiness, true, secs(t0, 2)),
            Verdict::default()
        );
        let v = h.record(&health, ProbeKind::Readiness, true, secs(t0, 7));
        assert_eq!(v.ready_changed, Some(true));
        assert!(h.ready());
        assert_eq!(h.next_due(), Some(secs(t0, 0)));
        assert_eq!(
            h.record(&health, ProbeKind::Liveness, false, secs(t0, 8))
                .restart,
            None
        );
        assert_eq!(
            h.record(&health, ProbeKind::Liveness, false, secs(t0, 13))
                .restart,
            Some(RestartReason::LivenessFailed)
        );
        // Readiness drops only after three failures in a row; a pass in between resets the count.
        h.record(&health, ProbeKind::Readiness, false, secs(t0, 12));
        h.record(&health, ProbeKind::Readiness, false, secs(t0, 17));
        h.record(&health, ProbeKind::Readiness, true, secs(t0, 22));
        h.record(&health, ProbeKind::Readiness, false, secs(t0, 27));
        h.record(&health, ProbeKind::Readiness, false, secs(t0, 32));
        assert!(h.ready());
        let v = h.record(&health, ProbeKind::Readiness, false, secs(t0, 37));
        assert_eq!(v.ready_changed, Some(false));
    }

    #[test]
    fn readiness_is_retried_quickly_until_it_first_passes() {
        let health = Health {
            readiness: Some(probe(0, 10, 1, 3)),
            liveness: None,
            startup: None,
        };
        let t0 = Instant::now();
        let ms = |m| t0 + Duration::from_millis(m);
        let mut h = ReplicaHealth::new(&health, t0);
        h.record(&health, ProbeKind::Readiness, false, t0);
        assert_eq!(h.next_due(), Some(ms(10)));
        h.record(&health, ProbeKind::Readiness, false, ms(10));
        assert_eq!(h.next_due(), Some(ms(30)), "the retry doubles");
        assert_eq!(
            h.record(&health, ProbeKind::Readiness, true, ms(30))
                .ready_changed,
            Some(true)
        );
        assert_eq!(h.next_due(), Some(secs(t0, 10) + Duration::from_millis(30)));
        // Once it has passed, a failure waits a whole period, as the kubelet does.
        h.record(&health, ProbeKind::Readiness, false, secs(t0, 11));
        assert_eq!(h.next_due(), Some(secs(t0, 21)));
    }

    #[test]
    fn startup_gates_the_others() {
        let health = Health {
            readiness: Some(probe(0, 1, 1, 1)),
            liveness: Some(probe(0, 1, 1, 1)),
            startup: Some(probe(0, 1, 1, 3)),
        };
        let t0 = Instant::now();
        let mut h = ReplicaHealth::new(&health, t0);
        assert_eq!(h.due(t0), vec![ProbeKind::Startup]);
        h.record(&health, ProbeKind::Startup, false, t0);
        assert!(!h.ready());
        let v = h.record(&health, ProbeKind::Startup, true, secs(t0, 1));
        assert_eq!(v.restart, None);
        assert_eq!(
            h.due(secs(t0, 1)),
            vec![ProbeKind::Readiness, ProbeKind::Liveness]
        );
        let v = h.record(&health, ProbeKind::Readiness, true, secs(t0, 1));
        assert_eq!(v.ready_changed, Some(true));
    }

    #[test]
    fn startup_failing_restarts() {
        let health = Health {
            readiness: None,
            liveness: None,
            startup: Some(probe(0, 1, 1, 2)),
        };
        let t0 = Instant::now();
        let mut h = ReplicaHealth::new(&health, t0);
        assert_eq!(
            h.record(&health, ProbeKind::Startup, false, t0).restart,
            None
        );
        assert_eq!(
            h.record(&health, ProbeKind::Startup, false, secs(t0, 1))
                .restart,
            Some(RestartReason::StartupFailed)
        );
    }

    #[test]
    fn no_probes_means_ready_once_running() {
        let health = Health {
            readiness: None,
            liveness: None,
            startup: None,
        };
        let h = ReplicaHealth::new(&health, Instant::now());
        assert!(h.ready());
        assert_eq!(h.next_due(), None);
    }
}
