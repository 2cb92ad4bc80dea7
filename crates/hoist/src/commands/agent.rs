//! `hoist agent`: the local runtime in the foreground, or `--stop` to stop the running one.

use std::process::ExitCode;

use crate::cli::AgentArgs;

/// Runs (or stops) the agent.
pub fn run(_args: &AgentArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("the local agent is not built yet")
}
