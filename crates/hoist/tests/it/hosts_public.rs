//! A host serving the public (`[hosts] http = ":80"`, `https = ":443"`, `domains`): its agent
//! gets a certificate from a real ACME CA — Pebble, Let's Encrypt's test server, built from its
//! Go module by `scripts/ci-tools` — over HTTP-01, serves examples/hello over HTTPS and HTTP/2,
//! redirects plain HTTP, survives a kill -9 of its agent under load (counted), and renews the
//! certificate before it expires. No key material appears in output, logs or the agent's
//! arguments; the keys on the host are private to its user.
//!
//! Pebble runs in the root namespace on the host's veth address, in a mount namespace of its
//! own whose /etc/hosts names the host (`hoist-h1.hoist.test`), so its validation reaches the
//! host's port 80 and nothing else. Needs root, openssh-server, wrk and `HOIST_TEST_PEBBLE`
//! (scripts/test sets it); without them the test fails, never skips.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hoist_test::certs::make_certs_for;
use hoist_test::hosts::TestHosts;
use hoist_test::project::Project;

/// Pebble's certificates live this long: the agent renews at two thirds of it.
const VALIDITY_S: u64 = 45;

/// Pebble, killed on drop.
struct Pebble {
    child: Child,
    log: PathBuf,
    /// The directory URL, reachable from the host.
    directory: String,
    /// Pebble's own HTTPS root (the test CA): what the host's agent is told to trust.
    ca: PathBuf,
    /// The root Pebble signs certificates with, for clients of the host.
    issuer_root: PathBuf,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Pebble {
    /// Starts Pebble on `addr` (the root side of the host's link), resolving `names` to the
    /// host's address through its own /etc/hosts.
    fn start(dir: &Path, addr: &str, names: &[(&str, &str)]) -> Self {
        let bin = std::env::var("HOIST_TEST_PEBBLE").expect(
            "HOIST_TEST_PEBBLE: the pebble binary (scripts/ci-tools builds it; scripts/test sets it)",
        );
        let certs = make_certs_for(dir, &format!("IP:{addr}"));
        let config = dir.join("pebble.json");
        std::fs::write(
            &config,
            serde_json::json!({"pebble": {
                "listenAddress": format!("{addr}:14000"),
                "managementListenAddress": format!("{addr}:15000"),
                "certificate": certs.cert,
                "privateKey": certs.key,
                "httpPort": 80,
                "tlsPort": 443,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false,
                "retryAfter": {"authz": 1, "order": 1},
                "keyAlgorithm": "ecdsa",
                "profiles": {"default": {"description": "short, to see a renewal", "validityPeriod": VALIDITY_S}},
            }})
            .to_string(),
        )
        .unwrap();
        let hosts_file = dir.join("hosts");
        let mut lines = "127.0.0.1 localhost\n".to_owned();
        for (n, a) in names {
            writeln!(lines, "{a} {n}").unwrap();
        }
        std::fs::write(&hosts_file, lines).unwrap();
        let log = dir.join("pebble.log");
        let child = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mount --bind '{}' /etc/hosts && exec '{bin}' -config '{}'",
                hosts_file.display(),
                config.display()
            ))
            // Validate at once (not after a random 0–15 s), and no deliberately bad nonces:
            // the test is about hoist's client, not its retries of Pebble's chaos.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.join("pebble.err")).unwrap())
            .spawn()
            .expect("unshare + pebble");
        let mut pebble = Self {
            child,
            log,
            directory: format!("https://{addr}:14000/dir"),
            ca: certs.ca,
            issuer_root: dir.join("issuer-root.pem"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        let root_url = format!("https://{addr}:15000/roots/0");
        loop {
            let out = Command::new("curl")
                .args(["-sSf", "--max-time", "2", "--cacert"])
                .arg(&pebble.ca)
                .arg(&root_url)
                .output()
                .unwrap();
            if out.status.success() {
                std::fs::write(&pebble.issuer_root, &out.stdout).unwrap();
                break;
            }
            assert!(
                pebble.child.try_wait().unwrap().is_none() && Instant::now() < deadline,
                "pebble did not start: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                pebble.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        pebble
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// `curl` inside host `i`'s namespace (as root: the files it reads are the test's).
fn curl_in(hosts: &TestHosts, i: usize, args: &[&str]) -> (bool, String) {
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &hosts.hosts[i].netns,
            "curl",
            "-sS",
            "--max-time",
            "5",
        ])
        .args(args)
        .output()
        .expect("curl in the namespace");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `hoist deploy DIR --target hosts` with the run's ssh_config: (exit code, stdout + stderr).
fn deploy_on(p: &Project, hosts: &TestHosts) -> (Option<i32>, String) {
    let out = crate::hosts_deploy::on_hosts(p, hosts, &["deploy", p.dir_str()], &[])
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The serial of the certificate the host presents on :443.
fn served_serial(hosts: &TestHosts, i: usize, name: &str) -> Option<String> {
    let out = Command::new("ip")
        .args(["netns", "exec", &hosts.hosts[i].netns, "sh", "-c"])
        .arg(format!(
            "openssl s_client -connect 127.0.0.1:443 -servername {name} </dev/null 2>/dev/null | openssl x509 -noout -serial"
        ))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .strip_prefix("serial=")
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
}

#[test]
fn a_host_gets_its_certificate_from_pebble_serves_https_and_http2_survives_a_kill_and_renews() {
    let hosts = TestHosts::start(1);
    let h = &hosts.hosts[0];
    // The root side of the host's /30 is the address below the host's.
    let (prefix, last) = h.addr.rsplit_once('.').unwrap();
    let root_addr = format!("{prefix}.{}", last.parse::<u8>().unwrap() - 1);
    let name = format!("{}.hoist.test", h.alias);
    let tmp = tempfile::Builder::new()
        .prefix("hoist-acme.")
        .tempdir_in("/tmp")
        .unwrap();
    // Readable by the host's user (its agent reads the CA file hoist sends, not this one; the
    // test's curl runs as root).
    let pebble = Pebble::start(tmp.path(), &root_addr, &[(&name, &h.addr)]);

    // Ports 80 and 443 for the host's unprivileged user: this namespace's own sysctl, as an
    // admin would set it on a server (or grant CAP_NET_BIND_SERVICE).
    let sysctl = Command::new("ip")
        .args([
            "netns",
            "exec",
            &h.netns,
            "sysctl",
            "-qw",
            "net.ipv4.ip_unprivileged_port_start=80",
        ])
        .status()
        .unwrap();
    assert!(sysctl.success());

    let p = Project::example("hello");
    let toml = p.read("hoist.toml");
    p.write(
        "hoist.toml",
        &format!(
            "{toml}\n[hosts]\ntargets = [\"{}\"]\nhttp = \":80\"\nhttps = \":443\"\ndomains = [\"{{host}}.hoist.test\"]\nacme_email = \"ops@hoist.test\"\nacme_directory = \"{}\"\nacme_ca = \"{}\"\n",
            h.alias,
            pebble.directory,
            pebble.ca.display()
        ),
    );
    let (code, deploy_out) = deploy_on(&p, &hosts);
    assert_eq!(code, Some(0), "{deploy_out}");
    // The deploy waits for the first certificate and says so.
    assert!(
        deploy_out.contains(&format!(
            "https on 0.0.0.0:443: certificate (ACME for {name}) valid until"
        )),
        "{deploy_out}"
    );

    // The agent asks Pebble as soon as it starts; HTTPS answers once the certificate is there.
    let root = pebble.issuer_root.to_str().unwrap().to_owned();
    let resolve = format!("{name}:443:127.0.0.1");
    let url = format!("https://{name}/");
    let deadline = Instant::now() + Duration::from_mins(1);
    let issued_at = loop {
        let (ok, body) = curl_in(&hosts, 0, &["--cacert", &root, "--resolve", &resolve, &url]);
        if ok {
            assert!(body.starts_with("hello from hoist"), "{body}");
            break Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "no certificate within 60 s: {body}\nagent log:\n{}\npebble:\n{}",
            String::from_utf8_lossy(
                &hosts
                    .exec(0, "tail -n 30 .local/state/hoist/agent.log")
                    .stdout
            ),
            pebble.logs()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(
        pebble.logs().contains("Attempting to validate w/ HTTP"),
        "Pebble validated over HTTP-01:\n{}",
        pebble.logs()
    );
    // HTTP/2 by ALPN, verified against the CA's root; plain HTTP redirected to HTTPS.
    let (ok, v) = curl_in(
        &hosts,
        0,
        &[
            "--cacert",
            &root,
            "--resolve",
            &resolve,
            "--http2",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version}",
            &url,
        ],
    );
    assert!(ok && v == "2", "HTTP/2: {v}");
    let (ok, head) = curl_in(
        &hosts,
        0,
        &[
            "-i",
            "--resolve",
            &format!("{name}:80:127.0.0.1"),
            &format!("http://{name}/x"),
        ],
    );
    assert!(ok, "{head}");
    assert!(head.starts_with("HTTP/1.1 308"), "{head}");
    assert!(
        head.contains(&format!("location: https://{name}/x")),
        "{head}"
    );
    // Without Pebble's root the certificate is refused (it is Pebble's, not a self-signed one).
    let (ok, _) = curl_in(&hosts, 0, &["--resolve", &resolve, &url]);
    assert!(!ok, "curl must refuse a certificate of an unknown CA");

    // Keys stay private: mode 0600 on the host, never in output, logs or arguments.
    let acme = h.home.join(".local/state/hoist/acme");
    for f in ["key.pem", "cert.pem"] {
        let mode = std::os::unix::fs::MetadataExt::mode(&std::fs::metadata(acme.join(f)).unwrap());
        assert_eq!(mode & 0o077, 0, "{f} is {mode:o}");
    }
    let key = std::fs::read_to_string(acme.join("key.pem")).unwrap();
    let key_body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    let log = std::fs::read_to_string(h.home.join(".local/state/hoist/agent.log")).unwrap();
    let args = std::fs::read_to_string(h.home.join(".local/state/hoist/agent.args")).unwrap();
    for (what, text) in [
        ("deploy output", &deploy_out),
        ("agent log", &log),
        ("agent.args", &args),
    ] {
        assert!(!text.contains("PRIVATE KEY"), "{what} shows a key");
        for line in key.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!text.contains(line), "{what} shows key material");
        }
    }
    assert!(!key_body.is_empty());
    assert!(args.contains("--acme-domain"), "{args}");

    // kill -9 of the agent under HTTPS load: the supervisor holds :443, the new agent serves
    // the stored certificate at once (no new order) and adopts the replicas.
    let serial_before = served_serial(&hosts, 0, &name).expect("a served certificate");
    let wrk = Command::new("ip")
        .args([
            "netns",
            "exec",
            &h.netns,
            "wrk",
            "-t2",
            "-c8",
            "-d6s",
            "https://127.0.0.1:443/",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wrk in the namespace");
    std::thread::sleep(Duration::from_secs(2));
    let pid = std::fs::read_to_string(h.home.join(".local/state/hoist/agent.pid")).unwrap();
    let killed = Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = wrk.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let hoist_test::wrk::WrkReport {
        requests,
        connect: refused,
        cut,
        non2xx,
    } = hoist_test::wrk::WrkReport::parse(&report);
    eprintln!(
        "kill -9 under HTTPS load: {requests} requests, {refused} refused, {cut} cut, {non2xx} non-2xx"
    );
    assert!(requests > 100, "{report}");
    assert_eq!(
        refused, 0,
        "connections refused while the agent restarted:\n{report}"
    );
    assert_eq!(non2xx, 0, "{report}");
    let new_pid = std::fs::read_to_string(h.home.join(".local/state/hoist/agent.pid")).unwrap();
    assert_ne!(new_pid.trim(), pid.trim(), "a new agent runs");
    assert_eq!(
        served_serial(&hosts, 0, &name).as_deref(),
        Some(serial_before.as_str()),
        "the restarted agent serves the stored certificate"
    );

    // Renewal: two thirds into the certificate's life the agent gets a new one, with no
    // restart, and serves it.
    let deadline = issued_at + Duration::from_secs(VALIDITY_S + 20);
    loop {
        if let Some(s) = served_serial(&hosts, 0, &name)
            && s != serial_before
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not renewed within the certificate's life\npebble:\n{}",
            pebble.logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let (ok, body) = curl_in(&hosts, 0, &["--cacert", &root, "--resolve", &resolve, &url]);
    assert!(ok && body.starts_with("hello from hoist"), "{body}");

    // A name the CA cannot reach: the deploy says which and why, and does not exit 0.
    let good = p.read("hoist.toml");
    p.write(
        "hoist.toml",
        &good.replace(
            "domains = [\"{host}.hoist.test\"]",
            "domains = [\"{host}.hoist.test\", \"nowhere.hoist.test\"]",
        ),
    );
    let (code, out) = deploy_on(&p, &hosts);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAIL https on 0.0.0.0:443: no certificate"),
        "{out}"
    );
    assert!(out.contains("nowhere.hoist.test"), "{out}");
    // Back to the names it has a certificate for: served from the host's store at once.
    p.write("hoist.toml", &good);
    let (code, out) = deploy_on(&p, &hosts);
    assert_eq!(code, Some(0), "{out}");
    let (ok, body) = curl_in(&hosts, 0, &["--cacert", &root, "--resolve", &resolve, &url]);
    assert!(ok && body.starts_with("hello from hoist"), "{body}");
}

#[test]
fn a_host_serves_https_with_the_users_certificate_files_and_a_new_certificate_replaces_it() {
    let hosts = TestHosts::start(1);
    let h = &hosts.hosts[0];
    let name = format!("{}.hoist.test", h.alias);
    let p = Project::example("hello");
    let first = p.dir.join("certs-1");
    std::fs::create_dir_all(&first).unwrap();
    let certs = make_certs_for(&first, &format!("DNS:{name}"));
    let toml = p.read("hoist.toml");
    let with_certs = |dir: &str| {
        format!(
            "{toml}\n[hosts]\ntargets = [\"{}\"]\nhttp = \":8080\"\nhttps = \":8443\"\ntls_cert = \"{dir}/server.pem\"\ntls_key = \"{dir}/server.key\"\n",
            h.alias
        )
    };
    p.write("hoist.toml", &with_certs("certs-1"));
    let (code, out) = deploy_on(&p, &hosts);
    assert_eq!(code, Some(0), "{out}");
    let resolve = format!("{name}:8443:127.0.0.1");
    let url = format!("https://{name}:8443/");
    let ca = certs.ca.to_str().unwrap().to_owned();
    let (ok, v) = curl_in(
        &hosts,
        0,
        &[
            "--cacert",
            &ca,
            "--resolve",
            &resolve,
            "--http2",
            "-w",
            " [%{http_version}]",
            &url,
        ],
    );
    assert!(
        ok && v.starts_with("hello from hoist") && v.ends_with("[2]"),
        "{v}"
    );

    // The key went to the host private to its user, under a name that is not its content;
    // nothing printed shows it.
    let tls = h.home.join(".local/state/hoist/tls");
    let keys: Vec<_> = std::fs::read_dir(&tls)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-key.pem"))
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let mode = std::os::unix::fs::MetadataExt::mode(&std::fs::metadata(&keys[0]).unwrap());
    assert_eq!(mode & 0o077, 0, "the key is {mode:o}");
    let dir_mode = std::os::unix::fs::MetadataExt::mode(&std::fs::metadata(&tls).unwrap());
    assert_eq!(dir_mode & 0o077, 0, "tls/ is {dir_mode:o}");
    let key = std::fs::read_to_string(&certs.key).unwrap();
    for line in key.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!out.contains(line), "the deploy printed key material");
    }

    // A key file that is not there: a clear error naming it, and the host keeps serving.
    p.write("hoist.toml", &with_certs("certs-missing"));
    let (code, out) = deploy_on(&p, &hosts);
    assert_ne!(code, Some(0), "{out}");
    assert!(out.contains("certs-missing/server.pem"), "{out}");
    let (ok, v) = curl_in(&hosts, 0, &["--cacert", &ca, "--resolve", &resolve, &url]);
    assert!(
        ok && v.starts_with("hello from hoist"),
        "still serving: {v}"
    );

    // A new certificate (another CA): the agent is started again with it.
    let second = p.dir.join("certs-2");
    std::fs::create_dir_all(&second).unwrap();
    let new_certs = make_certs_for(&second, &format!("DNS:{name}"));
    p.write("hoist.toml", &with_certs("certs-2"));
    let (code, out) = deploy_on(&p, &hosts);
    assert_eq!(code, Some(0), "{out}");
    let new_ca = new_certs.ca.to_str().unwrap().to_owned();
    let (ok, v) = curl_in(
        &hosts,
        0,
        &["--cacert", &new_ca, "--resolve", &resolve, &url],
    );
    assert!(
        ok && v.starts_with("hello from hoist"),
        "the new certificate: {v}"
    );
    let (ok, _) = curl_in(&hosts, 0, &["--cacert", &ca, "--resolve", &resolve, &url]);
    assert!(!ok, "the old certificate is no longer served");
}
