//! `hoist render`: the manifests pass Kubernetes' own strict decoding and validation helpers
//! (tests/tools/k8svalidate, built from k8s.io/api and k8s.io/apimachinery), `--out` writes one
//! file per object, and missing or bad input is explained.

use hoist_test::cli::{assert_mentions, config_failure, failure, success};
use hoist_test::k8svalidate::validate;
use hoist_test::project::Project;
use serde_json::Value;

use crate::Hoist as _;

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn render(p: &Project, args: &[&str]) -> String {
    let image = format!("registry.example.com/hello@{DIGEST}");
    success(
        p.hoist(&["render", p.dir_str(), "--image", &image])
            .args(args),
    )
}

#[test]
fn every_example_environment_passes_kubernetes_validation() {
    for (project, envs) in [
        (
            Project::example("hello"),
            vec![None, Some("dev"), Some("staging"), Some("prod")],
        ),
        (
            Project::fixture("shop"),
            vec![None, Some("dev"), Some("prod")],
        ),
    ] {
        for env in envs {
            let args: Vec<&str> = env.map(|e| vec!["--env", e]).unwrap_or_default();
            let yaml = render(&project, &args);
            let report = validate(&yaml);
            let kinds: Vec<&str> = report
                .iter()
                .map(|l| l.split(['/', ' ']).nth(1).expect("kind"))
                .collect();
            assert!(
                kinds.contains(&"Deployment") && kinds.contains(&"Service"),
                "{report:?}"
            );
        }
    }
}

#[test]
fn config_map_values_read_back_as_written() {
    let p = Project::fixture("shop");
    let yaml = render(
        &p,
        &["--set", "config.ANSWER=yes", "--set", "config.AT=12:30"],
    );
    let report = validate(&yaml);
    let line = report
        .iter()
        .find(|l| l.starts_with("ok ConfigMap/"))
        .expect("a ConfigMap");
    let read: Value =
        serde_json::from_str(line.splitn(3, ' ').nth(2).expect("data")).expect("JSON");
    let config = success(&mut p.hoist(&[
        "config",
        p.dir_str(),
        "--json",
        "--set",
        "config.ANSWER=yes",
        "--set",
        "config.AT=12:30",
    ]));
    let config: Value = serde_json::from_str(&config).expect("JSON");
    assert_eq!(
        read, config["config"],
        "Kubernetes reads other values than the config"
    );
    assert_eq!(read["ANSWER"], "yes");
    assert_eq!(read["AT"], "12:30");
}

#[test]
fn hello_prod_through_the_cli() {
    let p = Project::example("hello");
    let yaml = success(&mut p.hoist(&["render", p.dir_str(), "--env", "prod", "--image", DIGEST]));
    // Outside git the version is `dev`; the image is image.repository of prod at the digest.
    insta::assert_snapshot!(yaml);
}

#[test]
fn out_writes_one_file_per_object_and_removes_stale_ones() {
    let p = Project::example("hello");
    let out = p.path("manifests");
    let out_str = out.to_str().expect("UTF-8 path");
    let prod = render(&p, &["--env", "prod", "--out", out_str]);
    assert!(prod.is_empty(), "--out printed on stdout: {prod}");
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .expect("out dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("UTF-8"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "deployment.yaml",
            "horizontalpodautoscaler.yaml",
            "ingress.yaml",
            "poddisruptionbudget.yaml",
            "service.yaml",
            "serviceaccount.yaml"
        ]
    );
    let stream = render(&p, &["--env", "prod"]);
    let joined: Vec<String> = [
        "poddisruptionbudget",
        "serviceaccount",
        "service",
        "deployment",
        "horizontalpodautoscaler",
        "ingress",
    ]
    .iter()
    .map(|k| std::fs::read_to_string(out.join(format!("{k}.yaml"))).expect("file"))
    .collect();
    assert_eq!(
        joined.join("---\n"),
        stream,
        "the files differ from the stream"
    );

    render(&p, &["--env", "dev", "--out", out_str]);
    for gone in [
        "horizontalpodautoscaler.yaml",
        "ingress.yaml",
        "poddisruptionbudget.yaml",
    ] {
        assert!(!out.join(gone).exists(), "{gone} was left behind");
    }
    assert!(out.join("deployment.yaml").exists());
}

#[test]
fn without_an_image_it_says_how_to_get_one() {
    let p = Project::example("hello");
    let stderr = failure(&mut p.hoist(&["render", p.dir_str()]));
    assert_mentions(
        &stderr,
        &["no `hoist build`", "`--image`", "hint:", "@sha256:"],
    );
    let stderr = failure(&mut p.hoist(&["render", p.dir_str(), "--image", DIGEST]));
    assert_mentions(&stderr, &["names no repository", "image.repository"]);
    let stderr = failure(&mut p.hoist(&["render", p.dir_str(), "--image", "hello:latest"]));
    assert_mentions(
        &stderr,
        &["`hello:latest` is not pinned by digest", "hint:"],
    );
}

/// Without `--image`, render pins the image of the last build of the same directory and
/// environment (completed with `image.repository`); another environment's build does not count.
#[test]
fn without_image_the_last_build_is_used() {
    let p = Project::example("hello");
    let digest = success(&mut p.hoist(&["build", p.dir_str(), "--env", "dev"]))
        .trim()
        .to_owned();
    let repo = "registry.example.com/team/hello";
    let yaml = success(&mut p.hoist(&[
        "render",
        p.dir_str(),
        "--env",
        "dev",
        "--set",
        &format!("image.repository={repo}"),
    ]));
    assert!(yaml.contains(&format!("image: {repo}@{digest}")), "{yaml}");
    let stderr = failure(&mut p.hoist(&["render", p.dir_str(), "--env", "prod"]));
    assert_mentions(&stderr, &["no `hoist build`"]);
}

#[test]
fn unknown_environment_lists_the_known_ones() {
    let p = Project::example("hello");
    let stderr =
        config_failure(&mut p.hoist(&["render", p.dir_str(), "--env", "qa", "--image", DIGEST]));
    assert_mentions(
        &stderr,
        &["unknown environment `qa`", "`dev`, `prod`, `staging`"],
    );
}

#[test]
fn set_shows_in_config_and_its_errors_name_the_flag() {
    let p = Project::example("hello");
    let config = success(&mut p.hoist(&[
        "config",
        p.dir_str(),
        "--env",
        "staging",
        "--set",
        "run.replicas=6",
    ]));
    assert!(config.contains("replicas = 6"), "{config}");
    let stderr = config_failure(&mut p.hoist(&[
        "render",
        p.dir_str(),
        "--image",
        DIGEST,
        "--set",
        "run.replicas=-2",
    ]));
    assert_mentions(
        &stderr,
        &["--set run.replicas=-2:1:14: run.replicas: must be 0 or more, found -2"],
    );
}
