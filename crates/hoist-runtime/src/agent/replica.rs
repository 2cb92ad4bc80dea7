//! One replica as the agent tracks it: its driver handle, probe state, back-off and place in
//! the proxy's rotation.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::RuntimeError;
use crate::backoff::Backoff;
use crate::driver::process::{Exit, ProcessReplica, ProcessSpec};
use crate::logs::LogPolicy;
use crate::probe::{ProbeKind, ReplicaHealth};
use crate::proxy::Backend;

/// A started replica, whichever driver runs it.
pub(crate) enum Handle {
    /// The `process` driver.
    Process(ProcessReplica),
}

#[allow(
    clippy::unnecessary_wraps,
    reason = "one driver knows pids and ports, the other container ids"
)]
impl Handle {
    /// How it ended, if it has.
    pub(crate) fn try_exited(&mut self) -> Option<Exit> {
        match self {
            Self::Process(p) => p.try_exited().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read a replica's status; counting it as exited");
                Some(Exit::UNKNOWN)
            }),
        }
    }

    /// Its pid (process driver).
    pub(crate) fn pid(&self) -> Option<u32> {
        match self {
            Self::Process(p) => Some(p.pid()),
        }
    }

    /// Its container id (container driver).
    #[allow(clippy::unused_self, reason = "the container driver has one")]
    pub(crate) fn container(&self) -> Option<String> {
        None
    }

    /// The port it listens on, on 127.0.0.1.
    pub(crate) fn port(&self) -> u16 {
        match self {
            Self::Process(p) => p.port(),
        }
    }

    /// The process's start ticks (process driver), for adoption.
    pub(crate) fn ticks(&self) -> Option<u64> {
        match self {
            Self::Process(p) => Some(p.start_ticks()),
        }
    }

    /// Ports it listens on, if the driver can tell (process driver).
    pub(crate) fn listening_ports(&self) -> Option<std::collections::BTreeSet<u16>> {
        match self {
            Self::Process(p) => Some(p.listening_ports()),
        }
    }

    /// Stops it (SIGTERM, SIGKILL after `grace`).
    pub(crate) async fn stop(self, grace: Duration) -> Result<(Exit, bool), RuntimeError> {
        match self {
            Self::Process(mut p) => p.stop(grace).await,
        }
    }
}

/// What a replica of one revision runs, for starting (and restarting) it.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    /// The agent's copy of the binary.
    pub(crate) binary: PathBuf,
    /// Its arguments.
    pub(crate) args: Vec<String>,
    /// The app's env plus hoist's markers.
    pub(crate) env: BTreeMap<String, String>,
    /// Where its output goes.
    pub(crate) log: LogPolicy,
}

impl Launch {
    /// Starts one replica on a free port.
    #[allow(
        clippy::unused_async,
        reason = "the container driver's start awaits the engine"
    )]
    pub(crate) async fn start(&self) -> Result<Handle, RuntimeError> {
        let port = crate::driver::free_port()?;
        let spec = ProcessSpec {
            binary: self.binary.clone(),
            args: self.args.clone(),
            env: self.env.clone(),
            port,
            log: self.log.clone(),
        };
        ProcessReplica::start(&spec).map(Handle::Process)
    }
}

/// Where a replica is in its life.
#[allow(
    clippy::large_enum_variant,
    reason = "one per replica; most replicas are running"
)]
pub(crate) enum Phase {
    /// Its start is in flight.
    Starting,
    /// It runs.
    Running(Handle),
    /// It is being stopped to be restarted (a failed liveness or startup probe).
    Restarting,
    /// It crashed and waits to be started again.
    BackOff {
        /// When it is started again.
        until: Instant,
    },
}

/// One replica slot of the app.
pub(crate) struct Replica {
    /// Unique within the app, kept across restarts; names its log file.
    pub(crate) id: u32,
    /// Its revision.
    pub(crate) revision: u64,
    /// Bumped at every (re)start, so results of an earlier incarnation's probes are dropped.
    pub(crate) incarnation: u64,
    pub(crate) phase: Phase,
    /// The port it listens on (0 before its first start).
    pub(crate) port: u16,
    pub(crate) health: ReplicaHealth,
    pub(crate) backoff: Backoff,
    /// In the proxy's rotation when set.
    pub(crate) backend: Option<Arc<Backend>>,
    /// Probes being run now.
    pub(crate) probing: Vec<ProbeKind>,
    /// The last failed probe, exit or start error, for `status`.
    pub(crate) last_error: Option<String>,
    /// Why this replica makes its revision unhealthy (a crash loop, a failed liveness probe,
    /// an app that ignores `$PORT`); fails a rollout at once.
    pub(crate) unhealthy: Option<String>,
    /// It listens on another port than its `$PORT`.
    pub(crate) ignores_port: bool,
    /// When the current incarnation started.
    pub(crate) started: Instant,
    /// When to look next at the ports it listens on.
    pub(crate) next_port_check: Instant,
}

impl Replica {
    /// Whether it is in the proxy's rotation.
    pub(crate) fn ready(&self) -> bool {
        self.backend.is_some()
    }

    /// `starting`, `ready`, `unready`, `restarting`, `crash_loop_back_off`.
    pub(crate) fn state(&self) -> &'static str {
        match &self.phase {
            Phase::Starting => "starting",
            Phase::Running(_) if self.ready() => "ready",
            Phase::Running(_) if !self.health.started() => "starting",
            Phase::Running(_) => "unready",
            Phase::Restarting => "restarting",
            Phase::BackOff { .. } => "crash_loop_back_off",
        }
    }
}

/// A replica leaving for good: drained, then stopped.
pub(crate) struct Terminating {
    pub(crate) id: u32,
    pub(crate) revision: u64,
    pub(crate) incarnation: u64,
    pub(crate) port: u16,
    pub(crate) pid: Option<u32>,
    pub(crate) container: Option<String>,
    pub(crate) since: Instant,
}
