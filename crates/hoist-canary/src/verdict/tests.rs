use std::time::Duration;

use hoist_core::{ErrorRateSlo, LatencySlo, Relative, Slo};

use super::*;
use crate::Histogram;

/// A tiny deterministic generator (SplitMix64), so the noise in these tests is the same on
/// every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    #[allow(clippy::cast_precision_loss)]
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` requests failing with probability `error_rate`, the answered ones taking `base` plus an
/// exponential tail of mean `tail` (a service's usual shape), plus `extra`.
fn sample(
    rng: &mut Rng,
    n: u64,
    error_rate: f64,
    base: Duration,
    tail: Duration,
    extra: Duration,
) -> Sample {
    let mut s = Sample::default();
    for _ in 0..n {
        s.requests += 1;
        if rng.unit() < error_rate {
            s.errors += 1;
            continue;
        }
        let t = tail.mul_f64(-(1.0 - rng.unit()).ln());
        s.latency.record(base + t + extra);
    }
    s
}

const MS: Duration = Duration::from_millis(1);

fn healthy(rng: &mut Rng, n: u64) -> Sample {
    sample(rng, n, 0.002, MS, MS, Duration::ZERO)
}

#[test]
fn too_few_requests_is_inconclusive_never_a_pass() {
    let slo = Slo::default_for_canary();
    let mut rng = Rng(1);
    let stable = healthy(&mut rng, 5000);
    let v = judge(&slo, 100, &Sample::default(), &stable);
    assert_eq!(
        v,
        Verdict::Inconclusive {
            why: Shortfall {
                revision: Side::Canary,
                requests: 0,
                min_sample: 100
            }
        }
    );
    assert_eq!(
        v.to_string(),
        "inconclusive: too few requests: the canary revision answered 0 of the 100 a verdict needs"
    );
    // Even a canary failing every request is not judged on 99 of them.
    let all_bad = Sample {
        requests: 99,
        errors: 99,
        latency: Histogram::default(),
    };
    assert!(matches!(
        judge(&slo, 100, &all_bad, &stable),
        Verdict::Inconclusive { .. }
    ));
    // A relative bound needs the stable revision's sample too.
    let canary = healthy(&mut rng, 500);
    let v = judge(&slo, 100, &canary, &healthy(&mut rng, 40));
    assert!(
        matches!(&v, Verdict::Inconclusive { why } if why.revision == Side::Stable && why.requests == 40),
        "{v:?}"
    );
}

#[test]
fn absolute_bounds_need_no_stable_sample() {
    let slo = Slo {
        error_rate: ErrorRateSlo {
            max: Some(1.0),
            above_stable: None,
        },
        p50: LatencySlo::default(),
        p99: LatencySlo {
            max: Some(Duration::from_millis(300)),
            vs_stable: None,
        },
    };
    let mut rng = Rng(2);
    let good = healthy(&mut rng, 300);
    assert!(matches!(
        judge(&slo, 100, &good, &Sample::default()),
        Verdict::Pass { .. }
    ));
    let slow = sample(&mut rng, 300, 0.0, MS, MS, Duration::from_millis(400));
    let v = judge(&slo, 100, &slow, &Sample::default());
    let breaches = v.breaches();
    assert_eq!(breaches.len(), 1, "{v}");
    assert_eq!(breaches[0].objective, Objective::P99);
    assert!(!breaches[0].relative);
    assert_eq!(
        breaches[0].limit,
        Figure::Latency(Duration::from_millis(300))
    );
    assert!(v.to_string().starts_with("fail: p99 4"), "{v}");
}

#[test]
fn five_percent_errors_fail_the_default_slo_with_the_numbers() {
    let slo = Slo::default_for_canary();
    let mut rng = Rng(3);
    let stable = healthy(&mut rng, 4000);
    let canary = sample(&mut rng, 400, 0.05, MS, MS, Duration::ZERO);
    let v = judge(&slo, 100, &canary, &stable);
    let breaches = v.breaches();
    assert_eq!(breaches.len(), 1, "{v}");
    let b = breaches[0];
    assert_eq!(b.objective, Objective::ErrorRate);
    assert!(b.relative);
    assert!(b.p_value.unwrap() < stats::ALPHA, "{b:?}");
    let Figure::Rate(rate) = b.canary else {
        panic!()
    };
    assert!((0.03..0.08).contains(&rate), "{rate}");
    assert!(matches!(b.stable, Some(Figure::Rate(s)) if s < 0.01));
    let text = v.to_string();
    assert!(text.starts_with("fail: error rate "), "{text}");
    assert!(
        text.contains(" above ") && text.contains("(stable 0."),
        "{text}"
    );
    // The passing p99 check is kept too, after the breach.
    let Verdict::Fail { findings } = &v else {
        panic!()
    };
    assert_eq!(findings.len(), 2);
    assert!(findings[0].breached && !findings[1].breached);
}

#[test]
fn two_hundred_ms_slower_fails_the_default_p99() {
    let slo = Slo::default_for_canary();
    let mut rng = Rng(4);
    let stable = healthy(&mut rng, 4000);
    let canary = sample(&mut rng, 200, 0.002, MS, MS, Duration::from_millis(200));
    let v = judge(&slo, 100, &canary, &stable);
    let breaches = v.breaches();
    assert_eq!(breaches.len(), 1, "{v}");
    assert_eq!(breaches[0].objective, Objective::P99);
    assert!(breaches[0].relative);
    // 200 ms over a p99 of ~6 ms: the limit is the stable upper bound + 100 ms.
    let Figure::Latency(limit) = breaches[0].limit else {
        panic!()
    };
    assert!(
        limit > Duration::from_millis(100) && limit < Duration::from_millis(120),
        "{limit:?}"
    );
}

/// Defect: with a stable revision of a few hundred answers, its p99 has no upper bound, and
/// the relative p99 check was left out of the verdict, so a canary 200 ms slower passed on its
/// error rate alone. Unchecked is inconclusive, saying how many answers the bound needs.
#[test]
fn a_p99_that_cannot_be_bounded_yet_is_inconclusive_not_a_pass() {
    let slo = Slo::default_for_canary();
    let mut rng = Rng(7);
    let stable = healthy(&mut rng, 300);
    let canary = sample(&mut rng, 100, 0.0, MS, MS, Duration::from_millis(200));
    let v = judge(&slo, 50, &canary, &stable);
    let Verdict::Inconclusive { why } = &v else {
        panic!("{v}")
    };
    assert_eq!(why.revision, Side::Stable, "{v}");
    assert!(
        why.min_sample > 600 && why.min_sample < 900,
        "a p99's upper bound needs about 700 answers: {v}"
    );
    // With enough of them, the same canary fails on its p99.
    let stable = healthy(&mut rng, 1000);
    let v = judge(&slo, 50, &canary, &stable);
    assert_eq!(
        v.breaches().first().map(|f| f.objective),
        Some(Objective::P99),
        "{v}"
    );
    // A breach shown by another check fails at once, bounded p99 or not.
    let stable = healthy(&mut rng, 300);
    let failing = sample(&mut rng, 300, 0.1, MS, MS, Duration::ZERO);
    let v = judge(&slo, 50, &failing, &stable);
    assert!(matches!(v, Verdict::Fail { .. }), "{v}");
}

#[test]
fn ratios_and_p50() {
    let slo = Slo {
        error_rate: ErrorRateSlo::default(),
        p50: LatencySlo {
            max: None,
            vs_stable: Some(Relative::Times(1.5)),
        },
        p99: LatencySlo::default(),
    };
    let mut rng = Rng(5);
    let stable = sample(
        &mut rng,
        3000,
        0.0,
        Duration::from_millis(20),
        MS,
        Duration::ZERO,
    );
    let same = sample(
        &mut rng,
        500,
        0.0,
        Duration::from_millis(20),
        MS,
        Duration::ZERO,
    );
    assert!(matches!(
        judge(&slo, 100, &same, &stable),
        Verdict::Pass { .. }
    ));
    let double = sample(
        &mut rng,
        500,
        0.0,
        Duration::from_millis(40),
        MS,
        Duration::ZERO,
    );
    let v = judge(&slo, 100, &double, &stable);
    assert_eq!(v.breaches().len(), 1, "{v}");
    assert_eq!(v.breaches()[0].objective, Objective::P50);
}

/// A canary no worse than the stable revision is rarely failed: over 400 simulated analyses
/// with the default SLOs at `min_sample`, the false alarms stay near the test's level.
#[test]
fn a_good_canary_is_rarely_failed() {
    let slo = Slo::default_for_canary();
    let strict = Slo {
        error_rate: ErrorRateSlo {
            max: None,
            above_stable: Some(0.0),
        },
        p50: LatencySlo {
            max: None,
            vs_stable: Some(Relative::Times(1.0)),
        },
        p99: LatencySlo {
            max: None,
            vs_stable: Some(Relative::Times(1.0)),
        },
    };
    let mut rng = Rng(6);
    let (mut failed, mut failed_strict) = (0, 0);
    for _ in 0..400 {
        let stable = sample(&mut rng, 2000, 0.01, MS, MS, Duration::ZERO);
        let canary = sample(&mut rng, 200, 0.01, MS, MS, Duration::ZERO);
        if matches!(judge(&slo, 200, &canary, &stable), Verdict::Fail { .. }) {
            failed += 1;
        }
        if matches!(judge(&strict, 200, &canary, &stable), Verdict::Fail { .. }) {
            failed_strict += 1;
        }
    }
    assert_eq!(failed, 0, "default SLOs have margins");
    // Zero margins: only the tests' own level (1% per bound, three bounds) stands between a
    // good canary and a rollback.
    assert!(failed_strict <= 16, "{failed_strict} of 400");
}

/// And a bad one is caught: +200 ms at `min_sample` always; 5% errors (against a 1-point
/// margin) more often than not at 200 requests and always at 1,000 — under load a step's sample
/// grows by thousands per interval, so the second look after `min_sample` decides.
#[test]
fn a_bad_canary_is_caught_at_min_sample_or_soon_after() {
    let slo = Slo::default_for_canary();
    let mut rng = Rng(7);
    let (mut errors_at_200, mut errors_at_1000, mut slow_caught) = (0, 0, 0);
    for _ in 0..200 {
        let stable = healthy(&mut rng, 5000);
        let slow = sample(&mut rng, 200, 0.002, MS, MS, Duration::from_millis(200));
        if matches!(judge(&slo, 200, &slow, &stable), Verdict::Fail { .. }) {
            slow_caught += 1;
        }
        for (n, caught) in [(200, &mut errors_at_200), (1000, &mut errors_at_1000)] {
            let erring = sample(&mut rng, n, 0.05, MS, MS, Duration::ZERO);
            if matches!(judge(&slo, 200, &erring, &stable), Verdict::Fail { .. }) {
                *caught += 1;
            }
        }
    }
    assert_eq!(slow_caught, 200);
    assert!(errors_at_200 >= 100, "{errors_at_200} of 200");
    assert_eq!(errors_at_1000, 200);
}

#[test]
fn verdicts_serialize_with_their_numbers() {
    let slo = Slo::default_for_canary();
    let mut rng = Rng(8);
    let v = judge(&slo, 10, &healthy(&mut rng, 100), &healthy(&mut rng, 1000));
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["verdict"], "pass");
    assert_eq!(json["findings"][0]["objective"], "error_rate");
    assert_eq!(serde_json::from_value::<Verdict>(json).unwrap(), v);
}
