//! When is a Deployment's rollout done? The condition `kubectl rollout status` uses (its
//! `DeploymentStatusViewer`), as a pure function of the observed object, plus the small state
//! machine a wait runs. kube's `conditions::is_deployment_completed` ignores
//! `observedGeneration` and so can report the previous rollout as done: not used.
//!
//! The deadline of a wait belongs to the caller: [`Watch::step`] takes the time and the
//! caller's deadline and says when it has passed; nothing here sleeps.

use std::time::Instant;

use k8s_openapi::api::apps::v1::Deployment;

/// The replica counts of a Deployment's status, against what its spec asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Counts {
    /// `spec.replicas` (1 when unset, as the API defaults it).
    pub desired: i32,
    /// `status.updatedReplicas`: pods of the new template.
    pub updated: i32,
    /// `status.readyReplicas`.
    pub ready: i32,
    /// `status.availableReplicas`.
    pub available: i32,
    /// `status.replicas`: every pod, old and new.
    pub total: i32,
}

impl Counts {
    /// Pods of older templates still there.
    pub fn old(&self) -> i32 {
        (self.total - self.updated).max(0)
    }
}

/// What the rollout is waiting for, or how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutStatus {
    /// The controller has not yet seen the latest spec (`observedGeneration < generation`).
    NotObserved,
    /// Fewer new pods than desired exist yet.
    Updating(Counts),
    /// Pods of older templates are still running.
    OldPending(Counts),
    /// New pods exist but are not all ready and available.
    NotAvailable(Counts),
    /// Every desired pod is new, ready and available, and no old pod is left.
    Complete(Counts),
    /// The controller gave up: `Progressing=False`, reason `ProgressDeadlineExceeded`.
    DeadlineExceeded {
        /// The condition's message, e.g. `ReplicaSet "hello-7d9" has timed out progressing.`
        message: String,
        /// The counts at that moment.
        counts: Counts,
    },
}

impl RolloutStatus {
    /// The counts, when the controller has observed the spec.
    pub fn counts(&self) -> Option<Counts> {
        match self {
            Self::NotObserved => None,
            Self::Updating(c)
            | Self::OldPending(c)
            | Self::NotAvailable(c)
            | Self::Complete(c)
            | Self::DeadlineExceeded { counts: c, .. } => Some(*c),
        }
    }

    /// A line for people, like kubectl's.
    pub fn describe(&self) -> String {
        match self {
            Self::NotObserved => "waiting for the controller to observe the new spec".to_owned(),
            Self::Updating(c) => format!(
                "{}/{} updated, {}/{} ready",
                c.updated, c.desired, c.ready, c.desired
            ),
            Self::OldPending(c) => format!(
                "{}/{} updated, {} old pending termination",
                c.updated,
                c.desired,
                c.old()
            ),
            Self::NotAvailable(c) => format!(
                "{}/{} updated, {}/{} ready, {}/{} available",
                c.updated, c.desired, c.ready, c.desired, c.available, c.desired
            ),
            Self::Complete(c) => {
                format!("{}/{} updated, ready and available", c.updated, c.desired)
            }
            Self::DeadlineExceeded { message, .. } => {
                format!("progress deadline exceeded: {message}")
            }
        }
    }
}

/// The rollout status of `d`, as `kubectl rollout status` judges it: the controller must have
/// observed the current generation; `ProgressDeadlineExceeded` fails it; then every desired
/// replica must be updated, no old replica left, and every updated one ready and available.
pub fn status(d: &Deployment) -> RolloutStatus {
    let generation = d.metadata.generation.unwrap_or(0);
    let Some(st) = &d.status else {
        return RolloutStatus::NotObserved;
    };
    if st.observed_generation.unwrap_or(0) < generation {
        return RolloutStatus::NotObserved;
    }
    let counts = Counts {
        desired: d.spec.replicas.unwrap_or(1),
        updated: st.updated_replicas.unwrap_or(0),
        ready: st.ready_replicas.unwrap_or(0),
        available: st.available_replicas.unwrap_or(0),
        total: st.replicas.unwrap_or(0),
    };
    let progressing = st
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_.as_deref() == Some("Progressing"));
    if let Some(c) = progressing
        && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    {
        return RolloutStatus::DeadlineExceeded {
            message: c.message.clone().unwrap_or_default(),
            counts,
        };
    }
    if counts.updated < counts.desired {
        RolloutStatus::Updating(counts)
    } else if counts.total > counts.updated {
        RolloutStatus::OldPending(counts)
    } else if counts.available < counts.updated || counts.ready < counts.updated {
        RolloutStatus::NotAvailable(counts)
    } else {
        RolloutStatus::Complete(counts)
    }
}

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The rollout is complete.
    Complete(Counts),
    /// The controller reported `ProgressDeadlineExceeded`.
    DeadlineExceeded(String),
    /// The caller's deadline passed first.
    TimedOut(RolloutStatus),
}

/// A wait for one rollout: feed it each observation with [`Watch::step`].
#[derive(Debug, Clone)]
pub struct Watch {
    last: Option<RolloutStatus>,
}

/// What one step says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Not done; `changed` when the status differs from the previous step's (show it).
    Waiting {
        /// Whether to show progress.
        changed: bool,
    },
    /// Done.
    Ended(End),
}

impl Default for Watch {
    fn default() -> Self {
        Self::new()
    }
}

impl Watch {
    /// A wait that has seen nothing yet.
    pub fn new() -> Self {
        Self { last: None }
    }

    /// The latest status seen.
    pub fn last(&self) -> Option<&RolloutStatus> {
        self.last.as_ref()
    }

    /// Takes an observation at `now`; `deadline` is the caller's.
    pub fn step(&mut self, observed: RolloutStatus, now: Instant, deadline: Instant) -> Step {
        let changed = self.last.as_ref() != Some(&observed);
        self.last = Some(observed.clone());
        match observed {
            RolloutStatus::Complete(c) => Step::Ended(End::Complete(c)),
            RolloutStatus::DeadlineExceeded { message, .. } => {
                Step::Ended(End::DeadlineExceeded(message))
            }
            other if now >= deadline => Step::Ended(End::TimedOut(other)),
            _ => Step::Waiting { changed },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn deployment(yaml: &str) -> Deployment {
        serde_saphyr::from_str(yaml).expect("a Deployment")
    }

    const SPEC: &str = "
metadata: {name: hello, generation: 2}
spec:
  replicas: 3
  selector: {matchLabels: {app: hello}}
  template: {metadata: {labels: {app: hello}}, spec: {containers: [{name: hello, image: x}]}}
";

    fn with_status(status: &str) -> Deployment {
        deployment(&format!("{SPEC}status:\n{status}"))
    }

    #[test]
    fn the_previous_generation_is_not_observed() {
        // kube's is_deployment_completed would call this done: every count is fine, but the
        // controller has not seen generation 2 yet.
        let d = with_status(
            "  observedGeneration: 1\n  replicas: 3\n  updatedReplicas: 3\n  readyReplicas: 3\n  availableReplicas: 3\n",
        );
        assert_eq!(status(&d), RolloutStatus::NotObserved);
        assert_eq!(status(&deployment(SPEC)), RolloutStatus::NotObserved);
    }

    #[test]
    fn counts_decide_like_kubectl() {
        let s = |st: &str| status(&with_status(&format!("  observedGeneration: 2\n{st}")));
        assert!(matches!(
            s("  replicas: 4\n  updatedReplicas: 1\n  readyReplicas: 3\n  availableReplicas: 3\n"),
            RolloutStatus::Updating(Counts { updated: 1, .. })
        ));
        assert!(matches!(
            s("  replicas: 4\n  updatedReplicas: 3\n  readyReplicas: 4\n  availableReplicas: 4\n"),
            RolloutStatus::OldPending(c) if c.old() == 1
        ));
        assert!(matches!(
            s("  replicas: 3\n  updatedReplicas: 3\n  readyReplicas: 2\n  availableReplicas: 2\n"),
            RolloutStatus::NotAvailable(_)
        ));
        // Ready but not yet available (minReadySeconds) is not done either.
        assert!(matches!(
            s("  replicas: 3\n  updatedReplicas: 3\n  readyReplicas: 3\n  availableReplicas: 2\n"),
            RolloutStatus::NotAvailable(_)
        ));
        assert_eq!(
            s("  replicas: 3\n  updatedReplicas: 3\n  readyReplicas: 3\n  availableReplicas: 3\n"),
            RolloutStatus::Complete(Counts {
                desired: 3,
                updated: 3,
                ready: 3,
                available: 3,
                total: 3
            })
        );
    }

    #[test]
    fn zero_replicas_is_complete_at_once() {
        let d = deployment(&format!(
            "{}status: {{observedGeneration: 2}}\n",
            SPEC.replace("replicas: 3", "replicas: 0")
        ));
        assert!(matches!(status(&d), RolloutStatus::Complete(_)));
    }

    #[test]
    fn a_missed_progress_deadline_fails_the_rollout() {
        let d = with_status(
            r#"  observedGeneration: 2
  replicas: 4
  updatedReplicas: 1
  readyReplicas: 3
  availableReplicas: 3
  unavailableReplicas: 1
  conditions:
  - type: Available
    status: "True"
    reason: MinimumReplicasAvailable
  - type: Progressing
    status: "False"
    reason: ProgressDeadlineExceeded
    message: ReplicaSet "hello-7d9" has timed out progressing.
"#,
        );
        assert_eq!(
            status(&d),
            RolloutStatus::DeadlineExceeded {
                message: "ReplicaSet \"hello-7d9\" has timed out progressing.".into(),
                counts: Counts {
                    desired: 3,
                    updated: 1,
                    ready: 3,
                    available: 3,
                    total: 4
                }
            }
        );
        // Progressing=True (ReplicaSetUpdated) is not a failure.
        let ok = with_status(
            "  observedGeneration: 2\n  replicas: 4\n  updatedReplicas: 1\n  conditions:\n  - {type: Progressing, status: \"True\", reason: ReplicaSetUpdated}\n",
        );
        assert!(matches!(status(&ok), RolloutStatus::Updating(_)));
    }

    #[test]
    fn the_watch_reports_changes_and_ends() {
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_secs(10);
        let mut w = Watch::new();
        let c = Counts {
            desired: 3,
            ..Counts::default()
        };
        assert_eq!(
            w.step(RolloutStatus::NotObserved, t0, deadline),
            Step::Waiting { changed: true }
        );
        assert_eq!(
            w.step(RolloutStatus::NotObserved, t0, deadline),
            Step::Waiting { changed: false }
        );
        assert_eq!(
            w.step(RolloutStatus::Updating(c), t0, deadline),
            Step::Waiting { changed: true }
        );
        assert_eq!(
            w.step(RolloutStatus::Updating(c), deadline, deadline),
            Step::Ended(End::TimedOut(RolloutStatus::Updating(c)))
        );
        // A complete rollout at the deadline is complete, not timed out.
        assert_eq!(
            w.step(RolloutStatus::Complete(c), deadline, deadline),
            Step::Ended(End::Complete(c))
        );
    }
}
