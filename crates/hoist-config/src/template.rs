//! The commented `hoist.toml` that `hoist init` writes.

use crate::print::quote;

/// What `hoist init` knows about the project when it writes `hoist.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitParams {
    /// The app name; make it with [`app_name_from`](crate::app_name_from) so it is valid.
    pub name: String,
    /// The Go package with `func main`: `.` or `./cmd/server`.
    pub main: String,
    /// The port the service listens on.
    pub port: u16,
    /// `app.args`, like `["--web.listen-address=:$(PORT)"]` for a service that takes its
    /// address from a flag.
    pub args: Vec<String>,
    /// One line saying where `port` and `args` were read from (`main.go:60: …`), written as a
    /// comment above them; `None` for the defaults.
    pub found: Option<String>,
    /// Platforms to build, like `linux/amd64`; empty means `["linux/amd64"]`.
    pub platforms: Vec<String>,
}

/// The template; `@NAME@`, `@MAIN@`, `@PORT@`, `@ARGS@` and `@PLATFORMS@` are replaced by TOML
/// values, `@FOUND@` by a comment line or nothing.
///
/// Explanations start with a capital letter or a quote; commented-out examples are TOML, so a
/// test can uncomment them all and load the result.
const TEMPLATE: &str = r#"# How hoist builds, ships and runs this service.
# Every key, its default and its allowed values: docs/config.md in hoist's repository (`hoist docs config`).
# See the merged result with `hoist config` (add `--env NAME` for an environment).

[app]
# The app's name: lowercase letters, digits and '-'. It names the binary, image and Kubernetes objects.
name = @NAME@
# The Go package with `func main`, relative to this file's directory.
main = @MAIN@
# The port the service listens on; probes and the Service use it.
@FOUND@port = @PORT@
# Arguments passed to the binary when it starts, like ["--listen=:$(PORT)"].
# Kubernetes-style $(NAME) is expanded: $(PORT) is the port to listen on, others come from run.env.
args = @ARGS@

[build]
# Platforms to build, "os/arch" or "os/arch/variant"; this machine's by default.
# Several make a multi-platform image, like ["linux/amd64", "linux/arm64"] (each one is compiled).
platforms = @PLATFORMS@
# The base image: "static" (CA certificates, nonroot user, /tmp), "scratch", or an image reference.
base = "static"
# Go build tags, passed to `go build -tags`.
tags = []
# Extra linker flags, appended after hoist's own `-s -w -X …`.
ldflags = []
# The Go variable hoist sets to the version (with -X).
version_var = "main.version"
# The Go variable hoist sets to the full commit hash (with -X).
commit_var = "main.commit"
# Static binaries by default (CGO_ENABLED=0). A program that needs cgo (go-sqlite3) sets
# `cgo = true`: built for this machine's platform, its shared libraries put into the image.
# Extra environment for `go build`, like GOEXPERIMENT or GOAMD64.
# env = { GOAMD64 = "v3" }

# Where `hoist push` sends the image and how it is tagged. Without a repository, hoist only builds.
# [image]
# The repository to push to (lowercase, no tag).
# repository = "registry.example.com/group/@BARE_NAME@"
# Tags to write: "latest" (default branch), "sha" (sha-<commit>), "semver" (vX.Y.Z from a git tag).
# tags = ["latest", "sha", "semver"]
# Extra OCI labels on the image.
# labels = { "org.opencontainers.image.vendor" = "Example Inc." }
# The source repository URL (default: git's `origin` remote).
# source = "https://github.com/example/@BARE_NAME@"

[run]
# How many replicas run.
replicas = 1
# How `hoist deploy` runs replicas on this machine: "process" (the binary, told its port in $PORT)
# or "container" (the image, in dockerd or podman; for apps that listen on a fixed port).
driver = "process"
# Time a replica gets to stop after SIGTERM before it is killed.
termination_grace = "30s"
# Environment variables of the running service.
# env = { LOG_LEVEL = "info" }
# Rolling updates: extra and missing replicas allowed (a count or "25%"), and the time to get ready.
# rollout = { max_surge = 1, max_unavailable = 0, deadline = "60s" }
# CPU ("250m" or "0.5" cores) and memory ("128Mi") each replica requests.
# resources = { cpu = "250m", memory = "128Mi" }
# Scale between min and max replicas to hold average CPU at cpu_percent of the request.
# autoscale = { min = 2, max = 10, cpu_percent = 70 }
# Route HTTP for a host and path prefix to the service.
# ingress = { host = "@BARE_NAME@.example.com", path = "/" }
# A directory the app writes (a SQLite database, uploads) that survives restarts and updates.
# The app finds it in $STATE_DIR. One writer (the default) means one replica; updates stop it first.
# See the reference for writers = "many" and update = "overlap".
# state = "/data"

# Health probes: these keys set both the readiness and the liveness probe.
# [run.health]
# An HTTP GET on the app's port; use `tcp = true` or `exec = ["cmd", "arg"]` for other checks.
# path = "/healthz"
# Time between checks.
# period = "10s"
# Time one check may take.
# timeout = "1s"
# Failures in a row before a replica counts as unready (readiness) or is restarted (liveness).
# failure_threshold = 3

# The same keys in [run.health.readiness], .liveness or .startup override one probe.
# [run.health.startup]
# Startup is only set when given: allow up to 30 x 10s for a slow start before liveness begins.
# failure_threshold = 30

# Deploy to Kubernetes instead of this machine (usually only in an environment's overlay).
# [kubernetes]
# The kubeconfig contexts to deploy to; several make a fleet, each rolled out and judged apart.
# contexts = ["prod-eu", "prod-us"]
# The namespace (default: the context's own, else "default").
# namespace = "@BARE_NAME@"

# Plain settings rendered into the app's ConfigMap.
# [config]
# One entry per setting or file name; values are strings.
# "feature.flags" = "beta=false"

# Environments: `hoist deploy --env NAME` lays these over the settings above, key by key.
# [environments.dev]
# Fewer replicas while developing.
# run.replicas = 1
# run.env = { LOG_LEVEL = "debug" }

# [environments.prod]
# More replicas and only immutable tags in production.
# run.replicas = 3
# image.tags = ["semver", "sha"]
"#;

/// A commented `hoist.toml` for `hoist init`: the `[app]`, `[build]` and `[run]` keys with
/// their defaults, and commented-out examples of `[image]`, the optional `[run]` settings
/// (health, rollout, resources, autoscale, ingress), `[config]` and two environments.
///
/// The result loads with [`load_str`](crate::load_str) when `p.name` is a valid app name and
/// `p.main` a valid package path.
pub fn init_template(p: &InitParams) -> String {
    let platforms = if p.platforms.is_empty() {
        vec!["linux/amd64".to_owned()]
    } else {
        p.platforms.clone()
    };
    let platforms: Vec<String> = platforms.iter().map(|s| quote(s)).collect();
    let args: Vec<String> = p.args.iter().map(|s| quote(s)).collect();
    let found = p.found.as_ref().map_or_else(String::new, |f| {
        format!("# Found in {}\n", f.replace('\n', " "))
    });
    TEMPLATE
        .replace("@FOUND@", &found)
        .replace("@ARGS@", &format!("[{}]", args.join(", ")))
        .replace("@NAME@", &quote(&p.name))
        .replace("@BARE_NAME@", &p.name)
        .replace("@MAIN@", &quote(&p.main))
        .replace("@PORT@", &p.port.to_string())
        .replace("@PLATFORMS@", &format!("[{}]", platforms.join(", ")))
}
