//! The HorizontalPodAutoscaler (autoscaling/v2) from `run.autoscale`: CPU utilisation of the
//! request.

use hoist_core::App;
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};

use crate::labels::Labels;
use crate::metadata;
use crate::probes::int32;

pub(crate) fn hpa(app: &App, labels: &Labels) -> Option<HorizontalPodAutoscaler> {
    let scale = app.run.autoscale.as_ref()?;
    Some(HorizontalPodAutoscaler {
        metadata: metadata(&app.app.name, labels),
        spec: HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".to_owned()),
                kind: "Deployment".to_owned(),
                name: app.app.name.clone(),
            },
            min_replicas: Some(int32(scale.min)),
            max_replicas: int32(scale.max),
            metrics: Some(vec![MetricSpec {
                type_: "Resource".to_owned(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".to_owned(),
                    target: MetricTarget {
                        type_: "Utilization".to_owned(),
                        average_utilization: Some(int32(scale.cpu_percent)),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]),
            ..HorizontalPodAutoscalerSpec::default()
        },
        ..HorizontalPodAutoscaler::default()
    })
}
