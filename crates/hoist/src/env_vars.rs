//! Every environment variable hoist itself reads, in one place. Libraries never read the
//! environment: values flow from here through their config structs.
//!
//! Variables read by the tools hoist runs (GOFLAGS, GOCACHE, GOMODCACHE, GOPROXY, DOCKER_HOST,
//! CONTAINERS_CONF, NO_COLOR, …) pass through to them untouched and are documented in the README.

/// Overrides the cache directory (default: the platform cache dir + `/hoist`, e.g.
/// `~/.cache/hoist`). Holds built layers and blobs, content-addressed.
pub const HOIST_CACHE_DIR: &str = "HOIST_CACHE_DIR";

/// Log filter for hoist's own diagnostics on stderr (`debug`, `hoist_gobuild=debug`, …).
pub const HOIST_LOG: &str = "HOIST_LOG";

/// The reproducible-builds convention: seconds since the epoch used as every file's mtime in the
/// app layer and as the image's `created` time. Without it, the commit time of HEAD; outside git, 0.
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";

/// The repository `hoist push` and `hoist build --push` push to, instead of `image.repository`.
pub const HOIST_IMAGE_REPOSITORY: &str = "HOIST_IMAGE_REPOSITORY";

/// With `HOIST_REGISTRY_PASSWORD`: credentials for the registry being pushed to or pulled from,
/// winning over stored ones (for CI). Never printed.
pub const HOIST_REGISTRY_USERNAME: &str = "HOIST_REGISTRY_USERNAME";

/// The password (or access token) for `HOIST_REGISTRY_USERNAME`. Never printed.
pub const HOIST_REGISTRY_PASSWORD: &str = "HOIST_REGISTRY_PASSWORD";

/// A PEM file of extra certificate authorities trusted for registries (as `--ca-file`).
pub const HOIST_REGISTRY_CA_FILE: &str = "HOIST_REGISTRY_CA_FILE";

/// docker's configuration directory: credentials are read from (and `hoist login` writes to)
/// `$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`.
pub const DOCKER_CONFIG: &str = "DOCKER_CONFIG";

/// podman's credential file, read before docker's; default
/// `$XDG_RUNTIME_DIR/containers/auth.json`.
pub const REGISTRY_AUTH_FILE: &str = "REGISTRY_AUTH_FILE";

/// Where podman keeps `containers/auth.json` when `REGISTRY_AUTH_FILE` is unset.
pub const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";

/// The local agent's state directory: its store (`hoist.db`), socket (`agent.sock`), replica
/// logs and deployed artifacts. Default: `$XDG_STATE_HOME/hoist`, else `~/.local/state/hoist`.
pub const HOIST_STATE_DIR: &str = "HOIST_STATE_DIR";

/// The address of the local agent's ingress proxy (default `127.0.0.1:8080`), used when
/// `hoist agent` (or `hoist deploy`, starting the agent) runs.
pub const HOIST_PROXY_ADDR: &str = "HOIST_PROXY_ADDR";

/// The local agent's admin address, serving Prometheus metrics at `/metrics` and the
/// read-only dashboard at `/` (default `127.0.0.1:9180`).
pub const HOIST_ADMIN_ADDR: &str = "HOIST_ADMIN_ADDR";

/// The ssh config file `hoist hosts` passes to `ssh -F` (default: ssh's own, `~/.ssh/config`).
pub const HOIST_SSH_CONFIG: &str = "HOIST_SSH_CONFIG";

/// The `ssh` program `hoist hosts` runs (default `ssh` from `PATH`): the user's own OpenSSH.
pub const HOIST_SSH: &str = "HOIST_SSH";

/// A directory of hoist builds for hosts of another platform (`hoist-linux-arm64`, …), which
/// `hoist deploy --target hosts` copies to such hosts; without it, the running hoist's own
/// directory is searched.
pub const HOIST_BINARIES: &str = "HOIST_BINARIES";

/// The Docker Engine API the `container` driver talks to (`unix:///var/run/docker.sock` by
/// default; podman's service is e.g. `unix:///run/podman/podman.sock`). Read by the agent.
pub const DOCKER_HOST: &str = "DOCKER_HOST";

/// The kubeconfig file(s) for `--target kubernetes` (`:`-separated), default `~/.kube/config`.
pub const KUBECONFIG: &str = "KUBECONFIG";

/// Reads a variable, treating empty as unset.
pub fn get(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
