//! A minimal `hoist.toml` gets every documented default.

use std::time::Duration;

use hoist_config::load_str;
use hoist_core::{Base, IntOrPercent, Platform, ProbeAction, TagPolicy};

#[test]
fn only_a_name_gives_every_default() {
    let app = load_str("hoist.toml", "[app]\nname = \"hello\"\n", None).unwrap();
    assert_eq!(app.app.name, "hello");
    assert_eq!(app.app.main, ".");
    assert_eq!(app.app.port, 8080);
    assert!(app.app.args.is_empty());
    assert_eq!(
        app.build.platforms,
        vec!["linux/amd64".parse::<Platform>().unwrap()]
    );
    assert_eq!(app.build.base, Base::Static);
    assert!(app.build.tags.is_empty() && app.build.ldflags.is_empty());
    assert_eq!(app.build.version_var, "main.version");
    assert_eq!(app.build.commit_var, "main.commit");
    assert_eq!(app.image.repository, None);
    assert_eq!(
        app.image.tags,
        vec![TagPolicy::Latest, TagPolicy::Sha, TagPolicy::Semver]
    );
    assert!(app.image.labels.is_empty());
    assert_eq!(app.image.source, None);
    assert_eq!(app.run.replicas, 1);
    assert!(app.run.env.is_empty());
    // Ready once it accepts TCP on its port, on every target.
    let readiness = app
        .run
        .health
        .readiness
        .as_ref()
        .expect("a default readiness probe");
    assert_eq!(readiness.action, ProbeAction::Tcp { port: 8080 });
    assert_eq!(readiness.period, Duration::from_secs(10));
    assert_eq!(readiness.failure_threshold, 3);
    assert_eq!(app.run.health.liveness, None);
    assert_eq!(app.run.health.startup, None);
    assert_eq!(app.run.rollout.max_surge, IntOrPercent::Int(1));
    assert_eq!(app.run.rollout.max_unavailable, IntOrPercent::Int(0));
    assert_eq!(app.run.rollout.deadline, Duration::from_mins(1));
    assert_eq!(app.run.resources.cpu, None);
    assert_eq!(app.run.resources.memory, None);
    assert_eq!(app.run.autoscale, None);
    assert_eq!(app.run.ingress, None);
    assert_eq!(app.run.termination_grace, Duration::from_secs(30));
    assert_eq!(app.run.state, None);
    assert!(app.config.is_empty());
    assert_eq!(app.environment, None);
}

#[test]
fn the_design_sketch_loads() {
    let app = load_str("hoist.toml", SKETCH, Some("prod")).unwrap();
    assert_eq!(app.run.replicas, 5);
    assert_eq!(app.image.tags, vec![TagPolicy::Semver, TagPolicy::Sha]);
    assert_eq!(app.environment.as_deref(), Some("prod"));
    let dev = load_str("hoist.toml", SKETCH, Some("dev")).unwrap();
    assert_eq!(dev.run.replicas, 1);
    assert_eq!(dev.image.tags.len(), 3);
}

const SKETCH: &str = r#"
[app]
name = "hello"
main = "./cmd/server"        # Go package with func main
port = 8080

[build]
platforms = ["linux/amd64", "linux/arm64"]
base = "static"              # "static" | "scratch" | "<registry>/<repo>:<tag>"

[image]
repository = "registry.example.com/group/hello"
tags = ["latest", "sha", "semver"]   # latest on the default branch, vX.Y.Z from a git tag, sha-<short>

[run]
replicas = 3
env = { LOG_LEVEL = "info" }
health = { path = "/healthz" }       # readiness and liveness unless given apart
rollout = { max_surge = 1, max_unavailable = 0, deadline = "60s" }
resources = { cpu = "250m", memory = "128Mi" }
autoscale = { min = 3, max = 10, cpu_percent = 70 }
ingress = { host = "example.com", path = "/" }

[environments.dev]
run.replicas = 1

[environments.prod]
run.replicas = 5
image.tags = ["semver", "sha"]
"#;
