//! One file per verb. Each resolves its settings from arguments and hoist.toml, calls the
//! stages, and returns an exit status.

pub mod agent;
mod base;
mod build;
mod config;
mod deploy;
mod dockerfile;
mod init;
mod inspect;
pub mod kube;
mod last_build;
pub mod local;
mod login;
pub mod outcome;
mod outputs;
mod pull;
mod push;
pub mod registry;
pub mod render;
mod target;

use std::path::Path;
use std::process::ExitCode;

use hoist_core::App;

use crate::cli::{Cli, Command};

/// Dispatches to the verb.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init(a) => init::run(&a),
        Command::Config(a) => config::run(&a),
        Command::Build(a) => build::run(&a),
        Command::Render(a) => render::run(&a),
        Command::Dockerfile(a) => dockerfile::run(&a),
        Command::Push(a) => push::run(&a),
        Command::Pull(a) => pull::run(&a),
        Command::Inspect(a) => inspect::run(&a),
        Command::Login(a) => login::login(&a),
        Command::Logout(a) => login::logout(&a),
        Command::Deploy(a) => deploy::run(&a),
        Command::Status(a) => match target::for_app(&a.target, &a.app)? {
            target::Resolved::Local(name) => local::status(name.as_deref(), &a),
            target::Resolved::Kubernetes(app) => kube::status(&app, &a),
        },
        Command::History(a) => match target::for_app(&a.target, &a.app)? {
            target::Resolved::Local(name) => local::history(&name_or_err(name)?, &a),
            target::Resolved::Kubernetes(app) => kube::history(&app, &a),
        },
        Command::Rollback(a) => match target::for_app(&a.target, &a.app)? {
            target::Resolved::Local(name) => local::rollback(&name_or_err(name)?, &a),
            target::Resolved::Kubernetes(app) => kube::rollback(&app, &a),
        },
        Command::Logs(a) => local::logs(&target::local_app_name(&a.app)?, &a),
        Command::Stop(a) => local::stop(&target::local_app_name(&a.app)?, &a),
        Command::Agent(a) => agent::run(&a),
        Command::Diff(a) => kube::diff(&a),
    }
}

/// The app name a local command needs, or an error saying how to give one.
fn name_or_err(name: Option<String>) -> anyhow::Result<String> {
    name.ok_or_else(|| {
        anyhow::anyhow!(
            "which app? name it (`hoist history hello`) or run the command where its hoist.toml is (or with `-C DIR`)"
        )
    })
}

/// Loads `DIR/hoist.toml` with an optional environment overlay.
fn load_app(dir: &Path, environment: Option<&str>) -> anyhow::Result<App> {
    load_app_with(dir, environment, &[])
}

/// [`load_app`], then `--set key.path=value` overrides.
fn load_app_with(dir: &Path, environment: Option<&str>, sets: &[String]) -> anyhow::Result<App> {
    let path = dir.join(hoist_config::FILE_NAME);
    if !path.is_file() {
        anyhow::bail!(
            "no {} in `{}`; run `hoist init {}` to write one",
            hoist_config::FILE_NAME,
            dir.display(),
            dir.display()
        );
    }
    hoist_config::load_with(&path, environment, sets).map_err(|e| {
        let from_set = matches!(e, hoist_config::ConfigError::BadSet { .. })
            || e.location().is_some_and(|l| l.file.starts_with("--set "));
        let context = if from_set {
            "invalid `--set` override".to_owned()
        } else {
            format!("invalid configuration in `{}`", path.display())
        };
        anyhow::Error::new(e).context(context)
    })
}
