//! hoist's integration tests, one binary: the real `hoist` binary against real services, one
//! module per area (`cargo test -p hoist --test it registry_push::` runs one; the helpers every
//! module needs are in the hoist-test crate).
//!
//! What each module needs besides Go: `build_errors`, `build_image`, `config_cli`, `docs`,
//! `init`, `render` and `tags` nothing more; `ci` the linters of scripts/ci-tools; `dev`,
//! `first_hour`, `local_runtime`, `noninteractive` and `doctor` an agent or nothing (and for
//! local_runtime's docker and podman cases, two first_hour tests and three doctor tests, the
//! engines, a registry or the cluster); `dashboard` an agent and headless Chromium (a tool, not
//! a service); `engines`, `dockerfile`, `registry_*`, `ci_workflow` and `corpus` the engines or
//! `docker-registry` (and `corpus` the Go module proxy); `kube_*` the test cluster; `hosts` root
//! and openssh-server (it starts its own namespaces), `hosts_container` also docker.io (and the
//! Go module proxy, for go-httpbin), `hosts_arch` qemu-user and hoist built for aarch64
//! (scripts/arm64-host).
//! `scripts/test --fast` runs the ones that need no service; `scripts/test` runs them all, and a
//! missing service fails the test that needs it.

mod build_errors;
mod build_image;
mod canary;
mod chaos;
mod ci;
mod ci_workflow;
mod config_cli;
mod corpus;
mod dashboard;
mod dev;
mod dockerfile;
mod docs;
mod doctor;
mod engines;
mod first_hour;
mod hosts;
mod hosts_arch;
mod hosts_container;
mod hosts_deploy;
mod hosts_public;
mod init;
mod kube_build_push;
mod kube_canary;
mod kube_deploy;
mod kube_errors;
mod local_runtime;
mod noninteractive;
mod prometheus;
mod proxy_tls;
mod registry_base;
mod registry_errors;
mod registry_push;
mod render;
mod supervise;
mod tags;

use std::path::Path;

use assert_cmd::Command;
use hoist_test::agent::{Agent, Driver, require};
use hoist_test::cli::success;
use hoist_test::project::Project;
use serde_json::Value;

/// The binary under test, as cargo built it for these tests.
const HOIST: &str = env!("CARGO_BIN_EXE_hoist");

/// `hoist ARGS` with `cache` as its cache ([`hoist_test::cli::command`]).
fn hoist(cache: &Path, args: &[&str]) -> Command {
    hoist_test::cli::command(Path::new(HOIST), cache, args)
}

/// `hoist ARGS` for a project, with the project's own cache: the harness's command bound to the
/// binary under test, which only this crate's tests have.
trait Hoist {
    /// `hoist ARGS`.
    fn hoist(&self, args: &[&str]) -> Command;
    /// `hoist ARGS` as a std command (to run in the background, or to wrap).
    fn hoist_std(&self, args: &[&str]) -> std::process::Command;
    /// `hoist ARGS --kubeconfig KUBECONFIG`: the test cluster (or a broken copy of its
    /// kubeconfig), never the caller's `KUBECONFIG`.
    fn hoist_kube(&self, kubeconfig: &Path, args: &[&str]) -> Command {
        let mut cmd = self.hoist(args);
        cmd.arg("--kubeconfig")
            .arg(kubeconfig)
            .env_remove("KUBECONFIG");
        cmd
    }
}

impl Hoist for Project {
    fn hoist(&self, args: &[&str]) -> Command {
        self.command(Path::new(HOIST), args)
    }

    fn hoist_std(&self, args: &[&str]) -> std::process::Command {
        self.std_command(Path::new(HOIST), args)
    }
}

/// An agent (not started yet) for a copy of the webapp fixture with `driver`, whose engine must
/// answer.
fn webapp(driver: Driver) -> Agent {
    require(driver);
    Agent::new(HOIST, Project::fixture("webapp"), driver)
}

/// `hoist build PROJECT ARGS --json`, parsed.
fn build_json(project: &Project, args: &[&str]) -> Value {
    let mut all = vec!["build", project.dir_str(), "--json"];
    all.extend_from_slice(args);
    let stdout = success(&mut project.hoist(&all));
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("--json printed no JSON ({e}):\n{stdout}"))
}
