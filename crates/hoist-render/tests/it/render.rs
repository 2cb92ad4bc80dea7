//! The whole render output of the examples, as snapshots, plus the properties a reviewer
//! would check by eye: stable bytes, YAML 1.1-safe strings, labels and selectors.

use hoist_core::App;
use hoist_render::{Object, PinnedImage, RenderError, RenderInput, render, to_yaml_stream};

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn load(rel: &str, env: Option<&str>) -> App {
    let path = hoist_test::fs::repo_root().join(rel).join("hoist.toml");
    hoist_config::load(&path, env).unwrap_or_else(|e| panic!("{e}"))
}

fn input() -> RenderInput {
    RenderInput {
        image: PinnedImage::parse(&format!("registry.example.com/web/hello:v1.2.3@{DIGEST}"))
            .unwrap(),
        version: "v1.2.3".to_owned(),
    }
}

fn yaml(app: &App) -> String {
    to_yaml_stream(&render(app, &input()).unwrap()).unwrap()
}

fn kinds(objects: &[Object]) -> Vec<&'static str> {
    objects.iter().map(Object::kind).collect()
}

#[test]
fn hello_dev() {
    insta::assert_snapshot!(yaml(&load("examples/hello", Some("dev"))));
}

#[test]
fn hello_staging() {
    insta::assert_snapshot!(yaml(&load("examples/hello", Some("staging"))));
}

#[test]
fn hello_prod() {
    insta::assert_snapshot!(yaml(&load("examples/hello", Some("prod"))));
}

#[test]
fn shop_base() {
    insta::assert_snapshot!(yaml(&load("tests/fixtures/shop", None)));
}

#[test]
fn shop_dev() {
    insta::assert_snapshot!(yaml(&load("tests/fixtures/shop", Some("dev"))));
}

#[test]
fn shop_prod() {
    insta::assert_snapshot!(yaml(&load("tests/fixtures/shop", Some("prod"))));
}

#[test]
fn objects_come_in_apply_order_and_only_when_needed() {
    let dev = render(&load("examples/hello", Some("dev")), &input()).unwrap();
    assert_eq!(kinds(&dev), ["ServiceAccount", "Service", "Deployment"]);
    let prod = render(&load("examples/hello", Some("prod")), &input()).unwrap();
    assert_eq!(
        kinds(&prod),
        [
            "PodDisruptionBudget",
            "ServiceAccount",
            "Service",
            "Deployment",
            "HorizontalPodAutoscaler",
            "Ingress"
        ]
    );
    let shop = render(&load("tests/fixtures/shop", None), &input()).unwrap();
    assert!(kinds(&shop).contains(&"ConfigMap"));
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let app = load("tests/fixtures/shop", Some("prod"));
    let first = yaml(&app);
    for _ in 0..5 {
        assert_eq!(yaml(&app.clone()), first);
    }
}

#[test]
fn documents_start_with_api_version_kind_metadata() {
    let text = yaml(&load("tests/fixtures/shop", None));
    for doc in text.split("---\n") {
        let keys: Vec<&str> = doc
            .lines()
            .filter(|l| !l.starts_with(' ') && !l.is_empty())
            .map(|l| l.split(':').next().unwrap())
            .collect();
        assert_eq!(keys[..3], ["apiVersion", "kind", "metadata"], "{doc}");
    }
}

#[test]
fn strings_yaml_1_1_would_misread_are_quoted() {
    let text = yaml(&load("tests/fixtures/shop", None));
    for line in [
        "FEATURE_NEW_CART: \"on\"",
        "RELEASE_DATE: \"2024-05-01\"",
        "value: \"yes\"",
        "value: \"1:30\"",
        "value: \"3000\"",
    ] {
        assert!(text.contains(line), "`{line}` is not in:\n{text}");
    }
}

#[test]
fn an_unfit_version_label_is_refused() {
    let app = load("examples/hello", None);
    let mut bad = input();
    bad.version = "v1.2.3+build.5".to_owned();
    let err = render(&app, &bad).unwrap_err();
    assert!(matches!(err, RenderError::InvalidLabelValue { .. }));
    assert_eq!(
        err.to_string(),
        "label `app.kubernetes.io/version`: `v1.2.3+build.5` is not a valid Kubernetes label value: only letters, digits, `-`, `_` and `.` are allowed"
    );
}

/// A config as `hoist init` writes it, with no probes: the Deployment gets the readiness the
/// local agent uses, a TCP connect on the app's port.
#[test]
fn no_probes_means_ready_on_tcp() {
    let app = hoist_config::load_str(
        "hoist.toml",
        "[app]\nname = \"hello\"\nargs = [\"--listen=:$(PORT)\"]\n",
        None,
    )
    .unwrap();
    let text = yaml(&app);
    let readiness = text
        .split("readinessProbe:")
        .nth(1)
        .expect("a readiness probe");
    assert!(
        readiness.trim_start().starts_with("failureThreshold: 3"),
        "{text}"
    );
    assert!(
        readiness.contains("tcpSocket:\n            port: http"),
        "{text}"
    );
    assert!(!text.contains("livenessProbe"), "{text}");
    // `$(PORT)` is the kubelet's to expand, from the container's `PORT`.
    assert!(text.contains("- --listen=:$(PORT)"), "{text}");
}

/// `run.state` with one writer: a claim, the volume at the state path, `fsGroup` so the
/// nonroot user can write it, `STATE_DIR`, and `Recreate` so two pods never share it.
#[test]
fn single_writer_state() {
    let app = hoist_config::load_str(
        "hoist.toml",
        "[app]\nname = \"notes\"\n[run]\nstate = { path = \"/app/pb_data\", size = \"2Gi\" }\n",
        None,
    )
    .unwrap();
    insta::assert_snapshot!(yaml(&app));
    let objects = render(&app, &input()).unwrap();
    assert_eq!(
        kinds(&objects),
        [
            "ServiceAccount",
            "PersistentVolumeClaim",
            "Service",
            "Deployment"
        ]
    );
    let overlap = hoist_config::load_str(
        "hoist.toml",
        "[app]\nname = \"notes\"\n[run.state]\npath = \"/data\"\nupdate = \"overlap\"\n",
        None,
    )
    .unwrap();
    let text = yaml(&overlap);
    assert!(text.contains("type: RollingUpdate"), "{text}");
    assert!(text.contains("maxSurge: 1"), "{text}");
}
