//! The local target: `deploy`, `status`, `history`, `rollback`, `logs`, `stop`, `promote` and
//! `abort` as clients
//! of this machine's agent (`hoist-runtime`), which `deploy` starts when none runs.

pub(crate) mod canary;
pub(crate) mod chaos;
pub(crate) mod connect;
pub(crate) mod deploy;
pub(crate) mod show;
pub mod stopping;

use std::path::PathBuf;

use anyhow::Context as _;

pub use connect::state_dir;
pub use deploy::deploy;
pub use show::{forget, history, indent, logs, rollback, status, stop};

use crate::cli::AgentConnArgs;

/// What the agent answered when it refused, with its hint for the report.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct AgentRefused {
    /// What the agent said.
    pub error: String,
    /// What it says to do.
    pub hint: Option<String>,
}

/// A tokio runtime for one command's talk with the agent.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start an async runtime")
}

/// The state directory the flags (or environment, or default) name.
fn dir_of(conn: &AgentConnArgs) -> anyhow::Result<PathBuf> {
    state_dir(conn.state_dir.as_deref())
}
