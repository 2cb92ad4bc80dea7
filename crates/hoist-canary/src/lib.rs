//! Canary analysis: is the new revision worse than the stable one, or than its SLOs?
//!
//! Pure and shared: the local agent feeds it the proxy's per-revision counters, and the
//! Kubernetes target will feed it figures queried from Prometheus, so a canary is judged by the
//! same rules on every target. Nothing here reads a clock, a socket or a file.
//!
//! - [`histogram`]: latency histograms with fixed log-spaced buckets — the same buckets in every
//!   process, so histograms merge and subtract (a step's sample is the difference of two
//!   snapshots of cumulative counters) and give quantiles with a known relative error.
//! - [`Sample`]: what one revision answered over some window (requests, errors, latency).
//! - [`verdict::judge`]: canary vs stable against [`hoist_core::Slo`], giving [`Verdict::Pass`],
//!   [`Verdict::Fail`] with the breached SLOs and their numbers, or [`Verdict::Inconclusive`]
//!   when a revision has answered too few requests. Too little evidence is never a pass.
//! - [`walk::Walk`]: the steps as a state machine (weight, wait, promote, roll back), fed with
//!   cumulative figures and the time by the caller; `hoist promote` and `hoist abort` step in.
//! - [`stats`]: the two tests it uses (a one-sided score test and an Agresti–Caffo
//!   two-proportion test for error rates; distribution-free order-statistic bounds for latency
//!   quantiles) and the normal distribution they need.

pub mod histogram;
mod sample;
pub mod stats;
pub mod verdict;
pub mod walk;

pub use histogram::Histogram;
pub use sample::Sample;
pub use verdict::{Figure, Finding, Objective, Verdict, judge};
pub use walk::{Decision, SyntheticShare, Walk};
