//! Values that would make a Kubernetes manifest the API server rejects (or one that can never
//! work) are refused at load time, at `file:line:column`; and `--set` overrides, whose errors
//! name the flag.

use hoist_config::{ConfigError, load_str, load_str_with};

use crate::{error, error_with};

#[test]
fn negative_replicas() {
    assert_eq!(
        error("[run]\nreplicas = -1\n"),
        "hoist.toml:4:12: run.replicas: must be 0 or more, found -1"
    );
}

#[test]
fn a_rollout_that_cannot_progress() {
    assert_eq!(
        error("[run]\nrollout = { max_surge = 0, max_unavailable = 0 }\n"),
        "hoist.toml:4:46: run.rollout.max_unavailable: `max_surge` and `max_unavailable` both come to 0 for 1 replica, so the rollout would never make progress; allow at least one, like `max_surge = 1`"
    );
}

#[test]
fn a_probe_port_that_is_not_exposed() {
    assert_eq!(
        error("port = 8080\n[run.health]\npath = \"/healthz\"\nport = 9090\n"),
        "hoist.toml:6:8: run.health.port: port 9090 is not exposed: the container exposes only `app.port` (8080), so the probe would always fail; probe the app's port (remove `port`)"
    );
    assert_eq!(
        error("[run.health.liveness]\ntcp = true\nport = 81\n"),
        "hoist.toml:5:8: run.health.liveness.port: port 81 is not exposed: the container exposes only `app.port` (8080), so the probe would always fail; probe the app's port (remove `port`)"
    );
    // The app's own port, written out, is fine.
    let src = "[app]\nname = \"hello\"\nport = 3000\n[run.health]\ntcp = true\nport = 3000\n";
    assert!(load_str("hoist.toml", src, None).is_ok());
}

#[test]
fn an_invalid_host() {
    let e = error("[run]\ningress = { host = \"shop_example.com\" }\n");
    assert!(
        e.starts_with(
            "hoist.toml:4:20: run.ingress.host: `shop_example.com` is not a DNS name like `example.com` or `*.example.com`"
        ),
        "{e}"
    );
}

#[test]
fn an_invalid_label_value() {
    // app.kubernetes.io/instance is `<name>-<environment>`: at most 63 characters.
    let name = "a".repeat(55);
    let src = format!("[app]\nname = \"{name}\"\n[environments.staging-eu]\nrun.replicas = 1\n");
    let e = load_str("hoist.toml", &src, None).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "hoist.toml:3:15: environments.staging-eu: the label `app.kubernetes.io/instance: {name}-staging-eu` (app name, `-`, environment) would be 66 characters, and Kubernetes label values have at most 63; shorten the environment or the app name"
        )
    );
    // The Dapr app id is a label too.
    assert_eq!(
        error("[dapr]\napp_id = \"Shop\"\n"),
        "hoist.toml:4:10: dapr.app_id: `Shop` contains `S`; use 1 to 63 lowercase letters, digits and `-`, starting and ending with a letter or digit"
    );
}

#[test]
fn resource_quantities_kubernetes_rejects() {
    assert_eq!(
        error("[run]\nresources = { cpu = \"1.5m\" }\n"),
        "hoist.toml:4:21: run.resources.cpu: `1.5m` is finer than Kubernetes' CPU precision of 1m (0.001 cores); round it to whole millicores, like \"250m\""
    );
    assert_eq!(
        error("[run]\nresources = { cpu = \"0.0005\" }\n"),
        "hoist.toml:4:21: run.resources.cpu: `0.0005` is finer than Kubernetes' CPU precision of 1m (0.001 cores); round it to whole millicores, like \"250m\""
    );
    assert_eq!(
        error("[run]\nresources = { memory = \"0Mi\" }\n"),
        "hoist.toml:4:24: run.resources.memory: `0Mi` is no memory at all; a container with a memory limit of 0 cannot start"
    );
    assert!(
        error("[run]\nresources = { memory = \"1Gb\" }\n")
            .starts_with("hoist.toml:4:24: run.resources.memory: `1Gb` is not a memory amount"),
    );
}

#[test]
fn autoscale_needs_a_cpu_request() {
    assert_eq!(
        error("[run]\nautoscale = { max = 5 }\n"),
        "hoist.toml:4:13: run.autoscale: scales on CPU use as a percentage of `run.resources.cpu`, which is not set; add a CPU request, like `resources = { cpu = \"250m\" }` under `[run]`"
    );
    assert_eq!(
        error("[run]\nautoscale = { max = 5 }\nresources = { cpu = \"0m\" }\n"),
        "hoist.toml:5:21: run.resources.cpu: must be more than 0 with `run.autoscale`, which scales on CPU use as a percentage of this request"
    );
}

#[test]
fn dapr_defaults_and_overlays() {
    let src = "[app]\nname = \"shop\"\nport = 3000\n[dapr]\n[environments.dev]\ndapr.enabled = false\n[environments.prod]\ndapr.app_id = \"shop-api\"\n";
    let base = load_str("hoist.toml", src, None).unwrap();
    assert_eq!(base.dapr.unwrap().app_id, "shop");
    assert_eq!(load_str("hoist.toml", src, Some("dev")).unwrap().dapr, None);
    let prod = load_str("hoist.toml", src, Some("prod")).unwrap();
    assert_eq!(prod.dapr.unwrap().app_id, "shop-api");
    assert!(error("[dapr]\nport = 1\n").starts_with(
        "hoist.toml:4:1: dapr.port: unknown key `port`; allowed keys here: `enabled`, `app_id`"
    ));
}

#[test]
fn set_overrides_like_one_more_overlay() {
    let src = "[app]\nname = \"hello\"\n[run]\nreplicas = 3\nenv = { A = \"1\" }\n[environments.prod]\nrun.replicas = 5\n";
    let sets = [
        "run.replicas=7",
        "run.env.MODE=on",
        "config.DATE=2024-05-01",
        "run.resources.cpu=0.5",
        "image.tags=[\"sha\"]",
        "run.ingress.host=hello.example.com",
    ]
    .map(str::to_owned);
    let app = load_str_with("hoist.toml", src, Some("prod"), &sets).unwrap();
    assert_eq!(app.run.replicas, 7);
    assert_eq!(app.run.env["A"], "1");
    assert_eq!(app.run.env["MODE"], "on");
    assert_eq!(app.config["DATE"], "2024-05-01");
    assert_eq!(app.run.resources.cpu.as_deref(), Some("0.5"));
    assert_eq!(app.image.tags.len(), 1);
    assert_eq!(
        app.run.ingress.unwrap().host.as_deref(),
        Some("hello.example.com")
    );
    // Later flags win.
    let twice = ["run.replicas=1".to_owned(), "run.replicas=2".to_owned()];
    assert_eq!(
        load_str_with("hoist.toml", src, None, &twice)
            .unwrap()
            .run
            .replicas,
        2
    );
}

#[test]
fn set_errors_name_the_flag() {
    assert_eq!(
        error_with("", None, &["run.replicas=-1"]),
        "--set run.replicas=-1:1:14: run.replicas: must be 0 or more, found -1"
    );
    assert_eq!(
        error_with("", None, &["run.replica=2"]),
        "--set run.replica=2:1:5: run.replica: unknown key `replica` (did you mean `replicas`?); allowed keys here: `replicas`, `driver`, `env`, `health`, `rollout`, `resources`, `autoscale`, `ingress`, `termination_grace`, `state`"
    );
    assert_eq!(
        error_with("", None, &["run.replicas=three"]),
        "--set run.replicas=three:1:14: run.replicas: expected an integer, found a string"
    );
    assert_eq!(
        error_with("", None, &["run.replicas"]),
        "`--set run.replicas`: expected `KEY.PATH=VALUE`, like `--set run.replicas=3`"
    );
    let e = load_str_with(
        "hoist.toml",
        "[app]\nname = \"hello\"\n",
        None,
        &["environments.prod.run.replicas=1".to_owned()],
    )
    .unwrap_err();
    assert!(matches!(e, ConfigError::UnknownKey { .. }), "{e}");
}
