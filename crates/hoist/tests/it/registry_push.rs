//! `hoist build --push`, `hoist push`, `pull` and `inspect` against a real `docker-registry`,
//! checked with the tools users have: skopeo, podman and docker pull and run what hoist pushed.

use hoist_test::cli::json;
use hoist_test::cli::success;
use hoist_test::engines::Engine;
use hoist_test::git::{commit_all, git};
use hoist_test::http::get_ok;
use hoist_test::names::unique;
use hoist_test::project::Project;
use hoist_test::registry::Registry;
use hoist_test::skopeo::skopeo;
use std::time::Duration;

use crate::Hoist as _;

#[test]
fn build_push_then_skopeo_podman_and_docker_pull_and_run_it() {
    let reg = Registry::plain();
    let p = Project::example("hello");
    commit_all(&p.dir, "hello");
    git(&p.dir, &["tag", "v1.2.3"]);
    let repo = format!("{}/web/hello", reg.addr);
    let dir = p.dir.to_str().unwrap();

    let out = json(&success(&mut p.hoist(&[
        "build",
        dir,
        "--platform",
        "linux/amd64",
        "--push",
        "--repository",
        &repo,
        "--tag",
        "ci",
        "--json",
    ])));
    let push = &out["push"];
    let digest = push["digest"].as_str().unwrap().to_owned();
    let pinned = format!("{repo}@{digest}");
    assert_eq!(push["reference"], pinned.as_str());
    assert_eq!(reg.tags("web/hello"), {
        let commit = git(&p.dir, &["rev-parse", "HEAD"]);
        let mut t = vec![
            "ci".to_owned(),
            "latest".into(),
            format!("sha-{}", &commit[..12]),
            "v1".into(),
            "v1.2".into(),
            "v1.2.3".into(),
        ];
        t.sort();
        t
    });
    assert_eq!(push["blobs_uploaded"], 3, "{push:#}");

    // skopeo reads it back by tag and by digest.
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{repo}:v1.2.3"),
    ]);
    assert_eq!(
        raw["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    let inspect = skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{pinned}"),
    ]);
    assert_eq!(inspect["Digest"], digest.as_str());

    // podman pulls it over plain http, runs it, and it answers.
    let podman = Engine::podman();
    podman.remove_image_later(&pinned);
    podman.ok(&["pull", "--tls-verify=false", &pinned]);
    let (_, addr) = podman.run_detached(&pinned);
    let body = get_ok(&addr, "/", Duration::from_secs(20));
    assert!(!body.is_empty());

    // docker treats 127.0.0.0/8 as insecure and pulls it too.
    let docker = Engine::docker();
    docker.remove_image_later(&pinned);
    docker.ok(&["pull", &pinned]);
    let id = docker.ok(&["image", "inspect", "--format", "{{.Id}}", &pinned]);
    assert_eq!(id, out["platforms"][0]["image"]["config"].as_str().unwrap());

    // A second push uploads nothing: hoist's counters and the registry's log agree.
    let offset = reg.log_end();
    let again = json(&success(&mut p.hoist(&[
        "build",
        dir,
        "--platform",
        "linux/amd64",
        "--push",
        "--repository",
        &repo,
        "--json",
    ])));
    assert_eq!(again["push"]["bytes_uploaded"], 0, "{:#}", again["push"]);
    assert_eq!(again["push"]["blobs_uploaded"], 0);
    assert_eq!(again["push"]["blobs_skipped"], 3);
    assert!(
        reg.requests_since(offset, "/blobs/uploads").is_empty(),
        "the registry saw uploads: {:?}",
        reg.requests_since(offset, "/blobs/uploads")
    );

    // pull and inspect read it back.
    let layout = p.path("pulled");
    let pulled = success(&mut p.hoist(&[
        "pull",
        &format!("{repo}:v1.2.3"),
        "--output",
        &format!("oci:{}", layout.display()),
    ]));
    assert_eq!(pulled.trim(), digest);
    assert!(layout.join("index.json").is_file());
    let info = json(&success(&mut p.hoist(&[
        "inspect",
        &format!("{repo}:latest"),
        "--json",
    ])));
    assert_eq!(info["digest"], digest.as_str());
    assert_eq!(info["images"][0]["platform"], "linux/amd64");
    assert_eq!(info["images"][0]["config"]["Entrypoint"][0], "/app/hello");
    let text = success(&mut p.hoist(&["inspect", &format!("{repo}:latest")]));
    assert!(
        text.contains("platform:   linux/amd64") && text.contains("layers"),
        "{text}"
    );
}

#[test]
fn multi_platform_push_is_an_index_and_podman_pulls_arm64() {
    let reg = Registry::plain();
    let p = Project::example("hello");
    let repo = format!("{}/multi", reg.addr);
    let layout = p.path("layout");
    let dir = p.dir.to_str().unwrap();
    success(&mut p.hoist(&[
        "build",
        dir,
        "--output",
        &format!("oci:{}", layout.display()),
    ]));

    // `hoist push DIR` of the layout (no git here: only --tag).
    let pinned = success(&mut p.hoist(&[
        "push",
        layout.to_str().unwrap(),
        "-C",
        dir,
        "--repository",
        &repo,
        "--tag",
        "v1",
    ]));
    let pinned = pinned.trim();
    assert!(pinned.starts_with(&format!("{repo}@sha256:")), "{pinned}");
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{repo}:v1"),
    ]);
    assert_eq!(raw["mediaType"], "application/vnd.oci.image.index.v1+json");
    let arches: Vec<&str> = raw["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(arches, ["amd64", "arm64"]);

    let podman = Engine::podman();
    let name = unique("hoist-arm64");
    podman.remove_image_later(&name);
    podman.ok(&["pull", "--tls-verify=false", "--arch", "arm64", pinned]);
    podman.ok(&["tag", pinned, &name]);
    podman.remove_image_later(pinned);
    assert_eq!(
        podman.ok(&["image", "inspect", "--format", "{{.Architecture}}", pinned]),
        "arm64"
    );

    // The same image to a second repository of the registry: mounted, not uploaded.
    let other = format!("{}/multi-copy", reg.addr);
    let out = json(&success(&mut p.hoist(&[
        "push",
        layout.to_str().unwrap(),
        "-C",
        dir,
        "--repository",
        &other,
        "--json",
    ])));
    assert_eq!(out["bytes_uploaded"], 0, "{out:#}");
    assert!(out["blobs_mounted"].as_u64().unwrap() >= 3, "{out:#}");
}
