//! Prune: objects of the app that hoist applied before but no longer renders (an Ingress
//! removed from the config) are deleted. Only objects of the kinds hoist renders, carrying the
//! app's `name`, `instance` and `managed-by: hoist` labels, *and* with `hoist` among their field
//! managers, are candidates; nothing else in the namespace is ever touched.

use std::collections::BTreeSet;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams};

use crate::apply::{FIELD_MANAGER, Manifest};
use crate::cluster::Cluster;
use crate::error::Result;
use crate::kinds::{ALL, Kind};

/// One live object that could be pruned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Live {
    /// Its kind.
    pub kind: &'static Kind,
    /// Its name.
    pub name: String,
    /// The managers in its `managedFields`.
    pub managers: Vec<String>,
}

/// The objects of `live` to delete: managed by hoist and not in `keep` — never a
/// PersistentVolumeClaim, whose deletion would delete the app's data with it (removing
/// `run.state` from hoist.toml must not do that; `kubectl delete pvc` does, on purpose).
pub fn prunable<'a>(live: &'a [Live], keep: &[Manifest]) -> Vec<&'a Live> {
    let keep: BTreeSet<(&str, &str)> = keep
        .iter()
        .map(|m| (m.kind.kind, m.name.as_str()))
        .collect();
    live.iter()
        .filter(|l| l.kind.kind != "PersistentVolumeClaim")
        .filter(|l| l.managers.iter().any(|m| m == FIELD_MANAGER))
        .filter(|l| !keep.contains(&(l.kind.kind, l.name.as_str())))
        .collect()
}

/// The label selector of an app instance's objects.
pub(crate) fn selector(app: &str, instance: &str) -> String {
    format!(
        "{}={app},{}={instance},{}=hoist",
        hoist_render::NAME,
        hoist_render::INSTANCE,
        hoist_render::MANAGED_BY
    )
}

/// Lists the app instance's objects of every kind hoist renders.
pub(crate) async fn list_live(
    cluster: &Cluster,
    namespace: &str,
    app: &str,
    instance: &str,
) -> Result<Vec<Live>> {
    let params = ListParams::default().labels(&selector(app, instance));
    // One list per kind, all at once.
    let lists = futures::future::try_join_all(ALL.iter().map(|kind| {
        let api: Api<DynamicObject> =
            Api::namespaced_with(cluster.client(), namespace, &kind.api_resource());
        let params = &params;
        async move {
            api.list_metadata(params)
                .await
                .map(|l| (kind, l))
                .map_err(|e| cluster.error(&format!("list {}", kind.plural), namespace, e))
        }
    }))
    .await?;
    let mut out = Vec::new();
    for (kind, list) in lists {
        for o in list.items {
            out.push(Live {
                kind,
                name: o.metadata.name.unwrap_or_default(),
                managers: o
                    .metadata
                    .managed_fields
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|f| f.manager)
                    .collect(),
            });
        }
    }
    Ok(out)
}

/// Deletes what [`prunable`] picks (background propagation: a Deployment's ReplicaSets and
/// pods go too). Returns what was deleted, as `Kind name`.
pub(crate) async fn prune(
    cluster: &Cluster,
    namespace: &str,
    app: &str,
    instance: &str,
    keep: &[Manifest],
) -> Result<Vec<Live>> {
    let live = list_live(cluster, namespace, app, instance).await?;
    let mut deleted = Vec::new();
    for l in prunable(&live, keep) {
        let api: Api<DynamicObject> =
            Api::namespaced_with(cluster.client(), namespace, &l.kind.api_resource());
        match api.delete(&l.name, &DeleteParams::background()).await {
            Ok(_) => deleted.push(l.clone()),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => {
                return Err(cluster.error(
                    &format!("prune {} `{}`", l.kind.kind, l.name),
                    namespace,
                    e,
                ));
            }
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(kind: &str, name: &str, managers: &[&str]) -> Live {
        Live {
            kind: Kind::named(kind).unwrap(),
            name: name.into(),
            managers: managers.iter().map(|m| (*m).to_owned()).collect(),
        }
    }

    fn keep(kind: &str, name: &str) -> Manifest {
        Manifest::from_json(serde_json::json!({"kind": kind, "metadata": {"name": name}})).unwrap()
    }

    #[test]
    fn only_hoists_objects_that_are_no_longer_rendered_go() {
        let live = [
            live("Deployment", "hello", &["hoist", "kube-controller-manager"]),
            live("Ingress", "hello", &["hoist"]),
            // Labelled like the app, but applied by someone else: never touched.
            live("ConfigMap", "hello-extra", &["kubectl-client-side-apply"]),
            // Same name, another kind: still rendered as a Service, not as an Ingress.
            live("Service", "hello", &["hoist"]),
            // The app's data: kept when `run.state` goes.
            live("PersistentVolumeClaim", "hello-state", &["hoist"]),
        ];
        let keep = [keep("Deployment", "hello"), keep("Service", "hello")];
        let names: Vec<String> = prunable(&live, &keep)
            .iter()
            .map(|l| format!("{} {}", l.kind.kind, l.name))
            .collect();
        assert_eq!(names, ["Ingress hello"]);
    }
}
