//! `hoist config`: the merged configuration as TOML or JSON, and errors that point at the bad
//! spot of hoist.toml.

use hoist_test::cli::position;
use hoist_test::cli::{assert_mentions, config_failure, config_spot, success};
use hoist_test::project::Project;
use serde_json::json;

use crate::Hoist as _;

fn toml_output(p: &Project, args: &[&str]) -> toml::Table {
    let stdout = success(p.hoist(&["config"]).args(args).current_dir(&p.dir));
    toml::from_str(&stdout)
        .unwrap_or_else(|e| panic!("`hoist config` printed no TOML ({e}):\n{stdout}"))
}

#[test]
fn prints_the_merged_config_as_toml() {
    let p = Project::example("hello");

    let config = toml_output(&p, &[]);

    assert_eq!(config["app"]["name"].as_str(), Some("hello"), "{config:#?}");
    assert_eq!(
        config["app"]["port"].as_integer(),
        Some(8080),
        "{config:#?}"
    );
    assert_eq!(
        config["run"]["replicas"].as_integer(),
        Some(3),
        "{config:#?}"
    );
    let platforms = config["build"]["platforms"]
        .as_array()
        .expect("build.platforms");
    assert_eq!(
        platforms,
        &["linux/amd64", "linux/arm64"].map(toml::Value::from),
        "{config:#?}"
    );
}

#[test]
fn environment_overlays_the_base() {
    let p = Project::example("hello");

    let config = toml_output(&p, &["--env", "dev"]);

    assert_eq!(config["app"]["name"].as_str(), Some("hello"), "{config:#?}");
    assert_eq!(
        config["run"]["replicas"].as_integer(),
        Some(1),
        "{config:#?}"
    );
    let platforms = config["build"]["platforms"]
        .as_array()
        .expect("build.platforms");
    assert_eq!(
        platforms,
        &[toml::Value::from("linux/amd64")],
        "{config:#?}"
    );
}

#[test]
fn json_output() {
    let p = Project::example("hello");

    let stdout = success(&mut p.hoist(&["config", p.dir_str(), "--env", "dev", "--json"]));

    let config: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("--json printed no JSON ({e}):\n{stdout}"));
    assert_eq!(config["app"]["name"], "hello", "{config:#}");
    assert_eq!(config["run"]["replicas"], 1, "{config:#}");
    assert_eq!(
        config["build"]["platforms"],
        json!(["linux/amd64"]),
        "{config:#}"
    );
    // The same keys and values as the TOML: durations as written, probes by their keys.
    assert_eq!(config["run"]["termination_grace"], "30s", "{config:#}");
    assert_eq!(
        config["run"]["health"]["readiness"]["path"], "/healthz",
        "{config:#}"
    );
    assert_eq!(config["run"]["rollout"]["deadline"], "60s", "{config:#}");
    let toml_text = success(&mut p.hoist(&["config", p.dir_str(), "--env", "dev"]));
    let from_toml: toml::Table = toml::from_str(&toml_text).unwrap();
    assert_eq!(
        config,
        serde_json::to_value(&from_toml).unwrap(),
        "--json and the TOML say the same"
    );
}

#[test]
fn unknown_environment_lists_the_known_ones() {
    let p = Project::example("hello");

    let stderr = config_failure(&mut p.hoist(&["config", p.dir_str(), "--env", "qa"]));

    assert_mentions(
        &stderr,
        &["unknown environment `qa`", "`dev`, `prod`, `staging`"],
    );
}

/// Replaces `from` with `to` in hello's hoist.toml, runs `hoist config`, and returns where the
/// error points and where `to` is.
fn broken(from: &str, to: &str) -> ((usize, usize), (usize, usize), String) {
    let p = Project::example("hello");
    p.edit("hoist.toml", from, to);
    let stderr = config_failure(&mut p.hoist(&["config", p.dir_str()]));
    (
        config_spot(&stderr),
        position(&p.read("hoist.toml"), to),
        stderr,
    )
}

#[test]
fn wrong_type_points_at_the_value() {
    let (spot, (line, col), stderr) = broken("replicas = 3", "replicas = \"three\"");

    let value_col = col + "replicas = ".len();
    assert_eq!(
        spot,
        (line, value_col),
        "not the spot of `\"three\"`:\n{stderr}"
    );
    assert_mentions(&stderr, &["replicas"]);
}

#[test]
fn unknown_key_points_at_the_key() {
    let (spot, at, stderr) = broken("replicas = 3", "replica = 3");

    assert_eq!(spot, at, "not the spot of `replica`:\n{stderr}");
    assert_mentions(&stderr, &["replica"]);
}

#[test]
fn syntax_error_points_at_the_line() {
    let (spot, (line, _), stderr) = broken("port = 8080", "port = = 8080");

    assert_eq!(spot.0, line, "not the line of `port = = 8080`:\n{stderr}");
}

#[test]
fn missing_hoist_toml_shows_what_is_inferred() {
    let p = Project::example("hello");
    std::fs::remove_file(p.dir.join("hoist.toml")).expect("remove hoist.toml");

    let out = p
        .hoist(&["config", p.dir_str()])
        .assert()
        .success()
        .get_output()
        .clone();

    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_mentions(&stderr, &["no hoist.toml", "`hoist init`"]);
    let config: toml::Table = toml::from_str(&stdout).unwrap();
    assert_eq!(config["app"]["name"].as_str(), Some("hello"), "{stdout}");
    assert_eq!(config["app"]["port"].as_integer(), Some(8080), "{stdout}");
}

#[test]
fn a_subdirectory_finds_the_projects_hoist_toml() {
    let p = Project::example("hello");
    std::fs::create_dir_all(p.dir.join("internal/deep")).unwrap();

    let stdout = success(&mut p.hoist(&["config", p.dir.join("internal/deep").to_str().unwrap()]));

    let config: toml::Table = toml::from_str(&stdout).unwrap();
    assert_eq!(config["run"]["replicas"].as_integer(), Some(3), "{stdout}");
}

/// `$(NAME)` that nothing defines stays as written (as the kubelet leaves it), and hoist says
/// so; `$(PORT)` and a `run.env` name are fine.
#[test]
fn an_unknown_variable_in_args_is_warned_about() {
    let p = Project::example("hello");
    p.edit(
        "hoist.toml",
        "port = 8080",
        "port = 8080\nargs = [\"--listen=:$(PORT)\", \"--level=$(LOG_LEVEL)\", \"--data=$(DATA_DIR)\", \"$$(LITERAL)\"]",
    );
    let out = p
        .hoist(&["config", p.dir_str(), "--env", "staging"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_mentions(&stderr, &["warning:", "`$(DATA_DIR)`", "passed as written"]);
    for fine in ["$(PORT)", "$(LOG_LEVEL)", "LITERAL"] {
        assert!(
            !stderr.contains(fine),
            "{fine} is defined or escaped:\n{stderr}"
        );
    }
}

/// A canary is checked and shown by `hoist config`, and refused (not rolled out as a rolling
/// update without its analysis) by `hoist deploy --target kubernetes`, which does not walk the
/// steps yet (the local agent does: `canary::`).
#[test]
fn a_canary_strategy_is_shown_and_a_kubernetes_deploy_refuses_it() {
    let p = Project::example("hello");
    let toml = p.read("hoist.toml");
    p.write(
        "hoist.toml",
        &format!("{toml}\n[run.rollout]\nstrategy = \"canary\"\nsteps = [5, 50]\n"),
    );
    let config = toml_output(&p, &[]);
    assert_eq!(
        config["run"]["rollout"]["steps"],
        toml::Value::from(vec![5, 50, 100]),
        "{config:#?}"
    );
    assert_eq!(
        config["run"]["rollout"]["slo"]["p99"],
        toml::Value::from(vec!["+100ms"]),
        "{config:#?}"
    );
    let state = tempfile::tempdir().unwrap();
    let stderr = hoist_test::cli::failure(
        p.hoist(&[
            "deploy",
            "--target",
            "kubernetes",
            "--state-dir",
            state.path().to_str().unwrap(),
        ])
        .current_dir(&p.dir),
    );
    assert_mentions(
        &stderr,
        &[
            "strategy = \"canary\"",
            "on Kubernetes needs `[verify.prometheus]`",
            "nothing was deployed",
        ],
    );
    assert!(
        std::fs::read_dir(state.path()).unwrap().next().is_none(),
        "no agent was started"
    );
}
