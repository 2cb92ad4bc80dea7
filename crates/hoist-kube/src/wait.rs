//! Polls a Deployment until [`crate::rollout::Watch`] says the rollout ended. The deadline is
//! the caller's.

use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;

use crate::cluster::Cluster;
use crate::error::Result;
use crate::rollout::{End, RolloutStatus, Step, Watch, status};

/// How often the Deployment is read while waiting.
pub const POLL: Duration = Duration::from_millis(200);

/// Waits for the rollout of Deployment `name`; `on_change` sees every new status. Returns how
/// it ended and the Deployment as last read.
pub(crate) async fn rollout(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    deadline: Instant,
    on_change: &(dyn Fn(&RolloutStatus) + Send + Sync),
) -> Result<(End, Deployment)> {
    let api: Api<Deployment> = Api::namespaced(cluster.client(), namespace);
    let mut watch = Watch::new();
    loop {
        let d = api
            .get(name)
            .await
            .map_err(|e| cluster.error(&format!("read Deployment `{name}`"), namespace, e))?;
        let observed = status(&d);
        match watch.step(observed.clone(), Instant::now(), deadline) {
            Step::Waiting { changed } => {
                if changed {
                    on_change(&observed);
                }
            }
            Step::Ended(end) => {
                on_change(&observed);
                return Ok((end, d));
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(POLL.min(left.max(Duration::from_millis(1)))).await;
    }
}
