//! Canary vs stable against the SLOs: pass, fail (which SLO, with the numbers) or inconclusive.

use std::fmt;
use std::time::Duration;

use hoist_core::{LatencySlo, Slo};
use serde::{Deserialize, Serialize};

use crate::Sample;
use crate::stats::{self, Test};

/// What the analysis of one window concluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub enum Verdict {
    /// Enough requests, and no SLO shown to be broken: every check, with its numbers.
    Pass {
        /// Each bound checked.
        findings: Vec<Finding>,
    },
    /// At least one SLO is broken with confidence 1 − [`stats::ALPHA`]: the breached checks
    /// first, then the others.
    Fail {
        /// Each bound checked, breached ones first.
        findings: Vec<Finding>,
    },
    /// Not enough requests to judge: no verdict either way.
    Inconclusive {
        /// Which revision is short, and by how much.
        why: Shortfall,
    },
}

impl Verdict {
    /// The checks that broke their bound (none unless [`Verdict::Fail`]).
    #[must_use]
    pub fn breaches(&self) -> Vec<&Finding> {
        match self {
            Verdict::Fail { findings } => findings.iter().filter(|f| f.breached).collect(),
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for Verdict {
    /// One line: `pass: …`, `fail: error rate 5.1% > …`, `inconclusive: …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Pass { findings } => {
                write!(f, "pass")?;
                for (i, x) in findings.iter().enumerate() {
                    write!(f, "{} {x}", if i == 0 { ":" } else { ";" })?;
                }
                Ok(())
            }
            Verdict::Fail { findings } => {
                write!(f, "fail")?;
                for (i, x) in findings.iter().filter(|x| x.breached).enumerate() {
                    write!(f, "{} {x}", if i == 0 { ":" } else { ";" })?;
                }
                Ok(())
            }
            Verdict::Inconclusive { why } => write!(f, "inconclusive: {why}"),
        }
    }
}

/// Why a window is inconclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shortfall {
    /// `canary` or `stable`: the revision with too few requests (the canary when both are).
    pub revision: Side,
    /// Requests it answered in the window.
    pub requests: u64,
    /// Requests a verdict needs (`min_sample`).
    pub min_sample: u64,
}

impl fmt::Display for Shortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "too few requests: the {} revision answered {} of the {} a verdict needs",
            self.revision, self.requests, self.min_sample
        )
    }
}

/// One side of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The new revision.
    Canary,
    /// The revision serving before it.
    Stable,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Canary => "canary",
            Side::Stable => "stable",
        })
    }
}

/// What an SLO measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// 5xx and unanswered requests, as a share of all.
    ErrorRate,
    /// Median latency.
    P50,
    /// 99th percentile latency.
    P99,
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Objective::ErrorRate => "error rate",
            Objective::P50 => "p50",
            Objective::P99 => "p99",
        })
    }
}

/// A measured value: a rate (0–1) or a latency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    /// A share of requests, 0 to 1.
    Rate(f64),
    /// A latency.
    Latency(Duration),
}

impl fmt::Display for Figure {
    /// `5.12%`, `201.3ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Figure::Rate(r) => write!(f, "{:.2}%", r * 100.0),
            Figure::Latency(d) => write!(f, "{:.1}ms", d.as_secs_f64() * 1000.0),
        }
    }
}

/// One bound checked: the numbers a person needs to agree with the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// What was measured.
    pub objective: Objective,
    /// Whether the bound is relative to the stable revision (else absolute).
    pub relative: bool,
    /// The bound the canary was held to (for a relative bound, computed from the stable
    /// revision's figure and the SLO's margin).
    pub limit: Figure,
    /// The canary's estimate (its observed rate, or quantile).
    pub canary: Figure,
    /// The stable revision's estimate, for a relative bound.
    pub stable: Option<Figure>,
    /// For error rates, the one-sided p-value of "the canary is within the bound".
    pub p_value: Option<f64>,
    /// Whether the canary is shown (with confidence 1 − [`stats::ALPHA`]) to break the bound.
    pub breached: bool,
}

impl fmt::Display for Finding {
    /// `error rate 5.10% above 1.00% (stable 0.00%, p=0.0003)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.breached {
            "above"
        } else {
            "not shown above"
        };
        write!(f, "{} {} {op} {}", self.objective, self.canary, self.limit)?;
        match (self.stable, self.p_value) {
            (Some(s), Some(p)) => write!(f, " (stable {s}, p={p:.4})"),
            (Some(s), None) => write!(f, " (stable {s})"),
            (None, Some(p)) => write!(f, " (p={p:.4})"),
            (None, None) => Ok(()),
        }
    }
}

/// Whether a bound of `slo` is relative to the stable revision, which then needs a sample of
/// its own in each window.
#[must_use]
pub fn compares_with_stable(slo: &Slo) -> bool {
    slo.error_rate.above_stable.is_some()
        || slo.p50.vs_stable.is_some()
        || slo.p99.vs_stable.is_some()
}

/// The answers the stable revision needs in a window before `slo`'s latency bounds relative to
/// it can be checked (0 without such bounds): its quantile must be bounded from above, which
/// takes some 700 answers for a p99.
#[must_use]
pub fn stable_answers_needed(slo: &Slo) -> u64 {
    [(slo.p50, 0.5), (slo.p99, 0.99)]
        .into_iter()
        .filter(|(l, _)| l.vs_stable.is_some())
        .map(|(_, q)| answers_to_bound(q))
        .max()
        .unwrap_or(0)
}

/// Judges `canary` against `stable` (the same window of both) by `slo`.
///
/// Inconclusive while the canary has answered fewer than `min_sample` requests, or the stable
/// revision has when a relative bound needs it. Otherwise each bound is tested (see
/// [`crate::stats`] for which test and why) and any breach fails the canary; a pass means
/// "enough requests and no breach shown", which is as much as a test can say.
#[must_use]
pub fn judge(slo: &Slo, min_sample: u64, canary: &Sample, stable: &Sample) -> Verdict {
    let short = |revision, requests| Verdict::Inconclusive {
        why: Shortfall {
            revision,
            requests,
            min_sample,
        },
    };
    if canary.requests < min_sample {
        return short(Side::Canary, canary.requests);
    }
    if compares_with_stable(slo) && stable.requests < min_sample {
        return short(Side::Stable, stable.requests);
    }
    let mut findings = Vec::new();
    error_rate(slo, canary, stable, &mut findings);
    let unbounded = [
        latency(Objective::P50, 0.5, slo.p50, canary, stable, &mut findings),
        latency(Objective::P99, 0.99, slo.p99, canary, stable, &mut findings),
    ];
    if findings.iter().any(|f| f.breached) {
        findings.sort_by_key(|f| !f.breached);
        Verdict::Fail { findings }
    } else if let Some(why) = unbounded.into_iter().flatten().next() {
        // A bound that could not be checked is not a pass: a p99 relative to the stable
        // revision needs some 700 of its answers before its p99 is bounded at all.
        Verdict::Inconclusive { why }
    } else {
        Verdict::Pass { findings }
    }
}

fn error_rate(slo: &Slo, canary: &Sample, stable: &Sample, out: &mut Vec<Finding>) {
    let e = slo.error_rate;
    let rate = Figure::Rate(canary.error_rate());
    let mut finding = |limit: f64, stable_rate: Option<f64>, test: Test| {
        out.push(Finding {
            objective: Objective::ErrorRate,
            relative: stable_rate.is_some(),
            limit: Figure::Rate(limit),
            canary: rate,
            stable: stable_rate.map(Figure::Rate),
            p_value: Some(test.p_value),
            breached: test.rejects(),
        });
    };
    if let Some(max) = e.max {
        let bound = max / 100.0;
        finding(
            bound,
            None,
            stats::rate_above(canary.errors, canary.requests, bound),
        );
    }
    if let Some(points) = e.above_stable {
        let margin = points / 100.0;
        let s = stable.error_rate();
        let test = stats::rate_above_stable(
            canary.errors,
            canary.requests,
            stable.errors,
            stable.requests,
            margin,
        );
        finding((s + margin).min(1.0), Some(s), test);
    }
}

/// Checks one latency quantile's bounds; the shortfall when the stable revision has too few
/// answers to bound its quantile (so the relative bound cannot be checked yet).
fn latency(
    objective: Objective,
    q: f64,
    slo: LatencySlo,
    canary: &Sample,
    stable: &Sample,
    out: &mut Vec<Finding>,
) -> Option<Shortfall> {
    if slo.is_empty() {
        return None;
    }
    let c = &canary.latency;
    let Some(estimate) = c.quantile(q) else {
        // Nothing answered at all: every request failed, which the error rate reports.
        return None;
    };
    // The canary's quantile is at least this (confidence 1 − α).
    let (lower_rank, _) = stats::quantile_ranks(c.count(), q);
    let canary_at_least = c.rank_lower(lower_rank);
    let mut finding = |limit: Duration, stable_figure: Option<Duration>| {
        out.push(Finding {
            objective,
            relative: stable_figure.is_some(),
            limit: Figure::Latency(limit),
            canary: Figure::Latency(estimate),
            stable: stable_figure.map(Figure::Latency),
            p_value: None,
            breached: canary_at_least > limit,
        });
    };
    if let Some(max) = slo.max {
        finding(max, None);
    }
    if let Some(rel) = slo.vs_stable {
        let s = &stable.latency;
        // The stable revision's quantile is at most this (confidence 1 − α); unbounded when
        // it has too few answered requests, and then nothing can be shown against it.
        let (_, upper_rank) = stats::quantile_ranks(s.count(), q);
        if let (Some(stable_at_most), Some(stable_estimate)) =
            (s.rank_upper(upper_rank), s.quantile(q))
        {
            finding(rel.bound(stable_at_most), Some(stable_estimate));
        } else {
            return Some(Shortfall {
                revision: Side::Stable,
                requests: s.count(),
                min_sample: answers_to_bound(q).max(s.count() + 1),
            });
        }
    }
    None
}

/// The fewest answers whose `q` quantile can be bounded from above (see
/// [`stats::quantile_ranks`]): about 700 for a p99, a dozen for a median.
fn answers_to_bound(q: f64) -> u64 {
    (1..10_000_000)
        .find(|&n| stats::quantile_ranks(n, q).1 <= n)
        .unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
