//! Copying a container's output into the replica's rotating log, in the background.
//!
//! The engine keeps the container's stdout and stderr itself; the driver follows that stream
//! (`GET /containers/{id}/logs?follow=1`) and appends what comes, stdout and stderr merged as the
//! `process` driver merges them, so `hoist logs` reads one format for both drivers. The stream
//! ends when the container stops, and so does the task.

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::StreamExt as _;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::logs::RotatingLog;

/// Starts following the output of container `id` into `log`: everything it printed so far
/// (`since` = None, for a container just started), or what it prints from the Unix time `since`
/// on (for an adopted one). The returned receiver turns `true` once the stream has ended and the
/// log is flushed.
pub(super) fn spawn(docker: Docker, id: String, since: Option<i64>, log: RotatingLog) -> Follower {
    let (done, rx) = watch::channel(false);
    let task = tokio::spawn(follow(docker, id, since, log, done));
    Follower {
        done: rx,
        task: Some(task.abort_handle()),
    }
}

/// The background copy of one container's output.
pub(super) struct Follower {
    /// Turns `true` once the stream has ended and the log is flushed.
    pub(super) done: watch::Receiver<bool>,
    task: Option<AbortHandle>,
}

impl Follower {
    /// No copying at all (an adopted container whose log is not known).
    pub(super) fn none() -> Self {
        Self {
            done: watch::channel(true).1,
            task: None,
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn follow(
    docker: Docker,
    id: String,
    since: Option<i64>,
    mut log: RotatingLog,
    done: watch::Sender<bool>,
) {
    let options = LogsOptionsBuilder::new()
        .follow(true)
        .stdout(true)
        .stderr(true)
        .since(since.map_or(0, |s| i32::try_from(s).unwrap_or(i32::MAX)))
        .build();
    let mut stream = docker.logs(&id, Some(options));
    while let Some(item) = stream.next().await {
        match item {
            Ok(
                LogOutput::StdOut { message }
                | LogOutput::StdErr { message }
                | LogOutput::Console { message },
            ) => {
                if let Err(e) = log.write(&message).await {
                    tracing::warn!(container = %id, error = %e, "replica log write failed");
                }
            }
            Ok(LogOutput::StdIn { .. }) => {}
            Err(e) => {
                // The container was removed under the stream, or the engine went away: what
                // was written stays; a new agent adopting the container follows it again.
                tracing::debug!(container = %id, error = %e, "the container's log stream ended");
                break;
            }
        }
    }
    log.flush().await;
    let _ = done.send(true);
}
