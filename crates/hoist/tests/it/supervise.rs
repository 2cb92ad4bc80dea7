//! `hoist agent --supervise`: a kill -9 of the agent under load. The supervisor holds the
//! proxy's listening socket and starts the agent again; the new agent adopts the replicas, and
//! clients wait instead of being refused. examples/hello as it is, process driver.

use std::time::{Duration, Instant};

use hoist_test::agent::{Agent, Driver};
use hoist_test::load::Load;
use hoist_test::process::text;
use hoist_test::project::Project;

/// Waits until the agent answers with a pid other than `old` (`None`: any).
fn wait_agent(agent: &Agent, old: Option<u32>, log: &std::path::Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(pid) = agent.pid()
            && Some(pid) != old
            && std::os::unix::net::UnixStream::connect(agent.state_dir().join("agent.sock")).is_ok()
        {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "no agent answered: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_supervised_agent_killed_under_load_comes_back_with_its_replicas_and_refuses_no_connection() {
    let agent = Agent::new(crate::HOIST, Project::example("hello"), Driver::Process);
    let log = agent.state_dir().join("supervisor.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut supervisor = agent
        .hoist_std(&["agent", "--supervise"])
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let first = wait_agent(&agent, None, &log);
    assert_ne!(
        first,
        supervisor.id(),
        "the agent is the supervisor's child"
    );
    agent.deploy_ok(&[]);
    let replicas = {
        let mut p = agent.replica_pids("hello");
        p.sort_unstable();
        p
    };
    assert_eq!(replicas.len(), 3);

    let load = Load::start(agent.proxy, "/", 4, Duration::from_secs(30), usize::MAX);
    std::thread::sleep(Duration::from_millis(700));
    let before = load.count();
    agent.kill_agent();
    let second = wait_agent(&agent, Some(first), &log);
    // The same replicas, adopted, and serving through the new agent.
    let settled = agent.wait_status("hello", Duration::from_secs(10), |s| s["ready"] == 3);
    let mut now = agent.replica_pids("hello");
    now.sort_unstable();
    assert_eq!(now, replicas, "adopted, not restarted: {settled}");
    std::thread::sleep(Duration::from_millis(700));
    let report = load.finish();
    assert!(
        report.samples.len() > before + 100,
        "requests went on after the restart: {}",
        report.summary()
    );
    // What fails is only what was in flight on the killed agent's connections (one per load
    // connection at most); none is refused, none answered 503.
    let failures = report.failures();
    assert!(failures.len() <= 4, "{}", report.summary());
    for f in &failures {
        assert!(
            f.status.is_none() && !f.body.contains("refused"),
            "a request failed other than by its connection being cut: {f:?}\n{}",
            report.summary()
        );
    }
    let mut at: Vec<Instant> = report.samples.iter().map(|s| s.at).collect();
    at.sort_unstable();
    let stall = at.windows(2).map(|w| w[1] - w[0]).max().unwrap_or_default();
    eprintln!(
        "agent {first} killed, {second} took over: {}; longest gap between answers {:.0} ms",
        report.summary(),
        stall.as_secs_f64() * 1000.0
    );
    let sup_log = std::fs::read_to_string(&log).unwrap();
    assert!(
        sup_log.contains("ended (signal: 9 (SIGKILL))") && sup_log.contains("restart 1"),
        "{sup_log}"
    );

    // `hoist agent --stop` stops the agent and, with it, the supervisor.
    let stopped = agent.hoist(&["agent", "--stop"]).output().unwrap();
    assert!(stopped.status.success(), "{}", text(&stopped.stderr));
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = supervisor.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the supervisor outlived its agent"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    assert!(
        agent
            .pid()
            .is_none_or(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
    );
}

#[test]
fn agent_install_puts_a_running_agent_under_supervision_without_stopping_its_replicas() {
    let agent = Agent::new(crate::HOIST, Project::example("hello"), Driver::Process);
    // `hoist deploy` starts an agent of its own, unsupervised.
    agent.deploy_ok(&[]);
    let before = agent.pid().expect("the agent runs");
    let mut replicas = agent.replica_pids("hello");
    replicas.sort_unstable();
    let log = agent.state_dir().join("agent.log");

    let out = agent.hoist(&["agent", "install"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(said.contains("its replicas keep running"), "{said}");
    let after = wait_agent(&agent, Some(before), &log);
    agent.wait_status("hello", Duration::from_secs(10), |s| s["ready"] == 3);
    let mut now = agent.replica_pids("hello");
    now.sort_unstable();
    assert_eq!(now, replicas, "the replicas were adopted, not restarted");
    let sup: u32 = std::fs::read_to_string(agent.state_dir().join("supervisor.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{after}/stat")).unwrap();
    let ppid = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(1)
        .unwrap();
    assert_eq!(ppid, sup.to_string(), "the agent is the supervisor's child");

    // Installed already: nothing to do.
    let again = agent.hoist(&["agent", "install"]).output().unwrap();
    assert!(again.status.success());
    assert!(
        text(&again.stderr).contains("nothing to do"),
        "{}",
        text(&again.stderr)
    );

    // Supervised: a kill -9 brings it back by itself.
    agent.kill_agent();
    wait_agent(&agent, Some(after), &log);
}
