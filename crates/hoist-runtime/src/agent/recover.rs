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
    for rec in records {
        let uptime = Duration::from_secs(u64::try_from(now - rec.started_at).unwrap_or(0));
        let alive = match (rec.pid, rec.ticks) {
            (Some(pid), Some(ticks)) => ProcessReplica::adopt(pid, ticks, rec.port, uptime),
            _ => None,
        };
        match alive {
            Some(p) => {
                tracing::info!(app = %rec.app, replica = rec.slot, pid = p.pid(), "adopting a replica");
                groups.insert(p.pid());
                apps.insert(rec.app.clone());
                adopted.entry(rec.app.clone()).or_default().push((
                    rec.revision,
                    rec.slot,
                    Handle::Process(p),
                ));
            }
            None => {
                ctx.record("a gone replica", |s| {
                    s.remove_replica(&rec.app, rec.revision, rec.slot)
                });
            }
        }
    }
    stop_orphans(&ctx.agent_id, &groups).await;

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
        for (rev, id, h) in adopted.remove(&app).unwrap_or_default() {
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

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
