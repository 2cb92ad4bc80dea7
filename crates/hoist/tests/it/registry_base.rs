//! `build.base = "<registry>/<repo>:<tag>"` against a real `docker-registry`: a base pushed by
//! hoist itself (the certcheck fixture), then examples/hello built on it. The image keeps the
//! base's layers byte for byte, runs in podman, a second build fetches no blob, a push to the
//! same registry mounts the base's layers, and wrong bases fail clearly.

use std::time::Duration;

use hoist_test::cli::json;
use hoist_test::cli::{assert_mentions, failure, success};
use hoist_test::engines::Engine;
use hoist_test::http::get_ok;
use hoist_test::layout::Layout;
use hoist_test::project::Project;
use hoist_test::registry::Registry;

use crate::Hoist as _;

/// Pushes the certcheck fixture for `platforms` to `REGISTRY/base:TAG`; returns per platform
/// its layer digests, bottom first.
fn push_base(reg: &Registry, tag: &str, platforms: &[&str]) -> Vec<(String, Vec<String>)> {
    let base = Project::fixture("certcheck");
    let dir = base.dir.to_str().unwrap();
    let repo = format!("{}/base", reg.addr);
    let mut args = vec!["build", dir, "--push", "--repository", &repo, "--tag", tag];
    for p in platforms {
        args.extend(["--platform", p]);
    }
    args.push("--json");
    let out = json(&success(&mut base.hoist(&args)));
    out["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let layers = p["image"]["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["digest"].as_str().unwrap().to_owned())
                .collect();
            (p["platform"].as_str().unwrap().to_owned(), layers)
        })
        .collect()
}

/// examples/hello with `build.base` set to `base`.
fn hello_on(base: &str) -> Project {
    let p = Project::example("hello");
    p.edit(
        "hoist.toml",
        "base = \"static\"",
        &format!("base = \"{base}\""),
    );
    p
}

fn layer_digests(image: &hoist_test::layout::Image) -> Vec<String> {
    image.manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn hello_on_a_multi_platform_registry_base_runs_and_reuses_its_layers() {
    let reg = Registry::plain();
    let base = push_base(&reg, "1", &["linux/amd64", "linux/arm64"]);
    let p = hello_on(&format!("{}/base:1", reg.addr));
    let dir = p.dir.to_str().unwrap();
    let layout = p.path("layout");
    let out = json(&success(&mut p.hoist(&[
        "build",
        dir,
        "--output",
        &format!("oci:{}", layout.display()),
        "--json",
    ])));

    // Each platform's image starts with exactly that platform's base layers, then hello's.
    let layout = Layout(layout);
    for (platform, base_layers) in &base {
        let image = layout.image(platform);
        let layers = layer_digests(&image);
        assert_eq!(layers.len(), base_layers.len() + 1, "{platform}");
        assert_eq!(
            &layers[..base_layers.len()],
            base_layers.as_slice(),
            "{platform}"
        );
        let files = layout.files(&image);
        assert!(
            files.contains_key("app/certcheck"),
            "the base's files are there"
        );
        assert!(files.contains_key("app/hello"));
        assert_eq!(image.config["config"]["Entrypoint"][0], "/app/hello");
        assert_eq!(image.config["config"]["User"], "65532:65532");
        assert_eq!(
            image.config["config"]["ExposedPorts"],
            serde_json::json!({"8080/tcp": {}})
        );
        assert_eq!(
            image.config["rootfs"]["diff_ids"].as_array().unwrap().len(),
            layers.len()
        );
        assert_eq!(
            image.config["history"].as_array().unwrap().len(),
            layers.len()
        );
    }

    // A second build resolves the tag again (one manifest request) and fetches no blob; same
    // base digest and binary, same image.
    let offset = reg.log_end();
    let again = json(&success(&mut p.hoist(&["build", dir, "--json"])));
    assert_eq!(again["digest"], out["digest"]);
    assert!(
        reg.requests_since(offset, "/blobs/").is_empty(),
        "the second build fetched blobs: {:?}",
        reg.requests_since(offset, "/blobs/")
    );
    let manifests = reg.requests_since(offset, "/manifests/");
    assert_eq!(manifests.len(), 1, "{manifests:?}");

    // Pushed to the same registry: the base's layers are mounted, never uploaded again.
    let offset = reg.log_end();
    let repo = format!("{}/hello", reg.addr);
    let pushed = json(&success(&mut p.hoist(&[
        "build",
        dir,
        "--push",
        "--repository",
        &repo,
        "--tag",
        "v1",
        "--json",
    ])));
    let push = &pushed["push"];
    let mut unique_base: Vec<&String> = base.iter().flat_map(|(_, l)| l).collect();
    unique_base.sort();
    unique_base.dedup();
    assert_eq!(push["blobs_mounted"], unique_base.len(), "{push:#}");
    // Ours alone go up: one app layer and one config per platform.
    assert_eq!(push["blobs_uploaded"], 4, "{push:#}");
    for d in &unique_base {
        let uploads = reg.requests_since(offset, &format!("digest={d}"));
        assert!(
            uploads.iter().all(|l| !l.contains("\"PUT ")),
            "base layer {d} was uploaded: {uploads:?}"
        );
    }
    let pushed_bytes = push["bytes_uploaded"].as_u64().unwrap();
    let ours: u64 = pushed["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["image"]["layers"].as_array().unwrap().last().unwrap()["size"]
                .as_u64()
                .unwrap()
        })
        .sum();
    assert!(
        pushed_bytes < ours + 10_000,
        "{pushed_bytes} bytes uploaded, ours are {ours}"
    );

    // podman pulls it, runs it (amd64), and it answers.
    let pinned = push["reference"].as_str().unwrap().to_owned();
    let podman = Engine::podman();
    podman.remove_image_later(&pinned);
    podman.ok(&["pull", "--tls-verify=false", "--arch", "amd64", &pinned]);
    let (_, addr) = podman.run_detached(&pinned);
    let body = get_ok(&addr, "/", Duration::from_secs(20));
    assert!(!body.is_empty());
}

#[test]
fn a_single_manifest_base_serves_its_platform_only() {
    let reg = Registry::plain();
    let base = push_base(&reg, "amd64", &["linux/amd64"]);
    let p = hello_on(&format!("{}/base:amd64", reg.addr));
    let dir = p.dir.to_str().unwrap();

    // hello's hoist.toml builds amd64 and arm64: the base has only amd64, and says so.
    let err = failure(&mut p.hoist(&["build", dir]));
    assert_mentions(
        &err,
        &[
            "base:amd64",
            "has no image for `linux/arm64`",
            "it has: linux/amd64",
            "hint:",
        ],
    );

    let layout = p.path("layout");
    success(&mut p.hoist(&[
        "build",
        dir,
        "--platform",
        "linux/amd64",
        "--output",
        &format!("oci:{}", layout.display()),
    ]));
    let image = Layout(layout).image("linux/amd64");
    let layers = layer_digests(&image);
    assert_eq!(&layers[..base[0].1.len()], base[0].1.as_slice());
}

#[test]
fn missing_or_unreachable_bases_fail_clearly() {
    let reg = Registry::plain();
    let p = hello_on(&format!("{}/nope:1", reg.addr));
    let dir = p.dir.to_str().unwrap();
    let err = failure(&mut p.hoist(&["build", dir, "--platform", "linux/amd64"]));
    assert_mentions(
        &err,
        &[
            "cannot pull the base image",
            "nope:1",
            "was not found",
            "hint:",
        ],
    );

    let port = hoist_test::ports::free_port();
    let p = hello_on(&format!("127.0.0.1:{port}/base:1"));
    let dir = p.dir.to_str().unwrap();
    let err = failure(&mut p.hoist(&["build", dir, "--platform", "linux/amd64"]));
    assert_mentions(
        &err,
        &[
            "cannot pull the base image",
            &format!("cannot reach the registry `127.0.0.1:{port}`"),
            "hint:",
        ],
    );
}
