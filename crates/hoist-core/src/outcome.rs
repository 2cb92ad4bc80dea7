//! How a rollout ended, and what each replica of a failed revision showed: one definition for
//! every target (the local agent, Kubernetes), so the CLI reports them alike and a script reads
//! one JSON shape whatever ran the app.

use serde::{Deserialize, Serialize};

/// The outcome of a rollout (a deploy or a rollback).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The new revision serves.
    Deployed,
    /// It failed, and the previous revision serves again.
    RolledBack,
    /// It failed with nothing to roll back to, or the rollback failed too.
    Failed,
}

impl Outcome {
    /// The worst of several (per cluster or host) outcomes; `Deployed` when there are none.
    pub fn worst(outcomes: impl IntoIterator<Item = Self>) -> Self {
        outcomes
            .into_iter()
            .max_by_key(|o| match o {
                Self::Deployed => 0,
                Self::RolledBack => 1,
                Self::Failed => 2,
            })
            .unwrap_or(Self::Deployed)
    }
}

/// What one replica (a process, a container or a pod) of a failed revision showed: enough to
/// see why it never became ready without opening its logs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaReport {
    /// The replica: its number on this machine, the pod's name on Kubernetes.
    pub replica: String,
    /// Where it was: `unready`, `starting`, `crash_loop_back_off`, `Running`, `Pending`, …
    pub state: String,
    /// The last probe result, e.g. `readiness GET /healthz → 404 Not Found`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<String>,
    /// How it last exited, e.g. `exited with status 1`, `killed by signal 9 (SIGKILL)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<String>,
    /// Restarts so far.
    #[serde(default)]
    pub restarts: u32,
    /// The last lines it printed (stdout and stderr), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<String>,
    /// Anything else the target knows (a scheduling failure, an image pull error, a port the
    /// app listens on instead of `$PORT`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl std::fmt::Display for ReplicaReport {
    /// Several lines: `replica R (state): probe; exit` then the notes and the log, indented.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "replica {} ({})", self.replica, self.state)?;
        let mut sep = ": ";
        for part in [self.probe.as_deref(), self.exit.as_deref()]
            .into_iter()
            .flatten()
        {
            write!(f, "{sep}{part}")?;
            sep = "; ";
        }
        if self.restarts > 0 {
            write!(f, "{sep}restarted {} times", self.restarts)?;
        }
        for note in &self.notes {
            write!(f, "\n  {note}")?;
        }
        if !self.log.is_empty() {
            write!(f, "\n  its last lines:")?;
            for line in &self.log {
                write!(f, "\n  | {line}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_outcome_wins() {
        use Outcome::*;
        assert_eq!(Outcome::worst([Deployed, RolledBack, Deployed]), RolledBack);
        assert_eq!(Outcome::worst([Failed, RolledBack]), Failed);
        assert_eq!(Outcome::worst([]), Deployed);
    }

    #[test]
    fn a_report_reads_as_lines() {
        let r = ReplicaReport {
            replica: "2".to_owned(),
            state: "unready".to_owned(),
            probe: Some("readiness GET /healthz → 404 Not Found".to_owned()),
            exit: None,
            restarts: 0,
            log: vec!["listening on :41000".to_owned()],
            notes: vec![],
        };
        assert_eq!(
            r.to_string(),
            "replica 2 (unready): readiness GET /healthz → 404 Not Found\n  its last lines:\n  | listening on :41000"
        );
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<ReplicaReport>(&json).unwrap(), r);
        assert!(!json.contains("exit"), "absent fields are left out: {json}");
    }
}
