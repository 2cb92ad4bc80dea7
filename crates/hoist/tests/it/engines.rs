//! The images hoist builds, in the engines people run them with: dockerd (through Debian's
//! docker client) and podman. Each test loads an image, runs it, and checks what a user would:
//! the service answers with the stamped version, the process is not root, TLS roots are there.
//! The engines come from scripts/test (HOIST_TEST_DOCKER, HOIST_TEST_PODMAN); without them
//! these tests fail rather than skip.

use hoist_test::cli::success;
use hoist_test::engines::Engine;
use hoist_test::git::{commit_all, git};
use hoist_test::http::get_ok;
use hoist_test::names::unique;
use hoist_test::project::Project;
use std::time::Duration;

use crate::Hoist as _;

/// A copy of `project` whose app (and so image) name is unique, committed and tagged `tag`;
/// returns the project, the name and the commit.
fn renamed(project: Project, name: &str, tag: &str) -> (Project, String, String) {
    let unique_name = unique(name);
    project.edit(
        "hoist.toml",
        &format!("name = \"{name}\""),
        &format!("name = \"{unique_name}\""),
    );
    let commit = commit_all(&project.dir, name);
    git(&project.dir, &["tag", tag]);
    (project, unique_name, commit)
}

/// Builds examples/hello into a docker archive, loads it with `<engine> load`, runs it, and
/// asks it for its greeting.
fn hello_from_a_docker_archive(engine: &Engine) {
    let (p, name, commit) = renamed(Project::example("hello"), "hello", "v0.1.0");
    let archive = p.path("hello.tar");
    let image = engine.local(&format!("{name}:v0.1.0"));
    engine.remove_image_later(&image);
    engine.remove_image_later(&engine.local(&format!("{name}:latest")));

    let output = format!("docker-archive:{}", archive.display());
    success(&mut p.hoist(&[
        "build",
        p.dir.to_str().expect("UTF-8 path"),
        "--env",
        "dev",
        "--output",
        &output,
    ]));
    engine.ok(&["load", "-i", archive.to_str().expect("UTF-8 path")]);
    let (container, addr) = engine.run_detached(&image);

    let body = get_ok(&addr, "/", Duration::from_mins(1));
    assert_eq!(
        body.trim_end(),
        format!("hello from hoist (version v0.1.0, commit {commit})")
    );
    assert_eq!(
        get_ok(&addr, "/healthz", Duration::from_secs(5)).trim_end(),
        "ok"
    );
    assert_eq!(
        engine.process_uid(&container),
        "65532",
        "the service runs as another user"
    );
}

/// Builds tests/fixtures/certcheck with `--load <engine>` and runs it: it reports its uid and
/// the number of system roots Go finds.
fn certcheck_with_load(engine: &Engine) {
    let (p, name, _) = renamed(Project::fixture("certcheck"), "certcheck", "v0.2.0");
    let tags = [format!("{name}:v0.2.0"), format!("{name}:latest")].map(|t| engine.local(&t));
    for t in &tags {
        engine.remove_image_later(t);
    }

    let path = engine.path_dir(&p.path("engine"));
    success(
        p.hoist(&[
            "build",
            p.dir.to_str().expect("UTF-8 path"),
            "--load",
            engine.name,
        ])
        .env("PATH", path),
    );
    engine.ok(&["image", "inspect", &tags[0]]);
    let report = engine.ok(&["run", "--rm", "--pull=never", &tags[1]]);

    let field = |key: &str| -> u64 {
        report
            .split_whitespace()
            .find_map(|f| f.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("certcheck printed no `{key}<number>`:\n{report}"))
    };
    assert_eq!(
        field("uid="),
        65532,
        "certcheck ran as another user:\n{report}"
    );
    assert!(
        field("roots=") > 100,
        "Go found too few system roots:\n{report}"
    );
}

#[test]
fn docker_runs_hello_from_a_docker_archive() {
    hello_from_a_docker_archive(&Engine::docker());
}

#[test]
fn podman_runs_hello_from_a_docker_archive() {
    hello_from_a_docker_archive(&Engine::podman());
}

#[test]
fn docker_load_runs_as_nonroot_with_ca_roots() {
    certcheck_with_load(&Engine::docker());
}

#[test]
fn podman_load_runs_as_nonroot_with_ca_roots() {
    certcheck_with_load(&Engine::podman());
}
