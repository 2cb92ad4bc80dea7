//! `hoist doctor`, each check on a machine where it passes and where it fails: the real Go, a
//! real engine socket and a missing one, a real docker-registry with htpasswd and wrong
//! credentials, the test cluster and an unreachable one, a free port and a taken one, a
//! writable state directory and a path that cannot be one.

use std::net::TcpListener;

use assert_cmd::Command;
use hoist_test::fs::chmod;
use hoist_test::project::Project;
use serde_json::Value;

use crate::Hoist as _;

/// `hoist doctor --json` in `p` with a private state directory and free agent ports (unless
/// `env` says otherwise); the exit code and the checks by name (several `kubernetes` checks
/// come as one list).
fn doctor(p: &Project, env: &[(&str, &str)]) -> (i32, Vec<Value>) {
    let state = p.path("state");
    let mut cmd: Command = p.hoist(&["doctor", "--json"]);
    cmd.current_dir(&p.dir)
        .env("HOIST_STATE_DIR", &state)
        .env(
            "HOIST_PROXY_ADDR",
            format!("127.0.0.1:{}", hoist_test::ports::free_port()),
        )
        .env(
            "HOIST_ADMIN_ADDR",
            format!("127.0.0.1:{}", hoist_test::ports::free_port()),
        )
        .env("KUBECONFIG", p.path("no-kubeconfig"))
        .env_remove("HOIST_IMAGE_REPOSITORY")
        .env_remove("HOIST_REGISTRY_USERNAME")
        .env_remove("HOIST_REGISTRY_PASSWORD")
        .env("DOCKER_CONFIG", p.path("docker-config"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("hoist runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json printed no JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let code = out.status.code().unwrap_or(-1);
    assert_eq!(
        report["ok"].as_bool(),
        Some(code == 0),
        "`ok` and the exit code agree: {report:#}"
    );
    (code, report["checks"].as_array().unwrap().clone())
}

/// The one check called `name`.
fn check<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    let found: Vec<&Value> = checks.iter().filter(|c| c["name"] == name).collect();
    assert_eq!(found.len(), 1, "one `{name}` check: {checks:#?}");
    found[0]
}

#[track_caller]
fn assert_status(c: &Value, status: &str, detail: &[&str]) {
    assert_eq!(c["status"], status, "{c:#}");
    let text = c["detail"].as_str().unwrap();
    for d in detail {
        assert!(text.contains(d), "`{d}` is not in {c:#}");
    }
    if status == "fail" || status == "warn" {
        assert!(
            c["fix"].as_str().is_some_and(|f| !f.is_empty()),
            "a fix: {c:#}"
        );
    }
}

#[test]
fn the_example_passes_with_the_human_report() {
    let p = Project::example("hello");
    let state = p.path("state");
    let out = p
        .hoist(&["doctor"])
        .current_dir(&p.dir)
        .env("HOIST_STATE_DIR", &state)
        .env(
            "HOIST_PROXY_ADDR",
            format!("127.0.0.1:{}", hoist_test::ports::free_port()),
        )
        .env(
            "HOIST_ADMIN_ADDR",
            format!("127.0.0.1:{}", hoist_test::ports::free_port()),
        )
        .env("KUBECONFIG", p.path("none"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for name in [
        "config",
        "go",
        "engine",
        "registry",
        "kubernetes",
        "agent",
        "state",
        "cache",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(name)),
            "no `{name}` line:\n{stdout}"
        );
    }
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert!(
        !stdout.contains('\u{1b}'),
        "no colour without a terminal: {stdout:?}"
    );
}

#[test]
fn config_passes_when_valid_and_fails_with_its_place() {
    let p = Project::example("hello");
    let (code, checks) = doctor(&p, &[]);
    assert_eq!(code, 0, "{checks:#?}");
    assert_status(
        check(&checks, "config"),
        "ok",
        &["hoist.toml", "app `hello`"],
    );

    p.edit("hoist.toml", "replicas = ", "replicas = \"many\"\nx = ");
    let (code, checks) = doctor(&p, &[]);
    assert_eq!(code, 1);
    assert_status(check(&checks, "config"), "fail", &["hoist.toml:"]);
    // The other checks still ran.
    assert_status(check(&checks, "go"), "ok", &["go1."]);
}

#[test]
fn go_passes_when_on_path_and_fails_when_missing() {
    let p = Project::example("hello");
    let (_, checks) = doctor(&p, &[]);
    assert_status(check(&checks, "go"), "ok", &["go1.", "/go"]);

    let empty = p.path("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let (code, checks) = doctor(&p, &[("PATH", empty.to_str().unwrap())]);
    assert_eq!(code, 1);
    assert_status(check(&checks, "go"), "fail", &["`go` is not on PATH"]);

    // A go.mod asking for a newer Go than the one installed warns.
    p.edit("go.mod", "\ngo 1.", "\ngo 9.");
    let (_, checks) = doctor(&p, &[]);
    assert_status(check(&checks, "go"), "warn", &["go.mod asks for go 9."]);
}

#[test]
fn engine_passes_with_a_socket_and_fails_when_the_driver_needs_a_missing_one() {
    let socket = hoist_test::engines::required("HOIST_TEST_PODMAN_SOCKET");
    let p = Project::example("hello");
    let (_, checks) = doctor(&p, &[("DOCKER_HOST", &socket)]);
    assert_status(check(&checks, "engine"), "ok", &["podman", &socket]);

    let missing = format!("unix://{}", p.path("no-engine.sock").display());
    // The process driver does not need one: a warning.
    let (code, checks) = doctor(&p, &[("DOCKER_HOST", &missing)]);
    assert_eq!(code, 0, "{checks:#?}");
    assert_status(
        check(&checks, "engine"),
        "warn",
        &["no-engine.sock", "only for"],
    );
    // The container driver does: a failure.
    p.edit("hoist.toml", "[run]\n", "[run]\ndriver = \"container\"\n");
    let (code, checks) = doctor(&p, &[("DOCKER_HOST", &missing)]);
    assert_eq!(code, 1);
    assert_status(
        check(&checks, "engine"),
        "fail",
        &["needs an engine", "no-engine.sock"],
    );
}

#[test]
fn registry_passes_with_good_credentials_and_fails_with_bad_ones() {
    let r = hoist_test::registry::Registry::start(&hoist_test::registry::Auth::Basic {
        user: "ci".into(),
        password: "right".into(),
    });
    let ca = r.ca.clone().unwrap();
    let p = Project::example("hello");
    let repository = format!("{}/doctor/hello", r.addr);
    let env = |password: &'static str| {
        vec![
            ("HOIST_IMAGE_REPOSITORY", repository.clone()),
            ("HOIST_REGISTRY_CA_FILE", ca.display().to_string()),
            ("HOIST_REGISTRY_USERNAME", "ci".to_owned()),
            ("HOIST_REGISTRY_PASSWORD", password.to_owned()),
        ]
    };
    let (_, checks) = doctor(&p, &[]);
    assert_status(check(&checks, "registry"), "skip", &["image.repository"]);

    let good = env("right");
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, checks) = doctor(&p, &good);
    assert_eq!(code, 0, "{checks:#?}");
    assert_status(check(&checks, "registry"), "ok", &[&r.addr, "accepts"]);

    let bad = env("wrong");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, checks) = doctor(&p, &bad);
    assert_eq!(code, 1);
    let c = check(&checks, "registry");
    assert_status(c, "fail", &[&r.addr]);
    assert!(
        !c.to_string().contains("wrong"),
        "the password is never shown: {c}"
    );
}

#[test]
fn kubernetes_passes_on_the_test_cluster_and_fails_on_an_unreachable_one() {
    let p = Project::example("hello");
    p.edit(
        "hoist.toml",
        "[run]\n",
        "[kubernetes]\nnamespace = \"default\"\n\n[run]\n",
    );
    let kubeconfig = hoist_test::kube::kubeconfig();
    let (code, checks) = doctor(&p, &[("KUBECONFIG", kubeconfig.to_str().unwrap())]);
    assert_eq!(code, 0, "{checks:#?}");
    assert_status(
        check(&checks, "kubernetes"),
        "ok",
        &["lets this user deploy", "`default`"],
    );

    let (unreachable, server) = hoist_test::kube::unreachable_kubeconfig(&p.path(""));
    let (code, checks) = doctor(&p, &[("KUBECONFIG", unreachable.to_str().unwrap())]);
    assert_eq!(code, 1);
    assert_status(check(&checks, "kubernetes"), "fail", &[&server]);

    // Without `[kubernetes]` in hoist.toml the same cluster only warns.
    let q = Project::example("hello");
    let (code, checks) = doctor(&q, &[("KUBECONFIG", unreachable.to_str().unwrap())]);
    assert_eq!(code, 0, "{checks:#?}");
    assert_status(check(&checks, "kubernetes"), "warn", &[&server]);
}

#[test]
fn agent_ports_pass_when_free_and_fail_when_taken() {
    let p = Project::example("hello");
    let (_, checks) = doctor(&p, &[]);
    assert_status(check(&checks, "agent"), "ok", &["not running", "free"]);

    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, checks) = doctor(&p, &[("HOIST_PROXY_ADDR", &addr)]);
    assert_eq!(code, 1);
    assert_status(
        check(&checks, "agent"),
        "fail",
        &[&addr, "HOIST_PROXY_ADDR"],
    );
}

#[test]
fn state_passes_when_writable_and_fails_when_it_cannot_be_a_directory() {
    let p = Project::example("hello");
    let (_, checks) = doctor(&p, &[]);
    assert_status(
        check(&checks, "state"),
        "ok",
        &["created when first needed"],
    );

    let state = p.path("shared-state");
    std::fs::create_dir(&state).unwrap();
    chmod(&state, 0o755);
    let (code, checks) = doctor(&p, &[("HOIST_STATE_DIR", state.to_str().unwrap())]);
    assert_eq!(code, 0);
    assert_status(
        check(&checks, "state"),
        "warn",
        &["readable by other users", "755"],
    );
    chmod(&state, 0o700);
    let (_, checks) = doctor(&p, &[("HOIST_STATE_DIR", state.to_str().unwrap())]);
    assert_status(check(&checks, "state"), "ok", &["writable, mode 700"]);

    let file = p.path("a-file");
    std::fs::write(&file, "").unwrap();
    let under_a_file = file.join("state");
    let (code, checks) = doctor(&p, &[("HOIST_STATE_DIR", under_a_file.to_str().unwrap())]);
    assert_eq!(code, 1);
    assert_status(
        check(&checks, "state"),
        "fail",
        &["cannot be created", "a-file"],
    );
    let (code, checks) = doctor(&p, &[("HOIST_CACHE_DIR", file.to_str().unwrap())]);
    assert_eq!(code, 1);
    assert_status(check(&checks, "cache"), "fail", &["not a directory"]);
}
