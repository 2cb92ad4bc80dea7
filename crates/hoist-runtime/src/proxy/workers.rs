//! The proxy's workers: one thread per core (as nginx's worker processes), each running its own
//! single-threaded runtime that accepts from the shared listening socket and serves the
//! connections it accepted from start to end. A request, its upstream connection and that
//! connection's task all live on one thread, so forwarding costs no cross-thread wake-up; each
//! worker keeps its own idle upstream connections ([`super::Backend`] pools are per worker).

use std::cell::Cell;
use std::num::NonZeroUsize;
use std::sync::{Arc, OnceLock};

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use super::Proxy;

thread_local! {
    static WORKER: Cell<usize> = const { Cell::new(0) };
}

/// The index of the worker running on this thread (0 on any other thread).
pub(crate) fn current() -> usize {
    WORKER.with(Cell::get)
}

/// One worker per core: what [`Proxy::serve`] runs, and how many upstream pools a replica has.
pub fn default_count() -> NonZeroUsize {
    static COUNT: OnceLock<NonZeroUsize> = OnceLock::new();
    *COUNT.get_or_init(|| std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN))
}

/// Starts `count` workers on `listener`; they run until the returned future is dropped (or
/// until every worker has failed to start, when it returns).
pub(crate) async fn run(proxy: Arc<Proxy>, listener: TcpListener, count: NonZeroUsize) {
    let listener = match listener.into_std() {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot take over the proxy's listening socket");
            return;
        }
    };
    // Dropping `_stop` (with this future) tells every worker to stop; each holds an `alive`
    // sender until it has, so `exited` ends once all are gone.
    let (_stop, stopped) = watch::channel(());
    let (alive, mut exited) = mpsc::channel::<()>(1);
    for index in 0..count.get() {
        let socket = match listener.try_clone() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(index, error = %e, "cannot share the proxy's listening socket");
                continue;
            }
        };
        let (proxy, mut stopped, alive) = (Arc::clone(&proxy), stopped.clone(), alive.clone());
        let started = std::thread::Builder::new()
            .name(format!("hoist-proxy-{index}"))
            .spawn(move || {
                let _alive = alive;
                WORKER.with(|w| w.set(index));
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(index, error = %e, "cannot start a proxy worker");
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(socket) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!(index, error = %e, "cannot start a proxy worker");
                            return;
                        }
                    };
                    tokio::select! {
                        () = proxy.accept_loop(listener) => {}
                        _ = stopped.changed() => {}
                    }
                });
            });
        if let Err(e) = started {
            tracing::error!(index, error = %e, "cannot start a proxy worker thread");
        }
    }
    drop(alive);
    let _ = exited.recv().await;
}
