//! The `container` driver: each replica is a container, run through the Docker Engine API that
//! dockerd and `podman system service` both serve.
//!
//! Why containers beside processes: each replica gets its own network namespace, so an app that
//! listens on a fixed port still runs side by side with itself; the image hoist built is what
//! runs, the same one a cluster would run.
//!
//! What the driver does: connects to an engine and negotiates the API version (podman 4 speaks
//! 1.41), loads `docker save` archives or pulls images, creates and starts replica containers
//! with the app's port published on 127.0.0.1 only, `$PORT` set, explicit ulimits, no
//! restart policy (the agent restarts replicas itself, with back-off) and no auto-remove (the
//! agent reads the exit code), copies each replica's stdout and stderr into the same rotating
//! log file the `process` driver writes, runs exec probes, and stops replicas with SIGTERM, then
//! SIGKILL after the grace period, then removes them. Every container carries
//! [`MANAGED_LABEL`] and the caller's labels, so an agent that restarts after a crash can
//! [`Engine::adopt`] its replicas or [`Engine::list_labelled`] and [`Engine::remove`] orphans.
//!
//! What it does not do: build images (that is `hoist-image`), choose ports (the caller does, or
//! lets the engine), restart or probe on a schedule (the agent does, with the state machines of
//! [`crate::probe`] and [`crate::backoff`]), or limit CPU and memory (not yet).

mod body;
mod engine;
mod error;
mod follow;
mod replica;
mod retry;

use std::collections::BTreeMap;

pub use engine::Engine;
pub use error::{ContainerError, EngineCause};
pub use replica::{ContainerReplica, UNKNOWN_EXIT_CODE};

/// The address used when none is given: dockerd's usual socket.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The label every container the driver starts carries (value `true`), besides the caller's,
/// so hoist's containers can be told from others even by a caller that labels nothing.
pub const MANAGED_LABEL: &str = "dev.hoist.managed";

/// The `nofile` limit (soft and hard) of every replica: far above what one Go service needs,
/// and explicit, so the replica does not depend on the engine's defaults (see [`NPROC_LIMIT`]).
pub const NOFILE_LIMIT: i64 = 20_000;

/// The `nproc` limit (soft and hard) of every replica; it counts threads too. Given explicitly
/// because podman's API, once a request names any ulimit, drops containers.conf's
/// `default_ulimits` and sets `nproc` to 1048576, which runc cannot set above the service's own
/// hard limit (32768 here): the start fails with "error setting rlimit type 6".
pub const NPROC_LIMIT: i64 = 20_000;

/// What one replica container runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// The image: as [`Engine::load_archive`] returned it, or a reference [`Engine::pull`]ed.
    pub image: String,
    /// The container's name, unique in the engine; the caller chooses it.
    pub name: String,
    /// The app's environment; the driver adds `PORT=<container_port>`, which wins.
    pub env: BTreeMap<String, String>,
    /// The port the app listens on inside the container (given to it as `$PORT`).
    pub container_port: u16,
    /// The arguments after the image's entrypoint, `$(VAR)`s expanded by the driver as the
    /// kubelet does; empty keeps the image's own `Cmd`.
    pub args: Vec<String>,
    /// A named volume of the engine and where it is mounted (`run.state`): it outlives the
    /// container, so the next replica finds what this one wrote.
    pub volume: Option<(String, String)>,
    /// The port published on 127.0.0.1 for it; 0 lets the engine pick one, which
    /// [`ContainerReplica::host_port`] then reports.
    pub host_port: u16,
    /// Labels on the container, e.g. app and revision, for adoption and orphan clean-up.
    pub labels: BTreeMap<String, String>,
    /// Where the replica's stdout and stderr go.
    pub log: crate::logs::LogPolicy,
}

/// One container found by [`Engine::list_labelled`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Its id.
    pub id: String,
    /// Its name, without the leading `/` the engines add.
    pub name: String,
    /// All its labels.
    pub labels: BTreeMap<String, String>,
    /// Whether it is running now.
    pub running: bool,
}
