//! `hoist chaos`: faults injected into one revision, bounded in time, by the agent and its proxy.
//!
//! - In the proxy ([`crate::proxy::faults`]): added latency, a share of requests answered with
//!   an error status, a share of connections reset. They end by themselves at their end time,
//!   and live in the agent's memory, so a killed agent leaves none behind.
//! - On the replicas: a kill -9 of one ready replica (the agent restarts it as it would after
//!   any crash), and CPU starvation — its process group stopped (SIGSTOP) for a share of every
//!   100 ms and continued (SIGCONT) for the rest. A task of its own does the pausing and always
//!   ends with SIGCONT; an agent killed mid-fault leaves a replica stopped, so a starting agent
//!   continues every replica it adopts ([`continue_adopted`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::controller::{Controller, Refused};
use super::replica::{Handle, Phase};
use crate::api::{ChaosReport, ChaosRequest};
use crate::driver::process::kill_group;
use crate::proxy::faults::ProxyFault;

/// The longest a fault may last.
const MAX_CHAOS: Duration = Duration::from_hours(1);
/// The period of CPU starvation: stopped for the share, continued for the rest.
const STARVE_PERIOD: Duration = Duration::from_millis(100);

impl Controller {
    /// Injects `req`'s faults; refused when the revision has no ready replica or the request
    /// makes no sense.
    pub(crate) fn chaos(&mut self, req: &ChaosRequest) -> Result<ChaosReport, Refused> {
        let revision = req
            .revision
            .or_else(|| {
                self.active
                    .as_ref()
                    .filter(|a| a.canary.is_some())
                    .map(|a| a.target)
            })
            .or(self.serving)
            .ok_or_else(|| {
                Refused::new(409, format!("`{}` has no serving revision", self.app), None)
            })?;
        let seconds = Duration::from_secs(req.seconds);
        if seconds.is_zero() || seconds > MAX_CHAOS {
            return Err(Refused::new(
                400,
                format!(
                    "a fault lasts from 1 s to {} s, not {} s",
                    MAX_CHAOS.as_secs(),
                    req.seconds
                ),
                None,
            ));
        }
        if req.cpu_percent > 95
            || u16::from(req.proxy.abort_percent) + u16::from(req.proxy.reset_percent) > 100
        {
            return Err(Refused::new(
                400,
                "shares are percentages: abort and reset up to 100 together, cpu up to 95 (a replica stopped all the time is a kill)".to_owned(),
                None,
            ));
        }
        let ready: Vec<usize> = (0..self.replicas.len())
            .filter(|&i| self.replicas[i].revision == revision && self.replicas[i].ready())
            .collect();
        if ready.is_empty() {
            return Err(Refused::new(
                409,
                format!(
                    "revision {revision} of `{}` has no ready replica to inject faults into",
                    self.app
                ),
                Some("`hoist status` shows its replicas"),
            ));
        }
        let processes = ready
            .iter()
            .filter(|&&i| matches!(self.replicas[i].phase, Phase::Running(Handle::Process(_))))
            .count();
        if req.cpu_percent > 0 && processes != ready.len() {
            return Err(Refused::new(
                409,
                "CPU starvation pauses the replicas' processes: the process driver only".to_owned(),
                None,
            ));
        }
        let until = Instant::now() + seconds;
        let (injected, _ends) = self.inject(
            revision,
            &ready,
            req.kill,
            req.cpu_percent,
            &req.proxy,
            until,
        );
        if injected.is_empty() {
            return Err(Refused::new(
                400,
                "no fault given".to_owned(),
                Some("`--kill`, `--latency 200ms`, `--abort 10%`, `--reset 5%` or `--cpu 50%`"),
            ));
        }
        self.progress(
            Some(revision),
            format!(
                "chaos on revision {revision} for {}s: {}",
                seconds.as_secs(),
                injected.join("; ")
            ),
        );
        Ok(ChaosReport {
            revision,
            injected,
            seconds: seconds.as_secs(),
        })
    }

    /// Injects the faults into `revision`, whose ready replicas are `ready` (indexes), until
    /// `until` or until the returned flag is set; what was injected, one line each.
    pub(crate) fn inject(
        &mut self,
        revision: u64,
        ready: &[usize],
        kill: bool,
        cpu_percent: u8,
        proxy: &ProxyFault,
        until: Instant,
    ) -> (Vec<String>, Arc<AtomicBool>) {
        let ends = Arc::new(AtomicBool::new(false));
        let pids: Vec<u32> = ready
            .iter()
            .filter_map(|&i| match &self.replicas[i].phase {
                Phase::Running(h) => h.pid(),
                _ => None,
            })
            .collect();
        let req_proxy = proxy;
        let mut injected = Vec::new();
        if !req_proxy.is_empty() {
            self.ctx.proxy.metrics().traffic().set_fault(
                &self.app,
                &revision.to_string(),
                Some(req_proxy.clone()),
                until,
            );
            if let Some(d) = req_proxy.latency {
                injected.push(format!("+{} ms on each request", d.as_millis()));
            }
            if req_proxy.abort_percent > 0 {
                injected.push(format!(
                    "{}% of requests answered {} by the proxy",
                    req_proxy.abort_percent,
                    req_proxy.abort_status.unwrap_or(503)
                ));
            }
            if req_proxy.reset_percent > 0 {
                injected.push(format!(
                    "{}% of connections reset before an answer",
                    req_proxy.reset_percent
                ));
            }
        }
        if cpu_percent > 0 && !pids.is_empty() {
            tokio::spawn(starve(pids.clone(), cpu_percent, until, Arc::clone(&ends)));
            injected.push(format!(
                "{} replica{} paused {}% of every 100 ms",
                pids.len(),
                if pids.len() == 1 { "" } else { "s" },
                cpu_percent
            ));
        }
        if kill && let Some(&first) = ready.first() {
            let victim = &self.replicas[first];
            let id = victim.id;
            match &victim.phase {
                Phase::Running(Handle::Process(p)) => {
                    let _ = kill_group(p.pid(), Signal::SIGKILL);
                }
                Phase::Running(Handle::Container { replica, .. }) => {
                    let replica = std::sync::Arc::clone(replica);
                    tokio::spawn(async move {
                        let _ = replica.stop(Duration::ZERO).await;
                    });
                }
                _ => {}
            }
            injected.push(format!("replica {id} killed (-9)"));
        }
        (injected, ends)
    }

    /// Ends faults injected with [`Self::inject`] before their time: the proxy's at once, the
    /// starvation at its next period.
    pub(crate) fn end_faults(&self, revision: u64, ends: &AtomicBool) {
        ends.store(true, Ordering::Relaxed);
        self.ctx.proxy.metrics().traffic().set_fault(
            &self.app,
            &revision.to_string(),
            None,
            Instant::now(),
        );
    }
}

/// Pauses the process groups `pids` for `percent` of every [`STARVE_PERIOD`] until `until`,
/// then continues them for good.
async fn starve(pids: Vec<u32>, percent: u8, until: Instant, ends: Arc<AtomicBool>) {
    let stopped = STARVE_PERIOD * u32::from(percent) / 100;
    let signal_all = |s: Signal| {
        for pid in &pids {
            let _ = kill_group(*pid, s);
        }
    };
    while Instant::now() < until && !ends.load(Ordering::Relaxed) {
        signal_all(Signal::SIGSTOP);
        tokio::time::sleep(stopped).await;
        signal_all(Signal::SIGCONT);
        tokio::time::sleep(STARVE_PERIOD.saturating_sub(stopped)).await;
    }
    signal_all(Signal::SIGCONT);
}

/// Continues a replica an agent killed mid-starvation left stopped (SIGCONT to a running
/// process does nothing).
pub(crate) fn continue_adopted(pid: u32) {
    let _ = kill_group(pid, Signal::SIGCONT);
}
