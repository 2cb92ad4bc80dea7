//! Taking replicas out: out of the proxy's rotation first, drained of their in-flight requests,
//! then stopped (SIGTERM, SIGKILL after the grace period) in a task of their own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::controller::{Controller, Msg};
use super::replica::{Handle, Phase, Terminating};
use crate::driver::process::Exit;
use crate::proxy::Backend;

impl Controller {
    /// Retires `n` replicas not of `target`: unready ones, or (`ready`) ready ones, drained.
    pub(crate) fn retire_old(&mut self, target: u64, n: u32, ready: bool) {
        for _ in 0..n {
            let pick = self
                .replicas
                .iter()
                .enumerate()
                .filter(|(_, r)| r.revision != target && r.ready() == ready)
                .min_by_key(|(_, r)| (r.revision, std::cmp::Reverse(r.id)))
                .map(|(i, _)| i);
            match pick {
                Some(i) => self.retire(i),
                None => break,
            }
        }
    }

    pub(crate) fn retire_extra(&mut self, n: usize) {
        for _ in 0..n {
            let pick = self
                .replicas
                .iter()
                .enumerate()
                .min_by_key(|(_, r)| (r.ready(), std::cmp::Reverse(r.id)))
                .map(|(i, _)| i);
            if let Some(i) = pick {
                self.retire(i);
            }
        }
    }

    /// Takes replica `i` out for good: out of the rotation, drained, then stopped.
    pub(crate) fn retire(&mut self, i: usize) {
        let r = self.replicas.remove(i);
        let drain = r.backend.clone();
        if r.backend.is_some() {
            self.rotation_dirty = true;
            // Out of the rotation before anything else, so no new request reaches it.
            self.publish_rotation();
        }
        let grace = self
            .spec(r.revision)
            .map_or(Duration::from_secs(30), |s| s.run.termination_grace);
        match r.phase {
            Phase::Running(h) => {
                self.terminating.push(Terminating {
                    id: r.id,
                    revision: r.revision,
                    incarnation: r.incarnation,
                    port: r.port,
                    pid: h.pid(),
                    container: h.container_id(),
                    since: Instant::now(),
                    grace,
                });
                self.progress(
                    Some(r.revision),
                    format!(
                        "replica {} (revision {}) {}",
                        r.id,
                        r.revision,
                        if drain.is_some() {
                            "leaves the rotation and is drained, then stopped"
                        } else {
                            "is stopped"
                        }
                    ),
                );
                self.stop_in_background(r.id, r.incarnation, h, Some(grace), drain);
            }
            Phase::Starting => {
                // The start task reports back, finds it gone, and stops it.
                self.terminating.push(Terminating {
                    id: r.id,
                    revision: r.revision,
                    incarnation: r.incarnation,
                    port: r.port,
                    pid: None,
                    container: None,
                    since: Instant::now(),
                    grace,
                });
            }
            Phase::Restarting | Phase::BackOff { .. } => {
                self.ctx.record("a stopped replica", |s| {
                    s.remove_replica(&self.app, r.revision, r.id)
                });
            }
        }
    }

    /// Stops `h` in a task: waits (up to `grace`) for the in-flight requests of `drain`, the
    /// replica's place in the rotation it just left, then SIGTERM, then SIGKILL after `grace`
    /// (`None`: at once).
    pub(crate) fn stop_in_background(
        &self,
        id: u32,
        incarnation: u64,
        h: Handle,
        grace: Option<Duration>,
        drain_first: Option<Arc<Backend>>,
    ) {
        let tx = self.tx.clone();
        let grace = grace.unwrap_or(Duration::ZERO);
        tokio::spawn(async move {
            if let Some(b) = drain_first {
                drain(&b, grace).await;
            }
            let (exit, killed) = h.stop(grace).await.unwrap_or((Exit::UNKNOWN, false));
            let _ = tx
                .send(Msg::Stopped {
                    id,
                    incarnation,
                    exit,
                    killed,
                })
                .await;
        });
    }

    /// A stop task finished.
    pub(crate) fn stopped(&mut self, id: u32, incarnation: u64, exit: Exit, killed: bool) {
        if let Some(i) = self
            .terminating
            .iter()
            .position(|t| t.id == id && t.incarnation == incarnation)
        {
            let t = self.terminating.remove(i);
            self.ctx.record("a stopped replica", |s| {
                s.remove_replica(&self.app, t.revision, t.id)
            });
            let how = if killed {
                "was killed after its grace period".to_owned()
            } else {
                format!("stopped ({exit})")
            };
            self.progress(Some(t.revision), format!("replica {id} {how}"));
            return;
        }
        // A restart after a failed liveness or startup probe.
        let policy = self.ctx.backoff;
        if let Some(r) = self
            .replicas
            .iter_mut()
            .find(|r| r.id == id && r.incarnation == incarnation)
            && matches!(r.phase, Phase::Restarting)
        {
            let delay = r.backoff.crashed(&policy, r.started.elapsed());
            r.phase = Phase::BackOff {
                until: Instant::now() + delay,
            };
        }
    }
}

/// Waits until `backend` has no request in flight, or `grace` is over.
async fn drain(backend: &Backend, grace: Duration) {
    // A request that picked the replica just before the swap is counted a moment later.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let deadline = Instant::now() + grace;
    while backend.in_flight() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
