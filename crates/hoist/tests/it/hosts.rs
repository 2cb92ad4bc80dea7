//! `hoist hosts check` and `hoist hosts setup` against real hosts: network namespaces with
//! their own sshd, user and home (`hoist_test::hosts`, `scripts/test-hosts`), reached with the
//! machine's own OpenSSH through the run's ssh_config. Each test that changes a host starts its
//! own three, so one that takes a link down or changes a host key disturbs no other (the
//! read-only check uses the ones `scripts/test` started, when it did); they need root and
//! openssh-server, and fail (never skip) without them.

use std::path::Path;

use hoist_test::cli::{failure, json, success};
use hoist_test::hosts::TestHosts;
use serde_json::Value;

/// A project whose `[hosts]` lists every test host by its ssh_config alias.
fn project(hosts: &TestHosts) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let targets: Vec<String> = hosts
        .hosts
        .iter()
        .map(|h| format!("\"{}\"", h.alias))
        .collect();
    std::fs::write(
        dir.path().join("hoist.toml"),
        format!(
            "[app]\nname = \"hosted\"\n\n[hosts]\ntargets = [{}]\n",
            targets.join(", ")
        ),
    )
    .unwrap();
    dir
}

/// `hoist hosts VERB DIR --ssh-config RUN/ssh_config --timeout 3s ARGS`.
fn hosts_cmd(hosts: &TestHosts, dir: &Path, verb: &str, args: &[&str]) -> assert_cmd::Command {
    let ssh_config = hosts.ssh_config();
    let mut all = vec![
        "hosts",
        verb,
        dir.to_str().unwrap(),
        "--ssh-config",
        ssh_config.to_str().unwrap(),
        "--timeout",
        "3s",
    ];
    all.extend_from_slice(args);
    crate::hoist(dir, &all)
}

/// The `--json` report of each host, by alias.
fn by_host(stdout: &str) -> Vec<Value> {
    json(stdout).as_array().expect("an array").clone()
}

/// Runs the command and returns (stdout, stderr), whatever its exit status, checking the status.
fn run(mut cmd: assert_cmd::Command, code: i32) -> (String, String) {
    let out = cmd.assert().code(code).get_output().clone();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn assert_no_key_material(hosts: &TestHosts, texts: &[&str]) {
    let key = hosts.private_key();
    let body: Vec<&str> = key.lines().filter(|l| !l.starts_with("-----")).collect();
    for text in texts {
        assert!(
            !text.contains("PRIVATE KEY"),
            "key material in output:\n{text}"
        );
        for line in &body {
            assert!(
                !text.contains(line),
                "a line of the private key in output:\n{text}"
            );
        }
    }
}

#[test]
fn check_reports_every_host_with_its_platform_and_disk() {
    // Read only: the three hosts scripts/test started, when it did.
    let hosts = TestHosts::shared_or_start(3);
    let dir = project(&hosts);
    let stdout = success(&mut hosts_cmd(&hosts, dir.path(), "check", &["--json"]));
    let reports = by_host(&stdout);
    assert_eq!(reports.len(), 3, "{stdout}");
    for (r, h) in reports.iter().zip(&hosts.hosts) {
        assert_eq!(r["host"], h.alias.as_str());
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(r["reachable"], true, "{r}");
        assert_eq!(r["os"], "linux");
        assert_eq!(r["arch"], hoist_hosts_arch());
        assert_eq!(
            r["home"],
            h.home.to_str().unwrap(),
            "each host is its own user and home"
        );
        assert!(r["disk_free_bytes"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(r["hoist_version"], Value::Null, "nothing set up yet");
    }
    // The plain report, on stderr: one line per host.
    let (_, stderr) = run(hosts_cmd(&hosts, dir.path(), "check", &[]), 0);
    for h in &hosts.hosts {
        assert!(
            stderr.contains(&format!("ok {}: linux/", h.alias)),
            "{stderr}"
        );
    }
    assert_no_key_material(&hosts, &[&stdout, &stderr]);
}

#[test]
fn a_host_whose_link_is_down_is_reported_unreachable_and_the_others_pass() {
    let hosts = TestHosts::start(3);
    let dir = project(&hosts);
    hosts.link_down(1);
    let (stdout, stderr) = run(hosts_cmd(&hosts, dir.path(), "check", &["--json"]), 1);
    let reports = by_host(&stdout);
    assert_eq!(reports[0]["ok"], true, "{stdout}");
    assert_eq!(reports[2]["ok"], true, "{stdout}");
    assert_eq!(reports[1]["ok"], false);
    assert_eq!(reports[1]["reachable"], false);
    assert_eq!(reports[1]["error_kind"], "unreachable", "{stdout}");
    assert!(
        stderr.contains("FAIL hoist-h2: `hoist-h2` did not answer within 3s"),
        "{stderr}"
    );
}

#[test]
fn unknown_and_changed_host_keys_are_refused_with_the_fingerprint() {
    let hosts = TestHosts::start(3);
    let dir = project(&hosts);
    // Host 1: known_hosts no longer lists it.
    hosts.forget_host_key(0);
    // Host 3: it now sends another key than known_hosts holds.
    hosts.change_host_key(2);
    let (stdout, stderr) = run(hosts_cmd(&hosts, dir.path(), "check", &["--json"]), 1);
    let reports = by_host(&stdout);
    let unknown = &reports[0];
    assert_eq!(unknown["error_kind"], "unknown_host_key", "{stdout}");
    let fp = hosts.fingerprint(0);
    assert!(
        unknown["error"].as_str().unwrap().contains(&fp),
        "{unknown}"
    );
    let hint = unknown["hint"].as_str().unwrap();
    assert!(
        hint.contains(&format!("ssh-keyscan -t ed25519 {}", hosts.hosts[0].addr)),
        "{hint}"
    );
    assert!(hint.contains("ssh-keygen -lf"), "{hint}");
    assert_eq!(reports[1]["ok"], true, "{stdout}");
    let changed = &reports[2];
    assert_eq!(changed["error_kind"], "changed_host_key", "{stdout}");
    assert!(
        changed["error"]
            .as_str()
            .unwrap()
            .contains(&hosts.fingerprint(2)),
        "the new key's fingerprint: {changed}"
    );
    assert!(
        changed["hint"].as_str().unwrap().contains("ssh-keygen -R"),
        "{changed}"
    );
    // Nothing was added to known_hosts: the next run refuses them the same way.
    let known = std::fs::read_to_string(hosts.known_hosts()).unwrap();
    assert!(
        !known.contains(&format!("{} ", hosts.hosts[0].addr)),
        "{known}"
    );
    assert!(
        stderr.contains("FAIL hoist-h1: `hoist-h1` is not in known_hosts"),
        "{stderr}"
    );
    assert!(
        stderr.contains("FAIL hoist-h3: `hoist-h3` sent a host key that differs"),
        "{stderr}"
    );
    assert_no_key_material(&hosts, &[&stdout, &stderr]);
}

#[test]
fn an_auth_failure_is_a_clear_error_for_that_host() {
    let hosts = TestHosts::start(3);
    let dir = project(&hosts);
    hosts.revoke_key(2);
    let (stdout, stderr) = run(hosts_cmd(&hosts, dir.path(), "check", &["--json"]), 1);
    let reports = by_host(&stdout);
    assert_eq!(reports[0]["ok"], true);
    assert_eq!(reports[1]["ok"], true);
    assert_eq!(reports[2]["error_kind"], "auth_failed", "{stdout}");
    assert!(
        stderr
            .contains("FAIL hoist-h3: `hoist-h3` refused the login: Permission denied (publickey)"),
        "{stderr}"
    );
    assert!(stderr.contains("authorized_keys"), "the hint: {stderr}");
    assert_no_key_material(&hosts, &[&stdout, &stderr]);
}

#[test]
fn setup_installs_hoist_and_its_agent_and_a_second_run_copies_nothing() {
    let hosts = TestHosts::start(3);
    let dir = project(&hosts);
    let stdout = success(&mut hosts_cmd(&hosts, dir.path(), "setup", &["--json"]));
    let first = by_host(&stdout);
    let local = std::fs::read(crate::HOIST).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    for (r, h) in first.iter().zip(&hosts.hosts) {
        assert_eq!(r["ok"], true, "{r}");
        let s = &r["setup"];
        assert_eq!(
            s["copied_bytes"].as_u64().unwrap(),
            local.len() as u64,
            "{r}"
        );
        assert_eq!(
            s["agent"], "detached",
            "no systemd user session in a namespace: {r}"
        );
        // The host's own copy, in its user's home, is byte for byte this binary.
        let installed = h
            .home
            .join(format!(".local/share/hoist/bin/hoist-{version}"));
        assert_eq!(s["path"], installed.to_str().unwrap());
        assert!(
            std::fs::read(&installed).unwrap() == local,
            "the copy differs"
        );
    }
    // The agent answers there (asked on the host itself, not through hoist).
    for i in 0..3 {
        let out = hosts.exec(i, "$HOME/.local/share/hoist/bin/hoist agent --ping");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pidfile = hosts.hosts[i].home.join(".local/state/hoist/agent.pid");
        assert!(pidfile.exists(), "the detached agent's pidfile");
    }
    // The second run sends nothing and finds the agents up.
    let (stdout, stderr) = run(hosts_cmd(&hosts, dir.path(), "setup", &["--json"]), 0);
    for r in by_host(&stdout) {
        assert_eq!(r["setup"]["copied_bytes"], 0, "{r}");
        assert_eq!(r["setup"]["agent"], "already_running", "{r}");
    }
    assert!(stderr.contains("already there, nothing copied"), "{stderr}");
    // And check reports the version and the agent.
    let stdout = success(&mut hosts_cmd(&hosts, dir.path(), "check", &["--json"]));
    for r in by_host(&stdout) {
        assert_eq!(r["hoist_version"], version, "{r}");
        assert_eq!(r["agent_up"], true, "{r}");
    }
    assert_no_key_material(&hosts, &[&stdout, &stderr]);

    // The agent killed (kill -9): its supervisor starts it again by itself.
    let state = hosts.hosts[0].home.join(".local/state/hoist");
    let read_pid = |file: &str| -> u32 {
        std::fs::read_to_string(state.join(file))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let agent = read_pid("agent.pid");
    assert!(hoist_test::process::kill(agent, "KILL"));
    hoist_test::process::wait_gone(agent);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !(read_pid("agent.pid") != agent
        && hosts
            .exec(0, "$HOME/.local/share/hoist/bin/hoist agent --ping")
            .status
            .success())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the supervisor did not start the agent again"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // The supervisor and its agent killed: the next check finds the agent down, the next setup
    // starts it again and still copies nothing; the other hosts' agents are left alone.
    let pidfile = state.join("supervisor.pid");
    let pid = read_pid("supervisor.pid");
    assert!(hoist_test::process::kill(pid, "KILL"));
    hoist_test::process::wait_gone(pid);
    let orphan = read_pid("agent.pid");
    assert!(hoist_test::process::kill(orphan, "KILL"));
    hoist_test::process::wait_gone(orphan);
    let (stdout, stderr) = run(hosts_cmd(&hosts, dir.path(), "check", &["--json"]), 1);
    let reports = by_host(&stdout);
    assert_eq!(reports[0]["agent_up"], false, "{stdout}");
    assert_eq!(reports[0]["ok"], false, "{stdout}");
    assert_eq!(reports[1]["ok"], true, "{stdout}");
    assert!(stderr.contains("FAIL hoist-h1: linux/"), "{stderr}");
    assert!(stderr.contains("agent down"), "{stderr}");
    let stdout = success(&mut hosts_cmd(&hosts, dir.path(), "setup", &["--json"]));
    let reports = by_host(&stdout);
    assert_eq!(reports[0]["setup"]["agent"], "detached", "{stdout}");
    assert_eq!(reports[0]["setup"]["copied_bytes"], 0, "{stdout}");
    assert_eq!(reports[1]["setup"]["agent"], "already_running", "{stdout}");
    let restarted: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_ne!(restarted, pid);
    let out = hosts.exec(0, "$HOME/.local/share/hoist/bin/hoist agent --ping");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    a_host_store_lists_missing_blobs_and_takes_a_sent_one(&hosts);
}

/// Where host 1's agent store keeps the blob `digest` named `app`.
fn stored_path(hosts: &TestHosts, digest: &hoist_core::Digest) -> std::path::PathBuf {
    hosts.hosts[0].home.join(format!(
        ".local/state/hoist/artifacts/sha256-{}/app",
        digest.hex()
    ))
}

/// After setup, the host's agent store says which blobs it lacks (`hoist agent --has` there),
/// and a blob sent by the library lands in it byte for byte, after which it is no longer
/// missing: the base of sending a host only what it lacks.
fn a_host_store_lists_missing_blobs_and_takes_a_sent_one(hosts: &TestHosts) {
    let blob_dir = tempfile::tempdir().unwrap();
    let blob = blob_dir.path().join("app");
    let bytes = b"\x7fELF pretend binary, one revision".repeat(1000);
    std::fs::write(&blob, &bytes).unwrap();
    let digest = hoist_core::Digest::of(&bytes);
    let other = hoist_core::Digest::of(b"never sent");
    let opts = hoist_hosts::SshOptions {
        config: Some(hosts.ssh_config()),
        timeout: std::time::Duration::from_secs(3),
        ..hoist_hosts::SshOptions::default()
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let conn = hoist_hosts::Connection::open(&hosts.hosts[0].alias, &opts)
            .await
            .unwrap();
        let wanted = [digest.clone(), other.clone()];
        let before = hoist_hosts::missing(&conn, &wanted).await.unwrap();
        assert_eq!(before, wanted);
        let sent = hoist_hosts::send(
            &conn,
            &hoist_hosts::Frames::default(),
            &blob,
            &digest,
            "app",
            None,
        )
        .await
        .unwrap();
        assert_eq!(sent.bytes, bytes.len() as u64);
        assert!(
            sent.wire_bytes < sent.bytes / 10,
            "a repetitive blob is sent compressed: {sent:?}"
        );
        assert_eq!(sent.path, stored_path(hosts, &digest).to_str().unwrap());
        let after = hoist_hosts::missing(&conn, &wanted).await.unwrap();
        assert_eq!(
            after,
            std::slice::from_ref(&other),
            "only the blob never sent is missing"
        );
        conn.close().await;
    });
    let stored = stored_path(hosts, &digest);
    assert!(
        std::fs::read(&stored).unwrap() == bytes,
        "the stored blob differs"
    );
    // The other hosts were not touched.
    let elsewhere = hosts.hosts[1].home.join(format!(
        ".local/state/hoist/artifacts/sha256-{}",
        digest.hex()
    ));
    assert!(!elsewhere.exists());
}

#[test]
fn a_missing_ssh_program_is_said_per_host() {
    let hosts = TestHosts::start(3);
    let dir = project(&hosts);
    let missing = dir.path().join("no-such-ssh");
    let mut cmd = hosts_cmd(
        &hosts,
        dir.path(),
        "check",
        &["--json", "--host", "hoist-h1"],
    );
    cmd.env("HOIST_SSH", &missing);
    let (stdout, stderr) = run(cmd, 1);
    let reports = by_host(&stdout);
    assert_eq!(reports.len(), 1, "only --host: {stdout}");
    assert_eq!(reports[0]["error_kind"], "ssh_missing", "{stdout}");
    assert!(
        stderr.contains(&format!("cannot run `{}`", missing.display())),
        "{stderr}"
    );
}

#[test]
fn no_hosts_is_a_usage_error_that_says_where_to_add_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hoist.toml"), "[app]\nname = \"a\"\n").unwrap();
    let stderr = failure(&mut crate::hoist(
        dir.path(),
        &["hosts", "check", dir.path().to_str().unwrap()],
    ));
    assert!(
        stderr.contains("no hosts: add `[hosts] targets"),
        "{stderr}"
    );
}

/// Go's name for this machine's architecture: what the test hosts (namespaces of this machine)
/// report.
fn hoist_hosts_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}
