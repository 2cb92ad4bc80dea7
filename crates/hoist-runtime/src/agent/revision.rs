//! A revision as the agent stores it: the app spec it was deployed with (its artifact pointing
//! at the agent's own copy) and what it was (a deploy, or a rollback to an earlier revision).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::replica::Launch;
use crate::api::{AppSpec, Artifact, RevisionInfo};
use crate::logs::LogPolicy;
use crate::store::Revision;

/// The `spec` column of a revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Stored {
    /// What runs.
    pub(crate) spec: AppSpec,
    /// `rollback to 2` for a revision made by `hoist rollback`.
    pub(crate) note: Option<String>,
}

impl Stored {
    /// Reads a revision's spec back.
    pub(crate) fn parse(rev: &Revision) -> Option<Self> {
        serde_json::from_str(&rev.spec)
            .inspect_err(|e| {
                tracing::error!(app = %rev.app, revision = rev.number, error = %e, "unreadable revision spec");
            })
            .ok()
    }

    /// As JSON for the store.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a revision spec serialises")
    }

    /// What `history` shows of it.
    pub(crate) fn info(&self, rev: &Revision) -> RevisionInfo {
        RevisionInfo {
            number: rev.number,
            state: rev.state,
            version: self.spec.version.clone(),
            artifact: artifact_name(&self.spec.artifact),
            driver: self.spec.run.driver.as_str().to_owned(),
            replicas: self.spec.run.replicas,
            reason: rev.reason.clone().or_else(|| self.note.clone()),
            created_at: rev.created_at,
            finished_at: rev.finished_at,
        }
    }
}

/// `binary sha256:…` or the image reference.
fn artifact_name(a: &Artifact) -> String {
    match a {
        Artifact::Binary { path } => {
            let dir = path
                .parent()
                .and_then(|d| d.file_name())
                .and_then(|n| n.to_str())
                .unwrap_or("");
            match dir.strip_prefix("sha256-") {
                Some(hex) => format!("binary sha256:{hex}"),
                None => format!("binary {}", path.display()),
            }
        }
        Artifact::Image { reference, .. } => reference.clone(),
    }
}

/// How to start replicas of `spec` as replica `id` of revision `revision`.
pub(crate) fn launch(
    spec: &AppSpec,
    revision: u64,
    id: u32,
    agent_id: &str,
    log_dir: &Path,
    limits: super::LogLimits,
) -> Launch {
    let binary = match &spec.artifact {
        Artifact::Binary { path } => path.clone(),
        Artifact::Image { reference, .. } => PathBuf::from(reference),
    };
    let mut env: BTreeMap<String, String> = spec.run.env.clone();
    env.insert(super::AGENT_ID_ENV.to_owned(), agent_id.to_owned());
    env.insert(
        super::REPLICA_ENV.to_owned(),
        format!("{}/{revision}/{id}", spec.name),
    );
    Launch {
        binary,
        args: spec.args.clone(),
        env,
        log: log_policy(log_dir, id, limits),
    }
}

/// Replica `id`'s log file.
pub(crate) fn log_policy(log_dir: &Path, id: u32, limits: super::LogLimits) -> LogPolicy {
    LogPolicy {
        path: log_dir.join(format!("replica-{id}.log")),
        max_bytes: limits.max_bytes,
        keep: limits.keep,
    }
}
