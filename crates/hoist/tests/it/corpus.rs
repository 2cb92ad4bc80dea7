//! Public Go services nobody here wrote, pinned and fetched through the Go module proxy by
//! `scripts/go-corpus` (cached under ~/.cache/hoist-corpus; nothing committed), each taken from
//! `hoist init` (or no hoist.toml at all) the way a new user would: build, the image runs in
//! podman and answers, a deploy behind the proxy answers, a rolling update under load fails no
//! request, data written before an update is there after it, and the rendered manifests pass
//! Kubernetes' validation. Plus the shapes real repositories have: cgo, and `vendor/`.

use hoist_test::agent::{Agent, Driver};
use hoist_test::cli::{assert_mentions, success};
use hoist_test::engines::Engine;
use hoist_test::http::get_ok;
use hoist_test::http::post;
use hoist_test::load::Load;
use hoist_test::process::text;
use hoist_test::project::Project;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::{HOIST, Hoist as _};

/// A writable copy of the pinned public service `name` (see `scripts/go-corpus list`).
pub(crate) fn corpus(name: &str) -> Project {
    let out = std::process::Command::new(hoist_test::fs::repo_root().join("scripts/go-corpus"))
        .args(["path", name])
        .output()
        .expect("run scripts/go-corpus");
    assert!(
        out.status.success(),
        "scripts/go-corpus path {name} failed (it fetches through the Go module proxy):\n{}",
        text(&out.stderr)
    );
    Project::copy_of(&PathBuf::from(text(&out.stdout).trim()))
}

/// `hoist init [--main PKG]`, then `args` written into `app.args`, as a user edits the file.
fn init_with_args(p: &Project, main: Option<&str>, args: &[&str]) {
    let mut cmd = vec!["init", p.dir_str()];
    if let Some(m) = main {
        cmd.extend(["--main", m]);
    }
    p.hoist(&cmd).assert().success();
    let quoted: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
    p.edit(
        "hoist.toml",
        "args = []",
        &format!("args = [{}]", quoted.join(", ")),
    );
}

/// Builds the image into podman (`--load podman`), runs it with its port (`app.port`)
/// published, and asks `path` for a 200; returns the body.
fn image_answers(p: &Project, name: &str, path: &str, port: u16) -> String {
    let podman = Engine::podman();
    let image = podman.local(&format!("{name}:latest"));
    podman.remove_image_later(&image);
    p.hoist(&["build", p.dir_str(), "--load", "podman"])
        .env("PATH", podman.path_dir(&p.path("bin")))
        .timeout(Duration::from_mins(10))
        .assert()
        .success();
    let (container, addr) = podman.run_detached_on(&image, port);
    let body = get_ok(&addr, path, Duration::from_secs(30));
    podman.ok(&["rm", "-f", &container]);
    body
}

/// A rolling update of a running `app` (its second revision, `extra` args) under load through
/// the proxy at `path`: every request answered 200.
fn update_under_load(agent: &Agent, path: &str, extra: &[&str]) {
    let _turn = hoist_test::load::one_at_a_time();
    let load = Load::start(agent.proxy, path, 4, Duration::from_mins(3), 500_000);
    std::thread::sleep(Duration::from_millis(500));
    let out = agent.deploy_ok(extra);
    std::thread::sleep(Duration::from_millis(500));
    let report = load.finish();
    eprintln!("update under load: {}", report.summary());
    assert!(report.failures().is_empty(), "{}", report.summary());
    assert!(
        report.samples.len() > 100,
        "the load ran through the update: {}",
        report.summary()
    );
    assert!(
        text(&out.stderr).contains("revision 2 serves"),
        "{}",
        text(&out.stderr)
    );
}

/// The manifests `hoist render` writes for the project pass Kubernetes' validation.
fn render_validates(p: &Project) {
    let image = format!("registry.example.com/x/app@sha256:{}", "a".repeat(64));
    let yaml = success(&mut p.hoist(&["render", p.dir_str(), "--image", &image]));
    hoist_test::k8svalidate::validate(&yaml);
}

/// `hoist init [--main PKG]` as it is, and the port and arguments it read from the source.
fn init_as_written(p: &Project, main: Option<&str>, port: u16, args: &str) {
    let mut cmd = vec!["init", p.dir_str()];
    if let Some(m) = main {
        cmd.extend(["--main", m]);
    }
    let out = p.hoist(&cmd).assert().success();
    let stderr = text(&out.get_output().stderr);
    assert_mentions(&stderr, &["found in", "AddFlags"]);
    let toml = p.read("hoist.toml");
    assert!(
        toml.contains(&format!("\nport = {port}\n"))
            && toml.contains(&format!("\nargs = {args}\n")),
        "hoist init did not read where the service listens:\n{toml}"
    );
}

/// prometheus/pushgateway: listens where `--web.listen-address` says (default `:9091`), one
/// main package at the module root; hoist.toml exactly as `hoist init` writes it.
#[test]
fn pushgateway() {
    let p = corpus("pushgateway");
    init_as_written(&p, None, 9091, r#"["--web.listen-address=:$(PORT)"]"#);
    assert!(image_answers(&p, "pushgateway", "/-/healthy", 9091).contains("OK"));
    let agent = Agent::new(HOIST, p, Driver::Process);
    agent.deploy_ok(&["--set", "run.replicas=2"]);
    get_ok(
        &agent.proxy.to_string(),
        "/-/ready",
        Duration::from_secs(10),
    );
    update_under_load(
        &agent,
        "/-/healthy",
        &["--set", "run.replicas=2", "--set", "run.env.GOGC=200"],
    );
    render_validates(&agent.project);
}

/// pushgateway without any hoist.toml: hoist reads where it listens, as `hoist init` would, and
/// a deploy answers through the proxy.
#[test]
fn pushgateway_without_hoist_toml() {
    let p = corpus("pushgateway");
    let agent = Agent::new(HOIST, p, Driver::Process);
    let out = agent.deploy_ok(&[]);
    assert_mentions(
        &text(&out.stderr),
        &["no hoist.toml", "--web.listen-address=:$(PORT)"],
    );
    assert!(
        get_ok(
            &agent.proxy.to_string(),
            "/-/healthy",
            Duration::from_secs(10)
        )
        .contains("OK")
    );
}

/// prometheus/node_exporter: two main packages (the exporter and a tool); `hoist init --main .`
/// picks the exporter.
#[test]
fn node_exporter() {
    let p = corpus("node_exporter");
    let stderr = hoist_test::cli::failure(&mut p.hoist(&["init", p.dir_str()]));
    assert_mentions(&stderr, &["several main packages", "./tools"]);
    init_as_written(&p, Some("."), 9100, r#"["--web.listen-address=:$(PORT)"]"#);
    assert!(image_answers(&p, "node-exporter", "/metrics", 9100).contains("node_"));
    let agent = Agent::new(HOIST, p, Driver::Process);
    agent.deploy_ok(&["--set", "run.replicas=2"]);
    update_under_load(
        &agent,
        "/",
        &["--set", "run.replicas=2", "--set", "run.env.GOGC=200"],
    );
    render_validates(&agent.project);
}

/// pocketbase (its program is `examples/base`): a SQLite database next to its binary, in
/// `pb_data`. With `run.state` there, a user created before an update can sign in after it.
#[test]
fn pocketbase_keeps_its_data_across_an_update() {
    pocketbase(Driver::Process);
}

/// The same in containers (podman's service): the state is a named volume, writable by the
/// image's nonroot user because the image has the directory as that user's.
#[test]
fn pocketbase_in_containers_keeps_its_data_across_an_update() {
    hoist_test::agent::require(Driver::Podman);
    pocketbase(Driver::Podman);
}

fn pocketbase(driver: Driver) {
    let p = corpus("pocketbase");
    init_with_args(
        &p,
        Some("./examples/base"),
        &["serve", "--http=0.0.0.0:$(PORT)"],
    );
    p.edit(
        "hoist.toml",
        "# state = \"/data\"",
        "state = \"/app/pb_data\"",
    );
    if driver == Driver::Process {
        assert!(image_answers(&p, "base", "/api/health", 8080).contains("healthy"));
    }
    let agent = Agent::new(HOIST, p, driver);
    agent.deploy_ok(&[]);
    let proxy = agent.proxy.to_string();
    let user = r#"{"email":"ada@example.com","password":"correct-horse-9","passwordConfirm":"correct-horse-9"}"#;
    let created = post(&proxy, "/api/collections/users/records", user).expect("POST");
    assert_eq!(created.status, 200, "{created:?}");
    // One writer: the old replica stops before the new one starts; requests wait meanwhile.
    let load = Load::start(
        agent.proxy,
        "/api/health",
        2,
        Duration::from_mins(3),
        100_000,
    );
    std::thread::sleep(Duration::from_millis(300));
    let out = agent.deploy_ok(&["--set", "run.env.PB_TEST_REVISION=2"]);
    std::thread::sleep(Duration::from_millis(300));
    let report = load.finish();
    eprintln!("recreate under load: {}", report.summary());
    assert!(report.failures().is_empty(), "{}", report.summary());
    let stderr = text(&out.stderr);
    assert_mentions(&stderr, &["revision 2 serves", "no replica was ready for"]);
    let login = r#"{"identity":"ada@example.com","password":"correct-horse-9"}"#;
    let signed_in = post(&proxy, "/api/collections/users/auth-with-password", login).expect("POST");
    assert!(
        signed_in.status == 200 && signed_in.body.contains("ada@example.com"),
        "the user made before the update is there after it:\n{signed_in:?}"
    );
    if driver == Driver::Podman {
        // The volume outlives the app (as data should); the test's is removed.
        agent.hoist(&["stop", "base"]).assert().success();
        let id = std::fs::read_to_string(agent.state_dir().join("agent-id")).unwrap();
        Engine::podman().ok(&[
            "volume",
            "rm",
            "-f",
            &format!("hoist-{}-base-state", &id.trim()[..8]),
        ]);
    }
    if driver == Driver::Process {
        // The data is in the agent's state directory, in the app's own tree.
        let data = agent.state_dir().join("data/base/app/pb_data/data.db");
        assert!(data.is_file(), "{} is missing", data.display());
        render_validates(&agent.project);
    }
}

/// A program on github.com/mattn/go-sqlite3: refused without `build.cgo` (naming the package),
/// built with it, and its image (glibc and the loader put in by hoist) answers in podman.
#[test]
fn cgo_program() {
    let p = Project::fixture("sqlitenotes");
    p.hoist(&["init", p.dir_str()]).assert().success();
    let stderr = hoist_test::cli::failure(&mut p.hoist(&["build", p.dir_str()]));
    assert_mentions(
        &stderr,
        &["needs cgo", "github.com/mattn/go-sqlite3", "cgo = true"],
    );
    p.edit(
        "hoist.toml",
        "commit_var = \"main.commit\"",
        "commit_var = \"main.commit\"\ncgo = true",
    );
    let two = hoist_test::cli::config_failure(&mut p.hoist(&[
        "build",
        p.dir_str(),
        "--set",
        "build.platforms=[\"linux/amd64\", \"linux/arm64\"]",
    ]));
    assert_mentions(&two, &["build.cgo", "one platform"]);
    let body = image_answers(&p, "sqlitenotes", "/healthz", 8080);
    assert!(body.contains("ok"), "{body}");
    let agent = Agent::new(HOIST, p, Driver::Process);
    agent.deploy_ok(&[]);
    let proxy = agent.proxy.to_string();
    assert_eq!(
        post(&proxy, "/notes", "from the test")
            .expect("POST")
            .status,
        201
    );
    assert!(get_ok(&proxy, "/notes", Duration::from_secs(5)).contains("from the test"));
    // It wrote `notes.db` in its working directory: the app's own, never the agent's.
    let db = agent.state_dir().join("work/sqlitenotes/notes.db");
    assert!(db.is_file(), "{} is missing", db.display());
}

/// pushgateway with its dependencies vendored (`go mod vendor`): built from `vendor/` as `go`
/// does by default, nothing fetched.
#[test]
fn vendored_dependencies() {
    let p = corpus("pushgateway");
    let vendor = std::process::Command::new("go")
        .args(["mod", "vendor"])
        .current_dir(&p.dir)
        .output()
        .expect("go mod vendor");
    assert!(vendor.status.success(), "{}", text(&vendor.stderr));
    let started = Instant::now();
    let out = p
        .hoist(&["build", p.dir_str(), "--json"])
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=vendor")
        .timeout(Duration::from_mins(10))
        .output()
        .expect("hoist build");
    assert!(
        out.status.success(),
        "a vendored module builds offline:\n{}",
        text(&out.stderr)
    );
    eprintln!("vendored build took {:?}", started.elapsed());
}

/// A `go.work` workspace: pushgateway beside a small module of ours. At the workspace root
/// (no module of its own) hoist lists the programs of every module; `hoist init --main` there
/// builds one of them, and the image runs it.
#[test]
fn workspace_root() {
    let ws = Project::empty();
    let gateway = corpus("pushgateway");
    let copy = std::process::Command::new("cp")
        .args(["-R"])
        .arg(&gateway.dir)
        .arg(ws.dir.join("pushgateway"))
        .status()
        .unwrap();
    assert!(copy.success());
    ws.write("greeter/go.mod", "module example.com/greeter\n\ngo 1.22\n");
    ws.write(
        "greeter/main.go",
        "// Command greeter answers hello on $PORT.\npackage main\n\nimport (\n\t\"net/http\"\n\t\"os\"\n)\n\nfunc main() {\n\thttp.HandleFunc(\"/\", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(\"hello from the workspace\\n\")) })\n\tpanic(http.ListenAndServe(\":\"+os.Getenv(\"PORT\"), nil))\n}\n",
    );
    let work = std::process::Command::new("go")
        .args(["work", "init", "./pushgateway", "./greeter"])
        .current_dir(&ws.dir)
        .output()
        .unwrap();
    assert!(work.status.success(), "{}", text(&work.stderr));

    let several = hoist_test::cli::failure(&mut ws.hoist(&["build", ws.dir_str()]));
    assert_mentions(
        &several,
        &["several main packages", "./greeter", "./pushgateway"],
    );
    ws.hoist(&["init", ws.dir_str(), "--main", "./greeter"])
        .assert()
        .success();
    assert!(ws.read("hoist.toml").contains("name = \"greeter\""));
    let body = image_answers(&ws, "greeter", "/", 8080);
    assert!(body.contains("hello from the workspace"), "{body}");
}
