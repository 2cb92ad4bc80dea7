//! One file per verb. Each resolves its settings from arguments and hoist.toml, calls the
//! stages, and returns an exit status.

mod build;
mod config;
mod init;
mod outputs;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use hoist_core::App;

use crate::cli::{Cli, Command};

/// Dispatches to the verb.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init(a) => init::run(&a),
        Command::Config(a) => config::run(&a),
        Command::Build(a) => build::run(&a),
    }
}

/// Loads `DIR/hoist.toml` with an optional environment overlay.
fn load_app(dir: &Path, environment: Option<&str>) -> anyhow::Result<App> {
    let path = dir.join(hoist_config::FILE_NAME);
    if !path.is_file() {
        anyhow::bail!(
            "no {} in `{}`; run `hoist init {}` to write one",
            hoist_config::FILE_NAME,
            dir.display(),
            dir.display()
        );
    }
    hoist_config::load(&path, environment)
        .with_context(|| format!("invalid configuration in `{}`", path.display()))
}
