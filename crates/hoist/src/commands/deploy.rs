//! `hoist deploy`: load the config, pick the target, and hand over to the local agent or to
//! Kubernetes.

use std::process::ExitCode;

use crate::cli::{DeployArgs, Target};

/// Runs the deploy; the exit status says how it ended (see [`super::outcome`]).
pub fn run(args: &DeployArgs) -> anyhow::Result<ExitCode> {
    let project = super::open_project(&args.dir, args.environment.as_deref(), &args.sets)?;
    // Refused, not ignored: a rolling update in its place would give the revision all the
    // traffic without the analysis the file asks for.
    if project.app.run.rollout.strategy.canary().is_some() {
        anyhow::bail!(
            "`run.rollout.strategy = \"canary\"` is not supported by `hoist deploy` yet (the configuration is checked, the steps are not walked); nothing was deployed. Remove it, or set `strategy = \"rolling\"`, to deploy with a rolling update"
        );
    }
    match super::target::for_deploy(&args.target, &project.app) {
        Target::Local => super::local::deploy(&project, args),
        Target::Kubernetes => super::kube::deploy(&project, args),
    }
}
