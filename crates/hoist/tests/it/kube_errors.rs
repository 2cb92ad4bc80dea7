//! Clear errors of `--target kubernetes`: a broken kubeconfig, an unknown context, an API server
//! that is not there, RBAC saying no, and a field another manager owns — each exit 1 with what
//! was wrong and a hint, and nothing changed.

use hoist_test::cli::assert_mentions;
use hoist_test::kube::{Namespace, get, image, kubectl};
use hoist_test::project::Project;
use std::path::Path;

use crate::Hoist as _;

fn deploy_with(p: &Project, kubeconfig: &Path, extra: &[&str]) -> (i32, String, String) {
    let dir = p.dir.to_str().unwrap();
    let img = image("hello", 1);
    let mut args = vec![
        "deploy",
        dir,
        "--target",
        "kubernetes",
        "--image",
        img.as_str(),
    ];
    args.extend_from_slice(extra);
    let out = p.hoist_kube(kubeconfig, &args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[track_caller]
fn fails(result: (i32, String, String)) -> String {
    let (code, stdout, stderr) = result;
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("hint:"), "no hint:\n{stderr}");
    stderr
}

#[test]
fn a_broken_kubeconfig_is_named_with_its_line() {
    let p = Project::example("hello");
    let bad = p.path("bad-kubeconfig");
    std::fs::write(
        &bad,
        "apiVersion: v1\nkind: Config\nclusters:\n  - name: [oops\n",
    )
    .unwrap();
    let err = fails(deploy_with(&p, &bad, &[]));
    assert_mentions(&err, &["bad-kubeconfig:", "not a valid kubeconfig"]);
    let missing = p.path("nope");
    let err = fails(deploy_with(&p, &missing, &[]));
    assert_mentions(&err, &["no kubeconfig", "--kubeconfig"]);
}

#[test]
fn an_unknown_context_lists_the_known_ones() {
    let p = Project::example("hello");
    let err = fails(deploy_with(
        &p,
        &hoist_test::kube::kubeconfig(),
        &["--context", "mars"],
    ));
    assert_mentions(
        &err,
        &["no context `mars`", "`hoist-admin`", "--context NAME"],
    );
}

#[test]
fn an_unreachable_api_server_is_named() {
    let p = Project::example("hello");
    let (kc, elsewhere) = hoist_test::kube::unreachable_kubeconfig(&p.path(""));
    let err = fails(deploy_with(&p, &kc, &["-n", "default"]));
    assert_mentions(&err, &["cannot reach the API server", &elsewhere, "readyz"]);
}

#[test]
fn rbac_forbidden_names_the_user_the_verb_and_the_resource() {
    let ns = Namespace::new("kube-rbac");
    let p = Project::example("hello");
    let user = format!("{}-nobody", ns.0);
    let kc = hoist_test::kube::user(&user, &ns.0, false);
    let err = fails(deploy_with(&p, &kc, &[]));
    assert_mentions(
        &err,
        &[
            "forbidden",
            &format!("user `{user}`"),
            "may not `patch`",
            &format!("namespace `{}`", ns.0),
            "RoleBinding",
        ],
    );
    assert!(!hoist_test::kube::exists(&ns.0, "deployment", "hello"));
}

#[test]
fn a_field_manager_conflict_names_the_field_and_force_takes_it() {
    let ns = Namespace::new("kube-conflict");
    let p = Project::example("hello");
    let kc = hoist_test::kube::kubeconfig();
    let (code, _, err) = deploy_with(&p, &kc, &["-n", &ns.0]);
    assert_eq!(code, 0, "{err}");
    // Someone scales it by hand with their own field manager.
    kubectl(&[
        "patch",
        "deployment",
        "hello",
        "-n",
        &ns.0,
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"replicas":5}}"#,
        "--field-manager",
        "intruder",
    ]);
    let err = fails(deploy_with(&p, &kc, &["-n", &ns.0]));
    assert_mentions(
        &err,
        &[
            "Deployment `hello`",
            "`.spec.replicas`",
            "owned by `intruder`",
            "--force-conflicts",
        ],
    );
    assert_eq!(
        get(&ns.0, "deployment", "hello")["spec"]["replicas"],
        5,
        "nothing changed"
    );
    let (code, _, err) = deploy_with(&p, &kc, &["-n", &ns.0, "--force-conflicts"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(get(&ns.0, "deployment", "hello")["spec"]["replicas"], 3);
}
