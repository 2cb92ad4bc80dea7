//! `hoist deploy --target hosts` against real hosts (network namespaces with their own sshd,
//! user and home; `hoist_test::hosts`): examples/hello as it is in the repository, built once,
//! sent to each host as only the blobs it lacks (a delta against the binary it runs), rolled out host by host by each host's own
//! agent, asked inside each namespace through that host's own proxy. Root, openssh-server and
//! wrk are needed; without them the tests fail (never skip).

use std::process::Command;

use hoist_test::cli::json;
use hoist_test::hosts::TestHosts;
use hoist_test::project::Project;
use serde_json::Value;

use crate::Hoist as _;

/// A copy of examples/hello (its own hoist.toml, unchanged) with `[hosts]` listing every test
/// host by its ssh_config alias, and `run.replicas = 2` so each host rolls a real update.
pub(crate) fn hello_on(hosts: &TestHosts) -> Project {
    let p = Project::example("hello");
    let targets: Vec<String> = hosts
        .hosts
        .iter()
        .map(|h| format!("\"{}\"", h.alias))
        .collect();
    let toml = p.read("hoist.toml").replace("replicas = 3", "replicas = 2");
    let toml = format!("{toml}\n[hosts]\ntargets = [{}]\n", targets.join(", "));
    p.write("hoist.toml", &toml);
    p
}

/// Makes `p` a container-driver app whose hosts' engine is each host user's own dockerd
/// socket: `hoist init`'s hoist.toml says nothing of engines, and the hosts' is one line, the
/// same for every host ($HOME is each host user's own).
pub(crate) fn as_containers(p: &Project) {
    let toml = p
        .read("hoist.toml")
        .replace("[run]\n", "[run]\ndriver = \"container\"\n");
    p.write(
        "hoist.toml",
        &format!("{toml}engine = \"unix://$HOME/docker.sock\"\n"),
    );
}

/// `hoist VERB DIR --target hosts --ssh-config RUN/ssh_config ARGS`.
pub(crate) fn on_hosts(
    p: &Project,
    hosts: &TestHosts,
    verb: &[&str],
    args: &[&str],
) -> assert_cmd::Command {
    let ssh_config = hosts.ssh_config();
    let mut all: Vec<&str> = verb.to_vec();
    all.extend_from_slice(&[
        "--target",
        "hosts",
        "--ssh-config",
        ssh_config.to_str().unwrap(),
        "--ssh-timeout",
        "5s",
    ]);
    all.extend_from_slice(args);
    p.hoist(&all)
}

/// Runs it, checks the exit status, returns (stdout, stderr).
pub(crate) fn run(mut cmd: assert_cmd::Command, code: i32) -> (String, String) {
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit status\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

pub(crate) fn deploy_json(p: &Project, hosts: &TestHosts, code: i32) -> (Vec<Value>, String) {
    let dir = p.dir_str().to_owned();
    let (stdout, stderr) = run(on_hosts(p, hosts, &["deploy", &dir], &["--json"]), code);
    (
        json(&stdout)
            .as_array()
            .expect("one object per host")
            .clone(),
        stderr,
    )
}

/// What host `i` answers on its own proxy, asked inside its namespace.
pub(crate) fn answer(hosts: &TestHosts, i: usize) -> String {
    let out = hosts.exec(i, "curl -sS --max-time 5 http://127.0.0.1:8080/");
    assert!(
        out.status.success(),
        "host {i}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `wrk` inside host `i`'s namespace against its proxy for `secs` seconds, started now.
pub(crate) fn load(hosts: &TestHosts, i: usize, secs: u32) -> std::process::Child {
    Command::new("ip")
        .args(["netns", "exec", &hosts.hosts[i].netns, "wrk", "-t1", "-c4"])
        .arg(format!("-d{secs}s"))
        .arg("http://127.0.0.1:8080/")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("wrk (Debian's wrk) inside the namespace")
}

/// Waits for each host's `load` and checks it was real load and that no request failed.
pub(crate) fn no_request_failed(loads: Vec<std::process::Child>) {
    for (i, l) in loads.into_iter().enumerate() {
        let out = l.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let wrk = hoist_test::wrk::WrkReport::parse(&text);
        assert!(wrk.requests > 100, "host {i} was under load:\n{text}");
        assert_eq!(
            wrk.failed(),
            0,
            "host {i}: no request fails during its rolling update:\n{text}"
        );
    }
}

/// `hoist status --target hosts --json` (exit status `code`): each host's `drift`.
pub(crate) fn drift(p: &Project, hosts: &TestHosts, code: i32) -> Vec<bool> {
    let (stdout, _) = run(
        on_hosts(p, hosts, &["status", "-C", p.dir_str()], &["--json"]),
        code,
    );
    json(&stdout)
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["drift"].as_bool().expect("a drift per host"))
        .collect()
}

#[test]
fn hello_reaches_three_hosts_and_a_one_line_change_sends_only_the_new_binary_under_load() {
    let hosts = TestHosts::start(3);
    let p = hello_on(&hosts);

    // First deploy: every host gets hoist, its agent, and the binary.
    let (first, stderr) = deploy_json(&p, &hosts, 0);
    assert_eq!(first.len(), 3, "{stderr}");
    for (i, h) in first.iter().enumerate() {
        assert_eq!(h["host"], hosts.hosts[i].alias.as_str());
        assert_eq!(h["outcome"], "deployed", "{h}\n{stderr}");
        assert_eq!(h["revision"], 1, "{h}");
        let sent = h["sent_bytes"].as_u64().unwrap();
        let wire = h["wire_bytes"].as_u64().unwrap();
        assert!(sent > 1_000_000, "a Go binary went to each host: {h}");
        assert!(wire < sent, "compressed on the wire: {h}");
        assert!(
            answer(&hosts, i).starts_with("hello from hoist"),
            "host {i} serves hello through its own proxy"
        );
    }
    assert!(stderr.contains("deployed on 3 of 3 hosts"), "{stderr}");

    // The same again: every host has the binary, nothing is sent.
    let (same, stderr) = deploy_json(&p, &hosts, 0);
    for h in &same {
        assert_eq!(h["outcome"], "deployed", "{h}\n{stderr}");
        assert_eq!(h["sent_bytes"], 0, "nothing new to send: {h}");
    }

    // A one-line change, rolled out under load on every host.
    p.edit("main.go", "hello from hoist", "hello again from hoist");
    let loads: Vec<_> = (0..3).map(|i| load(&hosts, i, 25)).collect();
    std::thread::sleep(std::time::Duration::from_secs(1));
    let started = std::time::Instant::now();
    let (changed, stderr) = deploy_json(&p, &hosts, 0);
    let took = started.elapsed();
    for (i, h) in changed.iter().enumerate() {
        assert_eq!(h["outcome"], "deployed", "{h}\n{stderr}");
        assert_eq!(h["revision"], 3, "{h}");
        let sent = h["sent_bytes"].as_u64().unwrap();
        let first_sent = first[i]["sent_bytes"].as_u64().unwrap();
        assert!(
            sent > 0 && sent.abs_diff(first_sent) < first_sent / 10,
            "only the new binary, about the size of the first: {sent} vs {first_sent}"
        );
        let wire = h["wire_bytes"].as_u64().unwrap();
        assert!(
            wire < 64 * 1024,
            "sent as a delta against the binary the host ran: {wire} bytes on the wire"
        );
        assert!(answer(&hosts, i).starts_with("hello again from hoist"));
    }
    assert!(
        took < std::time::Duration::from_secs(22),
        "the load must cover the whole deploy: it took {took:?}; lengthen the load"
    );
    no_request_failed(loads);

    // Status: each host serves the last deploy.
    let dir = p.dir_str().to_owned();
    let (stdout, _) = run(
        on_hosts(&p, &hosts, &["status", "-C", &dir], &["--json"]),
        0,
    );
    let status = json(&stdout);
    for (i, h) in status.as_array().unwrap().iter().enumerate() {
        assert_eq!(h["drift"], false, "host {i}: {h}");
        assert_eq!(h["status"]["serving"]["number"], 3, "{h}");
    }

    // Every host's history and logs, each under its host.
    let (stdout, _) = run(on_hosts(&p, &hosts, &["history", "-C", &dir], &[]), 0);
    for h in &hosts.hosts {
        assert!(stdout.contains(&format!("{}\n", h.alias)), "{stdout}");
    }
    assert_eq!(stdout.matches("\n  3    serving").count(), 3, "{stdout}");
    let (stdout, _) = run(
        on_hosts(&p, &hosts, &["logs", "-C", &dir], &["--tail", "3"]),
        0,
    );
    for h in &hosts.hosts {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&h.alias) && l.contains("listening on")),
            "{} logged:\n{stdout}",
            h.alias
        );
    }

    // Host 2 alone back to the first version: status says it drifted from the last deploy.
    let (_, stderr) = run(
        on_hosts(
            &p,
            &hosts,
            &["rollback", "-C", &dir],
            &["--host", "hoist-h2", "--to", "1"],
        ),
        0,
    );
    assert!(stderr.contains("ok hoist-h2: rolled back"), "{stderr}");
    assert!(answer(&hosts, 1).starts_with("hello from hoist"));
    assert!(answer(&hosts, 0).starts_with("hello again"));
    assert_eq!(drift(&p, &hosts, 1), [false, true, false]);

    // Stopped everywhere: nothing answers on any host.
    let (_, stderr) = run(on_hosts(&p, &hosts, &["stop", "-C", &dir], &[]), 0);
    assert_eq!(stderr.matches(": stopped `hello`").count(), 3, "{stderr}");
    for i in 0..3 {
        let out = hosts.exec(i, "curl -sS --max-time 5 http://127.0.0.1:8080/");
        let body = String::from_utf8_lossy(&out.stdout);
        assert!(!body.starts_with("hello"), "host {i} still serves: {body}");
    }
}

#[test]
fn a_revision_that_fails_on_host_2_stops_the_wave_and_the_fleet_goes_back() {
    let hosts = TestHosts::start(3);
    let p = hello_on(&hosts);
    let (first, stderr) = deploy_json(&p, &hosts, 0);
    assert!(first.iter().all(|h| h["outcome"] == "deployed"), "{stderr}");
    let v1 = answer(&hosts, 0);

    // The next version refuses to start where its host says so: only host 2 does.
    p.edit(
        "main.go",
        "\tport := os.Getenv(\"PORT\")",
        "\tif _, err := os.Stat(os.Getenv(\"HOME\") + \"/refuse\"); err == nil {\n\t\tlog.Fatal(\"this host refuses to run me\")\n\t}\n\tport := os.Getenv(\"PORT\")",
    );
    p.edit("main.go", "hello from hoist", "hello, changed, from hoist");
    std::fs::write(hosts.hosts[1].home.join("refuse"), "").unwrap();
    let (second, stderr) = deploy_json(&p, &hosts, 3);
    assert_eq!(
        second[0]["outcome"], "reverted",
        "host 1 went back: {}\n{stderr}",
        second[0]
    );
    assert_eq!(second[0]["revision"], 2, "{}", second[0]);
    assert_eq!(
        second[0]["serving"], 3,
        "its agent's rollback is a revision of its own, running revision 1's binary: {}",
        second[0]
    );
    assert_eq!(
        second[1]["outcome"], "rolled_back",
        "{}\n{stderr}",
        second[1]
    );
    assert_eq!(second[1]["serving"], 1, "{}", second[1]);
    assert!(
        second[1]["reason"].as_str().unwrap().contains("refuses"),
        "the host's own reason: {}",
        second[1]
    );
    assert_eq!(second[2]["outcome"], "untouched", "{}", second[2]);
    assert_eq!(second[2]["serving"], 1);
    assert!(
        second[2].get("revision").is_none(),
        "host 3 got no revision: {}",
        second[2]
    );
    for i in 0..3 {
        assert_eq!(
            answer(&hosts, i),
            v1,
            "host {i} serves the first version again"
        );
    }
    assert!(stderr.contains("deployed on 0 of 3 hosts"), "{stderr}");

    // --continue-on-error: host 2 fails alone, the others keep the new version, and status
    // shows host 2 drifted from the last deploy.
    let dir = p.dir_str().to_owned();
    let (stdout, stderr) = run(
        on_hosts(
            &p,
            &hosts,
            &["deploy", &dir],
            &["--json", "--continue-on-error"],
        ),
        3,
    );
    let third = json(&stdout);
    let third = third.as_array().unwrap();
    assert_eq!(third[0]["outcome"], "deployed", "{stderr}");
    assert_eq!(third[1]["outcome"], "rolled_back", "{stderr}");
    assert_eq!(third[2]["outcome"], "deployed", "{stderr}");
    let (stdout, _) = run(
        on_hosts(&p, &hosts, &["status", "-C", &dir], &["--json"]),
        1,
    );
    let status = json(&stdout);
    let drift: Vec<&Value> = status
        .as_array()
        .unwrap()
        .iter()
        .map(|h| &h["drift"])
        .collect();
    assert_eq!(
        drift,
        [&Value::Bool(false), &Value::Bool(true), &Value::Bool(false)],
        "{stdout}"
    );
}

#[test]
fn a_full_disk_and_a_link_lost_mid_wave_are_per_host_errors_and_the_next_deploy_recovers() {
    let hosts = TestHosts::start(3);
    let p = hello_on(&hosts);
    let (first, stderr) = deploy_json(&p, &hosts, 0);
    assert!(first.iter().all(|h| h["outcome"] == "deployed"), "{stderr}");
    let v1 = answer(&hosts, 2);

    // Host 3's store has no room for the next binary: it is skipped with the host's own words,
    // nothing half-stored, and it serves the first version on; the others deploy.
    let artifacts = ".local/state/hoist/artifacts";
    hosts.small_disk(2, artifacts, 512);
    p.edit("main.go", "hello from hoist", "hello, second, from hoist");
    let (second, stderr) = deploy_json(&p, &hosts, 1);
    assert_eq!(second[0]["outcome"], "deployed", "{stderr}");
    assert_eq!(second[1]["outcome"], "deployed", "{stderr}");
    assert_eq!(second[2]["outcome"], "skipped", "{}", second[2]);
    let reason = second[2]["reason"].as_str().unwrap();
    assert!(reason.contains("No space left on device"), "{reason}");
    let left = hosts.list(2, artifacts);
    assert!(
        left.is_empty(),
        "nothing half-stored on the full disk: {left:?}"
    );
    assert!(stderr.contains("FAIL hoist-h3: skipped"), "{stderr}");
    hosts.unmount(2, artifacts);
    assert_eq!(answer(&hosts, 2), v1, "host 3 serves what it served");

    // Host 2's link goes down while host 1 rolls out the third version (one host per wave):
    // host 2 is lost (after ssh's keepalive gives up), the wave stops, host 1 goes back, host 3
    // is not reached.
    p.edit(
        "main.go",
        "hello, second, from hoist",
        "hello, third, from hoist",
    );
    let ssh_config = hosts.ssh_config();
    let mut child = p
        .hoist_std(&[
            "deploy",
            p.dir_str(),
            "--target",
            "hosts",
            "--ssh-config",
            ssh_config.to_str().unwrap(),
            "--ssh-timeout",
            "3s",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let watcher = std::thread::scope(|s| {
        let h = s.spawn(|| {
            use std::io::BufRead as _;
            let mut all = String::new();
            let mut cut = false;
            for line in std::io::BufReader::new(err).lines() {
                let line = line.unwrap();
                if !cut && line.starts_with("  hoist-h1: revision") {
                    hosts.link_down(1);
                    cut = true;
                }
                all.push_str(&line);
                all.push('\n');
            }
            (cut, all)
        });
        h.join().unwrap()
    });
    let out = child.wait_with_output().unwrap();
    let (cut, stderr) = watcher;
    assert!(cut, "host 1's rollout was seen:\n{stderr}");
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let third = json(&String::from_utf8(out.stdout).unwrap());
    let third = third.as_array().unwrap();
    assert_eq!(third[0]["outcome"], "reverted", "{stderr}");
    assert_eq!(third[1]["outcome"], "error", "{}\n{stderr}", third[1]);
    assert_eq!(third[2]["outcome"], "untouched", "{stderr}");
    assert!(
        answer(&hosts, 0).starts_with("hello, second"),
        "host 1 went back"
    );

    // The link is back: the next deploy brings every host to the third version.
    hosts.link_up(1);
    let (fourth, stderr) = deploy_json(&p, &hosts, 0);
    for (i, h) in fourth.iter().enumerate() {
        assert_eq!(h["outcome"], "deployed", "{h}\n{stderr}");
        assert!(answer(&hosts, i).starts_with("hello, third"), "host {i}");
    }
}

/// A changed `[hosts]` option restarts each host's agent with the new arguments, and the
/// replicas it ran keep serving: the new agent adopts them (before, the old agent was stopped
/// and drained them, and nothing served until the deploy's new revision was up).
#[test]
fn a_changed_agent_option_restarts_the_agent_and_keeps_its_replicas() {
    let hosts = TestHosts::start(1);
    let p = hello_on(&hosts);
    let (first, stderr) = deploy_json(&p, &hosts, 0);
    assert_eq!(first[0]["outcome"], "deployed", "{stderr}");
    let agent_before = hosts.exec(0, "cat .local/state/hoist/agent.pid");
    let agent_before = String::from_utf8_lossy(&agent_before.stdout)
        .trim()
        .to_owned();

    // An engine for containers: an option of the agent, unused by this process-driver app.
    p.write(
        "hoist.toml",
        &format!(
            "{}engine = \"unix://$HOME/docker.sock\"\n",
            p.read("hoist.toml")
        ),
    );
    let wrk = load(&hosts, 0, 12);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let (second, stderr) = deploy_json(&p, &hosts, 0);
    let out = wrk.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("under load while the agent was replaced:\n{text}");
    assert_eq!(second[0]["outcome"], "deployed", "{stderr}");
    let agent_after = hosts.exec(0, "cat .local/state/hoist/agent.pid");
    let agent_after = String::from_utf8_lossy(&agent_after.stdout)
        .trim()
        .to_owned();
    assert_ne!(agent_before, agent_after, "the agent was restarted");
    let args = hosts.exec(
        0,
        "tr '\\0' ' ' < /proc/$(cat .local/state/hoist/agent.pid)/cmdline",
    );
    // As written: the agent expands `$HOME` itself.
    assert!(
        String::from_utf8_lossy(&args.stdout).contains("--engine unix://$HOME/docker.sock"),
        "with the new option: {}",
        String::from_utf8_lossy(&args.stdout)
    );
    assert!(
        stderr.contains("rolling out 2 replicas (serving: revision 1)"),
        "revision 1's replicas were adopted and served until the rollout:\n{stderr}"
    );
    // The listening socket is closed for the few milliseconds between the old supervisor's
    // death and the new one's bind (wrk's 4 connections retry in a tight loop meanwhile, so
    // each millisecond counts many errors); every answer is the app's.
    let report = hoist_test::wrk::WrkReport::parse(&text);
    assert!(report.requests > 100, "{text}");
    assert_eq!(report.non2xx, 0, "no answer but the app's:\n{text}");
}
