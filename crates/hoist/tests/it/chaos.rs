//! `hoist chaos` on this machine: faults injected by the real agent and its proxy into replicas
//! of the webapp fixture — scoped to one revision, bounded in time, and gone after the run and
//! after the agent is killed -9 mid-fault and started again; and a canary judged under them.

use std::time::{Duration, Instant};

use hoist_test::agent::{Agent, Driver};
use hoist_test::cli::code;
use hoist_test::fixtures::label;
use hoist_test::load::Load;
use hoist_test::process::text;
use serde_json::Value;

use crate::webapp;

fn chaos(agent: &Agent, args: &[&str]) -> String {
    let mut all = vec!["chaos", "webapp"];
    all.extend_from_slice(args);
    let out = agent.hoist(&all).output().unwrap();
    assert_eq!(code(&out), 0, "hoist chaos {args:?}: {}", text(&out.stderr));
    text(&out.stderr)
}

/// The state letter of a process (`R`, `S`, `T` for stopped…) from /proc.
fn proc_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(") ")
        .and_then(|(_, rest)| rest.chars().next())
        .unwrap_or('?')
}

fn ready_pids(status: &Value) -> Vec<u32> {
    status["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["state"] == "ready")
        .filter_map(|r| r["pid"].as_u64())
        .map(|p| u32::try_from(p).unwrap())
        .collect()
}

#[test]
fn proxy_faults_hit_their_share_and_end_by_themselves() {
    let agent = webapp(Driver::Process);
    agent.deploy_ok(&[]);
    let _turn = hoist_test::load::one_at_a_time();
    let load = Load::start(agent.proxy, "/", 4, Duration::from_mins(1), 2_000_000);
    let said = chaos(
        &agent,
        &["--abort", "20%:500", "--latency", "30ms", "--for", "2s"],
    );
    let injected = Instant::now();
    assert!(said.contains("20% of requests answered 500"), "{said}");
    let t0 = Instant::now();
    let slow = agent.get("127.0.0.1", "/healthz");
    assert!(
        t0.elapsed() >= Duration::from_millis(30),
        "the injected latency delays each request"
    );
    drop(slow);
    std::thread::sleep(Duration::from_millis(3500));
    let report = load.finish();
    let during: Vec<_> = report
        .samples
        .iter()
        .filter(|s| s.at >= injected && s.at < injected + Duration::from_millis(1800))
        .collect();
    let aborted = during.iter().filter(|s| s.status == Some(500)).count();
    let share = aborted as f64 / during.len() as f64;
    assert!(
        (0.15..=0.25).contains(&share),
        "{aborted} of {} aborted",
        during.len()
    );
    for f in report.failures() {
        assert_eq!(f.status, Some(500), "{}", f.body);
        assert!(
            f.body.contains("fault injected by `hoist chaos`"),
            "{}",
            f.body
        );
        assert!(
            f.at < injected + Duration::from_millis(2500),
            "a fault outlived its end"
        );
    }
    assert_eq!(label(&agent.get("127.0.0.1", "/").body), "v1");
}

#[test]
fn a_replica_killed_under_load_fails_no_request() {
    let agent = webapp(Driver::Process);
    agent.deploy_ok(&[]);
    let _turn = hoist_test::load::one_at_a_time();
    let load = Load::start(agent.proxy, "/", 8, Duration::from_mins(1), 2_000_000);
    std::thread::sleep(Duration::from_millis(300));
    let said = chaos(&agent, &["--kill"]);
    assert!(said.contains("killed (-9)"), "{said}");
    agent.wait_status("webapp", Duration::from_secs(20), |s| {
        s["ready"] == 3
            && s["replicas"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["restarts"] == 1)
    });
    std::thread::sleep(Duration::from_millis(300));
    let report = load.finish();
    assert!(report.failures().is_empty(), "{}", report.summary());
}

#[test]
fn cpu_starvation_and_proxy_faults_are_gone_after_the_agent_is_killed_mid_fault() {
    let agent = webapp(Driver::Process);
    agent.deploy_ok(&[]);
    let pids = ready_pids(&agent.status("webapp"));
    assert_eq!(pids.len(), 3);
    chaos(&agent, &["--cpu", "80%", "--abort", "100%", "--for", "10m"]);
    // Stopped most of every 100 ms: seen stopped within a second of sampling.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !pids.iter().any(|p| proc_state(*p) == 'T') {
        assert!(
            Instant::now() < deadline,
            "no replica was ever seen stopped"
        );
        std::thread::sleep(Duration::from_millis(7));
    }
    assert_eq!(
        agent.get("127.0.0.1", "/").status,
        503,
        "every request aborted"
    );

    agent.kill_agent();
    let mut restarted = agent.start_agent();
    let status = agent.wait_status("webapp", Duration::from_secs(20), |s| s["ready"] == 3);
    // A replica stopped at the moment the agent died is hung up by the kernel (SIGHUP to a
    // process group orphaned with a stopped member) and started anew; one that was running is
    // adopted and continued. Either way, none is left stopped.
    let now = ready_pids(&status);
    for _ in 0..50 {
        for p in pids.iter().chain(&now) {
            assert_ne!(proc_state(*p), 'T', "replica {p} left stopped");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        label(&agent.get("127.0.0.1", "/").body),
        "v1",
        "no proxy fault survives the agent"
    );
    let stop = agent.hoist(&["agent", "--stop"]).output().unwrap();
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    assert!(
        restarted.wait().unwrap().success(),
        "the agent exits cleanly"
    );
}

#[test]
fn bad_requests_are_refused_with_what_to_write() {
    let agent = webapp(Driver::Process);
    agent.deploy_ok(&[]);
    for (args, says) in [
        (
            &["--abort", "20"][..],
            "`--abort 20`: write a share like `10%`",
        ),
        (&["--abort", "10%:200"][..], "the status is 400 to 599"),
        (&[][..], "no fault given"),
        (&["--cpu", "99%"][..], "cpu up to 95"),
        (
            &["--kill", "--revision", "7"][..],
            "revision 7 of `webapp` has no ready replica",
        ),
    ] {
        let mut all = vec!["chaos", "webapp"];
        all.extend_from_slice(args);
        let out = agent.hoist(&all).output().unwrap();
        assert_ne!(code(&out), 0, "{args:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert!(
        agent.status("webapp")["replicas"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["restarts"] == 0),
        "a refused request killed nothing"
    );
}
