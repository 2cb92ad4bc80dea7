//! A rolling update as the Kubernetes Deployment controller makes it: start new replicas up to
//! `desired + max_surge`, stop old ones while at least `desired - max_unavailable` stay ready,
//! and fail when no progress is made within the deadline or the new revision is crashing.
//!
//! [`Rollout::step`] looks at what is running now and says what to do next; the caller does it
//! (a replica being stopped leaves the proxy's rotation first and is drained), observes again,
//! and calls `step` again. A rollback is simply a new rollout towards the previous revision.

use std::time::{Duration, Instant};

use hoist_core::Rollout as RolloutSpec;
use serde::Serialize;

/// What is running, counted by revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    /// Replicas of every older revision still running (not yet told to stop).
    pub old_total: u32,
    /// Of those, the ready ones (in the proxy's rotation).
    pub old_ready: u32,
    /// Replicas of the new revision running or starting.
    pub new_total: u32,
    /// Of those, the ready ones.
    pub new_ready: u32,
}

/// Why a rollout failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Failure {
    /// No progress (a replica started, became ready, or an old one stopped) within the deadline.
    ProgressDeadlineExceeded {
        /// The configured deadline.
        #[serde(serialize_with = "secs")]
        deadline: Duration,
    },
    /// A new replica is crash-looping, or failed its startup or liveness probe.
    NewRevisionUnhealthy {
        /// What the runtime saw, e.g. `replica 2 exited with status 1 three times`.
        detail: String,
    },
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ProgressDeadlineExceeded { deadline } => write!(
                f,
                "the new revision made no progress for {}s (rollout.deadline)",
                deadline.as_secs()
            ),
            Self::NewRevisionUnhealthy { detail } => {
                write!(f, "the new revision is unhealthy: {detail}")
            }
        }
    }
}

/// Where a rollout stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Still replacing replicas.
    Progressing,
    /// Every replica is of the new revision and ready; no old one is left.
    Complete,
    /// Give up and roll back.
    Failed(Failure),
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The rollout's phase after this observation.
    pub phase: Phase,
    /// New-revision replicas to start.
    pub start: u32,
    /// Old replicas that are not ready to stop (they serve nothing, so they go first).
    pub stop_unready_old: u32,
    /// Ready old replicas to drain and stop.
    pub stop_ready_old: u32,
}

/// One rolling update towards `desired` replicas of a new revision.
#[derive(Debug, Clone)]
pub struct Rollout {
    desired: u32,
    max_surge: u32,
    max_unavailable: u32,
    deadline: Duration,
    last_progress: Instant,
    last: Option<Counts>,
    phase: Phase,
}

impl Rollout {
    /// Starts a rollout at `now`. Percentages resolve like Kubernetes: surge rounds up,
    /// unavailable rounds down, and if both come to 0, one replica may be unavailable.
    pub fn new(desired: u32, spec: &RolloutSpec, now: Instant) -> Self {
        let max_surge = spec.max_surge.resolve(desired, true);
        let mut max_unavailable = spec.max_unavailable.resolve(desired, false).min(desired);
        if max_surge == 0 && max_unavailable == 0 {
            max_unavailable = 1;
        }
        Self {
            desired,
            max_surge,
            max_unavailable,
            deadline: spec.deadline,
            last_progress: now,
            last: None,
            phase: Phase::Progressing,
        }
    }

    /// The phase after the last step.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// Decides the next actions from what runs at `now`. `unhealthy` carries a reason when a
    /// new replica is crash-looping or failed a startup or liveness probe: the rollout fails at
    /// once (the old revision is still serving, so rolling back loses nothing).
    pub fn step(&mut self, seen: Counts, unhealthy: Option<String>, now: Instant) -> Step {
        if self.phase != Phase::Progressing {
            return self.idle();
        }
        if self.last.is_none_or(|last| made_progress(last, seen)) {
            self.last_progress = now;
        }
        self.last = Some(seen);
        if seen.new_total >= self.desired && seen.new_ready >= self.desired && seen.old_total == 0 {
            self.phase = Phase::Complete;
            return self.idle();
        }
        if let Some(detail) = unhealthy {
            self.phase = Phase::Failed(Failure::NewRevisionUnhealthy { detail });
            return self.idle();
        }
        if now.duration_since(self.last_progress) > self.deadline {
            self.phase = Phase::Failed(Failure::ProgressDeadlineExceeded {
                deadline: self.deadline,
            });
            return self.idle();
        }
        let (stop_unready_old, stop_ready_old) = self.scale_down_old(seen);
        Step {
            phase: Phase::Progressing,
            start: self.scale_up_new(seen),
            stop_unready_old,
            stop_ready_old,
        }
    }

    fn idle(&self) -> Step {
        Step {
            phase: self.phase.clone(),
            start: 0,
            stop_unready_old: 0,
            stop_ready_old: 0,
        }
    }

    /// New replicas to start: up to `desired`, without more than `desired + max_surge` running.
    fn scale_up_new(&self, seen: Counts) -> u32 {
        let max_total = self.desired + self.max_surge;
        let running = seen.old_total + seen.new_total;
        self.desired
            .saturating_sub(seen.new_total)
            .min(max_total.saturating_sub(running))
    }

    /// Old replicas to stop, as the controller's `reconcileOldReplicaSets`: never let ready
    /// replicas fall below `desired - max_unavailable`; unready old ones go first.
    fn scale_down_old(&self, seen: Counts) -> (u32, u32) {
        let min_available = self.desired.saturating_sub(self.max_unavailable);
        let new_unavailable = seen.new_total.saturating_sub(seen.new_ready);
        let all = seen.old_total + seen.new_total;
        let max_scaled_down = all.saturating_sub(min_available + new_unavailable);
        let old_unready = seen.old_total.saturating_sub(seen.old_ready);
        let unready = old_unready.min(max_scaled_down);
        let available = seen.old_ready + seen.new_ready;
        let ready = available.saturating_sub(min_available).min(seen.old_ready);
        (unready, ready)
    }
}

/// Progress, as Kubernetes counts it: a new replica started or became ready, or an old one went.
fn made_progress(before: Counts, now: Counts) -> bool {
    now.new_total > before.new_total
        || now.new_ready > before.new_ready
        || now.old_total < before.old_total
}

#[cfg(test)]
mod tests {
    use hoist_core::IntOrPercent;

    use super::*;

    fn spec(surge: IntOrPercent, unavailable: IntOrPercent) -> RolloutSpec {
        RolloutSpec {
            max_surge: surge,
            max_unavailable: unavailable,
            deadline: Duration::from_mins(1),
            strategy: hoist_core::Strategy::Rolling,
        }
    }

    fn counts(old_total: u32, old_ready: u32, new_total: u32, new_ready: u32) -> Counts {
        Counts {
            old_total,
            old_ready,
            new_total,
            new_ready,
        }
    }

    /// Plays a rollout where every started replica becomes ready before the next step, and
    /// returns the (old ready, new ready) pairs seen; asserts ready never drops below the floor.
    fn play(desired: u32, s: &RolloutSpec, floor: u32) -> Vec<(u32, u32)> {
        let t0 = Instant::now();
        let mut r = Rollout::new(desired, s, t0);
        let mut c = counts(desired, desired, 0, 0);
        let mut seen = vec![];
        for i in 0..50 {
            let step = r.step(c, None, t0 + Duration::from_secs(i));
            if step.phase == Phase::Complete {
                return seen;
            }
            assert_eq!(step.phase, Phase::Progressing);
            c.new_total += step.start;
            c.old_total -= step.stop_unready_old + step.stop_ready_old;
            c.old_ready -= step.stop_ready_old;
            assert!(c.old_ready + c.new_ready >= floor, "{c:?}");
            c.new_ready = c.new_total;
            seen.push((c.old_ready, c.new_ready));
        }
        panic!("no completion: {seen:?}");
    }

    #[test]
    fn surge_one_unavailable_zero_never_drops_capacity() {
        // Start one, stop one, start the next: never more than 4 running, never fewer than 3 ready.
        let seen = play(3, &spec(IntOrPercent::Int(1), IntOrPercent::Int(0)), 3);
        assert_eq!(seen, vec![(3, 1), (2, 1), (2, 2), (1, 2), (1, 3), (0, 3)]);
    }

    #[test]
    fn percentages_round_like_kubernetes() {
        // 25% of 4: surge 1 (up), unavailable 1 (down): one down at a time, one extra.
        let seen = play(
            4,
            &spec(IntOrPercent::Percent(25), IntOrPercent::Percent(25)),
            3,
        );
        assert_eq!(seen.last(), Some(&(0, 4)));
        // Both 0 after rounding: one replica may be unavailable, like the controller.
        let r = Rollout::new(
            3,
            &spec(IntOrPercent::Percent(10), IntOrPercent::Int(0)),
            Instant::now(),
        );
        assert_eq!((r.max_surge, r.max_unavailable), (1, 0));
        let r = Rollout::new(
            3,
            &spec(IntOrPercent::Int(0), IntOrPercent::Int(0)),
            Instant::now(),
        );
        assert_eq!(r.max_unavailable, 1);
    }

    #[test]
    fn unready_old_replicas_go_first() {
        let mut r = Rollout::new(
            3,
            &spec(IntOrPercent::Int(1), IntOrPercent::Int(0)),
            Instant::now(),
        );
        let step = r.step(counts(3, 2, 1, 1), None, Instant::now());
        assert_eq!((step.stop_unready_old, step.stop_ready_old), (1, 0));
    }

    #[test]
    fn deadline_counts_from_the_last_progress() {
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        let mut r = Rollout::new(3, &spec(IntOrPercent::Int(1), IntOrPercent::Int(0)), t0);
        assert_eq!(r.step(counts(3, 3, 0, 0), None, at(0)).start, 1);
        // The new replica never becomes ready: nothing may stop, and at 61 s it fails.
        let step = r.step(counts(3, 3, 1, 0), None, at(30));
        assert_eq!((step.start, step.stop_ready_old), (0, 0));
        assert_eq!(
            r.step(counts(3, 3, 1, 0), None, at(90)).phase,
            Phase::Progressing
        );
        let step = r.step(counts(3, 3, 1, 0), None, at(91));
        assert!(matches!(
            step.phase,
            Phase::Failed(Failure::ProgressDeadlineExceeded { .. })
        ));
        assert_eq!(
            r.step(counts(3, 3, 1, 1), None, at(92)).start,
            0,
            "failed stays failed"
        );
    }

    #[test]
    fn an_unhealthy_new_revision_fails_at_once() {
        let mut r = Rollout::new(
            2,
            &spec(IntOrPercent::Int(1), IntOrPercent::Int(0)),
            Instant::now(),
        );
        let step = r.step(
            counts(2, 2, 1, 0),
            Some("exited 3 times".into()),
            Instant::now(),
        );
        assert_eq!(
            step.phase,
            Phase::Failed(Failure::NewRevisionUnhealthy {
                detail: "exited 3 times".into()
            })
        );
        assert_eq!(step.phase.clone(), *r.phase());
    }

    #[test]
    fn scaling_to_zero_completes() {
        let mut r = Rollout::new(
            0,
            &spec(IntOrPercent::Int(1), IntOrPercent::Int(0)),
            Instant::now(),
        );
        let step = r.step(counts(2, 2, 0, 0), None, Instant::now());
        assert_eq!(step.stop_ready_old, 2);
        assert_eq!(
            r.step(counts(0, 0, 0, 0), None, Instant::now()).phase,
            Phase::Complete
        );
    }
}
