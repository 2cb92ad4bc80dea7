//! `hoist build` with bad input: each fails with exit code 1, a message that says what is wrong
//! (and often what to do), and writes nothing where `--output` points.

use hoist_test::cli::{assert_mentions, config_spot};
use hoist_test::project::Project;
use std::path::{Path, PathBuf};

use crate::Hoist as _;

/// `hoist build DIR --output oci:OUT ARGS`, which must fail and leave OUT absent; returns stderr.
fn build_fails(p: &Project, args: &[&str]) -> String {
    build_fails_to(p, &format!("oci:{}", p.path("out").display()), args)
}

/// `hoist build DIR --output oci:…` of an invalid configuration: exit 2, nothing written.
fn config_fails(p: &Project) -> String {
    let output = format!("oci:{}", p.path("out").display());
    let mut cmd = p.hoist(&[
        "build",
        p.dir.to_str().expect("UTF-8 path"),
        "--output",
        &output,
    ]);
    failure_writes_nothing_with(&mut cmd, &output, 2)
}

/// `hoist build DIR --output OUTPUT ARGS`, which must fail and write nothing at OUTPUT's path.
fn build_fails_to(p: &Project, output: &str, args: &[&str]) -> String {
    let mut cmd = p.hoist(&[
        "build",
        p.dir.to_str().expect("UTF-8 path"),
        "--output",
        output,
    ]);
    cmd.args(args);
    failure_writes_nothing(&mut cmd, output)
}

fn failure_writes_nothing(cmd: &mut assert_cmd::Command, output: &str) -> String {
    failure_writes_nothing_with(cmd, output, 1)
}

/// [`failure_writes_nothing`] with exit code `code` (2: the configuration is invalid).
fn failure_writes_nothing_with(cmd: &mut assert_cmd::Command, output: &str, code: i32) -> String {
    let stderr = hoist_test::cli::failure_with(cmd, code);
    let out = Path::new(output.split_once(':').expect("KIND:PATH").1);
    assert!(
        !out.exists(),
        "a failed build wrote `{}`:\n{stderr}",
        out.display()
    );
    stderr
}

#[test]
fn not_a_go_module() {
    let p = Project::example("hello");
    std::fs::remove_file(p.dir.join("go.mod")).expect("remove go.mod");

    let stderr = build_fails(&p, &[]);

    assert_mentions(&stderr, &["is not inside a Go module", "go mod init"]);
}

#[test]
fn main_package_is_a_library() {
    let p = Project::example("hello");
    p.write("lib/lib.go", "// Package lib is a library.\npackage lib\n\n// One is one.\nfunc One() int { return 1 }\n");
    p.edit("hoist.toml", "main = \".\"", "main = \"./lib\"");

    let stderr = build_fails(&p, &["--env", "dev"]);

    assert_mentions(&stderr, &["./lib", "main package"]);
}

#[test]
fn go_is_not_installed() {
    let p = Project::example("hello");
    let bin = p.path("bin-without-go");
    std::fs::create_dir(&bin).expect("create bin dir");
    std::os::unix::fs::symlink(which("git"), bin.join("git")).expect("symlink git");

    let output = format!("oci:{}", p.path("out").display());
    let mut cmd = p.hoist(&[
        "build",
        p.dir.to_str().expect("UTF-8 path"),
        "--env",
        "dev",
        "--output",
        &output,
    ]);

    let stderr = failure_writes_nothing(cmd.env("PATH", &bin), &output);

    assert_mentions(&stderr, &["the `go` command was not found", "install Go"]);
}

fn which(program: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").expect("PATH is set"))
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{program}` is not on PATH"))
}

#[test]
fn compile_error_shows_the_compiler_output() {
    let p = Project::example("hello");
    p.edit(
        "main.go",
        "port := os.Getenv(\"PORT\")",
        "port := os.Getenv(\"PORT\") + nosuchthing",
    );

    let stderr = build_fails(&p, &["--env", "dev"]);

    assert_mentions(&stderr, &["undefined: nosuchthing"]);
}

#[test]
fn unknown_platform_flag() {
    let p = Project::example("hello");

    let stderr = build_fails(&p, &["--platform", "linux/amd46"]);

    assert_mentions(&stderr, &["unknown architecture `amd46`"]);
}

#[test]
fn unknown_platform_in_hoist_toml_points_at_it() {
    let p = Project::example("hello");
    p.edit("hoist.toml", "\"linux/arm64\"]", "\"linux/amd46\"]");
    let text = p.read("hoist.toml");
    let (line, col) = text
        .lines()
        .enumerate()
        .find_map(|(i, l)| l.find("\"linux/amd46\"").map(|c| (i + 1, c + 1)))
        .expect("the edit is in hoist.toml");

    let stderr = config_fails(&p);

    assert_mentions(&stderr, &["unknown architecture `amd46`"]);
    assert_eq!(
        config_spot(&stderr),
        (line, col),
        "not the spot of `\"linux/amd46\"`:\n{stderr}"
    );
}

#[test]
fn unwritable_output() {
    let p = Project::example("hello");
    let stderr = build_fails_to(&p, "oci:/proc/hoist-out", &["--env", "dev"]);

    assert_mentions(&stderr, &["/proc/hoist-out", "not writable"]);
}

#[test]
fn output_in_a_missing_directory() {
    let p = Project::example("hello");
    let oci = p.path("missing/out");
    let archive = p.path("missing/hello.tar");

    let stderr = build_fails_to(&p, &format!("oci:{}", oci.display()), &["--env", "dev"]);
    assert_mentions(&stderr, &["does not exist"]);
    let stderr = build_fails_to(
        &p,
        &format!("docker-archive:{}", archive.display()),
        &["--env", "dev"],
    );
    assert_mentions(&stderr, &["does not exist"]);
    assert!(
        !p.path("missing").exists(),
        "a failed build created the missing directory"
    );
}

#[test]
fn malformed_hoist_toml_points_at_the_value() {
    let p = Project::example("hello");
    p.edit("hoist.toml", "replicas = 3", "replicas = \"three\"");
    let line = p
        .read("hoist.toml")
        .lines()
        .position(|l| l.contains("\"three\""))
        .expect("edited")
        + 1;

    let stderr = config_fails(&p);

    assert_eq!(
        config_spot(&stderr).0,
        line,
        "not the line of `replicas = \"three\"`:\n{stderr}"
    );
}

#[test]
fn no_hoist_toml_builds_what_the_module_says_and_says_so() {
    let p = Project::example("hello");
    std::fs::remove_file(p.dir.join("hoist.toml")).expect("remove hoist.toml");
    let output = format!("oci:{}", p.path("out").display());

    let out = p
        .hoist(&[
            "build",
            p.dir.to_str().expect("UTF-8 path"),
            "--output",
            &output,
        ])
        .assert()
        .success()
        .get_output()
        .clone();

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_mentions(
        &stderr,
        &[
            "no hoist.toml: building `.`",
            "as app `hello`",
            "`hoist init`",
        ],
    );
    assert!(p.path("out").join("index.json").is_file(), "{stderr}");
}
