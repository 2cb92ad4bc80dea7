//! The local target: `deploy`, `status`, `history`, `rollback`, `logs` and `stop` as clients
//! of this machine's agent (`hoist-runtime`), which is started on demand.

use std::process::ExitCode;

use hoist_core::App;

use crate::cli::{DeployArgs, HistoryArgs, LogsArgs, RollbackArgs, StatusArgs, StopArgs};

/// `hoist deploy` to this machine.
pub fn deploy(_app: &App, _args: &DeployArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the local agent is not built yet")
}

/// `hoist status`.
pub fn status(_app: Option<&str>, _args: &StatusArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the local agent is not built yet")
}

/// `hoist history`.
pub fn history(_app: &str, _args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the local agent is not built yet")
}

/// `hoist rollback`.
pub fn rollback(_app: &str, _args: &RollbackArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the local agent is not built yet")
}

/// `hoist logs`.
pub fn logs(_app: &str, _args: &LogsArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the local agent is not built yet")
}

/// `hoist stop`.
pub fn stop(_app: &str, _args: &StopArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the local agent is not built yet")
}
