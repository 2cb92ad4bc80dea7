//! `hoist.toml` as written: every key optional, every value with its key and location.
//!
//! The base file and each `[environments.NAME]` overlay are read into these same types, merged
//! (see [`crate::merge`]), and only then validated into a [`hoist_core::App`].

use std::time::Duration;

use hoist_core::IntOrPercent;

use crate::error::Location;
use crate::field::{Field, Opt};
use crate::walk::StrMap;

/// A whole file (or one overlay).
#[derive(Debug, Clone, Default)]
pub(crate) struct Partial {
    pub(crate) app: AppPart,
    pub(crate) build: BuildPart,
    pub(crate) image: ImagePart,
    pub(crate) run: RunPart,
    pub(crate) config: StrMap,
    pub(crate) dapr: Option<DaprPart>,
    pub(crate) kubernetes: Option<KubernetesPart>,
    pub(crate) hosts: Option<HostsPart>,
    pub(crate) ci: Option<CiPart>,
    pub(crate) verify: Option<VerifyPart>,
}

/// `[verify]`: how a canary is checked beyond its own traffic.
#[derive(Debug, Clone)]
pub(crate) struct VerifyPart {
    pub(crate) chaos: Option<ChaosPart>,
    pub(crate) prometheus: Option<PrometheusPart>,
}

/// `[verify.prometheus]`; `at` is where the table is written.
#[derive(Debug, Clone)]
pub(crate) struct PrometheusPart {
    pub(crate) at: Field<()>,
    pub(crate) url: Opt<String>,
    pub(crate) requests: Opt<String>,
    pub(crate) errors: Opt<String>,
    pub(crate) latency: Opt<String>,
}

/// `[verify.chaos]`; `at` is where the table is written.
#[derive(Debug, Clone)]
pub(crate) struct ChaosPart {
    pub(crate) at: Field<()>,
    pub(crate) step: Opt<i64>,
    pub(crate) kill: Opt<bool>,
    pub(crate) latency: Opt<Duration>,
    pub(crate) abort: Opt<String>,
    pub(crate) reset: Opt<String>,
    pub(crate) cpu: Opt<String>,
}

/// `[hosts]`.
#[derive(Debug, Clone)]
pub(crate) struct HostsPart {
    pub(crate) targets: Opt<Vec<Field<String>>>,
    pub(crate) user: Opt<String>,
    pub(crate) port: Opt<i64>,
    pub(crate) identity: Opt<String>,
    pub(crate) parallel: Opt<IntOrPercent>,
    pub(crate) http: Opt<String>,
    pub(crate) https: Opt<String>,
    pub(crate) tls_cert: Opt<String>,
    pub(crate) tls_key: Opt<String>,
    pub(crate) domains: Opt<Vec<Field<String>>>,
    pub(crate) acme_email: Opt<String>,
    pub(crate) acme_directory: Opt<String>,
    pub(crate) acme_ca: Opt<String>,
    pub(crate) engine: Opt<String>,
}

/// `[ci]`, in the base file only (an overlay cannot say which refs deploy it).
#[derive(Debug, Clone)]
pub(crate) struct CiPart {
    pub(crate) deploy: StrMap,
    pub(crate) runs_on: Opt<Vec<Field<String>>>,
    pub(crate) test: Opt<Vec<Field<String>>>,
}

/// `[kubernetes]`; `at` is where the table is written.
#[derive(Debug, Clone)]
pub(crate) struct KubernetesPart {
    pub(crate) contexts: Opt<Vec<Field<String>>>,
    pub(crate) namespace: Opt<String>,
    pub(crate) create_namespace: Opt<bool>,
    pub(crate) history_limit: Opt<i64>,
}

/// `[dapr]`.
#[derive(Debug, Clone)]
pub(crate) struct DaprPart {
    pub(crate) enabled: Opt<bool>,
    pub(crate) app_id: Opt<String>,
}

/// `[app]`; `at` is where the table is, for the "missing `app.name`" error.
#[derive(Debug, Clone, Default)]
pub(crate) struct AppPart {
    pub(crate) at: Option<Location>,
    pub(crate) name: Opt<String>,
    pub(crate) main: Opt<String>,
    pub(crate) port: Opt<i64>,
    pub(crate) args: Opt<Vec<Field<String>>>,
}

/// `[build]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct BuildPart {
    pub(crate) platforms: Opt<Vec<Field<String>>>,
    pub(crate) base: Opt<String>,
    pub(crate) tags: Opt<Vec<Field<String>>>,
    pub(crate) ldflags: Opt<Vec<Field<String>>>,
    pub(crate) version_var: Opt<String>,
    pub(crate) commit_var: Opt<String>,
    pub(crate) cgo: Opt<bool>,
    pub(crate) env: StrMap,
}

/// `[image]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ImagePart {
    pub(crate) repository: Opt<String>,
    pub(crate) tags: Opt<Vec<Field<String>>>,
    pub(crate) labels: StrMap,
    pub(crate) source: Opt<String>,
}

/// `[run]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunPart {
    pub(crate) replicas: Opt<i64>,
    pub(crate) driver: Opt<String>,
    pub(crate) env: StrMap,
    pub(crate) health: Option<HealthPart>,
    pub(crate) rollout: RolloutPart,
    pub(crate) resources: ResourcesPart,
    pub(crate) autoscale: Option<AutoscalePart>,
    pub(crate) ingress: Option<IngressPart>,
    pub(crate) termination_grace: Opt<Duration>,
    pub(crate) state: Option<StatePart>,
}

/// `run.state`, as a table or the shorthand string (its `path`); `at` is where it is written.
#[derive(Debug, Clone)]
pub(crate) struct StatePart {
    pub(crate) at: Field<()>,
    pub(crate) path: Opt<String>,
    pub(crate) writers: Opt<String>,
    pub(crate) update: Opt<String>,
    pub(crate) size: Opt<String>,
}

/// `run.health`: keys shared by readiness and liveness, and per-probe overrides.
#[derive(Debug, Clone)]
pub(crate) struct HealthPart {
    pub(crate) common: ProbePart,
    pub(crate) readiness: Option<ProbePart>,
    pub(crate) liveness: Option<ProbePart>,
    pub(crate) startup: Option<ProbePart>,
}

/// The keys of one probe table.
#[derive(Debug, Clone)]
pub(crate) struct ProbePart {
    /// The table's dotted key and location.
    pub(crate) at: Field<()>,
    pub(crate) path: Opt<String>,
    pub(crate) port: Opt<i64>,
    pub(crate) tcp: Opt<bool>,
    pub(crate) exec: Opt<Vec<Field<String>>>,
    pub(crate) initial_delay: Opt<Duration>,
    pub(crate) period: Opt<Duration>,
    pub(crate) timeout: Opt<Duration>,
    pub(crate) success_threshold: Opt<i64>,
    pub(crate) failure_threshold: Opt<i64>,
}

impl ProbePart {
    /// Whether the table says what to check (`path`, `tcp` or `exec`).
    pub(crate) fn has_action(&self) -> bool {
        self.path.is_some() || self.tcp.is_some() || self.exec.is_some()
    }
}

/// `run.rollout`.
#[derive(Debug, Clone, Default)]
pub(crate) struct RolloutPart {
    pub(crate) max_surge: Opt<IntOrPercent>,
    pub(crate) max_unavailable: Opt<IntOrPercent>,
    pub(crate) deadline: Opt<Duration>,
    pub(crate) strategy: Opt<String>,
    pub(crate) steps: Opt<Vec<Field<i64>>>,
    pub(crate) interval: Opt<Duration>,
    pub(crate) min_sample: Opt<i64>,
    pub(crate) max_wait: Opt<Duration>,
    pub(crate) sticky: Option<StickyPart>,
    pub(crate) slo: Option<SloPart>,
    pub(crate) synthetic: Option<SyntheticPart>,
}

impl RolloutPart {
    /// The canary-only keys that are given, for the "needs `strategy = \"canary\"`" error.
    pub(crate) fn canary_keys(&self) -> Vec<Field<()>> {
        let mut given = Vec::new();
        given.extend(self.steps.as_ref().map(|f| f.with(())));
        given.extend(self.interval.as_ref().map(|f| f.with(())));
        given.extend(self.min_sample.as_ref().map(|f| f.with(())));
        given.extend(self.max_wait.as_ref().map(|f| f.with(())));
        given.extend(self.sticky.as_ref().map(|s| s.at.clone()));
        given.extend(self.slo.as_ref().map(|s| s.at.clone()));
        given.extend(self.synthetic.as_ref().map(|s| s.at.clone()));
        given
    }
}

/// `run.rollout.sticky`: one of `cookie` or `header`; `at` is where the table is written.
#[derive(Debug, Clone)]
pub(crate) struct StickyPart {
    pub(crate) at: Field<()>,
    pub(crate) cookie: Opt<String>,
    pub(crate) header: Opt<String>,
}

/// `run.rollout.synthetic`: the paths the agent requests itself and how often; `at` is where
/// the table is written.
#[derive(Debug, Clone)]
pub(crate) struct SyntheticPart {
    pub(crate) at: Field<()>,
    pub(crate) paths: Opt<Vec<Field<String>>>,
    pub(crate) rate: Opt<String>,
}

/// `run.rollout.slo`: each bound a string or an array of strings (absolute and relative).
#[derive(Debug, Clone)]
pub(crate) struct SloPart {
    pub(crate) at: Field<()>,
    pub(crate) error_rate: Opt<Vec<Field<String>>>,
    pub(crate) p50: Opt<Vec<Field<String>>>,
    pub(crate) p99: Opt<Vec<Field<String>>>,
}

/// `run.resources`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResourcesPart {
    pub(crate) cpu: Opt<String>,
    pub(crate) memory: Opt<String>,
}

/// `run.autoscale`; `at` for the "missing `max`" error.
#[derive(Debug, Clone)]
pub(crate) struct AutoscalePart {
    pub(crate) at: Field<()>,
    pub(crate) min: Opt<i64>,
    pub(crate) max: Opt<i64>,
    pub(crate) cpu_percent: Opt<i64>,
}

/// `run.ingress`.
#[derive(Debug, Clone)]
pub(crate) struct IngressPart {
    pub(crate) host: Opt<String>,
    pub(crate) path: Opt<String>,
    pub(crate) tls_secret: Opt<String>,
    pub(crate) class: Opt<String>,
}
