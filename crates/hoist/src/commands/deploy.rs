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
            if let Some(c) = project.app.run.rollout.strategy.canary()
                && c.prometheus.is_none()
            {
                anyhow::bail!(
                    "`run.rollout.strategy = \"canary\"` on Kubernetes needs `[verify.prometheus]`: the cluster's pods are judged on figures queried from Prometheus; nothing was deployed. Add `[verify.prometheus]` with `url = \"http://prometheus.monitoring:9090\"`, or set `strategy = \"rolling\"` for the cluster's environment"
                );
            }
            super::kube::deploy(&project, args)
        }
    }
}
