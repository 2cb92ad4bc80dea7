//! A canary rollout (`run.rollout.strategy = "canary"`): the new revision's replicas start beside
//! the stable ones, the proxy gives them a growing share of the requests, and every `interval`
//! the proxy's per-revision figures since the step began go to [`hoist_canary::Walk`], which
//! says whether to wait, take the next step, promote or roll back. The stable revision is never
//! touched until the canary is promoted, so a rollback only takes the canary's share away.
//!
//! `hoist promote` ends the current step as passed; `hoist abort` rolls back. A canary whose
//! replicas never get ready (or crash) within the rollout's deadline is rolled back like a
//! rolling update's. After an agent restart the walk starts again from its first step: the
//! figures it had were in memory.
//!
//! With `run.rollout.synthetic`, a step short of requests gets the agent's own (see
//! [`synthetic`]), counted like real ones; each step's record says how many there were.

mod synthetic;

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use hoist_canary::walk::{Decision, Reason};
use hoist_canary::{Sample, SyntheticShare, Walk};
use hoist_core::{Canary, ChaosStep};

use super::controller::{Controller, Refused};
use crate::api::{AppSpec, CanaryReport, Outcome, RevisionTraffic};
use crate::proxy::faults::ProxyFault;
use crate::proxy::{BackendSet, Balance, Route, Split};
use crate::store::RevisionState;

/// The canary side of the rollout in progress.
pub(crate) struct CanaryRun {
    config: Canary,
    /// The revision serving when the canary began, compared with it and kept until promotion.
    pub(crate) stable: u64,
    /// The proxy's split: the canary's replicas and its weight.
    pub(crate) split: Arc<Split>,
    /// The steps, once every canary replica is available.
    walk: Option<Walk>,
    /// When the current step is analysed next.
    next_look: Instant,
    /// The `[verify.chaos]` faults of the current step, while they are on.
    faults: Option<Arc<AtomicBool>>,
    /// The synthetic requests (`run.rollout.synthetic`), from the walk's start until the
    /// canary ends.
    synthetic: Option<synthetic::Sender>,
}

impl CanaryRun {
    /// Where it stands, as revision `target`; `phase` when it ended, else from the walk.
    fn report(&self, target: u64, phase: Option<&str>) -> CanaryReport {
        let now = if self.walk.is_some() {
            "analysing"
        } else {
            "starting"
        };
        CanaryReport {
            revision: target,
            stable: self.stable,
            steps: self.config.steps.clone(),
            phase: phase.unwrap_or(now).to_owned(),
            weight: self.split.weight(),
            verdict: self.walk.as_ref().and_then(|w| w.verdict().cloned()),
            done: self
                .walk
                .as_ref()
                .map(|w| w.history().to_vec())
                .unwrap_or_default(),
            reason: None,
            window: None,
            synthetic: None,
        }
    }
}

/// `hoist promote` or `hoist abort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intervention {
    /// End the current step as passed.
    Promote,
    /// Roll the canary back.
    Abort,
}

impl Controller {
    /// Makes the rollout of `target` (just created) a canary beside the serving revision, when
    /// `spec` asks for one and a revision serves; else it stays a rolling update (a first
    /// deploy has nothing to compare with).
    pub(crate) fn begin_canary(&mut self, target: u64, spec: &AppSpec) {
        let Some(config) = spec.run.rollout.strategy.canary() else {
            return;
        };
        let Some(stable) = self.serving.filter(|s| *s != target) else {
            self.progress(
                Some(target),
                "no revision serves yet: the first one is rolled out whole, with no canary analysis".to_owned(),
            );
            return;
        };
        let split = Split::new(
            target.to_string(),
            Arc::new(BackendSet::new(Balance::RoundRobin)),
            config.sticky.clone(),
        );
        if let Some(stable_spec) = self.spec(stable) {
            self.route_with(&stable_spec, Some(Arc::clone(&split)));
        }
        let Some(active) = &mut self.active else {
            return;
        };
        active.canary = Some(CanaryRun {
            config: config.clone(),
            stable,
            split,
            walk: None,
            next_look: Instant::now(),
            faults: None,
            synthetic: None,
        });
        let steps: Vec<String> = config.steps.iter().map(|w| format!("{w}%")).collect();
        let synthetic = config.synthetic.as_ref().map_or_else(String::new, |t| {
            format!(
                "; a revision short of them gets {} synthetic GET {}",
                t.rate,
                t.paths.join(", ")
            )
        });
        self.progress(
            Some(target),
            format!(
                "canary beside revision {stable}: {}, analysed every {}s on at least {} requests per revision{synthetic}",
                steps.join(" → "),
                config.interval.as_secs_f64(),
                config.min_sample
            ),
        );
    }

    /// One step of a canary rollout: start its replicas, then walk the steps.
    pub(crate) fn step_canary(&mut self, now: Instant) {
        let Some(active) = &self.active else {
            return;
        };
        let (target, started) = (active.target, active.started);
        let Some(spec) = self.spec(target) else {
            return;
        };
        let mut total = 0;
        let mut available = 0;
        for r in self.replicas.iter().filter(|r| r.revision == target) {
            total += 1;
            available += u32::from(r.available(now));
        }
        if let Some(unhealthy) = self
            .replicas
            .iter()
            .filter(|r| r.revision == target && r.unhealthy.is_some())
            .max_by_key(|r| r.ignores_port)
            .and_then(|r| r.unhealthy.clone())
        {
            self.canary_failed(target, unhealthy);
            return;
        }
        for _ in total..spec.run.replicas {
            self.add_replica(target);
        }
        let Some(run) = self.active.as_ref().and_then(|a| a.canary.as_ref()) else {
            return;
        };
        if run.walk.is_none() {
            if available >= spec.run.replicas {
                let (canary, stable) = self.samples(target, run.stable);
                let (walk, first) = Walk::start(&run.config, now, &canary, &stable);
                let sender = run.config.synthetic.as_ref().map(|t| {
                    let host = spec.run.ingress.as_ref().and_then(|i| i.host.as_deref());
                    synthetic::Sender::start(
                        &self.app,
                        Arc::clone(&self.ctx.proxy),
                        host,
                        t,
                        [Arc::clone(&run.split.backends), Arc::clone(&self.backends)],
                    )
                });
                if let Some(run) = self.canary_mut() {
                    run.walk = Some(walk);
                    run.synthetic = sender;
                }
                self.apply(first, now);
            } else if now.saturating_duration_since(started) > spec.run.rollout.deadline {
                self.canary_failed(
                    target,
                    format!(
                        "{available} of {} canary replicas ready after the rollout's deadline ({}s)",
                        spec.run.replicas,
                        spec.run.rollout.deadline.as_secs()
                    ),
                );
            }
            return;
        }
        let next_look = run.next_look;
        let (canary, stable) = self.steer_synthetic(target, now);
        if now < next_look {
            return;
        }
        let Some(walk) = self.canary_mut().and_then(|r| r.walk.as_mut()) else {
            return;
        };
        let decision = walk.observe(now, &canary, &stable);
        self.apply(decision, now);
    }

    /// The figures of the canary and the stable revision now, with the synthetic requests so
    /// far told to the walk; and, every tick, synthetic requests asked of the revisions the
    /// step is short of evidence from (none once it has enough: the next look judges it).
    fn steer_synthetic(&mut self, target: u64, now: Instant) -> (Sample, Sample) {
        let Some(stable) = self.canary_mut().map(|r| r.stable) else {
            return (Sample::default(), Sample::default());
        };
        let (canary, stable, (c, s)) = self.figures(target, stable);
        if let Some(run) = self.canary_mut()
            && let (Some(walk), Some(sender)) = (run.walk.as_mut(), run.synthetic.as_ref())
        {
            walk.count_synthetic(c, s);
            let (short_canary, short_stable) = walk.short(&canary, &stable);
            sender.want(short_canary, short_stable, now);
        }
        (canary, stable)
    }

    /// `hoist promote` / `hoist abort` on the canary in progress: a line saying what was done.
    pub(crate) fn intervene(&mut self, what: Intervention) -> Result<String, Refused> {
        let now = Instant::now();
        let Some((target, stable, has_walk)) = self.active.as_ref().and_then(|a| {
            a.canary
                .as_ref()
                .map(|c| (a.target, c.stable, c.walk.is_some()))
        }) else {
            return Err(Refused::new(
                409,
                format!("`{}` has no canary in progress", self.app),
                Some(
                    "`hoist status` shows what runs; `hoist rollback` goes back to an earlier revision",
                ),
            ));
        };
        let decision = match (what, has_walk) {
            (Intervention::Abort, false) => Decision::RollBack(Reason::Aborted),
            (Intervention::Promote, false) => {
                return Err(Refused::new(
                    409,
                    format!(
                        "the canary (revision {target}) has no replica ready for its first step yet"
                    ),
                    Some("promote once it has started (`hoist status` shows its step)"),
                ));
            }
            (what, true) => {
                let (canary, stable_sample) = self.steer_synthetic(target, now);
                let Some(walk) = self.canary_mut().and_then(|r| r.walk.as_mut()) else {
                    return Err(Refused::new(500, "the canary's walk is gone", None));
                };
                match what {
                    Intervention::Promote => walk.promote(now, &canary, &stable_sample),
                    Intervention::Abort => walk.abort(),
                }
            }
        };
        let said = match &decision {
            Decision::Weight(w) => {
                format!("revision {target}: the next step, {w}% of the requests")
            }
            Decision::Promote => format!("revision {target} promoted: it serves every request"),
            Decision::RollBack(_) => {
                format!("revision {target} aborted: revision {stable} serves every request")
            }
            Decision::Wait(_) => String::new(),
        };
        self.progress(
            Some(target),
            match what {
                Intervention::Promote => "`hoist promote`: the current step ends as passed",
                Intervention::Abort => "`hoist abort`: the canary is rolled back",
            }
            .to_owned(),
        );
        self.apply(decision, now);
        Ok(said)
    }

    /// The canary's report for `status`, with the current step's figures so far.
    pub(crate) fn canary_report(&self) -> Option<CanaryReport> {
        let active = self.active.as_ref()?;
        let run = active.canary.as_ref()?;
        let mut report = run.report(active.target, None);
        if let Some(walk) = &run.walk {
            let (canary, stable, sent) = self.figures(active.target, run.stable);
            let (c, s) = walk.window(&canary, &stable);
            report.window = Some([RevisionTraffic::of(c), RevisionTraffic::of(s)]);
            report.synthetic = walk.synthetic(sent, &canary, &stable);
        }
        Some(report)
    }

    /// The current step's synthetic share, when it had synthetic requests.
    fn synthetic_share(&self) -> Option<SyntheticShare> {
        let active = self.active.as_ref()?;
        let run = active.canary.as_ref()?;
        let (canary, stable, sent) = self.figures(active.target, run.stable);
        run.walk.as_ref()?.synthetic(sent, &canary, &stable)
    }

    /// [`Controller::samples`], with the synthetic requests among them (canary, stable; none
    /// without `run.rollout.synthetic`) read at the same instant.
    fn figures(&self, target: u64, stable: u64) -> (Sample, Sample, (u64, u64)) {
        let sender = self
            .active
            .as_ref()
            .and_then(|a| a.canary.as_ref())
            .and_then(|c| c.synthetic.as_ref());
        if let Some(s) = sender {
            let (sent, (canary, stable)) = s.figures(|| self.samples(target, stable));
            (canary, stable, sent)
        } else {
            let (canary, stable) = self.samples(target, stable);
            (canary, stable, (0, 0))
        }
    }

    fn canary_mut(&mut self) -> Option<&mut CanaryRun> {
        self.active.as_mut()?.canary.as_mut()
    }

    /// The proxy's cumulative figures of the canary and the stable revision.
    fn samples(&self, target: u64, stable: u64) -> (Sample, Sample) {
        let mut all = self.ctx.proxy.metrics().traffic().samples(&self.app);
        (
            all.remove(&target.to_string()).unwrap_or_default(),
            all.remove(&stable.to_string()).unwrap_or_default(),
        )
    }

    fn apply(&mut self, decision: Decision, now: Instant) {
        let Some(target) = self.active.as_ref().map(|a| a.target) else {
            return;
        };
        let Some(run) = self.canary_mut() else {
            return;
        };
        run.next_look = now + run.config.interval;
        let last = run.config.steps.len();
        let step = run.walk.as_ref().map_or(0, |w| w.history().len()) + 1;
        if !matches!(decision, Decision::Wait(_)) {
            self.end_step_faults(target);
        }
        let Some(run) = self.canary_mut() else {
            return;
        };
        match decision {
            Decision::Weight(w) => {
                run.split.set_weight(w);
                let chaos = run
                    .config
                    .chaos
                    .clone()
                    .filter(|c| usize::from(c.step) == step);
                let until = now + run.config.max_wait + run.config.interval;
                self.progress(
                    Some(target),
                    format!(
                        "canary step {step} of {last}: {w}% of the requests to revision {target}"
                    ),
                );
                if let Some(chaos) = chaos {
                    self.step_faults(target, &chaos, until);
                }
            }
            Decision::Wait(verdict) => {
                let w = run.split.weight();
                let share = self
                    .synthetic_share()
                    .map_or_else(String::new, |s| format!(" ({s})"));
                self.progress(Some(target), format!("canary at {w}%: {verdict}{share}"));
            }
            Decision::Promote => self.promote_canary(target),
            Decision::RollBack(reason) => {
                let share = self
                    .synthetic_share()
                    .map_or_else(String::new, |s| format!(" ({s})"));
                let why = match reason {
                    Reason::Failed { verdict } => format!("the canary broke its SLOs: {verdict}"),
                    Reason::Inconclusive { verdict, waited } => format!(
                        "the canary's analysis stayed inconclusive for {}s ({verdict}); too little evidence is never a pass",
                        waited.as_secs()
                    ),
                    Reason::Aborted => "aborted by `hoist abort`".to_owned(),
                };
                self.canary_failed(target, format!("{why}{share}"));
            }
        }
    }

    /// The canary serves everything: the stable replicas leave, the split goes.
    fn promote_canary(&mut self, target: u64) {
        self.end_step_faults(target);
        let Some(mut run) = self.active.as_mut().and_then(|a| a.canary.take()) else {
            return;
        };
        // No more synthetic requests: the walk is over.
        drop(run.synthetic.take());
        run.split.set_weight(100);
        let report = run.report(target, Some("promoted"));
        self.keep_report(target, &report);
        // Put back for the retirements, so the rotation still splits while the stable
        // replicas drain; then the canary's replicas become the route's own.
        let split = Arc::clone(&run.split);
        if let Some(a) = &mut self.active {
            a.canary = Some(run);
        }
        let old = u32::try_from(
            self.replicas
                .iter()
                .filter(|r| r.revision != target)
                .count(),
        )
        .unwrap_or(u32::MAX);
        self.retire_old(target, old, false);
        self.retire_old(target, old, true);
        if let Some(a) = &mut self.active {
            a.canary = None;
        }
        self.rotation_dirty = true;
        self.publish_rotation();
        split.backends.set(Vec::new());
        let mut line = String::from("canary promoted");
        for s in &report.done {
            let _ = write!(
                line,
                "; {}%: {}",
                s.weight,
                s.verdict
                    .as_ref()
                    .map_or_else(|| "by hand".to_owned(), ToString::to_string)
            );
            if let Some(share) = s.synthetic {
                let _ = write!(line, " ({share})");
            }
        }
        self.progress(Some(target), line);
        self.complete(target);
    }

    /// The canary is rolled back: no share, its replicas drained and stopped, the stable
    /// revision's route as it was.
    fn canary_failed(&mut self, target: u64, reason: String) {
        self.end_step_faults(target);
        let share = self.synthetic_share();
        let Some(mut run) = self.active.as_mut().and_then(|a| a.canary.take()) else {
            return;
        };
        // No more synthetic requests: the walk is over.
        drop(run.synthetic.take());
        // The report keeps the share it had when it was rolled back.
        let mut report = run.report(target, Some("rolled_back"));
        report.synthetic = share;
        run.split.set_weight(0);
        report.reason = Some(reason.clone());
        let reports = self.replica_reports(target);
        self.keep_report(target, &report);
        self.ctx.record("the canary's replica reports", |s| {
            s.set_replica_reports(&self.app, target, &reports)
        });
        self.ctx.record("the canary's rollback", |s| {
            s.finish_revision(&self.app, target, RevisionState::RolledBack, Some(&reason))
        });
        if let Some(spec) = self.spec(run.stable) {
            self.route_with(&spec, None);
        }
        while let Some(i) = self.replicas.iter().position(|r| r.revision == target) {
            self.retire(i);
        }
        self.rotation_dirty = true;
        self.publish_rotation();
        self.progress(
            Some(target),
            format!(
                "revision {target} rolled back: {reason}; revision {} serves every request",
                run.stable
            ),
        );
        self.done(Outcome::RolledBack, Some(reason), reports);
    }

    /// Injects `[verify.chaos]` into the canary for the step that begins.
    fn step_faults(&mut self, target: u64, chaos: &ChaosStep, until: Instant) {
        let ready: Vec<usize> = (0..self.replicas.len())
            .filter(|&i| self.replicas[i].revision == target && self.replicas[i].ready())
            .collect();
        let proxy = ProxyFault {
            latency: chaos.latency,
            abort_percent: chaos.abort_percent,
            abort_status: chaos.abort_status,
            reset_percent: chaos.reset_percent,
        };
        let (injected, ends) =
            self.inject(target, &ready, chaos.kill, chaos.cpu_percent, &proxy, until);
        if let Some(run) = self.canary_mut() {
            run.faults = Some(ends);
        }
        self.progress(
            Some(target),
            format!("[verify.chaos] during this step: {}", injected.join("; ")),
        );
    }

    /// Removes the current step's `[verify.chaos]` faults, if any are on.
    fn end_step_faults(&mut self, target: u64) {
        let Some(ends) = self.canary_mut().and_then(|r| r.faults.take()) else {
            return;
        };
        self.end_faults(target, &ends);
        self.progress(Some(target), "[verify.chaos] faults removed".to_owned());
    }

    fn keep_report(&self, target: u64, report: &CanaryReport) {
        if let Ok(json) = serde_json::to_string(report) {
            self.ctx.record("the canary's analysis", |s| {
                s.set_canary(&self.app, target, &json)
            });
        }
    }

    /// The proxy route of the app as `spec` asks, with `split` in front of it (a canary).
    pub(crate) fn route_with(&self, spec: &AppSpec, split: Option<Arc<Split>>) {
        let (host, path) = spec
            .run
            .ingress
            .as_ref()
            .map_or((None, "/".to_owned()), |i| (i.host.clone(), i.path.clone()));
        self.ctx.set_route(
            &self.app,
            Some(Route {
                app: self.app.clone(),
                host,
                path,
                backends: Arc::clone(&self.backends),
                split,
            }),
        );
    }
}
