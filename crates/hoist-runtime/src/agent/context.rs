//! What every app controller of the agent shares: the store, the proxy and its routes, the
//! state directory and the policies.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::backoff::BackoffPolicy;
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
}

impl Ctx {
    pub(crate) fn new(
        state_dir: PathBuf,
        agent_id: String,
        store: Store,
        proxy: Arc<Proxy>,
        backoff: BackoffPolicy,
        logs: LogLimits,
    ) -> Self {
        Self {
            state_dir,
            agent_id,
            store: Mutex::new(store),
            proxy,
            routes: Mutex::new(BTreeMap::new()),
            backoff,
            logs,
        }
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

    /// Other apps routed without an ingress host: while there are several, none answers a
    /// request whose Host matches no app.
    pub(crate) fn other_hostless(&self, app: &str) -> Vec<String> {
        self.routes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .filter(|r| r.host.is_none() && r.app != app)
            .map(|r| r.app.clone())
            .collect()
    }

    /// Where an app's replica logs go.
    pub(crate) fn log_dir(&self, app: &str) -> PathBuf {
        self.state_dir.join("logs").join(app)
    }
}
