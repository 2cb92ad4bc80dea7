//! Registry failures a user meets, each with a clear error and a hint, against real
//! registries (htpasswd + TLS, token auth) and fault injectors beside them; credentials never
//! leak into any output.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use assert_cmd::Command;
use hoist_test::cli::{assert_mentions, failure, success};
use hoist_test::faults::{FaultProxy, StatusServer};
use hoist_test::project::Project;
use hoist_test::registry::{Auth, Registry};
use hoist_test::token::TokenIssuer;

use crate::Hoist as _;

const PASSWORD: &str = "Sup3r-Secret-Pw";

/// A project with the hello image written as an OCI layout, and a private docker config.
struct Setup {
    p: Project,
    layout: PathBuf,
    docker_config: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let p = Project::example("hello");
        let layout = p.path("layout");
        let dir = p.dir.to_str().unwrap().to_owned();
        success(&mut p.hoist(&[
            "build",
            &dir,
            "--platform",
            "linux/amd64",
            "--output",
            &format!("oci:{}", layout.display()),
        ]));
        let docker_config = p.path("docker");
        Self {
            p,
            layout,
            docker_config,
        }
    }

    fn hoist(&self, args: &[&str]) -> Command {
        let mut cmd = self.p.hoist(args);
        cmd.env("DOCKER_CONFIG", &self.docker_config)
            .env("REGISTRY_AUTH_FILE", self.p.path("no-auth.json"))
            .env_remove("HOIST_REGISTRY_USERNAME")
            .env_remove("HOIST_REGISTRY_PASSWORD")
            .env_remove("HOIST_IMAGE_REPOSITORY");
        cmd
    }

    fn push(&self, repo: &str, extra: &[&str]) -> Command {
        let mut args = vec![
            "push",
            self.layout.to_str().unwrap(),
            "-C",
            self.p.dir.to_str().unwrap(),
            "--repository",
            repo,
            "--tag",
            "v1",
        ];
        args.extend_from_slice(extra);
        self.hoist(&args)
    }
}

/// Runs `cmd` expecting failure; asserts the password shows up nowhere.
fn fails_without_leaking(cmd: &mut Command) -> String {
    let out = cmd.assert().code(1).get_output().clone();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(PASSWORD), "the password leaked:\n{all}");
    assert!(out.stdout.is_empty(), "a failure printed on stdout");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn basic_auth_over_tls_wrong_password_missing_ca_and_login() {
    let reg = Registry::start(&Auth::Basic {
        user: "ci".into(),
        password: PASSWORD.into(),
    });
    let s = Setup::new();
    let repo = format!("{}/app", reg.addr);
    let ca = reg.ca.clone().unwrap();
    let ca = ca.to_str().unwrap();

    // No CA: a TLS error that says how to trust the registry.
    let err = fails_without_leaking(
        s.push(&repo, &[])
            .env("HOIST_REGISTRY_USERNAME", "ci")
            .env("HOIST_REGISTRY_PASSWORD", PASSWORD),
    );
    assert_mentions(&err, &["TLS connection to the registry", "--ca-file"]);

    // Wrong password: refused, named by user, with the login hint; verbose logs leak nothing.
    let err = fails_without_leaking(
        s.push(&repo, &["--ca-file", ca, "-v"])
            .env("HOIST_REGISTRY_USERNAME", "ci")
            .env("HOIST_REGISTRY_PASSWORD", "wrong-pw"),
    );
    assert_mentions(
        &err,
        &["refused the credentials of user `ci`", "hoist login"],
    );
    assert!(!err.contains("wrong-pw"), "{err}");

    // No credentials at all.
    let err = fails_without_leaking(&mut s.push(&repo, &["--ca-file", ca]));
    assert_mentions(&err, &["anonymous access", "hoist login"]);

    // Right password from the environment, with debug logs and --json: works, leaks nothing.
    let out = s
        .push(&repo, &["--ca-file", ca, "-v", "--json"])
        .env("HOIST_REGISTRY_USERNAME", "ci")
        .env("HOIST_REGISTRY_PASSWORD", PASSWORD)
        .env("HOIST_REGISTRY_CA_FILE", ca)
        .assert()
        .success()
        .get_output()
        .clone();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(PASSWORD), "the password leaked:\n{all}");
    assert_eq!(reg.tags("app"), ["v1"]);

    // hoist login checks and stores in docker's format; then a push needs no variables.
    let wrong = s
        .hoist(&[
            "login",
            &reg.addr,
            "-u",
            "ci",
            "--password-stdin",
            "--ca-file",
            ca,
        ])
        .write_stdin("nope\n")
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("refused"));
    assert!(!s.docker_config.join("config.json").exists());
    s.hoist(&[
        "login",
        &reg.addr,
        "-u",
        "ci",
        "--password-stdin",
        "--ca-file",
        ca,
    ])
    .write_stdin(format!("{PASSWORD}\n"))
    .assert()
    .success();
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.docker_config.join("config.json")).unwrap())
            .unwrap();
    assert!(config["auths"][&reg.addr]["auth"].is_string(), "{config:#}");
    success(&mut s.push(&repo, &["--ca-file", ca, "--tag", "v2"]));
    assert_eq!(reg.tags("app"), ["v1", "v2"]);
    s.hoist(&["logout", &reg.addr]).assert().success();
    let err = fails_without_leaking(&mut s.push(&repo, &["--ca-file", ca]));
    assert_mentions(&err, &["anonymous access"]);
}

#[test]
fn token_auth_expired_tokens_and_credential_helpers() {
    let issuer = TokenIssuer::start("robot", PASSWORD);
    let reg = Registry::start(&Auth::Token(issuer.clone()));
    let s = Setup::new();
    let repo = format!("{}/tok", reg.addr);

    // Credentials from a docker credential helper named in config.json.
    let bin = s.p.path("helpers");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-hoisttest");
    std::fs::write(&helper, format!("#!/bin/sh\nread server\nif [ \"$1\" = get ] && [ \"$server\" = {} ]; then echo '{{\"ServerURL\":\"x\",\"Username\":\"robot\",\"Secret\":\"{PASSWORD}\"}}'; else echo 'credentials not found in native keychain'; exit 1; fi\n", reg.addr)).unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut std::fs::metadata(&helper).unwrap().permissions(),
        0o755,
    );
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(&s.docker_config).unwrap();
    std::fs::write(
        s.docker_config.join("config.json"),
        format!("{{\"credHelpers\":{{\"{}\":\"hoisttest\"}}}}", reg.addr),
    )
    .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = s
        .push(&repo, &["-v", "--json"])
        .env("PATH", &path)
        .assert()
        .success()
        .get_output()
        .clone();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(PASSWORD), "the password leaked:\n{all}");
    assert_eq!(reg.tags("tok"), ["v1"]);

    // Tokens the registry considers expired: a clear refusal with a hint.
    issuer.exp_offset.store(-300, Ordering::Relaxed);
    let err = fails_without_leaking(s.push(&repo, &["--tag", "v2"]).env("PATH", &path));
    assert_mentions(&err, &["refused the credentials of user `robot`", "hint:"]);
    assert_eq!(reg.tags("tok"), ["v1"]);
}

#[test]
fn unknown_host_invalid_reference_and_server_errors() {
    let s = Setup::new();
    let err = failure(&mut s.push("registry.invalid/app", &[]));
    assert_mentions(
        &err,
        &[
            "cannot reach the registry `registry.invalid`",
            "hint:",
            "host name",
        ],
    );

    let err = failure(&mut s.push("Bad/Repo", &[]));
    assert_mentions(&err, &["not a valid image reference", "hint:"]);
    let err = failure(&mut s.hoist(&["inspect", "localhost:5000/app:bad tag"]));
    assert_mentions(&err, &["not a valid image reference"]);
    // A tag the registry does not have: the hint points at the tags it has, not at
    // `hoist inspect`, the command that was just run.
    let reg = Registry::plain();
    let missing = format!("{}/nothing/here:v9", reg.addr);
    let err = failure(&mut s.hoist(&["inspect", &missing]));
    assert_mentions(
        &err,
        &[
            "was not found",
            &format!("http{}", "s://"),
            "/v2/nothing/here/tags/list",
        ],
    );
    assert!(!err.contains("hoist inspect REF"), "{err}");

    let server = StatusServer::start(500);
    let err = failure(
        s.push(&format!("{}/app", server.addr), &["-v"])
            .env("HOIST_LOG", "hoist_registry=debug"),
    );
    assert_mentions(
        &err,
        &[
            "answered 500",
            "storage backend unavailable",
            "retrying",
            "hint:",
            "retried",
        ],
    );
    assert_eq!(
        server.requests.load(Ordering::Relaxed),
        4 + 1,
        "https try + 4 http tries"
    );
}

#[test]
fn interrupted_push_leaves_no_tag_and_the_next_push_reuses_blobs() {
    let reg = Registry::plain();
    let s = Setup::new();
    // hello's app layer is ~2.5 MB and its base ~0.1 MB: cut each connection after 1 MB.
    let proxy = FaultProxy::start(&reg.addr, 1_000_000);
    let err = failure(&mut s.push(&format!("{}/cut", proxy.addr), &["--jobs", "1"]));
    assert_mentions(&err, &["cannot push", "hint:"]);
    assert!(
        reg.tags("cut").is_empty(),
        "a tag was created: {:?}",
        reg.tags("cut")
    );

    let out: serde_json::Value = serde_json::from_str(&success(
        &mut s.push(&format!("{}/cut", reg.addr), &["--json"]),
    ))
    .unwrap();
    assert!(out["blobs_skipped"].as_u64().unwrap() >= 1, "{out:#}");
    assert_eq!(reg.tags("cut"), ["v1"]);
}
