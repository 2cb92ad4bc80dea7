//! `[verify.prometheus]`'s templates → one revision's [`Sample`] over a window.

use std::time::{Duration, SystemTime};

use hoist_canary::Sample;
use hoist_canary::histogram::{self, BUCKETS, Histogram};
use hoist_core::Prometheus;
use hoist_core::promql::{self, Values};

use crate::client::{Client, Series};
use crate::error::{PromError, Result};

/// The figures of one app's revisions, from Prometheus.
#[derive(Debug, Clone)]
pub struct Source {
    client: Client,
    queries: Prometheus,
    app: String,
    namespace: String,
}

impl Source {
    /// A source for `app` in `namespace` (empty off Kubernetes), with `queries`.
    ///
    /// # Errors
    /// [`PromError::Client`] when no HTTP client can be built.
    pub fn new(queries: &Prometheus, app: &str, namespace: &str) -> Result<Self> {
        Ok(Source {
            client: Client::new(&queries.url)?,
            queries: queries.clone(),
            app: app.to_owned(),
            namespace: namespace.to_owned(),
        })
    }

    /// The server's URL, for messages.
    #[must_use]
    pub fn url(&self) -> &str {
        self.client.url()
    }

    /// What `revision` answered over `window` ending at `at`: `None` when the `requests`
    /// query finds no series at all (nothing scraped yet, or labels that match nothing), which
    /// the walk must take as "inconclusive", never as a pass on zero requests. No `errors`
    /// series is 0 errors; no latency buckets is an empty histogram.
    ///
    /// Prometheus' `increase()` extrapolates to the window's edges, so counts are rounded to
    /// whole requests.
    ///
    /// # Errors
    /// Those of [`Client::query`], and [`PromError::NoBuckets`].
    pub async fn sample(
        &self,
        revision: &str,
        window: Duration,
        at: SystemTime,
    ) -> Result<Option<Sample>> {
        let window = promql::window(window);
        let values = Values {
            app: &self.app,
            revision,
            window: &window,
            namespace: &self.namespace,
        };
        let requests = promql::expand(&self.queries.requests, &values);
        let Some(requests) = total(&self.client.query(&requests, at).await?) else {
            return Ok(None);
        };
        let errors = promql::expand(&self.queries.errors, &values);
        let errors = total(&self.client.query(&errors, at).await?).unwrap_or(0);
        let latency = promql::expand(&self.queries.latency, &values);
        let series = self.client.query(&latency, at).await?;
        let buckets = series
            .iter()
            .map(|s| {
                let le = s.labels.get("le").map(|le| match le.as_str() {
                    "+Inf" => Some(f64::INFINITY),
                    v => v.parse::<f64>().ok(),
                });
                le.flatten()
                    .map(|le| (le, s.value))
                    .ok_or_else(|| PromError::NoBuckets {
                        query: latency.clone(),
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Sample {
            requests,
            errors: errors.min(requests),
            latency: histogram_from_buckets(&buckets),
        }))
    }
}

/// The sum of the series' values as a count (`None` without series); `NaN` counts 0.
fn total(series: &[Series]) -> Option<u64> {
    if series.is_empty() {
        return None;
    }
    let sum: f64 = series
        .iter()
        .map(|s| s.value)
        .filter(|v| v.is_finite())
        .sum();
    Some(sum.max(0.0).round() as u64)
}

/// Prometheus histogram buckets — `(le in seconds, cumulative count)`, any order, `+Inf`
/// included or not — as hoist's fixed log-spaced [`Histogram`]. Each Prometheus bucket's count
/// is spread over the hoist buckets it covers in proportion to their overlap (the linear
/// interpolation `histogram_quantile` makes), so a quantile is known to within the user's
/// bucket width, as it is in Prometheus; the `+Inf` bucket's requests are put at the highest
/// finite bound, as `histogram_quantile` answers for them. Canary and stable go through the
/// same buckets, so comparing them is fair.
#[must_use]
pub fn histogram_from_buckets(buckets: &[(f64, f64)]) -> Histogram {
    let mut sorted: Vec<(f64, f64)> = buckets
        .iter()
        .copied()
        .filter(|(le, _)| !le.is_nan())
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut counts = vec![0u64; BUCKETS];
    let (mut lower_us, mut below) = (0u64, 0u64);
    let mut last_finite_us = 0u64;
    for (le, cumulative) in sorted {
        let cumulative = if cumulative.is_finite() {
            cumulative.max(0.0).round() as u64
        } else {
            below
        };
        let count = cumulative.saturating_sub(below);
        below = below.max(cumulative);
        if le.is_infinite() {
            counts[histogram::bucket(last_finite_us.saturating_sub(1))] += count;
            continue;
        }
        let upper_us = (le * 1e6).round().max(1.0) as u64;
        spread(&mut counts, lower_us, upper_us.max(lower_us + 1), count);
        last_finite_us = upper_us;
        lower_us = upper_us;
    }
    Histogram::from_counts(&counts)
}

/// Adds `count` over the microseconds `lower..upper`, in proportion to each hoist bucket's
/// overlap, exactly (cumulative rounding: the shares add up to `count`).
fn spread(counts: &mut [u64], lower: u64, upper: u64, count: u64) {
    if count == 0 {
        return;
    }
    let width = (upper - lower) as f64;
    let (first, last) = (histogram::bucket(lower), histogram::bucket(upper - 1));
    let mut given = 0u64;
    let mut covered = 0u64;
    for (i, slot) in counts.iter_mut().enumerate().take(last + 1).skip(first) {
        let (b_lo, b_hi) = histogram::bounds(i);
        covered += b_hi.min(upper) - b_lo.max(lower);
        let due = (count as f64 * covered as f64 / width).round() as u64;
        *slot += due - given;
        given = due;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_become_a_histogram_with_the_same_count_and_quantiles() {
        // 100 requests: 90 at or below 10 ms, 9 more by 100 ms, 1 slower than 1 s.
        let b = [
            (0.01, 90.0),
            (0.1, 99.0),
            (1.0, 99.0),
            (f64::INFINITY, 100.0),
        ];
        let h = histogram_from_buckets(&b);
        assert_eq!(h.count(), 100);
        let p50 = h.quantile(0.5).unwrap();
        assert!(p50 <= Duration::from_millis(10), "{p50:?}");
        assert!(p50 >= Duration::from_millis(4), "{p50:?}");
        let p99 = h.quantile(0.99).unwrap();
        assert!(
            p99 > Duration::from_millis(10) && p99 <= Duration::from_millis(100),
            "{p99:?}"
        );
        // The +Inf request sits at the highest finite bound, 1 s (within a hoist bucket, 12.5%).
        let max = h.quantile(1.0).unwrap();
        assert!(
            max <= Duration::from_millis(1125) && max > Duration::from_millis(875),
            "{max:?}"
        );
        // Order does not matter; increase() gives fractions.
        let shuffled = [
            (f64::INFINITY, 100.2),
            (0.1, 98.8),
            (0.01, 90.1),
            (1.0, 99.0),
        ];
        assert_eq!(histogram_from_buckets(&shuffled), h);
        assert_eq!(histogram_from_buckets(&[]).count(), 0);
    }

    #[test]
    fn totals_round_and_an_empty_answer_is_no_figure() {
        let s = |v| Series {
            labels: std::collections::BTreeMap::new(),
            value: v,
        };
        assert_eq!(total(&[]), None);
        assert_eq!(total(&[s(10.6), s(f64::NAN)]), Some(11));
        assert_eq!(total(&[s(-0.2)]), Some(0));
    }
}
