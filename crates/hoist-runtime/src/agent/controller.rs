//! One app's controller: a task that owns the app's replicas and its rollout, takes commands
//! (deploy, rollback, status, stop) from the API, and reconciles every tick.
//!
//! Decisions are the pure state machines' ([`crate::rollout`], [`crate::probe`],
//! [`crate::backoff`]); this task observes (exits, probe results), asks them, and acts: starts,
//! drains and stops replicas, and swaps the proxy's set of ready replicas. Starting, probing and
//! stopping run in their own tasks and report back as messages, so a slow replica never holds
//! up the others.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::context::Ctx;
use super::replica::{Handle, Replica, Terminating};
use super::revision::Stored;
use crate::RuntimeError;
use crate::api::{ApiError, AppSpec, AppStatus, Done, Event, Outcome, ReplicaStatus};
use crate::driver::process::Exit;
use crate::probe::ProbeKind;
use crate::proxy::{BackendSet, Balance};
use crate::rollout::Rollout;
use crate::store::RevisionState;

/// How often the controller looks at its replicas when nothing happens. Messages (a replica
/// started, probed or stopped; a deploy) are acted on at once, and a probe due sooner wakes it
/// sooner: the tick only bounds how late a timer (a deadline, a back-off) is noticed.
pub(crate) const TICK: Duration = Duration::from_millis(50);

/// A refusal, with the HTTP status the API answers it with.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) status: u16,
    pub(crate) body: ApiError,
}

impl Refused {
    pub(crate) fn new(status: u16, error: impl Into<String>, hint: Option<&str>) -> Self {
        Self {
            status,
            body: ApiError {
                error: error.into(),
                hint: hint.map(str::to_owned),
            },
        }
    }
}

/// What the controller is told.
#[allow(
    clippy::large_enum_variant,
    reason = "a few messages per replica and second; boxing buys nothing"
)]
pub(crate) enum Msg {
    /// Roll out a new revision of `spec`.
    Deploy {
        spec: Box<AppSpec>,
        events: mpsc::Sender<Event>,
        reply: oneshot::Sender<Result<u64, Refused>>,
    },
    /// Roll out an earlier revision again.
    Rollback {
        to: Option<u64>,
        events: mpsc::Sender<Event>,
        reply: oneshot::Sender<Result<u64, Refused>>,
    },
    /// Report.
    Status { reply: oneshot::Sender<AppStatus> },
    /// `hoist chaos`.
    Chaos {
        req: crate::api::ChaosRequest,
        reply: oneshot::Sender<Result<crate::api::ChaosReport, Refused>>,
    },
    /// `hoist promote` or `hoist abort` on a canary.
    Intervene {
        what: super::canary::Intervention,
        reply: oneshot::Sender<Result<String, Refused>>,
    },
    /// `hoist stop`: stop every replica and forget the app's desired state.
    Stop { reply: oneshot::Sender<()> },
    /// The agent is stopping: stop every replica, keep the desired state for the next start.
    Shutdown { reply: oneshot::Sender<()> },
    /// A start task finished.
    Started {
        id: u32,
        incarnation: u64,
        result: Result<Handle, RuntimeError>,
    },
    /// A probe finished.
    Probed {
        id: u32,
        incarnation: u64,
        kind: ProbeKind,
        result: Result<(), String>,
        /// A failed check whose container had exited: the exit, not the probe, is the news.
        exited: Option<Exit>,
    },
    /// A stop task finished.
    Stopped {
        id: u32,
        incarnation: u64,
        exit: Exit,
        killed: bool,
    },
}

/// Why the current rollout runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `hoist deploy`, or `hoist rollback` (a new revision with an old spec).
    Deploy,
    /// Bringing the serving revision back after `failed` failed for `reason`, with what its
    /// replicas showed.
    AutoRollback {
        failed: u64,
        reason: String,
        reports: Vec<hoist_core::ReplicaReport>,
    },
}

/// The rollout in progress.
pub(crate) struct Active {
    pub(crate) target: u64,
    pub(crate) kind: Kind,
    pub(crate) rollout: Rollout,
    pub(crate) waiters: Vec<mpsc::Sender<Event>>,
    pub(crate) started: Instant,
    /// Since when no replica at all is ready (a `recreate` update), and the longest such gap.
    pub(crate) unserved: Option<Instant>,
    pub(crate) longest_gap: Option<Duration>,
    /// The canary side, when the rollout is a canary beside a serving revision.
    pub(crate) canary: Option<super::canary::CanaryRun>,
}

/// What the controller is doing when it is winding down.
pub(crate) enum Ending {
    /// `hoist stop`.
    Stop(Vec<oneshot::Sender<()>>),
    /// The agent stops.
    Shutdown(Vec<oneshot::Sender<()>>),
}

/// One app.
pub(crate) struct Controller {
    pub(crate) app: String,
    pub(crate) ctx: Arc<Ctx>,
    pub(crate) tx: mpsc::Sender<Msg>,
    rx: mpsc::Receiver<Msg>,
    pub(crate) backends: Arc<BackendSet>,
    pub(crate) serving: Option<u64>,
    pub(crate) specs: HashMap<u64, Arc<AppSpec>>,
    pub(crate) replicas: Vec<Replica>,
    pub(crate) terminating: Vec<Terminating>,
    pub(crate) active: Option<Active>,
    pub(crate) ending: Option<Ending>,
    pub(crate) next_id: u32,
    pub(crate) next_incarnation: u64,
    pub(crate) rotation_dirty: bool,
    pub(crate) next_log_rotation: Instant,
    /// After an agent restart: requests are held until an adopted replica is probed ready
    /// again (or until this time), instead of answered 503 for the few milliseconds that
    /// takes.
    pub(crate) adopt_hold_until: Option<Instant>,
}

impl Controller {
    /// A controller for `app` with no replicas yet; `serving` and `rolling_out` come from the
    /// store (after an agent restart), `adopted` are replicas found still running.
    pub(crate) fn new(app: &str, ctx: Arc<Ctx>) -> (Self, mpsc::Sender<Msg>) {
        let (tx, rx) = mpsc::channel(256);
        // Replica numbers are never reused within an app, not even after a stop: each log
        // file belongs to one replica of one revision.
        let next_id = super::logs_api::on_disk(&ctx.log_dir(app), ctx.logs)
            .keys()
            .max()
            .map_or(1, |n| n + 1);
        let c = Self {
            app: app.to_owned(),
            ctx,
            tx: tx.clone(),
            rx,
            backends: Arc::new(BackendSet::new(Balance::RoundRobin)),
            serving: None,
            specs: HashMap::new(),
            replicas: Vec::new(),
            terminating: Vec::new(),
            active: None,
            ending: None,
            next_id,
            next_incarnation: 1,
            rotation_dirty: false,
            next_log_rotation: Instant::now(),
            adopt_hold_until: None,
        };
        (c, tx)
    }

    /// Runs until the app is stopped or the agent shuts down.
    pub(crate) async fn run(mut self) {
        let mut next = Instant::now();
        loop {
            // Each step of a rollout (started → probed → ready → the next replica) follows the
            // message that allows it, not the next tick: a local rollout of three replicas
            // takes a few tens of milliseconds instead of ten ticks.
            let wake = self
                .next_due()
                .map_or(next, |due| due.min(next))
                // Never a busy loop, even if a due probe cannot be started.
                .max(Instant::now() + Duration::from_millis(1));
            tokio::select! {
                msg = self.rx.recv() => match msg {
                    Some(msg) => {
                        self.handle(msg);
                        self.reconcile(Instant::now());
                    }
                    None => break,
                },
                () = tokio::time::sleep_until(wake.into()) => {
                    let now = Instant::now();
                    self.reconcile(now);
                    if now >= next {
                        next = now + TICK;
                    }
                }
            }
            if self.finished() {
                break;
            }
        }
        tracing::debug!(app = %self.app, "controller done");
    }

    /// The earliest time something is due without a message: a probe of a running replica
    /// that is not running already, or a ready replica becoming available to a rollout.
    fn next_due(&self) -> Option<Instant> {
        let now = Instant::now();
        let probes = self
            .replicas
            .iter()
            .filter(|r| {
                matches!(r.phase, super::replica::Phase::Running(_)) && r.probing.is_empty()
            })
            .filter_map(|r| r.health.next_due());
        let available = self
            .active
            .is_some()
            .then(|| self.replicas.iter().filter_map(|r| r.available_at(now)))
            .into_iter()
            .flatten();
        probes.chain(available).min()
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Deploy {
                spec,
                events,
                reply,
            } => {
                let r = self.deploy(*spec, None, events);
                let _ = reply.send(r);
            }
            Msg::Rollback { to, events, reply } => {
                let r = self.rollback(to, events);
                let _ = reply.send(r);
            }
            Msg::Status { reply } => {
                let _ = reply.send(self.status());
            }
            Msg::Chaos { req, reply } => {
                let _ = reply.send(self.chaos(&req));
            }
            Msg::Intervene { what, reply } => {
                let _ = reply.send(self.intervene(what));
            }
            Msg::Stop { reply } => self.end(Ending::Stop(vec![reply])),
            Msg::Shutdown { reply } => self.end(Ending::Shutdown(vec![reply])),
            Msg::Started {
                id,
                incarnation,
                result,
            } => self.started(id, incarnation, result),
            Msg::Probed {
                id,
                incarnation,
                kind,
                result,
                exited,
            } => self.probed(id, incarnation, kind, &result, exited),
            Msg::Stopped {
                id,
                incarnation,
                exit,
                killed,
            } => self.stopped(id, incarnation, exit, killed),
        }
    }

    /// The spec of revision `n`, from memory or the store.
    pub(crate) fn spec(&mut self, n: u64) -> Option<Arc<AppSpec>> {
        if let Some(s) = self.specs.get(&n) {
            return Some(Arc::clone(s));
        }
        let rev = self
            .ctx
            .record("a revision read", |s| s.revision(&self.app, n))??;
        let stored = Stored::parse(&rev)?;
        let spec = Arc::new(stored.spec);
        self.specs.insert(n, Arc::clone(&spec));
        Some(spec)
    }

    /// Starts a rollout of a new revision of `spec` (`note` marks a rollback).
    fn deploy(
        &mut self,
        spec: AppSpec,
        note: Option<String>,
        events: mpsc::Sender<Event>,
    ) -> Result<u64, Refused> {
        if let Some(a) = &self.active {
            return Err(Refused::new(
                409,
                format!(
                    "a rollout of `{}` revision {} is in progress (for {}s)",
                    self.app,
                    a.target,
                    a.started.elapsed().as_secs()
                ),
                Some("wait for it to end (`hoist status`), then deploy again"),
            ));
        }
        if self.ending.is_some() {
            return Err(Refused::new(
                409,
                format!("`{}` is being stopped", self.app),
                Some("deploy again once `hoist stop` has finished"),
            ));
        }
        let (host, path) = spec
            .run
            .ingress
            .as_ref()
            .map_or((None, "/"), |i| (i.host.as_deref(), i.path.as_str()));
        if let Some(holder) = self.ctx.route_holder(&self.app, host, path) {
            let place = match host {
                Some(h) => format!("`{h}{path}`"),
                None => format!("`{path}` (any host)"),
            };
            return Err(Refused::new(
                409,
                format!(
                    "the route {place} is held by the app `{holder}`; `{}` would take all of its traffic",
                    self.app
                ),
                Some(&format!(
                    "give `{}` a route of its own in `run.ingress` (a host like `{}.localhost`, or another path), or stop `{holder}` first (`hoist stop {holder}`)",
                    self.app, self.app
                )),
            ));
        }
        let stored_note_none = note.is_none();
        let stored = Stored { spec, note };
        let json = stored.to_json();
        let n = self
            .ctx
            .record("the new revision", |s| s.create_revision(&self.app, &json))
            .ok_or_else(|| Refused::new(500, "the agent cannot write its store", None))?;
        let spec = Arc::new(stored.spec);
        self.specs.insert(n, Arc::clone(&spec));
        let rollout = Rollout::new(spec.run.replicas, &spec.run.rollout, Instant::now());
        self.active = Some(Active {
            target: n,
            kind: Kind::Deploy,
            rollout,
            waiters: vec![events],
            started: Instant::now(),
            unserved: None,
            longest_gap: None,
            canary: None,
        });
        if self.serving.is_none() {
            self.set_route(&spec);
        }
        let from = self
            .serving
            .map_or_else(String::new, |s| format!(" (serving: revision {s})"));
        self.progress(
            Some(n),
            format!(
                "revision {n} ({}): rolling out {} replica{}{from}",
                spec.version,
                spec.run.replicas,
                if spec.run.replicas == 1 { "" } else { "s" }
            ),
        );
        // `hoist rollback` (a note) goes back at once: the revision it restores has served.
        if stored_note_none {
            self.begin_canary(n, &spec);
        }
        Ok(n)
    }

    /// Resumes a rollout found in progress after an agent restart (its deadline starts again).
    pub(crate) fn resume(&mut self, n: u64) {
        let Some(spec) = self.spec(n) else {
            self.ctx.record("the unreadable revision", |s| {
                s.finish_revision(
                    &self.app,
                    n,
                    RevisionState::Failed,
                    Some("its spec could not be read"),
                )
            });
            return;
        };
        self.active = Some(Active {
            target: n,
            kind: Kind::Deploy,
            rollout: Rollout::new(spec.run.replicas, &spec.run.rollout, Instant::now()),
            waiters: Vec::new(),
            started: Instant::now(),
            unserved: None,
            longest_gap: None,
            canary: None,
        });
        if self.serving.is_none() {
            self.set_route(&spec);
        }
        self.progress(
            Some(n),
            format!("revision {n}: resuming the rollout after an agent restart"),
        );
        self.begin_canary(n, &spec);
    }

    /// `hoist rollback`: a new revision with the spec of `to` (default: the revision that
    /// served before the serving one).
    fn rollback(&mut self, to: Option<u64>, events: mpsc::Sender<Event>) -> Result<u64, Refused> {
        // Stopped (or never served): only an explicit revision can be started again.
        let serving = match (self.serving, to) {
            (Some(s), _) => s,
            (None, Some(_)) => 0,
            (None, None) => {
                return Err(Refused::new(
                    409,
                    format!(
                        "`{}` has no serving revision (it is stopped, or never got healthy), so there is nothing to roll back from",
                        self.app
                    ),
                    Some(&format!(
                        "start one of its revisions again with `hoist rollback {} --to N` (`hoist history {}` lists them), or `hoist deploy`",
                        self.app, self.app
                    )),
                ));
            }
        };
        let history = self
            .ctx
            .record("a history read", |s| s.history(&self.app))
            .unwrap_or_default();
        let target = match to {
            Some(n) => {
                history
                    .iter()
                    .find(|r| r.number == n)
                    .ok_or_else(|| {
                        Refused::new(
                            404,
                            format!("`{}` has no revision {n}", self.app),
                            Some("`hoist history` lists them"),
                        )
                    })?
                    .number
            }
            None => history
                .iter()
                .find(|r| r.number < serving && r.state == RevisionState::Superseded)
                .ok_or_else(|| {
                    Refused::new(
                        409,
                        format!(
                            "`{}` has no earlier revision that served (revision {serving} serves)",
                            self.app
                        ),
                        Some("`hoist history` lists the revisions; `--to REV` picks one"),
                    )
                })?
                .number,
        };
        if target == serving {
            return Err(Refused::new(
                409,
                format!("revision {target} of `{}` is already serving", self.app),
                None,
            ));
        }
        let spec = self.spec(target).ok_or_else(|| {
            Refused::new(
                500,
                format!("revision {target}'s spec cannot be read"),
                None,
            )
        })?;
        if let crate::api::Artifact::Binary { path } = &spec.artifact
            && !path.is_file()
        {
            return Err(Refused::new(
                409,
                format!(
                    "revision {target}'s binary `{}` is gone from the agent's state directory",
                    path.display()
                ),
                Some("deploy that version again instead"),
            ));
        }
        self.deploy(
            (*spec).clone(),
            Some(format!("rollback to revision {target}")),
            events,
        )
    }

    /// Sends a progress line to whoever waits, and records it as an event.
    pub(crate) fn progress(&mut self, revision: Option<u64>, message: String) {
        tracing::info!(app = %self.app, "{message}");
        self.ctx
            .record("an event", |s| s.event(&self.app, revision, &message));
        if let Some(a) = &mut self.active {
            let ev = Event::Progress { revision, message };
            a.waiters.retain(|w| w.try_send(ev.clone()).is_ok());
        }
    }

    /// Ends the rollout in progress with `outcome`, telling the waiters.
    pub(crate) fn done(
        &mut self,
        outcome: Outcome,
        reason: Option<String>,
        replicas: Vec<hoist_core::ReplicaReport>,
    ) {
        let Some(a) = self.active.take() else {
            return;
        };
        self.release_hold();
        let revision = match &a.kind {
            Kind::Deploy => a.target,
            Kind::AutoRollback { failed, .. } => *failed,
        };
        let done = Done {
            outcome,
            revision,
            serving: self.serving,
            reason,
            replica_reports: replicas,
            unserved_seconds: a.longest_gap.map(|g| g.as_secs_f64()),
            seconds: a.started.elapsed().as_secs_f64(),
        };
        for w in a.waiters {
            let _ = w.try_send(Event::Done(done.clone()));
        }
    }

    /// The proxy route of the app, as `spec` asks.
    pub(crate) fn set_route(&self, spec: &AppSpec) {
        self.route_with(spec, None);
    }

    fn status(&mut self) -> AppStatus {
        let serving = self.serving.and_then(|n| {
            let rev = self
                .ctx
                .record("a revision read", |s| s.revision(&self.app, n))??;
            Some(Stored::parse(&rev)?.info(&rev))
        });
        let desired = self
            .serving
            .or(self.active.as_ref().map(|a| a.target))
            .and_then(|n| self.spec(n))
            .map_or(0, |s| s.run.replicas);
        let route = self.serving.and_then(|n| self.spec(n)).map(|s| {
            s.run.ingress.as_ref().map_or_else(
                || "*/".to_owned(),
                |i| format!("{}{}", i.host.as_deref().unwrap_or("*"), i.path),
            )
        });
        let mut replicas: Vec<ReplicaStatus> = self
            .replicas
            .iter()
            .map(|r| {
                let handle = match &r.phase {
                    super::replica::Phase::Running(h) => Some(h),
                    _ => None,
                };
                ReplicaStatus {
                    id: r.id,
                    revision: r.revision,
                    state: r.state().to_owned(),
                    restarts: r.backoff.restarts,
                    port: r.port,
                    pid: handle.and_then(Handle::pid),
                    container: handle.and_then(Handle::container_id),
                    uptime_seconds: handle.map_or(0, |_| r.started.elapsed().as_secs()),
                    last_error: r.last_error.clone(),
                }
            })
            .collect();
        replicas.extend(self.terminating.iter().map(|t| ReplicaStatus {
            id: t.id,
            revision: t.revision,
            state: "terminating".to_owned(),
            restarts: 0,
            port: t.port,
            pid: t.pid,
            container: t.container.clone(),
            uptime_seconds: t.since.elapsed().as_secs(),
            // What `hoist stop` shows while it waits: when SIGKILL comes.
            last_error: Some(format!(
                "stopping for {}s: SIGTERM, then SIGKILL once its grace period ({}s) is over",
                t.since.elapsed().as_secs(),
                t.grace.as_secs()
            )),
        }));
        replicas.sort_by_key(|r| r.id);
        AppStatus {
            name: self.app.clone(),
            state: crate::api::AppState::Running,
            serving,
            rolling_out: self.active.as_ref().map(|a| a.target),
            desired,
            ready: u32::try_from(self.replicas.iter().filter(|r| r.ready()).count())
                .unwrap_or(u32::MAX),
            route,
            replicas,
            canary: self.canary_report(),
        }
    }

    /// Winds the app down: every replica is drained and stopped.
    fn end(&mut self, how: Ending) {
        let stop = matches!(how, Ending::Stop(_));
        self.ending = Some(match (self.ending.take(), how) {
            (Some(Ending::Stop(mut a) | Ending::Shutdown(mut a)), Ending::Stop(b)) => {
                a.extend(b);
                Ending::Stop(a)
            }
            (Some(Ending::Stop(mut a) | Ending::Shutdown(mut a)), Ending::Shutdown(b)) => {
                a.extend(b);
                Ending::Shutdown(a)
            }
            (None, how) => how,
        });
        if stop {
            if self.active.is_some() {
                self.done(
                    Outcome::Failed,
                    Some("the app was stopped".to_owned()),
                    Vec::new(),
                );
            }
            self.ctx.record("the stop", |s| s.stop_app(&self.app));
            self.serving = None;
            self.progress(None, format!("stopping `{}`", self.app));
        } else if let Some(a) = &mut self.active {
            // The rollout resumes when the agent starts again; tell the waiters now.
            let ev = Event::Progress {
                revision: Some(a.target),
                message: "the agent is stopping; the rollout resumes when it starts again"
                    .to_owned(),
            };
            a.waiters.retain(|w| w.try_send(ev.clone()).is_ok());
            a.waiters.clear();
        }
        while let Some(i) = (!self.replicas.is_empty()).then_some(0) {
            self.retire(i);
        }
    }

    fn finished(&mut self) -> bool {
        if self.ending.is_none() || !self.replicas.is_empty() || !self.terminating.is_empty() {
            return false;
        }
        match self.ending.take() {
            Some(Ending::Stop(replies)) => {
                self.ctx.set_route(&self.app, None);
                for r in replies {
                    let _ = r.send(());
                }
            }
            Some(Ending::Shutdown(replies)) => {
                for r in replies {
                    let _ = r.send(());
                }
            }
            None => {}
        }
        true
    }
}
