//! `hoist deploy`: load the config, pick the target, and hand over to the local agent, to the
//! hosts or to Kubernetes.

use std::process::ExitCode;

use crate::cli::{DeployArgs, Target};

/// Runs the deploy; the exit status says how it ended (see [`super::outcome`]).
pub fn run(args: &DeployArgs) -> anyhow::Result<ExitCode> {
    let project = super::open_project(&args.dir, args.environment.as_deref(), &args.sets)?;
    match super::target::for_deploy(&args.target, &project.app) {
        Target::Local => super::local::deploy(&project, args),
        Target::Hosts => super::hosts::deploy(&project, args),
        Target::Kubernetes => {
            // Refused, not ignored: a rolling update in its place would give the revision all
            // the traffic without the analysis the file asks for.
            if project.app.run.rollout.strategy.canary().is_some() {
                anyhow::bail!(
                    "`run.rollout.strategy = \"canary\"` is not supported on Kubernetes yet (the local agent walks canaries; a cluster does not); nothing was deployed. Deploy to this machine, or set `strategy = \"rolling\"` for the cluster's environment"
                );
            }
            super::kube::deploy(&project, args)
        }
    }
}
