//! The agent's JSON API, as types: what the CLI sends and what the agent answers. Both sides
//! use these, so the wire format has one definition.
//!
//! Transport: HTTP/1.1 on the Unix socket `agent.sock` in the state directory. Requests and
//! answers are JSON; a deploy, a rollback and `logs --follow` answer with a stream of
//! newline-delimited JSON [`Event`]s (or log lines) until the outcome. Errors are a status code
//! and an [`ApiError`] body.
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `GET /v1/apps` | | `[AppStatus]` |
//! | `GET /v1/apps/{app}` | | `AppStatus` |
//! | `GET /v1/apps/{app}/history` | | `[RevisionInfo]` |
//! | `POST /v1/apps/{app}/deploy` | `AppSpec` | NDJSON `Event`s, the last `Done` |
//! | `POST /v1/apps/{app}/rollback` | `RollbackRequest` | NDJSON `Event`s, the last `Done` |
//! | `POST /v1/apps/{app}/stop` | | `AppStatus` (empty) |
//! | `DELETE /v1/apps/{app}` | | `AppStatus` of the app forgotten (refused while it runs) |
//! | `GET /v1/apps/{app}/logs?replica=N&tail=N&follow=true` | | text lines, `[replica N] …` |
//! | `GET /v1/apps/{app}/traffic` | | `TrafficReport`: the proxy's figures per revision |
//! | `GET /v1/agent` | | `AgentInfo` |
//! | `POST /v1/agent/shutdown` | | `AgentInfo`, then the agent stops its replicas and exits |

use std::path::PathBuf;

use hoist_core::{ReplicaReport, RunSection};
use serde::{Deserialize, Serialize};

use crate::store::RevisionState;

/// What a deploy asks the agent to run: the app's runtime settings and its artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppSpec {
    /// The app's name (a DNS label).
    pub name: String,
    /// Its version (`git describe`), shown by `status` and `history`.
    pub version: String,
    /// The port the app listens on (in the container; for the process driver, `$PORT` wins).
    pub port: u16,
    /// Arguments after the binary (the process driver; images carry their own).
    pub args: Vec<String>,
    /// Replicas, env, probes, rollout, ingress, grace period and driver.
    pub run: RunSection,
    /// What runs.
    pub artifact: Artifact,
}

/// What a replica runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Artifact {
    /// A binary for this machine (the `process` driver). The agent keeps its own copy, named
    /// by digest, so a later build cannot change what a revision runs.
    Binary {
        /// The binary as built.
        path: PathBuf,
    },
    /// An image for the `container` driver: loaded from a docker archive hoist wrote, or
    /// pulled by the engine from a registry.
    Image {
        /// A `docker save`-style archive to load, if the image is not pulled.
        archive: Option<PathBuf>,
        /// The image reference (`REPO@sha256:…` to pull, or the archive's `NAME:TAG`).
        reference: String,
        /// The image's id in the engine, set by the agent once it has the image: what the
        /// replicas run, so a later load under the same tag cannot change a revision.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The image as parts in the agent's store, from which the agent writes the archive it
        /// loads (a hosts deploy sends a host only the parts it lacks); `archive` is then unset.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parts: Option<ImageParts>,
    },
}

/// An image's docker-archive parts, files in the agent's store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageParts {
    /// The image config.
    pub config: PathBuf,
    /// Each layer, uncompressed, bottom first.
    pub layers: Vec<PathBuf>,
}

/// `POST /v1/apps/{app}/rollback`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackRequest {
    /// The revision to return to; default the one that served before the serving one.
    pub to: Option<u64>,
}

/// One line of a deploy's or rollback's progress stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Something happened (a replica started, became ready, was stopped, …).
    Progress {
        /// The revision it concerns.
        revision: Option<u64>,
        /// What happened.
        message: String,
    },
    /// The end: how the rollout went.
    Done(Done),
}

/// How a rollout ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Done {
    /// The outcome.
    pub outcome: Outcome,
    /// The revision that was rolled out.
    pub revision: u64,
    /// The revision serving now, if any.
    pub serving: Option<u64>,
    /// Why it failed.
    pub reason: Option<String>,
    /// What each replica that kept the new revision from getting ready showed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replica_reports: Vec<ReplicaReport>,
    /// The longest time no replica at all was ready during the rollout (a `recreate` update
    /// of a single-writer app; requests waited for the new replica meanwhile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unserved_seconds: Option<f64>,
    /// Seconds from the request to the outcome.
    pub seconds: f64,
}

/// The outcome of a rollout: the one type every target reports.
pub use hoist_core::Outcome;

/// Where an app is in its life on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppState {
    /// A revision serves, or one is being rolled out.
    #[default]
    Running,
    /// `hoist stop` stopped it; its history stays until `hoist forget`.
    Stopped,
    /// Its last rollout failed with nothing to roll back to: nothing serves.
    Failed,
}

/// `status` of one app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppStatus {
    /// The app.
    pub name: String,
    /// Running, stopped or failed.
    #[serde(default)]
    pub state: AppState,
    /// The serving revision.
    pub serving: Option<RevisionInfo>,
    /// The revision being rolled out, if a rollout is in progress.
    pub rolling_out: Option<u64>,
    /// Desired replicas.
    pub desired: u32,
    /// Ready replicas (in the proxy's rotation).
    pub ready: u32,
    /// Where the proxy routes it: `host` (or `*`) and path prefix.
    pub route: Option<String>,
    /// Every replica.
    pub replicas: Vec<ReplicaStatus>,
    /// The canary in progress, if the rollout is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryReport>,
}

/// One replica, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaStatus {
    /// The replica's number within the app (stable across restarts, unique per app).
    pub id: u32,
    /// Its revision.
    pub revision: u64,
    /// `starting`, `ready`, `unready`, `crash_loop_back_off`, `terminating`.
    pub state: String,
    /// Restarts so far (crashes and failed liveness probes).
    pub restarts: u32,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    /// Its process id (process driver).
    pub pid: Option<u32>,
    /// Its container id (container driver).
    pub container: Option<String>,
    /// Seconds since it (re)started.
    pub uptime_seconds: u64,
    /// The last failed probe or exit, if any.
    pub last_error: Option<String>,
}

/// One revision, as `history` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevisionInfo {
    /// 1, 2, … per app.
    pub number: u64,
    /// Its state.
    pub state: RevisionState,
    /// The version deployed.
    pub version: String,
    /// What it runs: `binary sha256:…` or the image reference.
    pub artifact: String,
    /// The driver.
    pub driver: String,
    /// Replicas asked for.
    pub replicas: u32,
    /// Why it failed, or what it was (`rollback to 2`).
    pub reason: Option<String>,
    /// What each replica that kept it from getting ready showed, if it failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replica_reports: Vec<ReplicaReport>,
    /// Its canary analysis, if it was rolled out as a canary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryReport>,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// When its rollout ended.
    pub finished_at: Option<i64>,
}

/// `GET /v1/agent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// The agent's process id.
    pub pid: u32,
    /// hoist's version.
    pub version: String,
    /// The proxy's address.
    pub proxy: String,
    /// The admin (metrics) address.
    pub admin: String,
    /// The state directory.
    pub state_dir: PathBuf,
    /// The HTTPS listener and its certificate, when the proxy serves HTTPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsInfo>,
}

/// The proxy's HTTPS listener and the certificate it presents: what `hoist status` and a hosts
/// deploy report, so a certificate the CA refused is seen without reading the agent's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsInfo {
    /// The HTTPS address.
    pub listen: String,
    /// `files` or `acme`.
    pub source: String,
    /// The names asked of the ACME CA (empty for files).
    pub domains: Vec<String>,
    /// The served certificate's notAfter (Unix seconds); `None` while none is served.
    pub not_after: Option<i64>,
    /// Why the last attempt to get or renew it failed, until one succeeds.
    pub error: Option<String>,
}

/// `GET /v1/apps/{app}/traffic`: what the proxy counted for each of the app's revisions since
/// the agent started, and the canary split if one is on. The figures are cumulative, so two
/// reports subtract into the window between them ([`hoist_canary::Sample::since`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrafficReport {
    /// The app.
    pub app: String,
    /// By revision (as the proxy labels it: the revision number).
    pub revisions: std::collections::BTreeMap<String, RevisionTraffic>,
    /// The canary revision and its share of the requests, while a split is on.
    pub canary: Option<CanarySplit>,
}

/// One revision's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevisionTraffic {
    /// Requests (attempts) routed to it, answers 5xx and failed attempts, latency histogram.
    pub sample: hoist_canary::Sample,
    /// `errors / requests` (0 without requests).
    pub error_rate: f64,
    /// Median latency in seconds, from the histogram (none without answers).
    pub p50_seconds: Option<f64>,
    /// 99th percentile latency in seconds (none without answers).
    pub p99_seconds: Option<f64>,
}

impl RevisionTraffic {
    /// The figures of `sample`.
    pub fn of(sample: hoist_canary::Sample) -> Self {
        let q = |q| sample.latency.quantile(q).map(|d| d.as_secs_f64());
        Self {
            error_rate: sample.error_rate(),
            p50_seconds: q(0.5),
            p99_seconds: q(0.99),
            sample,
        }
    }
}

/// A canary rollout: where it stands (`status`) or how it ended (`history`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryReport {
    /// The canary revision.
    pub revision: u64,
    /// The revision it is compared with (serving before it).
    pub stable: u64,
    /// The configured steps, in percent.
    pub steps: Vec<u8>,
    /// `starting` (its replicas are getting ready), `analysing`, `promoted` or `rolled_back`.
    pub phase: String,
    /// The canary's share of the requests now, in percent.
    pub weight: u8,
    /// The current step's last verdict.
    pub verdict: Option<hoist_canary::Verdict>,
    /// The steps that ended, with their verdicts.
    pub done: Vec<hoist_canary::walk::StepRecord>,
    /// Why it was rolled back, if it was.
    pub reason: Option<String>,
    /// The current step's figures so far, canary then stable (live, for `status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<[RevisionTraffic; 2]>,
    /// How many of the current step's requests (when rolled back, of its last step's) the
    /// agent sent itself (`run.rollout.synthetic`), when any: a verdict on them says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthetic: Option<hoist_canary::SyntheticShare>,
}

/// `hoist chaos`: faults injected into one revision for a while.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChaosRequest {
    /// The revision (default: the canary's while one is in progress, else the serving one).
    pub revision: Option<u64>,
    /// How long the faults last, in seconds (at most an hour).
    pub seconds: u64,
    /// Kill -9 one of its ready replicas (once, at the start).
    #[serde(default)]
    pub kill: bool,
    /// Pause its replicas for this share of every 100 ms, as CPU pressure would (process
    /// driver).
    #[serde(default)]
    pub cpu_percent: u8,
    /// What its requests go through in the proxy.
    #[serde(default)]
    pub proxy: crate::proxy::faults::ProxyFault,
}

/// What `hoist chaos` injected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChaosReport {
    /// The revision the faults are scoped to.
    pub revision: u64,
    /// What was done, one line each.
    pub injected: Vec<String>,
    /// How long until they are removed, in seconds.
    pub seconds: u64,
}

/// The answer to `hoist promote` and `hoist abort`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intervened {
    /// What was done, for the user.
    pub message: String,
}

/// A canary split as the proxy applies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanarySplit {
    /// The canary revision.
    pub revision: String,
    /// Its share of the requests, in percent.
    pub weight: u8,
}

/// The body of an error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong, for the user.
    pub error: String,
    /// What to do about it.
    pub hint: Option<String>,
}
