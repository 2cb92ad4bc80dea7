//! `hoist diff`: what an apply would change. Each object is applied with `dryRun=All` and the
//! server's answer is compared with the live object, both without the fields the server keeps
//! for itself (`managedFields`, `resourceVersion`, `status`, …); plus what prune would delete.

use kube::api::{Api, DynamicObject};
use serde::Serialize;
use serde_json::Value;

use crate::apply::{self, ApplyOptions, Manifest};
use crate::deploy::Target;
use crate::error::{KubeError, Result};
use crate::prune;

/// What would happen to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// It does not exist yet; `yaml` is what would be created.
    Create {
        /// `Kind name`.
        object: String,
        /// The object the server would create.
        yaml: String,
    },
    /// It exists and would change; `diff` is a unified diff of its YAML.
    Update {
        /// `Kind name`.
        object: String,
        /// `-` live, `+` after the apply.
        diff: String,
    },
    /// It exists and would not change.
    Unchanged {
        /// `Kind name`.
        object: String,
    },
    /// Prune would delete it.
    Delete {
        /// `Kind name`.
        object: String,
    },
    /// An apply would fail on fields another manager owns (`--force-conflicts` takes them); an
    /// `Update` after it shows what the forced apply would change.
    Conflict {
        /// `Kind name`.
        object: String,
        /// `field (owned by manager)`, one per field.
        fields: Vec<String>,
    },
}

impl Change {
    /// Whether the cluster would change.
    pub fn changes(&self) -> bool {
        !matches!(self, Self::Unchanged { .. })
    }
}

/// Computes what applying `manifests` (and pruning) would change in `target`.
///
/// # Errors
///
/// The errors of an apply (conflicts, RBAC, a missing namespace), found by the dry run.
pub async fn diff(target: &Target, manifests: &[Manifest], force: bool) -> Result<Vec<Change>> {
    let mut out = Vec::new();
    for m in manifests {
        let api: Api<DynamicObject> = Api::namespaced_with(
            target.cluster.client(),
            &target.namespace,
            &m.kind.api_resource(),
        );
        let live = api.get_opt(&m.name).await.map_err(|e| {
            target
                .cluster
                .error(&format!("read {}", m.label()), &target.namespace, e)
        })?;
        let dry = |force| ApplyOptions {
            force,
            dry_run: true,
        };
        let after = match apply::apply(&target.cluster, &target.namespace, m, dry(force)).await {
            Err(KubeError::Conflict { conflicts, .. }) => {
                out.push(Change::Conflict {
                    object: m.label(),
                    fields: conflicts
                        .iter()
                        .map(|c| format!("{} (owned by {})", c.field, c.manager))
                        .collect(),
                });
                apply::apply(&target.cluster, &target.namespace, m, dry(true)).await?
            }
            other => other?,
        };
        let after = yaml(&after, m)?;
        out.push(match live {
            None => Change::Create {
                object: m.label(),
                yaml: after,
            },
            Some(live) => {
                let before = yaml(&live, m)?;
                if before == after {
                    Change::Unchanged { object: m.label() }
                } else {
                    Change::Update {
                        object: m.label(),
                        diff: unified(&before, &after, &m.label()),
                    }
                }
            }
        });
    }
    let live = prune::list_live(
        &target.cluster,
        &target.namespace,
        &target.app,
        &target.instance,
    )
    .await?;
    for l in prune::prunable(&live, manifests) {
        out.push(Change::Delete {
            object: format!("{} `{}`", l.kind.kind, l.name),
        });
    }
    Ok(out)
}

/// The object as YAML without what the server keeps for itself.
fn yaml(o: &DynamicObject, m: &Manifest) -> Result<String> {
    let mut v = serde_json::to_value(o).map_err(|source| KubeError::Encode {
        what: m.label(),
        source,
    })?;
    normalize(&mut v);
    serde_saphyr::to_string(&v).map_err(|e| KubeError::BadRecord {
        name: m.label(),
        problem: e.to_string(),
    })
}

/// Drops the fields an apply never sets and the server changes on its own.
pub fn normalize(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
    }
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "managedFields",
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "selfLink",
        ] {
            meta.remove(k);
        }
        if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            a.remove("deployment.kubernetes.io/revision");
            if a.is_empty() {
                meta.remove("annotations");
            }
        }
    }
}

fn unified(before: &str, after: &str, label: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live {label}"), &format!("applied {label}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_fields_are_ignored() {
        let mut v = serde_json::json!({
            "metadata": {
                "name": "hello",
                "resourceVersion": "42",
                "generation": 3,
                "managedFields": [{"manager": "hoist"}],
                "annotations": {"deployment.kubernetes.io/revision": "2"}
            },
            "spec": {"replicas": 3},
            "status": {"replicas": 3}
        });
        normalize(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"metadata": {"name": "hello"}, "spec": {"replicas": 3}})
        );
    }

    #[test]
    fn the_diff_shows_the_changed_lines() {
        let d = unified("a: 1\nb: 2\n", "a: 1\nb: 3\n", "Deployment `x`");
        assert!(d.contains("-b: 2\n+b: 3\n"), "{d}");
        assert!(d.contains("--- live Deployment `x`"), "{d}");
    }
}
