//! The `process` driver: the app's binary run directly, one process group per replica.
//!
//! The replica gets `$PORT` (a free port on 127.0.0.1 chosen by the caller) and the app's
//! environment, and nothing of the agent's stdin. Its stdout and stderr go, merged, into a
//! rotating log. It runs in its own process group, so stopping it also stops anything it
//! started: SIGTERM to the group, then SIGKILL after the grace period.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncRead;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::RuntimeError;
use crate::logs::{LogPolicy, RotatingLog};

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
}

/// A running (or exited) replica process.
pub struct ProcessReplica {
    child: Child,
    pid: u32,
    started: Instant,
    port: u16,
}

impl ProcessReplica {
    /// Starts the replica.
    ///
    /// # Errors
    /// [`RuntimeError::Spawn`] when the binary cannot be run (missing, not executable, another
    /// architecture), [`RuntimeError::Log`] when its log cannot be opened.
    pub async fn start(spec: &ProcessSpec) -> Result<Self, RuntimeError> {
        let log = RotatingLog::open(spec.log.clone()).await?;
        let mut child = Command::new(&spec.binary)
            .args(&spec.args)
            .env_clear()
            .envs(base_env())
            .envs(&spec.env)
            .env("PORT", spec.port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
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
        let (tx, rx) = mpsc::channel::<Vec<u8>>(64);
        if let Some(out) = child.stdout.take() {
            tokio::spawn(forward(out, tx.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(forward(err, tx));
        }
        tokio::spawn(write_log(log, rx));
        Ok(Self {
            child,
            pid,
            started: Instant::now(),
            port: spec.port,
        })
    }

    /// The process id, which is also its process group id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The port it was told to listen on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How long it has been running.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Its exit status if it has exited, without waiting.
    ///
    /// # Errors
    /// [`RuntimeError::Wait`] if the status cannot be read.
    pub fn try_exited(&mut self) -> Result<Option<ExitStatus>, RuntimeError> {
        self.child.try_wait().map_err(|source| RuntimeError::Wait {
            pid: self.pid,
            source,
        })
    }

    /// Waits until it exits.
    ///
    /// # Errors
    /// [`RuntimeError::Wait`] if waiting fails.
    pub async fn exited(&mut self) -> Result<ExitStatus, RuntimeError> {
        self.child
            .wait()
            .await
            .map_err(|source| RuntimeError::Wait {
                pid: self.pid,
                source,
            })
    }

    /// Stops it: SIGTERM to its process group, SIGKILL after `grace` if it is still there.
    /// Returns its exit status and whether it had to be killed.
    ///
    /// # Errors
    /// [`RuntimeError::Signal`] or [`RuntimeError::Wait`].
    pub async fn stop(&mut self, grace: Duration) -> Result<(ExitStatus, bool), RuntimeError> {
        if let Some(status) = self.try_exited()? {
            return Ok((status, false));
        }
        self.signal(Signal::SIGTERM)?;
        if let Ok(status) = tokio::time::timeout(grace, self.exited()).await {
            return Ok((status?, false));
        }
        tracing::debug!(pid = self.pid, "grace period over; sending SIGKILL");
        self.signal(Signal::SIGKILL)?;
        Ok((self.exited().await?, true))
    }

    fn signal(&self, signal: Signal) -> Result<(), RuntimeError> {
        let pgid = i32::try_from(self.pid).unwrap_or(i32::MAX);
        match killpg(Pid::from_raw(pgid), signal) {
            // The group is already gone: it exited between the check and the signal.
            Ok(()) | Err(nix::Error::ESRCH) => Ok(()),
            Err(source) => Err(RuntimeError::Signal { pgid, source }),
        }
    }
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

async fn forward(mut reader: impl AsyncRead + Unpin, tx: mpsc::Sender<Vec<u8>>) {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = reader.read(&mut buf).await {
        if n == 0 || tx.send(buf[..n].to_vec()).await.is_err() {
            break;
        }
    }
}

async fn write_log(mut log: RotatingLog, mut rx: mpsc::Receiver<Vec<u8>>) {
    while let Some(chunk) = rx.recv().await {
        if let Err(e) = log.write(&chunk).await {
            tracing::warn!(error = %e, "replica log write failed");
        }
    }
    log.flush().await;
}
