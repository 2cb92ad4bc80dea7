//! What the user can do about a Kubernetes error.

use hoist_kube::KubeError;

/// A hint for `e`, when there is one.
pub fn hint(e: &KubeError) -> Option<String> {
    Some(match e {
        KubeError::NoKubeconfig { .. } => "point hoist at a kubeconfig with `--kubeconfig FILE` or `KUBECONFIG=FILE`, or write `~/.kube/config` (your cluster's tooling, e.g. `kind get kubeconfig` or your cloud's CLI, prints one)".to_owned(),
        KubeError::KubeconfigRead { .. } => "check the file's permissions; `--kubeconfig` and `KUBECONFIG` choose another".to_owned(),
        KubeError::KubeconfigParse { .. } => "fix the YAML at that line; `kubectl config view` shows how kubectl reads the file".to_owned(),
        KubeError::NoCurrentContext { .. } | KubeError::UnknownContext { .. } => "name one of the listed contexts with `--context NAME` (repeatable) or `kubernetes.contexts` in hoist.toml; `kubectl config get-contexts` lists them".to_owned(),
        KubeError::BadContext { .. } | KubeError::Client { .. } => "the context's cluster or user entry is incomplete or wrong; `kubectl config view --minify --context NAME` shows it".to_owned(),
        KubeError::Unreachable { server, .. } => format!(
            "check that the API server at `{server}` is running and reachable from here (`curl -k {server}/readyz`), and that the kubeconfig's server address and CA are right"
        ),
        KubeError::Unauthorized { .. } => "the kubeconfig's credentials are expired or not accepted: log in again or fetch a fresh kubeconfig".to_owned(),
        KubeError::Forbidden(f) => format!(
            "ask a cluster admin to grant `{user}` `{verb}` on `{resource}` in namespace `{namespace}` (a Role and RoleBinding; the `admin` ClusterRole bound in the namespace covers everything hoist does), or deploy with a context that has it; `kubectl auth can-i {verb} {resource} -n {namespace}` checks",
            user = f.user,
            verb = f.verb,
            resource = f.resource,
            namespace = f.namespace
        ),
        KubeError::NamespaceMissing { namespace, .. } => format!(
            "create it (`kubectl create namespace {namespace}`), or pass `--create-namespace` (or set `kubernetes.create_namespace = true`)"
        ),
        KubeError::Conflict { conflicts, .. } => {
            let managers: Vec<&str> = conflicts.iter().map(|c| c.manager.as_str()).collect();
            format!(
                "another tool ({}) changed these fields since hoist applied them; pass `--force-conflicts` to take them over for hoist, or change them back with the tool that set them",
                managers.join(", ")
            )
        }
        KubeError::NoSuchRevision { .. } => "`hoist history --target kubernetes` lists the revisions kept (`kubernetes.history_limit` of them)".to_owned(),
        KubeError::NothingToRollBack { .. } => "`hoist history --target kubernetes` shows what was deployed; `--to REV` picks one".to_owned(),
        KubeError::BadRecord { .. } => "the revision record was edited or written by another hoist; delete it (`kubectl delete secret NAME`) to forget that revision".to_owned(),
        _ => return None,
    })
}
