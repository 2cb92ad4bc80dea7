//! `run.state` on Kubernetes: a PersistentVolumeClaim mounted at the state path, writable by
//! the nonroot user through the pod's `fsGroup`.

use std::collections::BTreeMap;

use hoist_core::App;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource, Volume,
    VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::labels::Labels;
use crate::metadata;

/// The name of the state volume in the pod (and the suffix of its claim's name).
pub(crate) const VOLUME: &str = "state";

/// The claim's name: `<app>-state`.
pub(crate) fn claim_name(app: &App) -> String {
    format!("{}-{VOLUME}", app.app.name)
}

/// The claim, when the app has state: `ReadWriteOnce` (one node mounts it, as one writer
/// needs) of `run.state.size`, from the cluster's default storage class.
pub(crate) fn claim(app: &App, labels: &Labels) -> Option<PersistentVolumeClaim> {
    let state = app.run.state.as_ref()?;
    Some(PersistentVolumeClaim {
        metadata: metadata(&claim_name(app), labels),
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_owned(),
                    Quantity(state.size.clone()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    })
}

/// The pod's volume of the claim.
pub(crate) fn volume(app: &App) -> Option<Volume> {
    app.run.state.as_ref()?;
    Some(Volume {
        name: VOLUME.to_owned(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: claim_name(app),
            read_only: None,
        }),
        ..Volume::default()
    })
}

/// The container's mount of it at `run.state.path`.
pub(crate) fn mount(app: &App) -> Option<VolumeMount> {
    let state = app.run.state.as_ref()?;
    Some(VolumeMount {
        name: VOLUME.to_owned(),
        mount_path: state.path.clone(),
        ..VolumeMount::default()
    })
}
