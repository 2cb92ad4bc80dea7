//! The registry client: one HTTP client, one session per registry (scheme, credentials,
//! challenge, tokens), and [`Client::send`], through which every request goes.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use reqwest::blocking::{Body, Response};
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use serde::Serialize;

use crate::auth::{AuthFiles, Credentials, Scope};
use crate::error::{RegistryError, Result};
use crate::retry::RetryPolicy;
use crate::session::{Session, unexpected};
use crate::transport::{Transport, oci_error};

/// Settings of a [`Client`]. `Default` gives: no extra CA, no insecure registries, no credential
/// files, 4 concurrent blob transfers, chunked uploads from 64 MiB in 16 MiB chunks.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// PEM files with extra certificate authorities, trusted beside the system's.
    pub ca_files: Vec<PathBuf>,
    /// Registries (`host[:port]`) that may be spoken to over plain http, beside localhost and
    /// 127.0.0.0/8, which always may.
    pub insecure_registries: Vec<String>,
    /// Where stored credentials are looked up.
    pub auth_files: AuthFiles,
    /// Credentials by registry that win over the files (e.g. from CI variables).
    pub credentials: BTreeMap<String, Credentials>,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// Blob uploads and downloads running at once.
    pub jobs: usize,
    /// Blobs at least this large are uploaded in chunks (where the registry supports it).
    pub chunk_threshold: u64,
    /// The size of one chunk.
    pub chunk_size: u64,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            ca_files: Vec::new(),
            insecure_registries: Vec::new(),
            auth_files: AuthFiles::default(),
            credentials: BTreeMap::new(),
            retry: RetryPolicy::default(),
            jobs: 4,
            chunk_threshold: 64 << 20,
            chunk_size: 16 << 20,
            user_agent: concat!("hoist/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// Counts of what a push or pull did, for `--json` and for tests.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub uploaded: AtomicU64,
    pub uploaded_bytes: AtomicU64,
    pub skipped: AtomicU64,
    pub skipped_bytes: AtomicU64,
    pub mounted: AtomicU64,
    pub mounted_bytes: AtomicU64,
    pub downloaded: AtomicU64,
    pub downloaded_bytes: AtomicU64,
    pub cached: AtomicU64,
    pub retries: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Blobs uploaded.
    pub blobs_uploaded: u64,
    /// Bytes of blobs uploaded.
    pub bytes_uploaded: u64,
    /// Blobs the registry already had (found by HEAD).
    pub blobs_skipped: u64,
    /// Bytes of those.
    pub bytes_skipped: u64,
    /// Blobs mounted from another repository of the same registry.
    pub blobs_mounted: u64,
    /// Bytes of those.
    pub bytes_mounted: u64,
    /// Blobs downloaded.
    pub blobs_downloaded: u64,
    /// Bytes of blobs downloaded.
    pub bytes_downloaded: u64,
    /// Blobs already in the local store (not downloaded).
    pub blobs_cached: u64,
    /// Requests (or uploads) retried after a transient failure.
    pub retries: u64,
}

impl Counters {
    pub fn snapshot(&self) -> Stats {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            blobs_uploaded: g(&self.uploaded),
            bytes_uploaded: g(&self.uploaded_bytes),
            blobs_skipped: g(&self.skipped),
            bytes_skipped: g(&self.skipped_bytes),
            blobs_mounted: g(&self.mounted),
            bytes_mounted: g(&self.mounted_bytes),
            blobs_downloaded: g(&self.downloaded),
            bytes_downloaded: g(&self.downloaded_bytes),
            blobs_cached: g(&self.cached),
            retries: g(&self.retries),
        }
    }
}

/// One request, re-creatable for retries and re-authentication.
pub(crate) struct Request<'a> {
    pub method: Method,
    pub url: String,
    pub scopes: Vec<Scope>,
    /// For messages and logs: `PUT manifest v1`.
    pub what: String,
    pub headers: Vec<(HeaderName, String)>,
    pub body: Option<&'a (dyn Fn() -> Result<Body> + Sync)>,
}

impl<'a> Request<'a> {
    pub fn new(method: Method, url: String, what: impl Into<String>) -> Self {
        Self {
            method,
            url,
            scopes: Vec::new(),
            what: what.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn scopes(mut self, scopes: Vec<Scope>) -> Self {
        self.scopes = scopes;
        self
    }

    pub fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: &'a (dyn Fn() -> Result<Body> + Sync)) -> Self {
        self.body = Some(body);
        self
    }
}

/// A client for any number of registries. Cheap to share between threads.
pub struct Client {
    pub(crate) http: reqwest::blocking::Client,
    pub(crate) options: ClientOptions,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    pub(crate) counters: Counters,
}

impl Client {
    /// A client with `options`.
    ///
    /// # Errors
    /// [`RegistryError::Io`] or [`RegistryError::CaFile`] for an unusable CA file,
    /// [`RegistryError::Client`] when the TLS stack cannot be set up.
    pub fn new(options: ClientOptions) -> Result<Self> {
        // reqwest is built without a crypto provider: it uses the process default, ring (see
        // Cargo.toml for why). Whichever was installed first wins.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut certs = Vec::new();
        for path in &options.ca_files {
            let pem = std::fs::read(path).map_err(|source| RegistryError::Io {
                path: path.clone(),
                source,
            })?;
            let found = reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| {
                RegistryError::CaFile {
                    path: path.clone(),
                    source,
                }
            })?;
            certs.extend(found);
        }
        let http = reqwest::blocking::Client::builder()
            .user_agent(options.user_agent.clone())
            .connect_timeout(Duration::from_secs(10))
            // Large blobs on slow links take long; a dead peer is caught by TCP keepalive.
            .timeout(None::<Duration>)
            .tcp_keepalive(Duration::from_secs(30))
            .tls_certs_merge(certs)
            .build()
            .map_err(|source| RegistryError::Client { source })?;
        Ok(Self {
            http,
            options,
            sessions: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        })
    }

    /// What sessions need of this client: its HTTP client, retries, and insecure registries.
    pub(crate) fn transport(&self) -> Transport<'_> {
        Transport {
            http: &self.http,
            retry: &self.options.retry,
            retries: &self.counters.retries,
            insecure_registries: &self.options.insecure_registries,
        }
    }

    /// What this client has done so far.
    pub fn stats(&self) -> Stats {
        self.counters.snapshot()
    }

    /// The session for `registry`, connecting (and pinging) on first use.
    pub(crate) fn session(&self, registry: &str, api_host: &str) -> Result<Arc<Session>> {
        if let Some(s) = self.sessions.lock().expect("sessions lock").get(registry) {
            return Ok(s.clone());
        }
        let creds = match self.options.credentials.get(registry) {
            Some(c) => Some(c.clone()),
            None => self
                .options
                .auth_files
                .lookup(registry)?
                .map(|(c, source)| {
                    tracing::debug!(registry, %source, "using stored credentials");
                    c
                }),
        };
        let session = Arc::new(Session::connect(
            &self.transport(),
            registry,
            api_host,
            creds,
        )?);
        self.sessions
            .lock()
            .expect("sessions lock")
            .insert(registry.to_owned(), session.clone());
        Ok(session)
    }

    /// Sends `req`, retrying transient failures when `retry` (uploads retry as a whole instead).
    pub(crate) fn send(
        &self,
        session: &Session,
        req: &Request<'_>,
        retry: bool,
    ) -> Result<Response> {
        if retry {
            self.options
                .retry
                .run(&req.what, &self.counters.retries, || {
                    self.send_once(session, req)
                })
        } else {
            self.send_once(session, req)
        }
    }

    /// One try, with authentication: a 401 is answered once by (re-)authenticating, which
    /// covers an expired token.
    fn send_once(&self, session: &Session, req: &Request<'_>) -> Result<Response> {
        let mut reauthenticated = false;
        loop {
            let auth = session.authorization(&self.transport(), &req.scopes)?;
            let mut rb = self.http.request(req.method.clone(), &req.url);
            for (name, value) in &req.headers {
                rb = rb.header(name, value);
            }
            if let Some(a) = auth {
                let mut v = HeaderValue::from_str(&a).map_err(|_| RegistryError::Unauthorized {
                    registry: session.registry.clone(),
                    who: "a token with characters not allowed in a header".to_owned(),
                })?;
                v.set_sensitive(true);
                rb = rb.header(AUTHORIZATION, v);
            }
            if let Some(body) = req.body {
                rb = rb.body(body()?);
            }
            let resp = rb.send().map_err(|e| session.transport_error(e))?;
            let status = resp.status().as_u16();
            match status {
                401 if !reauthenticated => {
                    session.on_unauthorized(&resp, &req.scopes);
                    reauthenticated = true;
                }
                401 => return Err(session.unauthorized()),
                403 => {
                    let scope = req.scopes.first();
                    return Err(RegistryError::Denied {
                        registry: session.registry.clone(),
                        repository: scope.map(|s| s.repository.clone()).unwrap_or_default(),
                        action: if req.method == Method::GET || req.method == Method::HEAD {
                            "pull"
                        } else {
                            "push"
                        },
                    });
                }
                429 | 500..=599 => {
                    let (code, message) = oci_error(resp);
                    return Err(RegistryError::Server {
                        registry: session.registry.clone(),
                        what: req.what.clone(),
                        status,
                        code,
                        message,
                    });
                }
                _ => return Ok(resp),
            }
        }
    }
}

impl Client {
    /// Checks that the credentials for `registry` are accepted: `GET /v2/` authenticated the
    /// way the registry asks (basic, or a token fetched with them).
    ///
    /// # Errors
    /// [`RegistryError::Unauthorized`] for refused credentials; transport errors.
    pub fn check_login(&self, registry: &str) -> Result<()> {
        let api_host = crate::reference::Repository {
            registry: registry.to_owned(),
            name: String::new(),
        };
        let session = self.session(registry, api_host.api_host())?;
        let what = "GET /v2/ (login)";
        let req = Request::new(Method::GET, session.url(""), what);
        let resp = self.send(&session, &req, true)?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(unexpected(&session, what, resp))
        }
    }
}
