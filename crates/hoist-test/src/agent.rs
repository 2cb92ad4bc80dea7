//! The local runtime as a user meets it: an agent with its own state directory and free proxy
//! and admin ports, started by the first `hoist deploy` and driven through the real `hoist`
//! binary, with the process driver or the container driver on either engine.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

use crate::engines::{RUN_THROUGH_SCRIPTS, env};
use crate::http::Response;
use crate::ports::free_port;
use crate::process::{kill, text, wait_gone};
use crate::project::Project;

/// How the agent runs replicas in a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// The binary itself.
    Process,
    /// Containers in dockerd (`DOCKER_HOST` of scripts/engines).
    Docker,
    /// Containers in podman's service (`HOIST_TEST_PODMAN_SOCKET` of scripts/engines).
    Podman,
}

impl Driver {
    /// `--driver` value.
    pub fn flag(self) -> &'static str {
        match self {
            Self::Process => "process",
            Self::Docker | Self::Podman => "container",
        }
    }

    /// The engine's API address the agent is given (`DOCKER_HOST`).
    pub fn engine_host(self) -> Option<String> {
        match self {
            Self::Process => None,
            Self::Docker => {
                Some(env("DOCKER_HOST").unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned()))
            }
            Self::Podman => env("HOIST_TEST_PODMAN_SOCKET"),
        }
    }

    /// The engine's own CLI, for what a user would check by hand (`ps`, `kill`).
    pub fn cli(self) -> Option<std::process::Command> {
        match self {
            Self::Process => None,
            Self::Docker => {
                let mut c = std::process::Command::new(
                    env("HOIST_TEST_DOCKER").unwrap_or_else(|| "/usr/bin/docker".to_owned()),
                );
                c.arg("-H").arg(self.engine_host().expect("docker host"));
                Some(c)
            }
            Self::Podman => Some(std::process::Command::new(
                env("HOIST_TEST_PODMAN").unwrap_or_else(|| "podman".to_owned()),
            )),
        }
    }
}

/// One agent (started by the first deploy) and the project it deploys: a state directory and
/// ports of its own, so tests run in parallel without seeing each other's apps; dropping it stops
/// the agent and whatever replica it left.
pub struct Agent {
    bin: PathBuf,
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

impl Agent {
    /// An agent (not started yet) of the `hoist` binary `bin` for `project` (a copy of a fixture
    /// or an example).
    pub fn new(bin: impl Into<PathBuf>, project: Project, driver: Driver) -> Self {
        let state = tempfile::Builder::new()
            .prefix("hoist-agent-")
            .tempdir()
            .expect("temp dir");
        Self {
            bin: bin.into(),
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
        let mut cmd = self.project.command(&self.bin, args);
        cmd.env("HOIST_STATE_DIR", self.state.path())
            .env("HOIST_PROXY_ADDR", self.proxy.to_string())
            .env("HOIST_ADMIN_ADDR", self.admin.to_string())
            .timeout(Duration::from_mins(3));
        if let Some(host) = self.driver.engine_host() {
            cmd.env("DOCKER_HOST", host);
        }
        cmd
    }

    /// The same as a std command (to run in the background).
    pub fn hoist_std(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = self.project.std_command(&self.bin, args);
        cmd.env("HOIST_STATE_DIR", self.state.path())
            .env("HOIST_PROXY_ADDR", self.proxy.to_string())
            .env("HOIST_ADMIN_ADDR", self.admin.to_string());
        if let Some(host) = self.driver.engine_host() {
            cmd.env("DOCKER_HOST", host);
        }
        cmd
    }

    /// `hoist deploy PROJECT --driver D ARGS`, whatever its outcome.
    pub fn deploy(&self, extra: &[&str]) -> Output {
        let dir = self.project.dir.to_str().expect("utf-8 path").to_owned();
        let mut args = vec!["deploy", dir.as_str(), "--driver", self.driver.flag()];
        args.extend_from_slice(extra);
        self.hoist(&args).output().expect("hoist deploy runs")
    }

    /// `hoist deploy PROJECT --driver D ARGS` started in the background, its stderr piped (for
    /// `wait_with_output`): a test acts on the agent while the rollout goes on.
    pub fn deploy_in_background(&self, extra: &[&str]) -> std::process::Child {
        let dir = self.project.dir.to_str().expect("utf-8 path").to_owned();
        let mut args = vec!["deploy", dir.as_str(), "--driver", self.driver.flag()];
        args.extend_from_slice(extra);
        self.hoist_std(&args)
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("hoist deploy starts")
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

    /// The status once no replica is terminating (replaced replicas of the container driver
    /// take a moment to stop and be removed).
    pub fn settled(&self, app: &str) -> Value {
        self.wait_status(app, Duration::from_secs(30), |s| {
            s["replicas"]
                .as_array()
                .is_some_and(|r| r.iter().all(|r| r["state"] != "terminating"))
        })
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

    /// What runs the replicas, as the driver names them: pids (process driver), or the ids of
    /// containers labelled with this agent's id (container driver), however they got there.
    pub fn units(&self) -> Vec<String> {
        let Some(mut cli) = self.driver.cli() else {
            return self
                .replica_processes()
                .iter()
                .map(ToString::to_string)
                .collect();
        };
        let Ok(id) = std::fs::read_to_string(self.state.path().join("agent-id")) else {
            return Vec::new();
        };
        let out = cli
            .args(["ps", "-a", "-q", "--no-trunc", "--filter"])
            .arg(format!("label=dev.hoist.agent={}", id.trim()))
            .output()
            .expect("the engine's CLI runs");
        assert!(out.status.success(), "ps failed: {}", text(&out.stderr));
        let mut ids: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
        ids.sort();
        ids
    }

    /// The unit (pid or container id) of each replica in `status`.
    pub fn status_units(status: &Value) -> Vec<String> {
        let mut units: Vec<String> = status["replicas"]
            .as_array()
            .expect("replicas")
            .iter()
            .map(unit_of)
            .collect();
        units.sort();
        units
    }

    /// kill -9 of one replica: its process, or the container's (`docker kill -s KILL`).
    pub fn kill_unit(&self, unit: &str) {
        match self.driver.cli() {
            None => {
                kill(unit.parse().expect("a pid"), "KILL");
            }
            Some(mut cli) => {
                let out = cli
                    .args(["kill", "--signal", "KILL", unit])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "kill failed: {}", text(&out.stderr));
            }
        }
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

    /// `GET PATH` through the agent's proxy with `Host: HOST`, whatever the answer.
    pub fn get(&self, host: &str, path: &str) -> Response {
        crate::http::get(self.proxy, host, path)
            .unwrap_or_else(|e| panic!("GET {path} through the proxy at {}: {e}", self.proxy))
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
        if let Some(mut cli) = self.driver.cli() {
            let left = self.units();
            if !left.is_empty() {
                let _ = cli.arg("rm").arg("-f").args(&left).output();
            }
        }
    }
}

/// A replica's pid or container id in a status: what a test kills, or checks is gone.
pub fn unit_of(replica: &Value) -> String {
    replica["pid"]
        .as_u64()
        .map(|p| p.to_string())
        .or_else(|| replica["container"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The engine this driver needs answers, else a failure that says how to run the tests.
pub fn require(driver: Driver) {
    let Some(mut cli) = driver.cli() else {
        return;
    };
    assert!(
        driver.engine_host().is_some(),
        "{driver:?} needs its engine's address: {RUN_THROUGH_SCRIPTS}"
    );
    let ok = cli
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "{driver:?} does not answer: {RUN_THROUGH_SCRIPTS}");
}
