//! Renders the merged [`App`] into Kubernetes manifests and a Dockerfile.
//!
//! What it does:
//! - [`render`] builds typed `k8s-openapi` objects — PodDisruptionBudget (with more than one
//!   replica), ServiceAccount, ConfigMap (from `[config]`), PersistentVolumeClaim (from
//!   `run.state`), Service, Deployment,
//!   HorizontalPodAutoscaler (from `run.autoscale`) and Ingress (from `run.ingress`) — in the
//!   order they are best applied, labelled `app.kubernetes.io/{name,instance,version,managed-by}`,
//!   with the image pinned by digest;
//! - [`to_yaml`] and [`to_yaml_stream`] write them as YAML: the same input gives the same bytes,
//!   keys in Kubernetes' customary order (`apiVersion`, `kind`, `metadata`, `spec`, then the
//!   rest alphabetically) and every string YAML 1.1 would misread (`on`, `yes`, `1:30`, dates)
//!   quoted;
//! - [`dockerfile`] writes a multi-stage Dockerfile and `.dockerignore` equivalent to what
//!   `hoist build` makes, for teams that must use `docker build`.
//!
//! What it does not do: validate the app spec (`hoist-config` did, so every value here is one
//! Kubernetes accepts), read git or files, talk to a cluster, or choose a namespace (the
//! manifests carry none: they go where they are applied).

mod configmap;
mod deployment;
mod dockerfile;

mod error;
mod hpa;
mod image;
mod ingress;
mod labels;
mod pdb;
mod probes;
mod service;
mod state;
mod yaml;

use hoist_core::App;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub use deployment::CONFIG_HASH;
pub use dockerfile::{DockerfileInput, Dockerfiles, GO_BUILDER, dockerfile};

pub use error::RenderError;
pub use image::PinnedImage;
pub use labels::{INSTANCE, MANAGED_BY, NAME, VERSION, instance, label_value};
pub use service::SERVICE_PORT;
pub use yaml::{to_yaml, to_yaml_stream};

use labels::Labels;

/// What the manifests need beyond the app spec.
#[derive(Debug, Clone)]
pub struct RenderInput {
    /// The image to run, pinned by digest.
    pub image: PinnedImage,
    /// The `app.kubernetes.io/version` label, e.g. `git describe` (`v1.2.3`, `dev`).
    pub version: String,
}

/// One rendered Kubernetes object.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// policy/v1 PodDisruptionBudget.
    PodDisruptionBudget(PodDisruptionBudget),
    /// v1 ServiceAccount.
    ServiceAccount(ServiceAccount),
    /// v1 ConfigMap.
    ConfigMap(ConfigMap),
    /// v1 PersistentVolumeClaim (`run.state`).
    PersistentVolumeClaim(Box<PersistentVolumeClaim>),
    /// v1 Service.
    Service(Service),
    /// apps/v1 Deployment.
    Deployment(Box<Deployment>),
    /// autoscaling/v2 HorizontalPodAutoscaler.
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
    /// networking.k8s.io/v1 Ingress.
    Ingress(Ingress),
}

/// `match` over every variant with the inner object bound to `$o`.
macro_rules! each {
    ($self:expr, $o:ident => $body:expr) => {
        match $self {
            Object::PodDisruptionBudget($o) => $body,
            Object::ServiceAccount($o) => $body,
            Object::ConfigMap($o) => $body,
            Object::PersistentVolumeClaim($o) => $body,
            Object::Service($o) => $body,
            Object::Deployment($o) => $body,
            Object::HorizontalPodAutoscaler($o) => $body,
            Object::Ingress($o) => $body,
        }
    };
}

impl Object {
    /// The object's kind, e.g. `Deployment`.
    pub fn kind(&self) -> &'static str {
        use k8s_openapi::Resource as _;
        match self {
            Self::PodDisruptionBudget(_) => PodDisruptionBudget::KIND,
            Self::ServiceAccount(_) => ServiceAccount::KIND,
            Self::ConfigMap(_) => ConfigMap::KIND,
            Self::PersistentVolumeClaim(_) => PersistentVolumeClaim::KIND,
            Self::Service(_) => Service::KIND,
            Self::Deployment(_) => Deployment::KIND,
            Self::HorizontalPodAutoscaler(_) => HorizontalPodAutoscaler::KIND,
            Self::Ingress(_) => Ingress::KIND,
        }
    }

    /// The file this object is written to by `hoist render --out DIR`: `<kind>.yaml` in
    /// lowercase, one of [`FILE_NAMES`].
    pub fn file_name(&self) -> String {
        format!("{}.yaml", self.kind().to_ascii_lowercase())
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        each!(self, o => o.metadata.name.as_deref().unwrap_or_default())
    }
}

impl serde::Serialize for Object {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::ConfigMap(c) => configmap::serialize(c, s),
            other => each!(other, o => o.serialize(s)),
        }
    }
}

/// Every file name [`Object::file_name`] can return, so a writer can remove the files of
/// objects an app no longer has.
pub const FILE_NAMES: &[&str] = &[
    "poddisruptionbudget.yaml",
    "serviceaccount.yaml",
    "configmap.yaml",
    "persistentvolumeclaim.yaml",
    "service.yaml",
    "deployment.yaml",
    "horizontalpodautoscaler.yaml",
    "ingress.yaml",
];

/// Renders every object `app` needs, in the order to apply them: PodDisruptionBudget,
/// ServiceAccount, ConfigMap, PersistentVolumeClaim, Service, Deployment,
/// HorizontalPodAutoscaler, Ingress (each only when the app calls for it).
///
/// # Errors
///
/// [`RenderError::InvalidLabelValue`] when `input.version` (or the instance name) is not a
/// Kubernetes label value.
pub fn render(app: &App, input: &RenderInput) -> Result<Vec<Object>, RenderError> {
    let labels = Labels::new(app, &input.version)?;
    let mut out = Vec::new();
    out.extend(pdb::pdb(app, &labels).map(Object::PodDisruptionBudget));
    out.push(Object::ServiceAccount(service::service_account(
        app, &labels,
    )));
    out.extend(configmap::config_map(app, &labels).map(Object::ConfigMap));
    out.extend(state::claim(app, &labels).map(|c| Object::PersistentVolumeClaim(Box::new(c))));
    out.push(Object::Service(service::service(app, &labels)));
    out.push(Object::Deployment(Box::new(deployment::deployment(
        app,
        &input.image,
        &labels,
    ))));
    out.extend(hpa::hpa(app, &labels).map(Object::HorizontalPodAutoscaler));
    out.extend(ingress::ingress(app, &labels).map(Object::Ingress));
    Ok(out)
}

/// Metadata of a top-level object: its name and every label.
fn metadata(name: &str, labels: &Labels) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        labels: Some(labels.all()),
        ..ObjectMeta::default()
    }
}
