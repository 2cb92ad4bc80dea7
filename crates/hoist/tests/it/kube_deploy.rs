//! `hoist deploy/status/history/rollback/diff --target kubernetes` against a real control plane
//! (kube-apiserver, controller-manager, scheduler, etcd; kwok's simulated nodes and pods),
//! started by scripts/test. Each test has its own namespaces.

use std::path::Path;

use hoist_test::kube::{
    Namespace, eventually, exists, get, image, kubectl, kubectl_stdin, list, managers,
};
use hoist_test::project::Project;
use serde_json::Value;
use std::time::Duration;

use crate::Hoist as _;

/// Runs `hoist ARGS` against the test cluster in `ns`; returns (exit code, stdout, stderr).
fn hoist(p: &Project, kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
    let out = p.hoist_kube(kubeconfig, args).output().expect("run hoist");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

/// `hoist deploy DIR --target kubernetes -n NS --json EXTRA…`; (code, report, stderr).
fn deploy(p: &Project, ns: &str, extra: &[&str]) -> (i32, Value, String) {
    let dir = p.dir.to_str().unwrap();
    let mut args = vec!["deploy", dir, "--target", "kubernetes", "-n", ns, "--json"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = hoist(p, &hoist_test::kube::kubeconfig(), &args);
    let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (code, report, stderr)
}

#[track_caller]
fn deployed(code: i32, report: &Value, stderr: &str) {
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["outcome"], "deployed", "{report:#}\n{stderr}");
}

fn selector(app: &str) -> String {
    format!("app.kubernetes.io/name={app}")
}

/// The ReplicaSets of the app, as (image, spec replicas, ready replicas).
fn replica_sets(ns: &str, app: &str) -> Vec<(String, i64, i64)> {
    list(ns, "replicasets", &selector(app))
        .iter()
        .map(|rs| {
            (
                rs["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                rs["spec"]["replicas"].as_i64().unwrap_or(0),
                rs["status"]["readyReplicas"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn hello_prod_is_applied_with_hoists_field_manager_and_its_rollout_waited_for() {
    let ns = Namespace::new("kube-prod");
    let p = Project::example("hello");
    let img = image("web/hello", 1);
    let (code, report, stderr) = deploy(
        &p,
        &ns.0,
        &[
            "--env",
            "prod",
            "--set",
            "config.GREETING=hi",
            "--image",
            &img,
        ],
    );
    deployed(code, &report, &stderr);
    let cluster = &report["clusters"][0];
    assert_eq!(cluster["revision"], 1, "{report:#}");
    assert_eq!(cluster["namespace"], ns.0.as_str());
    for kind in [
        "deployment",
        "service",
        "ingress",
        "configmap",
        "horizontalpodautoscaler",
        "poddisruptionbudget",
        "serviceaccount",
    ] {
        let o = get(&ns.0, kind, "hello");
        assert!(
            managers(&o).iter().any(|m| m == "hoist"),
            "{kind} is not managed by hoist: {:?}",
            managers(&o)
        );
        assert_eq!(
            o["metadata"]["labels"]["app.kubernetes.io/instance"],
            "hello-prod"
        );
    }
    let d = get(&ns.0, "deployment", "hello");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        img.as_str()
    );
    assert!(
        stderr.contains("updated"),
        "no rollout progress shown:\n{stderr}"
    );
    // The autoscaler (min 4) scales the Deployment up; kwok's pods become Ready.
    eventually(Duration::from_mins(1), "4 ready replicas", || {
        let d = get(&ns.0, "deployment", "hello");
        (d["status"]["readyReplicas"] == 4).then_some(())
    });
    // The revision record is in the cluster.
    let records = list(&ns.0, "secrets", "hoist.dev/revision");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["type"], "hoist.dev/revision");
    assert_eq!(records[0]["metadata"]["name"], "hoist-hello-prod-rev-1");
}

#[test]
fn a_changed_revision_makes_one_new_replica_set_and_is_waited_for() {
    let ns = Namespace::new("kube-change");
    let p = Project::example("hello");
    let (a, b) = (image("hello", 1), image("hello", 2));
    let (code, report, stderr) = deploy(&p, &ns.0, &["--image", &a]);
    deployed(code, &report, &stderr);
    assert_eq!(replica_sets(&ns.0, "hello"), [(a.clone(), 3, 3)]);

    let (code, report, stderr) = deploy(
        &p,
        &ns.0,
        &[
            "--image",
            &b,
            "--set",
            "run.replicas=4",
            "--set",
            "run.env.MODE=two",
        ],
    );
    deployed(code, &report, &stderr);
    assert_eq!(report["clusters"][0]["revision"], 2);
    // Judged complete only once every new pod is Ready and the old ones are gone: at the
    // moment hoist returns, the status already says so.
    let d = get(&ns.0, "deployment", "hello");
    let st = &d["status"];
    assert_eq!(
        st["observedGeneration"], d["metadata"]["generation"],
        "{st:#}"
    );
    for key in [
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
    ] {
        assert_eq!(st[key], 4, "{key}: {st:#}");
    }
    let env = &d["spec"]["template"]["spec"]["containers"][0]["env"];
    assert!(
        env.as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "MODE" && e["value"] == "two"),
        "{env}"
    );
    let mut sets = replica_sets(&ns.0, "hello");
    sets.sort();
    assert_eq!(sets, [(a, 0, 0), (b, 4, 4)], "exactly one new ReplicaSet");
}

#[test]
fn a_revision_that_never_becomes_ready_is_rolled_back_after_its_deadline() {
    let ns = Namespace::new("kube-rollback");
    let p = Project::example("hello");
    let good = image("hello", 1);
    let (code, report, stderr) = deploy(
        &p,
        &ns.0,
        &["--image", &good, "--set", "run.rollout.deadline=5s"],
    );
    deployed(code, &report, &stderr);

    let bad = image("never-ready/hello", 2);
    let (code, report, stderr) = deploy(
        &p,
        &ns.0,
        &["--image", &bad, "--set", "run.rollout.deadline=5s"],
    );
    assert_eq!(
        code, 3,
        "a rolled-back deploy exits 3:\n{report:#}\n{stderr}"
    );
    let cluster = &report["clusters"][0];
    assert_eq!(report["outcome"], "rolled_back", "{report:#}");
    assert_eq!(cluster["revision"], 2);
    assert_eq!(cluster["serving"], 1);
    let reason = cluster["reason"].as_str().unwrap();
    assert!(
        reason.contains("exceeded its progress deadline"),
        "{reason}"
    );
    assert!(
        reason.contains("never-ready"),
        "the pods' own reason: {reason}"
    );
    assert!(stderr.contains("rolling back to revision 1"), "{stderr}");
    assert!(cluster["timings"]["rollback_seconds"].as_f64().unwrap() > 0.0);
    // Each unready pod of the failed revision is reported, by name, with what it showed.
    let reports = cluster["replica_reports"]
        .as_array()
        .expect("replica reports");
    assert!(!reports.is_empty(), "{report:#}");
    for r in reports {
        let pod = r["replica"].as_str().unwrap();
        assert!(pod.starts_with("hello-"), "{r:#}");
        assert!(stderr.contains(&format!("replica {pod} (")), "{stderr}");
        assert!(r["state"].as_str().is_some_and(|s| !s.is_empty()), "{r:#}");
    }

    // The previous ReplicaSet is back at full size, and the Service routes to its pods.
    let d = get(&ns.0, "deployment", "hello");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        good.as_str()
    );
    let mut sets = replica_sets(&ns.0, "hello");
    sets.sort();
    assert_eq!(sets, [(good.clone(), 3, 3), (bad.clone(), 0, 0)]);
    eventually(Duration::from_secs(30), "3 ready endpoints", || {
        let slices = list(&ns.0, "endpointslices", "kubernetes.io/service-name=hello");
        let ready = slices
            .iter()
            .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
            .filter(|e| e["conditions"]["ready"] == true)
            .count();
        (ready == 3).then_some(())
    });

    // history shows both, from the records in the cluster.
    let dir = p.dir.to_str().unwrap();
    let (code, out, err) = hoist(
        &p,
        &hoist_test::kube::kubeconfig(),
        &[
            "history",
            "-C",
            dir,
            "--target",
            "kubernetes",
            "-n",
            &ns.0,
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let h: Value = serde_json::from_str(&out).unwrap();
    let revs = h[0]["revisions"].as_array().unwrap();
    assert_eq!(revs.len(), 2, "{h:#}");
    assert_eq!(revs[0]["outcome"], "deployed");
    assert_eq!(revs[1]["outcome"], "rolled_back");
    assert_eq!(revs[1]["image"], bad.as_str());
    assert!(
        revs[1]["reason"]
            .as_str()
            .unwrap()
            .contains("progress deadline")
    );
    assert_eq!(h[0]["serving"], 1);
    let (code, text, _) = hoist(
        &p,
        &hoist_test::kube::kubeconfig(),
        &["history", "-C", dir, "--target", "kubernetes", "-n", &ns.0],
    );
    assert_eq!(code, 0);
    assert!(text.contains("rolled_back"), "{text}");

    // status agrees.
    let (code, out, err) = hoist(
        &p,
        &hoist_test::kube::kubeconfig(),
        &[
            "status",
            "-C",
            dir,
            "--target",
            "kubernetes",
            "-n",
            &ns.0,
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let s: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s[0]["serving"], 1, "{s:#}");
    assert_eq!(s[0]["image"], good.as_str());
    assert_eq!(s[0]["complete"], true);
}

#[test]
fn an_ingress_removed_from_the_config_is_pruned_and_nothing_else_is_touched() {
    let ns = Namespace::new("kube-prune");
    let p = Project::example("hello");
    let img = image("hello", 1);
    // Unrelated objects in the same namespace: one plain, one even carrying the app's labels
    // but applied by another tool.
    kubectl(&[
        "create",
        "configmap",
        "unrelated",
        "-n",
        &ns.0,
        "--from-literal=a=b",
    ]);
    kubectl_stdin(
        &["apply", "-n", &ns.0, "-f", "-"],
        Some(
            "apiVersion: v1
kind: ConfigMap
metadata:
  name: hello-extra
  labels: {app.kubernetes.io/name: hello, app.kubernetes.io/instance: hello, app.kubernetes.io/managed-by: hoist}
data: {x: z}
",
        ),
    );
    let (code, report, stderr) = deploy(
        &p,
        &ns.0,
        &[
            "--image",
            &img,
            "--set",
            "run.ingress.host=hello.example.com",
        ],
    );
    deployed(code, &report, &stderr);
    assert!(exists(&ns.0, "ingress", "hello"));

    let (code, report, stderr) = deploy(&p, &ns.0, &["--image", &img]);
    deployed(code, &report, &stderr);
    assert_eq!(
        report["clusters"][0]["pruned"],
        serde_json::json!(["Ingress `hello`"])
    );
    eventually(Duration::from_secs(30), "the Ingress to go", || {
        (!exists(&ns.0, "ingress", "hello")).then_some(())
    });
    assert!(exists(&ns.0, "configmap", "unrelated"));
    assert!(exists(&ns.0, "configmap", "hello-extra"));
    assert!(exists(&ns.0, "deployment", "hello"));
    assert!(exists(&ns.0, "service", "hello"));
}

#[test]
fn two_contexts_are_deployed_and_one_that_fails_rolls_back_alone() {
    let (na, nb) = (Namespace::new("kube-eu"), Namespace::new("kube-us"));
    let p = Project::example("hello");
    let eu = hoist_test::kube::user(&format!("{}-eu", na.0), &na.0, true);
    let us = hoist_test::kube::user(&format!("{}-us", nb.0), &nb.0, true);
    let both = p.path("kubeconfig");
    let merged = kubectl_merge(&[&eu, &us]);
    std::fs::write(&both, merged).unwrap();
    let (ctx_eu, ctx_us) = (format!("{}-eu", na.0), format!("{}-us", nb.0));
    let dir = p.dir.to_str().unwrap();
    let run = |img: &str| {
        let (code, out, err) = hoist(
            &p,
            &both,
            &[
                "deploy",
                dir,
                "--target",
                "kubernetes",
                "--context",
                &ctx_eu,
                "--context",
                &ctx_us,
                "--image",
                img,
                "--set",
                "run.rollout.deadline=5s",
                "--json",
            ],
        );
        (
            code,
            serde_json::from_str::<Value>(&out).unwrap_or(Value::Null),
            err,
        )
    };
    let (a, b) = (image("hello", 1), image("hello", 2));
    let (code, report, stderr) = run(&a);
    deployed(code, &report, &stderr);
    assert_eq!(report["clusters"].as_array().unwrap().len(), 2);
    for c in report["clusters"].as_array().unwrap() {
        assert_eq!(c["outcome"], "deployed", "{c:#}");
    }
    // `us` may run 3 pods, no more: the new revision's surge pod is refused there.
    kubectl(&["create", "quota", "pods", "-n", &nb.0, "--hard=pods=3"]);
    let (code, report, stderr) = run(&b);
    assert_eq!(code, 3, "{report:#}\n{stderr}");
    let clusters = report["clusters"].as_array().unwrap();
    assert_eq!(clusters[0]["context"], ctx_eu.as_str());
    assert_eq!(clusters[0]["outcome"], "deployed", "{report:#}");
    assert_eq!(clusters[1]["outcome"], "rolled_back", "{report:#}");
    let reason = clusters[1]["reason"].as_str().unwrap();
    assert!(
        reason.contains("exceeded quota"),
        "the ReplicaSet's reason: {reason}"
    );
    let image_in = |ns: &str| {
        get(ns, "deployment", "hello")["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(image_in(&na.0), b);
    assert_eq!(image_in(&nb.0), a);
}

/// `kubectl config view --flatten` of several kubeconfigs.
fn kubectl_merge(files: &[&Path]) -> String {
    let joined = std::env::join_paths(files).unwrap();
    let out = std::process::Command::new(std::env::var_os("HOIST_KUBECTL").unwrap())
        .args(["config", "view", "--flatten"])
        .env("KUBECONFIG", joined)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn rollback_reapplies_an_earlier_revision_as_a_new_one() {
    let ns = Namespace::new("kube-undo");
    let p = Project::example("hello");
    let (first, second) = (image("hello", 1), image("hello", 2));
    for img in [&first, &second] {
        let (code, report, stderr) = deploy(&p, &ns.0, &["--image", img]);
        deployed(code, &report, &stderr);
    }
    let dir = p.dir.to_str().unwrap();
    let (code, out, err) = hoist(
        &p,
        &hoist_test::kube::kubeconfig(),
        &[
            "rollback",
            "-C",
            dir,
            "--target",
            "kubernetes",
            "-n",
            &ns.0,
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["clusters"][0]["revision"], 3, "{report:#}");
    let live = get(&ns.0, "deployment", "hello");
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        first.as_str()
    );
    assert_eq!(live["status"]["readyReplicas"], 3);
    let (code, out, _) = hoist(
        &p,
        &hoist_test::kube::kubeconfig(),
        &[
            "history",
            "-C",
            dir,
            "--target",
            "kubernetes",
            "-n",
            &ns.0,
            "--json",
        ],
    );
    assert_eq!(code, 0);
    let h: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(h[0]["revisions"][2]["rollback_of"], 1, "{h:#}");
    assert_eq!(h[0]["serving"], 3);
    // A revision that is not kept is named as such.
    let (code, _, err) = hoist(
        &p,
        &hoist_test::kube::kubeconfig(),
        &[
            "rollback",
            "-C",
            dir,
            "--target",
            "kubernetes",
            "-n",
            &ns.0,
            "--to",
            "9",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("no revision 9") && err.contains("kept: `1`, `2`, `3`"),
        "{err}"
    );
}

#[test]
fn diff_shows_what_an_apply_would_change() {
    let ns = Namespace::new("kube-diff");
    let p = Project::example("hello");
    let img = image("hello", 1);
    let dir = p.dir.to_str().unwrap();
    let diff = |extra: &[&str]| {
        let mut args = vec!["diff", dir, "-n", &ns.0, "--image", &img];
        args.extend_from_slice(extra);
        let (code, out, err) = hoist(&p, &hoist_test::kube::kubeconfig(), &args);
        assert_eq!(code, 0, "{err}");
        (out, err)
    };
    let (out, _) = diff(&[]);
    assert!(out.contains("+ create Deployment `hello`"), "{out}");
    let (code, report, stderr) = deploy(
        &p,
        &ns.0,
        &["--image", &img, "--set", "run.ingress.host=a.example.com"],
    );
    deployed(code, &report, &stderr);
    let (out, err) = diff(&["--set", "run.ingress.host=a.example.com"]);
    assert!(err.contains("no changes"), "{out}\n{err}");
    assert_eq!(out, "");
    let (out, _) = diff(&["--set", "run.replicas=5"]);
    assert!(out.contains("~ update Deployment `hello`"), "{out}");
    assert!(
        out.contains("-  replicas: 3") && out.contains("+  replicas: 5"),
        "{out}"
    );
    assert!(out.contains("- delete Ingress `hello` (prune)"), "{out}");
    // Nothing changed in the cluster.
    assert_eq!(get(&ns.0, "deployment", "hello")["spec"]["replicas"], 3);
}

#[test]
fn a_missing_namespace_is_an_error_unless_it_is_to_be_created() {
    let ns = Namespace::name_only("kube-newns");
    let p = Project::example("hello");
    let img = image("hello", 1);
    let (code, _, stderr) = deploy(&p, &ns.0, &["--image", &img]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("namespace `{}` does not exist", ns.0)),
        "{stderr}"
    );
    assert!(stderr.contains("--create-namespace"), "{stderr}");
    let (code, report, stderr) = deploy(&p, &ns.0, &["--image", &img, "--create-namespace"]);
    deployed(code, &report, &stderr);
    assert!(exists(&ns.0, "deployment", "hello"));
}
