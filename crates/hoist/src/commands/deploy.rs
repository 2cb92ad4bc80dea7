//! `hoist deploy`: load the config, pick the target, and hand over to the local agent or to
//! Kubernetes.

use std::process::ExitCode;

use crate::cli::{DeployArgs, Target};

/// Runs the deploy; the exit status says how it ended (see [`super::outcome`]).
pub fn run(args: &DeployArgs) -> anyhow::Result<ExitCode> {
    let project = super::open_project(&args.dir, args.environment.as_deref(), &args.sets)?;
    match super::target::for_deploy(&args.target, &project.app) {
        Target::Local => super::local::deploy(&project, args),
        Target::Kubernetes => super::kube::deploy(&project, args),
    }
}
