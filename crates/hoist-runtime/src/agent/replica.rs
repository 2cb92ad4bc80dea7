//! One replica as the agent tracks it: its driver handle, probe state, back-off and place in
//! the proxy's rotation.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::RuntimeError;
use crate::backoff::Backoff;
use crate::driver::container::{ContainerReplica, ContainerSpec};
use crate::driver::process::{Exit, ProcessReplica, ProcessSpec};
use crate::logs::LogPolicy;
use crate::probe::{ProbeKind, ReplicaHealth};
use crate::proxy::Backend;

/// A started replica, whichever driver runs it.
#[allow(
    clippy::large_enum_variant,
    reason = "one per replica, moved rarely (start and stop)"
)]
pub(crate) enum Handle {
    /// The `process` driver.
    Process(ProcessReplica),
    /// The `container` driver; its exit is watched by a task of its own (asking the engine is
    /// an HTTP request, too slow for every tick).
    Container {
        replica: Arc<ContainerReplica>,
        exit: Arc<OnceLock<Exit>>,
    },
}

/// How long a replica is ready before a rollout counts it. A replica that passes its first
/// probe 10 ms after its start and crashes 50 ms after it (a bad config read late, a panic in
/// the first request) would otherwise let a fast local rollout retire the old replicas it
/// replaces; a crash within this time keeps the old ones serving, and the crash loop rolls the
/// revision back. It costs a rollout this long per step, not the time to serve: the replica is
/// in the proxy's rotation as soon as it is ready.
pub(crate) const MIN_READY: Duration = Duration::from_millis(100);

/// How often a container's state is asked for.
const CONTAINER_WATCH: Duration = Duration::from_millis(200);

impl Handle {
    /// A container replica, with a task that notes its exit.
    pub(crate) fn container(replica: ContainerReplica) -> Self {
        let replica = Arc::new(replica);
        let exit = Arc::new(OnceLock::new());
        let (r, e) = (Arc::downgrade(&replica), Arc::clone(&exit));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(CONTAINER_WATCH).await;
                // The handle is gone (stopped): nothing to watch.
                let Some(r) = r.upgrade() else { return };
                match r.try_exited().await {
                    Ok(Some(code)) => {
                        let _ = e.set(container_exit(code));
                        return;
                    }
                    Ok(None) => {}
                    Err(err) => {
                        tracing::debug!(error = %err, "cannot ask the engine about a replica");
                    }
                }
            }
        });
        Self::Container { replica, exit }
    }

    /// How it ended, if it has.
    pub(crate) fn try_exited(&mut self) -> Option<Exit> {
        match self {
            Self::Process(p) => p.try_exited().unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read a replica's status; counting it as exited");
                Some(Exit::UNKNOWN)
            }),
            Self::Container { exit, .. } => exit.get().copied(),
        }
    }

    /// Records an exit seen elsewhere (a probe that found the container gone); true when the
    /// handle is a container.
    pub(crate) fn note_exit(&self, e: Exit) -> bool {
        match self {
            Self::Process(_) => false,
            Self::Container { exit, .. } => {
                let _ = exit.set(e);
                true
            }
        }
    }

    /// Its pid (process driver).
    pub(crate) fn pid(&self) -> Option<u32> {
        match self {
            Self::Process(p) => Some(p.pid()),
            Self::Container { .. } => None,
        }
    }

    /// Its container id (container driver).
    pub(crate) fn container_id(&self) -> Option<String> {
        match self {
            Self::Process(_) => None,
            Self::Container { replica, .. } => Some(replica.id().to_owned()),
        }
    }

    /// The port it listens on, on 127.0.0.1.
    pub(crate) fn port(&self) -> u16 {
        match self {
            Self::Process(p) => p.port(),
            Self::Container { replica, .. } => replica.host_port(),
        }
    }

    /// The process's start ticks (process driver), for adoption.
    pub(crate) fn ticks(&self) -> Option<u64> {
        match self {
            Self::Process(p) => Some(p.start_ticks()),
            Self::Container { .. } => None,
        }
    }

    /// Ports it listens on, if the driver can tell (process driver).
    pub(crate) fn listening_ports(&self) -> Option<std::collections::BTreeSet<u16>> {
        match self {
            Self::Process(p) => Some(p.listening_ports()),
            Self::Container { .. } => None,
        }
    }

    /// Stops it (SIGTERM, SIGKILL after `grace`).
    pub(crate) async fn stop(self, grace: Duration) -> Result<(Exit, bool), RuntimeError> {
        match self {
            Self::Process(mut p) => p.stop(grace).await,
            Self::Container { replica, .. } => replica
                .stop(grace)
                .await
                .map(|(code, killed)| (container_exit(code), killed))
                .map_err(|e| RuntimeError::Engine(crate::report_chain(&e))),
        }
    }
}

/// A container's exit code as an [`Exit`] (128 + n is signal n, as shells and engines say).
pub(crate) fn container_exit(code: i64) -> Exit {
    match code {
        c if c > 128 && c < 160 => Exit {
            code: None,
            signal: i32::try_from(c - 128).ok(),
        },
        c if c < 0 => Exit::UNKNOWN,
        c => Exit {
            code: i32::try_from(c).ok(),
            signal: None,
        },
    }
}

/// What a replica of one revision runs, for starting (and restarting) it.
#[derive(Clone)]
pub(crate) struct Launch {
    /// The binary (process driver) or the image (container driver).
    pub(crate) runs: Runs,
    /// The app's env plus hoist's markers.
    pub(crate) env: BTreeMap<String, String>,
    /// Where its output goes.
    pub(crate) log: LogPolicy,
}

/// Where a process replica with `run.state` lives: the root of its files, its binary's name,
/// and its state directory (below the root).
#[derive(Clone)]
pub(crate) struct StateRoot {
    pub(crate) root: PathBuf,
    pub(crate) name: String,
    pub(crate) state: PathBuf,
}

/// What a replica runs.
#[derive(Clone)]
pub(crate) enum Runs {
    /// A binary with arguments; with `run.state`, placed at `root/app/<name>` and run there,
    /// beside its state (see [`place_binary`]).
    Binary {
        binary: PathBuf,
        args: Vec<String>,
        root: Option<StateRoot>,
        /// The working directory without `run.state`: the app's own scratch directory, never
        /// the agent's (an app that writes a file there writes it where hoist keeps app files).
        workdir: PathBuf,
    },
    /// An image in the agent's engine.
    Image {
        ctx: Arc<super::context::Ctx>,
        image: String,
        container_port: u16,
        args: Vec<String>,
        name: String,
        labels: BTreeMap<String, String>,
        /// `run.state`: the engine volume and where it is mounted.
        volume: Option<(String, String)>,
    },
}

impl Launch {
    /// Starts one replica on a free port.
    pub(crate) async fn start(&self) -> Result<Handle, RuntimeError> {
        match &self.runs {
            Runs::Binary {
                binary,
                args,
                root,
                workdir,
            } => {
                let spawn = |source| RuntimeError::Spawn {
                    binary: binary.clone(),
                    source,
                };
                let (binary, dir) = if let Some(r) = root {
                    place_binary(binary, r).map_err(spawn)?
                } else {
                    crate::private::create_dir(workdir).map_err(spawn)?;
                    (binary.clone(), workdir.clone())
                };
                let spec = ProcessSpec {
                    binary,
                    args: args.clone(),
                    env: self.env.clone(),
                    port: crate::driver::free_port()?,
                    log: self.log.clone(),
                    dir: Some(dir),
                };
                ProcessReplica::start(&spec).map(Handle::Process)
            }
            Runs::Image {
                ctx,
                image,
                container_port,
                args,
                name,
                labels,
                volume,
            } => {
                let engine = ctx
                    .engine()
                    .await
                    .map_err(|e| RuntimeError::Engine(crate::report_chain(&e)))?;
                // The engine binds the host port itself; another socket may take the port
                // between our check and its bind, so a start that lost that race gets a new one.
                let mut attempt = 1;
                loop {
                    let spec = ContainerSpec {
                        image: image.clone(),
                        name: name.clone(),
                        env: self.env.clone(),
                        container_port: *container_port,
                        args: args.clone(),
                        volume: volume.clone(),
                        host_port: crate::driver::free_port()?,
                        labels: labels.clone(),
                        log: self.log.clone(),
                    };
                    match engine.start(&spec).await {
                        Ok(c) => return Ok(Handle::container(c)),
                        Err(e) => {
                            let report = crate::report_chain(&e);
                            if attempt < PORT_RACE_ATTEMPTS
                                && report.contains("address already in use")
                            {
                                attempt += 1;
                                continue;
                            }
                            return Err(RuntimeError::Engine(report));
                        }
                    }
                }
            }
        }
    }
}

/// With `run.state`, a process replica runs as it would in its image: its binary at
/// `root/app/<name>` and `root/app` its working directory, with the state directory in the same
/// tree (`root/data`, or `root/app/pb_data` for an app that writes next to its binary). The
/// binary is hard-linked from the agent's artifacts (copied across filesystems) and renamed into
/// place, so a replica of the revision before, still running, keeps its own.
pub(crate) fn place_binary(
    binary: &std::path::Path,
    at: &StateRoot,
) -> std::io::Result<(PathBuf, PathBuf)> {
    let app_dir = at.root.join("app");
    crate::private::create_dir(&app_dir)?;
    crate::private::create_dir(&at.state)?;
    let dest = app_dir.join(&at.name);
    let tmp = app_dir.join(format!(".{}.{}", at.name, std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(binary, &tmp).is_err() {
        std::fs::copy(binary, &tmp)?;
    }
    std::fs::rename(&tmp, &dest)?;
    Ok((dest, app_dir))
}

/// Starts of a container tried before a lost race for its host port is reported.
const PORT_RACE_ATTEMPTS: u32 = 4;

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
    /// The last result of each probe, passed or failed (`GET /healthz → 404 Not Found`), for
    /// the report of a failed rollout.
    pub(crate) probe_results: ProbeResults,
    /// How its last incarnation ended, if one did.
    pub(crate) last_exit: Option<Exit>,
    /// Why this replica makes its revision unhealthy (a crash loop, a failed liveness probe,
    /// an app that ignores `$PORT`); fails a rollout at once.
    pub(crate) unhealthy: Option<String>,
    /// It listens on another port than its `$PORT`.
    pub(crate) ignores_port: bool,
    /// When the current incarnation started.
    pub(crate) started: Instant,
    /// When to look next at the ports it listens on.
    pub(crate) next_port_check: Instant,
    /// When it last entered the proxy's rotation.
    pub(crate) ready_since: Option<Instant>,
}

impl Replica {
    /// Whether it is in the proxy's rotation.
    pub(crate) fn ready(&self) -> bool {
        self.backend.is_some()
    }

    /// Whether it has been ready for [`MIN_READY`] without a break: only then does it count as
    /// progress of a rollout (an old replica is retired for it), while it serves as soon as it
    /// is ready. Kubernetes' `minReadySeconds`, for the same reason.
    pub(crate) fn available(&self, now: Instant) -> bool {
        self.ready()
            && self
                .ready_since
                .is_some_and(|since| now.saturating_duration_since(since) >= MIN_READY)
    }

    /// When it becomes available if it stays ready, while it is ready and not yet available.
    pub(crate) fn available_at(&self, now: Instant) -> Option<Instant> {
        let at = self.ready_since.filter(|_| self.ready())? + MIN_READY;
        (at > now).then_some(at)
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

/// The last result of each of a replica's probes.
#[derive(Debug, Default, Clone)]
pub(crate) struct ProbeResults {
    /// `(kind, passed, what was seen)`, one entry per kind, startup first.
    results: Vec<(ProbeKind, bool, String)>,
}

impl ProbeResults {
    /// Records the latest result of `kind`.
    pub(crate) fn record(&mut self, kind: ProbeKind, passed: bool, seen: String) {
        self.results.retain(|(k, _, _)| *k != kind);
        self.results.push((kind, passed, seen));
        self.results.sort_by_key(|(k, _, _)| match k {
            ProbeKind::Startup => 0,
            ProbeKind::Readiness => 1,
            ProbeKind::Liveness => 2,
        });
    }

    /// What tells why a replica is not ready: its failing probes (`readiness GET /healthz →
    /// 404 Not Found`), else its readiness result, else any; `None` before any probe ran.
    pub(crate) fn telling(&self) -> Option<String> {
        let name = |k: &ProbeKind| match k {
            ProbeKind::Startup => "startup",
            ProbeKind::Readiness => "readiness",
            ProbeKind::Liveness => "liveness",
        };
        let failing: Vec<String> = self
            .results
            .iter()
            .filter(|(_, passed, _)| !passed)
            .map(|(k, _, seen)| format!("{} {seen}", name(k)))
            .collect();
        if !failing.is_empty() {
            return Some(failing.join("; "));
        }
        self.results
            .iter()
            .find(|(k, _, _)| *k == ProbeKind::Readiness)
            .or(self.results.first())
            .map(|(k, _, seen)| format!("{} {seen}", name(k)))
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
    /// Its grace period: SIGKILL comes this long after SIGTERM.
    pub(crate) grace: Duration,
}
