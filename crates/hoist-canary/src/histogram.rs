//! Latency histograms with fixed, log-spaced buckets.
//!
//! Buckets are HDR-style: below 8 µs one bucket per microsecond; above, each power of two is cut
//! into 8 equal buckets, so a bucket is at most 1/8 of its lower edge wide (a value is known to
//! within 12.5%) from 8 µs to 2³² µs (~71 minutes), and everything longer shares the last bucket.
//! The index is a few bit operations on the microsecond count (no logarithm, no lock), which is
//! what the proxy's hot path can afford per request, and fixed buckets mean that histograms
//! from different processes, or from two moments of one counter, merge and subtract exactly.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Sub-buckets per power of two: 2³ = 8.
const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;
/// The highest power of two with its own buckets (2³¹ µs ≈ 36 min up to 2³² µs).
const MAX_EXP: u32 = 31;

/// How many buckets every histogram has.
pub const BUCKETS: usize = (SUB + (MAX_EXP - SUB_BITS + 1) as u64 * SUB) as usize;

/// The bucket of a latency of `micros` microseconds.
#[must_use]
pub fn bucket(micros: u64) -> usize {
    if micros < SUB {
        // Lossless: below 8, one bucket per microsecond.
        return usize::try_from(micros).unwrap_or(0);
    }
    let exp = micros.ilog2();
    if exp > MAX_EXP {
        return BUCKETS - 1;
    }
    let shift = exp - SUB_BITS;
    let sub = (micros >> shift) & (SUB - 1);
    usize::try_from(SUB + u64::from(shift) * SUB + sub).unwrap_or(BUCKETS - 1)
}

/// The microseconds bucket `i` holds: `lower..upper` (the last bucket's upper edge is
/// `u64::MAX`).
#[must_use]
pub fn bounds(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < SUB {
        return (i, i + 1);
    }
    let shift = (i - SUB) / SUB;
    let sub = (i - SUB) % SUB;
    let lower = (SUB + sub) << shift;
    if i as usize == BUCKETS - 1 {
        return (lower, u64::MAX);
    }
    (lower, lower + (1 << shift))
}

/// A latency histogram: a count per bucket of [`bucket`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    /// Always [`BUCKETS`] counts.
    counts: Vec<u64>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
        }
    }
}

impl Histogram {
    /// A histogram from per-bucket counts (as the proxy's atomic counters are read); missing
    /// trailing buckets count 0, extra ones are added to the last bucket.
    #[must_use]
    pub fn from_counts(counts: &[u64]) -> Self {
        let mut h = Histogram::default();
        for (i, c) in counts.iter().enumerate() {
            h.counts[i.min(BUCKETS - 1)] += c;
        }
        h
    }

    /// Counts one observation.
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.counts[bucket(micros)] += 1;
    }

    /// The per-bucket counts.
    #[must_use]
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// How many observations it holds.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Adds `other`'s observations (the two revisions' replicas, or two proxies).
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// The observations made after `earlier` was taken, when both are snapshots of the same
    /// cumulative counters (a bucket that went down, from a counter reset, counts 0).
    #[must_use]
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        Histogram {
            counts: self
                .counts
                .iter()
                .zip(&earlier.counts)
                .map(|(now, then)| now.saturating_sub(*then))
                .collect(),
        }
    }

    /// The bucket holding the `rank`-th smallest observation (1-based), if there is one.
    fn bucket_of_rank(&self, rank: u64) -> Option<usize> {
        if rank == 0 {
            return None;
        }
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(i);
            }
        }
        None
    }

    /// The `q` quantile (0 < q ≤ 1) as the midpoint of the bucket holding it (within 6.25% of
    /// the true value above 8 µs); `None` when empty. For display: verdicts use
    /// [`Histogram::rank_lower`] and [`Histogram::rank_upper`], which are conservative.
    #[must_use]
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        // The nearest-rank definition: the smallest value with at least q·n observations at or
        // below it.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let (lo, hi) = bounds(self.bucket_of_rank(rank)?);
        let mid = if hi == u64::MAX {
            lo
        } else {
            lo + (hi - lo) / 2
        };
        Some(Duration::from_micros(mid))
    }

    /// A value no larger than the `rank`-th smallest observation: its bucket's lower edge
    /// (zero for a rank of 0 or below, which bounds nothing).
    #[must_use]
    pub fn rank_lower(&self, rank: u64) -> Duration {
        self.bucket_of_rank(rank)
            .map_or(Duration::ZERO, |b| Duration::from_micros(bounds(b).0))
    }

    /// A value no smaller than the `rank`-th smallest observation: its bucket's upper edge
    /// (`None`, unbounded, when there are fewer than `rank` observations or it is in the last,
    /// open bucket).
    #[must_use]
    pub fn rank_upper(&self, rank: u64) -> Option<Duration> {
        let (_, hi) = bounds(self.bucket_of_rank(rank)?);
        (hi != u64::MAX).then(|| Duration::from_micros(hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_cover_every_value() {
        let mut expected_lower = 0;
        for i in 0..BUCKETS {
            let (lo, hi) = bounds(i);
            assert_eq!(
                lo,
                expected_lower,
                "bucket {i} starts where {} ends",
                i.saturating_sub(1)
            );
            assert!(hi > lo);
            assert_eq!(bucket(lo), i);
            assert_eq!(bucket(hi - 1), i);
            expected_lower = hi;
        }
        assert_eq!(expected_lower, u64::MAX);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        assert_eq!(BUCKETS, 240);
    }

    #[test]
    fn a_bucket_is_at_most_an_eighth_of_its_value_wide() {
        for i in 8..BUCKETS - 1 {
            let (lo, hi) = bounds(i);
            assert!((hi - lo) * 8 <= lo, "bucket {i}: {lo}..{hi}");
        }
        assert_eq!(bounds(bucket(1000)), (960, 1024));
        assert_eq!(bounds(bucket(200_000)), (196_608, 212_992));
    }

    #[test]
    fn quantiles_are_within_a_bucket_of_the_truth() {
        let mut h = Histogram::default();
        for ms in 1..=1000 {
            h.record(Duration::from_millis(ms));
        }
        for (q, truth) in [(0.5, 500.0), (0.99, 990.0), (0.01, 10.0), (1.0, 1000.0)] {
            let got = h.quantile(q).unwrap().as_secs_f64() * 1000.0;
            assert!((got - truth).abs() / truth < 0.07, "q{q}: {got} vs {truth}");
        }
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    #[test]
    fn rank_bounds_bracket_the_observation() {
        let mut h = Histogram::default();
        for us in [100, 200, 300, 5_000_000] {
            h.record(Duration::from_micros(us));
        }
        assert!(h.rank_lower(2) <= Duration::from_micros(200));
        assert!(h.rank_upper(2).unwrap() > Duration::from_micros(200));
        assert_eq!(h.rank_lower(0), Duration::ZERO);
        assert_eq!(
            h.rank_upper(5),
            None,
            "past the last observation: unbounded"
        );
        let mut huge = Histogram::default();
        huge.record(Duration::from_secs(1_000_000));
        assert_eq!(huge.rank_upper(1), None, "the open last bucket");
    }

    #[test]
    fn merge_and_since_are_exact() {
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        for ms in [1, 2, 3] {
            a.record(Duration::from_millis(ms));
        }
        b.record(Duration::from_millis(250));
        let before = a.clone();
        a.merge(&b);
        assert_eq!(a.count(), 4);
        assert_eq!(a.since(&before), b);
        assert_eq!(
            before.since(&a).count(),
            0,
            "a reset counts nothing, not negative"
        );
        assert_eq!(Histogram::from_counts(a.counts()), a);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Histogram>(&json).unwrap(), a);
    }
}
