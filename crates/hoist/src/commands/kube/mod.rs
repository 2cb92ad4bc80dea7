//! `--target kubernetes`: deploy, status, history, rollback and diff against clusters, through
//! `hoist-kube`.

use std::process::ExitCode;

use hoist_core::App;

use crate::cli::{DeployArgs, DiffArgs, HistoryArgs, RollbackArgs, StatusArgs};

/// `hoist deploy --target kubernetes`.
pub fn deploy(_app: &App, _args: &DeployArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`--target kubernetes` is not built yet")
}

/// `hoist status --target kubernetes`.
pub fn status(_app: &App, _args: &StatusArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`--target kubernetes` is not built yet")
}

/// `hoist history --target kubernetes`.
pub fn history(_app: &App, _args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`--target kubernetes` is not built yet")
}

/// `hoist rollback --target kubernetes`.
pub fn rollback(_app: &App, _args: &RollbackArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`--target kubernetes` is not built yet")
}

/// `hoist diff`.
pub fn diff(_args: &DiffArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`hoist diff` is not built yet")
}
