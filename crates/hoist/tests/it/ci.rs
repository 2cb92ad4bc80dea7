//! `hoist ci github` and `hoist ci gitlab` on real git repositories: the pipelines for
//! hoist.toml as `hoist init` writes it and for a monorepo service with `[ci]` deploying to a
//! self-hosted agent and to Kubernetes, passing actionlint (with shellcheck on the `run:`
//! scripts) and GitLab's CI schema (check-jsonschema); re-runs that update hoist's own file and
//! keep one edited by hand; and `[ci]` mistakes reported where they are written.

use hoist_test::cli::{config_failure, failure, success};
use hoist_test::git::commit_all;
use hoist_test::project::Project;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use crate::Hoist as _;

const WORKFLOW: &str = ".github/workflows/hoist.yml";
const GITLAB: &str = ".gitlab-ci.yml";

/// check-jsonschema (with GitLab's schema built in), as scripts/ci-tools installed it.
fn check_jsonschema() -> PathBuf {
    std::env::var_os("HOIST_TEST_CHECK_JSONSCHEMA").map_or_else(
        || panic!("HOIST_TEST_CHECK_JSONSCHEMA is not set: run the tests through scripts/test (scripts/ci-tools installs it)"),
        PathBuf::from,
    )
}

#[track_caller]
fn assert_gitlab_schema(repo: &Path) {
    let out = StdCommand::new(check_jsonschema())
        .args(["--builtin-schema", "vendor.gitlab-ci", GITLAB])
        .current_dir(repo)
        .output()
        .expect("check-jsonschema runs");
    assert!(
        out.status.success(),
        "GitLab's schema:\n{}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(repo.join(GITLAB)).unwrap_or_default()
    );
}

/// The pinned actionlint scripts/ci-tools built.
fn actionlint() -> PathBuf {
    std::env::var_os("HOIST_TEST_ACTIONLINT").map_or_else(
        || panic!("HOIST_TEST_ACTIONLINT is not set: run the tests through scripts/test (scripts/ci-tools builds actionlint)"),
        PathBuf::from,
    )
}

#[track_caller]
fn assert_lints_clean(repo: &Path) {
    let out = StdCommand::new(actionlint())
        .arg(WORKFLOW)
        .current_dir(repo)
        .output()
        .expect("actionlint runs");
    assert!(
        out.status.success(),
        "actionlint:\n{}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(repo.join(WORKFLOW)).unwrap_or_default()
    );
}

/// A monorepo with the hello service in services/api: staging (the runner's own agent) from
/// `main`, prod (Kubernetes, pushed to a registry) from `v*` tags.
fn monorepo() -> (Project, PathBuf) {
    let p = Project::empty();
    let api = p.dir.join("services/api");
    hoist_test::fs::write(&p.dir.join("README"), "monorepo\n");
    for f in ["go.mod", "main.go", "hoist.toml"] {
        let src = hoist_test::fs::repo_root().join("examples/hello").join(f);
        hoist_test::fs::write(&api.join(f), &std::fs::read_to_string(src).unwrap());
    }
    hoist_test::fs::write(&api.join("go.sum"), "");
    let toml = api.join("hoist.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str(
        "\n[ci]\ndeploy = { main = \"staging\", \"v*\" = \"prod\" }\nruns_on = [\"self-hosted\", \"linux\"]\ntest = [\"go vet ./...\", \"go test -count=1 ./...\"]\n\n[environments.prod.kubernetes]\nnamespace = \"shop\"\n",
    );
    std::fs::write(&toml, text).unwrap();
    commit_all(&p.dir, "monorepo");
    (p, api)
}

#[test]
fn workflows_for_two_project_shapes_pass_actionlint() {
    // hoist.toml as the example has it: tests and builds, no deploy jobs.
    let p = Project::example("hello");
    commit_all(&p.dir, "one");
    success(p.hoist(&["ci", "github"]).current_dir(&p.dir));
    let text = std::fs::read_to_string(p.dir.join(WORKFLOW)).unwrap();
    assert!(text.contains("run: hoist build\n"), "{text}");
    assert!(!text.contains("deploy-"), "{text}");
    assert_lints_clean(&p.dir);

    let (m, api) = monorepo();
    success(m.hoist(&["ci", "github"]).current_dir(&api));
    let text = std::fs::read_to_string(m.dir.join(WORKFLOW)).unwrap();
    for needle in [
        "working-directory: 'services/api'",
        "go-version-file: 'services/api/go.mod'",
        "run: 'go test -count=1 ./...'",
        "deploy-staging:",
        "deploy-prod:",
        "runs-on: ['self-hosted', 'linux']",
        "hoist build --push --env prod",
        "KUBECONFIG_DATA: ${{ secrets.KUBECONFIG }}",
        "hoist deploy --env prod --image \"$IMAGE\"",
        "group: 'hoist-deploy-prod'",
        "permissions:\n  contents: read",
    ] {
        assert!(text.contains(needle), "`{needle}` is missing:\n{text}");
    }
    // Every third-party action is pinned by a full commit hash.
    for line in text.lines().filter(|l| l.contains("uses:")) {
        let reference = line.split('@').nth(1).unwrap_or("");
        assert!(
            reference.len() >= 40 && reference[..40].chars().all(|c| c.is_ascii_hexdigit()),
            "not pinned by commit: {line}"
        );
    }
    assert_lints_clean(&m.dir);
}

#[test]
fn gitlab_pipelines_for_two_project_shapes_pass_the_schema() {
    let p = Project::example("hello");
    commit_all(&p.dir, "one");
    success(p.hoist(&["ci", "gitlab"]).current_dir(&p.dir));
    let text = std::fs::read_to_string(p.dir.join(GITLAB)).unwrap();
    assert!(text.contains("image: 'golang:1.22'"), "{text}");
    assert!(!text.contains("deploy-"), "{text}");
    assert_gitlab_schema(&p.dir);

    let (m, api) = monorepo();
    success(m.hoist(&["ci", "gitlab"]).current_dir(&api));
    let text = std::fs::read_to_string(m.dir.join(GITLAB)).unwrap();
    for needle in [
        "- cd 'services/api'",
        "files: ['services/api/go.sum']",
        "- 'go test -count=1 ./...'",
        "deploy-staging:",
        "deploy-prod:",
        "- if: $CI_COMMIT_BRANCH == \"main\"",
        "- if: $CI_COMMIT_TAG =~ /^v/",
        "resource_group: 'hoist-deploy-prod'",
        "tags: ['self-hosted', 'linux']",
        "hoist deploy --env prod --image \"$image\"",
        "cargo install --locked --git \"$HOIST_GIT\" --rev \"$HOIST_REV\"",
    ] {
        assert!(text.contains(needle), "`{needle}` is missing:\n{text}");
    }
    assert_gitlab_schema(&m.dir);
    // The GitHub workflow beside it is a file of its own.
    assert!(!m.dir.join(WORKFLOW).exists());
}

#[test]
fn reruns_update_hoists_file_and_keep_hand_edits() {
    let (p, api) = monorepo();
    let path = p.dir.join(WORKFLOW);
    success(p.hoist(&["ci", "github"]).current_dir(&api));

    // hoist.toml changed: the file follows.
    let toml = api.join("hoist.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        text.replace("go test -count=1 ./...", "go test -race ./..."),
    )
    .unwrap();
    success(p.hoist(&["ci", "github"]).current_dir(&api));
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("go test -race ./...")
    );

    // Edited by hand: kept, and the command says why and how to replace it.
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("ubuntu-latest", "my-runner");
    std::fs::write(&path, &edited).unwrap();
    let stderr = failure(p.hoist(&["ci", "github"]).current_dir(&api));
    assert!(
        stderr.contains("changed by hand") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);
    success(p.hoist(&["ci", "github", "--force"]).current_dir(&api));
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("my-runner")
    );

    // A workflow hoist never wrote is kept too.
    std::fs::write(&path, "name: mine\n").unwrap();
    let stderr = failure(p.hoist(&["ci", "github"]).current_dir(&api));
    assert!(stderr.contains("not written by hoist"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "name: mine\n");
    // --stdout prints hoist's version and writes nothing.
    let printed = success(p.hoist(&["ci", "github", "--stdout"]).current_dir(&api));
    assert!(printed.starts_with("# Generated by `hoist ci github`"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "name: mine\n");
}

#[test]
fn ci_mistakes_are_reported_where_they_are_written() {
    let p = Project::example("hello");
    p.edit(
        "hoist.toml",
        "[run]\n",
        "[ci]\ndeploy = { main = \"stagin\" }\n\n[run]\n",
    );
    commit_all(&p.dir, "one");
    let stderr = config_failure(p.hoist(&["ci", "github"]).current_dir(&p.dir));
    assert!(
        stderr.contains("hoist.toml:")
            && stderr.contains("ci.deploy.main: no environment `stagin`"),
        "{stderr}"
    );

    // Outside git there is nothing for a pipeline to run on.
    let q = Project::example("hello");
    let stderr = failure(q.hoist(&["ci", "github"]).current_dir(&q.dir));
    assert!(stderr.contains("not in a git repository"), "{stderr}");

    // A hoist commit that is not a full hash cannot pin CI's hoist.
    let r = Project::example("hello");
    commit_all(&r.dir, "one");
    let stderr = failure(
        r.hoist(&["ci", "github", "--hoist-rev", "main"])
            .current_dir(&r.dir),
    );
    assert!(stderr.contains("40 hex"), "{stderr}");
}
