//! Real registries for tests: Debian's `docker-registry` (distribution v2) started per test on
//! a free 127.0.0.1 port with a config the test writes — without auth, with htpasswd basic
//! auth behind TLS (a CA made with openssl, [`crate::certs`]), or with `auth: token` and a
//! [`TokenIssuer`] that runs in the test process. A missing tool fails the test with what to
//! install. Faults a real registry cannot produce are in [`crate::faults`].

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::certs::make_certs;
use crate::ports::free_port;
use crate::process::tool;
use crate::token::TokenIssuer;

const INSTALL: &str = "install it with scripts/install-test-deps (Debian packages docker-registry, apache2-utils, openssl)";

/// How a registry authenticates: hoist must push to each kind users have.
pub enum Auth {
    /// Anyone may push and pull.
    None,
    /// htpasswd basic auth behind TLS.
    Basic {
        /// The one user.
        user: String,
        /// Its password.
        password: String,
    },
    /// Bearer tokens from a [`TokenIssuer`].
    Token(Arc<TokenIssuer>),
}

/// A running `docker-registry`: the real distribution server, so pushes and pulls meet what a
/// user's registry does; killed when dropped.
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
    _dir: TempDir,
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
            _dir: dir,
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
