//! `hoist deploy`: load the config, pick the target, and hand over to the local agent or to
//! Kubernetes.

use std::process::ExitCode;

use crate::cli::{DeployArgs, Target};

/// Runs the deploy; the exit status says how it ended (see [`super::outcome::Outcome`]).
pub fn run(args: &DeployArgs) -> anyhow::Result<ExitCode> {
    let app = super::load_app_with(&args.dir, args.environment.as_deref(), &args.sets)?;
    match super::target::for_deploy(&args.target, &app) {
        Target::Local => super::local::deploy(&app, args),
        Target::Kubernetes => super::kube::deploy(&app, args),
    }
}
