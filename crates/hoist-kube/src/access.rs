//! Whether a cluster answers and would let hoist deploy there: what `hoist doctor` asks of
//! every context before a deploy has to find out.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};

use crate::{Cluster, Result};

/// What the API server said about us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The server's version (`v1.37.0`).
    pub version: String,
    /// What a deploy needs that RBAC refuses, as `VERB RESOURCE` (empty: all allowed).
    pub denied: Vec<String>,
}

/// What a deploy does in the namespace (server-side apply is a PATCH): the kinds hoist
/// always renders.
const NEEDED: &[(&str, &str, &str)] = &[
    ("patch", "apps", "deployments"),
    ("patch", "", "services"),
    ("patch", "", "secrets"),
];

impl Cluster {
    /// Asks the API server for its version (it answers: the server is reachable and the
    /// credentials accepted) and whether this user may apply what a deploy applies in
    /// `namespace` (SelfSubjectAccessReviews, which every user may create).
    ///
    /// # Errors
    /// [`crate::KubeError::Unreachable`], [`crate::KubeError::Unauthorized`] and the other
    /// request errors, classified as for a deploy.
    pub async fn access(&self, namespace: &str) -> Result<Access> {
        let client = self.client();
        let version = client
            .apiserver_version()
            .await
            .map_err(|e| self.error("get the server version", namespace, e))?;
        let reviews: Api<SelfSubjectAccessReview> = Api::all(client);
        let mut denied = Vec::new();
        for (verb, group, resource) in NEEDED {
            let review = SelfSubjectAccessReview {
                spec: SelfSubjectAccessReviewSpec {
                    resource_attributes: Some(ResourceAttributes {
                        namespace: Some(namespace.to_owned()),
                        verb: Some((*verb).to_owned()),
                        group: Some((*group).to_owned()),
                        resource: Some((*resource).to_owned()),
                        ..ResourceAttributes::default()
                    }),
                    ..SelfSubjectAccessReviewSpec::default()
                },
                ..SelfSubjectAccessReview::default()
            };
            let answer = reviews
                .create(&PostParams::default(), &review)
                .await
                .map_err(|e| self.error("create selfsubjectaccessreviews", namespace, e))?;
            if !answer.status.is_some_and(|s| s.allowed) {
                denied.push(format!("{verb} {resource}"));
            }
        }
        Ok(Access {
            version: version.git_version,
            denied,
        })
    }
}
