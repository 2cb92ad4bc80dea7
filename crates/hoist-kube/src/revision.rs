//! Revision records kept in the cluster, one Secret per deploy (`hoist-<instance>-rev-<N>`,
//! type `hoist.dev/revision`), so `history` and `rollback` work from any machine and after a
//! crash. Each holds the applied objects, the image, the version, the outcome and its reason.
//! A Secret rather than a ConfigMap: the objects include the app's `[config]` values.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::apply::{FIELD_MANAGER, Manifest};
use crate::cluster::Cluster;
use crate::error::{KubeError, Result};

/// The Secret type of a revision record.
pub const SECRET_TYPE: &str = "hoist.dev/revision";
/// The label holding the revision number.
pub const REVISION_LABEL: &str = "hoist.dev/revision";
/// The data key holding the record's JSON.
const DATA_KEY: &str = "revision.json";

/// How a revision's rollout ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordOutcome {
    /// Applied; the rollout has not ended (or hoist stopped before it did).
    Pending,
    /// Rolled out and served.
    Deployed,
    /// Failed and the previous revision was put back.
    RolledBack,
    /// Failed, with nothing to roll back to or a failed rollback.
    Failed,
}

impl RecordOutcome {
    /// `deployed`, `rolled_back`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Deployed => "deployed",
            Self::RolledBack => "rolled_back",
            Self::Failed => "failed",
        }
    }
}

/// One revision, as kept in the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// 1, 2, 3, … per app instance and namespace.
    pub revision: u64,
    /// When the deploy began (RFC 3339, this machine's clock).
    pub created: String,
    /// When the outcome was recorded.
    pub finished: Option<String>,
    /// The image, pinned by digest.
    pub image: String,
    /// The `app.kubernetes.io/version` label.
    pub version: String,
    /// How it ended.
    pub outcome: RecordOutcome,
    /// Why it failed, from the cluster.
    pub reason: Option<String>,
    /// What each unready pod of it showed, when it failed. (Absent in records of hoist before
    /// it kept them.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replica_reports: Vec<hoist_core::ReplicaReport>,
    /// When this revision re-applies an earlier one (`hoist rollback`): that one.
    pub rollback_of: Option<u64>,
    /// Seconds from the apply to the rollout's end.
    pub rollout_seconds: Option<f64>,
    /// The objects applied.
    pub objects: Vec<Value>,
    /// A canary's steps and verdicts, with their numbers (none for a rolling update; absent in
    /// records of hoist before canaries on Kubernetes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<crate::canary::CanaryRecord>,
}

impl Record {
    /// The objects as manifests.
    ///
    /// # Errors
    ///
    /// [`KubeError::BadRecord`] when one is not an object hoist applies.
    pub fn manifests(&self, instance: &str) -> Result<Vec<Manifest>> {
        self.objects
            .iter()
            .map(|o| {
                Manifest::from_json(o.clone()).map_err(|problem| KubeError::BadRecord {
                    name: secret_name(instance, self.revision),
                    problem,
                })
            })
            .collect()
    }
}

/// `hoist-<instance>-rev-<N>`.
pub fn secret_name(instance: &str, revision: u64) -> String {
    format!("hoist-{instance}-rev-{revision}")
}

/// The records of one app instance in one namespace.
#[derive(Debug, Clone)]
pub struct Records {
    /// Oldest first.
    pub all: Vec<Record>,
}

impl Records {
    /// The revision being served: the newest that deployed.
    pub fn serving(&self) -> Option<&Record> {
        self.all
            .iter()
            .rev()
            .find(|r| r.outcome == RecordOutcome::Deployed)
    }

    /// The newest deployed revision older than `revision`.
    pub fn deployed_before(&self, revision: u64) -> Option<&Record> {
        self.all
            .iter()
            .rev()
            .find(|r| r.revision < revision && r.outcome == RecordOutcome::Deployed)
    }

    /// Revision `n`.
    pub fn get(&self, n: u64) -> Option<&Record> {
        self.all.iter().find(|r| r.revision == n)
    }

    /// The number the next revision gets.
    pub fn next(&self) -> u64 {
        self.all.last().map_or(1, |r| r.revision + 1)
    }

    /// Revisions to delete so that `limit` remain, never the serving one: the oldest first.
    pub fn beyond(&self, limit: u32) -> Vec<u64> {
        let serving = self.serving().map(|r| r.revision);
        let excess = self.all.len().saturating_sub(limit as usize);
        self.all
            .iter()
            .filter(|r| Some(r.revision) != serving)
            .take(excess)
            .map(|r| r.revision)
            .collect()
    }
}

/// Where records are kept: one namespace, one instance.
pub(crate) struct Store<'a> {
    pub cluster: &'a Cluster,
    pub namespace: &'a str,
    pub app: &'a str,
    pub instance: &'a str,
}

impl Store<'_> {
    fn api(&self) -> Api<Secret> {
        Api::namespaced(self.cluster.client(), self.namespace)
    }

    fn selector(&self) -> String {
        format!(
            "{}={},{}={},{}",
            hoist_render::NAME,
            self.app,
            hoist_render::INSTANCE,
            self.instance,
            REVISION_LABEL
        )
    }

    /// Every record, oldest first.
    pub async fn list(&self) -> Result<Records> {
        let list = self
            .api()
            .list(&ListParams::default().labels(&self.selector()))
            .await
            .map_err(|e| {
                self.cluster
                    .error("list revision records", self.namespace, e)
            })?;
        let mut all = list
            .items
            .iter()
            .filter(|s| s.type_.as_deref() == Some(SECRET_TYPE))
            .map(decode)
            .collect::<Result<Vec<_>>>()?;
        all.sort_by_key(|r| r.revision);
        Ok(Records { all })
    }

    /// Creates the record; `Ok(false)` when its number is taken (another deploy raced us).
    pub async fn create(&self, record: &Record) -> Result<bool> {
        let secret = self.secret(record)?;
        match self.api().create(&PostParams::default(), &secret).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(self.cluster.error(
                &format!("create revision record {}", record.revision),
                self.namespace,
                e,
            )),
        }
    }

    /// Writes the record's new outcome (the whole record).
    pub async fn update(&self, record: &Record) -> Result<()> {
        let secret = self.secret(record)?;
        let name = secret_name(self.instance, record.revision);
        self.api()
            .patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&secret),
            )
            .await
            .map_err(|e| {
                self.cluster.error(
                    &format!("update revision record {}", record.revision),
                    self.namespace,
                    e,
                )
            })?;
        Ok(())
    }

    /// Deletes the records of `revisions`.
    pub async fn delete(&self, revisions: &[u64]) -> Result<()> {
        for r in revisions {
            let name = secret_name(self.instance, *r);
            match self.api().delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => {
                    return Err(self.cluster.error(
                        &format!("delete revision record {r}"),
                        self.namespace,
                        e,
                    ));
                }
            }
        }
        Ok(())
    }

    fn secret(&self, record: &Record) -> Result<Secret> {
        let json = serde_json::to_vec(record).map_err(|source| KubeError::Encode {
            what: format!("revision record {}", record.revision),
            source,
        })?;
        let labels = BTreeMap::from([
            (hoist_render::NAME.to_owned(), self.app.to_owned()),
            (hoist_render::INSTANCE.to_owned(), self.instance.to_owned()),
            (hoist_render::MANAGED_BY.to_owned(), "hoist".to_owned()),
            (REVISION_LABEL.to_owned(), record.revision.to_string()),
        ]);
        Ok(Secret {
            metadata: kube::api::ObjectMeta {
                name: Some(secret_name(self.instance, record.revision)),
                labels: Some(labels),
                ..Default::default()
            },
            type_: Some(SECRET_TYPE.to_owned()),
            data: Some(BTreeMap::from([(DATA_KEY.to_owned(), ByteString(json))])),
            ..Secret::default()
        })
    }
}

fn decode(s: &Secret) -> Result<Record> {
    let name = s.metadata.name.clone().unwrap_or_default();
    let bytes = s
        .data
        .as_ref()
        .and_then(|d| d.get(DATA_KEY))
        .ok_or_else(|| KubeError::BadRecord {
            name: name.clone(),
            problem: format!("no `{DATA_KEY}`"),
        })?;
    serde_json::from_slice(&bytes.0).map_err(|e| KubeError::BadRecord {
        name,
        problem: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(revision: u64, outcome: RecordOutcome) -> Record {
        Record {
            revision,
            created: String::new(),
            finished: None,
            image: String::new(),
            version: String::new(),
            outcome,
            reason: None,
            replica_reports: vec![],
            rollback_of: None,
            rollout_seconds: None,
            objects: vec![],
            canary: None,
        }
    }

    #[test]
    fn the_serving_revision_is_the_newest_deployed() {
        use RecordOutcome::*;
        let r = Records {
            all: vec![
                rec(1, Deployed),
                rec(2, Deployed),
                rec(3, RolledBack),
                rec(4, Pending),
            ],
        };
        assert_eq!(r.serving().unwrap().revision, 2);
        assert_eq!(r.deployed_before(2).unwrap().revision, 1);
        assert_eq!(r.next(), 5);
        assert!(r.deployed_before(1).is_none());
        assert_eq!(Records { all: vec![] }.next(), 1);
    }

    #[test]
    fn history_is_bounded_but_keeps_the_serving_revision() {
        use RecordOutcome::*;
        let r = Records {
            all: vec![
                rec(1, Deployed),
                rec(2, Failed),
                rec(3, Failed),
                rec(4, Failed),
            ],
        };
        assert_eq!(r.beyond(2), vec![2, 3]);
        assert_eq!(r.beyond(10), Vec::<u64>::new());
        assert_eq!(secret_name("hello-prod", 7), "hoist-hello-prod-rev-7");
    }
}
