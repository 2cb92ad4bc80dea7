//! The agent's proxy over TLS (`hoist agent --tls-listen ADDR --tls-cert F --tls-key F
//! --redirect-https`): examples/hello answered over HTTPS with HTTP/2 and HTTP/1.1 by ALPN,
//! verified against the test CA by curl; plain HTTP redirected; a bad key file a clear error
//! that never shows the key.

use std::process::Command;
use std::time::{Duration, Instant};

use hoist_test::agent::{Agent, Driver};
use hoist_test::certs::make_certs;
use hoist_test::ports::free_port;
use hoist_test::process::text;
use hoist_test::project::Project;

fn curl(args: &[&str]) -> (bool, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl");
    (
        out.status.success(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

#[test]
fn hello_over_https_with_http2_and_plain_http_redirected() {
    let agent = Agent::new(crate::HOIST, Project::example("hello"), Driver::Process);
    let tmp = tempfile::tempdir().unwrap();
    let certs = make_certs(tmp.path());
    let port = free_port();
    let tls = format!("127.0.0.1:{port}");
    let log_path = agent.state_dir().join("tls-agent.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = agent
        .hoist_std(&[
            "agent",
            "--tls-listen",
            &tls,
            "--tls-cert",
            certs.cert.to_str().unwrap(),
            "--tls-key",
            certs.key.to_str().unwrap(),
            "--redirect-https",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while agent.pid() != Some(child.id())
        || std::os::unix::net::UnixStream::connect(agent.state_dir().join("agent.sock")).is_err()
    {
        assert!(
            child.try_wait().unwrap().is_none(),
            "{}",
            std::fs::read_to_string(&log_path).unwrap()
        );
        assert!(Instant::now() < deadline, "the agent did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    agent.deploy_ok(&[]);
    // `hoist status` says what the HTTPS listener presents.
    let status = agent.hoist(&["status"]).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        status.contains(&format!(
            "https on {tls}: certificate (your files) valid until 20"
        )),
        "{status}"
    );

    let url = format!("https://localhost:{port}/");
    let ca = certs.ca.to_str().unwrap();
    for (flag, version) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let (ok, out) = curl(&["--cacert", ca, flag, "-w", " [%{http_version}]", &url]);
        assert!(ok, "{out}");
        assert!(out.starts_with("hello from hoist"), "{out}");
        assert!(out.ends_with(&format!("[{version}]")), "{flag}: {out}");
    }
    // Verified: without the CA, curl refuses the certificate.
    let (ok, out) = curl(&[&url]);
    assert!(!ok, "an unknown CA must be refused: {out}");

    // Plain HTTP: a permanent redirect to the same path over HTTPS.
    let (ok, out) = curl(&[
        "-i",
        &format!("http://localhost:{}/a/b?c=1", agent.proxy.port()),
    ]);
    assert!(ok, "{out}");
    assert!(out.starts_with("HTTP/1.1 308"), "{out}");
    assert!(
        out.to_lowercase()
            .contains(&format!("location: https://localhost:{port}/a/b?c=1")),
        "{out}"
    );

    let stopped = agent.hoist(&["agent", "--stop"]).output().unwrap();
    assert!(stopped.status.success(), "{}", text(&stopped.stderr));
    let _ = child.wait();
    // The key never shows: not in the agent's log.
    let key = std::fs::read_to_string(&certs.key).unwrap();
    let logged = std::fs::read_to_string(&log_path).unwrap();
    for line in key.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!logged.contains(line), "key material in the log");
    }
}

#[test]
fn a_key_that_is_not_a_key_is_a_clear_error_naming_the_file_and_not_its_content() {
    let agent = Agent::new(crate::HOIST, Project::example("hello"), Driver::Process);
    let tmp = tempfile::tempdir().unwrap();
    let certs = make_certs(tmp.path());
    let bad = tmp.path().join("bad-key.pem");
    std::fs::write(&bad, "SECRET-MATERIAL-NOT-A-KEY\n").unwrap();
    let out = agent
        .hoist(&[
            "agent",
            "--tls-listen",
            &format!("127.0.0.1:{}", free_port()),
            "--tls-cert",
            certs.cert.to_str().unwrap(),
            "--tls-key",
            bad.to_str().unwrap(),
        ])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("bad-key.pem") && err.contains("no PRIVATE KEY"),
        "{err}"
    );
    assert!(!err.contains("SECRET-MATERIAL"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}
