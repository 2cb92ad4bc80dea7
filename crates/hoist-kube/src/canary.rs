//! A canary by replica ratio (`run.rollout.strategy = "canary"` on Kubernetes): no mesh, no
//! ingress weights — the Service selects the app's pods by name and instance only, so a stable
//! Deployment (`APP`) and a canary Deployment (`APP-canary`, its pods labelled
//! `hoist.dev/track: canary` and `hoist.dev/revision: N`) share its traffic in proportion to
//! their ready pods. Each step splits the stable Deployment's replicas by the step's weight
//! ([`split`]); every `interval` the figures of both revisions since the canary began (from
//! [`Figures`], Prometheus in practice) go to the same [`Walk`] the local agent uses.
//!
//! - promote: the release is applied as a rolling deploy would apply it, so the stable
//!   Deployment takes the canary's pod template (a rolling update of stable); once it is
//!   complete the canary Deployment is deleted — one ReplicaSet left serving;
//! - abort (a failed verdict, `max_wait` without a verdict, `hoist abort`, or a canary that
//!   never gets ready): the canary is scaled to 0 and deleted, and the stable Deployment gets
//!   its replicas back (unless an autoscaler owns them); its pod template is never touched;
//! - `hoist promote` / `hoist abort` set the annotation [`INTERVENE`] on the canary
//!   Deployment, which the deploying process reads at each interval.
//!
//! With an autoscaler on the stable Deployment (`run.autoscale`: the release holds an HPA
//! targeting it), the HPA owns the stable count and hoist never writes it: each step sizes the
//! canary *beside* the stable replicas the HPA chose ([`beside`]), follows the HPA when it
//! changes that count mid-step, and an abort only removes the canary — no fight over
//! `spec.replicas` (what Argo Rollouts users meet when an HPA and the rollout both scale).
//!
//! Only the Deployment changes during the steps: the release's other objects (Service,
//! ConfigMap, …) are applied at promotion. Every step and verdict is kept in the revision
//! record ([`CanaryRecord`]) as it happens, so `hoist status` and `hoist history` show them.

use std::future::Future;
use std::time::{Duration, Instant};

use hoist_canary::walk::{Decision, Reason, StepRecord};
use hoist_canary::{Sample, Verdict, Walk};
use hoist_core::Canary;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::apply::{self, ApplyOptions, Manifest};
use crate::deploy::{
    Event, Observer, Options, Outcome, Release, Report, Target, Timings, apply_all, create_record,
    now, secs, trim_history,
};
use crate::error::Result;
use crate::revision::{REVISION_LABEL, Record, RecordOutcome};
use crate::rollout::End;
use crate::wait;

/// The pod label that tells the canary's pods from the stable ones.
pub const TRACK_LABEL: &str = "hoist.dev/track";
/// The annotation `hoist promote` (`promote`) and `hoist abort` (`abort`) set on the canary
/// Deployment for the deploying process to act on.
pub const INTERVENE: &str = "hoist.dev/intervene";

/// Asks the process walking the canary of `target`'s app to promote (`true`) or abort it: the
/// annotation [`INTERVENE`] on `APP-canary`, acted on at its next analysis. `Ok(false)` when
/// no canary Deployment runs there.
///
/// # Errors
///
/// The cluster's, classified.
pub async fn intervene(target: &Target, promote: bool) -> Result<bool> {
    let api: Api<Deployment> = Api::namespaced(target.cluster.client(), &target.namespace);
    let name = format!("{}-canary", target.app);
    let asked = if promote { "promote" } else { "abort" };
    let patch = json!({ "metadata": { "annotations": { INTERVENE: asked } } });
    match api
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(false),
        Err(e) => Err(target
            .cluster
            .error("annotate the canary Deployment", &target.namespace, e)),
    }
}

/// The field manager of the replica counts the split sets (and nothing else).
pub const SPLIT_MANAGER: &str = "hoist-canary";

/// Where the walk gets each revision's figures.
pub trait Figures: Sync {
    /// What revision `revision` answered over the last `window` (ending now): `Ok(None)` when
    /// nothing is known about it (no series), which is never a pass.
    fn sample(
        &self,
        revision: u64,
        window: Duration,
    ) -> impl Future<Output = std::result::Result<Option<Sample>, String>> + Send;
}

/// A canary as the revision record keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryRecord {
    /// The revision it was compared with.
    pub stable: u64,
    /// The steps, in percent.
    pub steps: Vec<u8>,
    /// `analysing`, `promoted`, `rolled_back`.
    pub phase: String,
    /// The current step's weight and the replicas that give it: (weight %, canary, stable).
    pub split: (u8, i32, i32),
    /// The current step's last verdict.
    pub verdict: Option<Verdict>,
    /// The steps that ended, with their verdicts and numbers.
    pub done: Vec<StepRecord>,
    /// Why it was rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
}

/// `weight` percent of `total` replicas as (canary, stable): rounded to the nearest replica,
/// at least one canary and at least one stable, so every step both serves and is compared
/// (with one replica, 1 + 1: an effective 50%).
#[must_use]
pub fn split(total: i32, weight: u8) -> (i32, i32) {
    let total = total.max(1);
    if total == 1 {
        return (1, 1);
    }
    let canary =
        ((f64::from(total) * f64::from(weight) / 100.0).round() as i32).clamp(1, total - 1);
    (canary, total - canary)
}

/// The canary replicas that give `weight` percent beside `stable` replicas the autoscaler
/// keeps: `stable × w / (100 − w)`, rounded, at least one.
#[must_use]
pub fn beside(stable: i32, weight: u8) -> i32 {
    let w = f64::from(weight.min(99));
    ((f64::from(stable.max(1)) * w / (100.0 - w)).round() as i32).max(1)
}

/// The canary's share of the ready replicas, in percent, for messages.
#[must_use]
pub fn effective(canary: i32, stable: i32) -> f64 {
    f64::from(canary) * 100.0 / f64::from((canary + stable).max(1))
}

/// The canary Deployment made from the release's `deployment`: its name + `-canary`, the
/// selector and pod labels narrowed by [`TRACK_LABEL`], the pods labelled with `revision`.
pub(crate) fn canary_manifest(deployment: &Manifest, revision: u64, replicas: i32) -> Manifest {
    let mut body = deployment.body.clone();
    let name = format!("{}-canary", deployment.name);
    body["metadata"]["name"] = json!(name);
    body["spec"]["replicas"] = json!(replicas);
    body["spec"]["selector"]["matchLabels"][TRACK_LABEL] = json!("canary");
    let labels = &mut body["spec"]["template"]["metadata"]["labels"];
    labels[TRACK_LABEL] = json!("canary");
    labels[REVISION_LABEL] = json!(revision.to_string());
    Manifest {
        kind: deployment.kind,
        name,
        body,
    }
}

/// The release with its Deployment's pods labelled with `revision`: what the stable
/// Deployment becomes at promotion (the canary's pod template but for the track label).
fn promoted(release: &Release, revision: u64) -> Vec<Manifest> {
    release
        .manifests
        .iter()
        .cloned()
        .map(|mut m| {
            if m.kind.kind == "Deployment" {
                m.body["spec"]["template"]["metadata"]["labels"][REVISION_LABEL] =
                    json!(revision.to_string());
            }
            m
        })
        .collect()
}

struct Run<'a, F> {
    target: &'a Target,
    options: &'a Options,
    observer: &'a dyn Observer,
    figures: &'a F,
    stable_name: String,
    canary_name: String,
    total: i32,
    record: Record,
    /// An HPA owns the stable Deployment's count: size the canary beside it, never scale it.
    autoscaled: bool,
    /// When the first step's canary replicas were ready.
    serving_since: Option<Instant>,
    /// Seconds from `serving_since` to the verdict that ended the walk.
    verdict_seconds: Option<f64>,
    /// Seconds the rollback took, from the verdict.
    rollback_seconds: Option<f64>,
}

/// Whether the release autoscales the Deployment `name` (an HPA whose target it is).
fn autoscaled(release: &Release, name: &str) -> bool {
    release.manifests.iter().any(|m| {
        m.kind.kind == "HorizontalPodAutoscaler"
            && m.body["spec"]["scaleTargetRef"]["name"].as_str() == Some(name)
    })
}

/// Deploys `release` to `target` as a canary beside the serving revision, judged with
/// `figures`. Without a serving revision (or its Deployment) it is an ordinary deploy: a first
/// one has nothing to compare with.
///
/// # Errors
/// As [`crate::deploy()`]. A rolled back canary is not an error: a [`Report`] with
/// [`Outcome::RolledBack`] (the process exits 3).
pub async fn deploy_canary<F: Figures>(
    target: &Target,
    release: &Release,
    options: &Options,
    config: &Canary,
    figures: &F,
    observer: &dyn Observer,
) -> Result<Report> {
    let started = Instant::now();
    let ctx = target.cluster.context();
    let Some(deployment) = release
        .manifests
        .iter()
        .find(|m| m.kind.kind == "Deployment")
    else {
        return crate::deploy(target, release, options, observer).await;
    };
    let store = target.store();
    let serving = store.list().await?.serving().cloned();
    let api: Api<Deployment> = Api::namespaced(target.cluster.client(), &target.namespace);
    let live = match &serving {
        Some(_) => api.get_opt(&deployment.name).await.map_err(|e| {
            target
                .cluster
                .error("read the stable Deployment", &target.namespace, e)
        })?,
        None => None,
    };
    let (Some(stable), Some(live)) = (serving, live) else {
        observer.event(
            ctx,
            &Event::Canary {
                message: "no revision serves yet: the first one is rolled out whole, with no canary analysis".to_owned(),
            },
        );
        let release = Release {
            manifests: promoted(release, store.list().await?.next()),
            ..release.clone()
        };
        return crate::deploy(target, &release, options, observer).await;
    };
    let total = live.spec.replicas.unwrap_or(1).max(1);
    // The dry run of what promotion will apply, before anything changes.
    let check = ApplyOptions {
        force: options.force_conflicts,
        dry_run: true,
    };
    for m in &release.manifests {
        apply::apply(&target.cluster, &target.namespace, m, check).await?;
    }
    let (_, mut record) = create_record(&store, release).await?;
    let revision = record.revision;
    observer.event(ctx, &Event::Recorded { revision });
    record.objects = promoted(release, revision)
        .iter()
        .map(|m| m.body.clone())
        .collect();
    record.canary = Some(CanaryRecord {
        stable: stable.revision,
        steps: config.steps.clone(),
        phase: "starting".to_owned(),
        split: (0, 0, total),
        verdict: None,
        done: Vec::new(),
        reason: None,
    });
    store.update(&record).await?;
    let mut run = Run {
        target,
        options,
        observer,
        figures,
        stable_name: deployment.name.clone(),
        canary_name: format!("{}-canary", deployment.name),
        total,
        record,
        autoscaled: autoscaled(release, &deployment.name),
        serving_since: None,
        verdict_seconds: None,
        rollback_seconds: None,
    };
    let (outcome, reason) = run
        .walk(config, deployment, release, stable.revision)
        .await?;
    let (verdict_seconds, rollback_seconds) = (run.verdict_seconds, run.rollback_seconds);
    let mut record = run.record;
    record.outcome = match outcome {
        Outcome::Deployed => RecordOutcome::Deployed,
        Outcome::RolledBack => RecordOutcome::RolledBack,
        Outcome::Failed => RecordOutcome::Failed,
    };
    record.reason.clone_from(&reason);
    record.finished = Some(now());
    record.rollout_seconds = Some(secs(started));
    store.update(&record).await?;
    trim_history(&store, options.history_limit).await?;
    Ok(Report {
        context: ctx.to_owned(),
        namespace: target.namespace.clone(),
        outcome,
        revision,
        serving: Some(if outcome == Outcome::Deployed {
            revision
        } else {
            stable.revision
        }),
        reason,
        replica_reports: Vec::new(),
        pruned: Vec::new(),
        timings: Timings {
            total_seconds: secs(started),
            rollout_seconds: secs(started),
            verdict_seconds,
            rollback_seconds,
            ..Timings::default()
        },
        canary: record.canary,
    })
}

impl<F: Figures> Run<'_, F> {
    fn say(&self, message: String) {
        self.observer
            .event(self.target.cluster.context(), &Event::Canary { message });
    }

    fn set_phase(&mut self, phase: &str) {
        phase.clone_into(&mut self.canary_mut().phase);
    }

    fn canary_mut(&mut self) -> &mut CanaryRecord {
        self.record.canary.as_mut().expect("set before the walk")
    }

    async fn save(&self) -> Result<()> {
        self.target.store().update(&self.record).await
    }

    /// The steps, until promotion or rollback: the outcome and, for a rollback, why.
    async fn walk(
        &mut self,
        config: &Canary,
        deployment: &Manifest,
        release: &Release,
        stable: u64,
    ) -> Result<(Outcome, Option<String>)> {
        let began = Instant::now();
        let zero = Sample::default();
        let (mut walk, mut decision) = Walk::start(config, began, &zero, &zero);
        let (mut canary_sum, mut stable_sum) = (zero.clone(), zero);
        let revision = self.record.revision;
        loop {
            match decision {
                Decision::Weight(w) => {
                    if let Err(why) = self.weigh(deployment, revision, w).await? {
                        return self
                            .abort(&format!("the canary did not get ready: {why}"), stable)
                            .await;
                    }
                    self.serving_since.get_or_insert_with(Instant::now);
                    let step = walk.history().len() + 1;
                    let (_, c, s) = self.canary_mut().split;
                    self.say(format!(
                        "canary step {step} of {}: weight {w}% → {c} canary and {s} stable replicas (effective {:.0}%), revision {revision} beside {stable}",
                        config.steps.len(),
                        effective(c, s)
                    ));
                    self.set_phase("analysing");
                    self.save().await?;
                }
                Decision::Wait(ref v) => {
                    self.say(format!("canary verdict so far: {}", describe(v)));
                }
                Decision::Promote => {
                    self.verdict_seconds = self.serving_since.map(secs);
                    return self.promote(release, revision).await;
                }
                Decision::RollBack(reason) => {
                    self.verdict_seconds = self.serving_since.map(secs);
                    let why = match &reason {
                        Reason::Failed { verdict } => {
                            format!("the canary broke its SLOs: {}", describe(verdict))
                        }
                        Reason::Inconclusive { verdict, waited } => format!(
                            "no verdict after {}s (max_wait): {}",
                            waited.as_secs(),
                            describe(verdict)
                        ),
                        Reason::Aborted => "aborted (hoist abort)".to_owned(),
                    };
                    self.canary_mut().reason = Some(reason);
                    return self.abort(&why, stable).await;
                }
            }
            tokio::time::sleep(config.interval).await;
            self.follow_autoscaler().await?;
            let now = Instant::now();
            // Figures since the canary began: the walk subtracts each step's start.
            let window = now.duration_since(began);
            match (
                self.figures.sample(revision, window).await,
                self.figures.sample(stable, window).await,
            ) {
                (Ok(c), Ok(s)) => {
                    canary_sum = c.unwrap_or_default();
                    stable_sum = s.unwrap_or_default();
                }
                (Err(e), _) | (_, Err(e)) => {
                    self.say(format!(
                        "canary figures unavailable, counted as no new requests: {e}"
                    ));
                }
            }
            let done_before = walk.history().len();
            decision = match self.intervention().await? {
                Some(true) => walk.promote(now, &canary_sum, &stable_sum),
                Some(false) => walk.abort(),
                None => walk.observe(now, &canary_sum, &stable_sum),
            };
            let c = self.canary_mut();
            c.verdict = walk.verdict().cloned();
            c.done = walk.history().to_vec();
            if walk.history().len() > done_before
                && let Some(last) = walk.history().last()
            {
                let v = last
                    .verdict
                    .as_ref()
                    .map_or_else(|| "promoted by hand".to_owned(), describe);
                self.say(format!("canary step at {}% passed: {v}", last.weight));
            }
            self.save().await?;
        }
    }

    /// Splits the replicas for weight `w`: the canary scaled up and ready first, then stable
    /// scaled down. `Err(why)` when the canary does not get ready in time.
    async fn weigh(
        &mut self,
        deployment: &Manifest,
        revision: u64,
        w: u8,
    ) -> Result<std::result::Result<(), String>> {
        let (c, s) = if self.autoscaled {
            let s = self.stable_replicas().await?;
            (beside(s, w), s)
        } else {
            split(self.total, w)
        };
        let manifest = canary_manifest(deployment, revision, c);
        apply::apply(
            &self.target.cluster,
            &self.target.namespace,
            &manifest,
            ApplyOptions {
                force: true,
                dry_run: false,
            },
        )
        .await?;
        let deadline = Instant::now() + self.options.timeout;
        let (end, _) = wait::rollout(
            &self.target.cluster,
            &self.target.namespace,
            &self.canary_name,
            deadline,
            &|_| {},
        )
        .await?;
        match end {
            End::Complete(_) => {}
            End::DeadlineExceeded(m) => return Ok(Err(m)),
            End::TimedOut(last) => return Ok(Err(last.describe())),
        }
        if !self.autoscaled {
            self.scale(&self.stable_name.clone(), s).await?;
        }
        self.canary_mut().split = (w, c, s);
        Ok(Ok(()))
    }

    /// The stable Deployment's replicas as the cluster has them now (its autoscaler's choice).
    async fn stable_replicas(&self) -> Result<i32> {
        let api: Api<Deployment> =
            Api::namespaced(self.target.cluster.client(), &self.target.namespace);
        let d = api.get(&self.stable_name).await.map_err(|e| {
            self.target
                .cluster
                .error("read the stable Deployment", &self.target.namespace, e)
        })?;
        Ok(d.spec.replicas.unwrap_or(1))
    }

    /// With an autoscaler: when it changed the stable count since the step began, the canary
    /// is resized so the step keeps its weight.
    async fn follow_autoscaler(&mut self) -> Result<()> {
        let (w, c, s) = self.canary_mut().split;
        if !self.autoscaled || w == 0 {
            return Ok(());
        }
        let now = self.stable_replicas().await?;
        let wanted = beside(now, w);
        if now == s && wanted == c {
            return Ok(());
        }
        if wanted != c {
            self.scale(&self.canary_name.clone(), wanted).await?;
        }
        self.canary_mut().split = (w, wanted, now);
        self.say(format!(
            "the autoscaler keeps {now} stable replicas (was {s}): the canary follows with {wanted} for {w}%"
        ));
        Ok(())
    }

    async fn scale(&self, name: &str, replicas: i32) -> Result<()> {
        let api: Api<Deployment> =
            Api::namespaced(self.target.cluster.client(), &self.target.namespace);
        let patch = json!({ "spec": { "replicas": replicas } });
        let params = PatchParams {
            field_manager: Some(SPLIT_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        api.patch(name, &params, &Patch::Merge(&patch))
            .await
            .map_err(|e| {
                self.target.cluster.error(
                    &format!("scale Deployment `{name}`"),
                    &self.target.namespace,
                    e,
                )
            })?;
        Ok(())
    }

    /// `hoist promote` (`Some(true)`) or `hoist abort` (`Some(false)`) asked on the canary
    /// Deployment; the annotation is removed once read.
    async fn intervention(&self) -> Result<Option<bool>> {
        let api: Api<Deployment> =
            Api::namespaced(self.target.cluster.client(), &self.target.namespace);
        let d = api.get_opt(&self.canary_name).await.map_err(|e| {
            self.target
                .cluster
                .error("read the canary Deployment", &self.target.namespace, e)
        })?;
        let asked = d
            .and_then(|d| d.metadata.annotations)
            .and_then(|a| a.get(INTERVENE).cloned());
        let Some(asked) = asked else {
            return Ok(None);
        };
        let clear = json!({ "metadata": { "annotations": { INTERVENE: Value::Null } } });
        api.patch(
            &self.canary_name,
            &PatchParams::default(),
            &Patch::Merge(&clear),
        )
        .await
        .map_err(|e| {
            self.target
                .cluster
                .error("clear the canary's annotation", &self.target.namespace, e)
        })?;
        Ok(Some(asked == "promote"))
    }

    /// The stable Deployment takes the release (the canary's pod template), rolls out, and the
    /// canary Deployment is deleted; then what the app no longer renders is pruned.
    async fn promote(
        &mut self,
        release: &Release,
        revision: u64,
    ) -> Result<(Outcome, Option<String>)> {
        self.say(format!("canary passed every step: the stable Deployment takes revision {revision}'s pod template"));
        let manifests = promoted(release, revision);
        for m in &manifests {
            // The stable Deployment's replicas were set by the split (manager `hoist-canary`):
            // hoist takes them back; any other field conflicts as in a rolling deploy.
            let force = self.options.force_conflicts || m.name == self.stable_name;
            apply::apply(
                &self.target.cluster,
                &self.target.namespace,
                m,
                ApplyOptions {
                    force,
                    dry_run: false,
                },
            )
            .await?;
        }
        let deadline = Instant::now() + self.options.timeout;
        let ctx = self.target.cluster.context().to_owned();
        let observer = self.observer;
        let (end, _) = wait::rollout(
            &self.target.cluster,
            &self.target.namespace,
            &self.stable_name,
            deadline,
            &|s| {
                observer.event(
                    &ctx,
                    &Event::Rollout {
                        rollback: false,
                        status: s.clone(),
                    },
                );
            },
        )
        .await?;
        if !matches!(end, End::Complete(_)) {
            // The canary still serves its share; the stable Deployment's own rollout failed.
            let why = "the stable Deployment did not complete its rollout to the promoted template"
                .to_owned();
            self.set_phase("failed");
            return Ok((Outcome::Failed, Some(why)));
        }
        self.delete_canary().await?;
        let pruned = apply_all(self.target, &manifests, self.options.force_conflicts).await?;
        for p in pruned {
            self.observer
                .event(self.target.cluster.context(), &Event::Pruned { what: p });
        }
        self.set_phase("promoted");
        self.say(format!(
            "revision {revision} promoted: the canary Deployment is removed, one ReplicaSet serves"
        ));
        Ok((Outcome::Deployed, None))
    }

    /// The canary scaled to 0 and deleted; stable gets its replicas back, its template
    /// untouched.
    async fn abort(&mut self, why: &str, stable: u64) -> Result<(Outcome, Option<String>)> {
        let started = Instant::now();
        self.say(format!(
            "revision {} rolled back: {why}",
            self.record.revision
        ));
        // Without an autoscaler the stable Deployment gets its replicas back; with one it
        // never lost them.
        if !self.autoscaled {
            self.scale(&self.stable_name.clone(), self.total).await?;
        }
        self.delete_canary().await?;
        let total = self.total;
        let c = self.canary_mut();
        "rolled_back".clone_into(&mut c.phase);
        c.split = (0, 0, total);
        self.say(format!(
            "the canary is scaled to 0 and removed; revision {stable} serves every request"
        ));
        self.rollback_seconds = Some(secs(started));
        Ok((Outcome::RolledBack, Some(why.to_owned())))
    }

    async fn delete_canary(&self) -> Result<()> {
        let api: Api<Deployment> =
            Api::namespaced(self.target.cluster.client(), &self.target.namespace);
        let exists = api.get_opt(&self.canary_name).await.map_err(|e| {
            self.target
                .cluster
                .error("read the canary Deployment", &self.target.namespace, e)
        })?;
        if exists.is_none() {
            return Ok(());
        }
        self.scale(&self.canary_name, 0).await?;
        api.delete(&self.canary_name, &DeleteParams::foreground())
            .await
            .map_err(|e| {
                self.target
                    .cluster
                    .error("delete the canary Deployment", &self.target.namespace, e)
            })?;
        Ok(())
    }
}

/// A verdict as one line with its numbers.
fn describe(v: &Verdict) -> String {
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beside_an_autoscaled_stable_the_canary_takes_its_weight() {
        assert_eq!(beside(4, 25), 1);
        assert_eq!(beside(6, 25), 2);
        assert_eq!(beside(6, 50), 6);
        assert_eq!(beside(3, 10), 1, "at least one");
        assert_eq!(beside(10, 90), 90);
    }

    #[test]
    fn replicas_split_by_weight_with_one_of_each_at_least() {
        assert_eq!(split(10, 10), (1, 9));
        assert_eq!(split(10, 25), (3, 7)); // 2.5 rounds up
        assert_eq!(split(10, 50), (5, 5));
        assert_eq!(split(3, 10), (1, 2)); // 0.3 → at least one canary
        assert_eq!(split(3, 50), (2, 1)); // 1.5 rounds up
        assert_eq!(split(3, 99), (2, 1)); // at least one stable
        assert_eq!(split(1, 10), (1, 1)); // one replica: one beside it, 50%
        assert_eq!(split(0, 10), (1, 1));
        assert!((effective(1, 2) - 33.33).abs() < 0.01);
    }

    #[test]
    fn the_canary_deployment_is_narrowed_by_track_and_labelled_by_revision() {
        let d = Manifest::from_json(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "hello", "labels": {"app.kubernetes.io/name": "hello"}},
            "spec": {"replicas": 3,
                "selector": {"matchLabels": {"app.kubernetes.io/name": "hello"}},
                "template": {"metadata": {"labels": {"app.kubernetes.io/name": "hello"}},
                    "spec": {"containers": [{"name": "hello", "image": "x"}]}}}
        }))
        .unwrap();
        let c = canary_manifest(&d, 7, 1);
        assert_eq!(c.name, "hello-canary");
        assert_eq!(c.body["metadata"]["name"], "hello-canary");
        assert_eq!(c.body["spec"]["replicas"], 1);
        assert_eq!(
            c.body["spec"]["selector"]["matchLabels"][TRACK_LABEL],
            "canary"
        );
        let labels = &c.body["spec"]["template"]["metadata"]["labels"];
        assert_eq!(labels[TRACK_LABEL], "canary");
        assert_eq!(labels[REVISION_LABEL], "7");
        assert_eq!(labels["app.kubernetes.io/name"], "hello");
        // The stable Deployment is left as rendered.
        assert_eq!(d.body["spec"]["replicas"], 3);
    }
}
