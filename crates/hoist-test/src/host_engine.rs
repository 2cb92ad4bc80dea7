//! A test host's own container engine, for the container driver on hosts: Debian's dockerd
//! started in the host's network namespace with its own data root, exec root and pidfile, its
//! API socket in the host user's home and owned by that user's group, so the host's agent
//! (which runs as that user) reaches it as `unix://$HOME/docker.sock`. Its bridge and the
//! ports it publishes on 127.0.0.1 are the namespace's own; nothing is shared with the
//! machine's dockerd but the binary.
//!
//! Started with `nsenter --net`, not `ip netns exec`: the latter mounts a fresh /sys, which
//! hides the cgroup hierarchies dockerd needs ("Devices cgroup isn't mounted").

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::hosts::TestHosts;

/// A running dockerd of one test host; stopped, and its data removed, on drop.
pub struct HostEngine {
    /// Its API socket (in the host user's home).
    pub socket: PathBuf,
    /// dockerd itself: nsenter execs it.
    child: std::process::Child,
    data_root: PathBuf,
    exec_root: PathBuf,
    log: PathBuf,
}

impl TestHosts {
    /// Starts host `i`'s own dockerd and waits until it answers (30 s at most, else the test
    /// fails with its log).
    pub fn start_engine(&self, i: usize) -> HostEngine {
        let h = &self.hosts[i];
        let hdir = self.host_dir(i);
        let data_root = hdir.join("docker");
        let exec_root = PathBuf::from(format!("/run/{}-docker", h.netns));
        let socket = h.home.join("docker.sock");
        let log = hdir.join("dockerd.log");
        let pidfile = hdir.join("docker.pid");
        let dockerd = ["/usr/sbin/dockerd", "/usr/bin/dockerd"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .expect("dockerd is missing: scripts/install-test-deps installs Debian's docker.io");
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", h.netns))
            .arg(dockerd)
            .arg("--data-root")
            .arg(&data_root)
            .arg("--exec-root")
            .arg(&exec_root)
            .arg("--pidfile")
            .arg(&pidfile)
            .arg("--host")
            .arg(format!("unix://{}", socket.display()))
            .args(["--group", &h.user])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("dockerd.log"))
            .stderr(std::fs::File::create(&log).expect("dockerd.log"))
            .spawn()
            .expect("nsenter dockerd");
        let engine = HostEngine {
            socket,
            child,
            data_root,
            exec_root,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !engine.answers() {
            assert!(
                Instant::now() < deadline,
                "host {i}'s dockerd did not start; its log:\n{}",
                engine.log_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        engine
    }
}

impl HostEngine {
    /// `docker CMD…` against this engine (Debian's client, which matches the daemon).
    pub fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("/usr/bin/docker")
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .args(args)
            .output()
            .expect("/usr/bin/docker")
    }

    /// The names of the containers running there.
    pub fn running(&self) -> Vec<String> {
        let out = self.docker(&["ps", "--format", "{{.Names}}"]);
        assert!(
            out.status.success(),
            "docker ps: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn answers(&self) -> bool {
        self.socket.exists() && self.docker(&["version"]).status.success()
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for HostEngine {
    fn drop(&mut self) {
        // dockerd stops its containers (10 s grace) and unmounts before it exits.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(40);
        while !matches!(self.child.try_wait(), Ok(Some(_))) {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = std::fs::remove_dir_all(&self.data_root);
        let _ = std::fs::remove_dir_all(&self.exec_root);
        let _ = std::fs::remove_file(&self.socket);
    }
}
