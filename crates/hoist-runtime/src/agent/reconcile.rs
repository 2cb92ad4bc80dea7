//! The controller's tick: observe the replicas (exits, due probes, ports), then act — restart
//! what crashed after its back-off, step the rollout (or hold the serving revision at its
//! replica count), and publish the ready replicas to the proxy.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::check::{self, ExecVia};
use super::controller::{Controller, Msg};
use super::replica::{Handle, Phase, Replica};
use super::revision;
use crate::RuntimeError;
use crate::api::AppSpec;
use crate::driver::process::Exit;
use crate::probe::{ProbeKind, ReplicaHealth};
use crate::proxy::Backend;
use crate::store::ReplicaRecord;

/// How long a replica may run without listening on its port before the agent looks at which
/// ports it does listen on.
const PORT_CHECK_AFTER: Duration = Duration::from_secs(1);

/// Crashes in a row that make a crash loop (the first restart is immediate; the second waits).
const CRASH_LOOP: u32 = 2;

impl Controller {
    /// One tick.
    pub(crate) fn reconcile(&mut self, now: Instant) {
        self.observe_exits(now);
        self.restart_due(now);
        self.run_due_probes(now);
        self.check_ports(now);
        if self.ending.is_none() {
            if self.active.is_some() {
                self.step_rollout(now);
            } else {
                self.hold_serving();
            }
        }
        self.publish_rotation();
        if let Some(until) = self.adopt_hold_until
            && (!self.backends.snapshot().is_empty() || now >= until)
        {
            self.adopt_hold_until = None;
            // Unless a resumed rollout holds requests for a gap of its own.
            if self.active.as_ref().is_none_or(|a| a.unserved.is_none()) {
                self.backends.hold(false);
            }
        }
        if now >= self.next_log_rotation {
            self.next_log_rotation = now + Duration::from_secs(5);
            self.rotate_logs();
        }
    }

    fn observe_exits(&mut self, now: Instant) {
        let policy = self.ctx.backoff;
        let log_dir = self.ctx.log_dir(&self.app);
        let mut lines = Vec::new();
        let mut crashed_revisions = Vec::new();
        for r in &mut self.replicas {
            let Phase::Running(h) = &mut r.phase else {
                continue;
            };
            let Some(exit) = h.try_exited() else {
                continue;
            };
            let uptime = r.started.elapsed();
            if r.backend.take().is_some() {
                self.rotation_dirty = true;
            }
            let delay = r.backoff.crashed(&policy, uptime);
            let last = last_log_line(&revision::log_policy(&log_dir, r.id, self.ctx.logs))
                .map_or_else(String::new, |l| format!("; its last line: {l}"));
            r.last_error = Some(format!("the process {exit}{last}"));
            r.last_exit = Some(exit);
            if r.backoff.consecutive >= CRASH_LOOP {
                r.unhealthy = Some(format!(
                    "replica {} is crash-looping: the process {exit}, {} times in a row{last} (see `hoist logs --replica {}`)",
                    r.id, r.backoff.consecutive, r.id
                ));
                r.last_error = Some(format!("CrashLoopBackOff: the process {exit}{last}"));
            }
            crashed_revisions.push(r.revision);
            r.phase = Phase::BackOff { until: now + delay };
            lines.push((
                r.revision,
                r.id,
                format!(
                    "replica {} {exit}; restarting {}",
                    r.id,
                    if delay.is_zero() {
                        "now".to_owned()
                    } else {
                        format!("in {}s", delay.as_secs())
                    }
                ),
            ));
        }
        // A crash of one replica may come from a sibling holding a fixed port: look now.
        for r in &mut self.replicas {
            if crashed_revisions.contains(&r.revision) {
                r.next_port_check = now;
            }
        }
        for (rev, id, line) in lines {
            self.ctx
                .record("a replica's exit", |s| s.remove_replica(&self.app, rev, id));
            self.progress(Some(rev), line);
        }
    }

    fn restart_due(&mut self, now: Instant) {
        let due: Vec<usize> = self
            .replicas
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.phase, Phase::BackOff { until } if until <= now))
            .map(|(i, _)| i)
            .collect();
        for i in due {
            self.launch(i);
        }
    }

    /// Starts (or restarts) replica `i` in a task of its own.
    fn launch(&mut self, i: usize) {
        let incarnation = self.next_incarnation;
        self.next_incarnation += 1;
        let (id, rev) = (self.replicas[i].id, self.replicas[i].revision);
        let Some(spec) = self.spec(rev) else {
            return;
        };
        let launch = revision::launch(&self.ctx, &spec, rev, id, incarnation);
        let r = &mut self.replicas[i];
        r.incarnation = incarnation;
        r.phase = Phase::Starting;
        r.probing.clear();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let result = launch.start().await;
            let _ = tx
                .send(Msg::Started {
                    id,
                    incarnation,
                    result,
                })
                .await;
        });
    }

    /// A new replica of revision `rev`.
    pub(crate) fn add_replica(&mut self, rev: u64) {
        let Some(spec) = self.spec(rev) else {
            return;
        };
        let id = self.next_id;
        self.next_id += 1;
        self.replicas.push(Replica {
            id,
            revision: rev,
            incarnation: 0,
            phase: Phase::Starting,
            port: 0,
            health: ReplicaHealth::new(&spec.run.health, Instant::now()),
            backoff: crate::backoff::Backoff::default(),
            backend: None,
            probing: Vec::new(),
            last_error: None,
            probe_results: super::replica::ProbeResults::default(),
            last_exit: None,
            unhealthy: None,
            ignores_port: false,
            started: Instant::now(),
            next_port_check: Instant::now() + PORT_CHECK_AFTER,
            ready_since: None,
        });
        let i = self.replicas.len() - 1;
        self.launch(i);
    }

    /// A start task finished.
    pub(crate) fn started(
        &mut self,
        id: u32,
        incarnation: u64,
        result: Result<Handle, RuntimeError>,
    ) {
        let Some(i) = self
            .replicas
            .iter()
            .position(|r| r.id == id && r.incarnation == incarnation)
        else {
            // Retired while it was starting: stop what started.
            if let Ok(h) = result {
                self.stop_in_background(id, incarnation, h, None, None);
            }
            return;
        };
        let rev = self.replicas[i].revision;
        let Some(spec) = self.spec(rev) else {
            return;
        };
        let now = Instant::now();
        match result {
            Ok(handle) => {
                let record = ReplicaRecord {
                    app: self.app.clone(),
                    revision: rev,
                    slot: id,
                    pid: handle.pid(),
                    ticks: handle.ticks(),
                    container: handle.container_id(),
                    port: handle.port(),
                    started_at: unix_now(),
                };
                self.ctx
                    .record("a started replica", |s| s.put_replica(&record));
                let r = &mut self.replicas[i];
                r.port = handle.port();
                r.started = now;
                r.next_port_check = now + PORT_CHECK_AFTER;
                r.health = ReplicaHealth::new(&spec.run.health, now);
                let what = match handle.pid() {
                    Some(pid) => format!("pid {pid}"),
                    None => handle.container_id().unwrap_or_default(),
                };
                r.phase = Phase::Running(handle);
                let line = format!("replica {id} started ({what}, port {})", r.port);
                // A marker in its log: `hoist logs` shows where each incarnation began, and of
                // which revision.
                let log = revision::log_policy(&self.ctx.log_dir(&self.app), id, self.ctx.logs);
                if let Ok(mut f) = crate::private::append(&log.path) {
                    let _ = std::io::Write::write_all(
                        &mut f,
                        format!(
                            "{}replica {id} of revision {rev} started ({what})\n",
                            super::diagnose::MARKER
                        )
                        .as_bytes(),
                    );
                }
                self.progress(Some(rev), line);
                // A spec without any readiness or startup probe (one stored by an older hoist,
                // or sent by another client) is ready as soon as it runs: no probe result will
                // ever say so.
                if self.replicas[i].health.ready() {
                    enter_rotation(&mut self.replicas[i]);
                    self.rotation_dirty = true;
                    self.progress(Some(rev), format!("replica {id} is ready"));
                }
            }
            Err(e) => {
                let message = crate::report_chain(&e);
                let r = &mut self.replicas[i];
                let delay = r.backoff.crashed(&self.ctx.backoff, Duration::ZERO);
                r.last_error = Some(message.clone());
                // A binary that cannot be started will not start next time either.
                r.unhealthy = Some(format!("replica {id} cannot start: {message}"));
                r.phase = Phase::BackOff {
                    until: now + delay.max(Duration::from_secs(1)),
                };
                self.progress(Some(rev), format!("replica {id} cannot start: {message}"));
            }
        }
    }

    fn run_due_probes(&mut self, now: Instant) {
        for i in 0..self.replicas.len() {
            let r = &self.replicas[i];
            if !matches!(r.phase, Phase::Running(_)) {
                continue;
            }
            let due: Vec<ProbeKind> = r
                .health
                .due(now)
                .into_iter()
                .filter(|k| !r.probing.contains(k))
                .collect();
            if due.is_empty() {
                continue;
            }
            let rev = r.revision;
            let Some(spec) = self.spec(rev) else {
                continue;
            };
            let r = &mut self.replicas[i];
            let Phase::Running(h) = &r.phase else {
                continue;
            };
            let via = exec_via(&spec, h, r);
            for kind in due {
                let Some(probe) = r.health.probe(kind).cloned() else {
                    continue;
                };
                r.probing.push(kind);
                let (tx, id, incarnation, port, via) =
                    (self.tx.clone(), r.id, r.incarnation, r.port, via.clone());
                tokio::spawn(async move {
                    let result = check::run(&probe.action, port, &via, probe.timeout).await;
                    let exited = match (&result, &via) {
                        (Err(_), ExecVia::Container(c)) => c
                            .try_exited()
                            .await
                            .ok()
                            .flatten()
                            .map(super::replica::container_exit),
                        _ => None,
                    };
                    let _ = tx
                        .send(Msg::Probed {
                            id,
                            incarnation,
                            kind,
                            result,
                            exited,
                        })
                        .await;
                });
            }
        }
    }

    /// A probe finished.
    pub(crate) fn probed(
        &mut self,
        id: u32,
        incarnation: u64,
        kind: ProbeKind,
        result: &Result<(), String>,
        exited: Option<Exit>,
    ) {
        let Some(i) = self
            .replicas
            .iter()
            .position(|r| r.id == id && r.incarnation == incarnation)
        else {
            return;
        };
        let Some(spec) = self.spec(self.replicas[i].revision) else {
            return;
        };
        let now = Instant::now();
        let r = &mut self.replicas[i];
        r.probing.retain(|k| *k != kind);
        let Phase::Running(h) = &mut r.phase else {
            return;
        };
        // A check that failed because the replica is gone is a crash, not a probe failure: the
        // next tick sees the exit (and the crash loop, if it is one).
        if result.is_err() && (exited.is_some_and(|e| h.note_exit(e)) || h.try_exited().is_some()) {
            return;
        }
        let ok = result.is_ok();
        match result {
            Err(e) => {
                r.last_error = Some(format!("{} probe: {e}", kind_name(kind)));
                r.probe_results.record(kind, false, e.clone());
            }
            Ok(()) => {
                if let Some(p) = r.health.probe(kind) {
                    let what = super::check::describe(&p.action, r.port);
                    r.probe_results.record(kind, true, format!("{what} passed"));
                }
            }
        }
        let verdict = r.health.record(&spec.run.health, kind, ok, now);
        let mut line = None;
        match verdict.ready_changed {
            Some(true) => {
                enter_rotation(r);
                self.rotation_dirty = true;
                line = Some(format!("replica {id} is ready"));
            }
            Some(false) => {
                r.backend = None;
                self.rotation_dirty = true;
                line = Some(format!(
                    "replica {id} is no longer ready: {}",
                    r.last_error.clone().unwrap_or_default()
                ));
            }
            None => {}
        }
        let rev = r.revision;
        if let Some(reason) = verdict.restart {
            let detail = r.last_error.clone().unwrap_or_default();
            r.unhealthy = Some(format!(
                "replica {id} failed its {} probe ({detail})",
                match reason {
                    crate::probe::RestartReason::LivenessFailed => "liveness",
                    crate::probe::RestartReason::StartupFailed => "startup",
                }
            ));
            if r.backend.is_some() {
                self.rotation_dirty = true;
            }
            let Phase::Running(h) = std::mem::replace(&mut r.phase, Phase::Restarting) else {
                unreachable!("checked above")
            };
            let grace = spec.run.termination_grace;
            let drain_first = r.backend.take();
            self.stop_in_background(id, incarnation, h, Some(grace), drain_first);
            line = Some(format!(
                "replica {id} failed its {} probe; restarting it",
                kind_name(kind)
            ));
        }
        if let Some(line) = line {
            self.progress(Some(rev), line);
        }
    }

    /// An app that never listens on `$PORT` but on another port (the process driver) is told
    /// so, instead of timing out with a vague "not ready".
    fn check_ports(&mut self, now: Instant) {
        for r in &mut self.replicas {
            let Phase::Running(h) = &r.phase else {
                continue;
            };
            if r.ready() || r.ignores_port || now < r.next_port_check {
                continue;
            }
            r.next_port_check = now + Duration::from_secs(1);
            let Some(ports) = h.listening_ports() else {
                continue;
            };
            if ports.is_empty() || ports.contains(&r.port) {
                continue;
            }
            let listed: Vec<String> = ports.iter().map(|p| format!(":{p}")).collect();
            let message = format!(
                "replica {} listens on {} but not on $PORT ({}): the app ignores $PORT, so two replicas cannot run side by side; make it listen on $PORT, or run it with the container driver (`run.driver = \"container\"`), where each replica has its own network",
                r.id,
                listed.join(", "),
                r.port
            );
            r.last_error = Some(message.clone());
            r.unhealthy = Some(message);
            r.ignores_port = true;
        }
    }

    /// Swaps the proxy's set of ready replicas when it changed.
    pub(crate) fn publish_rotation(&mut self) {
        if !self.rotation_dirty {
            return;
        }
        self.rotation_dirty = false;
        // During a canary its replicas are the split's, the others the route's own.
        let canary = self
            .active
            .as_ref()
            .and_then(|a| a.canary.as_ref().map(|c| (a.target, Arc::clone(&c.split))));
        let (ours, theirs): (Vec<_>, Vec<_>) = self
            .replicas
            .iter()
            .filter(|r| r.backend.is_some())
            .partition(|r| canary.as_ref().is_none_or(|(t, _)| r.revision != *t));
        let own = |rs: Vec<&super::replica::Replica>| -> Vec<Arc<Backend>> {
            rs.into_iter().filter_map(|r| r.backend.clone()).collect()
        };
        if let Some((_, split)) = canary {
            split.backends.set(own(theirs));
        }
        self.backends.set(own(ours));
    }

    fn rotate_logs(&self) {
        let dir = self.ctx.log_dir(&self.app);
        for r in &self.replicas {
            if let Phase::Running(Handle::Process(_)) = r.phase {
                let policy = revision::log_policy(&dir, r.id, self.ctx.logs);
                if let Err(e) = crate::logs::rotate_copy_truncate(&policy) {
                    tracing::warn!(error = %e, log = %policy.path.display(), "cannot rotate a replica log");
                }
            }
        }
    }

    /// Adopts replicas an earlier agent started (found alive after a restart).
    pub(crate) fn adopt(&mut self, rev: u64, id: u32, handle: Handle) {
        let Some(spec) = self.spec(rev) else {
            self.stop_in_background(id, 0, handle, Some(Duration::from_secs(5)), None);
            return;
        };
        let now = Instant::now();
        self.next_id = self.next_id.max(id + 1);
        let incarnation = self.next_incarnation;
        self.next_incarnation += 1;
        self.replicas.push(Replica {
            id,
            revision: rev,
            incarnation,
            port: handle.port(),
            phase: Phase::Running(handle),
            health: ReplicaHealth::new(&spec.run.health, now),
            backoff: crate::backoff::Backoff::default(),
            backend: None,
            probing: Vec::new(),
            last_error: None,
            probe_results: super::replica::ProbeResults::default(),
            last_exit: None,
            unhealthy: None,
            ignores_port: false,
            started: now,
            next_port_check: now + PORT_CHECK_AFTER,
            ready_since: None,
        });
        let r = self.replicas.last_mut().expect("just pushed");
        if r.health.ready() {
            enter_rotation(r);
            self.rotation_dirty = true;
        }
    }
}

/// Puts a replica into the proxy's rotation; the caller marks the rotation dirty, so it is
/// published at the end of the tick.
fn enter_rotation(r: &mut Replica) {
    r.backend = Some(Backend::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, r.port)),
        r.revision.to_string(),
    ));
    r.ready_since = Some(Instant::now());
    r.last_error = None;
}

/// The last line a replica wrote, for crash messages.
fn last_log_line(policy: &crate::logs::LogPolicy) -> Option<String> {
    super::diagnose::last_lines(policy, 1)
        .pop()
        .map(|l| format!("`{l}`"))
}

fn exec_via(spec: &AppSpec, h: &Handle, r: &Replica) -> ExecVia {
    match h {
        Handle::Process(_) => {
            let mut env = spec.run.env.clone();
            env.insert("PORT".to_owned(), r.port.to_string());
            let binary = match &spec.artifact {
                crate::api::Artifact::Binary { path } => path.clone(),
                crate::api::Artifact::Image { reference, .. } => reference.into(),
            };
            ExecVia::Local {
                env,
                binary,
                app: spec.name.clone(),
            }
        }
        Handle::Container { replica, .. } => ExecVia::Container(std::sync::Arc::clone(replica)),
    }
}

fn kind_name(k: ProbeKind) -> &'static str {
    match k {
        ProbeKind::Startup => "startup",
        ProbeKind::Readiness => "readiness",
        ProbeKind::Liveness => "liveness",
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
