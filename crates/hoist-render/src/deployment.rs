//! The Deployment: the pods, their container, probes, resources, security and rollout.

use std::collections::BTreeMap;

use hoist_core::{App, IntOrPercent, State, StateUpdate, Writers};
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapEnvSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvFromSource, EnvVar, PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements,
    SeccompProfile, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sha2::{Digest as _, Sha256};

use crate::image::PinnedImage;
use crate::labels::Labels;
use crate::metadata;
use crate::probes::{PORT_NAME, int32, probe, seconds};

/// The uid and gid the container runs as: `nonroot` of hoist's `static` base (and distroless).
const NONROOT: i64 = 65532;

/// Pod annotation holding a hash of `[config]`: a config change changes the pod template, so
/// Kubernetes rolls the pods and they read the new values.
pub const CONFIG_HASH: &str = "hoist.dev/config-hash";

pub(crate) fn deployment(app: &App, image: &PinnedImage, labels: &Labels) -> Deployment {
    let name = &app.app.name;
    Deployment {
        metadata: metadata(name, labels),
        spec: DeploymentSpec {
            // With an autoscaler the HPA owns the count: a replica count here would reset it on
            // every apply.
            replicas: app.run.autoscale.is_none().then(|| int32(app.run.replicas)),
            selector: LabelSelector {
                match_labels: Some(labels.selector()),
                ..LabelSelector::default()
            },
            strategy: Some(strategy(app)),
            progress_deadline_seconds: Some(seconds(app.run.rollout.deadline)),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels.all()),
                    annotations: pod_annotations(app),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(app, image)),
            },
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    }
}

/// `Recreate` for a single writer of `run.state` that asks for it (the old pod is gone before
/// the new one mounts the volume), else a rolling update by `run.rollout`.
fn strategy(app: &App) -> DeploymentStrategy {
    let recreate = app
        .run
        .state
        .as_ref()
        .is_some_and(|s| s.writers == Writers::One && s.update == StateUpdate::Recreate);
    if recreate {
        return DeploymentStrategy {
            type_: Some("Recreate".to_owned()),
            rolling_update: None,
        };
    }
    DeploymentStrategy {
        type_: Some("RollingUpdate".to_owned()),
        rolling_update: Some(RollingUpdateDeployment {
            max_surge: Some(int_or_percent(app.run.rollout.max_surge)),
            max_unavailable: Some(int_or_percent(app.run.rollout.max_unavailable)),
        }),
    }
}

fn int_or_percent(v: IntOrPercent) -> IntOrString {
    match v {
        IntOrPercent::Int(n) => IntOrString::Int(int32(n)),
        IntOrPercent::Percent(p) => IntOrString::String(format!("{p}%")),
    }
}

/// The config hash, and Dapr's sidecar annotations when `[dapr]` is on.
fn pod_annotations(app: &App) -> Option<BTreeMap<String, String>> {
    let mut a = BTreeMap::new();
    if !app.config.is_empty() {
        a.insert(CONFIG_HASH.to_owned(), config_hash(&app.config));
    }
    if let Some(dapr) = &app.dapr {
        a.insert("dapr.io/enabled".to_owned(), "true".to_owned());
        a.insert("dapr.io/app-id".to_owned(), dapr.app_id.clone());
        a.insert("dapr.io/app-port".to_owned(), app.app.port.to_string());
    }
    (!a.is_empty()).then_some(a)
}

/// sha256 over `key NUL value NUL` pairs in key order: the same config, the same hash.
fn config_hash(config: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    for (k, v) in config {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..8])
}

fn pod_spec(app: &App, image: &PinnedImage) -> PodSpec {
    PodSpec {
        service_account_name: Some(app.app.name.clone()),
        termination_grace_period_seconds: Some(
            i64::try_from(app.run.termination_grace.as_secs()).unwrap_or(i64::MAX),
        ),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(NONROOT),
            run_as_group: Some(NONROOT),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_owned(),
                ..SeccompProfile::default()
            }),
            // The state volume is made writable by the nonroot group.
            fs_group: app.run.state.as_ref().map(|_| NONROOT),
            ..PodSecurityContext::default()
        }),
        containers: vec![container(app, image)],
        // The root filesystem is read-only; Go's os.TempDir() and most apps need a writable /tmp.
        volumes: Some(
            std::iter::once(Volume {
                name: "tmp".to_owned(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Volume::default()
            })
            .chain(crate::state::volume(app))
            .collect(),
        ),
        ..PodSpec::default()
    }
}

fn container(app: &App, image: &PinnedImage) -> Container {
    let run = &app.run;
    Container {
        name: app.app.name.clone(),
        image: Some(image.to_string()),
        args: (!app.app.args.is_empty()).then(|| app.app.args.clone()),
        ports: Some(vec![ContainerPort {
            name: Some(PORT_NAME.to_owned()),
            container_port: i32::from(app.app.port),
            protocol: Some("TCP".to_owned()),
            ..ContainerPort::default()
        }]),
        env: Some(env(app)),
        env_from: (!app.config.is_empty()).then(|| {
            vec![EnvFromSource {
                config_map_ref: Some(ConfigMapEnvSource {
                    name: app.app.name.clone(),
                    optional: None,
                }),
                ..EnvFromSource::default()
            }]
        }),
        resources: resources(app),
        readiness_probe: run.health.readiness.as_ref().map(probe),
        liveness_probe: run.health.liveness.as_ref().map(probe),
        startup_probe: run.health.startup.as_ref().map(probe),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(
            std::iter::once(VolumeMount {
                name: "tmp".to_owned(),
                mount_path: "/tmp".to_owned(),
                ..VolumeMount::default()
            })
            .chain(crate::state::mount(app))
            .collect(),
        ),
        ..Container::default()
    }
}

/// `PORT` (the app's port, as hoist's local runtime gives it), `STATE_DIR` with `run.state`,
/// and `run.env`, sorted by name (config validation keeps `run.env` off hoist's two).
fn env(app: &App) -> Vec<EnvVar> {
    let mut vars = BTreeMap::from([("PORT".to_owned(), app.app.port.to_string())]);
    if let Some(s) = &app.run.state {
        vars.insert(State::ENV.to_owned(), s.path.clone());
    }
    vars.extend(app.run.env.clone());
    vars.into_iter()
        .map(|(name, value)| EnvVar {
            name,
            value: Some(value),
            value_from: None,
        })
        .collect()
}

/// Requests for CPU and memory; memory is also the limit (a pod over its memory is killed
/// rather than starving its node). CPU has no limit: throttling hurts latency more than it
/// protects neighbours.
fn resources(app: &App) -> Option<ResourceRequirements> {
    let r = &app.run.resources;
    let mut requests = BTreeMap::new();
    let mut limits = BTreeMap::new();
    if let Some(cpu) = &r.cpu {
        requests.insert("cpu".to_owned(), Quantity(cpu.clone()));
    }
    if let Some(memory) = &r.memory {
        requests.insert("memory".to_owned(), Quantity(memory.clone()));
        limits.insert("memory".to_owned(), Quantity(memory.clone()));
    }
    (!requests.is_empty()).then(|| ResourceRequirements {
        requests: Some(requests),
        limits: (!limits.is_empty()).then_some(limits),
        ..ResourceRequirements::default()
    })
}
