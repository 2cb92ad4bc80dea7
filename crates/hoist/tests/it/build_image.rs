//! `hoist build` of the examples into OCI layouts and docker archives: what is in the image,
//! that tools read it, that it reproduces bit for bit, and that an edit changes only the app.

use std::path::Path;

use hoist_test::cli::{digest_line, success};
use hoist_test::elf::{EM_AARCH64, EM_X86_64};
use hoist_test::git::{COMMIT_DATE, COMMIT_EPOCH, commit_all, git};
use hoist_test::layout::Layout;
use hoist_test::process::run;
use hoist_test::project::Project;
use hoist_test::skopeo::skopeo;
use serde_json::{Value, json};

use crate::{Hoist as _, build_json};

const SOURCE: &str = "https://example.com/hoist/hello.git";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// examples/hello as a git repository with an origin and a tag, so the image has every label.
fn tagged_hello() -> (Project, String) {
    let p = Project::example("hello");
    let commit = commit_all(&p.dir, "hello");
    git(&p.dir, &["remote", "add", "origin", SOURCE]);
    git(&p.dir, &["tag", "v1.2.3"]);
    (p, commit)
}

/// `hoist build DIR ARGS`; returns the digest it printed.
fn build(p: &Project, cache: &Path, args: &[&str]) -> String {
    let mut all = vec!["build", p.dir.to_str().expect("UTF-8 path")];
    all.extend_from_slice(args);
    digest_line(&success(&mut crate::hoist(cache, &all)))
}

fn oci_arg(dir: &Path) -> String {
    format!("oci:{}", dir.display())
}

/// The layer of kind `base` or `app` in one platform of a `--json` summary.
fn layer<'a>(summary: &'a Value, kind: &str) -> &'a Value {
    let layers = summary["platforms"][0]["image"]["layers"]
        .as_array()
        .unwrap_or_else(|| panic!("no platforms[0].image.layers in {summary:#}"));
    let mut found = layers.iter().filter(|l| l["kind"] == kind);
    let one = found
        .next()
        .unwrap_or_else(|| panic!("no `{kind}` layer in {summary:#}"));
    assert!(
        found.next().is_none(),
        "several `{kind}` layers in {summary:#}"
    );
    one
}

#[test]
fn both_platforms_to_an_oci_layout() {
    let (p, commit) = tagged_hello();
    let out = p.path("out");

    let digest = build(&p, &p.cache, &["--output", &oci_arg(&out)]);

    let layout = Layout(out.clone());
    assert_eq!(
        layout.root()["digest"],
        digest.as_str(),
        "the printed digest is not the layout's image"
    );
    let raw = skopeo(&["inspect", "--raw", &oci_arg(&out)]);
    assert_eq!(raw["mediaType"], OCI_INDEX, "{raw:#}");
    let mut platforms: Vec<String> = raw["manifests"]
        .as_array()
        .expect("an index lists manifests")
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap_or("?"),
                m["platform"]["architecture"].as_str().unwrap_or("?")
            )
        })
        .collect();
    platforms.sort();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"], "{raw:#}");

    for (platform, machine) in [("linux/amd64", EM_X86_64), ("linux/arm64", EM_AARCH64)] {
        let image = layout.image(platform);
        let files = layout.files(&image);
        let bin = files
            .get("app/hello")
            .unwrap_or_else(|| panic!("{platform}: no app/hello in {:?}", files.keys()));
        assert_eq!(
            hoist_test::elf::elf_machine(&bin.data),
            machine,
            "{platform}: app/hello is for another machine"
        );
        assert!(
            bin.mode & 0o111 != 0,
            "{platform}: app/hello is not executable (mode {:o})",
            bin.mode
        );
        assert_eq!(
            bin.mtime, COMMIT_EPOCH,
            "{platform}: app/hello's mtime is not the commit time"
        );
        assert_config(&image.config, &commit);
    }
    assert_static_base(&layout.files(&layout.image("linux/amd64")));
}

fn assert_config(config: &Value, commit: &str) {
    let c = &config["config"];
    assert_eq!(c["User"], "65532:65532", "{config:#}");
    assert_eq!(c["Entrypoint"], json!(["/app/hello"]), "{config:#}");
    assert!(
        c["ExposedPorts"].get("8080/tcp").is_some(),
        "8080/tcp is not exposed: {config:#}"
    );
    let labels = &c["Labels"];
    assert_eq!(
        labels["org.opencontainers.image.source"], SOURCE,
        "{config:#}"
    );
    assert_eq!(
        labels["org.opencontainers.image.revision"], commit,
        "{config:#}"
    );
    assert_eq!(
        labels["org.opencontainers.image.version"], "v1.2.3",
        "{config:#}"
    );
    assert_eq!(
        labels["org.opencontainers.image.created"], COMMIT_DATE,
        "{config:#}"
    );
    assert_eq!(config["created"], COMMIT_DATE, "{config:#}");
}

fn assert_static_base(files: &std::collections::BTreeMap<String, hoist_test::archive::Entry>) {
    let bundle = files
        .get("etc/ssl/certs/ca-certificates.crt")
        .expect("the image has the CA bundle");
    let certs = String::from_utf8_lossy(&bundle.data)
        .matches("BEGIN CERTIFICATE")
        .count();
    assert!(certs > 100, "the CA bundle has {certs} certificates");
    let tmp = files.get("tmp").expect("the image has /tmp");
    assert!(tmp.is_dir, "/tmp is not a directory");
    assert_eq!(tmp.mode & 0o7777, 0o1777, "/tmp has mode {:o}", tmp.mode);
    let passwd = String::from_utf8_lossy(
        &files
            .get("etc/passwd")
            .expect("the image has /etc/passwd")
            .data,
    )
    .into_owned();
    assert!(
        passwd
            .lines()
            .any(|l| l.starts_with("nonroot:x:65532:65532:")),
        "/etc/passwd has no nonroot 65532:\n{passwd}"
    );
}

#[test]
fn one_platform_is_a_manifest_that_skopeo_inspects() {
    let (p, _) = tagged_hello();
    let out = p.path("out");

    let summary = build_json(&p, &["--env", "dev", "--output", &oci_arg(&out)]);

    assert_eq!(summary["media_type"], OCI_MANIFEST, "{summary:#}");
    assert_eq!(summary["version"], "v1.2.3", "{summary:#}");
    assert_eq!(
        summary["platforms"].as_array().map(Vec::len),
        Some(1),
        "{summary:#}"
    );
    assert_eq!(
        Layout(out.clone()).root()["digest"],
        summary["digest"],
        "{summary:#}"
    );
    let inspect = skopeo(&["inspect", &oci_arg(&out)]);
    assert_eq!(inspect["Os"], "linux", "{inspect:#}");
    assert_eq!(inspect["Architecture"], "amd64", "{inspect:#}");
    assert_eq!(
        inspect["Labels"]["org.opencontainers.image.version"], "v1.2.3",
        "{inspect:#}"
    );
}

/// Sets the mtime of every file of `dir` outside `.git` to 2001-01-01.
fn touch_all(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("dir entry").path();
        if path.file_name().is_some_and(|n| n == ".git") {
            continue;
        }
        if path.is_dir() {
            touch_all(&path);
        }
        run(
            "touch",
            &["-d", "2001-01-01", path.to_str().expect("UTF-8 path")],
        );
    }
}

#[test]
fn two_checkouts_build_the_same_digest() {
    let origin = Project::example("hello");
    commit_all(&origin.dir, "hello");
    let a = Project::empty();
    let b = Project::empty();
    for clone in [&a, &b] {
        std::fs::remove_dir(&clone.dir).expect("remove the empty dir");
        git(
            &origin.dir,
            &[
                "clone",
                "-q",
                origin.dir.to_str().expect("UTF-8"),
                clone.dir.to_str().expect("UTF-8"),
            ],
        );
    }
    touch_all(&b.dir);

    let first = build_with_cache(&a, &a.cache);
    let same_cache = build_with_cache(&b, &a.cache);
    let own_cache = build_with_cache(&b, &b.cache);

    assert_same_image(&first, &same_cache, "with the same cache");
    assert_same_image(&first, &own_cache, "with its own cache");
}

/// `hoist build DIR --json` with `cache`.
fn build_with_cache(p: &Project, cache: &Path) -> Value {
    let stdout = success(&mut crate::hoist(
        cache,
        &["build", p.dir.to_str().expect("UTF-8"), "--json"],
    ));
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("--json printed no JSON ({e}):\n{stdout}"))
}

/// Asserts two summaries name the same image; when not, shows each platform's config and
/// layers (digest of the gzip, diff_id of the tar) side by side.
#[track_caller]
fn assert_same_image(a: &Value, b: &Value, how: &str) {
    if a["digest"] == b["digest"] {
        return;
    }
    let describe = |s: &Value| -> Vec<String> {
        let platforms = s["platforms"].as_array().cloned().unwrap_or_default();
        platforms
            .iter()
            .flat_map(|p| {
                let head = format!(
                    "{} manifest {} config {}",
                    p["platform"], p["digest"], p["image"]["config"]
                );
                let layers = p["image"]["layers"].as_array().cloned().unwrap_or_default();
                std::iter::once(head).chain(layers.into_iter().map(|l| {
                    format!(
                        "  {} {} (tar {}, cached {})",
                        l["kind"], l["digest"], l["diff_id"], l["cached"]
                    )
                }))
            })
            .collect()
    };
    panic!(
        "a second checkout built another image {how}:\nfirst:\n{}\nsecond:\n{}",
        describe(a).join("\n"),
        describe(b).join("\n")
    );
}

#[test]
fn a_one_line_change_changes_only_the_app_layer() {
    let p = Project::example("hello");
    commit_all(&p.dir, "hello");
    let before = build_json(&p, &["--env", "dev"]);
    p.edit("main.go", "hello from hoist", "hi from hoist");
    commit_all(&p.dir, "say hi");
    let out = p.path("out");

    let after = build_json(&p, &["--env", "dev", "--output", &oci_arg(&out)]);

    assert_eq!(
        layer(&before, "base")["digest"],
        layer(&after, "base")["digest"],
        "the base layer changed"
    );
    assert_ne!(
        layer(&before, "app")["digest"],
        layer(&after, "app")["digest"],
        "the app layer did not change"
    );
    assert_ne!(
        before["digest"], after["digest"],
        "the image did not change"
    );
    let layout = Layout(out);
    let files = layout.files(&layout.image("linux/amd64"));
    let bin = &files.get("app/hello").expect("app/hello").data;
    assert!(
        bin.windows(13).any(|w| w == b"hi from hoist"),
        "the new image does not have the new greeting"
    );
}

#[test]
fn unchanged_source_comes_from_the_cache() {
    let p = Project::example("hello");
    commit_all(&p.dir, "hello");

    let first = build_json(&p, &["--env", "dev"]);
    let second = build_json(&p, &["--env", "dev"]);

    assert_eq!(
        layer(&first, "app")["cached"],
        false,
        "a fresh cache had the app layer: {first:#}"
    );
    assert_eq!(
        layer(&second, "app")["cached"],
        true,
        "the second build did not reuse the app layer: {second:#}"
    );
    assert_eq!(
        first["digest"], second["digest"],
        "the second build made another image"
    );
}

#[test]
fn source_date_epoch_and_no_git() {
    let p = Project::example("hello");
    let out = p.path("out");
    let pinned = p.path("pinned");

    build(&p, &p.cache, &["--env", "dev", "--output", &oci_arg(&out)]);
    let stdout = success(
        p.hoist(&[
            "build",
            p.dir.to_str().expect("UTF-8"),
            "--env",
            "dev",
            "--output",
            &oci_arg(&pinned),
        ])
        .env("SOURCE_DATE_EPOCH", "1000000000"),
    );
    digest_line(&stdout);

    for (dir, mtime, created) in [
        (out, 0, "1970-01-01T00:00:00Z"),
        (pinned, 1_000_000_000, "2001-09-09T01:46:40Z"),
    ] {
        let layout = Layout(dir);
        let image = layout.image("linux/amd64");
        let files = layout.files(&image);
        assert_eq!(
            files.get("app/hello").expect("app/hello").mtime,
            mtime,
            "app/hello's mtime"
        );
        let labels = &image.config["config"]["Labels"];
        assert_eq!(
            labels["org.opencontainers.image.version"], "dev",
            "outside git the version is dev: {labels:#}"
        );
        assert_eq!(
            labels["org.opencontainers.image.created"], created,
            "{labels:#}"
        );
    }
}

#[test]
fn example_with_third_party_modules() {
    let p = Project::example("ids");
    let out = p.path("out");

    build(&p, &p.cache, &["--output", &oci_arg(&out)]);

    let layout = Layout(out);
    let image = layout.image("linux/amd64");
    let files = layout.files(&image);
    let bin = files
        .get("app/ids")
        .unwrap_or_else(|| panic!("no app/ids in {:?}", files.keys()));
    assert_eq!(hoist_test::elf::elf_machine(&bin.data), EM_X86_64);
    assert_eq!(image.config["config"]["Entrypoint"], json!(["/app/ids"]));
}

#[test]
fn docker_archive_and_oci_layout_at_once() {
    let (p, _) = tagged_hello();
    let archive = p.path("hello.tar");
    let out = p.path("out");
    let archive_arg = format!("docker-archive:{}", archive.display());

    let summary = build_json(
        &p,
        &[
            "--env",
            "dev",
            "--output",
            &archive_arg,
            "--output",
            &oci_arg(&out),
        ],
    );

    assert_eq!(
        summary["outputs"],
        json!([archive_arg, oci_arg(&out)]),
        "{summary:#}"
    );
    let inspect = skopeo(&["inspect", &archive_arg]);
    assert_eq!(inspect["Architecture"], "amd64", "{inspect:#}");
    assert_eq!(
        inspect["Labels"]["org.opencontainers.image.version"], "v1.2.3",
        "{inspect:#}"
    );
    assert_eq!(
        inspect["Layers"].as_array().map(Vec::len),
        Some(2),
        "{inspect:#}"
    );
    assert!(
        out.join("index.json").is_file(),
        "the OCI layout was not written too"
    );
}
