//! `hoist tags`: the tag policy's answer for a real git checkout in each state CI meets (the
//! default branch, a feature branch, a detached version tag, a pre-release, a dirty tree, no
//! git at all), in lines and in `--json`, and the same answer `hoist build --push` acts on.

use hoist_test::cli::success;
use hoist_test::git::{commit_all, git};
use hoist_test::project::Project;
use serde_json::Value;

use crate::Hoist as _;

fn tags(p: &Project) -> Vec<String> {
    success(p.hoist(&["tags"]).current_dir(&p.dir))
        .lines()
        .map(str::to_owned)
        .collect()
}

fn json(p: &Project, extra: &[&str]) -> Value {
    let mut args = vec!["tags", "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&success(p.hoist(&args).current_dir(&p.dir))).unwrap()
}

#[test]
fn each_checkout_state_gets_the_policys_tags() {
    let p = Project::example("hello");
    let commit = commit_all(&p.dir, "one");
    let sha = format!("sha-{}", &commit[..12]);

    // The default branch, clean: latest and the sha.
    assert_eq!(tags(&p), ["latest", sha.as_str()]);

    // A semver tag on HEAD (CI checks tags out detached): the three version tags too; no
    // `latest` off the default branch.
    git(&p.dir, &["tag", "v1.2.3"]);
    git(&p.dir, &["checkout", "-q", "--detach", "v1.2.3"]);
    assert_eq!(tags(&p), [sha.as_str(), "v1.2.3", "v1.2", "v1"]);

    // A pre-release gets only its own tag.
    git(&p.dir, &["checkout", "-q", "main"]);
    std::fs::write(p.dir.join("NOTES"), "rc\n").unwrap();
    let rc = commit_all(&p.dir, "two");
    git(&p.dir, &["tag", "v2.0.0-rc.1"]);
    git(&p.dir, &["checkout", "-q", "-b", "feature"]);
    let rc_sha = format!("sha-{}", &rc[..12]);
    assert_eq!(tags(&p), [rc_sha.as_str(), "v2.0.0-rc.1"]);

    // A dirty tree: nothing but its sha, marked.
    std::fs::write(p.dir.join("main.go"), "package main\n\nfunc main() {}\n").unwrap();
    assert_eq!(tags(&p), [format!("{rc_sha}-dirty")]);
    let j = json(&p, &[]);
    assert_eq!(j["checkout"]["dirty"], true);
    assert_eq!(j["checkout"]["branch"], "feature");
    assert_eq!(j["checkout"]["default_branch"], "main");
    assert_eq!(j["checkout"]["git_tags"][0], "v2.0.0-rc.1");
}

#[test]
fn image_tags_in_hoist_toml_and_extra_tags_decide() {
    let p = Project::example("hello");
    p.edit(
        "hoist.toml",
        "[run]\n",
        "[image]\nrepository = \"registry.example.com/team/hello\"\ntags = [\"sha\"]\n\n[run]\n",
    );
    let commit = commit_all(&p.dir, "one");
    let sha = format!("sha-{}", &commit[..12]);
    assert_eq!(tags(&p), [sha.as_str()]);
    let j = json(&p, &["--tag", "stable"]);
    assert_eq!(j["tags"], serde_json::json!([sha, "stable"]));
    assert_eq!(j["repository"], "registry.example.com/team/hello");
    assert_eq!(j["references"][1], "registry.example.com/team/hello:stable");
    // An invalid extra tag is refused, naming it.
    let out = p
        .hoist(&["tags", "--tag", "no/slash"])
        .current_dir(&p.dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`no/slash`"));
}

#[test]
fn outside_git_no_tag_and_why() {
    let p = Project::example("hello");
    let out = p.hoist(&["tags"]).current_dir(&p.dir).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a git checkout"), "{stderr}");
    let j = json(&p, &[]);
    assert_eq!(j["tags"], serde_json::json!([]));
    assert!(j["untagged"].as_str().unwrap().contains("--tag NAME"));
    assert_eq!(j["checkout"], Value::Null);
}
