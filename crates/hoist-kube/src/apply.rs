//! Server-side apply of rendered objects with field manager `hoist`, and the namespace.

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::Value;

use crate::cluster::Cluster;
use crate::error::{KubeError, Result};
use crate::kinds::Kind;

/// The field manager hoist applies as; prune only ever deletes objects it manages.
pub const FIELD_MANAGER: &str = "hoist";

/// One object to apply: its kind, name and JSON body (no namespace: it goes where it is
/// applied).
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The kind.
    pub kind: &'static Kind,
    /// `metadata.name`.
    pub name: String,
    /// The whole object.
    pub body: Value,
}

impl Manifest {
    /// A rendered object as a manifest.
    ///
    /// # Errors
    ///
    /// [`KubeError::Encode`] when it does not serialize (a bug).
    pub fn from_object(object: &hoist_render::Object) -> Result<Self> {
        let body = serde_json::to_value(object).map_err(|source| KubeError::Encode {
            what: format!("{} `{}`", object.kind(), object.name()),
            source,
        })?;
        Self::from_json(body).map_err(|problem| KubeError::BadRecord {
            name: object.name().to_owned(),
            problem,
        })
    }

    /// A manifest from JSON, as a revision record keeps it.
    ///
    /// # Errors
    ///
    /// What is wrong, when it is not an object of a kind hoist renders.
    pub fn from_json(body: Value) -> std::result::Result<Self, String> {
        let kind = body["kind"]
            .as_str()
            .ok_or_else(|| "an object without `kind`".to_owned())?;
        let kind = Kind::named(kind).ok_or_else(|| format!("hoist does not apply `{kind}`"))?;
        let name = body["metadata"]["name"]
            .as_str()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| format!("a {} without `metadata.name`", kind.kind))?
            .to_owned();
        Ok(Self { kind, name, body })
    }

    /// `Deployment hello`.
    pub fn label(&self) -> String {
        format!("{} `{}`", self.kind.kind, self.name)
    }
}

/// How to apply.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApplyOptions {
    /// Take fields other managers own (`--force-conflicts`).
    pub force: bool,
    /// Ask the server what it would do (`dryRun=All`), changing nothing.
    pub dry_run: bool,
}

/// Applies `m` in `namespace`; returns the object as the server has it (or would have it).
pub(crate) async fn apply(
    cluster: &Cluster,
    namespace: &str,
    m: &Manifest,
    options: ApplyOptions,
) -> Result<DynamicObject> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(cluster.client(), namespace, &m.kind.api_resource());
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = options.force;
    params.dry_run = options.dry_run;
    api.patch(&m.name, &params, &Patch::Apply(&m.body))
        .await
        .map_err(|e| {
            let verb = if options.dry_run {
                "dry-run apply"
            } else {
                "apply"
            };
            match cluster.error(&format!("{verb} {}", m.label()), namespace, e) {
                // The server's Status names neither: the object is ours to name.
                KubeError::Conflict { conflicts, .. } => KubeError::Conflict {
                    kind: m.kind.kind.to_owned(),
                    name: m.name.clone(),
                    conflicts,
                },
                other => other,
            }
        })
}

/// Creates `namespace` (server-side apply of a bare Namespace; an existing one is unchanged).
pub(crate) async fn ensure_namespace(cluster: &Cluster, namespace: &str) -> Result<()> {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(cluster.client());
    let body = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace},
    });
    api.patch(
        namespace,
        &PatchParams::apply(FIELD_MANAGER),
        &Patch::Apply(&body),
    )
    .await
    .map_err(|e| cluster.error(&format!("create namespace `{namespace}`"), namespace, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_come_from_json_of_rendered_kinds_only() {
        let m = Manifest::from_json(serde_json::json!({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "hello"}
        }))
        .unwrap();
        assert_eq!(m.label(), "Service `hello`");
        let e = Manifest::from_json(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}
        }))
        .unwrap_err();
        assert_eq!(e, "hoist does not apply `Secret`");
        assert!(Manifest::from_json(serde_json::json!({"kind": "Service"})).is_err());
    }
}
