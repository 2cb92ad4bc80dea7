//! The proxy's workers: one thread per core (as nginx's worker processes), each running its own
//! single-threaded runtime that serves the connections handed to it from start to end. A
//! request, its upstream connection and that connection's task all live on one thread, so
//! forwarding costs no cross-thread wake-up; each worker keeps its own idle upstream connections
//! ([`super::Backend`] pools are per worker).
//!
//! Connections are accepted in one place and dealt to the workers in turn. Workers accepting
//! from the shared socket themselves let a load generator's keep-alive connections, all opened
//! at once, land unevenly (one core saturated, the other idle for the whole run), which showed as
//! a wide spread between benchmark rounds; dealing them costs one hand-off per connection, not
//! per request.

use std::cell::Cell;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::{Arc, OnceLock};

use tokio::net::TcpListener;
use tokio::sync::mpsc;

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

/// A connection on its way to a worker.
type Handed = (std::net::TcpStream, SocketAddr);

/// Starts `count` workers and deals them the connections accepted on `listener`, until the
/// returned future is dropped (the workers then stop serving new connections and end once
/// their channels close) or no worker could be started.
pub(crate) async fn run(proxy: Arc<Proxy>, listener: TcpListener, count: NonZeroUsize) {
    let mut workers = Vec::with_capacity(count.get());
    for index in 0..count.get() {
        let (hand, mut handed) = mpsc::unbounded_channel::<Handed>();
        let proxy = Arc::clone(&proxy);
        let started = std::thread::Builder::new()
            .name(format!("hoist-proxy-{index}"))
            .spawn(move || {
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
                    while let Some((stream, peer)) = handed.recv().await {
                        match tokio::net::TcpStream::from_std(stream) {
                            Ok(s) => Arc::clone(&proxy).serve_connection(s, peer),
                            Err(e) => {
                                tracing::debug!(%peer, error = %e, "cannot serve a connection");
                            }
                        }
                    }
                });
            });
        match started {
            Ok(_) => workers.push(hand),
            Err(e) => tracing::error!(index, error = %e, "cannot start a proxy worker thread"),
        }
    }
    if workers.is_empty() {
        return;
    }
    let mut next = 0;
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        // A worker whose thread has ended is skipped; with none left, serving ends.
        let mut item = (stream, peer);
        let mut tried = 0;
        loop {
            match workers[next % workers.len()].send(item) {
                Ok(()) => break,
                Err(mpsc::error::SendError(back)) => {
                    item = back;
                    tried += 1;
                    if tried == workers.len() {
                        tracing::error!("every proxy worker has stopped");
                        return;
                    }
                }
            }
            next += 1;
        }
        next += 1;
    }
}
