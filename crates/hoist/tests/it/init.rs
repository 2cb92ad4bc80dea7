//! `hoist init`: a hoist.toml for an existing Go module, or a clear refusal.

use hoist_test::cli::{assert_mentions, failure, success};
use hoist_test::project::Project;

use crate::Hoist as _;

const MAIN_GO: &str = "package main\n\nfunc main() {}\n";
const LIB_GO: &str =
    "// Package lib is a library.\npackage lib\n\n// One is one.\nfunc One() int { return 1 }\n";

fn module(path: &str) -> Project {
    let p = Project::empty();
    p.write("go.mod", &format!("module {path}\n\ngo 1.22\n"));
    p
}

/// `hoist config DIR`, which must succeed.
fn config(p: &Project) -> String {
    success(&mut p.hoist(&["config", p.dir_str()]))
}

#[test]
fn writes_a_config_that_loads_and_builds() {
    let p = module("example.com/greeter");
    p.write("main.go", MAIN_GO);

    success(&mut p.hoist(&["init", p.dir_str()]));

    assert!(
        p.dir.join("hoist.toml").is_file(),
        "init wrote no hoist.toml"
    );
    let shown = config(&p);
    assert!(shown.contains("name = \"greeter\""), "config:\n{shown}");
    assert!(shown.contains("main = \".\""), "config:\n{shown}");
    let stdout = success(&mut p.hoist(&["build", p.dir_str(), "--platform", "linux/amd64"]));
    hoist_test::cli::digest_line(&stdout);
}

#[test]
fn several_main_packages_are_listed() {
    let p = module("example.com/tools");
    p.write("cmd/a/main.go", MAIN_GO);
    p.write("cmd/b/main.go", MAIN_GO);

    let stderr = failure(&mut p.hoist(&["init", p.dir_str()]));

    assert_mentions(&stderr, &["./cmd/a, ./cmd/b", "--main"]);
    assert!(
        !p.dir.join("hoist.toml").exists(),
        "a failed init wrote hoist.toml"
    );
}

#[test]
fn main_flag_picks_one_of_several() {
    let p = module("example.com/tools");
    p.write("cmd/a/main.go", MAIN_GO);
    p.write("cmd/b/main.go", MAIN_GO);

    success(&mut p.hoist(&["init", p.dir_str(), "--main", "./cmd/b"]));

    let shown = config(&p);
    assert!(shown.contains("name = \"b\""), "config:\n{shown}");
    assert!(shown.contains("main = \"./cmd/b\""), "config:\n{shown}");
}

#[test]
fn example_with_third_party_modules() {
    let p = Project::example("ids");
    std::fs::remove_file(p.dir.join("hoist.toml")).expect("remove hoist.toml");

    success(&mut p.hoist(&["init", p.dir_str()]));

    let shown = config(&p);
    assert!(shown.contains("name = \"ids\""), "config:\n{shown}");
    assert!(shown.contains("main = \"./cmd/ids\""), "config:\n{shown}");
}

#[test]
fn never_overwrites_hoist_toml() {
    let p = module("example.com/greeter");
    p.write("main.go", MAIN_GO);
    p.write("hoist.toml", "# mine\n");

    let stderr = failure(&mut p.hoist(&["init", p.dir_str()]));

    assert_mentions(&stderr, &["already exists"]);
    assert_eq!(
        p.read("hoist.toml"),
        "# mine\n",
        "init changed an existing hoist.toml"
    );
}

#[test]
fn not_a_go_module() {
    let p = Project::empty();
    p.write("main.go", MAIN_GO);

    let stderr = failure(&mut p.hoist(&["init", p.dir_str()]));

    assert_mentions(&stderr, &["is not inside a Go module", "go mod init"]);
    assert!(
        !p.dir.join("hoist.toml").exists(),
        "a failed init wrote hoist.toml"
    );
}

#[test]
fn module_without_a_main_package() {
    let p = module("example.com/lib");
    p.write("lib.go", LIB_GO);

    let stderr = failure(&mut p.hoist(&["init", p.dir_str()]));

    assert_mentions(&stderr, &["no main package"]);
    assert!(
        !p.dir.join("hoist.toml").exists(),
        "a failed init wrote hoist.toml"
    );
}
