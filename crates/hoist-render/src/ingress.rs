//! The Ingress: `run.ingress` host and path prefix to the Service, with optional TLS.

use hoist_core::App;
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};

use crate::labels::Labels;
use crate::metadata;
use crate::service::SERVICE_PORT;

pub(crate) fn ingress(app: &App, labels: &Labels) -> Option<Ingress> {
    let ing = app.run.ingress.as_ref()?;
    let backend = IngressBackend {
        service: Some(IngressServiceBackend {
            name: app.app.name.clone(),
            port: Some(ServiceBackendPort {
                number: Some(SERVICE_PORT),
                name: None,
            }),
        }),
        resource: None,
    };
    Some(Ingress {
        metadata: metadata(&app.app.name, labels),
        spec: Some(IngressSpec {
            ingress_class_name: ing.class.clone(),
            rules: Some(vec![IngressRule {
                host: ing.host.clone(),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some(ing.path.clone()),
                        path_type: "Prefix".to_owned(),
                        backend,
                    }],
                }),
            }]),
            tls: ing.tls_secret.as_ref().map(|secret| {
                vec![IngressTLS {
                    hosts: ing.host.clone().map(|h| vec![h]),
                    secret_name: Some(secret.clone()),
                }]
            }),
            ..IngressSpec::default()
        }),
        ..Ingress::default()
    })
}
