//! What a (re)started agent does before it serves: find the replicas its predecessor left,
//! adopt the live ones, stop processes of its own it has no record of, and hand each app to a
//! controller that resumes where the store says it was.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::sync::mpsc;

use super::context::Ctx;
use super::controller::{Controller, Msg};
use super::replica::Handle;
use crate::driver::process::{ProcessReplica, kill_group};
use crate::driver::procfs;

/// The longest requests wait for an adopted replica to be probed ready again.
const ADOPT_HOLD: std::time::Duration = std::time::Duration::from_secs(2);

/// Adopts, cleans up and starts a controller per app; returns the controllers.
pub(crate) async fn recover(ctx: &Arc<Ctx>) -> Vec<(String, mpsc::Sender<Msg>)> {
    let records = ctx
        .record("the replica records", |s| s.replicas())
        .unwrap_or_default();
    let mut apps: BTreeSet<String> = ctx
        .record("the apps", |s| s.active_apps())
        .unwrap_or_default()
        .into_iter()
        .collect();
    let now = unix_now();
    let mut adopted: HashMap<String, Vec<(u64, u32, Handle)>> = HashMap::new();
    let mut groups = BTreeSet::new();
    let mut containers = BTreeSet::new();
    for rec in records {
        let uptime = Duration::from_secs(u64::try_from(now - rec.started_at).unwrap_or(0));
        let alive = match (rec.pid, rec.ticks, &rec.container) {
            (Some(pid), Some(ticks), _) => {
                ProcessReplica::adopt(pid, ticks, rec.port, uptime).map(|p| {
                    groups.insert(p.pid());
                    // An agent killed while it starved this replica of CPU left it stopped.
                    super::chaos::continue_adopted(p.pid());
                    Handle::Process(p)
                })
            }
            (_, _, Some(id)) => adopt_container(ctx, id).await.inspect(|_| {
                containers.insert(id.clone());
            }),
            _ => None,
        };
        match alive {
            Some(h) => {
                tracing::info!(app = %rec.app, replica = rec.slot, pid = ?h.pid(), container = ?h.container_id(), "adopting a replica");
                apps.insert(rec.app.clone());
                adopted
                    .entry(rec.app.clone())
                    .or_default()
                    .push((rec.revision, rec.slot, h));
            }
            None => {
                ctx.record("a gone replica", |s| {
                    s.remove_replica(&rec.app, rec.revision, rec.slot)
                });
            }
        }
    }
    stop_orphans(&ctx.agent_id, &groups).await;
    remove_orphan_containers(ctx, &containers).await;

    let mut controllers = Vec::new();
    for app in apps {
        let (mut c, tx) = Controller::new(&app, Arc::clone(ctx));
        c.serving = ctx
            .record("the serving revision", |s| s.serving(&app))
            .flatten()
            .map(|r| r.number);
        if let Some(n) = c.serving
            && let Some(spec) = c.spec(n)
        {
            c.set_route(&spec);
        }
        let found = adopted.remove(&app).unwrap_or_default();
        if c.serving.is_some() && !found.is_empty() {
            // The proxy listens again before the adopted replicas are probed: requests wait
            // for the first one (a few milliseconds) rather than getting a 503.
            c.backends.hold(true);
            c.adopt_hold_until = Some(std::time::Instant::now() + ADOPT_HOLD);
        }
        for (rev, id, h) in found {
            c.adopt(rev, id, h);
        }
        if let Some(rev) = ctx
            .record("the rollout in progress", |s| s.rolling_out(&app))
            .flatten()
        {
            c.resume(rev.number);
        }
        tokio::spawn(c.run());
        controllers.push((app, tx));
    }
    controllers
}

/// Kills the process groups of processes that carry this agent's id but belong to no adopted
/// replica: replicas started by an agent killed before it recorded them.
async fn stop_orphans(agent_id: &str, adopted: &BTreeSet<u32>) {
    let me = std::process::id();
    let mut orphans = BTreeSet::new();
    for pid in procfs::pids() {
        if pid == me || procfs::environ_var(pid, super::AGENT_ID_ENV).as_deref() != Some(agent_id) {
            continue;
        }
        match procfs::pgid(pid) {
            Some(g) if adopted.contains(&g) => {}
            Some(g) if g != 0 => {
                orphans.insert(g);
            }
            _ => {}
        }
    }
    for g in &orphans {
        tracing::warn!(pgid = g, "stopping an unrecorded replica of this agent");
        let _ = kill_group(*g, Signal::SIGTERM);
    }
    if !orphans.is_empty() {
        tokio::time::sleep(Duration::from_secs(2)).await;
        for g in &orphans {
            let _ = kill_group(*g, Signal::SIGKILL);
        }
    }
}

/// A container an earlier agent started, if the engine still runs it.
async fn adopt_container(ctx: &Ctx, id: &str) -> Option<Handle> {
    let engine = match ctx.engine().await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, container = id, "cannot reach the engine to adopt a replica");
            return None;
        }
    };
    match engine.adopt(id).await {
        Ok(Some(r)) if matches!(r.try_exited().await, Ok(None)) => Some(Handle::container(r)),
        Ok(Some(r)) => {
            let _ = r.stop(Duration::ZERO).await;
            None
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, container = id, "cannot adopt a replica");
            None
        }
    }
}

/// Removes containers labelled with this agent's id that no adopted replica is: started by an
/// agent killed before it recorded them. Without a reachable engine there is nothing to do.
async fn remove_orphan_containers(ctx: &Ctx, adopted: &BTreeSet<String>) {
    let Ok(Ok(engine)) = tokio::time::timeout(Duration::from_secs(3), ctx.engine()).await else {
        return;
    };
    let found = match engine
        .list_labelled(super::revision::AGENT_LABEL, &ctx.agent_id)
        .await
    {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list this agent's containers");
            return;
        }
    };
    for c in found.into_iter().filter(|c| !adopted.contains(&c.id)) {
        tracing::warn!(container = %c.name, "removing an unrecorded replica container of this agent");
        if let Err(e) = engine.remove(&c.id).await {
            tracing::warn!(error = %e, container = %c.name, "cannot remove a container");
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
