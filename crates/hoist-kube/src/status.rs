//! `status`: what serves in one cluster now — the records' view and the live Deployment's.

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use serde::Serialize;

use crate::deploy::Target;
use crate::error::Result;
use crate::revision::RecordOutcome;
use crate::rollout::{self, Counts};

/// The state of an app instance in one cluster.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The kubeconfig context.
    pub context: String,
    /// The namespace.
    pub namespace: String,
    /// The revision serving (the newest deployed), if any.
    pub serving: Option<u64>,
    /// The newest revision and its outcome, when it is not the serving one.
    pub latest: Option<(u64, RecordOutcome)>,
    /// Why the newest revision failed.
    pub latest_reason: Option<String>,
    /// The live Deployment's image.
    pub image: Option<String>,
    /// Its rollout, as `rollout status` would say.
    pub rollout: Option<String>,
    /// Its replica counts.
    pub counts: Option<Counts>,
    /// Whether its rollout is complete.
    pub complete: bool,
    /// The latest revision's canary, when it is one: its step, split and verdicts so far (or
    /// how it ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<crate::canary::CanaryRecord>,
}

/// Reads the records and the live Deployment `deployment`.
///
/// # Errors
///
/// When the cluster cannot be read.
pub async fn status(target: &Target, deployment: &str) -> Result<Status> {
    let records = target.records().await?;
    let serving = records.serving().map(|r| r.revision);
    let latest = records.all.last().filter(|r| Some(r.revision) != serving);
    let api: Api<Deployment> = Api::namespaced(target.cluster.client(), &target.namespace);
    let live = api.get_opt(deployment).await.map_err(|e| {
        target.cluster.error(
            &format!("read Deployment `{deployment}`"),
            &target.namespace,
            e,
        )
    })?;
    let rollout = live.as_ref().map(rollout::status);
    Ok(Status {
        context: target.cluster.context().to_owned(),
        namespace: target.namespace.clone(),
        serving,
        latest: latest.map(|r| (r.revision, r.outcome)),
        latest_reason: latest.and_then(|r| r.reason.clone()),
        canary: latest.and_then(|r| r.canary.clone()),
        image: live.as_ref().and_then(|d| {
            d.spec
                .template
                .spec
                .as_ref()?
                .containers
                .first()?
                .image
                .clone()
        }),
        counts: rollout.as_ref().and_then(rollout::RolloutStatus::counts),
        complete: matches!(rollout, Some(rollout::RolloutStatus::Complete(_))),
        rollout: rollout.map(|r| r.describe()),
    })
}
