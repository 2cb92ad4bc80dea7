//! The container engines `scripts/engines start` runs for the tests — dockerd and podman (its
//! CLI, and its Docker API service) — found from the variables it exports. A test that needs an
//! engine which is not there fails and says how to start it; nothing is skipped.

use std::path::{Path, PathBuf};

use crate::names::unique;
use crate::process::assert_success;

/// What the tests tell a user to do when an engine is missing.
pub const RUN_THROUGH_SCRIPTS: &str =
    "run the tests through scripts/test, which starts the engines";

/// The value of `var` when it is set and not empty.
pub fn env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

/// The value of `var`, which `scripts/engines start` exports; fails the test when it is not set.
pub fn required(var: &str) -> String {
    env(var).unwrap_or_else(|| panic!("{var} is not set: {RUN_THROUGH_SCRIPTS}"))
}

/// A container engine the test scripts started, driven with its own client; removes what it made
/// when dropped.
pub struct Engine {
    /// `docker` or `podman`: the command name hoist's `--load` runs.
    pub name: &'static str,
    /// The client to drive it with.
    pub program: PathBuf,
    made: std::sync::Mutex<Vec<(&'static str, String)>>,
}

impl Engine {
    /// The engine named by `HOIST_TEST_DOCKER`; fails the test when it is not set.
    pub fn docker() -> Self {
        Self::from_env("docker", "HOIST_TEST_DOCKER")
    }

    /// The engine named by `HOIST_TEST_PODMAN`; fails the test when it is not set.
    pub fn podman() -> Self {
        Self::from_env("podman", "HOIST_TEST_PODMAN")
    }

    fn from_env(name: &'static str, var: &str) -> Self {
        Self {
            name,
            program: required(var).into(),
            made: std::sync::Mutex::default(),
        }
    }

    /// Runs `<engine> ARGS`, asserts it succeeded, returns its trimmed stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(&self.program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.program.display()));
        assert_success(&self.program.to_string_lossy(), args, &out);
        String::from_utf8(out.stdout)
            .expect("UTF-8 stdout")
            .trim()
            .to_owned()
    }

    /// Runs `<engine> build ARGS` with BuildKit (`DOCKER_BUILDKIT=1`, which docker 20.10 needs
    /// for `RUN --mount`; podman ignores it), asserts it succeeded, returns its trimmed stdout.
    pub fn build(&self, args: &[&str]) -> String {
        let mut all = vec!["build"];
        all.extend_from_slice(args);
        let out = std::process::Command::new(&self.program)
            .args(&all)
            .env("DOCKER_BUILDKIT", "1")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.program.display()));
        assert_success(&self.program.to_string_lossy(), &all, &out);
        String::from_utf8(out.stdout)
            .expect("UTF-8 stdout")
            .trim()
            .to_owned()
    }

    /// How the engine names a locally loaded `NAME:TAG` (podman puts it under `localhost/`).
    pub fn local(&self, reference: &str) -> String {
        match self.name {
            "podman" => format!("localhost/{reference}"),
            _ => reference.to_owned(),
        }
    }

    /// Removes the image `reference` when the engine is dropped.
    pub fn remove_image_later(&self, reference: &str) {
        self.made
            .lock()
            .expect("lock")
            .push(("rmi", reference.to_owned()));
    }

    /// Removes the container `name` when the engine is dropped.
    pub fn remove_container_later(&self, name: &str) {
        self.made
            .lock()
            .expect("lock")
            .push(("rm", name.to_owned()));
    }

    /// A directory to put first on hoist's PATH so that its `--load` runs this engine's client.
    pub fn path_dir(&self, in_dir: &Path) -> String {
        let bin = in_dir.join("engine-bin");
        std::fs::create_dir_all(&bin).expect("create engine-bin");
        std::os::unix::fs::symlink(&self.program, bin.join(self.name)).expect("symlink the engine");
        let path = std::env::var("PATH").unwrap_or_default();
        format!("{}:{path}", bin.display())
    }

    /// Runs `IMAGE` detached with its port 8080 published on 127.0.0.1; returns the container's
    /// name and the published address.
    pub fn run_detached(&self, image: &str) -> (String, String) {
        let name = unique("hoist-test");
        self.remove_container_later(&name);
        self.ok(&[
            "run",
            "-d",
            "--pull=never",
            "--name",
            &name,
            "-p",
            "127.0.0.1::8080",
            image,
        ]);
        let ports = self.ok(&["port", &name, "8080"]);
        let addr = ports
            .lines()
            .find(|l| l.starts_with("127.0.0.1:"))
            .unwrap_or_else(|| {
                panic!(
                    "`{} port {name} 8080` shows no 127.0.0.1 address:\n{ports}",
                    self.name
                )
            });
        (name, addr.to_owned())
    }

    /// The uid the container's main process runs as, seen from the host.
    pub fn process_uid(&self, container: &str) -> String {
        let pid = self.ok(&["inspect", "--format", "{{.State.Pid}}", container]);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .unwrap_or_else(|e| panic!("cannot read the status of process {pid}: {e}"));
        let line = status
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .expect("a Uid line");
        line.split_whitespace()
            .nth(1)
            .expect("the real uid")
            .to_owned()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let made = std::mem::take(
            &mut *self
                .made
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        // Containers first: an image in use cannot be removed.
        for (verb, what) in made
            .iter()
            .filter(|(v, _)| *v == "rm")
            .chain(made.iter().filter(|(v, _)| *v == "rmi"))
        {
            let _ = std::process::Command::new(&self.program)
                .args([*verb, "-f", what.as_str()])
                .output();
        }
    }
}
