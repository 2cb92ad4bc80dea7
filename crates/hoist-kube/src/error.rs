//! Everything that can go wrong talking to a cluster, typed so the CLI can say what to do.

use std::path::PathBuf;

/// One field another manager owns, from a server-side apply conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldConflict {
    /// The field manager that owns the field, e.g. `kubectl-edit`.
    pub manager: String,
    /// The field's path, e.g. `.spec.replicas`.
    pub field: String,
}

/// What the API server said when it refused a request (a `Status` object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiStatus {
    /// The HTTP status code.
    pub code: u16,
    /// The machine-readable reason, e.g. `Forbidden`, `Conflict`, `Invalid`.
    pub reason: String,
    /// The human-readable message.
    pub message: String,
}

impl std::fmt::Display for ApiStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)
    }
}

/// Who was refused what, from a 403's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    /// The context.
    pub context: String,
    /// The user the server saw, from its message.
    pub user: String,
    /// The verb, e.g. `patch`.
    pub verb: String,
    /// The resource, e.g. `deployments.apps`.
    pub resource: String,
    /// The namespace.
    pub namespace: String,
    /// The server's whole message.
    pub message: String,
}

/// An error of the Kubernetes target.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KubeError {
    /// No kubeconfig file exists where hoist looked.
    #[error("no kubeconfig: none of {} exists", list_paths(.looked))]
    NoKubeconfig {
        /// The paths tried (`$KUBECONFIG`'s, or `~/.kube/config`).
        looked: Vec<PathBuf>,
    },
    /// A kubeconfig file could not be read.
    #[error("cannot read kubeconfig `{}`", .path.display())]
    KubeconfigRead {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A kubeconfig file is not valid YAML or not a kubeconfig.
    #[error("{}{}: not a valid kubeconfig: {message}", .path.display(), at(*.line, *.column))]
    KubeconfigParse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem, when known.
        line: Option<u64>,
        /// 1-based column of the problem, when known.
        column: Option<u64>,
        /// The parser's message.
        message: String,
    },
    /// No context was asked for and the kubeconfig has no `current-context`.
    #[error("the kubeconfig sets no `current-context` and no context was given; it has: {}", list(.available))]
    NoCurrentContext {
        /// The contexts the kubeconfig defines.
        available: Vec<String>,
    },
    /// The context asked for is not in the kubeconfig.
    #[error("no context `{context}` in the kubeconfig; it has: {}", list(.available))]
    UnknownContext {
        /// The context asked for.
        context: String,
        /// The contexts the kubeconfig defines.
        available: Vec<String>,
    },
    /// The context's cluster or user is incomplete or wrong (missing server, bad certificate…).
    #[error("context `{context}` cannot be used")]
    BadContext {
        /// The context.
        context: String,
        /// kube's reason.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// A client for the context could not be made (TLS set-up, auth plugin…).
    #[error("cannot make a client for context `{context}`")]
    Client {
        /// The context.
        context: String,
        /// kube's reason.
        #[source]
        source: kube::Error,
    },
    /// The API server did not answer: refused, no route, TLS failure, time-out.
    #[error("cannot reach the API server `{server}` of context `{context}`")]
    Unreachable {
        /// The context.
        context: String,
        /// The server URL from the kubeconfig.
        server: String,
        /// The connection error.
        #[source]
        source: kube::Error,
    },
    /// The credentials were refused (401).
    #[error("the API server `{server}` of context `{context}` refused the credentials: {message}")]
    Unauthorized {
        /// The context.
        context: String,
        /// The server URL.
        server: String,
        /// The server's message.
        message: String,
    },
    /// RBAC said no (403).
    #[error(
        "forbidden in context `{}`: user `{}` may not `{}` {} in namespace `{}`",
        .0.context, .0.user, .0.verb, .0.resource, .0.namespace
    )]
    Forbidden(Box<Forbidden>),
    /// The namespace does not exist (and was not to be created).
    #[error("namespace `{namespace}` does not exist in context `{context}`")]
    NamespaceMissing {
        /// The context.
        context: String,
        /// The namespace.
        namespace: String,
    },
    /// Server-side apply found fields that another field manager owns.
    #[error("{kind} `{name}`: {} owned by another field manager: {}", if .conflicts.len() == 1 { "a field is" } else { "fields are" }, list_conflicts(.conflicts))]
    Conflict {
        /// The object's kind.
        kind: String,
        /// The object's name.
        name: String,
        /// The conflicting fields.
        conflicts: Vec<FieldConflict>,
    },
    /// Any other refusal by the API server.
    #[error("{action} in context `{context}`: {status}")]
    Api {
        /// The context.
        context: String,
        /// What hoist was doing, e.g. "apply Deployment `hello`".
        action: String,
        /// The server's answer.
        status: ApiStatus,
    },
    /// The request failed for another reason (a bad response body, a request that could not be
    /// built).
    #[error("{action} in context `{context}`")]
    Request {
        /// The context.
        context: String,
        /// What hoist was doing.
        action: String,
        /// kube's reason.
        #[source]
        source: kube::Error,
    },
    /// A revision record in the cluster could not be read.
    #[error("revision record `{name}` is damaged: {problem}")]
    BadRecord {
        /// The Secret's name.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// `rollback --to N` names a revision the cluster does not keep.
    #[error("no revision {revision} of `{instance}` in namespace `{namespace}`; kept: {}", list(&.kept.iter().map(ToString::to_string).collect::<Vec<_>>()))]
    NoSuchRevision {
        /// The app instance.
        instance: String,
        /// The namespace.
        namespace: String,
        /// The revision asked for.
        revision: u64,
        /// The revisions kept.
        kept: Vec<u64>,
    },
    /// A rollback was asked for but there is no earlier revision that was deployed.
    #[error(
        "nothing to roll back to: `{instance}` has no earlier deployed revision in namespace `{namespace}`"
    )]
    NothingToRollBack {
        /// The app instance.
        instance: String,
        /// The namespace.
        namespace: String,
    },
    /// An object could not be turned into JSON (a bug).
    #[error("cannot encode {what}")]
    Encode {
        /// What.
        what: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

fn at(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn list_paths(paths: &[PathBuf]) -> String {
    list(
        &paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>(),
    )
}

fn list_conflicts(c: &[FieldConflict]) -> String {
    c.iter()
        .map(|c| format!("`{}` (owned by `{}`)", c.field, c.manager))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The result type of this crate.
pub type Result<T, E = KubeError> = std::result::Result<T, E>;
