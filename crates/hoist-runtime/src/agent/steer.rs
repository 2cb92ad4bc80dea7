//! The controller's decisions about revisions: step the rollout in progress (start new
//! replicas, retire old ones), end it as a success or a failure (rolling back to the serving
//! revision), and without a rollout hold the serving revision at its replica count.

use std::fmt::Write as _;
use std::time::Instant;

use super::controller::{Controller, Kind};
use crate::api::Outcome;
use crate::rollout::{Counts, Phase as RolloutPhase, Rollout};
use crate::store::RevisionState;

impl Controller {
    pub(crate) fn step_rollout(&mut self, now: Instant) {
        let Some(active) = &self.active else {
            return;
        };
        if active.canary.is_some() {
            self.step_canary(now);
            return;
        }
        let target = active.target;
        let mut counts = Counts::default();
        // New replicas that serve but are not yet available (see `MIN_READY`).
        let mut new_serving = 0;
        for r in &self.replicas {
            if r.revision == target {
                counts.new_total += 1;
                counts.new_ready += u32::from(r.available(now));
                new_serving += u32::from(r.ready() && !r.available(now));
            } else {
                counts.old_total += 1;
                counts.old_ready += u32::from(r.ready());
            }
        }
        // An app that ignores $PORT explains the others' crashes: say that first.
        let unhealthy = self
            .replicas
            .iter()
            .filter(|r| r.revision == target && r.unhealthy.is_some())
            .max_by_key(|r| r.ignores_port)
            .and_then(|r| r.unhealthy.clone());
        let Some(active) = &mut self.active else {
            return;
        };
        let step = active.rollout.step(counts, unhealthy, now);
        // No replica ready (or none left once this step retires the ready old ones) while one
        // served before: hold requests — the proxy waits for the new replica — from before the
        // last old one leaves, and measure the gap.
        let ready_after = (counts.old_ready + counts.new_ready + new_serving).saturating_sub(
            step.stop_ready_old * u32::from(step.phase == RolloutPhase::Progressing),
        );
        let unserved = ready_after == 0 && self.serving.is_some();
        match (unserved, active.unserved) {
            (true, None) => {
                active.unserved = Some(now);
                self.backends.hold(true);
            }
            (false, Some(since)) => {
                let gap = now.saturating_duration_since(since);
                active.unserved = None;
                active.longest_gap = Some(active.longest_gap.map_or(gap, |g| g.max(gap)));
                self.release_hold();
                self.progress(
                    Some(target),
                    format!(
                        "no replica was ready for {:.2}s (the old one stopped before the new one started); requests waited for it",
                        gap.as_secs_f64()
                    ),
                );
            }
            _ => {}
        }
        match step.phase {
            RolloutPhase::Progressing => {
                for _ in 0..step.start {
                    self.add_replica(target);
                }
                self.retire_old(target, step.stop_unready_old, false);
                self.retire_old(target, step.stop_ready_old, true);
            }
            RolloutPhase::Complete => self.complete(target),
            RolloutPhase::Failed(f) => {
                let reports = self.replica_reports(target);
                self.ctx.record("the replicas' reports", |s| {
                    s.set_replica_reports(&self.app, target, &reports)
                });
                let mut reason = f.to_string();
                // The first unready replica's probe, so the one-line reason says what was seen.
                if let Some(probe) = reports.iter().find_map(|r| r.probe.as_deref()) {
                    let _ = write!(reason, "; last probe: {probe}");
                }
                self.fail(target, reason, reports);
            }
        }
    }

    pub(crate) fn complete(&mut self, target: u64) {
        let Some(active) = &self.active else {
            return;
        };
        let kind = active.kind.clone();
        let took = active.started.elapsed();
        match kind {
            Kind::Deploy => {
                self.ctx.record("the rollout's success", |s| {
                    s.finish_revision(&self.app, target, RevisionState::Serving, None)
                });
                self.serving = Some(target);
                if let Some(spec) = self.spec(target) {
                    self.set_route(&spec);
                }
                self.progress(
                    Some(target),
                    format!(
                        "revision {target} serves: all replicas ready in {:.1}s",
                        took.as_secs_f64()
                    ),
                );
                self.done(Outcome::Deployed, None, Vec::new());
            }
            Kind::AutoRollback {
                reason, reports, ..
            } => {
                self.progress(
                    Some(target),
                    format!("rolled back: revision {target} serves again"),
                );
                self.done(Outcome::RolledBack, Some(reason), reports);
            }
        }
    }

    fn fail(&mut self, target: u64, reason: String, reports: Vec<hoist_core::ReplicaReport>) {
        let Some(active) = &mut self.active else {
            return;
        };
        if let Kind::AutoRollback {
            failed,
            reason: first,
            reports: mut first_reports,
        } = active.kind.clone()
        {
            let reason =
                format!("{first}; then the rollback to revision {target} failed too: {reason}");
            self.progress(Some(failed), reason.clone());
            first_reports.extend(reports);
            self.done(Outcome::Failed, Some(reason), first_reports);
            return;
        }
        match self.serving {
            Some(serving) if serving != target => {
                self.ctx.record("the rollout's failure", |s| {
                    s.finish_revision(&self.app, target, RevisionState::RolledBack, Some(&reason))
                });
                let Some(spec) = self.spec(serving) else {
                    return;
                };
                let Some(active) = &mut self.active else {
                    return;
                };
                active.kind = Kind::AutoRollback {
                    failed: target,
                    reason: reason.clone(),
                    reports,
                };
                active.target = serving;
                active.rollout = Rollout::new(spec.run.replicas, &spec.run.rollout, Instant::now());
                self.progress(
                    Some(target),
                    format!(
                        "revision {target} failed: {reason}; rolling back to revision {serving}"
                    ),
                );
            }
            _ => {
                self.ctx.record("the rollout's failure", |s| {
                    s.finish_revision(&self.app, target, RevisionState::Failed, Some(&reason))
                });
                self.progress(
                    Some(target),
                    format!("revision {target} failed: {reason}; nothing to roll back to"),
                );
                self.done(Outcome::Failed, Some(reason), reports);
                if self.serving.is_none() {
                    self.ctx.set_route(&self.app, None);
                }
            }
        }
    }

    /// Lets held requests go: the ready replicas are published first, so they find one.
    pub(crate) fn release_hold(&mut self) {
        self.publish_rotation();
        self.backends.hold(false);
    }

    /// Without a rollout: the serving revision at its replica count, nothing else running.
    pub(crate) fn hold_serving(&mut self) {
        let Some(serving) = self.serving else {
            while let Some(i) = (!self.replicas.is_empty()).then_some(0) {
                self.retire(i);
            }
            return;
        };
        let desired = self.spec(serving).map_or(0, |s| s.run.replicas) as usize;
        while let Some(i) = self.replicas.iter().position(|r| r.revision != serving) {
            self.retire(i);
        }
        let have = self.replicas.len();
        for _ in have..desired {
            self.add_replica(serving);
        }
        if have > desired {
            self.retire_extra(have - desired);
        }
    }
}
