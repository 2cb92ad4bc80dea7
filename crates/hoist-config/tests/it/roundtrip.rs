//! `to_toml` and `init_template` produce files that load back.

use hoist_config::{InitParams, app_name_from, init_template, load_str, to_toml};

const FULL: &str = r#"
[app]
name = "hello"
main = "./cmd/server"
port = 9090
args = ["serve", "--verbose"]

[build]
platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
base = "gcr.io/distroless/static:nonroot"
tags = ["netgo", "osusergo"]
ldflags = ["-extldflags", "-static"]
version_var = "example.com/hello/internal/build.Version"
commit_var = "example.com/hello/internal/build.Commit"

[image]
repository = "localhost:5000/hello"
tags = ["sha", "latest"]
labels = { "org.example.team" = "web", quote = "say \"hi\"\n" }
source = "https://github.com/example/hello"

[run]
replicas = 4
env = { LOG_LEVEL = "info", EMPTY = "" }
termination_grace = "1m30s"
rollout = { max_surge = "25%", max_unavailable = 1, deadline = "2m" }
resources = { cpu = 0.5, memory = "1Gi" }
autoscale = { min = 2, max = 8, cpu_percent = 65 }
ingress = { host = "*.example.com", path = "/api", tls_secret = "hello-tls", class = "nginx" }

[run.health]
path = "/healthz"
initial_delay = "5s"
liveness = { tcp = true, port = 9090, failure_threshold = 5 }
startup = { exec = ["/hello", "check"], period = "2s", failure_threshold = 30 }

[config]
"app.properties" = "a=1\nb=2"
plain = "x"

[dapr]
app_id = "hello-api"

[hosts]
targets = ["deploy@10.0.0.5", "edge-1"]
user = "deploy"
port = 2222
identity = "~/.ssh/deploy_ed25519"
parallel = "50%"
http = ":80"
https = ":443"
domains = ["{host}.example.com", "www.example.com"]
acme_email = "ops@example.com"
acme_directory = "https://acme-staging-v02.api.letsencrypt.org/directory"
engine = "unix://$XDG_RUNTIME_DIR/podman/podman.sock"

[environments.prod]
run.replicas = 6
"#;

#[test]
fn printed_config_loads_back_equal() {
    for env in [None, Some("prod")] {
        let mut app = load_str("hoist.toml", FULL, env).unwrap();
        let printed = to_toml(&app);
        let again = load_str("printed.toml", &printed, None)
            .unwrap_or_else(|e| panic!("{e}\n{}\n{printed}", e.snippet().unwrap_or_default()));
        app.environment = None;
        assert_eq!(again, app, "{printed}");
    }
}

#[test]
fn printed_defaults_load_back_equal() {
    let app = load_str("hoist.toml", "[app]\nname = \"hello\"\n", None).unwrap();
    let printed = to_toml(&app);
    assert_eq!(load_str("printed.toml", &printed, None).unwrap(), app);
    for line in [
        "main = \".\"",
        "port = 8080",
        "platforms = [\"linux/amd64\"]",
        "base = \"static\"",
        "tags = [\"latest\", \"sha\", \"semver\"]",
        "deadline = \"60s\"",
        "termination_grace = \"30s\"",
        "# repository is not set: images are built but not pushed",
        "# run.health is not set: ready once the app accepts TCP on its port; no liveness probe",
        "tcp = true",
        "# run.state is not set: nothing the app writes outlives a replica",
    ] {
        assert!(
            printed.lines().any(|l| l == line),
            "{line} missing from\n{printed}"
        );
    }
    assert!(!printed.contains("[environments"));
}

#[test]
fn printed_full_config_shows_durations_and_platforms_as_strings() {
    let app = load_str("hoist.toml", FULL, Some("prod")).unwrap();
    let printed = to_toml(&app);
    assert!(
        printed.starts_with("# hoist.toml as loaded with --env prod"),
        "{printed}"
    );
    for line in [
        "platforms = [\"linux/amd64\", \"linux/arm64\", \"linux/arm/v7\"]",
        "termination_grace = \"90s\"",
        "max_surge = \"25%\"",
        "deadline = \"120s\"",
        "replicas = 6",
        "[run.health.startup]",
        "exec = [\"/hello\", \"check\"]",
        "\"app.properties\" = \"a=1\\nb=2\"",
    ] {
        assert!(
            printed.lines().any(|l| l == line),
            "{line} missing from\n{printed}"
        );
    }
}

fn params() -> InitParams {
    InitParams {
        name: app_name_from("github.com/example/Hello_World"),
        main: "./cmd/server".to_owned(),
        port: 3000,
        args: Vec::new(),
        found: None,
        platforms: vec!["linux/amd64".to_owned(), "linux/arm64".to_owned()],
    }
}

#[test]
fn init_template_writes_found_args_with_where_they_came_from() {
    let text = init_template(&InitParams {
        port: 9091,
        args: vec!["--web.listen-address=:$(PORT)".to_owned()],
        found: Some("main.go:60: webflag.AddFlags(app, \":9091\")".to_owned()),
        ..params()
    });
    let app = load_str("hoist.toml", &text, None).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(app.app.port, 9091);
    assert_eq!(app.app.args, ["--web.listen-address=:$(PORT)"]);
    assert!(
        text.contains("# Found in main.go:60: webflag.AddFlags(app, \":9091\")\nport = 9091\n"),
        "{text}"
    );
}

#[test]
fn init_template_loads() {
    let text = init_template(&params());
    let app = load_str("hoist.toml", &text, None).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(app.app.name, "hello-world");
    assert_eq!(app.app.main, "./cmd/server");
    assert_eq!(app.app.port, 3000);
    assert_eq!(app.build.platforms.len(), 2);
    let defaults = load_str("hoist.toml", "[app]\nname = \"hello-world\"\nmain = \"./cmd/server\"\nport = 3000\n[build]\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\n", None).unwrap();
    assert_eq!(app, defaults, "the template spells out the defaults");
}

#[test]
fn init_template_explains_every_key() {
    let text = init_template(&params());
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let setting = uncommented(line);
        if setting.is_some_and(|s| s.contains(" = ")) {
            let above = lines[i - 1];
            assert!(
                is_explanation(above),
                "no explanation above `{line}`: `{above}`"
            );
        }
    }
    for section in [
        "[image]",
        "[run.health]",
        "[run.health.startup]",
        "[environments.dev]",
        "[environments.prod]",
        "[config]",
    ] {
        assert!(
            lines.contains(&format!("# {section}").as_str()),
            "{section} example missing"
        );
    }
    for key in ["rollout = ", "resources = ", "autoscale = ", "ingress = "] {
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("# {key}"))),
            "{key} example missing"
        );
    }
}

#[test]
fn init_template_examples_load_when_uncommented() {
    let text = init_template(&params());
    // Every example at once, but for those that exclude each other: a single-writer state
    // directory runs one replica (an autoscaler would add more) and decides how it is replaced
    // (`run.rollout`'s surge would contradict it).
    let without = |examples: &[&str]| -> String {
        text.lines()
            .filter(|l| !examples.iter().any(|e| l.starts_with(e)))
            .map(|l| uncommented(l).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let stateful = load_str(
        "hoist.toml",
        &without(&["# autoscale =", "# rollout =", "# run.replicas = 3"]),
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stateful.run.state.map(|s| s.path).as_deref(), Some("/data"));
    let all = without(&["# state ="]);
    for env in [None, Some("dev"), Some("prod")] {
        load_str("hoist.toml", &all, env).unwrap_or_else(|e| panic!("{e}\n{all}"));
    }
    let prod = load_str("hoist.toml", &all, Some("prod")).unwrap();
    assert!(prod.run.health.startup.is_some());
    assert!(prod.run.autoscale.is_some() && prod.run.ingress.is_some());
    assert_eq!(
        prod.image.repository.as_deref(),
        Some("registry.example.com/group/hello-world")
    );
}

/// A commented-out setting or table header (`# key = …`, `# [table]`), without the `# `.
fn uncommented(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("# ")?;
    let first = rest.chars().next()?;
    let header = first == '[' && rest.ends_with(']');
    let setting = (first.is_ascii_lowercase() || first == '"') && rest.contains(" = ");
    (header || setting).then_some(rest)
}

/// A comment that is prose, or a key line inside the same commented example block.
fn is_explanation(line: &str) -> bool {
    line.starts_with("# ") && uncommented(line).is_none()
        || uncommented(line).is_some_and(|l| !l.starts_with('['))
}
