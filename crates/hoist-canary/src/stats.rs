//! The statistics a verdict needs, small enough to read in one sitting.
//!
//! Why not a statistics crate: the tests below need the standard normal distribution only (its
//! upper tail for p-values and one fixed critical value), which is ten lines; `statrs` would add
//! a dependency tree to the agent for that. The approximation is Numerical Recipes' `erfcc`
//! (Chebyshev fit, fractional error below 1.2·10⁻⁷ everywhere), far finer than the decision
//! needs.
//!
//! **Error rates** are proportions, so:
//! - against an absolute bound `b`: the one-sided *score* test, z = (p̂ − b) / √(b(1−b)/n),
//!   which uses the variance under the bound rather than the observed one, so it behaves with
//!   zero observed errors (where the Wald test divides by zero);
//! - against the stable revision plus a margin δ: a one-sided two-proportion test with the
//!   Agresti–Caffo adjustment (one success and one failure added to each group, p̃ = (x+1)/(n+2)),
//!   z = (p̃_c − p̃_s − δ) / √(p̃_c(1−p̃_c)/(n_c+2) + p̃_s(1−p̃_s)/(n_s+2)). The adjustment keeps
//!   the test near its nominal level for small counts and rates near 0, where the plain Wald
//!   test is far too eager; Fisher's exact test would be the alternative for tiny samples, but
//!   `min_sample` keeps samples out of that regime and Fisher's test cannot take a margin.
//!
//! **Latency quantiles** are compared with distribution-free (order-statistic) confidence
//! bounds: among n observations, the number at or below the true q-quantile is Binomial(n, q),
//! so the observation of rank ⌊nq − z√(nq(1−q))⌋ is below the quantile, and the one of rank
//! ⌈nq + z√(nq(1−q))⌉ above it, each with confidence 1−α (normal approximation of the
//! binomial). The histogram widens each to its bucket's edge, which only makes them more
//! conservative. Latency is not normal (long tails, several modes), which is why no t-test;
//! Mann–Whitney would test a shift of the whole distribution, while the SLOs name quantiles.

/// One-sided level of every test: 1%. A canary is analysed every interval, and each look is a
/// new chance of a false alarm; 1% per look keeps a good canary's chance of being rolled back
/// over a ten-look walk near 10% at worst (and far lower in practice, as successive looks at a
/// growing sample are strongly correlated), while a real 5-point error increase or +200 ms is
/// still detected within a look or two of `min_sample`.
pub const ALPHA: f64 = 0.01;

/// The standard normal quantile of 1 − [`ALPHA`]: Φ⁻¹(0.99).
pub const Z: f64 = 2.326_347_874_040_841;

/// The complementary error function, erfc(x) = 1 − erf(x) (Numerical Recipes' `erfcc`).
#[must_use]
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// P(Z > z) for a standard normal Z: the one-sided p-value of a z statistic.
#[must_use]
pub fn upper_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// A one-sided test's outcome: its statistic and p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Test {
    /// The z statistic (positive: the canary looks worse than the bound).
    pub z: f64,
    /// P(a statistic this large | the canary is within the bound).
    pub p_value: f64,
}

impl Test {
    fn of(z: f64) -> Self {
        Test {
            z,
            p_value: upper_tail(z),
        }
    }

    /// Whether the canary is shown to break the bound at level [`ALPHA`].
    #[must_use]
    pub fn rejects(&self) -> bool {
        self.z > Z
    }
}

/// Score test of "the error rate is at most `bound`" for `errors` of `n` (n > 0).
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn rate_above(errors: u64, n: u64, bound: f64) -> Test {
    let p = errors as f64 / n as f64;
    let var = bound * (1.0 - bound) / n as f64;
    if var <= 0.0 {
        // A bound of 0% (or 100%): any error (none can) breaks it, with certainty.
        return if p > bound {
            Test {
                z: f64::INFINITY,
                p_value: 0.0,
            }
        } else {
            Test {
                z: f64::NEG_INFINITY,
                p_value: 1.0,
            }
        };
    }
    Test::of((p - bound) / var.sqrt())
}

/// Agresti–Caffo test of "the canary's error rate is at most the stable one's plus `margin`".
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn rate_above_stable(
    canary_errors: u64,
    canary_n: u64,
    stable_errors: u64,
    stable_n: u64,
    margin: f64,
) -> Test {
    let adjusted = |x: u64, n: u64| ((x as f64 + 1.0) / (n as f64 + 2.0), n as f64 + 2.0);
    let (pc, nc) = adjusted(canary_errors, canary_n);
    let (ps, ns) = adjusted(stable_errors, stable_n);
    let se = (pc * (1.0 - pc) / nc + ps * (1.0 - ps) / ns).sqrt();
    Test::of((pc - ps - margin) / se)
}

/// The ranks (1-based) of the order statistics that bound the `q` quantile of `n`
/// observations from below and from above with confidence 1 − [`ALPHA`] each. The lower rank
/// may be 0 and the upper one past `n`: too few observations to bound that side.
#[must_use]
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
pub fn quantile_ranks(n: u64, q: f64) -> (u64, u64) {
    let n_f = n as f64;
    let centre = n_f * q;
    let spread = Z * (n_f * q * (1.0 - q)).sqrt();
    let lower = (centre - spread).floor().max(0.0) as u64;
    let upper = (centre + spread).ceil().max(1.0) as u64 + 1;
    (lower, upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_tail_matches_tables() {
        for (z, p) in [
            (0.0, 0.5),
            (1.0, 0.158_655_25),
            (1.644_853_6, 0.05),
            (Z, 0.01),
            (3.0, 0.001_349_9),
            (-1.0, 0.841_344_75),
        ] {
            assert!((upper_tail(z) - p).abs() < 1e-6, "z={z}: {}", upper_tail(z));
        }
    }

    #[test]
    fn a_rate_clearly_over_its_bound_is_rejected_and_one_under_is_not() {
        assert!(rate_above(10, 200, 0.01).rejects(), "5% vs 1%");
        assert!(
            !rate_above(3, 200, 0.01).rejects(),
            "1.5% vs 1% on 200 is noise"
        );
        assert!(!rate_above(0, 200, 0.01).rejects());
        assert!(
            rate_above(150, 10_000, 0.01).rejects(),
            "1.5% vs 1% on 10k is not"
        );
        assert!(
            rate_above(1, 100, 0.0).rejects(),
            "a 0% bound is broken by one error"
        );
        assert!(!rate_above(0, 100, 0.0).rejects());
    }

    #[test]
    fn two_proportions_with_a_margin() {
        // 5% errors against a clean stable revision, margin 1 point.
        let t = rate_above_stable(10, 200, 0, 2000, 0.01);
        assert!(t.rejects(), "{t:?}");
        assert!(t.p_value < ALPHA);
        // Same rates, no difference: never rejected, even with zero counts.
        assert!(!rate_above_stable(0, 100, 0, 100, 0.0).rejects());
        assert!(!rate_above_stable(20, 1000, 20, 1000, 0.0).rejects());
        // Within the margin.
        assert!(!rate_above_stable(15, 1000, 10, 1000, 0.01).rejects());
        // A small sample with one unlucky error is not enough.
        assert!(!rate_above_stable(1, 30, 0, 600, 0.0).rejects());
    }

    #[test]
    fn quantile_ranks_bracket_the_centre() {
        let (lo, hi) = quantile_ranks(100, 0.99);
        assert_eq!((lo, hi), (96, 103), "p99 of 100 cannot be bounded above");
        let (lo, hi) = quantile_ranks(10_000, 0.5);
        assert!(lo < 5000 && hi > 5000 && hi - lo < 300, "{lo}..{hi}");
        assert_eq!(quantile_ranks(0, 0.5).0, 0);
    }
}
