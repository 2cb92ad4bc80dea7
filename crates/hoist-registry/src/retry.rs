//! The one retry layer: every registry operation that may be repeated goes through
//! [`RetryPolicy::run`], which retries transient failures (connection errors, 5xx, 429) with
//! exponential back-off and logs each retry at debug level with its cause.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::{RegistryError, Result};

/// How often and how patiently transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (default 4).
    pub attempts: u32,
    /// The wait before the first retry; doubled for each next one (default 200 ms).
    pub base_delay: Duration,
    /// The longest wait between tries (default 2 s).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// Runs `op` until it succeeds, fails for good, or the tries are used up; counts retries
    /// in `retries`.
    pub(crate) fn run<T>(
        &self,
        what: &str,
        retries: &AtomicU64,
        mut op: impl FnMut() -> Result<T>,
    ) -> Result<T> {
        let mut attempt = 1;
        loop {
            match op() {
                Err(e) if e.is_transient() && attempt < self.attempts => {
                    let delay = self.delay(attempt);
                    tracing::debug!(
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        cause = %chain(&e),
                        "retrying {what}"
                    );
                    retries.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(delay);
                    attempt += 1;
                }
                r => return r,
            }
        }
    }

    fn delay(&self, attempt: u32) -> Duration {
        self.base_delay
            .saturating_mul(1 << (attempt - 1).min(16))
            .min(self.max_delay)
    }
}

/// `error: cause: cause`, for one log line.
fn chain(e: &RegistryError) -> String {
    let mut s = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error() -> RegistryError {
        RegistryError::Server {
            registry: "r".into(),
            what: "GET".into(),
            status: 503,
            code: None,
            message: None,
        }
    }

    #[test]
    fn retries_transient_errors_only() {
        let policy = RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        };
        let retries = AtomicU64::new(0);
        let mut calls = 0;
        let r: Result<()> = policy.run("x", &retries, || {
            calls += 1;
            Err(server_error())
        });
        assert!(r.is_err());
        assert_eq!((calls, retries.load(Ordering::Relaxed)), (3, 2));

        let mut calls = 0;
        let r = policy.run("x", &retries, || {
            calls += 1;
            if calls < 2 {
                Err(server_error())
            } else {
                Ok(7)
            }
        });
        assert_eq!(r.unwrap(), 7);

        let mut calls = 0;
        let r: Result<()> = policy.run("x", &retries, || {
            calls += 1;
            Err(RegistryError::NotFound {
                reference: "x".into(),
            })
        });
        assert!(r.is_err());
        assert_eq!(calls, 1);
        assert_eq!(policy.delay(1), Duration::from_millis(1));
        assert_eq!(policy.delay(5), Duration::from_millis(2));
    }
}
