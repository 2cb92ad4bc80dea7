//! Every kind of mistake points at `file:line:column`, names the dotted key, and says what is
//! allowed.

use hoist_config::{ConfigError, load_str};

use crate::{error, error_with};

/// [`error`] with environment `env`.
fn error_env(body: &str, env: Option<&str>) -> String {
    error_with(body, env, &[])
}

#[test]
fn syntax_errors_use_the_parsers_span() {
    let e = load_str("hoist.toml", "[app\nname = 1", None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "hoist.toml:1:5: invalid TOML: unclosed table, expected `]`"
    );
    assert!(matches!(e, ConfigError::Syntax { .. }));
    let e = error("[run]\nreplicas = 1\nreplicas = 2\n");
    assert!(
        e.starts_with("hoist.toml:5:1: invalid TOML: duplicate key"),
        "{e}"
    );
}

#[test]
fn unknown_keys_list_the_allowed_ones_and_suggest_a_fix() {
    assert_eq!(
        error("[run]\nreplica = 2\n"),
        "hoist.toml:4:1: run.replica: unknown key `replica` (did you mean `replicas`?); allowed keys here: \
         `replicas`, `driver`, `env`, `health`, `rollout`, `resources`, `autoscale`, `ingress`, `termination_grace`, `state`"
    );
    assert_eq!(
        error("[aap]\n"),
        "hoist.toml:3:2: aap: unknown key `aap` (did you mean `app`?); allowed keys here: \
         `app`, `build`, `image`, `run`, `config`, `dapr`, `kubernetes`, `hosts`, `ci`, `verify`, `environments`"
    );
    let e = error("[run.health]\npath = \"/\"\nintial_delay = \"1s\"\n");
    assert!(e.starts_with("hoist.toml:5:1: run.health.intial_delay: unknown key `intial_delay` (did you mean `initial_delay`?)"), "{e}");
    let e = error("[run.rollout]\nsurge = 1\n");
    assert!(
        e.starts_with(
            "hoist.toml:4:1: run.rollout.surge: unknown key `surge`; allowed keys here: `max_surge`"
        ),
        "{e}"
    );
    let e = error("[run]\nhealth = { readiness = { path = \"/\", pth = 1 } }\n");
    assert!(
        e.starts_with(
            "hoist.toml:4:38: run.health.readiness.pth: unknown key `pth` (did you mean `path`?)"
        ),
        "{e}"
    );
    // Probe overrides do not nest further.
    let e = error("[run.health.readiness.liveness]\npath = \"/\"\n");
    assert!(
        e.contains("run.health.readiness.liveness: unknown key `liveness`"),
        "{e}"
    );
}

#[test]
fn wrong_types_say_expected_and_found() {
    assert_eq!(
        error("[run]\nreplicas = \"2\"\n"),
        "hoist.toml:4:12: run.replicas: expected an integer, found a string"
    );
    assert_eq!(
        error("[run]\nreplicas = 2.5\n"),
        "hoist.toml:4:12: run.replicas: expected an integer, found a float"
    );
    assert_eq!(
        error("[run]\nenv = { GOOD = 1 }\n"),
        "hoist.toml:4:16: run.env.GOOD: expected a string, found an integer"
    );
    assert_eq!(
        error("[build]\nplatforms = \"linux/amd64\"\n"),
        "hoist.toml:4:13: build.platforms: expected an array of strings, found a string"
    );
    assert_eq!(
        error("[build]\ntags = [\"a\", 1]\n"),
        "hoist.toml:4:14: build.tags[1]: expected a string, found an integer"
    );
    let e = load_str("hoist.toml", "run = 3\n[app]\nname = \"hello\"\n", None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "hoist.toml:1:7: run: expected a table, found an integer"
    );
    assert_eq!(
        error("[run.health]\ntcp = \"yes\"\n"),
        "hoist.toml:4:7: run.health.tcp: expected a boolean (`true` or `false`), found a string"
    );
    assert_eq!(
        error("[run]\nrollout = { max_surge = true }\n"),
        "hoist.toml:4:25: run.rollout.max_surge: expected an integer or a percentage string like \"25%\", found a boolean"
    );
    assert_eq!(
        error("[run]\ntermination_grace = 1.5\n"),
        "hoist.toml:4:21: run.termination_grace: expected a duration string like \"30s\", found a float"
    );
}

#[test]
fn app_section() {
    let e = load_str("hoist.toml", "[app]\nmain = \".\"\n", None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "hoist.toml:1:1: app.name: missing; add `name = \"my-app\"` under `[app]`; it names the binary, the image and every Kubernetes object"
    );
    let e = load_str("other.toml", "[run]\nreplicas = 1\n", None).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("other.toml:1:1: app.name: missing"),
        "{e}"
    );
    let e = load_str("hoist.toml", "[app]\nname = \"Hello\"\n", None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "hoist.toml:2:8: app.name: `Hello` contains `H`; use 1 to 63 lowercase letters, digits and `-`, starting and ending with a letter or digit"
    );
    let long = format!("[app]\nname = \"{}\"\n", "a".repeat(64));
    let e = load_str("hoist.toml", &long, None).unwrap_err().to_string();
    assert!(
        e.contains("app.name: `aaaa") && e.contains("must be 1 to 63 characters long, found 64"),
        "{e}"
    );
    assert_eq!(
        error("port = 0\n"),
        "hoist.toml:3:8: app.port: must be a port from 1 to 65535, found 0"
    );
    assert_eq!(
        error("port = 65536\n"),
        "hoist.toml:3:8: app.port: must be a port from 1 to 65535, found 65536"
    );
    assert_eq!(
        error("main = \"cmd/server\"\n"),
        "hoist.toml:3:8: app.main: `cmd/server` does not start with `./`; write `.` or a package directory relative to hoist.toml, like `./cmd/server`"
    );
}

#[test]
fn build_section() {
    assert_eq!(
        error("[build]\nplatforms = [\"linux/amd64\", \"linux/amd46\"]\n"),
        "hoist.toml:4:29: build.platforms[1]: unknown architecture `amd46` in `linux/amd46`; supported: amd64, arm64, arm, 386, ppc64le, s390x, riscv64"
    );
    assert_eq!(
        error("[build]\nplatforms = [\"linux/amd64\", \"linux/amd64\"]\n"),
        "hoist.toml:4:29: build.platforms[1]: `linux/amd64` is listed twice"
    );
    assert_eq!(
        error("[build]\nplatforms = [\"linux/arm64\", \"linux/arm64/v8\"]\n"),
        "hoist.toml:4:29: build.platforms[1]: `linux/arm64/v8` is listed twice"
    );
    assert_eq!(
        error("[build]\nplatforms = []\n"),
        "hoist.toml:4:13: build.platforms: must list at least one platform, like [\"linux/amd64\"]"
    );
    assert_eq!(
        error("[build]\nbase = \"alpine\"\n"),
        "hoist.toml:4:8: build.base: `alpine` is not a base; use \"static\", \"scratch\" or an image reference like \"gcr.io/distroless/static:nonroot\""
    );
    assert!(
        error("[build]\nbase = \"gcr.io/x y:1\"\n")
            .starts_with("hoist.toml:4:8: build.base: `gcr.io/x y:1` is not an image reference")
    );
    assert!(error("[build]\nversion_var = \"version\"\n").starts_with("hoist.toml:4:15: build.version_var: `version` is not a Go variable; write `importpath.Name`"));
    assert!(
        error("[build]\ncommit_var = \"main.\"\n")
            .starts_with("hoist.toml:4:14: build.commit_var: `main.` is not a Go variable")
    );
    assert!(
        error("[build]\ntags = [\"netgo\", \"a-b\"]\n")
            .starts_with("hoist.toml:4:18: build.tags[1]: `a-b` is not a Go build tag")
    );
}

#[test]
fn image_section() {
    assert_eq!(
        error("[image]\ntags = [\"sha\", \"sha\"]\n"),
        "hoist.toml:4:16: image.tags[1]: `sha` is listed twice"
    );
    assert_eq!(
        error("[image]\ntags = [\"latest\", \"edge\"]\n"),
        "hoist.toml:4:19: image.tags[1]: `edge` is not a tag policy; allowed: `latest`, `sha`, `semver`"
    );
    assert!(
        error("[image]\nrepository = \"r.io/hello:v1\"\n")
            .starts_with("hoist.toml:4:14: image.repository: `r.io/hello:v1` has a tag")
    );
    assert!(
        error("[image]\nrepository = \"r.io/Hello\"\n")
            .starts_with("hoist.toml:4:14: image.repository: `r.io/Hello` has uppercase letters")
    );
    assert!(
        error("[image]\nsource = \"github.com/x\"\n")
            .starts_with("hoist.toml:4:10: image.source: `github.com/x` is not a URL")
    );
    assert!(
        error("[image.labels]\n\"\" = \"x\"\n")
            .starts_with("hoist.toml:4:1: image.labels.: `` is not a label key")
    );
}

#[test]
fn run_values() {
    assert_eq!(
        error("[run]\nreplicas = -1\n"),
        "hoist.toml:4:12: run.replicas: must be 0 or more, found -1"
    );
    assert_eq!(
        error("[run]\nenv = { \"1BAD\" = \"x\" }\n"),
        "hoist.toml:4:9: run.env.1BAD: `1BAD` is not an environment variable name; use letters, digits and `_`, not starting with a digit"
    );
    assert_eq!(
        error("[run]\ntermination_grace = \"soon\"\n"),
        "hoist.toml:4:21: run.termination_grace: `soon` is not a duration; write a number with a unit, like \"30s\", \"500ms\", \"5m\", \"1h\" or \"1m30s\""
    );
    assert_eq!(
        error("[run]\ntermination_grace = 30\n"),
        "hoist.toml:4:21: run.termination_grace: a duration needs a unit, found the bare number 30; write it as a string such as \"30s\" (units: h, m, s, ms)"
    );
    assert_eq!(
        error("[run]\nenv = { LOG = \"1\", PORT = \"9000\" }\n"),
        "hoist.toml:4:20: run.env.PORT: `PORT` is set by hoist from `app.port` (8080) for every replica (the local agent gives each process its own), so a value here would be overridden locally and disagree with the container port and probes on Kubernetes; set `app.port` instead"
    );
    assert!(
        error_env(
            "[environments.prod]\nrun.env = { PORT = \"80\" }\n",
            Some("prod")
        )
        .starts_with("hoist.toml:4:13: environments.prod.run.env.PORT: `PORT` is set by hoist"),
        "an overlay's PORT is named where the overlay sets it: {}",
        error_env(
            "[environments.prod]\nrun.env = { PORT = \"80\" }\n",
            Some("prod")
        )
    );
    assert_eq!(
        error("[config]\n\"a/b\" = \"x\"\n"),
        "hoist.toml:4:1: config.a/b: `a/b` is not a ConfigMap key; use 1 to 253 letters, digits, `-`, `.` and `_`"
    );
}

#[test]
fn rollout() {
    assert_eq!(
        error("[run.rollout]\nmax_surge = 0\nmax_unavailable = \"0%\"\n"),
        "hoist.toml:5:19: run.rollout.max_unavailable: `max_surge` and `max_unavailable` both come to 0 for 1 replica, so the rollout would never make progress; allow at least one, like `max_surge = 1`"
    );
    // 25% of 3 rounds down to 0 for max_unavailable.
    let e = error("[run]\nreplicas = 3\nrollout = { max_surge = 0, max_unavailable = \"25%\" }\n");
    assert!(e.starts_with("hoist.toml:5:46: run.rollout.max_unavailable: `max_surge` and `max_unavailable` both come to 0 for 3 replicas"), "{e}");
    assert_eq!(
        error("[run]\nrollout = { max_surge = \"125%\" }\n"),
        "hoist.toml:4:25: run.rollout.max_surge: expected a count like 1 or a percentage from \"0%\" to \"100%\", found \"125%\""
    );
    assert_eq!(
        error("[run]\nrollout = { max_surge = -1 }\n"),
        "hoist.toml:4:25: run.rollout.max_surge: must be a count of 0 or more or a percentage like \"25%\", found -1"
    );
    assert_eq!(
        error("[run]\nrollout = { deadline = 60 }\n"),
        "hoist.toml:4:24: run.rollout.deadline: a duration needs a unit, found the bare number 60; write it as a string such as \"60s\" (units: h, m, s, ms)"
    );
    assert_eq!(
        error("[run]\nrollout = { deadline = \"0s\" }\n"),
        "hoist.toml:4:24: run.rollout.deadline: must be at least \"1s\", found \"0s\""
    );
}

#[test]
fn resources() {
    assert_eq!(
        error("[run]\nresources = { cpu = \"lots\", memory = \"128Mi\" }\n"),
        "hoist.toml:4:21: run.resources.cpu: `lots` is not a CPU amount; write cores like \"1\" or \"0.5\", or millicores like \"250m\""
    );
    assert_eq!(
        error("[run]\nresources = { memory = \"128MB\" }\n"),
        "hoist.toml:4:24: run.resources.memory: `128MB` is not a memory amount; write bytes with a suffix, like \"128Mi\", \"1Gi\" or \"500M\" \
         (suffixes: Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P, E, or an exponent like \"1e3\"); did you mean \"128Mi\"?"
    );
    assert_eq!(
        error("[run]\nresources = { cpu = true }\n"),
        "hoist.toml:4:21: run.resources.cpu: expected a quantity string like \"250m\", found a boolean"
    );
}

#[test]
fn autoscale_and_ingress() {
    assert_eq!(
        error("[run]\nautoscale = { min = 3, max = 2 }\n"),
        "hoist.toml:4:30: run.autoscale.max: must be at least `min` (3), found 2"
    );
    assert_eq!(
        error("[run]\nautoscale = { min = 3 }\n"),
        "hoist.toml:4:13: run.autoscale.max: missing; add the most replicas to scale to, like `max = 10`"
    );
    assert_eq!(
        error("[run]\nautoscale = { min = 0, max = 2 }\n"),
        "hoist.toml:4:21: run.autoscale.min: must be 1 or more, found 0"
    );
    assert_eq!(
        error("[run]\nautoscale = { max = 2, cpu_percent = 101 }\n"),
        "hoist.toml:4:38: run.autoscale.cpu_percent: must be from 1 to 100, found 101"
    );
    assert!(
        error("[run]\ningress = { host = \"Example.com\" }\n")
            .starts_with("hoist.toml:4:20: run.ingress.host: `Example.com` is not a DNS name")
    );
    assert!(
        error("[run]\ningress = { host = \"a.*.com\" }\n")
            .contains("a wildcard is allowed only as the first label")
    );
    assert!(error("[run]\ningress = { path = \"api\" }\n").starts_with(
        "hoist.toml:4:20: run.ingress.path: `api` is not an HTTP path; it must start with `/`"
    ));
    assert!(
        error("[run]\ningress = { tls_secret = \"My_Secret\" }\n").starts_with(
            "hoist.toml:4:26: run.ingress.tls_secret: `My_Secret` is not a valid Kubernetes name"
        )
    );
}

#[test]
fn health_probes() {
    assert_eq!(
        error("[run.health]\npath = \"/h\"\ntcp = true\n"),
        "hoist.toml:5:7: run.health.tcp: a probe makes one check, found both `path` and `tcp`; keep one of `path`, `tcp` or `exec`"
    );
    assert_eq!(
        error("[run.health]\npath = \"h\"\n"),
        "hoist.toml:4:8: run.health.path: `h` is not an HTTP path; it must start with `/` and have no spaces, like \"/healthz\""
    );
    assert_eq!(
        error("[run.health]\npath = \"/h\"\nsuccess_threshold = 2\n"),
        "hoist.toml:5:21: run.health.success_threshold: must be 1 for the liveness probe (a Kubernetes rule), found 2; set it only in `run.health.readiness`"
    );
    assert!(
        error("[run.health]\npath = \"/h\"\nstartup = { success_threshold = 2 }\n")
            .contains("run.health.startup.success_threshold: must be 1 for the startup probe")
    );
    assert_eq!(
        error("[run.health]\nperiod = \"5s\"\n"),
        "hoist.toml:3:1: run.health: says nothing to check; add one of `path = \"/healthz\"` (HTTP), `tcp = true` or `exec = [\"cmd\", …]`"
    );
    assert!(
        error("[run.health]\nperiod = \"5s\"\nreadiness = { timeout = \"2s\" }\n")
            .starts_with("hoist.toml:5:13: run.health.readiness: says nothing to check")
    );
    assert_eq!(
        error("[run.health]\npath = \"/h\"\ntimeout = \"500ms\"\n"),
        "hoist.toml:5:11: run.health.timeout: must be whole seconds (Kubernetes counts this in seconds), found \"500ms\""
    );
    assert_eq!(
        error("[run.health]\npath = \"/h\"\nperiod = \"0s\"\n"),
        "hoist.toml:5:10: run.health.period: must be at least \"1s\", found \"0s\""
    );
    assert_eq!(
        error("[run.health]\npath = \"/h\"\nfailure_threshold = 0\n"),
        "hoist.toml:5:21: run.health.failure_threshold: must be 1 or more, found 0"
    );
    assert_eq!(
        error("[run.health]\npath = \"/h\"\nport = 70000\n"),
        "hoist.toml:5:8: run.health.port: must be a port from 1 to 65535, found 70000"
    );
    assert_eq!(
        error("[run.health]\nexec = [\"x\"]\nport = 80\n"),
        "hoist.toml:5:8: run.health.port: an exec probe runs a command and has no port; remove `port`"
    );
    assert!(
        error("[run.health]\nexec = []\n")
            .starts_with("hoist.toml:4:8: run.health.exec: must name a command to run")
    );
    assert!(
        error("[run.health]\ntcp = false\n")
            .starts_with("hoist.toml:4:7: run.health.tcp: `tcp = false` checks nothing")
    );
}

#[test]
fn environment_errors() {
    let overlay = "[run]\nreplicas = 2\n\n[environments.prod]\nrun.replicas = -5\n";
    let expected = "hoist.toml:7:16: environments.prod.run.replicas: must be 0 or more, found -5";
    assert_eq!(error_env(overlay, Some("prod")), expected);
    // Every environment is checked, not only the chosen one.
    assert_eq!(error_env(overlay, None), expected);
    assert_eq!(
        error_env(
            "[environments.prod]\nrun.replicas = 5\n\n[environments.dev]\n",
            Some("stage")
        ),
        "hoist.toml: unknown environment `stage`; known environments: `dev`, `prod`"
    );
    assert_eq!(
        error_env("", Some("stage")),
        "hoist.toml: unknown environment `stage`; the file defines no [environments.NAME] tables"
    );
    assert!(error("[environments.prod]\nrun.replica = 5\n").starts_with(
        "hoist.toml:4:5: environments.prod.run.replica: unknown key `replica` (did you mean `replicas`?)"
    ));
    assert_eq!(
        error("[environments.prod]\nenvironments = 5\n"),
        "hoist.toml:4:1: environments.prod.environments: unknown key `environments`; allowed keys here: `app`, `build`, `image`, `run`, `config`, `dapr`, `kubernetes`, `hosts`, `verify`"
    );
    assert!(error("[environments.Prod]\n").starts_with(
        "hoist.toml:3:15: environments.Prod: bad environment name: `Prod` contains `P`"
    ));
    let e = load_str("hoist.toml", "environments = { prod = 1 }\n", None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "hoist.toml:1:25: environments.prod: expected a table, found an integer"
    );
    // A rule that involves base and overlay values points at the value that broke it.
    assert_eq!(
        error_env(
            "[run]\nautoscale = { min = 3, max = 5 }\n[environments.prod.run.autoscale]\nmin = 6\n",
            Some("prod")
        ),
        "hoist.toml:4:30: run.autoscale.max: must be at least `min` (6), found 5"
    );
}

#[test]
fn snippet_points_at_the_value() {
    let e = load_str(
        "hoist.toml",
        "[app]\nname = \"hello\"\n[run]\nreplicas = -1\n",
        None,
    )
    .unwrap_err();
    assert_eq!(
        e.snippet().unwrap(),
        "  |\n4 | replicas = -1\n  |            ^^"
    );
    let location = e.location().unwrap();
    assert_eq!((location.line, location.column), (4, 12));
    assert_eq!(e.key(), Some("run.replicas"));
}

#[test]
fn unreadable_file_names_the_path_and_links_the_cause() {
    let path = std::path::Path::new("/nonexistent/hoist.toml");
    let e = hoist_config::load(path, None).unwrap_err();
    assert_eq!(e.to_string(), "cannot read `/nonexistent/hoist.toml`");
    let source = std::error::Error::source(&e).expect("io error is linked");
    assert!(source.downcast_ref::<std::io::Error>().is_some());
}

#[test]
fn driver_and_kubernetes_values_are_checked() {
    assert_eq!(
        error("[run]\ndriver = \"vm\"\n"),
        "hoist.toml:4:10: run.driver: expected \"process\" (run the binary, told its port in $PORT) or \"container\" (run the image in dockerd or podman), found \"vm\""
    );
    assert_eq!(
        error("[kubernetes]\ncontexts = [\"eu\", \"eu\"]\n"),
        "hoist.toml:4:19: kubernetes.contexts[1]: `eu` is listed twice"
    );
    let e = error("[kubernetes]\nnamespace = \"Prod\"\n");
    assert!(
        e.starts_with("hoist.toml:4:13: kubernetes.namespace: "),
        "{e}"
    );
    let e = error("[kubernetes]\nhistory_limit = 0\n");
    assert!(
        e.starts_with("hoist.toml:4:17: kubernetes.history_limit: "),
        "{e}"
    );
}

#[test]
fn state_values_are_checked() {
    assert_eq!(
        error("[run]\nstate = \"data\"\n"),
        "hoist.toml:4:9: run.state: `data` is not absolute; write where the app sees the directory, like \"/data\""
    );
    assert_eq!(
        error("[run]\nstate = \"/app\"\n"),
        "hoist.toml:4:9: run.state: `/app` would cover `/app`, which the image needs; choose a directory of its own, like \"/data\" or \"/app/data\""
    );
    assert!(
        error("[run]\nstate = \"/data/../etc\"\n").contains("not a plain path"),
        "no `..`"
    );
    assert_eq!(
        error("[run]\nreplicas = 2\nstate = \"/data\"\n"),
        "hoist.toml:4:12: run.replicas: is 2 but `run.state` has one writer (the default: a SQLite database or files one process owns), so one replica runs; set `writers = \"many\"` in `run.state` if the app coordinates several"
    );
    assert!(
        error("[run.state]\nwriters = \"one\"\n")
            .starts_with("hoist.toml:3:1: run.state.path: missing;"),
        "a table needs its path"
    );
    assert!(
        error("[run.state]\npath = \"/data\"\nwriters = \"all\"\n")
            .starts_with("hoist.toml:5:11: run.state.writers: expected \"one\""),
    );
    assert!(
        error("[run.state]\npath = \"/data\"\nwriters = \"many\"\nupdate = \"recreate\"\n")
            .starts_with("hoist.toml:6:10: run.state.update: applies to one writer"),
    );
    assert!(
        error("[run]\nstate = \"/data\"\nrollout = { max_surge = 1 }\n").starts_with(
            "hoist.toml:5:25: run.rollout.max_surge: is decided by `run.state.update`"
        ),
    );
    assert!(
        error("[run]\nstate = \"/data\"\nenv = { STATE_DIR = \"/x\" }\n")
            .starts_with("hoist.toml:5:9: run.env.STATE_DIR: `STATE_DIR` is set by hoist"),
    );
    // Several writers: replicas and rolling updates as usual.
    let many = hoist_config::load_str(
        "hoist.toml",
        "[app]\nname = \"hello\"\n[run]\nreplicas = 3\n[run.state]\npath = \"/data\"\nwriters = \"many\"\n",
        None,
    )
    .unwrap();
    assert_eq!(many.run.replicas, 3);
    assert_eq!(many.run.rollout.max_surge, hoist_core::IntOrPercent::Int(1));
}

#[test]
fn cgo_and_build_env_are_checked() {
    assert_eq!(
        error("[build]\nplatforms = [\"linux/amd64\", \"linux/arm64\"]\ncgo = true\n"),
        "hoist.toml:5:7: build.cgo: builds with this machine's C compiler and libraries, so for one platform only, and `build.platforms` lists 2; build one platform, or use pure-Go dependencies and remove `cgo`"
    );
    assert_eq!(
        error("[build]\nenv = { CGO_ENABLED = \"1\" }\n"),
        "hoist.toml:4:9: build.env.CGO_ENABLED: is set by hoist from `build.cgo`; set that instead"
    );
    assert!(error("[build]\nenv = { GOARCH = \"arm64\" }\n").contains("`build.platforms`"),);
}
