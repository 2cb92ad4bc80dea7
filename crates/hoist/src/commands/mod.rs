//! One file per verb. Each resolves its settings from arguments and hoist.toml, calls the
//! stages, and returns an exit status.

pub mod agent;
mod base;
mod build;
mod ci;
mod config;
mod deploy;
mod dev;
mod dockerfile;
mod docs;
mod doctor;
mod hosts;
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
mod supervise;
mod tags;
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
        Command::Dev(a) => dev::run(&a),
        Command::Status(a) => match target::for_app(&a.target, &a.app)? {
            target::Resolved::Local(name) => local::status(name.as_deref(), &a),
            target::Resolved::Kubernetes(app) => kube::status(&app, &a),
            target::Resolved::Hosts(app) => hosts::status(&app, &a),
        },
        Command::History(a) => match target::for_app(&a.target, &a.app)? {
            target::Resolved::Local(name) => local::history(&name_or_err(name)?, &a),
            target::Resolved::Kubernetes(app) => kube::history(&app, &a),
            target::Resolved::Hosts(app) => hosts::history(&app, &a),
        },
        Command::Rollback(a) => match target::for_app(&a.target, &a.app)? {
            target::Resolved::Local(name) => local::rollback(&name_or_err(name)?, &a),
            target::Resolved::Kubernetes(app) => kube::rollback(&app, &a),
            target::Resolved::Hosts(app) => hosts::rollback(&app, &a),
        },
        Command::Logs(a) => match target::for_agent_command(&a.target, &a.app, "logs")? {
            target::Resolved::Hosts(app) => hosts::logs(&app, &a),
            _ => local::logs(&target::local_app_name(&a.app)?, &a),
        },
        Command::Stop(a) => match target::for_agent_command(&a.target, &a.app, "stop")? {
            target::Resolved::Hosts(app) => hosts::stop(&app, &a),
            _ => local::stop(&target::local_app_name(&a.app)?, &a),
        },
        Command::Chaos(a) => local::chaos::run(&target::local_app_name(&a.app)?, &a),
        Command::Promote(a) => match target::for_app(&a.target, &a.app)? {
            target::Resolved::Hosts(app) => hosts::intervene(&app, &a, true),
            target::Resolved::Kubernetes(app) => kube::intervene(&app, &a, true),
            target::Resolved::Local(name) => {
                local::canary::intervene(&name_or_err(name)?, &a, true)
            }
        },
        Command::Abort(a) => match target::for_app(&a.target, &a.app)? {
            target::Resolved::Hosts(app) => hosts::intervene(&app, &a, false),
            target::Resolved::Kubernetes(app) => kube::intervene(&app, &a, false),
            target::Resolved::Local(name) => {
                local::canary::intervene(&name_or_err(name)?, &a, false)
            }
        },
        Command::Forget(a) => {
            if a.target
                .target
                .is_some_and(|t| t != crate::cli::Target::Local)
            {
                anyhow::bail!(
                    "`hoist forget` removes an app's history from this machine's agent only; stop it there first (`hoist stop`)"
                );
            }
            local::forget(&target::local_app_name(&a.app)?, &a)
        }
        Command::Agent(a) => agent::run(&a),
        Command::Diff(a) => kube::diff(&a),
        Command::Hosts(c) => hosts::run(&c),
        Command::Tags(a) => tags::run(&a),
        Command::Ci(a) => ci::run(&a),
        Command::Doctor(a) => doctor::run(&a),
        Command::Completions(a) => Ok(docs::completions(&a)),
        Command::Docs(a) => docs::print(&a),
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

/// The project at `dir` (the nearest hoist.toml, else inferred from the Go module) with an
/// optional environment overlay.
fn load_app(dir: &Path, environment: Option<&str>) -> anyhow::Result<App> {
    open_project(dir, environment, &[]).map(|p| p.app)
}

/// [`load_app`], then `--set key.path=value` overrides.
fn load_app_with(dir: &Path, environment: Option<&str>, sets: &[String]) -> anyhow::Result<App> {
    open_project(dir, environment, sets).map(|p| p.app)
}

/// The project a command is about: the nearest hoist.toml in `dir` or a parent, else the
/// configuration inferred from the Go module (said in one line on stderr), with the `--env`
/// overlay and `--set` overrides applied.
fn open_project(
    dir: &Path,
    environment: Option<&str>,
    sets: &[String],
) -> anyhow::Result<hoist_pipeline::Project> {
    let project =
        hoist_pipeline::project::open(dir, environment, sets, &hoist_core::Platform::host())?;
    if let Some(inferred) = &project.inferred {
        eprintln!("{inferred}");
    }
    warn_unknown_variables(&project.app);
    Ok(project)
}

/// `$(NAME)` in `app.args` that neither `run.env` nor hoist defines stays as written (as the
/// kubelet leaves it): almost always a typo, so say so.
fn warn_unknown_variables(app: &App) {
    for arg in &app.app.args {
        for name in hoist_core::expand::references(arg) {
            if name != "PORT" && !app.run.env.contains_key(&name) {
                eprintln!(
                    "{} `app.args` refers to `$({name})`, which neither `run.env` nor hoist sets (hoist sets `PORT`): it is passed as written, as Kubernetes does; define it in `run.env` or write `$$({name})` for a literal",
                    console::style("warning:").yellow().bold()
                );
            }
        }
    }
}
