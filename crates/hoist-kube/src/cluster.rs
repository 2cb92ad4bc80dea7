//! One cluster reached through one kubeconfig context, and the mapping of kube's errors to
//! [`KubeError`]s that say which context, server, user, verb and resource.

use crate::error::{ApiStatus, FieldConflict, KubeError};

/// A client for one context.
#[derive(Clone)]
pub struct Cluster {
    context: String,
    server: String,
    user: String,
    default_namespace: String,
    client: kube::Client,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("context", &self.context)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    pub(crate) fn new(
        context: String,
        server: String,
        user: String,
        default_namespace: String,
        client: kube::Client,
    ) -> Self {
        Self {
            context,
            server,
            user,
            default_namespace,
            client,
        }
    }

    /// The kubeconfig context's name.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// The API server's URL.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The context's namespace, else `default`.
    pub fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    /// The kube client.
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// Turns kube's error for `action` (in `namespace`) into a [`KubeError`].
    pub(crate) fn error(&self, action: &str, namespace: &str, e: kube::Error) -> KubeError {
        classify(self, action, namespace, e)
    }
}

fn classify(c: &Cluster, action: &str, namespace: &str, e: kube::Error) -> KubeError {
    let status = match e {
        kube::Error::Api(s) => *s,
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::RustlsTls(_) => {
            return KubeError::Unreachable {
                context: c.context.clone(),
                server: c.server.clone(),
                source: e,
            };
        }
        other => {
            return KubeError::Request {
                context: c.context.clone(),
                action: action.to_owned(),
                source: other,
            };
        }
    };
    match status.code {
        401 => KubeError::Unauthorized {
            context: c.context.clone(),
            server: c.server.clone(),
            message: status.message,
        },
        403 => forbidden(c, namespace, &status.message),
        404 if status
            .details
            .as_ref()
            .is_some_and(|d| d.kind == "namespaces") =>
        {
            KubeError::NamespaceMissing {
                context: c.context.clone(),
                namespace: status
                    .details
                    .map_or_else(|| namespace.to_owned(), |d| d.name),
            }
        }
        409 if status.reason == "Conflict" && !manager_conflicts(&status).is_empty() => {
            let conflicts = manager_conflicts(&status);
            let (kind, name) = status
                .details
                .map(|d| (kind_of(&d.kind), d.name))
                .unwrap_or_default();
            KubeError::Conflict {
                kind,
                name,
                conflicts,
            }
        }
        code => KubeError::Api {
            context: c.context.clone(),
            action: action.to_owned(),
            status: ApiStatus {
                code,
                reason: status.reason,
                message: status.message,
            },
        },
    }
}

/// The fields of a server-side apply conflict, from the Status' causes.
fn manager_conflicts(s: &kube::core::Status) -> Vec<FieldConflict> {
    s.details
        .iter()
        .flat_map(|d| &d.causes)
        .filter(|c| c.reason == "FieldManagerConflict")
        .map(|c| FieldConflict {
            manager: manager_of(&c.message),
            field: c.field.clone(),
        })
        .collect()
}

/// `deployments` (the details' resource) → `Deployment`.
fn kind_of(resource: &str) -> String {
    crate::kinds::ALL
        .iter()
        .find(|k| k.plural == resource)
        .map_or_else(|| resource.to_owned(), |k| k.kind.to_owned())
}

/// `conflict with "kubectl-edit" using apps/v1` → `kubectl-edit`.
fn manager_of(message: &str) -> String {
    message.split('"').nth(1).unwrap_or(message).to_owned()
}

/// `deployments.apps "hello" is forbidden: User "alice" cannot patch resource "deployments" in
/// API group "apps" in the namespace "team-a"` → user, verb, resource, namespace.
fn forbidden(c: &Cluster, namespace: &str, message: &str) -> KubeError {
    let parsed = parse_forbidden(message);
    KubeError::Forbidden(Box::new(crate::error::Forbidden {
        context: c.context.clone(),
        user: parsed
            .user
            .unwrap_or_else(|| non_empty(&c.user, "(unknown user)")),
        verb: parsed.verb.unwrap_or_else(|| "?".to_owned()),
        resource: parsed.resource.unwrap_or_else(|| "?".to_owned()),
        namespace: parsed.namespace.unwrap_or_else(|| namespace.to_owned()),
        message: message.to_owned(),
    }))
}

fn non_empty(s: &str, or: &str) -> String {
    if s.is_empty() { or } else { s }.to_owned()
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Parsed {
    user: Option<String>,
    verb: Option<String>,
    resource: Option<String>,
    namespace: Option<String>,
}

fn quoted_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &text[text.find(marker)? + marker.len()..];
    rest.split('"').next()
}

fn parse_forbidden(message: &str) -> Parsed {
    let user = quoted_after(message, "User \"").map(str::to_owned);
    let verb = message
        .find("\" cannot ")
        .map(|i| &message[i + "\" cannot ".len()..])
        .and_then(|r| r.split(' ').next())
        .map(str::to_owned);
    let resource = quoted_after(message, "resource \"").map(|r| {
        match quoted_after(message, "in API group \"") {
            Some(g) if !g.is_empty() => format!("{r}.{g}"),
            _ => r.to_owned(),
        }
    });
    let namespace = quoted_after(message, "in the namespace \"").map(str::to_owned);
    Parsed {
        user,
        verb,
        resource,
        namespace,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_messages_give_user_verb_resource_and_namespace() {
        let f = parse_forbidden(
            r#"deployments.apps "hello" is forbidden: User "alice" cannot patch resource "deployments" in API group "apps" in the namespace "team-a""#,
        );
        assert_eq!(
            f,
            Parsed {
                user: Some("alice".into()),
                verb: Some("patch".into()),
                resource: Some("deployments.apps".into()),
                namespace: Some("team-a".into()),
            }
        );
        let f = parse_forbidden(
            r#"secrets is forbidden: User "bob" cannot list resource "secrets" in API group "" in the namespace "x""#,
        );
        assert_eq!(f.resource.as_deref(), Some("secrets"));
        assert_eq!(f.verb.as_deref(), Some("list"));
        assert_eq!(parse_forbidden("nope"), Parsed::default());
    }

    #[test]
    fn conflict_messages_name_the_manager() {
        assert_eq!(
            manager_of(r#"conflict with "kubectl-edit" using apps/v1"#),
            "kubectl-edit"
        );
        assert_eq!(kind_of("deployments"), "Deployment");
    }
}
