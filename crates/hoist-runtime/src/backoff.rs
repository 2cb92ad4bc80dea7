//! Restart back-off for crashing replicas (Kubernetes' CrashLoopBackOff).

use std::time::Duration;

use serde::Serialize;

/// How restarts are spaced: `initial`, doubling up to `max`; a replica that stayed up for
/// `reset_after` starts again from `initial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BackoffPolicy {
    /// The first delay.
    pub initial: Duration,
    /// The longest delay.
    pub max: Duration,
    /// Uptime after which the next crash is treated as the first.
    pub reset_after: Duration,
}

impl Default for BackoffPolicy {
    /// Kubernetes' kubelet: 10 s doubling to 5 min, reset after 10 min of running.
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(10),
            max: Duration::from_mins(5),
            reset_after: Duration::from_mins(10),
        }
    }
}

/// The back-off state of one replica slot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Backoff {
    /// Crashes in a row (without `reset_after` of uptime in between).
    pub consecutive: u32,
    /// Restarts so far, for `status`.
    pub restarts: u32,
}

impl Backoff {
    /// Records a crash after `uptime` and returns how long to wait before restarting. The first
    /// crash of a series restarts at once (delay zero); later ones wait `initial × 2^(n-2)`.
    pub fn crashed(&mut self, policy: &BackoffPolicy, uptime: Duration) -> Duration {
        if uptime >= policy.reset_after {
            self.consecutive = 0;
        }
        self.consecutive = self.consecutive.saturating_add(1);
        self.restarts = self.restarts.saturating_add(1);
        match self.consecutive {
            1 => Duration::ZERO,
            n => {
                let doublings = (n - 2).min(30);
                policy
                    .initial
                    .checked_mul(1 << doublings)
                    .map_or(policy.max, |d| d.min(policy.max))
            }
        }
    }

    /// A replica that keeps crashing is in CrashLoopBackOff (shown by `status`, and a reason to
    /// roll a new revision back).
    pub fn crash_looping(&self) -> bool {
        self.consecutive >= 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_and_resets_after_uptime() {
        let p = BackoffPolicy::default();
        let mut b = Backoff::default();
        let short = Duration::from_secs(1);
        let delays: Vec<u64> = (0..8).map(|_| b.crashed(&p, short).as_secs()).collect();
        assert_eq!(delays, [0, 10, 20, 40, 80, 160, 300, 300]);
        assert!(b.crash_looping());
        assert_eq!(b.restarts, 8);
        assert_eq!(b.crashed(&p, Duration::from_secs(601)), Duration::ZERO);
        assert!(!b.crash_looping());
        assert_eq!(b.restarts, 9);
    }
}
