//! The command line, as clap structs. Parsing only: no I/O happens here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// hoist: from Go source to a healthy, versioned deployment in one command.
#[derive(Debug, Parser)]
#[command(name = "hoist", version, about, propagate_version = true)]
pub struct Cli {
    /// Print debug diagnostics on stderr (or set HOIST_LOG).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented hoist.toml for the Go module in DIR.
    Init(InitArgs),
    /// Print the merged configuration (hoist.toml plus an environment overlay).
    Config(ConfigArgs),
    /// Build the Go binaries and the OCI image; print the image digest.
    Build(BuildArgs),
    /// Render Kubernetes manifests (YAML) for the app, its image pinned by digest.
    Render(RenderArgs),
    /// Write a Dockerfile and .dockerignore that build the same image with `docker build`.
    Dockerfile(DockerfileArgs),
    /// Push an OCI image layout to a registry; print the reference pinned by digest.
    Push(PushArgs),
    /// Print the tags a push of this checkout writes (`image.tags` applied to git), one per line.
    Tags(TagsArgs),
    /// Pull an image from a registry into an OCI image layout.
    Pull(PullArgs),
    /// Show an image in a registry: platforms, manifests, config and sizes.
    Inspect(InspectArgs),
    /// Store credentials for a registry in docker's config.json.
    Login(LoginArgs),
    /// Remove stored credentials for a registry.
    Logout(LogoutArgs),
    /// Build, then roll the app out on this machine (the agent) or on Kubernetes, and wait.
    Deploy(DeployArgs),
    /// Deploy to this machine, then rebuild and roll out on every save, until Ctrl-C.
    Dev(DevArgs),
    /// Show the app's revisions and replicas (or every app on this machine).
    Status(StatusArgs),
    /// List the app's revisions, their outcomes and why they failed.
    History(HistoryArgs),
    /// Roll the app back to the previous revision (or `--to REV`).
    Rollback(RollbackArgs),
    /// End the current step of the app's canary as passed (the last step promotes it).
    Promote(StopArgs),
    /// Roll the app's canary back: the stable revision serves every request again.
    Abort(StopArgs),
    /// Inject faults into one revision on this machine for a while: kill a replica, add
    /// latency, abort or reset a share of requests, starve its replicas of CPU.
    Chaos(ChaosArgs),
    /// Show the output of the app's replicas on this machine.
    Logs(LogsArgs),
    /// Stop the app on this machine: drain and stop its replicas, remove its route.
    Stop(StopArgs),
    /// Remove a stopped app's history and logs from this machine's agent.
    Forget(StopArgs),
    /// Run the local agent (replicas, probes, rollouts, ingress proxy) in the foreground.
    Agent(AgentArgs),
    /// Show what `hoist deploy --target kubernetes` would change in the cluster.
    Diff(DiffArgs),
    /// Your own servers over SSH (`[hosts]`): check them, set hoist up on them.
    #[command(subcommand)]
    Hosts(HostsCommand),
    /// Write the CI pipeline (GitHub Actions or GitLab CI) that tests, builds, tags, pushes and
    /// deploys.
    Ci(CiArgs),
    /// Check what this machine has for the project: Go, the container engine, the registry,
    /// Kubernetes, the agent's ports, hoist's directories; each failure with its fix.
    Doctor(DoctorArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(CompletionsArgs),
    /// Print hoist's own documents: the CLI and hoist.toml references, the man page.
    #[command(hide = true)]
    Docs(DocsArgs),
}

/// `hoist dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// The directory holding hoist.toml (or the Go module, without one).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The environment overlay to apply (`[environments.NAME]`).
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub environment: Option<String>,
    /// Override one value, like `run.replicas=1` (repeatable; applied after `--env`).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub sets: Vec<String>,
    /// The local agent.
    #[command(flatten)]
    pub agent: AgentConnArgs,
}

/// `hoist tags`.
#[derive(Debug, Args)]
pub struct TagsArgs {
    /// The project's directory: its hoist.toml (for `image.tags`; the default policy without
    /// one) and its git checkout.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The environment overlay to apply (`[environments.NAME]`).
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub environment: Option<String>,
    /// An extra tag, as `hoist build --push --tag` adds it (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub extra: Vec<String>,
    /// Print the tags, the git facts they come from and the references as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hoist ci`.
#[derive(Debug, Args)]
pub struct CiArgs {
    /// The CI platform: `github` writes `.github/workflows/hoist.yml`, `gitlab` writes
    /// `.gitlab-ci.yml`.
    #[arg(value_enum)]
    pub platform: CiPlatform,
    /// The project's directory (hoist.toml's `[ci]` and environments; the file goes to the
    /// root of the git repository holding it).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Replace a pipeline file edited by hand, or one hoist did not write.
    #[arg(long)]
    pub force: bool,
    /// Print the file instead of writing it.
    #[arg(long)]
    pub stdout: bool,
    /// The hoist commit CI builds and runs (default: the one this hoist was built from).
    #[arg(long, value_name = "COMMIT")]
    pub hoist_rev: Option<String>,
    /// The git repository CI installs hoist from.
    #[arg(long, value_name = "URL", default_value = env!("CARGO_PKG_REPOSITORY"))]
    pub hoist_git: String,
    /// Print what was written as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A CI platform `hoist ci` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CiPlatform {
    /// GitHub Actions.
    Github,
    /// GitLab CI/CD.
    Gitlab,
}

/// `hoist doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The project's directory (hoist.toml there or above says what it needs; none is fine).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The environment overlay to apply (`[environments.NAME]`).
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub environment: Option<String>,
    /// Registry connection settings (for the push target's check).
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Which clusters to check, as for a deploy.
    #[command(flatten)]
    pub kube: KubeArgs,
    /// The local agent.
    #[command(flatten)]
    pub conn: AgentConnArgs,
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hoist completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell, e.g. `bash` (`hoist completions bash > /etc/bash_completion.d/hoist`).
    pub shell: clap_complete::Shell,
}

/// `hoist docs`.
#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Which document.
    #[arg(value_enum)]
    pub which: Doc,
}

/// A document `hoist docs` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Doc {
    /// docs/cli.md: every command and flag.
    Cli,
    /// docs/config.md: every hoist.toml key.
    Config,
    /// hoist.1: the man page (roff).
    Man,
}

/// Where a deploy (or `status`, `history`, `rollback`) goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// This machine's agent (the default without a `[kubernetes]` table).
    Local,
    /// The Kubernetes clusters of the kubeconfig contexts.
    Kubernetes,
    /// Your own servers over SSH (`[hosts]`), each with its own agent and proxy.
    Hosts,
}

/// Which target, and how to reach Kubernetes.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// `local`, `kubernetes` or `hosts` (default: `kubernetes` when hoist.toml has
    /// `[kubernetes]`, else `hosts` when it has `[hosts]`, else `local`).
    #[arg(long, value_enum, value_name = "TARGET")]
    pub target: Option<Target>,
    /// Kubernetes settings.
    #[command(flatten)]
    pub kube: KubeArgs,
    /// How hoist reaches hosts.
    #[command(flatten)]
    pub hosts: HostTargetArgs,
}

/// How hoist reaches hosts (with `--target hosts`).
#[derive(Debug, Args)]
pub struct HostTargetArgs {
    /// Only these hosts (repeatable), as `hosts.targets` writes them.
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// The ssh config file (`ssh -F`; default ssh's own, `~/.ssh/config`).
    #[arg(long, value_name = "FILE", env = crate::env_vars::HOIST_SSH_CONFIG)]
    pub ssh_config: Option<PathBuf>,
    /// How long a host may take to answer before it is reported unreachable and skipped.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_seconds)]
    pub ssh_timeout: std::time::Duration,
}

/// How hoist reaches Kubernetes (with `--target kubernetes`).
#[derive(Debug, Args)]
pub struct KubeArgs {
    /// A kubeconfig context to deploy to (repeatable), instead of `kubernetes.contexts`.
    #[arg(long = "context", value_name = "NAME")]
    pub contexts: Vec<String>,
    /// The namespace, instead of `kubernetes.namespace`.
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,
    /// The kubeconfig file, instead of `$KUBECONFIG` or `~/.kube/config`.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
}

/// The app a command is about: named, or the one of hoist.toml in `-C DIR`.
#[derive(Debug, Args)]
pub struct AppArgs {
    /// The app (default: `app.name` of the hoist.toml in `-C DIR`).
    pub app: Option<String>,
    /// The directory holding hoist.toml.
    #[arg(long = "project", short = 'C', value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    /// The environment overlay to apply (`[environments.NAME]`).
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub environment: Option<String>,
}

/// How to reach the local agent.
#[derive(Debug, Args)]
pub struct AgentConnArgs {
    /// The agent's state directory (its store, socket, logs and artifacts).
    #[arg(long, value_name = "DIR", env = crate::env_vars::HOIST_STATE_DIR)]
    pub state_dir: Option<PathBuf>,
}

/// `hoist deploy`.
#[derive(Debug, Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each is a command-line flag of its own"
)]
pub struct DeployArgs {
    /// The directory holding hoist.toml (and, in it or above, go.mod).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The environment overlay to apply (`[environments.NAME]`).
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub environment: Option<String>,
    /// Override one value, like `run.replicas=5` (repeatable; applied after `--env`).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub sets: Vec<String>,
    /// Where to deploy.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Deploy this prebuilt binary (process driver) instead of building.
    #[arg(long, value_name = "FILE", conflicts_with = "image")]
    pub binary: Option<PathBuf>,
    /// Deploy this prebuilt image instead of building: `oci:DIR` (an OCI layout), or a
    /// reference in a registry, `REPO[:TAG]@sha256:…`.
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// How to run replicas on this machine, instead of `run.driver`.
    #[arg(long, value_enum, value_name = "DRIVER")]
    pub driver: Option<DriverArg>,
    /// Take ownership of fields another manager owns (Kubernetes server-side apply).
    #[arg(long)]
    pub force_conflicts: bool,
    /// Create the namespace when it does not exist (or `kubernetes.create_namespace`).
    #[arg(long)]
    pub create_namespace: bool,
    /// Clusters deployed to at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub parallel: usize,
    /// Hosts: go on with the next waves when a host fails (its revision rolled back there),
    /// instead of stopping and rolling back the hosts already done.
    #[arg(long)]
    pub continue_on_error: bool,
    /// Longest wait for one rollout on Kubernetes, beside its progress deadline
    /// (`run.rollout.deadline`), e.g. `10m`.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub timeout: String,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
    /// The local agent.
    #[command(flatten)]
    pub agent: AgentConnArgs,
    /// Registry connection settings (for images pushed or pulled on the way).
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// The local runtime's replica driver, as a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DriverArg {
    /// The binary, with `$PORT`.
    Process,
    /// The image, through the Docker Engine API (`DOCKER_HOST`).
    Container,
}

/// `hoist status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Which app.
    #[command(flatten)]
    pub app: AppArgs,
    /// Where it runs.
    #[command(flatten)]
    pub target: TargetArgs,
    /// The local agent.
    #[command(flatten)]
    pub agent: AgentConnArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hoist history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Which app.
    #[command(flatten)]
    pub app: AppArgs,
    /// Where it runs.
    #[command(flatten)]
    pub target: TargetArgs,
    /// The local agent.
    #[command(flatten)]
    pub agent: AgentConnArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hoist rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Which app.
    #[command(flatten)]
    pub app: AppArgs,
    /// The revision to go back to (default: the one before the serving one).
    #[arg(long, value_name = "REV")]
    pub to: Option<u64>,
    /// Where it runs.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Clusters rolled back at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub parallel: usize,
    /// Longest wait for the rollback's rollout on Kubernetes, e.g. `10m`.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub timeout: String,
    /// The local agent.
    #[command(flatten)]
    pub agent: AgentConnArgs,
    /// Print a JSON report.
    #[arg(long)]
    pub json: bool,
}

/// `hoist chaos`.
#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// Which app.
    #[command(flatten)]
    pub app: AppArgs,
    /// The revision (default: the canary's while one is in progress, else the serving one).
    #[arg(long, value_name = "REV")]
    pub revision: Option<u64>,
    /// How long the faults last (they are removed by themselves), e.g. `30s`.
    #[arg(long = "for", value_name = "DURATION", default_value = "30s")]
    pub duration: String,
    /// Kill -9 one of its ready replicas (the agent restarts it, as after any crash).
    #[arg(long)]
    pub kill: bool,
    /// Add this much latency to each of its requests, in the proxy, e.g. `200ms`.
    #[arg(long, value_name = "DURATION")]
    pub latency: Option<String>,
    /// Answer this share of its requests with an error in the proxy: `10%`, or `10%:500`
    /// for another status than 503.
    #[arg(long, value_name = "PERCENT[:STATUS]")]
    pub abort: Option<String>,
    /// Close this share of its client connections without an answer, e.g. `5%`.
    #[arg(long, value_name = "PERCENT")]
    pub reset: Option<String>,
    /// Pause its replicas for this share of every 100 ms, as CPU pressure would, e.g. `50%`
    /// (process driver).
    #[arg(long, value_name = "PERCENT")]
    pub cpu: Option<String>,
    /// The local agent.
    #[command(flatten)]
    pub agent: AgentConnArgs,
    /// Print what was injected as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hoist logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Which app.
    #[command(flatten)]
    pub app: AppArgs,
    /// Keep printing new output.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only this replica (its slot, as `status` shows it).
    #[arg(long, value_name = "N")]
    pub replica: Option<u32>,
    /// Lines from the end of each replica's log to start with.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub tail: usize,
    /// Where it runs (this machine, or the hosts: each line prefixed with its host).
    #[command(flatten)]
    pub target: TargetArgs,
    /// The local agent.
    #[command(flatten)]
    pub agent: AgentConnArgs,
}

/// `hoist stop`.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Which app.
    #[command(flatten)]
    pub app: AppArgs,
    /// Where it runs (this machine, or every host of `[hosts]`, or those given with `--host`).
    #[command(flatten)]
    pub target: TargetArgs,
    /// The local agent.
    #[command(flatten)]
    pub agent: AgentConnArgs,
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `hoist agent ACTION` does instead of running the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AgentAction {
    /// Keep the agent running across crashes (and reboots, with systemd).
    Install,
}

/// `hoist agent`.
#[derive(Debug, Args)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each is a command-line flag of its own"
)]
pub struct AgentArgs {
    /// `install`: keep this machine's agent running — a systemd user unit running it
    /// supervised where systemd runs, else the supervisor started in the background. A running
    /// agent is replaced without stopping its replicas (the supervised one adopts them).
    #[arg(value_enum, value_name = "ACTION")]
    pub action: Option<AgentAction>,
    /// Stop the running agent (draining and stopping its replicas) instead of starting one.
    #[arg(long)]
    pub stop: bool,
    /// Run the agent under a supervisor that holds its listening sockets and starts it again
    /// when it dies (a crash, a kill -9): clients wait in the backlog meanwhile instead of
    /// being refused, and the new agent adopts the running replicas. `hoist agent --stop`
    /// stops both.
    #[arg(long, conflicts_with_all = ["stop", "ping"])]
    pub supervise: bool,
    /// Ask whether the agent answers: print its pid and version and exit 0, else exit 1
    /// (what `hoist hosts check` asks on a host).
    #[arg(long, conflicts_with = "stop")]
    pub ping: bool,
    /// Print which of these blobs (`sha256:…`) the agent's store lacks, one per line, and exit
    /// (what hoist asks a host before sending it only the missing ones).
    #[arg(long, value_name = "DIGEST", num_args = 1.., conflicts_with_all = ["stop", "ping"])]
    pub has: Vec<String>,
    /// Store the blob read on stdin (a zstd stream) as `DIGEST NAME` once its sha256 matches,
    /// and exit (how hoist sends a host a binary it lacks).
    #[arg(long, value_names = ["DIGEST", "NAME"], num_args = 2, conflicts_with_all = ["stop", "ping", "has"])]
    pub receive: Vec<String>,
    /// With `--receive`: the stream is a delta against this blob of the store (`sha256:…`).
    #[arg(long, value_name = "DIGEST", requires = "receive")]
    pub base: Option<String>,
    /// The ingress proxy's address.
    #[arg(long, value_name = "ADDR", env = crate::env_vars::HOIST_PROXY_ADDR, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The container engine for `run.driver = "container"` (a `DOCKER_HOST`-style address,
    /// which it overrides); a leading `$HOME` or `$XDG_RUNTIME_DIR` is expanded here, so one
    /// address names each user's own rootless engine (what `hosts.engine` gives each host).
    #[arg(long, value_name = "ADDR")]
    pub engine: Option<String>,
    /// Serve the proxy over TLS too, on this address (HTTP/2 and HTTP/1.1 by ALPN), with a
    /// certificate from `--tls-cert`/`--tls-key` or from ACME (`--acme-domain`).
    #[arg(long, value_name = "ADDR")]
    pub tls_listen: Option<String>,
    /// The certificate chain for `--tls-listen` (PEM).
    #[arg(long, value_name = "FILE", requires_all = ["tls_listen", "tls_key"], conflicts_with = "acme_domain")]
    pub tls_cert: Option<PathBuf>,
    /// Its private key (PEM; read once, never printed).
    #[arg(long, value_name = "FILE", requires_all = ["tls_listen", "tls_cert"])]
    pub tls_key: Option<PathBuf>,
    /// Get the certificate for `--tls-listen` from an ACME CA for this name (repeatable): the
    /// CA validates over HTTP-01 on `--listen`, which must be where the name's port 80 goes.
    /// Renewed by the agent before it expires; kept in the state directory.
    #[arg(long, value_name = "DOMAIN", requires = "tls_listen")]
    pub acme_domain: Vec<String>,
    /// The ACME CA's directory URL.
    #[arg(long, value_name = "URL", requires = "acme_domain", default_value = hoist_runtime::acme::LETS_ENCRYPT)]
    pub acme_directory: String,
    /// A contact address for the ACME account (the CA's expiry notices).
    #[arg(long, value_name = "EMAIL", requires = "acme_domain")]
    pub acme_email: Option<String>,
    /// A PEM root to trust for the ACME CA's own HTTPS (a test CA such as Pebble); default:
    /// the system's roots.
    #[arg(long, value_name = "FILE", requires = "acme_domain")]
    pub acme_ca: Option<PathBuf>,
    /// Answer plain-HTTP requests on `--listen` with a permanent redirect to HTTPS (ACME
    /// challenges excepted).
    #[arg(long, requires = "tls_listen")]
    pub redirect_https: bool,
    /// The admin address (Prometheus metrics at `/metrics`, the dashboard at `/`).
    #[arg(long, value_name = "ADDR", env = crate::env_vars::HOIST_ADMIN_ADDR, default_value = "127.0.0.1:9180")]
    pub admin: String,
    /// The local agent.
    #[command(flatten)]
    pub conn: AgentConnArgs,
}

/// `hoist hosts …`.
#[derive(Debug, Subcommand)]
pub enum HostsCommand {
    /// Check every host at once: reachable, OS/arch, hoist version, agent up, disk free.
    Check(HostsArgs),
    /// Copy this hoist to every host (checksum verified, nothing sent when it is there) and
    /// start its agent; then check as `hoist hosts check` does.
    Setup(HostsArgs),
}

/// Which hosts, and how to reach them.
#[derive(Debug, Args)]
pub struct HostsArgs {
    /// The directory holding hoist.toml (its `[hosts]`).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The environment overlay to apply (`[environments.NAME]`).
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub environment: Option<String>,
    /// Only these hosts (repeatable): a target as `hosts.targets` writes it.
    #[arg(long = "host", value_name = "HOST")]
    pub hosts: Vec<String>,
    /// The ssh config file (`ssh -F`; default ssh's own, `~/.ssh/config`).
    #[arg(long, value_name = "FILE", env = crate::env_vars::HOIST_SSH_CONFIG)]
    pub ssh_config: Option<PathBuf>,
    /// How long a host may take to answer before it is reported unreachable, e.g. `10s`.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_seconds)]
    pub timeout: std::time::Duration,
    /// Print one JSON object per host (an array) on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `10s`, `2m` or a bare number of seconds.
fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let (n, unit) = match s.strip_suffix('s') {
        Some(n) => (n, 1),
        None => match s.strip_suffix('m') {
            Some(n) => (n, 60),
            None => (s, 1),
        },
    };
    n.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(|n| std::time::Duration::from_secs(n * unit))
        .ok_or_else(|| {
            format!("expected whole seconds like `10s` or minutes like `2m`, found `{s}`")
        })
}

/// `hoist diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The directory holding hoist.toml.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The environment overlay to apply (`[environments.NAME]`).
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub environment: Option<String>,
    /// Override one value, like `run.replicas=5` (repeatable; applied after `--env`).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub sets: Vec<String>,
    /// The image, as for `hoist render` (default: the last build of DIR and `--env`).
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// How to reach Kubernetes.
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Print the changes as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hoist init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The Go module's directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The main package to build, e.g. `./cmd/server`, when the module has several.
    #[arg(long, value_name = "PKG")]
    pub main: Option<String>,
}

/// `hoist config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The directory holding hoist.toml.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The environment overlay to apply (`[environments.NAME]`).
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub environment: Option<String>,
    /// Override one value, like `run.replicas=5` (repeatable; applied after `--env`).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub sets: Vec<String>,
    /// Print JSON instead of TOML.
    #[arg(long)]
    pub json: bool,
}

/// `hoist render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The directory holding hoist.toml.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The environment overlay to apply (`[environments.NAME]`).
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub environment: Option<String>,
    /// Override one value, like `run.replicas=5` (repeatable; applied after `--env`).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub sets: Vec<String>,
    /// The image to run: `NAME[:TAG]@sha256:DIGEST`, or only `sha256:DIGEST` (what `hoist
    /// build` prints) to use `image.repository`. Default: the last build of DIR and `--env`.
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// Write one file per object into DIR instead of a YAML stream on stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `hoist dockerfile`.
#[derive(Debug, Args)]
pub struct DockerfileArgs {
    /// The directory holding hoist.toml (the Go module's root, the build context).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Where to write Dockerfile and .dockerignore (default: DIR).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The Go release of the builder image, like `1.26.8` (default: the installed Go's).
    #[arg(long, value_name = "VERSION")]
    pub go_version: Option<String>,
    /// Replace a Dockerfile or .dockerignore that hoist did not write.
    #[arg(long)]
    pub force: bool,
}

/// `hoist build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The directory holding hoist.toml (and, in it or above, go.mod).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The environment overlay to apply (`[environments.NAME]`).
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub environment: Option<String>,
    /// Override one value, like `build.tags=["netgo"]` (repeatable; applied after `--env`).
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub sets: Vec<String>,
    /// Build only these platforms (repeatable), instead of `build.platforms`.
    #[arg(long = "platform", value_name = "OS/ARCH")]
    pub platforms: Vec<String>,
    /// Where to write the image: `oci:DIR` (an OCI image layout) or `docker-archive:FILE`
    /// (one platform, for `docker load`/`podman load`). Repeatable.
    #[arg(long = "output", short = 'o', value_name = "KIND:PATH")]
    pub outputs: Vec<String>,
    /// Load the image into a local engine (its `load` command), tagged `NAME:VERSION` and `NAME:latest`.
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub load: Option<Engine>,
    /// Print a JSON summary on stdout instead of the digest.
    #[arg(long)]
    pub json: bool,
    /// Push the image to `image.repository` (or `--repository`) with the tag policy's tags,
    /// and print the reference pinned by digest instead of the digest.
    #[arg(long)]
    pub push: bool,
    /// Where and how to push (with `--push`).
    #[command(flatten)]
    pub target: PushTargetArgs,
    /// Registry connection settings.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// A local container engine to load images into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// `docker load` (dockerd).
    Docker,
    /// `podman load`.
    Podman,
}

impl Engine {
    /// The command that is run.
    pub fn program(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Podman => "podman",
        }
    }
}

/// Where a push goes and what it is tagged (`hoist push`, `hoist build --push`).
#[derive(Debug, Args)]
pub struct PushTargetArgs {
    /// The repository to push to, instead of `image.repository`.
    #[arg(long, value_name = "REPO", env = crate::env_vars::HOIST_IMAGE_REPOSITORY)]
    pub repository: Option<String>,
    /// An extra tag to write (repeatable), beside the tag policy's.
    #[arg(long = "tag", short = 't', value_name = "TAG")]
    pub tags: Vec<String>,
}

/// How hoist connects to registries.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// A PEM file of extra certificate authorities to trust for registries.
    #[arg(long, value_name = "FILE", env = crate::env_vars::HOIST_REGISTRY_CA_FILE)]
    pub ca_file: Option<PathBuf>,
    /// A registry (`host[:port]`) that may be spoken to over plain http (repeatable);
    /// localhost and 127.0.0.0/8 always may.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
    /// Blob transfers to run at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub jobs: usize,
}

/// `hoist push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The OCI image layout to push (e.g. written by `hoist build --output oci:DIR`).
    pub layout: PathBuf,
    /// The directory holding hoist.toml (for `image.repository` and `image.tags`) and the git
    /// checkout the tag policy looks at.
    #[arg(long = "project", short = 'C', value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
    /// The environment overlay to apply (`[environments.NAME]`).
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub environment: Option<String>,
    /// Where and how to push.
    #[command(flatten)]
    pub target: PushTargetArgs,
    /// Registry connection settings.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Print a JSON summary (digest, references, counters) instead of the reference.
    #[arg(long)]
    pub json: bool,
}

/// `hoist pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The image, e.g. `registry.example.com/group/app:v1` or `…@sha256:…`.
    pub reference: String,
    /// Where to write it: `oci:DIR`.
    #[arg(long, short = 'o', value_name = "oci:DIR")]
    pub output: String,
    /// Pull only these platforms of a multi-platform image (repeatable; default all).
    #[arg(long = "platform", value_name = "OS/ARCH")]
    pub platforms: Vec<String>,
    /// Registry connection settings.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Print a JSON summary instead of the digest.
    #[arg(long)]
    pub json: bool,
}

/// `hoist inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The image, e.g. `registry.example.com/group/app:v1`.
    pub reference: String,
    /// Registry connection settings.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Print JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// `hoist login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The registry, `host[:port]` (`docker.io` for Docker Hub).
    pub registry: String,
    /// The user name.
    #[arg(long, short = 'u')]
    pub username: String,
    /// Read the password (or access token) from stdin; it is never taken as an argument.
    #[arg(long, required = true)]
    pub password_stdin: bool,
    /// Registry connection settings.
    #[command(flatten)]
    pub connection: RegistryArgs,
}

/// `hoist logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The registry, `host[:port]`.
    pub registry: String,
}
