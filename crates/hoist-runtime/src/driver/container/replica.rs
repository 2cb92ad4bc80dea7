//! One replica container: watching it, probing inside it, stopping it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::body::stop_timeout_secs;
use super::error::{ContainerError, EngineCause, is_not_found, is_not_running};
use super::follow::Follower;
use super::retry;
use bollard::Docker;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::{RemoveContainerOptionsBuilder, StopContainerOptionsBuilder};
use futures_util::StreamExt as _;

/// The exit code reported for a container that was removed (by someone else) before the driver
/// saw it exit: the engine no longer knows it. Engines never report it for a real exit.
pub const UNKNOWN_EXIT_CODE: i64 = -1;

/// The exit code of a process killed by SIGKILL (128 + 9), as both engines report it.
const SIGKILL_EXIT_CODE: i64 = 137;

/// How long a stop waits for the log stream to deliver the container's last lines before the
/// container (and the engine's copy of its output) is removed.
const LOG_DRAIN: Duration = Duration::from_secs(2);

/// Slack on top of the grace period for the stop request itself.
const STOP_SLACK: Duration = Duration::from_secs(30);

/// How often an exec is inspected between its output ending and the engine marking it done.
const EXEC_POLL: Duration = Duration::from_millis(20);

/// A replica container the driver started or adopted.
///
/// It is a handle: dropping it leaves the container running (an agent that exits without
/// stopping its replicas finds them again with [`super::Engine::adopt`]) but stops copying its
/// output to the log, as the end of the agent would; [`ContainerReplica::stop`] first, which
/// waits for the last lines.
pub struct ContainerReplica {
    docker: Docker,
    id: String,
    host_port: u16,
    started: Instant,
    follower: Follower,
    seen: Mutex<Seen>,
}

/// What the driver has already learnt about the container's end, for when the engine has
/// forgotten it (after the removal).
#[derive(Default, Clone, Copy)]
struct Seen {
    exit_code: Option<i64>,
    stopped: Option<(i64, bool)>,
}

impl ContainerReplica {
    pub(super) fn new(
        docker: Docker,
        id: String,
        host_port: u16,
        started: Instant,
        follower: Follower,
    ) -> Self {
        Self {
            docker,
            id,
            host_port,
            started,
            follower,
            seen: Mutex::default(),
        }
    }

    /// The container's id, to store for [`super::Engine::adopt`] after an agent restart.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The port published for the app on 127.0.0.1: where probes and the proxy reach it.
    /// 0 only when the engine picked it and the container exited before it could be read.
    pub fn host_port(&self) -> u16 {
        self.host_port
    }

    /// How long the container has been running (for an adopted one, since the engine started
    /// it, not since the adoption).
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Its exit code once the container no longer runs, `None` while it does. One inspect
    /// request: cheap enough to call every ~200 ms. A container removed by someone else counts
    /// as exited, with the code last seen or [`UNKNOWN_EXIT_CODE`], so the agent replaces it.
    ///
    /// # Errors
    /// [`ContainerError::Container`] when the engine cannot be asked.
    pub async fn try_exited(&self) -> Result<Option<i64>, ContainerError> {
        let seen = self.seen();
        if let Some((code, _)) = seen.stopped {
            return Ok(Some(code));
        }
        let inspect = retry::readable("inspect", || self.docker.inspect_container(&self.id, None));
        match inspect.await {
            Ok(inspect) => {
                let state = inspect.state.unwrap_or_default();
                if state.running == Some(true) {
                    return Ok(None);
                }
                let code = state.exit_code.unwrap_or(UNKNOWN_EXIT_CODE);
                self.remember(|s| s.exit_code = Some(code));
                Ok(Some(code))
            }
            Err(e) if is_not_found(&e) => Ok(Some(seen.exit_code.unwrap_or(UNKNOWN_EXIT_CODE))),
            Err(source) => Err(self.error("inspect", source)),
        }
    }

    /// Stops it and removes it: the engine's stop (SIGTERM, then SIGKILL once `grace` has
    /// passed; the Engine API counts whole seconds, so `grace` is rounded up), then a forced
    /// removal. Returns the exit code and whether SIGKILL was needed.
    ///
    /// Idempotent: on a container that had already exited it only removes it; once stopped, or
    /// when the container is gone, it returns what was seen (or [`UNKNOWN_EXIT_CODE`]).
    ///
    /// # Errors
    /// [`ContainerError::Container`] when the engine fails the stop or the removal.
    pub async fn stop(&self, grace: Duration) -> Result<(i64, bool), ContainerError> {
        if let Some(done) = self.seen().stopped {
            return Ok(done);
        }
        let outcome = match self.try_exited().await? {
            Some(code) => (code, false),
            None => self.stop_running(grace).await?,
        };
        // The engine's copy of the output goes with the container: let the last lines arrive.
        let mut log_done = self.follower.done.clone();
        let _ = tokio::time::timeout(LOG_DRAIN, log_done.wait_for(|done| *done)).await;
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(&self.id, Some(options)).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(source) => return Err(self.error("remove", source)),
        }
        self.remember(|s| s.stopped = Some(outcome));
        Ok(outcome)
    }

    async fn stop_running(&self, grace: Duration) -> Result<(i64, bool), ContainerError> {
        let t = stop_timeout_secs(grace);
        let began = Instant::now();
        // The request lasts as long as the grace period: give it that much time and more.
        let docker = self.docker.clone().with_timeout(grace + STOP_SLACK);
        let options = StopContainerOptionsBuilder::new().t(t).build();
        match docker.stop_container(&self.id, Some(options)).await {
            Ok(()) => {}
            Err(e) if is_not_running(&e) || is_not_found(&e) => {}
            Err(source) => return Err(self.error("stop", source)),
        }
        let took = began.elapsed();
        let code = self.try_exited().await?.unwrap_or(UNKNOWN_EXIT_CODE);
        // SIGKILL's exit code after the full timeout: the engine had to kill it. (An app that
        // exits 137 by itself does so before the timeout.)
        let timeout = Duration::from_secs(u64::try_from(t).unwrap_or(0));
        let killed = code == SIGKILL_EXIT_CODE && took + Duration::from_millis(100) >= timeout;
        Ok((code, killed))
    }

    /// Runs `command` inside the container, as an exec probe does, and returns its exit code.
    /// Its output is read and dropped (logged at debug).
    ///
    /// # Errors
    /// [`ContainerError::ExecTimeout`] when it has not finished within `timeout` (it may go on
    /// running in the container: the Engine API cannot kill an exec);
    /// [`ContainerError::Exec`] when it cannot be run (the container is not running, …).
    pub async fn exec(&self, command: &[String], timeout: Duration) -> Result<i64, ContainerError> {
        match tokio::time::timeout(timeout, self.run_exec(command)).await {
            Ok(Ok(code)) => Ok(code),
            Ok(Err(source)) => Err(ContainerError::Exec {
                container: self.id.clone(),
                command: command.join(" "),
                source,
            }),
            Err(_) => Err(ContainerError::ExecTimeout {
                container: self.id.clone(),
                command: command.join(" "),
                timeout,
            }),
        }
    }

    async fn run_exec(&self, command: &[String]) -> Result<i64, EngineCause> {
        let options = CreateExecOptions {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(command.to_vec()),
            ..CreateExecOptions::default()
        };
        let exec = self.docker.create_exec(&self.id, options).await?;
        let start = StartExecOptions {
            detach: false,
            tty: false,
            output_capacity: None,
        };
        if let StartExecResults::Attached { mut output, .. } =
            self.docker.start_exec(&exec.id, Some(start)).await?
        {
            let mut tail = Vec::new();
            while let Some(chunk) = output.next().await {
                tail.extend_from_slice(chunk?.as_ref());
                let cut = tail.len().saturating_sub(1024);
                tail.drain(..cut);
            }
            tracing::debug!(container = %self.id, output = %String::from_utf8_lossy(&tail), "exec output");
        }
        // The output ends with the process; the engine may mark the exec done a moment later.
        loop {
            let inspect = self.docker.inspect_exec(&exec.id).await?;
            if inspect.running != Some(true) {
                return Ok(inspect.exit_code.unwrap_or(UNKNOWN_EXIT_CODE));
            }
            tokio::time::sleep(EXEC_POLL).await;
        }
    }

    fn seen(&self) -> Seen {
        *self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn remember(&self, f: impl FnOnce(&mut Seen)) {
        f(&mut self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    fn error(&self, action: &'static str, source: EngineCause) -> ContainerError {
        ContainerError::Container {
            action,
            container: self.id.clone(),
            source,
        }
    }
}

impl std::fmt::Debug for ContainerReplica {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerReplica")
            .field("id", &self.id)
            .field("host_port", &self.host_port)
            .field("uptime", &self.uptime())
            .finish_non_exhaustive()
    }
}
