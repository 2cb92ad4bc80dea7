//! `hoist deploy --target kubernetes` without `--image`: it builds the Go service, pushes the
//! image to a real registry (Debian's docker-registry) and deploys exactly what it pushed.

use hoist_test::git::commit_all;
use hoist_test::kube::{Namespace, get};
use hoist_test::project::Project;
use hoist_test::registry::Registry;
use serde_json::Value;

use crate::Hoist as _;

#[test]
fn deploy_builds_pushes_and_runs_the_pushed_digest() {
    let reg = Registry::plain();
    let ns = Namespace::new("kube-build");
    let p = Project::example("hello");
    commit_all(&p.dir, "hello");
    let repo = format!("{}/web/hello", reg.addr);
    let dir = p.dir.to_str().unwrap();
    let out = p
        .hoist_kube(
            &hoist_test::kube::kubeconfig(),
            &[
                "deploy",
                dir,
                "--env",
                "dev",
                "--target",
                "kubernetes",
                "-n",
                &ns.0,
                "--json",
            ],
        )
        .env("HOIST_IMAGE_REPOSITORY", &repo)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pinned = report["image"].as_str().unwrap();
    assert!(pinned.starts_with(&format!("{repo}@sha256:")), "{pinned}");
    // What the registry has under the tag is what the Deployment runs.
    let digest = pinned.split_once('@').unwrap().1;
    let tags = reg.tags("web/hello");
    assert!(tags.iter().any(|t| t == "latest"), "{tags:?}");
    let tagged = hoist_test::process::run(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            "--format",
            "{{.Digest}}",
            &format!("docker://{repo}:latest"),
        ],
    );
    assert_eq!(tagged.trim(), digest);
    let d = get(&ns.0, "deployment", "hello");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        pinned
    );
    assert_eq!(d["status"]["readyReplicas"], 1);
    assert!(stderr.contains("pushed"), "{stderr}");
}

/// A cluster that does not answer is found out before the build: nothing is pushed, no tag
/// moves, and the error says nothing was built or pushed.
#[test]
fn an_unreachable_cluster_stops_the_deploy_before_anything_is_pushed() {
    let reg = Registry::plain();
    let p = Project::example("hello");
    commit_all(&p.dir, "hello");
    let repo = format!("{}/web/hello", reg.addr);
    let (dead, _) = hoist_test::kube::unreachable_kubeconfig(&p.path(""));
    let out = p
        .hoist_kube(
            &dead,
            &[
                "deploy",
                p.dir_str(),
                "--env",
                "dev",
                "--target",
                "kubernetes",
            ],
        )
        .env("HOIST_IMAGE_REPOSITORY", &repo)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nothing was built or pushed"), "{stderr}");
    assert!(!stderr.contains("go build"), "it did not build: {stderr}");
    assert!(reg.tags("web/hello").is_empty(), "no tag was written");
}
