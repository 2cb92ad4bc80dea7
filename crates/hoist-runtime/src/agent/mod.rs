//! The local agent: the long-running process behind `hoist deploy` on this machine.
//!
//! It owns a state directory — the store (`hoist.db`), the API socket (`agent.sock`), a lock
//! (`agent.lock`, one agent per directory), replica logs (`logs/APP/replica-N.log`) and the
//! deployed binaries (`artifacts/sha256-…`) — and runs:
//! - one controller task per app ([`controller`]), which owns the app's replicas and rollout;
//! - the ingress proxy, and its admin listener ([`admin`]): metrics, and a read-only dashboard
//!   of the apps with per-revision error rate and latency over time ([`series`]);
//! - the JSON API on the Unix socket ([`server`]), which the CLI's commands are clients of.
//!
//! Crash safety: everything the agent decides is in the store before it acts on it, and every
//! replica carries `HOIST_AGENT_ID` in its environment. An agent started again after a SIGKILL
//! adopts the replicas it finds alive, stops those it no longer wants (and any process of its
//! own it had started but not recorded), restarts what is missing, and resumes a rollout that
//! was in progress ([`recover`]).

mod admin;
mod canary;
mod chaos;
mod check;
mod context;
mod controller;
mod dashboard;
mod diagnose;
mod logs_api;
mod receive;
mod reconcile;
mod recover;
mod replica;
mod retire;
mod revision;
mod series;
mod server;
mod steer;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{Notify, mpsc, oneshot};

pub use context::LogLimits;
pub use receive::{ReceiveError, receive_blob};

/// The directory of the agent's store that holds the blob `digest` (a binary it runs, named
/// after its app inside): `STATE/artifacts/sha256-HEX`. Whether it exists is what a host's
/// agent has; `hoist agent --has` answers from it, so the layout stays the agent's.
pub fn artifact_dir(
    state_dir: &std::path::Path,
    digest: &hoist_core::Digest,
) -> std::path::PathBuf {
    state_dir
        .join("artifacts")
        .join(format!("sha256-{}", digest.hex()))
}

use crate::backoff::BackoffPolicy;
use crate::proxy::Proxy;
use crate::store::Store;
use context::Ctx;

/// The state directory's subdirectory for the apps' own data (`run.state`).
pub(crate) const DATA_DIR: &str = "data";
use controller::{Controller, Msg};

/// Set in every replica's environment to the agent's id, so a restarted agent knows its own.
pub const AGENT_ID_ENV: &str = "HOIST_AGENT_ID";
/// Set in every replica's environment to `APP/REVISION/REPLICA`.
pub const REPLICA_ENV: &str = "HOIST_REPLICA";

/// The socket file in the state directory.
pub const SOCKET: &str = "agent.sock";

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The state directory.
    pub state_dir: PathBuf,
    /// The ingress proxy's address.
    pub proxy: String,
    /// The admin address: metrics (`/metrics`) and the dashboard (`/`).
    pub admin: String,
    /// Restart back-off for crashing replicas.
    pub backoff: BackoffPolicy,
    /// Replica log sizes.
    pub logs: LogLimits,
    /// hoist's version, for `GET /v1/agent`.
    pub version: String,
    /// The Docker Engine API of the container driver (`DOCKER_HOST`; default dockerd's socket).
    pub engine_host: Option<String>,
    /// Listening sockets handed over by a parent (`hoist agent --supervise`, or systemd socket
    /// activation), used instead of binding `proxy` and `admin`: they outlive this agent, so a
    /// client connecting while it restarts waits in the kernel's backlog instead of being
    /// refused.
    pub inherited: Option<Inherited>,
    /// The proxy over TLS as well, if asked.
    pub tls: Option<TlsOptions>,
}

/// The proxy over TLS: where, with which certificate, and whether plain HTTP redirects to it.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// The HTTPS address, `HOST:PORT`.
    pub listen: String,
    /// Where the certificate comes from.
    pub certs: CertSource,
    /// Answer plain-HTTP requests with a redirect to HTTPS.
    pub redirect: bool,
}

/// Where the HTTPS listener's certificate comes from.
#[derive(Debug, Clone)]
pub enum CertSource {
    /// PEM files the user gives: read once at start, the key never logged.
    Files {
        /// The certificate chain (PEM), the server's first.
        cert: PathBuf,
        /// Its private key (PEM).
        key: PathBuf,
    },
    /// An ACME CA, through HTTP-01 on the plain listener, renewed by the agent.
    Acme(crate::acme::AcmeOptions),
}

/// The proxy's and the admin's listening sockets, bound by someone else. Shared (cloning
/// shares the sockets), so the config stays a plain value.
#[derive(Debug, Clone)]
pub struct Inherited {
    /// The proxy's.
    pub proxy: Arc<std::net::TcpListener>,
    /// The admin address's.
    pub admin: Arc<std::net::TcpListener>,
    /// The HTTPS address's, when the parent holds one too.
    pub tls: Option<Arc<std::net::TcpListener>>,
}

impl Inherited {
    fn take(
        listener: &std::net::TcpListener,
        what: &'static str,
        addr: &str,
    ) -> Result<TcpListener, AgentError> {
        let err = |source| AgentError::Listen {
            what,
            addr: addr.to_owned(),
            source,
        };
        let own = listener.try_clone().map_err(err)?;
        own.set_nonblocking(true).map_err(err)?;
        TcpListener::from_std(own).map_err(err)
    }
}

/// Why the agent cannot start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The state directory cannot be used.
    #[error("cannot use the state directory `{path}`")]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Another agent holds the state directory.
    #[error("another hoist agent runs with the state directory `{0}`")]
    AlreadyRunning(PathBuf),
    /// The store cannot be opened.
    #[error("cannot open the agent's store `{path}`")]
    Store {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// A listener cannot be bound.
    #[error("cannot listen on {what} `{addr}`")]
    Listen {
        /// `the proxy address` or `the admin address`.
        what: &'static str,
        /// The address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The certificate or key cannot be used.
    #[error(transparent)]
    Tls(#[from] crate::proxy::tls::TlsError),
}

/// The running agent, shared by the API handlers.
pub(crate) struct Agent {
    pub(crate) ctx: Arc<Ctx>,
    pub(crate) config: AgentConfig,
    controllers: Mutex<HashMap<String, mpsc::Sender<Msg>>>,
    pub(crate) shutdown: Notify,
    /// The HTTPS listener's certificate, kept current by the ACME task.
    pub(crate) tls: Option<crate::acme::TlsState>,
}

impl Agent {
    /// The controller of `app`, started if it does not run.
    pub(crate) fn controller(&self, app: &str) -> mpsc::Sender<Msg> {
        let mut map = self
            .controllers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(tx) = map.get(app)
            && !tx.is_closed()
        {
            return tx.clone();
        }
        let (c, tx) = Controller::new(app, Arc::clone(&self.ctx));
        tokio::spawn(c.run());
        map.insert(app.to_owned(), tx.clone());
        tx
    }

    /// The status of `app` from its controller, if one runs.
    pub(crate) async fn status_of(&self, app: &str) -> Option<crate::api::AppStatus> {
        let tx = self.running_controller(app)?;
        let (reply, wait) = oneshot::channel();
        tx.send(Msg::Status { reply }).await.ok()?;
        wait.await.ok()
    }

    /// The controller of `app`, if it runs.
    pub(crate) fn running_controller(&self, app: &str) -> Option<mpsc::Sender<Msg>> {
        let map = self
            .controllers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(app).filter(|tx| !tx.is_closed()).cloned()
    }

    /// The controllers that run now.
    pub(crate) fn running(&self) -> Vec<(String, mpsc::Sender<Msg>)> {
        let map = self
            .controllers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.iter()
            .filter(|(_, tx)| !tx.is_closed())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn insert(&self, app: &str, tx: mpsc::Sender<Msg>) {
        self.controllers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(app.to_owned(), tx);
    }
}

/// Runs the agent until it is asked to stop (`POST /v1/agent/shutdown`, SIGTERM or SIGINT),
/// then drains and stops every replica and returns. `ready` is called once it serves.
///
/// # Errors
/// [`AgentError`] when it cannot start: the state directory, the store, a listener.
pub async fn run(config: AgentConfig, ready: impl FnOnce(&AgentConfig)) -> Result<(), AgentError> {
    let dir = &config.state_dir;
    let state_err = |source| AgentError::StateDir {
        path: dir.clone(),
        source,
    };
    crate::private::create_dir(dir).map_err(state_err)?;
    let _lock = lock(dir)?;
    // Data of the apps' own (`run.state`) keeps the modes the apps give it.
    let loose = crate::private::tighten(dir, &[Path::new(DATA_DIR)]).map_err(state_err)?;
    if let Some(first) = loose.first() {
        tracing::warn!(
            "the state directory `{}` had {} entries readable by other users (e.g. `{}`); they are now private to this user (directories 0700, files 0600)",
            dir.display(),
            loose.len(),
            first.display()
        );
    }
    let db = dir.join("hoist.db");
    // SQLite gives its -wal and -shm files the mode of the database file.
    if !db.exists() {
        crate::private::write(&db, b"", crate::private::FILE_MODE).map_err(state_err)?;
    }
    let store = Store::open(&db).map_err(|source| AgentError::Store {
        path: db.clone(),
        source,
    })?;
    let agent_id = agent_id(dir).map_err(state_err)?;
    crate::private::write(
        &dir.join("agent.pid"),
        std::process::id().to_string().as_bytes(),
        crate::private::FILE_MODE,
    )
    .map_err(state_err)?;
    let (proxy_listener, admin_listener) = match &config.inherited {
        Some(i) => (
            Inherited::take(&i.proxy, "the proxy address", &config.proxy)?,
            Inherited::take(&i.admin, "the admin address", &config.admin)?,
        ),
        None => (
            bind(&config.proxy, "the proxy address").await?,
            bind(&config.admin, "the admin address").await?,
        ),
    };
    // TLS: the certificate files checked and the address bound before anything else is
    // served; an ACME certificate comes later (from the last run's files at once, else from
    // the CA while the plain listener answers its challenge).
    let tls = match &config.tls {
        Some(t) => {
            let listener = match config.inherited.as_ref().and_then(|i| i.tls.as_ref()) {
                Some(l) => Inherited::take(l, "the HTTPS address", &t.listen)?,
                None => bind(&t.listen, "the HTTPS address").await?,
            };
            let certs = Arc::new(crate::proxy::tls::Certs::default());
            let info = match &t.certs {
                CertSource::Files { cert, key } => {
                    let loaded = crate::proxy::tls::load(cert, key)?;
                    let not_after = loaded.cert.first().and_then(|c| crate::acme::not_after(c));
                    certs.set(loaded);
                    tls_info(&t.listen, "files", Vec::new(), not_after)
                }
                CertSource::Acme(a) => tls_info(&t.listen, "acme", a.domains.clone(), None),
            };
            Some((listener, certs, t, Arc::new(Mutex::new(info))))
        }
        None => None,
    };
    let socket = dir.join(SOCKET);
    let _ = std::fs::remove_file(&socket);
    let api = UnixListener::bind(&socket).map_err(state_err)?;

    let proxy = Proxy::new();
    let ctx = Arc::new(Ctx::new(
        dir.clone(),
        agent_id,
        store,
        Arc::clone(&proxy),
        config.backoff,
        config.logs,
        config.engine_host.clone(),
    ));
    let agent = Arc::new(Agent {
        ctx: Arc::clone(&ctx),
        config: config.clone(),
        controllers: Mutex::new(HashMap::new()),
        shutdown: Notify::new(),
        tls: tls.as_ref().map(|(_, _, _, info)| Arc::clone(info)),
    });
    for (app, tx) in recover::recover(&ctx).await {
        agent.insert(&app, tx);
    }
    let proxy_task = tokio::spawn(Arc::clone(&proxy).serve(proxy_listener));
    let mut tls_tasks = Vec::new();
    if let Some((listener, certs, t, info)) = tls {
        if t.redirect {
            let port = listener.local_addr().map_or(443, |a| a.port());
            proxy.redirect_to_https(port);
        }
        if let CertSource::Acme(opts) = &t.certs {
            crate::acme::serve_stored(opts, &dir.join(crate::acme::DIR), &certs);
            tls_tasks.push(tokio::spawn(crate::acme::run(
                opts.clone(),
                dir.join(crate::acme::DIR),
                Arc::clone(&proxy),
                Arc::clone(&certs),
                info,
            )));
        }
        tls_tasks.push(tokio::spawn(
            Arc::clone(&proxy).serve_tls(listener, crate::proxy::tls::acceptor(certs)),
        ));
    }
    let series = series::shared();
    let sampler_task = tokio::spawn(series::run(Arc::clone(&proxy), Arc::clone(&series)));
    let admin_task = tokio::spawn(admin::serve(Arc::clone(&agent), series, admin_listener));
    let api_task = tokio::spawn(server::serve(Arc::clone(&agent), api));
    tracing::info!(proxy = %config.proxy, admin = %config.admin, state = %dir.display(), "agent ready");
    ready(&config);

    tokio::select! {
        () = agent.shutdown.notified() => {}
        () = signals() => {}
    }
    tracing::info!("agent stopping: draining and stopping every replica");
    let mut waits = Vec::new();
    for (_, tx) in agent.running() {
        let (reply, wait) = oneshot::channel();
        if tx.send(Msg::Shutdown { reply }).await.is_ok() {
            waits.push(wait);
        }
    }
    for w in waits {
        let _ = w.await;
    }
    api_task.abort();
    proxy_task.abort();
    for t in &tls_tasks {
        t.abort();
    }
    admin_task.abort();
    sampler_task.abort();
    let _ = std::fs::remove_file(&socket);
    let _ = std::fs::remove_file(dir.join("agent.pid"));
    Ok(())
}

/// What `GET /v1/agent` says of the HTTPS listener at start.
fn tls_info(
    listen: &str,
    source: &str,
    domains: Vec<String>,
    not_after: Option<i64>,
) -> crate::api::TlsInfo {
    crate::api::TlsInfo {
        listen: listen.to_owned(),
        source: source.to_owned(),
        domains,
        not_after,
        error: None,
    }
}

async fn signals() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

async fn bind(addr: &str, what: &'static str) -> Result<TcpListener, AgentError> {
    let err = |source| AgentError::Listen {
        what,
        addr: addr.to_owned(),
        source,
    };
    let parsed: SocketAddr = addr.parse().map_err(|_| {
        err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "expected HOST:PORT, like 127.0.0.1:8080",
        ))
    })?;
    TcpListener::bind(parsed).await.map_err(err)
}

/// Takes the state directory's lock for the agent's lifetime.
fn lock(dir: &Path) -> Result<nix::fcntl::Flock<std::fs::File>, AgentError> {
    let path = dir.join("agent.lock");
    let file = crate::private::append(&path).map_err(|source| AgentError::StateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock)
        .map_err(|_| AgentError::AlreadyRunning(dir.to_path_buf()))
}

/// The id of this state directory's agent, made once.
fn agent_id(dir: &Path) -> std::io::Result<String> {
    let path = dir.join("agent-id");
    if let Ok(id) = std::fs::read_to_string(&path)
        && !id.trim().is_empty()
    {
        return Ok(id.trim().to_owned());
    }
    let seed = format!(
        "{}-{:?}-{}",
        std::process::id(),
        std::time::SystemTime::now(),
        dir.display()
    );
    let id = hoist_core::Digest::of(seed.as_bytes()).hex()[..16].to_owned();
    crate::private::write(&path, id.as_bytes(), crate::private::FILE_MODE)?;
    Ok(id)
}
