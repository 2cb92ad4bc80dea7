//! The local runtime's test harness: an agent with its own state directory and free proxy
//! ports, driven through the real `hoist` binary, and a bounded HTTP load through its proxy.
#![allow(dead_code)]

pub mod load;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

use crate::common::{Project, RUN_THROUGH_SCRIPTS};

/// How the agent runs replicas in a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// The binary itself.
    Process,
}

impl Driver {
    /// `--driver` value.
    pub fn flag(self) -> &'static str {
        match self {
            Self::Process => "process",
        }
    }
}

/// One agent (started by the first deploy) and the project it deploys.
pub struct Agent {
    state: TempDir,
    /// The project deployed (a copy of a fixture or example).
    pub project: Project,
    /// The proxy's address.
    pub proxy: SocketAddr,
    /// The admin address.
    pub admin: SocketAddr,
    /// The driver.
    pub driver: Driver,
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Agent {
    /// An agent (not started yet) for a copy of `tests/fixtures/NAME` or `examples/NAME`.
    pub fn new(project: Project, driver: Driver) -> Self {
        let state = tempfile::Builder::new()
            .prefix("hoist-agent-")
            .tempdir()
            .expect("temp dir");
        Self {
            state,
            project,
            proxy: SocketAddr::from(([127, 0, 0, 1], free_port())),
            admin: SocketAddr::from(([127, 0, 0, 1], free_port())),
            driver,
        }
    }

    /// The state directory.
    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// `hoist ARGS` against this agent.
    pub fn hoist(&self, args: &[&str]) -> Command {
        let mut cmd = self.project.hoist(args);
        cmd.env("HOIST_STATE_DIR", self.state.path())
            .env("HOIST_PROXY_ADDR", self.proxy.to_string())
            .env("HOIST_ADMIN_ADDR", self.admin.to_string())
            .timeout(Duration::from_mins(3));
        cmd
    }

    /// The same as a std command (to run in the background).
    pub fn hoist_std(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("hoist"));
        cmd.args(args)
            .env("HOIST_CACHE_DIR", &self.project.cache)
            .env("NO_COLOR", "1")
            .env("HOIST_STATE_DIR", self.state.path())
            .env("HOIST_PROXY_ADDR", self.proxy.to_string())
            .env("HOIST_ADMIN_ADDR", self.admin.to_string());
        cmd
    }

    /// `hoist deploy PROJECT --driver D ARGS`, whatever its outcome.
    pub fn deploy(&self, extra: &[&str]) -> Output {
        let dir = self.project.dir.to_str().expect("utf-8 path").to_owned();
        let mut args = vec!["deploy", dir.as_str(), "--driver", self.driver.flag()];
        args.extend_from_slice(extra);
        self.hoist(&args).output().expect("hoist deploy runs")
    }

    /// A deploy that must succeed (exit 0).
    pub fn deploy_ok(&self, extra: &[&str]) -> Output {
        let out = self.deploy(extra);
        assert_eq!(
            out.status.code(),
            Some(0),
            "deploy {extra:?} failed:\n{}",
            text(&out.stderr)
        );
        out
    }

    /// `hoist status APP --json`, the one app's status.
    pub fn status(&self, app: &str) -> Value {
        let out = self
            .hoist(&["status", app, "--json"])
            .output()
            .expect("status runs");
        assert!(out.status.success(), "status failed: {}", text(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("status JSON");
        v[0].clone()
    }

    /// `hoist history APP --json`.
    pub fn history(&self, app: &str) -> Vec<Value> {
        let out = self
            .hoist(&["history", app, "--json"])
            .output()
            .expect("history runs");
        assert!(
            out.status.success(),
            "history failed: {}",
            text(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("history JSON")
    }

    /// Waits until `ok(status)` holds, or panics with the last status after `limit`.
    pub fn wait_status(&self, app: &str, limit: Duration, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let s = self.status(app);
            if ok(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "status never got there in {limit:?}:\n{s:#}\nagent log:\n{}",
                self.agent_log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The agent's pid (its pid file), if it runs.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.state.path().join("agent.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Pids of every live process carrying this agent's id (its replicas and their children).
    pub fn replica_processes(&self) -> Vec<u32> {
        let Ok(id) = std::fs::read_to_string(self.state.path().join("agent-id")) else {
            return Vec::new();
        };
        let needle = format!("HOIST_AGENT_ID={}", id.trim());
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            if stat.contains(") Z ") {
                continue;
            }
            let env = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            if env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) {
                pids.push(pid);
            }
        }
        pids.sort_unstable();
        pids
    }

    /// SIGKILLs the agent and waits until it is gone.
    pub fn kill_agent(&self) {
        let pid = self.pid().expect("the agent runs");
        kill(pid, "KILL");
        wait_gone(pid);
    }

    /// Starts `hoist agent` in the background (as `hoist deploy` would); the agent outlives
    /// the returned child handle (it is stopped with `hoist agent --stop` or on drop).
    #[allow(clippy::zombie_processes, reason = "the caller owns the child")]
    pub fn start_agent(&self) -> std::process::Child {
        let log =
            std::fs::File::create(self.state.path().join("agent-restarted.log")).expect("log");
        let child = self
            .hoist_std(&["agent"])
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("hoist agent starts");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let answers = self.pid() == Some(child.id())
                && std::os::unix::net::UnixStream::connect(self.state.path().join("agent.sock"))
                    .is_ok();
            if answers {
                return child;
            }
            assert!(
                Instant::now() < deadline,
                "the agent did not start: {}",
                self.agent_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The agent's logs (first start, and restarts), for failure messages.
    pub fn agent_log(&self) -> String {
        ["agent.log", "agent-restarted.log"]
            .iter()
            .map(|f| std::fs::read_to_string(self.state.path().join(f)).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n--- restarted ---\n")
    }

    /// Reads a replica pid of `app` from its status.
    pub fn replica_pids(&self, app: &str) -> Vec<u32> {
        self.status(app)["replicas"]
            .as_array()
            .expect("replicas")
            .iter()
            .filter_map(|r| r["pid"].as_u64())
            .map(|p| u32::try_from(p).expect("pid"))
            .collect()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if self.pid().is_some() {
            let _ = self
                .hoist(&["agent", "--stop"])
                .timeout(Duration::from_mins(1))
                .output();
        }
        // Whatever is left (a test that killed the agent and failed): no replica may outlive it.
        for pid in self.replica_processes() {
            kill(pid, "KILL");
        }
    }
}

/// `kill -SIG PID`.
pub fn kill(pid: u32, sig: &str) {
    let _ = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// Waits until `pid` has exited (or is a zombie).
pub fn wait_gone(pid: u32) {
    let stat = PathBuf::from(format!("/proc/{pid}/stat"));
    for _ in 0..200 {
        match std::fs::read_to_string(&stat) {
            Err(_) => return,
            Ok(s) if s.contains(") Z ") => return,
            Ok(_) => std::thread::sleep(Duration::from_millis(25)),
        }
    }
    panic!("process {pid} did not exit");
}

/// Lossy UTF-8, for messages.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The engines this driver needs are present, else a failure that says how to run the tests.
pub fn require(driver: Driver) {
    match driver {
        Driver::Process => {}
    }
    let _ = RUN_THROUGH_SCRIPTS;
}
