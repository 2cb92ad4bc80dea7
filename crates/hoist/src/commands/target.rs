//! Which target a command goes to: `--target`, else Kubernetes when the app's hoist.toml (with
//! `--env`) has a `[kubernetes]` table, else this machine's agent.

use hoist_core::App;

use crate::cli::{AppArgs, Target, TargetArgs};

/// A resolved target and what it needs.
pub enum Resolved {
    /// The local agent, with the app name if one was given or found in hoist.toml.
    Local(Option<String>),
    /// Kubernetes, with the loaded app (its `[kubernetes]` settings and name).
    Kubernetes(Box<App>),
    /// The hosts, with the loaded app (its `[hosts]` and name).
    Hosts(Box<App>),
}

/// The target for `deploy`: the flag, else the config (`[kubernetes]`, then `[hosts]`).
pub fn for_deploy(target: &TargetArgs, app: &App) -> Target {
    target.target.unwrap_or(if app.kubernetes.is_some() {
        Target::Kubernetes
    } else if app.hosts.is_some() {
        Target::Hosts
    } else {
        Target::Local
    })
}

/// The target for `status`, `history` and `rollback`. An app named on the command line without
/// a hoist.toml in `-C DIR` (or a parent) can only be a local one (Kubernetes needs the app's
/// settings); without either, the app is the one inferred from the Go module, if any.
pub fn for_app(target: &TargetArgs, a: &AppArgs) -> anyhow::Result<Resolved> {
    let app = app_if_configured(a)?;
    let wanted = target.target.unwrap_or(match &app {
        Some(app) if app.kubernetes.is_some() && a.app.is_none() => Target::Kubernetes,
        Some(app) if app.hosts.is_some() && a.app.is_none() => Target::Hosts,
        _ => Target::Local,
    });
    match (wanted, app) {
        (Target::Local, app) => Ok(Resolved::Local(
            a.app
                .clone()
                .or_else(|| app.map(|app| app.app.name))
                .or_else(|| inferred_name(a)),
        )),
        (Target::Kubernetes, Some(mut app)) => {
            if let Some(name) = &a.app {
                app.app.name.clone_from(name);
            }
            Ok(Resolved::Kubernetes(Box::new(app)))
        }
        (Target::Hosts, Some(mut app)) => {
            if let Some(name) = &a.app {
                app.app.name.clone_from(name);
            }
            Ok(Resolved::Hosts(Box::new(app)))
        }
        (t @ (Target::Kubernetes | Target::Hosts), None) => anyhow::bail!(
            "`--target {}` needs the app's hoist.toml: run the command in its directory or give `-C DIR`",
            if t == Target::Hosts {
                "hosts"
            } else {
                "kubernetes"
            }
        ),
    }
}

/// The target of a command the local agent and the hosts' agents answer (`logs`, `stop`,
/// `promote`, `abort`): the hosts with `--target hosts`, or by default when hoist.toml has
/// `[hosts]` (and no `[kubernetes]`) and no app is named; else this machine. Kubernetes has
/// its own tools for these (`kubectl logs`, `kubectl scale`).
pub fn for_agent_command(target: &TargetArgs, a: &AppArgs, verb: &str) -> anyhow::Result<Resolved> {
    let app = app_if_configured(a)?;
    let wanted = target.target.unwrap_or(match &app {
        Some(app) if app.hosts.is_some() && app.kubernetes.is_none() && a.app.is_none() => {
            Target::Hosts
        }
        _ => Target::Local,
    });
    match (wanted, app) {
        (Target::Local, _) => Ok(Resolved::Local(Some(local_app_name(a)?))),
        (Target::Hosts, Some(mut app)) => {
            if let Some(name) = &a.app {
                app.app.name.clone_from(name);
            }
            Ok(Resolved::Hosts(Box::new(app)))
        }
        (Target::Hosts, None) => anyhow::bail!(
            "`--target hosts` needs the app's hoist.toml: run the command in its directory or give `-C DIR`"
        ),
        (Target::Kubernetes, _) => anyhow::bail!(
            "`hoist {verb}` works with this machine's agent and with hosts; on Kubernetes use kubectl (`kubectl logs`, `kubectl scale --replicas=0`)"
        ),
    }
}

/// The app of the hoist.toml in `-C DIR` (or a parent), if there is one.
fn app_if_configured(a: &AppArgs) -> anyhow::Result<Option<App>> {
    if hoist_pipeline::project::find_config(&a.project).is_some() {
        Ok(Some(super::load_app(&a.project, a.environment.as_deref())?))
    } else {
        Ok(None)
    }
}

/// The app name for a local-only command (`logs`, `stop`).
pub fn local_app_name(a: &AppArgs) -> anyhow::Result<String> {
    if let Some(name) = &a.app {
        return Ok(name.clone());
    }
    if hoist_pipeline::project::find_config(&a.project).is_some() {
        return Ok(super::load_app(&a.project, a.environment.as_deref())?
            .app
            .name);
    }
    if let Some(name) = inferred_name(a) {
        return Ok(name);
    }
    anyhow::bail!(
        "which app? name it (`hoist logs hello`) or run the command where its hoist.toml is (or with `-C DIR`)"
    )
}

/// The app name of a Go module without hoist.toml, as `hoist deploy` would infer it; `None`
/// outside a module (or when it does not say which program).
fn inferred_name(a: &AppArgs) -> Option<String> {
    hoist_pipeline::project::open(&a.project, None, &[], &hoist_core::Platform::host())
        .ok()
        .map(|p| p.app.app.name)
}
