//! `run.rollout.strategy = "canary"` on Kubernetes, against the real test control plane and a
//! real Prometheus: kwok's pods serve no traffic, so each test writes the series of the stable
//! and the canary revision (what hoist's proxy would export) as OpenMetrics, turns them into
//! TSDB blocks with `promtool tsdb create-blocks-from openmetrics` spanning the test's "now",
//! and starts Prometheus on them; hoist's default templates query them and the real query
//! engine decides. A bad canary is aborted (canary Deployment removed, stable untouched, exit
//! 3); a good one is promoted (the stable Deployment runs its image, one ReplicaSet left).

use std::time::Duration;

use hoist_test::kube::{Namespace, eventually, exists, get, image, kubectl, list};
use hoist_test::project::Project;
use hoist_test::prometheus::{Prometheus, Traffic, proxy_series};
use serde_json::Value;

use crate::Hoist as _;

/// The hello example with 4 replicas, a canary of two steps analysed every 2 s, and
/// Prometheus at `url`.
fn project(url: &str) -> Project {
    let p = Project::example("hello");
    p.write(
        "hoist.toml",
        &format!(
            "[app]\nname = \"hello\"\nport = 8080\n\n[run]\nreplicas = 4\n\n[run.rollout]\nstrategy = \"canary\"\nsteps = [25, 50]\ninterval = \"2s\"\nmin_sample = 100\nmax_wait = \"20s\"\ndeadline = \"60s\"\n\n[verify.prometheus]\nurl = \"{url}\"\n"
        ),
    );
    p
}

/// `hoist deploy --target kubernetes -n NS --image IMG --json`: (code, report, stderr).
fn deploy(p: &Project, ns: &str, img: &str) -> (i32, Value, String) {
    let dir = p.dir.to_str().unwrap();
    let out = p
        .hoist_kube(
            &hoist_test::kube::kubeconfig(),
            &[
                "deploy",
                dir,
                "--target",
                "kubernetes",
                "-n",
                ns,
                "--image",
                img,
                "--json",
            ],
        )
        .output()
        .expect("run hoist");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report, stderr)
}

/// Series for revision 1 (stable: 400 requests a second, no errors) and revision 2 (the
/// canary: 200 a second, `errors` of them failing), 10 ms each, from 20 minutes ago to 20
/// minutes ahead.
fn prometheus(errors: u64) -> Prometheus {
    let series = proxy_series(
        "hello",
        &[
            Traffic {
                revision: "1",
                per_second: 400,
                errors_per_second: 0,
                latency: 0.01,
            },
            Traffic {
                revision: "2",
                per_second: 200,
                errors_per_second: errors,
                latency: 0.01,
            },
        ],
        Duration::from_mins(20),
        Duration::from_mins(20),
    );
    Prometheus::with_series(&series)
}

/// The app's ReplicaSets with replicas, as (image, spec replicas).
fn live_replica_sets(ns: &str) -> Vec<(String, i64)> {
    list(ns, "replicasets", "app.kubernetes.io/name=hello")
        .iter()
        .map(|rs| {
            (
                rs["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                rs["spec"]["replicas"].as_i64().unwrap_or(0),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Revision 1 deployed whole (nothing to compare with), its pods labelled with it.
fn first_revision(p: &Project, ns: &str) -> String {
    let v1 = image("hello", 1);
    let (code, report, stderr) = deploy(p, ns, &v1);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert!(
        stderr.contains("the first one is rolled out whole"),
        "{stderr}"
    );
    let d = get(ns, "deployment", "hello");
    assert_eq!(
        d["spec"]["template"]["metadata"]["labels"]["hoist.dev/revision"],
        "1"
    );
    v1
}

#[test]
fn a_canary_with_five_percent_errors_is_aborted_and_scaled_away() {
    let prom = prometheus(10);
    let ns = Namespace::new("kcanary-bad");
    let p = project(&prom.url);
    let v1 = first_revision(&p, &ns.0);
    let before = get(&ns.0, "deployment", "hello");

    let (code, report, stderr) = deploy(&p, &ns.0, &image("hello", 2));
    assert_eq!(
        code,
        3,
        "a rolled back canary exits 3:\n{report:#}\n{stderr}\n{}",
        prom.log()
    );
    assert_eq!(report["outcome"], "rolled_back", "{report:#}");
    let cluster = &report["clusters"][0];
    assert_eq!(cluster["revision"], 2);
    assert_eq!(cluster["serving"], 1);
    let reason = cluster["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("error rate"), "{reason}\n{stderr}");
    assert_eq!(cluster["canary"]["phase"], "rolled_back", "{cluster:#}");
    // How long it took to catch it and to take it away (scripts/bench-kube-canary reports them).
    let timing = |k: &str| cluster["timings"][k].as_f64().unwrap_or(-1.0);
    assert!(
        timing("verdict_seconds") >= 2.0,
        "one interval at least: {cluster:#}"
    );
    assert!(timing("rollback_seconds") >= 0.0, "{cluster:#}");
    assert!(
        stderr.contains("canary step 1 of 3: weight 25% → 1 canary and 3 stable replicas"),
        "{stderr}"
    );
    // The canary is gone; stable has its replicas back and the very same pod template.
    eventually(
        Duration::from_secs(30),
        "the canary Deployment deleted",
        || (!exists(&ns.0, "deployment", "hello-canary")).then_some(()),
    );
    let after = get(&ns.0, "deployment", "hello");
    assert_eq!(after["spec"]["template"], before["spec"]["template"]);
    assert_eq!(after["spec"]["replicas"], 4);
    assert_eq!(
        after["spec"]["template"]["spec"]["containers"][0]["image"],
        v1.as_str()
    );
    eventually(Duration::from_secs(30), "only revision 1's pods", || {
        (live_replica_sets(&ns.0) == [(v1.clone(), 4)]).then_some(())
    });
    // The record keeps the verdict with its numbers.
    let (code, out, err) = {
        let o = p
            .hoist_kube(
                &hoist_test::kube::kubeconfig(),
                &[
                    "history",
                    "-C",
                    p.dir.to_str().unwrap(),
                    "--target",
                    "kubernetes",
                    "-n",
                    &ns.0,
                    "--json",
                ],
            )
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert_eq!(code, Some(0), "{out}\n{err}");
    let history: Value = serde_json::from_str(&out).unwrap();
    let rev2 = &history[0]["revisions"][1];
    assert_eq!(rev2["revision"], 2, "{history:#}");
    assert_eq!(rev2["canary"]["phase"], "rolled_back", "{rev2:#}");
    assert_eq!(rev2["canary"]["reason"]["reason"], "failed", "{rev2:#}");
    assert_eq!(
        rev2["canary"]["reason"]["verdict"]["verdict"], "fail",
        "{rev2:#}"
    );
}

#[test]
fn a_good_canary_is_promoted_and_one_replica_set_is_left() {
    let prom = prometheus(0);
    let ns = Namespace::new("kcanary-good");
    let p = project(&prom.url);
    first_revision(&p, &ns.0);

    let v2 = image("hello", 2);
    let (code, report, stderr) = deploy(&p, &ns.0, &v2);
    assert_eq!(code, 0, "{report:#}\n{stderr}\n{}", prom.log());
    assert_eq!(report["outcome"], "deployed", "{report:#}");
    let cluster = &report["clusters"][0];
    assert_eq!(cluster["serving"], 2);
    assert_eq!(cluster["canary"]["phase"], "promoted", "{cluster:#}");
    let done = cluster["canary"]["done"].as_array().unwrap();
    assert_eq!(done.len(), 2, "both steps passed: {cluster:#}");
    for step in done {
        assert_eq!(step["verdict"]["verdict"], "pass", "{step:#}");
    }
    assert!(
        stderr.contains("weight 50% → 2 canary and 2 stable replicas"),
        "{stderr}"
    );
    // The stable Deployment runs the canary's template; the canary Deployment is gone.
    let d = get(&ns.0, "deployment", "hello");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        v2.as_str()
    );
    assert_eq!(
        d["spec"]["template"]["metadata"]["labels"]["hoist.dev/revision"],
        "2"
    );
    assert!(!exists(&ns.0, "deployment", "hello-canary"));
    eventually(Duration::from_secs(30), "one ReplicaSet serving", || {
        (live_replica_sets(&ns.0) == [(v2.clone(), 4)]).then_some(())
    });
}

/// More evidence than the series hold: every analysis is inconclusive and each step waits
/// (for `hoist promote`/`abort`, or while the test changes the cluster).
fn never_conclusive(p: &Project) {
    p.edit(
        "hoist.toml",
        "min_sample = 100\nmax_wait = \"20s\"",
        "min_sample = 1000000000\nmax_wait = \"5m\"",
    );
}

#[test]
fn hoist_abort_stops_a_canary_that_is_still_waiting_for_evidence() {
    let prom = prometheus(0);
    let ns = Namespace::new("kcanary-abort");
    let p = project(&prom.url);
    never_conclusive(&p);
    let v1 = first_revision(&p, &ns.0);
    let kubeconfig = hoist_test::kube::kubeconfig();
    let dir = p.dir.to_str().unwrap().to_owned();
    let v2 = image("hello", 2);
    let walking = p
        .hoist_std(&[
            "deploy",
            &dir,
            "--target",
            "kubernetes",
            "-n",
            &ns.0,
            "--image",
            &v2,
            "--json",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
        ])
        .env_remove("KUBECONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    eventually(Duration::from_mins(1), "the canary Deployment", || {
        exists(&ns.0, "deployment", "hello-canary").then_some(())
    });
    let asked = p
        .hoist_kube(
            &kubeconfig,
            &["abort", "-C", &dir, "--target", "kubernetes", "-n", &ns.0],
        )
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&asked.stderr).into_owned();
    assert!(asked.status.success(), "{said}");
    assert!(said.contains("asked the canary of `hello`"), "{said}");
    let out = walking.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(3),
        "aborted = rolled back:\n{stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["clusters"][0]["canary"]["phase"], "rolled_back",
        "{report:#}"
    );
    eventually(
        Duration::from_secs(30),
        "the canary Deployment deleted",
        || (!exists(&ns.0, "deployment", "hello-canary")).then_some(()),
    );
    let after = get(&ns.0, "deployment", "hello");
    assert_eq!(
        after["spec"]["template"]["spec"]["containers"][0]["image"],
        v1.as_str()
    );
    // Nothing left to abort: said, exit 1.
    let again = p
        .hoist_kube(
            &kubeconfig,
            &["abort", "-C", &dir, "--target", "kubernetes", "-n", &ns.0],
        )
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("no canary of `hello` runs"));
}

#[test]
fn beside_an_autoscaler_the_canary_follows_its_count_and_never_scales_stable() {
    let prom = prometheus(0);
    let ns = Namespace::new("kcanary-hpa");
    let p = project(&prom.url);
    // An HPA owns the stable count; every analysis is inconclusive, so the step waits while
    // the "autoscaler" (kubectl scale, as the HPA's controller would) changes it.
    p.edit(
        "hoist.toml",
        "replicas = 4\n",
        "replicas = 4\nautoscale = { min = 2, max = 8, cpu_percent = 70 }\nresources = { cpu = \"250m\" }\n",
    );
    never_conclusive(&p);
    let v1 = first_revision(&p, &ns.0);
    assert!(exists(&ns.0, "horizontalpodautoscaler", "hello"));
    kubectl(&["-n", &ns.0, "scale", "deployment/hello", "--replicas=4"]);

    let kubeconfig = hoist_test::kube::kubeconfig();
    let dir = p.dir.to_str().unwrap().to_owned();
    let walking = p
        .hoist_std(&[
            "deploy",
            &dir,
            "--target",
            "kubernetes",
            "-n",
            &ns.0,
            "--image",
            &image("hello", 2),
            "--json",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
        ])
        .env_remove("KUBECONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let replicas = |name: &str| get(&ns.0, "deployment", name)["spec"]["replicas"].as_i64();
    // 25% beside 4 stable replicas: 1 canary; stable keeps its 4.
    eventually(Duration::from_mins(1), "a canary of 1 beside 4", || {
        (exists(&ns.0, "deployment", "hello-canary") && replicas("hello-canary") == Some(1))
            .then_some(())
    });
    assert_eq!(replicas("hello"), Some(4));
    // The autoscaler goes to 6: the canary follows with 2 at its next analysis.
    kubectl(&["-n", &ns.0, "scale", "deployment/hello", "--replicas=6"]);
    eventually(Duration::from_secs(30), "the canary following to 2", || {
        (replicas("hello-canary") == Some(2)).then_some(())
    });
    assert_eq!(
        replicas("hello"),
        Some(6),
        "hoist never scales the stable side"
    );

    let asked = p
        .hoist_kube(
            &kubeconfig,
            &["abort", "-C", &dir, "--target", "kubernetes", "-n", &ns.0],
        )
        .output()
        .unwrap();
    assert!(asked.status.success());
    let out = walking.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(
            "the autoscaler keeps 6 stable replicas (was 4): the canary follows with 2 for 25%"
        ),
        "{stderr}"
    );
    eventually(Duration::from_secs(30), "the canary removed", || {
        (!exists(&ns.0, "deployment", "hello-canary")).then_some(())
    });
    // The abort left the autoscaler's count alone (no reset to the 4 the canary began with),
    // and hoist's split never managed the stable Deployment's replicas.
    let after = get(&ns.0, "deployment", "hello");
    assert_eq!(after["spec"]["replicas"], 6);
    assert_eq!(
        after["spec"]["template"]["spec"]["containers"][0]["image"],
        v1.as_str()
    );
    assert!(
        !hoist_test::kube::managers(&after).contains(&hoist_kube::canary::SPLIT_MANAGER.to_owned()),
        "{:?}",
        hoist_test::kube::managers(&after)
    );
}
