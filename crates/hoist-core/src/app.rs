//! The merged, validated application spec: what `hoist.toml` plus an environment overlay mean.
//!
//! Every field here has already been checked by `hoist-config` (names are DNS labels, ports are
//! non-zero, durations parsed, …), so stages can use the values without re-validating. Defaults
//! are documented on each field and in docs/config.md (generated from hoist-config's reference).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Platform;

/// One application, as a stage sees it after config loading and overlay merging.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct App {
    /// `[app]`: what the service is.
    pub app: AppSection,
    /// `[build]`: how its binary and image are made.
    pub build: BuildSection,
    /// `[image]`: where the image goes and how it is tagged.
    pub image: ImageSection,
    /// `[run]`: how it runs once deployed.
    pub run: RunSection,
    /// `[config]`: plain key/value settings rendered into the app's ConfigMap.
    pub config: BTreeMap<String, String>,
    /// `[dapr]`: the Dapr sidecar, when enabled (default off).
    pub dapr: Option<Dapr>,
    /// `[kubernetes]`: where `hoist deploy` sends the app when it targets Kubernetes; its
    /// presence makes Kubernetes the default target (none: this machine's agent).
    pub kubernetes: Option<Kubernetes>,
    /// `[hosts]`: the user's own servers `hoist hosts` reaches over SSH (none: no hosts).
    pub hosts: Option<Hosts>,
    /// `[ci]`: what `hoist ci` writes into the CI pipeline (none: `hoist ci` uses defaults and
    /// deploys nothing).
    pub ci: Option<Ci>,
    /// The environment overlay that was applied, if any (`--env NAME`).
    pub environment: Option<String>,
}

/// `[app]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppSection {
    /// A DNS-1123 label (lowercase letters, digits, `-`; at most 63): it names the binary,
    /// the image, and every Kubernetes object.
    pub name: String,
    /// The Go package with `func main`, relative to the directory of hoist.toml (default `.`).
    pub main: String,
    /// The port the service listens on (default 8080). Exposed in the image config.
    pub port: u16,
    /// Arguments passed to the binary after the entrypoint (default none).
    pub args: Vec<String>,
}

/// `[build]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildSection {
    /// Platforms to build (default `["linux/amd64"]`); several produce an image index.
    pub platforms: Vec<Platform>,
    /// The base image (default `static`).
    pub base: Base,
    /// Go build tags (`-tags`), default none.
    pub tags: Vec<String>,
    /// Extra `-ldflags` appended after hoist's own, default none.
    pub ldflags: Vec<String>,
    /// The Go variable `-X` sets to the version (default `main.version`).
    pub version_var: String,
    /// The Go variable `-X` sets to the full commit hash (default `main.commit`).
    pub commit_var: String,
    /// cgo: `None` (default) builds with `CGO_ENABLED=0` and refuses a program whose
    /// dependencies need cgo; `Some(true)` builds with cgo for this machine's platform and puts
    /// the shared libraries the binary links into the image; `Some(false)` builds without cgo
    /// unchecked (the dependencies have pure-Go fallbacks).
    pub cgo: Option<bool>,
    /// Extra environment of `go build` (`GOEXPERIMENT`, `GOAMD64`, …).
    pub env: BTreeMap<String, String>,
}

/// The image an app layer is put on top of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum Base {
    /// Made by hoist itself: CA bundle, passwd/group with nonroot 65532, /tmp, /home/nonroot.
    Static,
    /// Nothing at all below the app layer.
    Scratch,
    /// An image in a registry, `<registry>/<repo>:<tag>` or `@sha256:…`.
    Image(String),
}

impl From<Base> for String {
    fn from(b: Base) -> Self {
        match b {
            Base::Static => "static".to_owned(),
            Base::Scratch => "scratch".to_owned(),
            Base::Image(r) => r,
        }
    }
}

/// `[image]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageSection {
    /// Where pushes go, e.g. `registry.example.com/group/hello` (default none: build only).
    pub repository: Option<String>,
    /// Which tags a push writes (default `["latest", "sha", "semver"]`).
    pub tags: Vec<TagPolicy>,
    /// Extra OCI config labels, added to hoist's own `org.opencontainers.image.*` labels.
    pub labels: BTreeMap<String, String>,
    /// The `org.opencontainers.image.source` label (default: git's `origin` remote, if any).
    pub source: Option<String>,
}

/// One rule of the tag policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TagPolicy {
    /// `latest`, on the default branch of a clean tree.
    Latest,
    /// `sha-<12 hex>` of the commit (`sha-<12 hex>-dirty`, and nothing else, for a dirty tree).
    Sha,
    /// `vX.Y.Z`, `vX.Y`, `vX` from a semver tag on HEAD.
    Semver,
}

impl TagPolicy {
    /// `image.tags` when hoist.toml does not set it (or there is no hoist.toml).
    pub const DEFAULT: &[TagPolicy] = &[TagPolicy::Latest, TagPolicy::Sha, TagPolicy::Semver];
}

/// `[run]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSection {
    /// How many replicas run (default 1).
    pub replicas: u32,
    /// How the local runtime runs each replica (default `process`); Kubernetes ignores it.
    pub driver: Driver,
    /// Environment variables of the running service.
    pub env: BTreeMap<String, String>,
    /// Health checking: readiness, liveness and startup probes.
    pub health: Health,
    /// Rolling update parameters.
    pub rollout: Rollout,
    /// Resource requests (and limits) per replica.
    pub resources: Resources,
    /// Horizontal autoscaling, off unless given.
    pub autoscale: Option<Autoscale>,
    /// HTTP ingress (host and path), none unless given.
    pub ingress: Option<Ingress>,
    /// Seconds a replica is given to stop after SIGTERM before SIGKILL (default 30).
    pub termination_grace: Duration,
    /// A writable directory that outlives replicas and revisions, none unless given.
    #[serde(default)]
    pub state: Option<State>,
}

/// `run.state`: a directory the app writes (a SQLite database, uploads) that survives restarts
/// and rolling updates: a directory kept per app by the local agent, a volume in a container,
/// a PersistentVolumeClaim on Kubernetes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Where the app sees it: an absolute path in the container (`/data`), also given to the
    /// app as `$STATE_DIR` (the local process driver's own directory there).
    pub path: String,
    /// Who writes it at once (default one).
    pub writers: Writers,
    /// How a new revision takes over the directory (default `recreate` with one writer).
    pub update: StateUpdate,
    /// The size a PersistentVolumeClaim asks for on Kubernetes (default `1Gi`).
    pub size: String,
}

/// How many replicas may write the state directory at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Writers {
    /// One process owns it (SQLite, bbolt, a file it rewrites): one replica only.
    One,
    /// The app coordinates several writers itself: replicas and rolling updates as usual.
    Many,
}

/// How a new revision takes over a single-writer state directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateUpdate {
    /// The old replica stops before the new one starts: never two writers, a short gap with
    /// no ready replica (measured and reported). Kubernetes' `Recreate` strategy.
    Recreate,
    /// The new replica starts while the old one serves, both on the directory until the old
    /// one is drained: no gap, for apps whose storage allows two processes (SQLite in WAL mode).
    Overlap,
}

impl State {
    /// The environment variable that tells the app where its state directory is.
    pub const ENV: &'static str = "STATE_DIR";
}

/// How the local runtime runs a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Driver {
    /// The binary itself, told its port in `$PORT`: nothing but the binary is needed.
    #[default]
    Process,
    /// The image, through the Docker Engine API (dockerd or `podman system service`): each
    /// replica has its own network namespace, so an app on a fixed port runs several times.
    Container,
}

impl Driver {
    /// The name used in hoist.toml.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Process => "process",
            Self::Container => "container",
        }
    }
}

/// The three probes. `run.health` sets readiness and liveness together; `run.health.readiness`
/// and friends override one of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// Traffic is sent only to ready replicas.
    pub readiness: Option<Probe>,
    /// A replica failing this is restarted.
    pub liveness: Option<Probe>,
    /// Holds the other probes off until the app has started.
    pub startup: Option<Probe>,
}

/// One probe, with Kubernetes' semantics and defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// What is checked.
    pub action: ProbeAction,
    /// Wait before the first check (default 0s).
    pub initial_delay: Duration,
    /// Time between checks (default 10s).
    pub period: Duration,
    /// Time a check may take (default 1s).
    pub timeout: Duration,
    /// Consecutive successes to count as passing (default 1).
    pub success_threshold: u32,
    /// Consecutive failures to count as failing (default 3).
    pub failure_threshold: u32,
}

/// The check a probe makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeAction {
    /// HTTP GET; 200–399 passes.
    Http {
        /// Request path, starting with `/`.
        path: String,
        /// Port (default the app's port).
        port: u16,
    },
    /// A TCP connect succeeds.
    Tcp {
        /// Port (default the app's port).
        port: u16,
    },
    /// A command exits 0 inside the replica.
    Exec {
        /// The command and its arguments.
        command: Vec<String>,
    },
}

/// `run.rollout`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollout {
    /// Replicas above the desired count during an update (default 1).
    pub max_surge: IntOrPercent,
    /// Replicas below the desired count during an update (default 0).
    pub max_unavailable: IntOrPercent,
    /// Time for the new revision to become ready before it is rolled back (default 60s).
    pub deadline: Duration,
    /// Rolling (default) or canary; a revision stored before canaries existed reads as rolling.
    #[serde(default)]
    pub strategy: crate::Strategy,
}

/// A count given as a number or as a percentage of the replicas, like Kubernetes' IntOrString.
///
/// Serialized as Kubernetes writes it: a number, or a string like `"25%"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "IntOrPercentRepr", try_from = "IntOrPercentRepr")]
pub enum IntOrPercent {
    /// An absolute number of replicas.
    Int(u32),
    /// A percentage (0–100) of the desired replicas.
    Percent(u32),
}

/// The wire form of [`IntOrPercent`].
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum IntOrPercentRepr {
    Int(u32),
    Str(String),
}

impl From<IntOrPercent> for IntOrPercentRepr {
    fn from(v: IntOrPercent) -> Self {
        match v {
            IntOrPercent::Int(n) => Self::Int(n),
            IntOrPercent::Percent(p) => Self::Str(format!("{p}%")),
        }
    }
}

impl TryFrom<IntOrPercentRepr> for IntOrPercent {
    type Error = String;
    fn try_from(v: IntOrPercentRepr) -> Result<Self, String> {
        match v {
            IntOrPercentRepr::Int(n) => Ok(Self::Int(n)),
            IntOrPercentRepr::Str(s) => s
                .strip_suffix('%')
                .and_then(|d| d.parse::<u32>().ok())
                .filter(|p| *p <= 100)
                .map(Self::Percent)
                .ok_or_else(|| {
                    format!("expected a count or a percentage like \"25%\", found {s:?}")
                }),
        }
    }
}

impl IntOrPercent {
    /// The absolute count for `replicas`, rounding a percentage up (as Kubernetes does for
    /// maxSurge) or down (for maxUnavailable).
    pub fn resolve(self, replicas: u32, round_up: bool) -> u32 {
        match self {
            Self::Int(n) => n,
            Self::Percent(p) => {
                let scaled = u64::from(replicas) * u64::from(p);
                let v = if round_up {
                    scaled.div_ceil(100)
                } else {
                    scaled / 100
                };
                u32::try_from(v).unwrap_or(u32::MAX)
            }
        }
    }
}

/// `run.resources`: Kubernetes quantities, already checked to be valid.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Resources {
    /// CPU request, e.g. `250m`.
    pub cpu: Option<String>,
    /// Memory request and limit, e.g. `128Mi`.
    pub memory: Option<String>,
}

/// `run.autoscale`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Autoscale {
    /// Fewest replicas.
    pub min: u32,
    /// Most replicas.
    pub max: u32,
    /// Target average CPU utilisation, percent of the request.
    pub cpu_percent: u32,
}

/// `run.ingress`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ingress {
    /// The Host to route, a DNS name (none: any host).
    pub host: Option<String>,
    /// The path prefix (default `/`).
    pub path: String,
    /// A TLS secret name for Kubernetes Ingress, if any.
    pub tls_secret: Option<String>,
    /// The Kubernetes ingressClassName, if any.
    pub class: Option<String>,
}

/// `[dapr]`: run the app with a Dapr sidecar, which Dapr's injector adds from pod annotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dapr {
    /// The Dapr app id (default the app name): a DNS-1123 label.
    pub app_id: String,
}

/// `[kubernetes]`: the clusters an environment deploys to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kubernetes {
    /// kubeconfig contexts to deploy to, each in turn or several at once (default: the
    /// kubeconfig's current context).
    pub contexts: Vec<String>,
    /// The namespace (default: the context's namespace, else `default`).
    pub namespace: Option<String>,
    /// Create the namespace when it does not exist (default false).
    pub create_namespace: bool,
    /// Revision records kept per app in the cluster (default 10).
    pub history_limit: u32,
}

/// `[hosts]`: the user's own servers, reached with the user's own OpenSSH: every value here is
/// what `ssh` would be given, so `~/.ssh/config` aliases, ProxyJump and the SSH agent keep
/// working, and a value left out is left to that config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hosts {
    /// SSH destinations, `[user@]host[:port]` or a `~/.ssh/config` alias, in rollout order.
    pub targets: Vec<String>,
    /// The login user for targets that do not name one (default: ssh's, from its config).
    pub user: Option<String>,
    /// The SSH port for targets that do not name one (default: ssh's, from its config).
    pub port: Option<u16>,
    /// A private key file for `ssh -i` (default: ssh's identities and agent). The path only:
    /// hoist never reads the key.
    pub identity: Option<String>,
    /// How many hosts a wave updates at once: a count, or a percentage of the targets rounded
    /// up (default 1, one host at a time).
    pub parallel: IntOrPercent,
    /// Where each host's proxy listens and how it serves HTTPS (default: the agent's own,
    /// `127.0.0.1:8080`, plain HTTP: nothing public).
    pub public: HostsPublic,
    /// The container engine each host's agent runs replicas in for `run.driver = "container"`
    /// (`hosts.engine`, a `DOCKER_HOST`-style address; a leading `$HOME` or `$XDG_RUNTIME_DIR`
    /// is each host's own, so a rootless engine's per-user socket is named once for every
    /// host). Default: the agent's `DOCKER_HOST`, else dockerd's socket.
    pub engine: Option<String>,
}

/// The public side of every host's proxy: its plain-HTTP address and, if asked, HTTPS.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostsPublic {
    /// The plain-HTTP address (`hosts.http`, `HOST:PORT`, `:80` written as `0.0.0.0:80`).
    pub http: Option<String>,
    /// The HTTPS address and its certificate (`hosts.https`).
    pub https: Option<HostsHttps>,
}

/// A host proxy's HTTPS: where, and whose certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostsHttps {
    /// `HOST:PORT`.
    pub listen: String,
    /// The certificate.
    pub tls: HostsTls,
}

/// Where a host's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostsTls {
    /// PEM files on this machine, sent to every host (the key with mode 0600, never shown).
    Files {
        /// The certificate chain, as written in hoist.toml (relative to its directory).
        cert: String,
        /// Its private key.
        key: String,
    },
    /// An ACME CA: each host gets its own certificate over HTTP-01 and renews it.
    Acme {
        /// The names, `{host}` standing for the target's host name.
        domains: Vec<String>,
        /// The CA's directory URL (default Let's Encrypt's production).
        directory: Option<String>,
        /// The account's contact address.
        email: Option<String>,
        /// A PEM root for the CA's own HTTPS (test CAs), as written in hoist.toml.
        ca: Option<String>,
    },
}

impl HostsTls {
    /// The domains of an ACME certificate for `host`: `{host}` replaced by it.
    pub fn domains_for(domains: &[String], host: &str) -> Vec<String> {
        domains.iter().map(|d| d.replace("{host}", host)).collect()
    }
}

impl Hosts {
    /// The number of hosts in one wave: at least 1, at most every target.
    pub fn wave_size(&self) -> usize {
        let n = self.targets.len().max(1);
        let size = match self.parallel {
            IntOrPercent::Int(c) => c as usize,
            IntOrPercent::Percent(p) => (n * p as usize).div_ceil(100),
        };
        size.clamp(1, n)
    }
}

/// `[ci]`: the pipeline `hoist ci` generates. Every step that matters is a hoist command; this
/// only says which environment a push deploys to, where deploy jobs run and which checks run
/// first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ci {
    /// Which pushes deploy where, sorted by ref (exact branch names before patterns when
    /// matching; see [`Ci::environment_for`]).
    pub deploy: Vec<DeployRule>,
    /// The runner labels of deploy jobs (default `["ubuntu-latest"]`; a self-hosted runner's
    /// labels to deploy with its local agent).
    pub runs_on: Vec<String>,
    /// Shell commands every pipeline runs before building (default `go vet ./...` and
    /// `go test ./...`).
    pub test: Vec<String>,
}

impl Default for Ci {
    /// `[ci]` when hoist.toml has none: the default checks, and no deploys.
    fn default() -> Self {
        let owned = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect();
        Self {
            deploy: Vec::new(),
            runs_on: owned(Self::DEFAULT_RUNS_ON),
            test: owned(Self::DEFAULT_TEST),
        }
    }
}

/// One entry of `ci.deploy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployRule {
    /// A branch name (`main`), or a tag pattern ending in `*` (`v*`).
    pub on: String,
    /// The environment (`[environments.NAME]`) a push there deploys.
    pub environment: String,
}

impl DeployRule {
    /// Whether this rule names tags (`v*`) rather than a branch.
    pub fn is_tag_pattern(&self) -> bool {
        self.on.ends_with('*')
    }
}

impl Ci {
    /// `runs_on` when hoist.toml does not set it.
    pub const DEFAULT_RUNS_ON: &[&str] = &["ubuntu-latest"];
    /// `test` when hoist.toml does not set it.
    pub const DEFAULT_TEST: &[&str] = &["go vet ./...", "go test ./..."];

    /// The environment a push of `branch` (or of tag `tag`) deploys: the rule naming the
    /// branch exactly, else the tag pattern with the longest prefix matching the tag.
    pub fn environment_for(&self, branch: Option<&str>, tag: Option<&str>) -> Option<&str> {
        if let Some(b) = branch
            && let Some(r) = self
                .deploy
                .iter()
                .find(|r| !r.is_tag_pattern() && r.on == b)
        {
            return Some(&r.environment);
        }
        let tag = tag?;
        self.deploy
            .iter()
            .filter(|r| r.is_tag_pattern() && tag.starts_with(r.on.trim_end_matches('*')))
            .max_by_key(|r| r.on.len())
            .map(|r| r.environment.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_rules_match_branches_exactly_and_tags_by_longest_prefix() {
        let rule = |on: &str, environment: &str| DeployRule {
            on: on.to_owned(),
            environment: environment.to_owned(),
        };
        let ci = Ci {
            deploy: vec![
                rule("main", "staging"),
                rule("v*", "prod"),
                rule("v0*", "beta"),
            ],
            runs_on: vec![],
            test: vec![],
        };
        assert_eq!(ci.environment_for(Some("main"), None), Some("staging"));
        assert_eq!(ci.environment_for(Some("feature"), None), None);
        assert_eq!(ci.environment_for(None, Some("v1.2.3")), Some("prod"));
        assert_eq!(ci.environment_for(None, Some("v0.9.0")), Some("beta"));
        assert_eq!(ci.environment_for(None, Some("release-1")), None);
    }

    #[test]
    fn percent_rounds_like_kubernetes() {
        assert_eq!(IntOrPercent::Percent(25).resolve(3, true), 1);
        assert_eq!(IntOrPercent::Percent(25).resolve(3, false), 0);
        assert_eq!(IntOrPercent::Percent(50).resolve(4, false), 2);
        assert_eq!(IntOrPercent::Int(2).resolve(10, true), 2);
    }

    #[test]
    fn int_or_percent_round_trips_as_kubernetes_writes_it() {
        let v = serde_json::to_string(&[IntOrPercent::Int(2), IntOrPercent::Percent(25)]).unwrap();
        assert_eq!(v, r#"[2,"25%"]"#);
        let back: Vec<IntOrPercent> = serde_json::from_str(&v).unwrap();
        assert_eq!(back, [IntOrPercent::Int(2), IntOrPercent::Percent(25)]);
        assert!(serde_json::from_str::<IntOrPercent>(r#""125%""#).is_err());
    }
}
