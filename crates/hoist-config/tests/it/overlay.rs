//! `[environments.NAME]` overlays merge deeply over the base.

use std::time::Duration;

use hoist_config::load_str;
use hoist_core::{ProbeAction, TagPolicy};

const FILE: &str = r#"
[app]
name = "hello"
args = ["serve"]

[image]
repository = "registry.example.com/group/hello"
labels = { team = "web" }

[run]
replicas = 3
env = { LOG_LEVEL = "info", REGION = "eu" }
health = { path = "/healthz", period = "20s" }
resources = { cpu = "250m", memory = "128Mi" }

[config]
"greeting.txt" = "hello"

[environments.dev]
run.replicas = 1
run.env = { LOG_LEVEL = "debug" }
run.resources = { memory = "64Mi" }
app.args = []

[environments.prod]
image.tags = ["semver", "sha"]
config = { "greeting.txt" = "welcome", extra = "1" }

[environments.prod.run.health]
timeout = "3s"

[environments.prod.run.health.startup]
failure_threshold = 30

[environments.exec]
run.health = { exec = ["/hello", "-check"] }
"#;

#[test]
fn base_alone_ignores_overlays() {
    let app = load_str("hoist.toml", FILE, None).unwrap();
    assert_eq!(app.run.replicas, 3);
    assert_eq!(app.environment, None);
    assert_eq!(app.run.health.startup, None);
}

#[test]
fn overlay_changes_only_the_keys_it_gives() {
    let dev = load_str("hoist.toml", FILE, Some("dev")).unwrap();
    assert_eq!(dev.environment.as_deref(), Some("dev"));
    assert_eq!(dev.run.replicas, 1);
    // Tables merge key by key.
    assert_eq!(dev.run.env["LOG_LEVEL"], "debug");
    assert_eq!(dev.run.env["REGION"], "eu");
    assert_eq!(dev.run.resources.cpu.as_deref(), Some("250m"));
    assert_eq!(dev.run.resources.memory.as_deref(), Some("64Mi"));
    // Arrays are values: replaced whole.
    assert!(dev.app.args.is_empty());
    // Untouched sections stay.
    assert_eq!(
        dev.image.repository.as_deref(),
        Some("registry.example.com/group/hello")
    );
    assert_eq!(dev.image.labels["team"], "web");
}

#[test]
fn health_merges_into_the_base_probe() {
    let prod = load_str("hoist.toml", FILE, Some("prod")).unwrap();
    let readiness = prod.run.health.readiness.unwrap();
    assert_eq!(
        readiness.action,
        ProbeAction::Http {
            path: "/healthz".to_owned(),
            port: 8080
        }
    );
    assert_eq!(readiness.period, Duration::from_secs(20));
    assert_eq!(readiness.timeout, Duration::from_secs(3));
    let startup = prod.run.health.startup.unwrap();
    assert_eq!(startup.failure_threshold, 30);
    assert_eq!(startup.action, readiness.action);
    assert_eq!(prod.image.tags, vec![TagPolicy::Semver, TagPolicy::Sha]);
    assert_eq!(prod.config["greeting.txt"], "welcome");
    assert_eq!(prod.config["extra"], "1");
}

#[test]
fn an_overlay_check_replaces_the_base_check() {
    let app = load_str("hoist.toml", FILE, Some("exec")).unwrap();
    let liveness = app.run.health.liveness.unwrap();
    let command = vec!["/hello".to_owned(), "-check".to_owned()];
    assert_eq!(liveness.action, ProbeAction::Exec { command });
    assert_eq!(liveness.period, Duration::from_secs(20));
}

#[test]
fn an_overlay_can_supply_the_name() {
    let src = "[environments.prod]\napp.name = \"hello\"\n";
    assert_eq!(
        load_str("hoist.toml", src, Some("prod")).unwrap().app.name,
        "hello"
    );
}

#[test]
fn probe_overrides_replace_the_shared_check() {
    let src = r#"
[app]
name = "hello"
port = 9000
[run.health]
path = "/healthz"
readiness = { path = "/ready", port = 9000, success_threshold = 2 }
liveness = { tcp = true }
"#;
    let app = load_str("hoist.toml", src, None).unwrap();
    let h = app.run.health;
    let readiness = h.readiness.unwrap();
    assert_eq!(
        readiness.action,
        ProbeAction::Http {
            path: "/ready".to_owned(),
            port: 9000
        }
    );
    assert_eq!(readiness.success_threshold, 2);
    assert_eq!(h.liveness.unwrap().action, ProbeAction::Tcp { port: 9000 });
    assert_eq!(h.startup, None);
}

#[test]
fn only_one_probe_when_only_one_is_given() {
    let src = "[app]\nname = \"hello\"\n[run.health.liveness]\ntcp = true\n";
    let h = load_str("hoist.toml", src, None).unwrap().run.health;
    // Readiness keeps its default: ready once the port accepts TCP.
    assert_eq!(
        h.readiness.map(|r| r.action),
        Some(ProbeAction::Tcp { port: 8080 })
    );
    assert_eq!(h.startup, None);
    assert_eq!(h.liveness.unwrap().action, ProbeAction::Tcp { port: 8080 });
}
