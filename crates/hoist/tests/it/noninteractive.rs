//! The contract with scripts and CI: without a terminal hoist prints plain lines (no colour,
//! no spinner escapes) and never waits on stdin; on a terminal `NO_COLOR` turns colour off;
//! every command that reports a result prints it as JSON with `--json`, on stdout alone.

use std::process::Stdio;

use hoist_test::agent::{Agent, Driver};
use hoist_test::git::commit_all;
use hoist_test::process::text;
use hoist_test::project::Project;
use serde_json::Value;

use crate::HOIST;

/// Runs `hoist ARGS` in `p` without a terminal and with stdin closed; stdout and stderr.
fn plain(agent: &Agent, args: &[&str]) -> (i32, String, String) {
    let out = agent
        .hoist_std(args)
        .current_dir(&agent.project.dir)
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::null())
        .output()
        .expect("hoist runs");
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

#[track_caller]
fn json(agent: &Agent, args: &[&str]) -> Value {
    let (code, stdout, stderr) = plain(agent, args);
    assert_eq!(code, 0, "`hoist {}`: {stderr}", args.join(" "));
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "`hoist {}` printed no JSON on stdout ({e}):\n{stdout}",
            args.join(" ")
        )
    })
}

#[test]
fn no_terminal_means_plain_output_and_json_where_asked() {
    let agent = Agent::new(HOIST, Project::example("hello"), Driver::Process);
    commit_all(&agent.project.dir, "one");
    // The commands a pipeline runs, plain: no escape sequence anywhere.
    for args in [
        &["build"][..],
        &["tags"],
        &["doctor"],
        &["deploy", "--env", "dev"],
        &["status", "hello"],
        &["ci", "github"],
    ] {
        let (code, stdout, stderr) = plain(&agent, args);
        assert_eq!(code, 0, "`hoist {}`: {stderr}", args.join(" "));
        for (stream, s) in [("stdout", &stdout), ("stderr", &stderr)] {
            assert!(
                !s.contains('\u{1b}'),
                "`hoist {}` wrote an escape sequence on {stream}: {s:?}",
                args.join(" ")
            );
        }
    }

    // `--json`: one document on stdout, for every command that reports a result (`render`'s
    // result is the manifests themselves, YAML on stdout).
    assert!(json(&agent, &["build", "--json"])["digest"].is_string());
    assert!(json(&agent, &["tags", "--json"])["tags"].is_array());
    assert!(json(&agent, &["doctor", "--json"])["checks"].is_array());
    assert_eq!(json(&agent, &["config", "--json"])["app"]["name"], "hello");
    assert!(json(&agent, &["status", "hello", "--json"])[0]["desired"].is_u64());
    assert!(json(&agent, &["history", "hello", "--json"]).is_array());
    assert_eq!(json(&agent, &["ci", "github", "--json"])["written"], false);
    let stopped = json(&agent, &["stop", "hello", "--json"]);
    assert_eq!(
        (stopped["app"].as_str(), stopped["stopped"].as_bool()),
        (Some("hello"), Some(true))
    );
    assert_eq!(
        json(&agent, &["forget", "hello", "--json"])["forgotten"],
        true
    );
}

#[test]
fn no_color_is_honoured_on_a_terminal() {
    let p = Project::example("hello");
    let hoist = assert_cmd::cargo::cargo_bin("hoist");
    // `script` gives hoist a terminal; only then would it colour.
    let on_tty = |no_color: bool| {
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &format!("{} doctor", hoist.display()), "/dev/null"])
            .current_dir(&p.dir)
            .env("TERM", "xterm-256color")
            .env("HOIST_CACHE_DIR", &p.cache)
            .env("HOIST_STATE_DIR", p.path("state"))
            .env("KUBECONFIG", p.path("none"))
            .env_remove("NO_COLOR")
            .stdin(Stdio::null());
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        text(&cmd.output().expect("script runs").stdout)
    };
    assert!(on_tty(false).contains('\u{1b}'), "a terminal gets colour");
    let plain = on_tty(true);
    assert!(plain.contains("go1."), "{plain}");
    assert!(!plain.contains('\u{1b}'), "NO_COLOR: {plain:?}");
}
