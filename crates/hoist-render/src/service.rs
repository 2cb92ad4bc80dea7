//! The Service (port 80 → the app's named port) and the ServiceAccount the pods run as.

use hoist_core::App;
use k8s_openapi::api::core::v1::{Service, ServiceAccount, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::labels::Labels;
use crate::metadata;
use crate::probes::PORT_NAME;

/// The port the Service listens on inside the cluster.
pub const SERVICE_PORT: i32 = 80;

pub(crate) fn service(app: &App, labels: &Labels) -> Service {
    Service {
        metadata: metadata(&app.app.name, labels),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(labels.selector()),
            ports: Some(vec![ServicePort {
                name: Some(PORT_NAME.to_owned()),
                port: SERVICE_PORT,
                target_port: Some(IntOrString::String(PORT_NAME.to_owned())),
                protocol: Some("TCP".to_owned()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The app's own identity in the cluster, so it never runs as the namespace's `default`
/// account (which other workloads share and may have been granted rights).
pub(crate) fn service_account(app: &App, labels: &Labels) -> ServiceAccount {
    ServiceAccount {
        metadata: metadata(&app.app.name, labels),
        ..ServiceAccount::default()
    }
}
