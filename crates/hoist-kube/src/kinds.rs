//! The kinds hoist renders, and so the only kinds it ever applies, lists or prunes.

use kube::core::ApiResource;

/// One namespaced kind of object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// The kind, e.g. `Deployment`.
    pub kind: &'static str,
    /// The API group, empty for the core group.
    pub group: &'static str,
    /// The version, e.g. `v1`.
    pub version: &'static str,
    /// The resource name, e.g. `deployments`.
    pub plural: &'static str,
}

/// Every kind `hoist-render` makes, in apply order.
pub const ALL: &[Kind] = &[
    Kind {
        kind: "PodDisruptionBudget",
        group: "policy",
        version: "v1",
        plural: "poddisruptionbudgets",
    },
    Kind {
        kind: "ServiceAccount",
        group: "",
        version: "v1",
        plural: "serviceaccounts",
    },
    Kind {
        kind: "ConfigMap",
        group: "",
        version: "v1",
        plural: "configmaps",
    },
    Kind {
        kind: "PersistentVolumeClaim",
        group: "",
        version: "v1",
        plural: "persistentvolumeclaims",
    },
    Kind {
        kind: "Service",
        group: "",
        version: "v1",
        plural: "services",
    },
    Kind {
        kind: "Deployment",
        group: "apps",
        version: "v1",
        plural: "deployments",
    },
    Kind {
        kind: "HorizontalPodAutoscaler",
        group: "autoscaling",
        version: "v2",
        plural: "horizontalpodautoscalers",
    },
    Kind {
        kind: "Ingress",
        group: "networking.k8s.io",
        version: "v1",
        plural: "ingresses",
    },
];

impl Kind {
    /// The kind called `kind`, if hoist renders it.
    pub fn named(kind: &str) -> Option<&'static Self> {
        ALL.iter().find(|k| k.kind == kind)
    }

    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// kube's description of the resource.
    pub fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.to_owned(),
            version: self.version.to_owned(),
            api_version: self.api_version(),
            kind: self.kind.to_owned(),
            plural: self.plural.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rendered_file_has_a_kind() {
        for file in hoist_render::FILE_NAMES {
            let stem = file.trim_end_matches(".yaml");
            assert!(
                ALL.iter().any(|k| k.kind.to_ascii_lowercase() == stem),
                "{file}"
            );
        }
        assert_eq!(
            Kind::named("Ingress").unwrap().api_version(),
            "networking.k8s.io/v1"
        );
        assert_eq!(Kind::named("Service").unwrap().api_version(), "v1");
    }
}
