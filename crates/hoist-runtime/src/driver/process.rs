//! The `process` driver: the app's binary run directly, one process group per replica.
//!
//! The replica gets `$PORT` (a free port on 127.0.0.1 chosen by the caller) and the app's
//! environment, and nothing of the agent's stdin. Its stdout and stderr go straight into its
//! log file (opened for appending), not through a pipe to the agent: a replica must outlive an
//! agent that is killed, and a Go program writing to a pipe whose reader died is killed by
//! SIGPIPE. The agent rotates the file by copying and truncating it ([`crate::logs::rotate_copy_truncate`]).
//!
//! It runs in its own process group, so stopping it also stops anything it started: SIGTERM to
//! the group, then SIGKILL after the grace period. A restarted agent *adopts* the replicas of
//! its predecessor by pid, checking the process start time so a reused pid is never mistaken
//! for a replica.

use std::collections::BTreeMap;
use std::fmt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use tokio::process::{Child, Command};

use super::procfs;
use crate::RuntimeError;
use crate::logs::LogPolicy;

/// What one replica runs.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// The binary built for this machine's platform.
    pub binary: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// The app's environment; `PORT` is added.
    pub env: BTreeMap<String, String>,
    /// The port the replica must listen on, given as `$PORT`.
    pub port: u16,
    /// Where its output goes.
    pub log: LogPolicy,
    /// Its working directory (`None`: the agent's).
    pub dir: Option<PathBuf>,
}

/// How a replica ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    /// Its exit status, if it exited by itself and the agent saw it.
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
}

impl Exit {
    /// An exit the agent could not observe (a replica adopted after an agent restart).
    pub const UNKNOWN: Self = Self {
        code: None,
        signal: None,
    };

    /// Whether it exited with status 0.
    pub fn success(self) -> bool {
        self.code == Some(0)
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code, self.signal) {
            (Some(c), _) => write!(f, "exited with status {c}"),
            (None, Some(s)) => {
                let name = Signal::try_from(s).map_or_else(|_| s.to_string(), |s| s.to_string());
                write!(f, "ended by {name}")
            }
            (None, None) => f.write_str("exited"),
        }
    }
}

impl From<std::process::ExitStatus> for Exit {
    fn from(s: std::process::ExitStatus) -> Self {
        Self {
            code: s.code(),
            signal: s.signal(),
        }
    }
}

/// A running (or exited) replica process.
pub struct ProcessReplica {
    /// `None` for a replica adopted from an earlier agent: not our child, so it is watched
    /// through `/proc` instead of `wait`.
    child: Option<Child>,
    pid: u32,
    ticks: u64,
    started: Instant,
    port: u16,
    exit: Option<Exit>,
}

impl ProcessReplica {
    /// Starts the replica.
    ///
    /// # Errors
    /// [`RuntimeError::Spawn`] when the binary cannot be run (missing, not executable, another
    /// architecture), [`RuntimeError::Log`] when its log cannot be opened.
    pub fn start(spec: &ProcessSpec) -> Result<Self, RuntimeError> {
        let log = open_log(&spec.log)?;
        let log_err = log.try_clone().map_err(|source| RuntimeError::Log {
            path: spec.log.path.clone(),
            source,
        })?;
        let port = spec.port.to_string();
        // `$(PORT)` and `$(NAME)` of the app's env, as the kubelet expands a container's args.
        let args = spec.args.iter().map(|a| {
            hoist_core::expand::expand(a, |name| match name {
                "PORT" => Some(port.clone()),
                _ => spec.env.get(name).cloned(),
            })
        });
        let mut command = Command::new(&spec.binary);
        if let Some(dir) = &spec.dir {
            command.current_dir(dir);
        }
        let child = command
            .args(args)
            .env_clear()
            .envs(base_env())
            .envs(&spec.env)
            .env("PORT", &port)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            // Its own group: signals reach its children too, and a Ctrl-C in the agent's
            // terminal does not reach the replicas.
            .process_group(0)
            .kill_on_drop(false)
            .spawn()
            .map_err(|source| RuntimeError::Spawn {
                binary: spec.binary.clone(),
                source,
            })?;
        let pid = child.id().unwrap_or_default();
        Ok(Self {
            ticks: procfs::start_ticks(pid).unwrap_or_default(),
            child: Some(child),
            pid,
            started: Instant::now(),
            port: spec.port,
            exit: None,
        })
    }

    /// A replica an earlier agent started, if `pid` is still that process (`ticks`, from
    /// [`Self::start_ticks`], must match) and has not exited.
    pub fn adopt(pid: u32, ticks: u64, port: u16, uptime: Duration) -> Option<Self> {
        procfs::is_alive(pid, ticks).then(|| Self {
            child: None,
            pid,
            ticks,
            started: Instant::now()
                .checked_sub(uptime)
                .unwrap_or_else(Instant::now),
            port,
            exit: None,
        })
    }

    /// The process id, which is also its process group id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The process's start time in clock ticks since boot; with the pid, it tells this process
    /// from a later one that reuses the pid.
    pub fn start_ticks(&self) -> u64 {
        self.ticks
    }

    /// The port it was told to listen on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How long it has been running.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// TCP ports the process listens on now (to tell an app that ignores `$PORT`).
    pub fn listening_ports(&self) -> std::collections::BTreeSet<u16> {
        procfs::listening_ports(self.pid)
    }

    /// How it ended, if it has, without waiting.
    ///
    /// # Errors
    /// [`RuntimeError::Wait`] if the status cannot be read.
    pub fn try_exited(&mut self) -> Result<Option<Exit>, RuntimeError> {
        if self.exit.is_some() {
            return Ok(self.exit);
        }
        self.exit = match &mut self.child {
            Some(child) => child
                .try_wait()
                .map_err(|source| RuntimeError::Wait {
                    pid: self.pid,
                    source,
                })?
                .map(Exit::from),
            None => (!procfs::is_alive(self.pid, self.ticks)).then_some(Exit::UNKNOWN),
        };
        Ok(self.exit)
    }

    /// Waits until it exits.
    ///
    /// # Errors
    /// [`RuntimeError::Wait`] if waiting fails.
    pub async fn exited(&mut self) -> Result<Exit, RuntimeError> {
        loop {
            if let Some(child) = &mut self.child {
                let status = child.wait().await.map_err(|source| RuntimeError::Wait {
                    pid: self.pid,
                    source,
                })?;
                self.exit = Some(status.into());
            }
            if let Some(exit) = self.try_exited()? {
                return Ok(exit);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops it: SIGTERM to its process group, SIGKILL after `grace` if it is still there.
    /// Returns how it ended and whether it had to be killed.
    ///
    /// # Errors
    /// [`RuntimeError::Signal`] or [`RuntimeError::Wait`].
    pub async fn stop(&mut self, grace: Duration) -> Result<(Exit, bool), RuntimeError> {
        if let Some(exit) = self.try_exited()? {
            // The leader is gone; anything it left in its group goes too. (Only for our own
            // child: Linux reuses no pid while a group of that id exists, but an adopted
            // replica's group may be long gone and its number taken.)
            if self.child.is_some() {
                self.signal(Signal::SIGKILL)?;
            }
            return Ok((exit, false));
        }
        self.signal(Signal::SIGTERM)?;
        if let Ok(exit) = tokio::time::timeout(grace, self.exited()).await {
            let exit = exit?;
            self.signal(Signal::SIGKILL)?;
            return Ok((exit, false));
        }
        tracing::debug!(pid = self.pid, "grace period over; sending SIGKILL");
        self.signal(Signal::SIGKILL)?;
        Ok((self.exited().await?, true))
    }

    fn signal(&self, signal: Signal) -> Result<(), RuntimeError> {
        kill_group(self.pid, signal)
    }
}

/// Signals the process group `pgid` (a replica and everything it started); a group that is
/// already gone is not an error.
pub(crate) fn kill_group(pgid: u32, signal: Signal) -> Result<(), RuntimeError> {
    let pgid = i32::try_from(pgid).unwrap_or(i32::MAX);
    match killpg(Pid::from_raw(pgid), signal) {
        Ok(()) | Err(nix::Error::ESRCH) => Ok(()),
        Err(source) => Err(RuntimeError::Signal { pgid, source }),
    }
}

fn open_log(policy: &LogPolicy) -> Result<std::fs::File, RuntimeError> {
    let err = |source| RuntimeError::Log {
        path: policy.path.clone(),
        source,
    };
    if let Some(dir) = policy.path.parent() {
        crate::private::create_dir(dir).map_err(err)?;
    }
    crate::private::append(&policy.path).map_err(err)
}

/// The few variables a process expects from any environment; the app's own come on top.
fn base_env() -> Vec<(&'static str, String)> {
    let mut env = vec![("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned())];
    for key in ["HOME", "TZ", "LANG", "SSL_CERT_FILE", "SSL_CERT_DIR"] {
        if let Ok(v) = std::env::var(key) {
            env.push((key, v));
        }
    }
    env
}
