//! `hoist dockerfile`: the generated Dockerfile builds with dockerd (`docker build` with
//! BuildKit, for its cache mounts) and with `podman build`, once and again after a one-line
//! change, from a Go builder image this test makes from the machine's own Go toolchain (no
//! image can be pulled here), and the image answers on /healthz with the version passed as a
//! build argument, as the nonroot user.

use hoist_test::cli::success;
use hoist_test::engines::Engine;
use hoist_test::http::get_ok;
use hoist_test::names::unique;
use hoist_test::project::Project;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::Hoist as _;

/// Bump when the recipe below changes: it names the cached builder image.
const RECIPE: &str = "1";

/// A `golang`-like builder: the host's GOROOT (without tests, testdata and the sources of the
/// Go commands, which `go build` of an app does not read), a static busybox for the shell
/// steps, the host's CA bundle, /tmp and a HOME. Imported once per engine and Go release.
fn builder_image(engine: &Engine) -> String {
    let go_version = String::from_utf8(
        Command::new("go")
            .args(["env", "GOVERSION"])
            .output()
            .expect("go env")
            .stdout,
    )
    .expect("UTF-8")
    .trim()
    .to_owned();
    let goroot = String::from_utf8(
        Command::new("go")
            .args(["env", "GOROOT"])
            .output()
            .expect("go env")
            .stdout,
    )
    .expect("UTF-8")
    .trim()
    .to_owned();
    let name = engine.local(&format!("hoist-test-gobuilder:{go_version}-r{RECIPE}"));
    let exists = Command::new(&engine.program)
        .args(["image", "inspect", &name])
        .output()
        .expect("inspect")
        .status
        .success();
    if exists {
        return name;
    }
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.exists(),
        "/bin/busybox is missing: scripts/install-test-deps installs busybox-static"
    );
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("root");
    for d in ["bin", "tmp", "root", "etc/ssl/certs", "usr/local"] {
        std::fs::create_dir_all(root.join(d)).expect("mkdir");
    }
    std::fs::copy(busybox, root.join("bin/busybox")).expect("copy busybox");
    for applet in [
        "sh", "mkdir", "cp", "printf", "chmod", "chown", "cat", "ls", "rm",
    ] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).expect("symlink");
    }
    std::fs::copy(
        "/etc/ssl/certs/ca-certificates.crt",
        root.join("etc/ssl/certs/ca-certificates.crt"),
    )
    .expect("copy CA bundle");
    let tarball = tmp.path().join("builder.tar");
    let tar = |args: &[&str]| {
        let out = Command::new("tar").args(args).output().expect("run tar");
        assert!(
            out.status.success(),
            "tar {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let t = tarball.to_str().expect("UTF-8");
    tar(&["-C", root.to_str().expect("UTF-8"), "-cf", t, "."]);
    let (parent, base) = goroot.rsplit_once('/').expect("GOROOT is absolute");
    tar(&[
        "-C",
        if parent.is_empty() { "/" } else { parent },
        "--exclude=*/test",
        "--exclude=*/testdata",
        "--exclude=*_test.go",
        "--exclude=*/src/cmd",
        "--exclude=*/doc",
        "--exclude=*/api",
        "--exclude=*/misc",
        "--transform",
        &format!("s,^{base},./usr/local/go,"),
        "-rf",
        t,
        base,
    ]);
    engine.ok(&[
        "import",
        "--change",
        "ENV PATH=/usr/local/go/bin:/bin",
        "--change",
        "ENV HOME=/root",
        "--change",
        "ENV GOPROXY=off",
        t,
        &name,
    ]);
    name
}

fn dockerfile_builds_and_runs(engine: &Engine) {
    let p = Project::example("hello");
    let dir = p.dir.to_str().expect("UTF-8 path");
    success(&mut p.hoist(&["dockerfile", dir]));
    let text = p.read("Dockerfile");
    for needle in [
        "CGO_ENABLED=0",
        "-trimpath",
        "-s -w -buildid=",
        "USER 65532:65532",
        "EXPOSE 8080/tcp",
        "ENTRYPOINT [\"/app/hello\"]",
        "ca-certificates.crt",
    ] {
        assert!(
            text.contains(needle),
            "the Dockerfile lacks `{needle}`:\n{text}"
        );
    }
    assert!(p.read(".dockerignore").contains(".git"));

    // Go's caches are BuildKit cache mounts, not layers.
    for needle in [
        "RUN --mount=type=cache,target=/go/pkg/mod \\\n    go mod download",
        "--mount=type=cache,target=/root/.cache/go-build",
        "GOMODCACHE=/go/pkg/mod GOCACHE=/root/.cache/go-build",
    ] {
        assert!(
            text.contains(needle),
            "the Dockerfile lacks `{needle}`:\n{text}"
        );
    }

    let builder = builder_image(engine);
    let tag = unique("hoist-dockerfile");
    let build = |version: &str| {
        let image = engine.local(&format!("{tag}:{version}"));
        engine.remove_image_later(&image);
        let version_arg = format!("VERSION={version}");
        let go_image = format!("GO_IMAGE={builder}");
        let mut args = vec!["--build-arg", &version_arg, "--build-arg", "COMMIT=abc123"];
        args.extend(["--build-arg", &go_image, "-t", &image]);
        if engine.name == "podman" {
            args.push("--pull=never");
        }
        args.push(dir);
        engine.build(&args);
        image
    };
    let image = build("v0.3.0");
    let (container, addr) = engine.run_detached(&image);
    assert_eq!(
        get_ok(&addr, "/healthz", Duration::from_mins(1)).trim_end(),
        "ok"
    );
    assert_eq!(
        get_ok(&addr, "/", Duration::from_secs(5)).trim_end(),
        "hello from hoist (version v0.3.0, commit abc123)"
    );
    assert_eq!(engine.process_uid(&container), "65532");

    // A one-line change builds again with the caches of the first build mounted, and the
    // image runs the changed program.
    p.write(
        "main.go",
        &p.read("main.go")
            .replace("hello from hoist", "hello again from hoist"),
    );
    let image = build("v0.3.1");
    let (_, addr) = engine.run_detached(&image);
    assert_eq!(
        get_ok(&addr, "/", Duration::from_mins(1)).trim_end(),
        "hello again from hoist (version v0.3.1, commit abc123)"
    );
}

#[test]
fn docker_builds_the_generated_dockerfile() {
    dockerfile_builds_and_runs(&Engine::docker());
}

#[test]
fn podman_builds_the_generated_dockerfile() {
    dockerfile_builds_and_runs(&Engine::podman());
}
