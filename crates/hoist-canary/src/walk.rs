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
        });
        self.step += 1;
        self.step_began = now;
        self.baseline = (canary.clone(), stable.clone());
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
