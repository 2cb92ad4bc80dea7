//! `hoist deploy` to this machine, end to end: the real `hoist` binary starts its agent, which
//! runs real replicas of a Go service built by the machine's Go behind its proxy; a bounded load
//! through the proxy checks that rollouts, rollbacks and crashes drop no request.
//!
//! Every scenario is a function of the driver, and runs once per driver: `process`, and
//! `container` against dockerd and against podman's service (both started by scripts/engines).

use std::time::{Duration, Instant};

use hoist_test::agent::{Agent, Driver, unit_of};
use hoist_test::cli::code;
use hoist_test::fixtures::label;
use hoist_test::load::Load;
use hoist_test::process::{kill, text, wait_gone};

use crate::webapp;

/// `mod NAME { process, docker, podman }`: each scenario once per driver.
macro_rules! for_each_driver {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::Driver;
            #[test]
            fn process() {
                super::$name(Driver::Process);
            }
            #[test]
            fn docker() {
                super::$name(Driver::Docker);
            }
            #[test]
            fn podman() {
                super::$name(Driver::Podman);
            }
        }
    )*};
}

for_each_driver!(
    three_replicas_all_answer,
    rolling_update_under_load_drops_nothing,
    never_ready_revision_is_rolled_back,
    crashing_and_unlive_revisions_are_rolled_back_at_once,
    a_killed_replica_is_restarted_and_no_request_fails,
    a_killed_agent_recovers_mid_rollout,
    a_second_deploy_during_a_rollout_is_refused,
    bad_input_leaves_the_serving_revision_alone,
    rollback_logs_and_stop,
);

fn three_replicas_all_answer(driver: Driver) {
    let agent = webapp(driver);
    let out = agent.deploy_ok(&[]);
    let url = text(&out.stdout);
    assert_eq!(url.trim(), format!("http://{}/", agent.proxy));
    let mut replicas = std::collections::BTreeSet::new();
    for _ in 0..30 {
        let body = agent.get("127.0.0.1", "/").body;
        assert_eq!(label(&body), "v1", "{body}");
        replicas.insert(body.split_whitespace().nth(2).unwrap_or("").to_owned());
    }
    assert_eq!(replicas.len(), 3, "every replica answers: {replicas:?}");
    let s = agent.status("webapp");
    assert_eq!(
        (s["desired"].as_u64(), s["ready"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(s["serving"]["number"], 1);
    // The proxy counted them for the revision, as canary analysis reads them.
    let traffic = std::process::Command::new("curl")
        .args(["-sf", "--unix-socket"])
        .arg(agent.state_dir().join("agent.sock"))
        .arg("http://agent/v1/apps/webapp/traffic")
        .output()
        .unwrap();
    assert!(traffic.status.success(), "{traffic:?}");
    let traffic: serde_json::Value = serde_json::from_slice(&traffic.stdout).unwrap();
    let rev = &traffic["revisions"]["1"];
    assert_eq!(rev["sample"]["requests"], 30, "{traffic}");
    assert_eq!(rev["sample"]["errors"], 0, "{traffic}");
    assert!(
        rev["p99_seconds"].as_f64().is_some_and(|p| p > 0.0),
        "{traffic}"
    );
    assert_eq!(traffic["canary"], serde_json::Value::Null);
}

fn rolling_update_under_load_drops_nothing(driver: Driver) {
    let agent = webapp(driver);
    agent.deploy_ok(&[]);
    let _turn = hoist_test::load::one_at_a_time();
    let load = Load::start(agent.proxy, "/", 8, Duration::from_secs(90), 2_000_000);
    std::thread::sleep(Duration::from_millis(500));
    let out = agent.deploy_ok(&["--set", "run.env.LABEL=v2"]);
    let done = Instant::now();
    std::thread::sleep(Duration::from_millis(700));
    let report = load.finish();
    eprintln!("rollout under load: {}", report.summary());
    assert!(report.failures().is_empty(), "{}", report.summary());
    // Enough that no moment of the rollout goes without requests (a request every 5 ms at
    // worst), while leaving room for a machine busy compiling: throughput is the benchmarks'
    // business, not this test's.
    assert!(
        report.rate() >= 200.0,
        "the load must be at least 200 requests/s: {}",
        report.summary()
    );
    let after: Vec<_> = report.samples.iter().filter(|s| s.at > done).collect();
    assert!(!after.is_empty(), "the load ran past the rollout");
    assert!(
        after.iter().all(|s| label(&s.body) == "v2"),
        "after the rollout every answer comes from the new revision"
    );
    assert!(
        report.samples.iter().any(|s| label(&s.body) == "v1"),
        "the old revision served during the rollout"
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("revision 2 serves"), "{stderr}");
    let s = agent.settled("webapp");
    assert_eq!(s["serving"]["number"], 2);
    let revs: Vec<u64> = s["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revision"].as_u64().unwrap())
        .collect();
    assert_eq!(revs, [2, 2, 2], "{s:#}");
}

/// A revision that never gets ready (readiness fails, liveness passes): rolled back at the
/// deadline, the old revision serving throughout.
fn never_ready_revision_is_rolled_back(driver: Driver) {
    let agent = webapp(driver);
    agent.deploy_ok(&[]);
    let _turn = hoist_test::load::one_at_a_time();
    let load = Load::start(agent.proxy, "/", 8, Duration::from_secs(90), 2_000_000);
    let out = agent.deploy(&[
        "--set",
        "run.env.HEALTHZ=500",
        "--set",
        "run.env.LABEL=v2",
        "--set",
        "run.health.liveness.tcp=true",
        "--set",
        "run.rollout.deadline=2s",
    ]);
    let report = load.finish();
    eprintln!("failed rollout under load: {}", report.summary());
    assert_eq!(code(&out), 3, "rolled back: {}", text(&out.stderr));
    assert!(report.failures().is_empty(), "{}", report.summary());
    assert!(report.samples.iter().all(|s| label(&s.body) == "v1"));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no progress for 2s"), "{stderr}");
    let history = agent.history("webapp");
    assert_eq!(history[0]["number"], 2);
    assert_eq!(history[0]["state"], "rolled_back");
    let reason = history[0]["reason"].as_str().unwrap();
    assert!(reason.contains("rollout.deadline"), "{reason}");
    assert_eq!(history[1]["state"], "serving");
    let s = agent.settled("webapp");
    assert_eq!(
        (s["serving"]["number"].as_u64(), s["ready"].as_u64()),
        (Some(1), Some(3))
    );
}

/// A revision whose replicas crash, or fail liveness, fails at once instead of at the deadline.
fn crashing_and_unlive_revisions_are_rolled_back_at_once(driver: Driver) {
    let agent = webapp(driver);
    agent.deploy_ok(&[]);
    let _turn = hoist_test::load::one_at_a_time();
    let load = Load::start(agent.proxy, "/", 4, Duration::from_secs(90), 2_000_000);
    let started = Instant::now();
    let crash = agent.deploy(&[
        "--set",
        "run.env.CRASH_AFTER=50ms",
        "--set",
        "run.rollout.deadline=60s",
    ]);
    assert_eq!(code(&crash), 3, "{}", text(&crash.stderr));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "a crash loop fails before the deadline"
    );
    let unlive = agent.deploy(&[
        "--set",
        "run.env.HEALTHZ=500",
        "--set",
        "run.rollout.deadline=60s",
    ]);
    assert_eq!(code(&unlive), 3, "{}", text(&unlive.stderr));
    let report = load.finish();
    assert!(report.failures().is_empty(), "{}", report.summary());
    let history = agent.history("webapp");
    let reasons: Vec<&str> = history
        .iter()
        .map(|r| r["reason"].as_str().unwrap_or(""))
        .collect();
    assert!(reasons[1].contains("crash-looping"), "{reasons:?}");
    assert!(
        reasons[0].contains("liveness probe") && reasons[0].contains("500"),
        "{reasons:?}"
    );
}

fn a_killed_replica_is_restarted_and_no_request_fails(driver: Driver) {
    let agent = webapp(driver);
    agent.deploy_ok(&[]);
    let victim = unit_of(&agent.status("webapp")["replicas"][1]);
    let _turn = hoist_test::load::one_at_a_time();
    let load = Load::start(agent.proxy, "/", 8, Duration::from_mins(1), 2_000_000);
    std::thread::sleep(Duration::from_millis(300));
    agent.kill_unit(&victim);
    let s = agent.wait_status("webapp", Duration::from_secs(20), |s| {
        s["ready"] == 3
            && s["replicas"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["restarts"] == 1)
    });
    std::thread::sleep(Duration::from_millis(300));
    let report = load.finish();
    eprintln!("kill -9 under load: {}", report.summary());
    assert!(report.failures().is_empty(), "{}", report.summary());
    let restarted = s["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["restarts"] == 1)
        .unwrap();
    assert_ne!(
        unit_of(restarted),
        victim,
        "a new process (or container) runs it"
    );
}

/// kill -9 the agent in the middle of a rollout: started again, it adopts the replicas,
/// finishes the rollout, and leaves no process behind that it does not manage.
fn a_killed_agent_recovers_mid_rollout(driver: Driver) {
    let agent = webapp(driver);
    agent.deploy_ok(&[]);
    let deploy = agent.deploy_in_background(&[
        "--set",
        "run.env.LABEL=v2",
        "--set",
        "run.env.READY_AFTER=1500ms",
        "--set",
        "run.health.liveness.tcp=true",
        "--set",
        "run.rollout.deadline=30s",
    ]);
    agent.wait_status("webapp", Duration::from_secs(30), |s| {
        s["rolling_out"] == 2
            && s["replicas"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["revision"] == 2 && r["state"] != "ready" && !unit_of(r).is_empty())
    });
    agent.kill_agent();
    let out = deploy.wait_with_output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(0),
        "the deploy cannot know the outcome"
    );
    assert!(text(&out.stderr).contains("the agent stopped before the rollout ended"));
    let before = agent.units();
    assert!(
        before.len() >= 4,
        "old and new replicas kept running: {before:?}"
    );

    let mut restarted = agent.start_agent();
    let s = agent.wait_status("webapp", Duration::from_secs(40), |s| {
        s["serving"]["number"] == 2
            && s["ready"] == 3
            && s["replicas"].as_array().unwrap().len() == 3
    });
    // Replicas that were replaced may still be stopping (and a busy machine may fail a
    // liveness probe, so the managed set is read again each time); then nothing but the
    // managed ones.
    let mut managed = Agent::status_units(&s);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut live = agent.units();
    while live != managed && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        managed = Agent::status_units(&agent.status("webapp"));
        live = agent.units();
    }
    assert_eq!(
        live,
        managed,
        "no orphan: every replica left is managed\nstatus: {:#}\nagent log:\n{}",
        agent.status("webapp")["replicas"],
        agent.agent_log()
    );
    assert_eq!(label(&agent.get("127.0.0.1", "/").body), "v2");
    let history = agent.history("webapp");
    assert_eq!(history[0]["state"], "serving");
    let stop = agent.hoist(&["agent", "--stop"]).output().unwrap();
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    assert!(
        restarted.wait().unwrap().success(),
        "the agent exits cleanly"
    );
    assert!(agent.units().is_empty(), "agent --stop stops every replica");
}

/// A second deploy while one rolls out is refused, and the first goes on.
fn a_second_deploy_during_a_rollout_is_refused(driver: Driver) {
    let agent = webapp(driver);
    agent.deploy_ok(&[]);
    let dir = agent.project.dir.to_str().unwrap().to_owned();
    let first = agent
        .hoist_std(&[
            "deploy",
            &dir,
            "--driver",
            driver.flag(),
            "--set",
            "run.env.LABEL=v2",
            "--set",
            "run.env.READY_AFTER=1s",
            "--set",
            "run.health.liveness.tcp=true",
        ])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    agent.wait_status("webapp", Duration::from_secs(30), |s| s["rolling_out"] == 2);
    let second = agent.deploy(&["--set", "run.env.LABEL=v3"]);
    assert_eq!(code(&second), 1);
    let err = text(&second.stderr);
    assert!(
        err.contains("a rollout of `webapp` revision 2 is in progress"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert_eq!(label(&agent.get("127.0.0.1", "/").body), "v2");
    assert_eq!(
        agent.history("webapp").len(),
        2,
        "the refused deploy made no revision"
    );
}

/// Bad input leaves the serving revision alone: a binary for another architecture, a missing
/// binary, a health path that 404s.
fn bad_input_leaves_the_serving_revision_alone(driver: Driver) {
    let agent = webapp(driver);
    agent.deploy_ok(&[]);
    let units = Agent::status_units(&agent.status("webapp"));

    let (missing, foreign_flag, foreign_path) = if driver == Driver::Process {
        (
            "/nonexistent/webapp",
            "--binary",
            agent.project.path("webapp-arm64"),
        )
    } else {
        (
            "docker-archive:/nonexistent/webapp.tar",
            "--image",
            agent.project.path("webapp-arm64.tar"),
        )
    };
    let out = agent.deploy(&[
        if driver == Driver::Process {
            "--binary"
        } else {
            "--image"
        },
        missing,
    ]);
    assert_eq!(code(&out), 1);
    let err = text(&out.stderr);
    assert!(err.contains("/nonexistent/webapp"), "{err}");

    // A binary (or image) for another architecture.
    if driver == Driver::Process {
        let built = std::process::Command::new("go")
            .args(["build", "-o"])
            .arg(&foreign_path)
            .arg(".")
            .current_dir(&agent.project.dir)
            .env("GOOS", "linux")
            .env("GOARCH", "arm64")
            .env("CGO_ENABLED", "0")
            .status()
            .unwrap();
        assert!(built.success());
    } else {
        let out = agent
            .hoist(&[
                "build",
                agent.project.dir.to_str().unwrap(),
                "--platform",
                "linux/arm64",
                "--output",
                &format!("docker-archive:{}", foreign_path.display()),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let given = if driver == Driver::Process {
        foreign_path.display().to_string()
    } else {
        format!("docker-archive:{}", foreign_path.display())
    };
    let foreign = agent.deploy(&[foreign_flag, &given]);
    assert_eq!(code(&foreign), 1);
    let err = text(&foreign.stderr);
    let expected = if driver == Driver::Process {
        "is built for arm64, and this machine is amd64"
    } else {
        "linux/arm64"
    };
    assert!(err.contains(expected), "{err}");
    assert!(err.contains("hint:"), "{err}");

    // A health path that answers 404.
    let not_found = agent.deploy(&[
        "--set",
        "run.env.HEALTHZ=404",
        "--set",
        "run.health.liveness.tcp=true",
        "--set",
        "run.rollout.deadline=2s",
    ]);
    assert_eq!(code(&not_found), 3, "{}", text(&not_found.stderr));
    let err = text(&not_found.stderr);
    assert!(err.contains("GET /healthz → 404 Not Found"), "{err}");

    assert_eq!(
        Agent::status_units(&agent.settled("webapp")),
        units,
        "the serving replicas were not touched"
    );
    assert_eq!(label(&agent.get("127.0.0.1", "/").body), "v1");
    let history = agent.history("webapp");
    assert_eq!(
        history.len(),
        2,
        "refused deploys make no revision: {history:?}"
    );
}

/// The app that the process driver refuses (it ignores $PORT) runs side by side in containers,
/// each with its own network.
#[test]
fn an_app_on_a_fixed_port_runs_in_containers() {
    let agent = webapp(Driver::Docker);
    agent.deploy_ok(&[
        "--set",
        "run.env.FIXED_PORT=8080",
        "--set",
        "run.replicas=2",
    ]);
    let s = agent.status("webapp");
    assert_eq!(s["ready"], 2, "{s:#}");
}

#[test]
fn a_taken_proxy_port_is_a_clear_error() {
    let agent = webapp(Driver::Process);
    let _taken = std::net::TcpListener::bind(agent.proxy).unwrap();
    let out = agent.deploy(&[]);
    assert_eq!(code(&out), 1);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "cannot listen on the proxy address `{}`",
            agent.proxy
        )),
        "{err}"
    );
    assert!(
        err.contains("hint:") && err.contains("HOIST_PROXY_ADDR"),
        "{err}"
    );
    assert!(agent.replica_processes().is_empty());
}

#[test]
fn an_app_ignoring_port_is_pointed_to_the_container_driver() {
    let agent = webapp(Driver::Process);
    let fixed = hoist_test::ports::free_port().to_string();
    let out = agent.deploy(&[
        "--set",
        &format!("run.env.FIXED_PORT={fixed}"),
        "--set",
        "run.replicas=2",
        "--set",
        "run.rollout.deadline=20s",
    ]);
    assert_eq!(
        code(&out),
        4,
        "nothing to roll back to: {}",
        text(&out.stderr)
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("listens on :{fixed} but not on $PORT")),
        "{err}"
    );
    assert!(err.contains("container driver"), "{err}");
}

fn rollback_logs_and_stop(driver: Driver) {
    let agent = webapp(driver);
    agent.deploy_ok(&["--set", "run.env.STDOUT_LINES=3"]);
    agent.deploy_ok(&["--set", "run.env.LABEL=v2"]);
    assert_eq!(label(&agent.get("127.0.0.1", "/").body), "v2");

    let out = agent.hoist(&["rollback", "webapp"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(label(&agent.get("127.0.0.1", "/").body), "v1");
    let history = agent.history("webapp");
    assert_eq!(history[0]["number"], 3);
    assert_eq!(history[0]["reason"], "rollback to revision 1");
    let none = agent
        .hoist(&["rollback", "webapp", "--to", "9"])
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(1));
    assert!(text(&none.stderr).contains("has no revision 9"));

    let s = agent.settled("webapp");
    let id = s["replicas"][0]["id"].as_u64().unwrap().to_string();
    let logs = agent
        .hoist(&["logs", "webapp", "--replica", &id])
        .output()
        .unwrap();
    let logs = text(&logs.stdout);
    assert!(
        logs.contains("line 3 of 3") && logs.contains("listening on"),
        "{logs}"
    );
    let all = agent
        .hoist(&["logs", "webapp", "--tail", "1"])
        .output()
        .unwrap();
    let all = text(&all.stdout);
    assert_eq!(all.lines().count(), 3, "one line per replica: {all}");
    assert!(all.lines().all(|l| l.starts_with("[replica ")), "{all}");

    let follow = agent
        .hoist_std(&["logs", "webapp", "--follow", "--tail", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    agent.deploy_ok(&["--set", "run.env.LABEL=v4"]);
    std::thread::sleep(Duration::from_millis(1500));
    kill(follow.id(), "TERM");
    let followed = follow.wait_with_output().unwrap();
    let followed = text(&followed.stdout);
    assert!(
        followed.contains("webapp v4 listening"),
        "follow picks up new replicas: {followed}"
    );

    let before = Agent::status_units(&agent.status("webapp"));
    let out = agent.hoist(&["stop", "webapp"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    if driver == Driver::Process {
        for p in before {
            wait_gone(p.parse().unwrap());
        }
    }
    assert!(
        agent.units().is_empty(),
        "no replica is left: {:?}",
        agent.units()
    );
    assert!(
        agent
            .get("127.0.0.1", "/")
            .body
            .contains("no app is routed here")
    );
    assert_eq!(agent.history("webapp")[0]["state"], "stopped");
}
