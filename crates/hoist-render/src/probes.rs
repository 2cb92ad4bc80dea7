//! hoist's probes → Kubernetes `Probe`s.

use hoist_core::{Probe, ProbeAction};
use k8s_openapi::api::core::v1::{self as core, ExecAction, HTTPGetAction, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The name of the container's one port; probes and the Service refer to it by name.
pub(crate) const PORT_NAME: &str = "http";

/// A Kubernetes probe with every timing written out, so the manifest says what runs.
pub(crate) fn probe(p: &Probe) -> core::Probe {
    let mut out = core::Probe {
        initial_delay_seconds: Some(seconds(p.initial_delay)),
        period_seconds: Some(seconds(p.period)),
        timeout_seconds: Some(seconds(p.timeout)),
        success_threshold: Some(int32(p.success_threshold)),
        failure_threshold: Some(int32(p.failure_threshold)),
        ..core::Probe::default()
    };
    // Config validation allows only the app's port in probes: the one the container exposes.
    let port = || IntOrString::String(PORT_NAME.to_owned());
    match &p.action {
        ProbeAction::Http { path, .. } => {
            out.http_get = Some(HTTPGetAction {
                path: Some(path.clone()),
                port: port(),
                ..HTTPGetAction::default()
            });
        }
        ProbeAction::Tcp { .. } => {
            out.tcp_socket = Some(TCPSocketAction {
                port: port(),
                ..TCPSocketAction::default()
            });
        }
        ProbeAction::Exec { command } => {
            out.exec = Some(ExecAction {
                command: Some(command.clone()),
            });
        }
    }
    out
}

/// Whole seconds as Kubernetes' int32 (config validation keeps them whole and in range).
pub(crate) fn seconds(d: std::time::Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

/// A count as Kubernetes' int32 (config validation keeps counts within int32).
pub(crate) fn int32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
