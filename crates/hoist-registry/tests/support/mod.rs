//! Real registries for tests: Debian's `docker-registry` (distribution v2) started per test on
//! a free 127.0.0.1 port with a config the test writes — without auth, with htpasswd basic
//! auth behind TLS (a CA made with openssl), or with `auth: token` and a small token issuer
//! that runs in the test process. A missing tool fails the test with what to install.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use tempfile::TempDir;

const INSTALL: &str = "install it with scripts/install-test-deps (Debian packages docker-registry, apache2-utils, openssl)";

/// Runs a tool, failing the test clearly when it is missing or fails.
pub fn tool(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{program}` ({e}): {INSTALL}"));
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "`{program} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A free port on 127.0.0.1 (released for the registry to bind).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How a registry authenticates.
pub enum Auth {
    /// Anyone may push and pull.
    None,
    /// htpasswd basic auth behind TLS.
    Basic { user: String, password: String },
    /// Bearer tokens from a [`TokenIssuer`].
    Token(Arc<TokenIssuer>),
}

/// A running `docker-registry`.
pub struct Registry {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The CA that signed its certificate (TLS registries only).
    pub ca: Option<PathBuf>,
    /// The registry's own log (stderr and stdout).
    pub log: PathBuf,
    /// Where it keeps blobs; survives [`Registry::kill`].
    pub data: PathBuf,
    config: PathBuf,
    child: Option<Child>,
    dir: TempDir,
}

impl Registry {
    /// A registry without auth, plain http.
    pub fn plain() -> Self {
        Self::start(&Auth::None)
    }

    /// Starts a registry with `auth`.
    pub fn start(auth: &Auth) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("hoist-registry-")
            .tempdir()
            .unwrap();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let data = dir.path().join("data");
        let mut tls = String::new();
        let mut auth_yaml = String::new();
        let mut ca = None;
        match auth {
            Auth::None => {}
            Auth::Basic { user, password } => {
                let certs = make_certs(dir.path());
                tls = format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    certs.cert.display(),
                    certs.key.display()
                );
                ca = Some(certs.ca);
                let line = tool("htpasswd", &["-Bbn", user, password], None);
                let htpasswd = dir.path().join("htpasswd");
                std::fs::write(&htpasswd, line).unwrap();
                auth_yaml = format!(
                    "auth:\n  htpasswd:\n    realm: hoist-test\n    path: {}\n",
                    htpasswd.display()
                );
            }
            Auth::Token(issuer) => {
                auth_yaml = format!(
                    "auth:\n  token:\n    realm: http://{}/token\n    service: hoist-test-registry\n    issuer: hoist-test-issuer\n    rootcertbundle: {}\n",
                    issuer.addr,
                    issuer.cert.display()
                );
            }
        }
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n{tls}{auth_yaml}",
                data.display()
            ),
        )
        .unwrap();
        let mut r = Self {
            addr,
            ca,
            log: dir.path().join("registry.log"),
            data,
            config,
            child: None,
            dir,
        };
        r.restart();
        r
    }

    /// Starts (again) on the same port and storage.
    pub fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&self.config)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `docker-registry` ({e}): {INSTALL}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(&self.addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen on {} within 15s; its log:\n{}",
                self.addr,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the registry process (its storage stays).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The whole log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The access log's length once the registry has written the lines of every request made so
    /// far: it logs a request after answering it, so a line can arrive after the client has
    /// moved on. Take `requests_since` offsets from here, or an earlier request's line would
    /// count as a later one's.
    pub fn log_end(&self) -> usize {
        let mut len = self.log_text().len();
        loop {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let now = self.log_text().len();
            if now == len {
                return len;
            }
            len = now;
        }
    }

    /// Requests in the access log since byte `offset` whose line contains `needle`.
    pub fn requests_since(&self, offset: usize, needle: &str) -> Vec<String> {
        self.log_text()[offset..]
            .lines()
            .filter(|l| {
                l.contains("\"GET ")
                    || l.contains("\"PUT ")
                    || l.contains("\"POST ")
                    || l.contains("\"PATCH ")
                    || l.contains("\"HEAD ")
            })
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect()
    }

    /// Tags of `repo` (empty when the repository does not exist), read from storage, so it
    /// works whatever auth the registry has.
    pub fn tags(&self, repo: &str) -> Vec<String> {
        let dir = self
            .data
            .join("docker/registry/v2/repositories")
            .join(repo)
            .join("_manifests/tags");
        let mut tags: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        tags.sort();
        tags
    }

    /// Whether the registry's storage holds blob `digest` (`sha256:…`).
    pub fn has_blob(&self, digest: &str) -> bool {
        let hex = digest.trim_start_matches("sha256:");
        self.data
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
            .is_file()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Files of a test CA and a server certificate for 127.0.0.1 and localhost signed by it.
pub struct Certs {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Makes a CA and a server certificate with openssl.
pub fn make_certs(dir: &Path) -> Certs {
    let p = |n: &str| dir.join(n).to_str().unwrap().to_owned();
    tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=hoist test CA",
            "-keyout",
            &p("ca.key"),
            "-out",
            &p("ca.pem"),
        ],
        None,
    );
    tool(
        "openssl",
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &p("server.key"),
            "-out",
            &p("server.csr"),
        ],
        None,
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n").unwrap();
    tool(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            &p("server.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &p("san.ext"),
            "-out",
            &p("server.pem"),
        ],
        None,
    );
    Certs {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    }
}

/// A token endpoint for `auth: token` registries: checks basic credentials and signs JWTs
/// (RS256, with its certificate in `x5c`) granting what was asked for.
pub struct TokenIssuer {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The signing certificate: the registry's `rootcertbundle`.
    pub cert: PathBuf,
    key: PathBuf,
    user: String,
    password: String,
    /// Seconds added to now for each token's `exp` (negative: already expired, within the
    /// registry's 60 s leeway or beyond it).
    pub exp_offset: std::sync::atomic::AtomicI64,
    /// Token requests served.
    pub requests: AtomicUsize,
    /// Scopes asked for, in order.
    pub scopes: std::sync::Mutex<Vec<String>>,
    _dir: TempDir,
}

impl TokenIssuer {
    /// Starts an issuer accepting `user`/`password`.
    pub fn start(user: &str, password: &str) -> Arc<Self> {
        let dir = tempfile::Builder::new()
            .prefix("hoist-issuer-")
            .tempdir()
            .unwrap();
        let key = dir.path().join("issuer.key");
        let cert = dir.path().join("issuer.pem");
        tool(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=hoist-test-issuer",
                "-keyout",
                key.to_str().unwrap(),
                "-out",
                cert.to_str().unwrap(),
            ],
            None,
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = Arc::new(Self {
            addr: listener.local_addr().unwrap().to_string(),
            cert,
            key,
            user: user.to_owned(),
            password: password.to_owned(),
            exp_offset: std::sync::atomic::AtomicI64::new(300),
            requests: AtomicUsize::new(0),
            scopes: std::sync::Mutex::default(),
            _dir: dir,
        });
        let me = issuer.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let me = me.clone();
                std::thread::spawn(move || me.serve(conn));
            }
        });
        issuer
    }

    fn serve(&self, mut conn: TcpStream) {
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap_or_default();
        let mut authorization = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("authorization")
            {
                authorization = Some(v.trim().to_owned());
            }
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let target = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
        let query = target.split_once('?').map_or("", |(_, q)| q);
        let mut service = String::new();
        let mut scopes = Vec::new();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v);
            match k {
                "service" => service = v,
                "scope" => scopes.push(v),
                _ => {}
            }
        }
        self.scopes.lock().unwrap().extend(scopes.iter().cloned());
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", self.user, self.password))
        );
        let response = if authorization.as_deref() == Some(expected.as_str()) {
            let token = self.sign(&service, &scopes);
            let body = format!("{{\"token\":\"{token}\",\"expires_in\":3600}}");
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        } else {
            let body = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"bad credentials\"}]}";
            format!(
                "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        };
        let _ = conn.write_all(response.as_bytes());
        let _ = reader.read(&mut [0; 0]);
    }

    fn sign(&self, service: &str, scopes: &[String]) -> String {
        static JTI: AtomicU64 = AtomicU64::new(0);
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let pem = std::fs::read_to_string(&self.cert).unwrap();
        let der_b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let header = format!("{{\"alg\":\"RS256\",\"typ\":\"JWT\",\"x5c\":[\"{der_b64}\"]}}");
        let now = i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap();
        let exp = now + self.exp_offset.load(Ordering::Relaxed);
        let access: Vec<String> = scopes
            .iter()
            .filter_map(|s| {
                let mut parts = s.split(':');
                let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                let actions: Vec<String> = actions.split(',').map(|a| format!("\"{a}\"")).collect();
                Some(format!(
                    "{{\"type\":\"{kind}\",\"name\":\"{name}\",\"actions\":[{}]}}",
                    actions.join(",")
                ))
            })
            .collect();
        let claims = format!(
            "{{\"iss\":\"hoist-test-issuer\",\"sub\":\"{}\",\"aud\":\"{service}\",\"exp\":{exp},\"nbf\":{},\"iat\":{},\"jti\":\"{}\",\"access\":[{}]}}",
            self.user,
            now - 120,
            now - 120,
            JTI.fetch_add(1, Ordering::Relaxed),
            access.join(",")
        );
        let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
        let sig = tool(
            "openssl",
            &["dgst", "-sha256", "-sign", self.key.to_str().unwrap()],
            Some(input.as_bytes()),
        );
        format!("{input}.{}", b64(&sig))
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let h = u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'?');
                out.push(h);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A TCP proxy to `target` that resets every connection once `limit` bytes have gone from
/// client to server on it: a push through it is cut mid-upload, like a dropped link.
pub struct FaultProxy {
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl FaultProxy {
    /// Starts the proxy.
    pub fn start(target: &str, limit: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let target = target.to_owned();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Write);
                });
                let (mut client, mut server) = (client, server);
                std::thread::spawn(move || {
                    let mut sent = 0;
                    let mut buf = [0; 16 * 1024];
                    loop {
                        let n = match client.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if sent + n > limit {
                            // SO_LINGER 0 would send an RST; a plain shutdown of both is what
                            // std allows, and the client sees its upload cut short.
                            let _ = server.shutdown(std::net::Shutdown::Both);
                            let _ = client.shutdown(std::net::Shutdown::Both);
                            break;
                        }
                        sent += n;
                        if server.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Self { addr }
    }
}

/// A server answering every request with `status` (a registry having a bad day).
pub struct StatusServer {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Requests served.
    pub requests: Arc<AtomicUsize>,
}

impl StatusServer {
    /// Starts it.
    pub fn start(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::Relaxed);
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let body = "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"storage backend unavailable\"}]}";
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} Oops\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { addr, requests }
    }
}
