//! What every app controller of the agent shares: the store, the proxy and its routes, the
//! state directory and the policies.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::backoff::BackoffPolicy;
use crate::driver::container::{ContainerError, Engine};
use crate::proxy::{Proxy, Route, RouteTable};
use crate::store::Store;

/// Bytes per replica log file, and rotated files kept.
#[derive(Debug, Clone, Copy)]
pub struct LogLimits {
    /// Bytes before a log is rotated.
    pub max_bytes: u64,
    /// Rotated files kept.
    pub keep: u32,
}

impl Default for LogLimits {
    /// 10 MiB × (1 + 3) per replica.
    fn default() -> Self {
        Self {
            max_bytes: 10 << 20,
            keep: 3,
        }
    }
}

/// The agent's shared state.
pub(crate) struct Ctx {
    pub(crate) state_dir: PathBuf,
    /// Marks this state directory's replicas (`HOIST_AGENT_ID` in their environment), so a
    /// restarted agent recognises replicas it started but had not recorded.
    pub(crate) agent_id: String,
    store: Mutex<Store>,
    pub(crate) proxy: Arc<Proxy>,
    routes: Mutex<BTreeMap<String, Route>>,
    pub(crate) backoff: BackoffPolicy,
    pub(crate) logs: LogLimits,
    /// The container engine (`DOCKER_HOST`), connected when first needed.
    engine_host: Option<String>,
    engine: tokio::sync::OnceCell<Engine>,
}

impl Ctx {
    pub(crate) fn new(
        state_dir: PathBuf,
        agent_id: String,
        store: Store,
        proxy: Arc<Proxy>,
        backoff: BackoffPolicy,
        logs: LogLimits,
        engine_host: Option<String>,
    ) -> Self {
        Self {
            state_dir,
            agent_id,
            store: Mutex::new(store),
            proxy,
            routes: Mutex::new(BTreeMap::new()),
            backoff,
            logs,
            engine_host,
            engine: tokio::sync::OnceCell::new(),
        }
    }

    /// The container engine, connected on first use (a failed connection is tried again next
    /// time: the engine may have been started since).
    pub(crate) async fn engine(&self) -> Result<&Engine, ContainerError> {
        self.engine
            .get_or_try_init(|| Engine::connect(self.engine_host.as_deref()))
            .await
    }

    /// The store; held only for one short query or transaction.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the store, logging (not failing) on an SQLite error: the agent keeps serving
    /// when a write fails, and says so.
    pub(crate) fn record<T>(
        &self,
        what: &str,
        f: impl FnOnce(&mut Store) -> rusqlite::Result<T>,
    ) -> Option<T> {
        match f(&mut self.store()) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::error!(error = %e, "cannot record {what} in the store");
                None
            }
        }
    }

    /// Sets (or with `None` removes) an app's route and republishes the proxy's table.
    pub(crate) fn set_route(&self, app: &str, route: Option<Route>) {
        let mut routes = self
            .routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match route {
            Some(r) => routes.insert(app.to_owned(), r),
            None => routes.remove(app),
        };
        self.proxy
            .set_routes(RouteTable::new(routes.values().cloned().collect()));
    }

    /// The app other than `app` routed at the same host (or none) and path prefix.
    pub(crate) fn route_holder(&self, app: &str, host: Option<&str>, path: &str) -> Option<String> {
        self.routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .find(|r| {
                r.app != app && crate::proxy::same_place(r.host.as_deref(), &r.path, host, path)
            })
            .map(|r| r.app.clone())
    }

    /// The directory an app's replicas keep across restarts and revisions (`run.state`), as
    /// the root of the files a replica sees: `/app` (its binary and working directory) and
    /// the state path below it.
    pub(crate) fn data_dir(&self, app: &str) -> PathBuf {
        self.state_dir.join(super::DATA_DIR).join(app)
    }

    /// Where an app's replica logs go.
    pub(crate) fn log_dir(&self, app: &str) -> PathBuf {
        self.state_dir.join("logs").join(app)
    }
}
