//! Walking a canary's steps: the decisions, as a state machine fed with the proxy's (or
//! Prometheus') cumulative figures and the time, both passed in by the caller.
//!
//! Each step below 100% is analysed on its own window (the figures since the step began), every
//! `interval` as the caller calls [`Walk::observe`]: a pass moves to the next step, reaching 100%
//! promotes; a fail rolls back at once; inconclusive (too few requests) waits, and rolls back
//! once the step has waited `max_wait`, since too little evidence is never a pass. `hoist
//! promote` ([`Walk::promote`]) skips the rest of the current step; `hoist abort`
//! ([`Walk::abort`]) rolls back. Nothing here sleeps or reads a clock, so each rule is tested
//! from literal figures.

use std::time::{Duration, Instant};

use hoist_core::Canary;
use serde::{Deserialize, Serialize};

use crate::verdict::Side;
use crate::{Sample, Verdict, judge};

/// What the caller does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Give the canary this share of the requests (a step began), then observe after
    /// `interval`.
    Weight(u8),
    /// Nothing changes; observe again after `interval`. The step's verdict so far.
    Wait(Verdict),
    /// The canary takes all the traffic: it is the stable revision now.
    Promote,
    /// Canary weight 0, its replicas drained and stopped; the stable revision is untouched.
    RollBack(Reason),
}

/// Why a canary was rolled back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Reason {
    /// A step's analysis failed: the verdict names the SLO and its numbers.
    Failed {
        /// The failing verdict.
        verdict: Verdict,
    },
    /// A step stayed inconclusive for `max_wait`.
    Inconclusive {
        /// The last verdict (which revision was short of requests).
        verdict: Verdict,
        /// How long the step waited.
        waited: Duration,
    },
    /// Someone ran `hoist abort`.
    Aborted,
}

/// One step as it ended, for `hoist history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The canary's share during the step, in percent.
    pub weight: u8,
    /// How long the step lasted.
    pub lasted: Duration,
    /// Its last verdict (none when it was promoted by hand before any analysis).
    pub verdict: Option<Verdict>,
    /// Whether `hoist promote` ended it.
    pub promoted_by_hand: bool,
    /// How many of its requests the agent sent itself (`run.rollout.synthetic`), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthetic: Option<SyntheticShare>,
}

/// How many of a step's requests were the agent's own synthetic ones, per revision, beside all
/// of the step's requests: a verdict reached on synthetic traffic says so, since it shows how
/// the revisions answer the configured paths, not how they answer the users.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyntheticShare {
    /// Synthetic requests the canary answered (or failed) in the step.
    pub canary: u64,
    /// All the canary's requests in the step.
    pub canary_of: u64,
    /// Synthetic requests the stable revision answered (or failed) in the step.
    pub stable: u64,
    /// All the stable revision's requests in the step.
    pub stable_of: u64,
}

impl std::fmt::Display for SyntheticShare {
    /// `synthetic: canary 120 of 130 requests, stable 118 of 900`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "synthetic: canary {} of {} requests, stable {} of {}",
            self.canary, self.canary_of, self.stable, self.stable_of
        )
    }
}

/// A canary in progress.
#[derive(Debug, Clone)]
pub struct Walk {
    config: Canary,
    step: usize,
    step_began: Instant,
    /// The cumulative figures when the step began: a step is judged on what came after.
    baseline: (Sample, Sample),
    last: Option<Verdict>,
    done: Vec<StepRecord>,
    finished: bool,
    /// Synthetic requests so far (canary, stable), cumulative since the walk began, as the
    /// caller last said ([`Walk::count_synthetic`]), and their count when the step began.
    synthetic_sent: (u64, u64),
    synthetic_baseline: (u64, u64),
}

impl Walk {
    /// Starts the walk at `now`, with the revisions' cumulative figures so far; the first
    /// decision is the first step's weight.
    #[must_use]
    pub fn start(
        config: &Canary,
        now: Instant,
        canary: &Sample,
        stable: &Sample,
    ) -> (Self, Decision) {
        let walk = Walk {
            config: config.clone(),
            step: 0,
            step_began: now,
            baseline: (canary.clone(), stable.clone()),
            last: None,
            done: Vec::new(),
            finished: false,
            synthetic_sent: (0, 0),
            synthetic_baseline: (0, 0),
        };
        let first = walk.entered();
        (walk, first)
    }

    /// The current step's weight, in percent.
    #[must_use]
    pub fn weight(&self) -> u8 {
        self.config.steps.get(self.step).copied().unwrap_or(100)
    }

    /// The steps that ended, oldest first.
    #[must_use]
    pub fn history(&self) -> &[StepRecord] {
        &self.done
    }

    /// The current step's last verdict.
    #[must_use]
    pub fn verdict(&self) -> Option<&Verdict> {
        self.last.as_ref()
    }

    /// The current step's figures so far, canary then stable, from the cumulative figures now
    /// (what `hoist status` shows beside the verdict).
    #[must_use]
    pub fn window(&self, canary: &Sample, stable: &Sample) -> (Sample, Sample) {
        (
            canary.since(&self.baseline.0),
            stable.since(&self.baseline.1),
        )
    }

    /// Records the synthetic requests the caller has sent so far (`run.rollout.synthetic`),
    /// cumulative since the walk began like the samples, canary then stable. Called before
    /// [`Walk::observe`] or [`Walk::promote`], so the record of a step that ends says how many
    /// of its requests they were; a caller that sends none never calls it.
    pub fn count_synthetic(&mut self, canary: u64, stable: u64) {
        self.synthetic_sent = (canary, stable);
    }

    /// The current step's synthetic share so far, from the cumulative figures now and the
    /// synthetic requests among them (`sent`, canary then stable, read at the same instant);
    /// none when the step has had no synthetic request.
    #[must_use]
    pub fn synthetic(
        &self,
        sent: (u64, u64),
        canary: &Sample,
        stable: &Sample,
    ) -> Option<SyntheticShare> {
        let (c, s) = self.window(canary, stable);
        let share = SyntheticShare {
            canary: sent.0.saturating_sub(self.synthetic_baseline.0),
            canary_of: c.requests,
            stable: sent.1.saturating_sub(self.synthetic_baseline.1),
            stable_of: s.requests,
        };
        (share.canary + share.stable > 0).then_some(share)
    }

    /// Which revisions the current step is short of evidence from, canary then stable, given
    /// the cumulative figures now: fewer than `min_sample` requests (the stable revision only
    /// when an SLO compares with it), fewer answers than a relative latency bound needs of the
    /// stable revision (some 700 for a p99), or fewer than the last verdict said it lacked.
    /// What synthetic requests are sent for; a revision with enough gets none.
    #[must_use]
    pub fn short(&self, canary: &Sample, stable: &Sample) -> (bool, bool) {
        let (c, s) = self.window(canary, stable);
        let slo = &self.config.slo;
        let min = self.config.min_sample;
        let mut short = (
            c.requests < min,
            crate::verdict::compares_with_stable(slo)
                && (s.requests < min
                    || s.latency.count() < crate::verdict::stable_answers_needed(slo)),
        );
        if let Some(Verdict::Inconclusive { why }) = &self.last {
            match why.revision {
                Side::Canary => short.0 |= c.latency.count() < why.min_sample,
                Side::Stable => short.1 |= s.latency.count() < why.min_sample,
            }
        }
        short
    }

    /// The decision on entering the current step: its weight, or promotion at 100%.
    fn entered(&self) -> Decision {
        if self.weight() >= 100 {
            Decision::Promote
        } else {
            Decision::Weight(self.weight())
        }
    }

    fn next_step(
        &mut self,
        now: Instant,
        canary: &Sample,
        stable: &Sample,
        by_hand: bool,
    ) -> Decision {
        self.done.push(StepRecord {
            weight: self.weight(),
            lasted: now.saturating_duration_since(self.step_began),
            verdict: self.last.take(),
            promoted_by_hand: by_hand,
            synthetic: self.synthetic(self.synthetic_sent, canary, stable),
        });
        self.step += 1;
        self.step_began = now;
        self.baseline = (canary.clone(), stable.clone());
        self.synthetic_baseline = self.synthetic_sent;
        let d = self.entered();
        self.finished = d == Decision::Promote;
        d
    }

    fn roll_back(&mut self, reason: Reason) -> Decision {
        self.finished = true;
        Decision::RollBack(reason)
    }

    /// Judges the current step on the figures since it began (`canary` and `stable` are the
    /// cumulative figures now).
    ///
    /// # Panics
    /// When called after the walk has ended (promoted or rolled back): a caller's bug.
    pub fn observe(&mut self, now: Instant, canary: &Sample, stable: &Sample) -> Decision {
        assert!(!self.finished, "the canary walk has ended");
        let window_canary = canary.since(&self.baseline.0);
        let window_stable = stable.since(&self.baseline.1);
        let verdict = judge(
            &self.config.slo,
            self.config.min_sample,
            &window_canary,
            &window_stable,
        );
        self.last = Some(verdict.clone());
        match verdict {
            Verdict::Pass { .. } => self.next_step(now, canary, stable, false),
            Verdict::Fail { .. } => self.roll_back(Reason::Failed { verdict }),
            Verdict::Inconclusive { .. } => {
                let waited = now.saturating_duration_since(self.step_began);
                if waited >= self.config.max_wait {
                    self.roll_back(Reason::Inconclusive { verdict, waited })
                } else {
                    Decision::Wait(verdict)
                }
            }
        }
    }

    /// `hoist promote`: ends the current step as if it had passed.
    ///
    /// # Panics
    /// When called after the walk has ended.
    pub fn promote(&mut self, now: Instant, canary: &Sample, stable: &Sample) -> Decision {
        assert!(!self.finished, "the canary walk has ended");
        self.next_step(now, canary, stable, true)
    }

    /// `hoist abort`: rolls back.
    ///
    /// # Panics
    /// When called after the walk has ended.
    pub fn abort(&mut self) -> Decision {
        assert!(!self.finished, "the canary walk has ended");
        self.roll_back(Reason::Aborted)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hoist_core::Slo;

    use super::*;
    use crate::Histogram;

    const MS: Duration = Duration::from_millis(1);

    fn config() -> Canary {
        Canary {
            steps: vec![10, 50, 100],
            interval: Duration::from_secs(10),
            min_sample: 100,
            max_wait: Duration::from_mins(1),
            sticky: None,
            slo: Slo::default_for_canary(),
            chaos: None,
            prometheus: None,
            synthetic: None,
        }
    }

    /// Cumulative figures: `n` more requests on `base`, `errors` of them failed, each answered
    /// in `latency`.
    fn add(base: &Sample, n: u64, errors: u64, latency: Duration) -> Sample {
        let mut s = base.clone();
        s.requests += n;
        s.errors += errors;
        let mut h = Histogram::default();
        for _ in 0..(n - errors) {
            h.record(latency);
        }
        s.latency.merge(&h);
        s
    }

    #[test]
    fn a_good_canary_walks_every_step_to_promotion() {
        let t0 = Instant::now();
        let (c, s) = (Sample::default(), Sample::default());
        let (mut walk, first) = Walk::start(&config(), t0, &c, &s);
        assert_eq!(first, Decision::Weight(10));
        let (c, s) = (add(&c, 200, 0, MS), add(&s, 1800, 0, MS));
        assert_eq!(
            walk.observe(t0 + Duration::from_secs(10), &c, &s),
            Decision::Weight(50)
        );
        let (c, s) = (add(&c, 1000, 0, MS), add(&s, 1000, 0, MS));
        assert_eq!(
            walk.observe(t0 + Duration::from_secs(20), &c, &s),
            Decision::Promote
        );
        let h = walk.history();
        assert_eq!(h.len(), 2);
        assert_eq!((h[0].weight, h[1].weight), (10, 50));
        assert!(matches!(h[0].verdict, Some(Verdict::Pass { .. })));
        assert_eq!(h[1].lasted, Duration::from_secs(10));
    }

    #[test]
    fn a_failing_step_rolls_back_at_once_with_its_numbers() {
        let t0 = Instant::now();
        let (c, s) = (Sample::default(), Sample::default());
        let (mut walk, _) = Walk::start(&config(), t0, &c, &s);
        let (c, s) = (add(&c, 1000, 50, MS), add(&s, 9000, 0, MS));
        let d = walk.observe(t0 + Duration::from_secs(10), &c, &s);
        let Decision::RollBack(Reason::Failed { verdict }) = d else {
            panic!("{d:?}")
        };
        assert!(
            verdict
                .to_string()
                .starts_with("fail: error rate 5.00% above"),
            "{verdict}"
        );
    }

    #[test]
    fn each_step_is_judged_on_its_own_window() {
        // A canary that was slow before the step began (say, cold) but is fast now passes: the
        // step's window holds only what came after it began.
        let t0 = Instant::now();
        let (c, s) = (
            add(&Sample::default(), 500, 0, Duration::from_millis(400)),
            add(&Sample::default(), 5000, 0, MS),
        );
        let (mut walk, _) = Walk::start(&config(), t0, &c, &s);
        let (c, s) = (add(&c, 300, 0, MS), add(&s, 2700, 0, MS));
        assert_eq!(
            walk.observe(t0 + Duration::from_secs(10), &c, &s),
            Decision::Weight(50)
        );
    }

    #[test]
    fn no_traffic_waits_then_rolls_back_as_inconclusive() {
        let t0 = Instant::now();
        let (c, s) = (Sample::default(), Sample::default());
        let (mut walk, _) = Walk::start(&config(), t0, &c, &s);
        for secs in [10, 20, 50] {
            let d = walk.observe(t0 + Duration::from_secs(secs), &c, &s);
            assert!(
                matches!(&d, Decision::Wait(Verdict::Inconclusive { .. })),
                "{secs}s: {d:?}"
            );
        }
        let d = walk.observe(t0 + Duration::from_mins(1), &c, &s);
        let Decision::RollBack(Reason::Inconclusive { verdict, waited }) = d else {
            panic!("{d:?}")
        };
        assert_eq!(waited, Duration::from_mins(1));
        assert!(
            verdict.to_string().contains("answered 0 of the 100"),
            "{verdict}"
        );
    }

    #[test]
    fn each_step_records_how_many_of_its_requests_were_synthetic() {
        let t0 = Instant::now();
        let (c, s) = (Sample::default(), Sample::default());
        let (mut walk, _) = Walk::start(&config(), t0, &c, &s);
        assert_eq!(walk.synthetic((0, 0), &c, &s), None, "none sent yet");
        // Step 1: every request was synthetic (the stable revision's 800 bound its p99).
        let (c, s) = (add(&c, 150, 0, MS), add(&s, 800, 0, MS));
        walk.count_synthetic(150, 800);
        let live = walk.synthetic((150, 800), &c, &s).expect("a share");
        assert_eq!((live.canary, live.canary_of), (150, 150));
        assert_eq!(
            walk.observe(t0 + Duration::from_secs(10), &c, &s),
            Decision::Weight(50)
        );
        // Step 2: real traffic came, and 20 synthetic requests went to the canary only.
        let (c, s) = (add(&c, 120, 0, MS), add(&s, 800, 0, MS));
        walk.count_synthetic(170, 800);
        assert_eq!(
            walk.observe(t0 + Duration::from_secs(20), &c, &s),
            Decision::Promote
        );
        let h = walk.history();
        assert_eq!(
            h[0].synthetic,
            Some(SyntheticShare {
                canary: 150,
                canary_of: 150,
                stable: 800,
                stable_of: 800
            })
        );
        let second = h[1].synthetic.expect("a share");
        assert_eq!(
            second.to_string(),
            "synthetic: canary 20 of 120 requests, stable 0 of 800",
            "counted from the step's beginning"
        );
        // A step without synthetic requests records none, and says nothing in JSON.
        let (c, s) = (Sample::default(), Sample::default());
        let (mut walk, _) = Walk::start(&config(), t0, &c, &s);
        walk.promote(t0, &c, &s);
        assert_eq!(walk.history()[0].synthetic, None);
        let json = serde_json::to_string(&walk.history()[0]).unwrap();
        assert!(!json.contains("synthetic"), "{json}");
    }

    #[test]
    fn a_revision_is_short_until_it_has_what_the_verdict_needs() {
        let t0 = Instant::now();
        let (c, s) = (Sample::default(), Sample::default());
        let (mut walk, _) = Walk::start(&config(), t0, &c, &s);
        assert_eq!(
            walk.short(&c, &s),
            (true, true),
            "a step begins with nothing"
        );
        let (c, s) = (add(&c, 100, 0, MS), add(&s, 60, 0, MS));
        assert_eq!(walk.short(&c, &s), (false, true), "min_sample is 100");
        // The default relative p99 needs ~700 stable answers, and says so.
        let s = add(&s, 40, 0, MS);
        assert_eq!(walk.short(&c, &s), (false, true));
        let d = walk.observe(t0 + Duration::from_secs(10), &c, &s);
        let Decision::Wait(Verdict::Inconclusive { why }) = d else {
            panic!("{d:?}")
        };
        assert_eq!(
            why.min_sample,
            crate::verdict::stable_answers_needed(&config().slo)
        );
        let s = add(&s, 700, 0, MS);
        assert_eq!(walk.short(&c, &s), (false, false));
        // The next step starts from nothing again.
        assert_eq!(
            walk.observe(t0 + Duration::from_secs(20), &c, &s),
            Decision::Weight(50)
        );
        assert_eq!(walk.short(&c, &s), (true, true));
        // Absolute bounds only: the stable revision's figures are never needed.
        let mut absolute = config();
        absolute.slo = Slo {
            error_rate: hoist_core::ErrorRateSlo {
                max: Some(1.0),
                above_stable: None,
            },
            ..Slo::default()
        };
        let (walk, _) = Walk::start(&absolute, t0, &c, &s);
        assert_eq!(walk.short(&c, &s), (true, false));
    }

    #[test]
    fn promote_and_abort_step_in() {
        let t0 = Instant::now();
        let (c, s) = (Sample::default(), Sample::default());
        let (mut walk, _) = Walk::start(&config(), t0, &c, &s);
        assert_eq!(walk.promote(t0, &c, &s), Decision::Weight(50));
        assert!(walk.history()[0].promoted_by_hand);
        assert_eq!(walk.weight(), 50);
        assert_eq!(walk.abort(), Decision::RollBack(Reason::Aborted));
    }
}
