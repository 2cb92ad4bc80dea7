//! What one revision answered over a window.

use serde::{Deserialize, Serialize};

use crate::Histogram;

/// Requests one revision answered (or failed to) over a window: a step so far, or one
/// interval. The proxy keeps cumulative counters; a window is the difference of two snapshots
/// ([`Sample::since`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample {
    /// Requests routed to the revision (answered or not).
    pub requests: u64,
    /// Of those, the ones answered 5xx or not answered (connection refused or reset, timeout):
    /// what a user saw fail. 4xx are the client's mistakes, not the revision's.
    pub errors: u64,
    /// Time to the response head of the answered requests.
    pub latency: Histogram,
}

impl Sample {
    /// The share of requests that failed (0 without requests).
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }

    /// What happened after `earlier`, when both are snapshots of the same cumulative counters.
    #[must_use]
    pub fn since(&self, earlier: &Sample) -> Sample {
        Sample {
            requests: self.requests.saturating_sub(earlier.requests),
            errors: self.errors.saturating_sub(earlier.errors),
            latency: self.latency.since(&earlier.latency),
        }
    }

    /// Adds `other` (several proxies, or several replicas counted apart).
    pub fn merge(&mut self, other: &Sample) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.latency.merge(&other.latency);
    }
}
