//! One deploy to one cluster, as a sequence a crash can stop anywhere without losing track:
//!
//! 1. the namespace, when asked; a dry-run apply of every object (conflicts, RBAC, invalid
//!    objects are found before anything changes);
//! 2. a revision record (`pending`), then server-side apply of every object and prune of what
//!    the app no longer renders;
//! 3. the rollout wait, until complete or the progress deadline (or the caller's timeout);
//! 4. on failure: the reason from the cluster, then the previous deployed revision's objects
//!    are applied again (and what it did not have pruned), and waited for;
//! 5. the record's outcome: `deployed`, `rolled_back` or `failed`; old records beyond the
//!    history limit are deleted.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::apply::{self, ApplyOptions, Manifest};
use crate::cluster::Cluster;
use crate::error::{KubeError, Result};
use crate::prune;
use crate::reason;
use crate::revision::{Record, RecordOutcome, Records, Store};
use crate::rollout::{End, RolloutStatus};
use crate::wait;

/// Where an app instance lives in one cluster.
#[derive(Debug, Clone)]
pub struct Target {
    /// The cluster.
    pub cluster: Cluster,
    /// The namespace.
    pub namespace: String,
    /// `app.name`.
    pub app: String,
    /// The `app.kubernetes.io/instance` label.
    pub instance: String,
}

/// What to deploy.
#[derive(Debug, Clone)]
pub struct Release {
    /// The objects, in apply order.
    pub manifests: Vec<Manifest>,
    /// The image, pinned by digest (for the record).
    pub image: String,
    /// The version label (for the record).
    pub version: String,
    /// Set by `rollback`: the revision whose objects these are.
    pub rollback_of: Option<u64>,
}

/// How to deploy.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Take fields other managers own.
    pub force_conflicts: bool,
    /// Create the namespace if needed.
    pub create_namespace: bool,
    /// Records kept.
    pub history_limit: u32,
    /// How long one rollout wait may take at most, beside the Deployment's own progress
    /// deadline (which the controller enforces).
    pub timeout: Duration,
}

/// How a deploy to one cluster ended: the one type every target reports.
pub use hoist_core::Outcome;
use hoist_core::ReplicaReport;

/// Seconds spent in each step.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    /// Dry run, record, apply and prune.
    pub apply_seconds: f64,
    /// From the apply to the rollout's end (complete, or its deadline).
    pub rollout_seconds: f64,
    /// From the failure (for a canary: the verdict) to the rollback's end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_seconds: Option<f64>,
    /// A canary's: from its first step serving to the verdict that ended its walk (how long
    /// a bad canary took to be caught, or a good one to be promoted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict_seconds: Option<f64>,
    /// Everything.
    pub total_seconds: f64,
}

/// The report of one cluster.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The kubeconfig context.
    pub context: String,
    /// The namespace.
    pub namespace: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The revision this deploy recorded.
    pub revision: u64,
    /// The revision serving now, when known.
    pub serving: Option<u64>,
    /// Why it failed.
    pub reason: Option<String>,
    /// What each unready pod of the failed revision showed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replica_reports: Vec<ReplicaReport>,
    /// Objects pruned.
    pub pruned: Vec<String>,
    /// Times.
    pub timings: Timings,
    /// A canary's steps and verdicts (none for a rolling update).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<crate::canary::CanaryRecord>,
}

/// What a deploy tells its observer as it goes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// The revision record was written.
    Recorded {
        /// Its number.
        revision: u64,
    },
    /// Every object was applied.
    Applied {
        /// How many.
        objects: usize,
    },
    /// An object no longer rendered was deleted.
    Pruned {
        /// `Kind name`.
        what: String,
    },
    /// The rollout (or the rollback's rollout) moved.
    Rollout {
        /// Whether this is the rollback's.
        rollback: bool,
        /// The status.
        status: RolloutStatus,
    },
    /// A canary moved: a step began, a verdict came, it was promoted or rolled back.
    Canary {
        /// What happened, as a line.
        message: String,
    },
    /// The rollout failed; rolling back to `to`, if anything.
    Failed {
        /// Why.
        reason: String,
        /// The revision rolled back to.
        to: Option<u64>,
    },
}

/// Sees a deploy's progress (the CLI prints it). Called from the deploy's task.
pub trait Observer: Send + Sync {
    /// Something happened in `context`.
    fn event(&self, context: &str, event: &Event);
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn event(&self, _: &str, _: &Event) {}
}

impl Target {
    pub(crate) fn store(&self) -> Store<'_> {
        Store {
            cluster: &self.cluster,
            namespace: &self.namespace,
            app: &self.app,
            instance: &self.instance,
        }
    }

    /// The revision records, oldest first.
    ///
    /// # Errors
    ///
    /// When the cluster cannot be read or a record is damaged.
    pub async fn records(&self) -> Result<Records> {
        self.store().list().await
    }
}

pub(crate) fn now() -> String {
    jiff::Timestamp::now().to_string()
}

pub(crate) fn secs(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

/// Checks that `target` would take `manifests` — the cluster answers, the credentials work, and
/// the user may apply every object (a server-side dry run) — before anything is built or
/// pushed, so an unreachable cluster never leaves a new tag in the registry.
///
/// # Errors
///
/// As [`deploy`] before it changes anything: an unreachable server, a rejected credential, a
/// forbidden verb, a field-manager conflict, a missing namespace.
pub async fn preflight(target: &Target, manifests: &[Manifest], options: &Options) -> Result<()> {
    let (cluster, ns) = (&target.cluster, target.namespace.as_str());
    if options.create_namespace {
        apply::ensure_namespace(cluster, ns).await?;
    }
    let check = ApplyOptions {
        force: options.force_conflicts,
        dry_run: true,
    };
    futures::future::try_join_all(
        manifests
            .iter()
            .map(|m| apply::apply(cluster, ns, m, check)),
    )
    .await?;
    // Revision records are Secrets hoist reads and writes: check that too.
    target.store().list().await?;
    Ok(())
}

/// Deploys `release` to `target`.
///
/// # Errors
///
/// Errors before anything changed (bad context, unreachable server, RBAC, a field-manager
/// conflict, a missing namespace) and errors of the cluster on the way. A failed rollout is
/// not an error: it is a [`Report`] with [`Outcome::RolledBack`] or [`Outcome::Failed`].
pub async fn deploy(
    target: &Target,
    release: &Release,
    options: &Options,
    observer: &dyn Observer,
) -> Result<Report> {
    let started = Instant::now();
    let (cluster, ns) = (&target.cluster, target.namespace.as_str());
    let ctx = cluster.context();
    if options.create_namespace {
        apply::ensure_namespace(cluster, ns).await?;
    }
    let check = ApplyOptions {
        force: options.force_conflicts,
        dry_run: true,
    };
    // Independent requests: at once.
    futures::future::try_join_all(
        release
            .manifests
            .iter()
            .map(|m| apply::apply(cluster, ns, m, check)),
    )
    .await?;
    let store = target.store();
    let (records, mut record) = create_record(&store, release).await?;
    let revision = record.revision;
    observer.event(ctx, &Event::Recorded { revision });
    let previous = records.serving().cloned();

    let applied = apply_all(target, &release.manifests, options.force_conflicts).await;
    let pruned = match applied {
        Ok(p) => p,
        Err(e) => {
            record.outcome = RecordOutcome::Failed;
            record.reason = Some(format!("apply failed: {e}"));
            record.finished = Some(now());
            let _ = store.update(&record).await;
            return Err(e);
        }
    };
    observer.event(
        ctx,
        &Event::Applied {
            objects: release.manifests.len(),
        },
    );
    for p in &pruned {
        observer.event(ctx, &Event::Pruned { what: p.clone() });
    }
    let apply_seconds = secs(started);

    let rollout_started = Instant::now();
    let end = wait_for(target, &release.manifests, options, false, observer).await?;
    let rollout_seconds = secs(rollout_started);
    record.rollout_seconds = Some(rollout_seconds);
    let mut timings = Timings {
        apply_seconds,
        rollout_seconds,
        ..Timings::default()
    };

    let mut replica_reports = Vec::new();
    let (outcome, serving, reason) = match end {
        Waited::Complete => (Outcome::Deployed, Some(revision), None),
        Waited::Failed { reason, reports } => {
            replica_reports = reports;
            let failed_at = Instant::now();
            let (outcome, serving, reason) =
                after_failure(target, previous.as_ref(), options, observer, reason).await?;
            if previous.is_some() {
                timings.rollback_seconds = Some(secs(failed_at));
            }
            (outcome, serving, Some(reason))
        }
    };
    record.outcome = match outcome {
        Outcome::Deployed => RecordOutcome::Deployed,
        Outcome::RolledBack => RecordOutcome::RolledBack,
        Outcome::Failed => RecordOutcome::Failed,
    };
    record.reason.clone_from(&reason);
    record.replica_reports.clone_from(&replica_reports);
    record.finished = Some(now());
    store.update(&record).await?;
    trim_history(&store, options.history_limit).await?;
    timings.total_seconds = secs(started);
    Ok(Report {
        context: ctx.to_owned(),
        namespace: ns.to_owned(),
        outcome,
        revision,
        serving,
        reason,
        replica_reports,
        pruned,
        timings,
        canary: None,
    })
}

/// Creates the next record, retrying with the next number when another deploy took it.
pub(crate) async fn create_record(
    store: &Store<'_>,
    release: &Release,
) -> Result<(Records, Record)> {
    loop {
        let records = store.list().await?;
        let record = Record {
            revision: records.next(),
            created: now(),
            finished: None,
            image: release.image.clone(),
            version: release.version.clone(),
            outcome: RecordOutcome::Pending,
            reason: None,
            replica_reports: Vec::new(),
            rollback_of: release.rollback_of,
            rollout_seconds: None,
            objects: release.manifests.iter().map(|m| m.body.clone()).collect(),
            canary: None,
        };
        if store.create(&record).await? {
            return Ok((records, record));
        }
    }
}

/// Applies every manifest, then prunes the app's objects not among them.
pub(crate) async fn apply_all(
    target: &Target,
    manifests: &[Manifest],
    force: bool,
) -> Result<Vec<String>> {
    let options = ApplyOptions {
        force,
        dry_run: false,
    };
    for m in manifests {
        apply::apply(&target.cluster, &target.namespace, m, options).await?;
    }
    let pruned = prune::prune(
        &target.cluster,
        &target.namespace,
        &target.app,
        &target.instance,
        manifests,
    )
    .await?;
    Ok(pruned
        .iter()
        .map(|l| format!("{} `{}`", l.kind.kind, l.name))
        .collect())
}

enum Waited {
    Complete,
    Failed {
        reason: String,
        reports: Vec<ReplicaReport>,
    },
}

/// Waits for the Deployment among `manifests` (none: nothing to wait for).
async fn wait_for(
    target: &Target,
    manifests: &[Manifest],
    options: &Options,
    rollback: bool,
    observer: &dyn Observer,
) -> Result<Waited> {
    let Some(d) = manifests.iter().find(|m| m.kind.kind == "Deployment") else {
        return Ok(Waited::Complete);
    };
    let ctx = target.cluster.context().to_owned();
    let deadline = Instant::now() + options.timeout;
    let on_change = |s: &RolloutStatus| {
        observer.event(
            &ctx,
            &Event::Rollout {
                rollback,
                status: s.clone(),
            },
        );
    };
    let (end, live) = wait::rollout(
        &target.cluster,
        &target.namespace,
        &d.name,
        deadline,
        &on_change,
    )
    .await?;
    let headline = match end {
        End::Complete(_) => return Ok(Waited::Complete),
        End::DeadlineExceeded(message) => {
            format!(
                "Deployment `{}` exceeded its progress deadline ({message})",
                d.name
            )
        }
        End::TimedOut(last) => format!(
            "Deployment `{}` did not finish its rollout within {}s ({})",
            d.name,
            options.timeout.as_secs(),
            last.describe()
        ),
    };
    let why = reason::explain(&target.cluster, &target.namespace, &live).await;
    Ok(Waited::Failed {
        reason: if why.findings.is_empty() {
            headline
        } else {
            format!("{headline}: {}", why.findings.join("; "))
        },
        reports: why.reports,
    })
}

/// A failed rollout: says so, and rolls back to `previous` when there is one.
async fn after_failure(
    target: &Target,
    previous: Option<&Record>,
    options: &Options,
    observer: &dyn Observer,
    reason: String,
) -> Result<(Outcome, Option<u64>, String)> {
    observer.event(
        target.cluster.context(),
        &Event::Failed {
            reason: reason.clone(),
            to: previous.map(|p| p.revision),
        },
    );
    match previous {
        None => Ok((Outcome::Failed, None, reason)),
        Some(prev) => roll_back(target, prev, options, observer, reason).await,
    }
}

/// Applies `previous`'s objects again (taking their fields back), prunes what it did not have,
/// and waits.
async fn roll_back(
    target: &Target,
    previous: &Record,
    options: &Options,
    observer: &dyn Observer,
    reason: String,
) -> Result<(Outcome, Option<u64>, String)> {
    let manifests = previous.manifests(&target.instance)?;
    if let Err(e) = apply_all(target, &manifests, true).await {
        return Ok((
            Outcome::Failed,
            None,
            format!(
                "{reason}; rollback to revision {} failed: {e}",
                previous.revision
            ),
        ));
    }
    Ok(
        match wait_for(target, &manifests, options, true, observer).await? {
            Waited::Complete => (Outcome::RolledBack, Some(previous.revision), reason),
            Waited::Failed { reason: why, .. } => (
                Outcome::Failed,
                None,
                format!(
                    "{reason}; rollback to revision {} failed too: {why}",
                    previous.revision
                ),
            ),
        },
    )
}

pub(crate) async fn trim_history(store: &Store<'_>, limit: u32) -> Result<()> {
    let records = store.list().await?;
    store.delete(&records.beyond(limit)).await
}

/// What `hoist rollback` re-applies: revision `to`, else the deployed one before the serving
/// one.
///
/// # Errors
///
/// [`KubeError::NoSuchRevision`] and [`KubeError::NothingToRollBack`].
pub async fn rollback_release(target: &Target, to: Option<u64>) -> Result<Release> {
    let records = target.records().await?;
    let chosen = match to {
        Some(n) => records.get(n).ok_or_else(|| KubeError::NoSuchRevision {
            instance: target.instance.clone(),
            namespace: target.namespace.clone(),
            revision: n,
            kept: records.all.iter().map(|r| r.revision).collect(),
        })?,
        None => records
            .serving()
            .and_then(|s| records.deployed_before(s.revision))
            .ok_or_else(|| KubeError::NothingToRollBack {
                instance: target.instance.clone(),
                namespace: target.namespace.clone(),
            })?,
    };
    Ok(Release {
        manifests: chosen.manifests(&target.instance)?,
        image: chosen.image.clone(),
        version: chosen.version.clone(),
        rollback_of: Some(chosen.revision),
    })
}
