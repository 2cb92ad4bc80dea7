//! `run.rollout.strategy = "canary"`: how a new revision earns its traffic step by step, and the
//! service levels it must hold against the stable revision to be promoted.
//!
//! These are the validated values (`hoist-config` parses and checks them); the verdict logic
//! that applies them to observed counts lives in `hoist-canary`, so the local agent and the
//! Kubernetes target judge a canary by the same rules.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How an update replaces the serving revision.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[allow(
    clippy::large_enum_variant,
    reason = "one per app spec, read rarely; a box would only complicate every match"
)]
pub enum Strategy {
    /// Replace replicas one batch at a time (`max_surge`, `max_unavailable`) as soon as the new
    /// ones are ready: the Deployment controller's rolling update. The default.
    #[default]
    Rolling,
    /// Run the new revision beside the stable one, give it a growing share of the traffic, and
    /// promote it only while it holds its service levels.
    Canary(Canary),
}

impl Strategy {
    /// The canary settings, when the strategy is a canary.
    #[must_use]
    pub fn canary(&self) -> Option<&Canary> {
        match self {
            Strategy::Rolling => None,
            Strategy::Canary(c) => Some(c),
        }
    }
}

/// `strategy = "canary"` and its keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Canary {
    /// The canary's share of the traffic at each step, in percent: strictly increasing, each
    /// 1–100, the last always 100 (added when the file leaves it out), so the walk ends with the
    /// canary serving everything, i.e. promoted.
    pub steps: Vec<u8>,
    /// How often the canary is compared with the stable revision (default 10s): the time a
    /// verdict can take, and so how long a bad canary serves its share at most after it has
    /// enough requests.
    pub interval: Duration,
    /// Requests each revision must have answered in a step before a verdict other than
    /// "inconclusive" is given (default 100): the statistical tests need a sample, and a verdict
    /// on five requests would be noise.
    pub min_sample: u64,
    /// How long a step may stay inconclusive (too little traffic) before the rollout gives up
    /// and rolls back (default 5m): too little evidence is never a pass.
    pub max_wait: Duration,
    /// Keep each client on one revision (none: every request is split by weight on its own).
    pub sticky: Option<Sticky>,
    /// The service levels the canary must hold.
    pub slo: Slo,
    /// Faults injected into the canary during one step (`[verify.chaos]`), so its verdict says
    /// whether it holds its SLOs under them.
    #[serde(default)]
    pub chaos: Option<ChaosStep>,
    /// Where the figures come from on Kubernetes (`[verify.prometheus]`); the local agent
    /// reads its proxy's own counters and ignores it.
    #[serde(default)]
    pub prometheus: Option<crate::Prometheus>,
    /// Requests the agent sends itself while a step is short of evidence
    /// (`run.rollout.synthetic`), so a canary with little real traffic still gets a verdict
    /// instead of waiting out `max_wait`. None: a quiet step waits and is never passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthetic: Option<SyntheticTraffic>,
}

/// `run.rollout.synthetic`: what the agent requests itself while a canary step has too few
/// requests for a verdict — Flagger's load-tester webhook, built in. The requests are counted
/// in the revisions' figures like real ones (a 5xx is an error), so they are evidence, and the
/// step's record says how many of its requests they were.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyntheticTraffic {
    /// Paths requested with GET, in turn, each starting with `/` (a query is allowed), as the
    /// app sees them: the proxy passes paths on unchanged.
    pub paths: Vec<String>,
    /// How many requests each revision short of its sample gets.
    pub rate: Rate,
}

/// A request rate as hoist.toml writes it, `"10/s"` or `"30/m"`: kept as written so `hoist
/// config` prints it back the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    /// Requests per `per`, at least 1.
    pub requests: u32,
    /// One second or one minute.
    pub per: Duration,
}

impl Rate {
    /// `rate` when hoist.toml does not set it: 10 a second gives the default `min_sample`
    /// (100) in the default `interval` (10s).
    pub const DEFAULT: Rate = Rate {
        requests: 10,
        per: Duration::from_secs(1),
    };

    /// The time between two requests (`per / requests`).
    #[must_use]
    pub fn period(self) -> Duration {
        self.per / self.requests.max(1)
    }
}

impl std::fmt::Display for Rate {
    /// As hoist.toml writes it: `10/s`, `30/m`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = if self.per >= Duration::from_mins(1) {
            "m"
        } else {
            "s"
        };
        write!(f, "{}/{unit}", self.requests)
    }
}

/// `[verify.chaos]`: what the agent injects into the canary while one of its steps runs, and
/// removes when the step ends. The same faults as `hoist chaos`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChaosStep {
    /// The step (1 = the first) during which the faults are on.
    pub step: u8,
    /// Kill -9 one canary replica as the step begins.
    pub kill: bool,
    /// Added to each of the canary's requests by the proxy.
    pub latency: Option<Duration>,
    /// Percent of the canary's requests the proxy answers with `abort_status`.
    pub abort_percent: u8,
    /// The status of an aborted request (503 when unset).
    pub abort_status: Option<u16>,
    /// Percent of the canary's client connections closed without an answer.
    pub reset_percent: u8,
    /// Percent of every 100 ms the canary's replicas are paused, as CPU pressure would.
    pub cpu_percent: u8,
}

impl Canary {
    /// `steps` when hoist.toml does not set them.
    pub const DEFAULT_STEPS: &[u8] = &[10, 50, 100];
    /// `interval` when hoist.toml does not set it.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
    /// `min_sample` when hoist.toml does not set it.
    pub const DEFAULT_MIN_SAMPLE: u64 = 100;
    /// `max_wait` when hoist.toml does not set it.
    pub const DEFAULT_MAX_WAIT: Duration = Duration::from_mins(5);
}

/// What keeps one client on one revision: the value of a cookie or a request header is hashed
/// onto the weights, so the same value always lands on the same side of the split (and a
/// client without it is split per request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sticky {
    /// A cookie, by name (e.g. a session cookie).
    Cookie(String),
    /// A request header, by name (e.g. `X-User-Id`).
    Header(String),
}

/// `run.rollout.slo`: what the canary must hold. Each bound is absolute, relative to the
/// stable revision measured at the same time, or both; an unset one is not checked.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Slo {
    /// Share of requests answered 5xx or not answered (connection failures).
    pub error_rate: ErrorRateSlo,
    /// Median latency (time to the response head).
    pub p50: LatencySlo,
    /// 99th percentile latency.
    pub p99: LatencySlo,
}

impl Slo {
    /// The SLOs when hoist.toml does not give `slo`: at most 1 percentage point more errors than
    /// the stable revision, and a p99 at most 100 ms above it. Relative, so an app that is slow
    /// or noisy by nature is held to itself; additive for latency, because a ratio on a
    /// millisecond-fast service would fail on scheduling jitter.
    #[must_use]
    pub fn default_for_canary() -> Self {
        Slo {
            error_rate: ErrorRateSlo {
                max: None,
                above_stable: Some(1.0),
            },
            p50: LatencySlo::default(),
            p99: LatencySlo {
                max: None,
                vs_stable: Some(Relative::Plus(Duration::from_millis(100))),
            },
        }
    }
}

/// Bounds on the error rate, in percent (`1.0` is 1%), as written in hoist.toml.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ErrorRateSlo {
    /// `"1%"`: the canary's error rate must not be above this.
    pub max: Option<f64>,
    /// `"+0.5%"`: the canary's error rate must not be above the stable revision's plus these
    /// percentage points.
    pub above_stable: Option<f64>,
}

impl ErrorRateSlo {
    /// Whether no bound is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.max.is_none() && self.above_stable.is_none()
    }
}

/// Bounds on one latency quantile.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LatencySlo {
    /// `"300ms"`: the canary's quantile must not be above this.
    pub max: Option<Duration>,
    /// `"1.5x"` or `"+50ms"`: the canary's quantile must not be above the stable revision's
    /// times this ratio, or plus this much.
    pub vs_stable: Option<Relative>,
}

impl LatencySlo {
    /// Whether no bound is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.max.is_none() && self.vs_stable.is_none()
    }
}

/// A latency bound relative to the stable revision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relative {
    /// `"1.5x"`: at most this many times the stable revision's (more than 1).
    Times(f64),
    /// `"+50ms"`: at most this much above the stable revision's.
    Plus(Duration),
}

impl Relative {
    /// The bound for a stable value of `stable`.
    #[must_use]
    pub fn bound(self, stable: Duration) -> Duration {
        match self {
            Relative::Times(r) => stable.mul_f64(r),
            Relative::Plus(d) => stable.saturating_add(d),
        }
    }
}

impl std::fmt::Display for Relative {
    /// As hoist.toml writes it: `1.5x`, `+50ms`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Relative::Times(r) => write!(f, "{r}x"),
            Relative::Plus(d) => write!(f, "+{d:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The agent stores a revision's spec as JSON: a canary must read back as it was, and a
    /// spec stored before strategies existed must read as rolling.
    #[test]
    fn a_canary_survives_the_agents_store() {
        let canary = Strategy::Canary(Canary {
            steps: vec![5, 50, 100],
            interval: Duration::from_secs(10),
            min_sample: 200,
            max_wait: Duration::from_mins(5),
            sticky: Some(Sticky::Header("x-user-id".into())),
            slo: Slo::default_for_canary(),
            chaos: None,
            prometheus: None,
            synthetic: Some(SyntheticTraffic {
                paths: vec!["/".into(), "/healthz?deep=1".into()],
                rate: Rate {
                    requests: 30,
                    per: Duration::from_mins(1),
                },
            }),
        });
        let json = serde_json::to_string(&canary).unwrap();
        assert!(
            json.starts_with(r#"{"kind":"canary","steps":[5,50,100]"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Strategy>(&json).unwrap(), canary);
        let old = r#"{"max_surge":1,"max_unavailable":0,"deadline":{"secs":60,"nanos":0}}"#;
        let rollout: crate::Rollout = serde_json::from_str(old).unwrap();
        assert_eq!(rollout.strategy, Strategy::Rolling);
    }

    #[test]
    fn relative_bounds_apply_to_the_stable_figure() {
        let ms = Duration::from_millis;
        assert_eq!(Relative::Times(1.5).bound(ms(100)), ms(150));
        assert_eq!(Relative::Plus(ms(50)).bound(ms(100)), ms(150));
        assert_eq!(Relative::Plus(ms(50)).to_string(), "+50ms");
        assert_eq!(Relative::Times(1.5).to_string(), "1.5x");
    }

    #[test]
    fn a_rate_prints_as_written_and_spaces_its_requests() {
        assert_eq!(Rate::DEFAULT.to_string(), "10/s");
        assert_eq!(Rate::DEFAULT.period(), Duration::from_millis(100));
        let per_minute = Rate {
            requests: 30,
            per: Duration::from_mins(1),
        };
        assert_eq!(per_minute.to_string(), "30/m");
        assert_eq!(per_minute.period(), Duration::from_secs(2));
    }
}
