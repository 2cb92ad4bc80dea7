//! The PodDisruptionBudget: with more than one replica, node drains take one pod at a time.

use hoist_core::App;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::labels::Labels;
use crate::metadata;

/// A budget when the app runs more than one replica (the autoscaler's minimum, if it has
/// one): with a single replica a budget would block node drains forever.
pub(crate) fn pdb(app: &App, labels: &Labels) -> Option<PodDisruptionBudget> {
    let fewest = app
        .run
        .autoscale
        .as_ref()
        .map_or(app.run.replicas, |a| a.min);
    (fewest > 1).then(|| PodDisruptionBudget {
        metadata: metadata(&app.app.name, labels),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(labels.selector()),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    })
}
