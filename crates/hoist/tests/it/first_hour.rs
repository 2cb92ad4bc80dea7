//! A user's first hour with hoist, end to end through the real binary: what the exit code says,
//! a deploy without any hoist.toml, why a rollout failed, who may read the agent's state, two
//! apps behind one proxy, the URL to open, files hoist writes (and never overwrites), pushed
//! tags, requests refused before any work, errors that name the real cause, stopped apps,
//! replica numbers and log markers, an image that knows its port, `hoist init`, stops that
//! say what they wait for, and Ctrl-C during a deploy.
//!
//! Each test names, in its doc comment, the defect it guards against: it fails on the old
//! behaviour and passes on the new one.

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use hoist_test::agent::{Agent, Driver};
use hoist_test::cli::{code, config_spot, failure, position, success};
use hoist_test::elf::host_goarch;
use hoist_test::engines::Engine;
use hoist_test::fixtures::label;
use hoist_test::fs::{chmod, mode};
use hoist_test::git::{commit_all, git};
use hoist_test::http::{Response, get_ok};
use hoist_test::layout::Layout;
use hoist_test::names::unique;
use hoist_test::ports::free_port;
use hoist_test::process::text;
use hoist_test::project::Project;
use serde_json::Value;

use crate::{HOIST, Hoist as _, webapp};

/// A digest-pinned image for `hoist render` (nothing pulls it).
const PINNED: &str = "registry.example.com/x/hello@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

// ---------------------------------------------------------------------------------------------
// 1. exit codes

/// Defect: usage errors, an invalid hoist.toml, a rolled-back deploy and a failed first deploy
/// all exited 1, so a script could not tell "typo" from "rolled back" from "nothing serves".
#[test]
fn exit_codes_tell_usage_rollback_and_failure_apart() {
    let p = Project::example("hello");
    for args in [
        &["--bogus"][..],
        &["rollback", "--to", "abc"],
        &["deploy", "--target", "nope"],
    ] {
        let out = p.hoist(args).output().expect("hoist runs");
        assert_eq!(
            code(&out),
            2,
            "`hoist {}`:\n{}",
            args.join(" "),
            text(&out.stderr)
        );
    }

    // An invalid hoist.toml is a usage error too, and says where.
    let agent = Agent::new(HOIST, Project::example("hello"), Driver::Process);
    agent.project.edit(
        "hoist.toml",
        "replicas = 3\n",
        "replicas = 3\nenv = { PORT = \"9000\" }\n",
    );
    let (line, col) = position(&agent.project.read("hoist.toml"), "PORT = \"9000\"");
    let out = agent.deploy(&[]);
    let err = text(&out.stderr);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains("`PORT` is set by hoist from `app.port`"),
        "{err}"
    );
    assert_eq!(config_spot(&err), (line, col), "{err}");
    assert!(
        agent.pid().is_none(),
        "an invalid hoist.toml started the agent"
    );
}

/// Defect: a revision that never got ready was reported with the exit code of any error (1),
/// and said only "rollout failed": not which probe failed, nor what the app printed; its
/// history kept no trace of why.
#[test]
fn a_never_ready_revision_exits_3_and_says_why_per_replica() {
    let agent = webapp(Driver::Process);
    agent.deploy_ok(&[]);
    let out = agent.deploy(&[
        "--set",
        "run.env.HEALTHZ=404",
        "--set",
        "run.rollout.deadline=3s",
    ]);
    let err = text(&out.stderr);
    assert_eq!(code(&out), 3, "rolled back:\n{err}");

    let lines: Vec<&str> = err.lines().map(str::trim).collect();
    let first = lines
        .iter()
        .position(|l| {
            // `unready`, or `starting` when its liveness probe (the same path) restarted it
            // just before the deadline: either way the probe's own result is the reason.
            l.starts_with("replica ")
                && (l.contains("(unready): ") || l.contains("(starting): "))
                && l.contains("readiness GET /healthz → 404 Not Found")
        })
        .unwrap_or_else(|| panic!("no `replica N (unready|starting): readiness …` block:\n{err}"));
    let block: Vec<&str> = lines[first + 1..]
        .iter()
        .take_while(|l| !l.starts_with("replica "))
        .copied()
        .collect();
    let last = block
        .iter()
        .position(|l| *l == "its last lines:")
        .unwrap_or_else(|| panic!("the report shows no `its last lines:`:\n{err}"));
    assert!(
        block[last + 1..]
            .iter()
            .any(|l| l.starts_with("| ") && l.contains("listening on")),
        "the report shows the app's own lines:\n{err}"
    );

    let history = agent.history("webapp");
    assert_eq!(history[0]["number"], 2, "{history:#?}");
    let reports = history[0]["replica_reports"]
        .as_array()
        .unwrap_or_else(|| panic!("revision 2 has no replica_reports: {:#}", history[0]));
    assert!(
        reports.iter().any(|r| r["probe"]
            .as_str()
            .is_some_and(|p| p.contains("GET /healthz → 404"))),
        "{reports:#?}"
    );
    assert_eq!(label(&agent.get("127.0.0.1", "/").body), "v1");
}

/// Defect: a first deploy that crashed (nothing to roll back to) exited 1 like a typo, and its
/// report did not say how the replicas exited.
#[test]
fn a_crashing_first_deploy_exits_4_and_reports_the_exit() {
    let agent = webapp(Driver::Process);
    // Not ready before it crashes: alone, CRASH_AFTER=300ms is ready (and deployed) at ~0.1s.
    let out = agent.deploy(&[
        "--set",
        "run.env.CRASH_AFTER=300ms",
        "--set",
        "run.env.READY_AFTER=2s",
    ]);
    let err = text(&out.stderr);
    assert_eq!(code(&out), 4, "nothing to roll back to:\n{err}");
    assert!(err.contains("exited with status 1"), "{err}");
    let history = agent.history("webapp");
    let reports = history[0]["replica_reports"]
        .as_array()
        .unwrap_or_else(|| panic!("no replica_reports: {:#}", history[0]));
    assert!(
        reports.iter().any(|r| r["exit"]
            .as_str()
            .is_some_and(|e| e.contains("exited with status 1"))),
        "{reports:#?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. zero config

/// Defect: without a hoist.toml (so without probes) a deploy waited for an HTTP probe the app
/// never had and rolled back, silently guessing the app; `render` wrote an httpGet probe.
#[test]
fn without_hoist_toml_replicas_are_ready_on_tcp() {
    let agent = Agent::new(HOIST, Project::example("hello"), Driver::Process);
    std::fs::remove_file(agent.project.dir.join("hoist.toml")).expect("remove hoist.toml");

    let out = agent.deploy_ok(&[
        "--set",
        "run.replicas=2",
        "--set",
        "run.rollout.deadline=20s",
    ]);
    let err = text(&out.stderr);
    let said: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("no hoist.toml: building"))
        .collect();
    assert_eq!(said.len(), 1, "one `no hoist.toml: building` line:\n{err}");
    assert!(
        said[0].contains("app `hello`") && said[0].contains("hoist init"),
        "{}",
        said[0]
    );
    let url = text(&out.stdout).trim().to_owned();
    let addr = url
        .strip_prefix("http://")
        .and_then(|u| u.strip_suffix('/'))
        .unwrap_or_else(|| panic!("stdout is not a URL: {url}"));
    assert_eq!(addr, agent.proxy.to_string());
    let body = get_ok(addr, "/", Duration::from_secs(10));
    assert!(body.contains("hello from hoist"), "{body}");
    assert_eq!(agent.status("hello")["ready"], 2);

    let yaml =
        success(
            &mut agent
                .project
                .hoist(&["render", agent.project.dir_str(), "--image", PINNED]),
        );
    let probe = yaml_block(&yaml, "readinessProbe:")
        .unwrap_or_else(|| panic!("the Deployment has no readinessProbe:\n{yaml}"));
    assert!(
        probe.contains("tcpSocket:") && probe.contains("port: http"),
        "readiness is on TCP port `http`:\n{probe}"
    );
    assert!(!probe.contains("httpGet"), "{probe}");
}

// ---------------------------------------------------------------------------------------------
// 4. state privacy

/// Defect: the agent's state directory (database, logs with whatever the apps print) was
/// created with the umask's modes, readable by every user of the machine.
#[test]
fn the_agent_state_is_private() {
    let agent = webapp(Driver::Process);
    // Let the agent create its directory itself, under the most common umask.
    std::fs::remove_dir(agent.state_dir()).expect("remove the empty state dir");
    let out = with_umask("022", &agent.hoist_std(&deploy_args(&agent, &[])))
        .output()
        .expect("deploy runs");
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));

    let state = agent.state_dir();
    assert_eq!(mode(state), 0o700, "the state directory");
    assert_eq!(mode(&state.join("hoist.db")), 0o600, "hoist.db");
    let logs = files_named(state, ".log");
    assert!(
        logs.iter().any(|l| l.ends_with("agent.log")) && logs.len() > 1,
        "the agent's and the replicas' logs: {logs:?}"
    );
    for log in &logs {
        assert_eq!(mode(log), 0o600, "{}", log.display());
    }
}

/// Defect: a state directory that already existed readable by others (made by an older hoist,
/// or by hand) stayed that way, silently.
#[test]
fn an_open_state_dir_is_tightened_and_the_agent_says_so() {
    let agent = webapp(Driver::Process);
    let state = agent.state_dir();
    let stray = state.join("notes.txt");
    std::fs::write(&stray, "left here\n").expect("write");
    chmod(state, 0o755);
    chmod(&stray, 0o644);

    agent.deploy_ok(&[]);

    assert_eq!(mode(state), 0o700, "the state directory");
    assert_eq!(mode(&stray), 0o600, "{}", stray.display());
    let log = std::fs::read_to_string(state.join("agent.log")).expect("agent.log");
    assert!(
        log.lines()
            .any(|l| l.contains("WARN") && l.contains("readable by other users")),
        "agent.log:\n{log}"
    );
}

// ---------------------------------------------------------------------------------------------
// 5, 6. routes and URLs

/// Defect: a second app deployed with the host of another took all of its traffic; and a
/// `*.localhost` host was printed as `http://127.0.0.1:PORT/`, which the proxy does not route
/// to it.
#[test]
fn a_host_held_by_another_app_is_refused() {
    let agent = webapp(Driver::Process);
    let out = agent.deploy_ok(&["--set", "run.ingress.host=a.localhost"]);
    assert_eq!(
        text(&out.stdout).trim(),
        format!("http://a.localhost:{}/", agent.proxy.port())
    );

    let other = other_webapp();
    let out = deploy_other(&agent, &other, &["--set", "run.ingress.host=a.localhost"]);
    let err = text(&out.stderr);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("held by the app `webapp`"), "{err}");

    let Response { status, body, .. } = agent.get("a.localhost", "/");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("webapp/1/"), "webapp still answers: {body}");
}

/// Defect: two apps without a host both took `/`, the second silently stealing the first's
/// traffic; apps on different paths were not routed by the longest prefix.
#[test]
fn hostless_apps_share_the_proxy_by_path() {
    let agent = webapp(Driver::Process);
    agent.deploy_ok(&["--set", "run.replicas=1"]);

    let other = other_webapp();
    let out = deploy_other(&agent, &other, &["--set", "run.replicas=1"]);
    let err = text(&out.stderr);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("held by the app `webapp`"), "{err}");

    let out = deploy_other(
        &agent,
        &other,
        &[
            "--set",
            "run.replicas=1",
            "--set",
            "run.ingress.path=/other",
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    for (path, app) in [
        ("/", "webapp/"),
        ("/x", "webapp/"),
        ("/other", "other/"),
        ("/other/x", "other/"),
    ] {
        let Response { status, body, .. } = agent.get("127.0.0.1", path);
        assert_eq!(status, 200, "GET {path}: {body}");
        assert!(body.contains(app), "GET {path} is `{app}`'s: {body}");
    }
}

/// Defect: with a host that does not resolve here, the printed URL did not answer and nothing
/// said that the request needs the `Host` header.
#[test]
fn a_public_host_is_explained_as_a_header() {
    let agent = webapp(Driver::Process);
    let out = agent.deploy_ok(&["--set", "run.ingress.host=shop.example.com"]);
    let err = text(&out.stderr);
    assert!(
        err.contains("Host: shop.example.com") && err.contains("curl -H"),
        "{err}"
    );
    assert_eq!(text(&out.stdout).trim(), format!("http://{}/", agent.proxy));
    let Response { status, body, .. } = agent.get("shop.example.com", "/");
    assert_eq!(status, 200, "{body}");
    assert_eq!(label(&body), "v1");
}

// ---------------------------------------------------------------------------------------------
// 7. files hoist writes

/// Defect: `hoist dockerfile` overwrote a hand-written Dockerfile (and .dockerignore) without a
/// word.
#[test]
fn dockerfile_never_overwrites_a_hand_written_one() {
    let p = Project::example("hello");
    let mine = "FROM scratch\n# mine\n";
    p.write("Dockerfile", mine);

    let err = failure(&mut p.hoist(&["dockerfile", p.dir_str()]));
    assert!(
        err.contains("hoist did not write it") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(p.read("Dockerfile"), mine, "the Dockerfile was changed");
    assert!(
        !p.dir.join(".dockerignore").exists(),
        "a refused run wrote .dockerignore"
    );

    // A hand-written .dockerignore alone is kept too.
    let q = Project::example("hello");
    q.write(".dockerignore", "secrets/\n");
    let err = failure(&mut q.hoist(&["dockerfile", q.dir_str()]));
    assert!(err.contains("hoist did not write it"), "{err}");
    assert_eq!(q.read(".dockerignore"), "secrets/\n");
    assert!(
        !q.dir.join("Dockerfile").exists(),
        "a refused run wrote the Dockerfile"
    );

    // --force replaces both.
    p.write(".dockerignore", "secrets/\n");
    success(&mut p.hoist(&["dockerfile", p.dir_str(), "--force"]));
    assert_ne!(p.read("Dockerfile"), mine);
    assert!(
        p.read("Dockerfile").contains("FROM "),
        "{}",
        p.read("Dockerfile")
    );
    assert_ne!(p.read(".dockerignore"), "secrets/\n");

    // One hoist wrote is replaced without --force.
    success(&mut p.hoist(&["dockerfile", p.dir_str(), "--go-version", "1.22.7"]));
    assert!(
        p.read("Dockerfile").contains("golang:1.22.7"),
        "{}",
        p.read("Dockerfile")
    );
}

/// Defect: files written beside and renamed into place kept the temporary file's 0600, so a
/// Dockerfile, manifests or an image archive were unreadable to the CI user or `docker build`
/// in a container.
#[test]
fn written_files_get_their_modes_from_the_umask() {
    let p = Project::example("hello");
    let d = p.dir_str();

    success(&mut with_umask("022", &p.hoist_std(&["dockerfile", d])));
    assert_eq!(mode(&p.dir.join("Dockerfile")), 0o644);
    assert_eq!(mode(&p.dir.join(".dockerignore")), 0o644);
    success(&mut with_umask(
        "027",
        &p.hoist_std(&["dockerfile", d, "--go-version", "1.22.7"]),
    ));
    assert_eq!(mode(&p.dir.join("Dockerfile")), 0o640, "umask 027");

    let manifests = p.path("manifests");
    success(&mut with_umask(
        "022",
        &p.hoist_std(&["render", d, "--image", PINNED, "--out", path(&manifests)]),
    ));
    assert_modes(&manifests, 0o755, 0o644);

    let archive = p.path("hello.tar");
    let layout = p.path("layout");
    success(&mut with_umask(
        "022",
        &p.hoist_std(&[
            "build",
            d,
            "--platform",
            "linux/amd64",
            "--output",
            &format!("docker-archive:{}", archive.display()),
            "--output",
            &format!("oci:{}", layout.display()),
        ]),
    ));
    assert_eq!(mode(&archive), 0o644, "the docker archive");
    assert_modes(&layout, 0o755, 0o644);
}

// ---------------------------------------------------------------------------------------------
// 8. pushed tags

/// Defect: a push listed no tags, and outside git it wrote none without saying why, so the
/// image seemed lost.
#[test]
fn a_push_lists_its_tags_or_says_why_there_are_none() {
    let reg = hoist_test::registry::Registry::plain();
    let repo = format!("{}/x/hello", reg.addr);
    let push = ["--platform", "linux/amd64", "--push", "--repository", &repo];

    let p = Project::example("hello");
    let commit = commit_all(&p.dir, "hello");
    assert_eq!(git(&p.dir, &["branch", "--show-current"]), "main");
    let out = p
        .hoist(&[&["build", p.dir_str()][..], &push].concat())
        .output()
        .expect("build runs");
    let err = text(&out.stderr);
    assert_eq!(code(&out), 0, "{err}");
    assert!(
        err.contains(&format!("tagged latest, sha-{}", &commit[..12])),
        "{err}"
    );

    let q = Project::example("hello");
    let out = q
        .hoist(&[&["build", q.dir_str()][..], &push].concat())
        .output()
        .expect("build runs");
    let err = text(&out.stderr);
    assert_eq!(code(&out), 0, "{err}");
    let said = err
        .lines()
        .find(|l| l.contains("no tag written"))
        .unwrap_or_else(|| panic!("no `no tag written` line:\n{err}"));
    assert!(
        said.contains("not a git checkout") && said.contains("sha-<12 hex"),
        "{said}"
    );

    let json: Value = serde_json::from_str(&success(
        &mut q.hoist(&[&["build", q.dir_str(), "--json"][..], &push].concat()),
    ))
    .expect("--json prints JSON");
    assert_eq!(json["push"]["tags"], serde_json::json!([]), "{json:#}");
    let why = json["push"]["untagged"]
        .as_str()
        .unwrap_or_else(|| panic!("no `untagged` reason: {json:#}"));
    assert!(why.contains("not a git checkout"), "{why}");
}

// ---------------------------------------------------------------------------------------------
// 9. impossible requests

/// Defect: a docker archive of two platforms (it holds one) was refused only after compiling
/// both.
#[test]
fn a_two_platform_docker_archive_is_refused_before_building() {
    let p = Project::example("hello");
    let archive = p.path("x.tar");
    let err = failure(&mut p.hoist(&[
        "build",
        p.dir_str(),
        "--platform",
        "linux/arm64",
        "--platform",
        "linux/s390x",
        "--output",
        &format!("docker-archive:{}", archive.display()),
    ]));
    assert!(err.contains("a docker archive holds one"), "{err}");
    assert!(
        !err.lines().any(|l| l.contains("go build")),
        "it compiled before refusing:\n{err}"
    );
    assert!(!archive.exists());
}

// ---------------------------------------------------------------------------------------------
// 10. errors that name the real cause

/// Defect: render after an unpushed build said "no `hoist build`" (there was one).
#[test]
fn render_after_an_unpushed_build_says_push_it() {
    let p = Project::example("hello");
    success(&mut p.hoist(&["build", p.dir_str(), "--env", "staging"]));
    let err = failure(&mut p.hoist(&["render", p.dir_str(), "--env", "staging"]));
    assert!(err.contains("was not pushed"), "{err}");
    assert!(hint_of(&err).contains("hoist build --push"), "{err}");
}

/// Defect: a `--binary` built for arm64 got the hint to pass `--platform` (which `deploy`
/// does not take) instead of how to build it for this machine.
#[test]
fn a_foreign_binary_hint_names_goarch() {
    let agent = webapp(Driver::Process);
    let binary = agent.project.path("webapp-arm64");
    let built = std::process::Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(&agent.project.dir)
        .env("GOOS", "linux")
        .env("GOARCH", "arm64")
        .env("CGO_ENABLED", "0")
        .status()
        .expect("go runs");
    assert!(built.success());

    let out = agent.deploy(&["--binary", path(&binary)]);
    let err = text(&out.stderr);
    assert_eq!(code(&out), 1, "{err}");
    let hint = hint_of(&err);
    assert!(hint.contains("GOARCH"), "{err}");
    assert!(!hint.contains("--platform"), "{err}");
}

/// Defect: a missing `app.main` package surfaced as a `go list` failure (exit 1) instead of a
/// configuration error pointing at the key.
#[test]
fn a_missing_main_package_points_at_app_main() {
    let p = Project::example("hello");
    p.edit("hoist.toml", "main = \".\"", "main = \"./cmd/nope\"");
    let (line, col) = position(&p.read("hoist.toml"), "\"./cmd/nope\"");
    let out = p
        .hoist(&["build", p.dir_str()])
        .output()
        .expect("build runs");
    let err = text(&out.stderr);
    assert_eq!(code(&out), 2, "{err}");
    assert!(
        err.contains(&format!("hoist.toml:{line}:{col}: app.main:")),
        "expected hoist.toml:{line}:{col}: app.main:\n{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// 11, 12. stopped apps, replica numbers

/// Defect: a stopped app vanished from `status`, a second `stop` failed, `rollback` of a
/// stopped app failed without saying how to start it again, and its history could not be
/// removed.
#[test]
fn a_stopped_app_is_listed_started_again_and_forgotten() {
    let agent = webapp(Driver::Process);
    agent.deploy_ok(&[]);
    success(&mut agent.hoist(&["stop", "webapp"]));
    let out = agent
        .hoist(&["stop", "webapp"])
        .output()
        .expect("stop runs");
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("already stopped"),
        "{}",
        text(&out.stderr)
    );

    let listed = all_status(&agent);
    let app = listed
        .iter()
        .find(|a| a["name"] == "webapp")
        .unwrap_or_else(|| panic!("status lists no `webapp`: {listed:#?}"));
    assert_eq!(app["state"], "stopped", "{app:#}");

    let err = failure(&mut agent.hoist(&["rollback", "webapp"]));
    assert!(err.contains("nothing to roll back from"), "{err}");
    assert!(hint_of(&err).contains("--to"), "{err}");

    success(&mut agent.hoist(&["rollback", "webapp", "--to", "1"]));
    let s = agent.status("webapp");
    assert_eq!(s["state"], "running", "{s:#}");
    assert_eq!(label(&agent.get("127.0.0.1", "/").body), "v1");

    success(&mut agent.hoist(&["stop", "webapp"]));
    success(&mut agent.hoist(&["forget", "webapp"]));
    let listed = all_status(&agent);
    assert!(
        listed.iter().all(|a| a["name"] != "webapp"),
        "`webapp` is still listed: {listed:#?}"
    );
    let err = failure(&mut agent.hoist(&["history", "webapp"]));
    assert!(err.contains("knows no app `webapp`"), "{err}");
}

/// Defect: after a stop and a new deploy, replica numbers started at 1 again, so `hoist logs`
/// mixed two replicas' lines under one number with nothing to tell them apart.
#[test]
fn replica_numbers_never_repeat_and_logs_mark_each_start() {
    let agent = webapp(Driver::Process);
    agent.deploy_ok(&[]);
    let first = replica_ids(&agent.settled("webapp"));
    success(&mut agent.hoist(&["stop", "webapp"]));
    agent.deploy_ok(&[]);
    let second = replica_ids(&agent.settled("webapp"));
    assert_eq!(first.len(), 3);
    assert_eq!(second.len(), 3);
    assert!(
        first.iter().all(|id| !second.contains(id)),
        "numbers repeat: {first:?} then {second:?}"
    );

    // Running: the logs of its replicas, each starting with its marker.
    let logs = success(&mut agent.hoist(&["logs", "webapp"]));
    assert_markers(&logs, &second, 2);
    // A replica of the stopped revision keeps its own log.
    let old = first[0].to_string();
    let logs = success(&mut agent.hoist(&["logs", "webapp", "--replica", &old]));
    assert_markers(&logs, &first[..1], 1);
    // Stopped: every replica's log, so both revisions.
    success(&mut agent.hoist(&["stop", "webapp"]));
    let logs = success(&mut agent.hoist(&["logs", "webapp"]));
    assert_markers(&logs, &first, 1);
    assert_markers(&logs, &second, 2);
}

// ---------------------------------------------------------------------------------------------
// 13. the image knows its port

/// Defect: the image's config had no `PORT`, so the app listened wherever its own default
/// was, not on the port its manifests and `EXPOSE` name.
#[test]
fn the_image_sets_port_and_answers_in_podman() {
    let p = Project::example("hello");
    let layout = p.path("layout");
    success(&mut p.hoist(&[
        "build",
        p.dir_str(),
        "--output",
        &format!("oci:{}", layout.display()),
    ]));
    for image in Layout(layout.clone()).images() {
        let env = image.config["config"]["Env"]
            .as_array()
            .unwrap_or_else(|| panic!("{} has no Env: {:#}", image.platform, image.config));
        assert!(
            env.iter().any(|e| e == "PORT=8080"),
            "{}: {env:?}",
            image.platform
        );
    }

    // Into podman's store under a name of our own (`podman pull oci:DIR` names the image after
    // the path, which may hold capitals).
    let podman = Engine::podman();
    let name = unique("hoist-first-hour");
    let image = format!("localhost/{name}:test");
    podman.remove_image_later(&image);
    hoist_test::process::run(
        "skopeo",
        &[
            "copy",
            "--quiet",
            &format!("oci:{}", layout.display()),
            &format!("containers-storage:{image}"),
        ],
    );
    podman.remove_container_later(&name);
    let port = free_port();
    podman.ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--runtime",
        "runc",
        "--ulimit",
        "nofile=20000:20000",
        "--ulimit",
        "nproc=20000:20000",
        "-p",
        &format!("127.0.0.1:{port}:8080"),
        &image,
    ]);
    let body = get_ok(&format!("127.0.0.1:{port}"), "/", Duration::from_secs(30));
    assert!(body.contains("hello from hoist"), "{body}");
}

// ---------------------------------------------------------------------------------------------
// 14. init and config

/// Defect: `hoist init` wrote `platforms = ["linux/amd64", "linux/arm64"]` (an arm64 build the
/// user never asked for), refused a module with two mains even inside one of them, and
/// `hoist config` in a subdirectory did not find the project's hoist.toml.
#[test]
fn init_and_config_find_what_the_user_means() {
    let host = host_goarch();
    let other = if host == "amd64" { "arm64" } else { "amd64" };

    let p = Project::empty();
    p.write("go.mod", "module example.com/greeter\n\ngo 1.22\n");
    p.write("main.go", "package main\n\nfunc main() {}\n");
    success(&mut p.hoist(&["init", p.dir_str()]));
    let toml = p.read("hoist.toml");
    assert!(
        toml.lines()
            .any(|l| l.trim() == format!("platforms = [\"linux/{host}\"]")),
        "{toml}"
    );
    for l in toml.lines().filter(|l| l.contains(other)) {
        assert!(
            l.trim_start().starts_with('#'),
            "`{other}` outside a comment: {l}"
        );
    }

    // Two mains: init inside one command's directory picks that one.
    let ids = Project::example("ids");
    std::fs::remove_file(ids.dir.join("hoist.toml")).expect("remove hoist.toml");
    ids.write("cmd/admin/main.go", "package main\n\nfunc main() {}\n");
    let admin = ids.dir.join("cmd/admin");
    success(ids.hoist(&["init"]).current_dir(&admin));
    let shown = success(ids.hoist(&["config"]).current_dir(&admin));
    assert!(shown.contains("name = \"admin\""), "{shown}");
    let shown = success(ids.hoist(&["config"]).current_dir(ids.dir.join("cmd/ids")));
    assert!(shown.contains("name = \"ids\""), "{shown}");

    // config from a subdirectory reads the project's hoist.toml.
    let hello = Project::example("hello");
    let sub = hello.dir.join("internal/deeper");
    std::fs::create_dir_all(&sub).expect("mkdir");
    let shown = success(hello.hoist(&["config"]).current_dir(&sub));
    assert!(
        shown.contains("platforms = [\"linux/amd64\", \"linux/arm64\"]")
            && shown.contains("replicas = 3"),
        "config did not read examples/hello's hoist.toml:\n{shown}"
    );
}

// ---------------------------------------------------------------------------------------------
// 15, 16. waits and Ctrl-C

/// Defect: `hoist stop` of a replica that ignores SIGTERM hung silently for the whole grace
/// period.
#[test]
fn stop_says_which_replica_it_waits_for() {
    let agent = webapp(Driver::Process);
    agent.deploy_ok(&[
        "--set",
        "run.env.IGNORE_TERM=1",
        "--set",
        "run.termination_grace=4s",
        "--set",
        "run.replicas=1",
    ]);
    let out = agent
        .hoist(&["stop", "webapp"])
        .output()
        .expect("stop runs");
    let err = text(&out.stderr);
    assert_eq!(code(&out), 0, "{err}");
    assert!(
        err.lines().any(|l| l.contains("waiting for replica ")
            && l.contains(" of `webapp` (pid ")
            && l.contains("SIGKILL")),
        "{err}"
    );
}

/// Defect: Ctrl-C on `hoist deploy` exited 1 (like a failure) without saying what became of the
/// rollout it had handed to the agent.
#[test]
fn ctrl_c_on_deploy_leaves_the_rollout_to_the_agent() {
    let agent = webapp(Driver::Process);
    agent.deploy_ok(&[]);
    let mut deploy = agent
        .hoist_std(&deploy_args(
            &agent,
            &[
                "--set",
                "run.env.LABEL=v2",
                "--set",
                "run.env.READY_AFTER=1500ms",
                "--set",
                "run.health.liveness.tcp=true",
                "--set",
                "run.rollout.deadline=30s",
            ],
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("deploy starts");
    let lines = std::io::BufReader::new(deploy.stderr.take().expect("stderr"));
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in lines.lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
        }
    });
    let mut seen = Vec::new();
    let limit = Instant::now() + Duration::from_mins(2);
    while !seen.iter().any(|l: &String| l.contains("rolling out")) {
        let left = limit.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(e) => panic!("no `rolling out` ({e}):\n{}", seen.join("\n")),
        }
    }
    hoist_test::process::kill(deploy.id(), "INT");
    let status = deploy.wait().expect("deploy ends");
    reader.join().expect("reader");
    seen.extend(rx.try_iter());
    let err = seen.join("\n");
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("goes on in the agent"), "{err}");

    agent.wait_status("webapp", Duration::from_mins(1), |s| {
        s["serving"]["number"] == 2 && s["rolling_out"].is_null()
    });
    assert_eq!(label(&agent.get("127.0.0.1", "/").body), "v2");
}

// ---------------------------------------------------------------------------------------------
// helpers

/// Another copy of the webapp fixture, named `other`.
fn other_webapp() -> Project {
    let p = Project::fixture("webapp");
    p.edit("hoist.toml", "name = \"webapp\"", "name = \"other\"");
    p
}

/// `hoist deploy OTHER` through `agent` (same state dir and proxy).
fn deploy_other(agent: &Agent, other: &Project, extra: &[&str]) -> Output {
    let mut args = vec!["deploy", other.dir_str(), "--driver", "process"];
    args.extend_from_slice(extra);
    agent.hoist(&args).output().expect("deploy runs")
}

/// `deploy PROJECT --driver process EXTRA`.
fn deploy_args<'a>(agent: &'a Agent, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["deploy", agent.project.dir_str(), "--driver", "process"];
    args.extend_from_slice(extra);
    args
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// `hoist status --json` of every app.
fn all_status(agent: &Agent) -> Vec<Value> {
    let stdout = success(&mut agent.hoist(&["status", "--json"]));
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("status JSON ({e}):\n{stdout}"))
}

fn replica_ids(status: &Value) -> Vec<u64> {
    let mut ids: Vec<u64> = status["replicas"]
        .as_array()
        .expect("replicas")
        .iter()
        .map(|r| r["id"].as_u64().expect("replica id"))
        .collect();
    ids.sort_unstable();
    ids
}

/// Asserts `logs` has the start marker of each of `ids` of revision `rev`.
#[track_caller]
fn assert_markers(logs: &str, ids: &[u64], rev: u64) {
    for id in ids {
        let marker = format!("[hoist] replica {id} of revision {rev} started");
        assert!(logs.contains(&marker), "no `{marker}` in:\n{logs}");
    }
}

/// The `hint:` of an error report (empty when there is none).
fn hint_of(stderr: &str) -> &str {
    stderr.find("hint:").map_or("", |at| &stderr[at..])
}

/// The lines of the YAML mapping under the first `key` (e.g. `readinessProbe:`).
fn yaml_block(yaml: &str, key: &str) -> Option<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let at = lines.iter().position(|l| l.trim_start() == key)?;
    let indent = lines[at].len() - lines[at].trim_start().len();
    let block: Vec<&str> = lines[at + 1..]
        .iter()
        .take_while(|l| l.len() - l.trim_start().len() > indent)
        .copied()
        .collect();
    Some(block.join("\n"))
}

/// Every regular file under `root` whose name ends with `suffix`.
fn files_named(root: &Path, suffix: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let ty = entry.file_type().expect("file type");
            if ty.is_dir() {
                dirs.push(entry.path());
            } else if ty.is_file() && entry.file_name().to_string_lossy().ends_with(suffix) {
                found.push(entry.path());
            }
        }
    }
    found
}

/// Asserts `root` and every directory under it have mode `dirs`, every file `files`.
#[track_caller]
fn assert_modes(root: &Path, dirs: u32, files: u32) {
    assert_eq!(mode(root), dirs, "{}", root.display());
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let p = entry.path();
            if entry.file_type().expect("file type").is_dir() {
                assert_eq!(mode(&p), dirs, "{:o}: {}", mode(&p), p.display());
                stack.push(p);
            } else {
                assert_eq!(mode(&p), files, "{:o}: {}", mode(&p), p.display());
            }
        }
    }
}

/// `cmd`, run by `sh` after `umask MASK` (the test process's own umask is left alone).
fn with_umask(mask: &str, cmd: &std::process::Command) -> Command {
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg(format!("umask {mask} && exec \"$@\""))
        .arg("sh")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        sh.current_dir(d);
    }
    let mut cmd = Command::from_std(sh);
    cmd.timeout(Duration::from_mins(3));
    cmd
}
