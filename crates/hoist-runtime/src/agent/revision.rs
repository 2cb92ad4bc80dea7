//! A revision as the agent stores it: the app spec it was deployed with (its artifact pointing
//! at the agent's own copy) and what it was (a deploy, or a rollback to an earlier revision).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use super::context::Ctx;
use super::replica::{Launch, Runs, StateRoot};
use crate::api::{AppSpec, Artifact, RevisionInfo};
use crate::logs::LogPolicy;
use crate::store::Revision;
use hoist_core::State;

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
            replica_reports: rev.replicas.clone(),
            // Written by this agent only; one it cannot read is left out.
            canary: rev
                .canary
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok()),
            created_at: rev.created_at,
            finished_at: rev.finished_at,
        }
    }
}

/// `binary sha256:…`, or the image reference and the engine's id for it.
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
        Artifact::Image {
            reference,
            id: Some(id),
            ..
        } => format!("{reference} {id}"),
        Artifact::Image { reference, .. } => reference.clone(),
    }
}

/// How to start incarnation `incarnation` of replica `id` of revision `revision` of `spec`.
///
/// A process replica carries `HOIST_AGENT_ID` (how a restarted agent finds processes it had
/// not recorded); a container carries it as the label [`AGENT_LABEL`] instead, since its
/// processes belong to the engine and must only ever be stopped through it.
pub(crate) fn launch(
    ctx: &Arc<Ctx>,
    spec: &AppSpec,
    revision: u64,
    id: u32,
    incarnation: u64,
) -> Launch {
    let replica = format!("{}/{revision}/{id}", spec.name);
    let mut env: BTreeMap<String, String> = spec.run.env.clone();
    env.insert(super::REPLICA_ENV.to_owned(), replica);
    let runs = match &spec.artifact {
        Artifact::Binary { path } => {
            env.insert(super::AGENT_ID_ENV.to_owned(), ctx.agent_id.clone());
            // The state directory is below the replica's own root: `$STATE_DIR` says where.
            let root = spec.run.state.as_ref().map(|s| {
                let root = ctx.data_dir(&spec.name);
                let state = root.join(s.path.trim_start_matches('/'));
                env.insert(State::ENV.to_owned(), state.display().to_string());
                StateRoot {
                    root,
                    name: spec.name.clone(),
                    state,
                }
            });
            Runs::Binary {
                binary: path.clone(),
                args: spec.args.clone(),
                root,
                workdir: ctx.state_dir.join("work").join(&spec.name),
            }
        }
        Artifact::Image {
            reference,
            id: image_id,
            ..
        } => Runs::Image {
            ctx: Arc::clone(ctx),
            image: image_id.clone().unwrap_or_else(|| reference.clone()),
            container_port: spec.port,
            args: spec.args.clone(),
            volume: spec.run.state.as_ref().map(|s| {
                env.insert(State::ENV.to_owned(), s.path.clone());
                (
                    format!(
                        "hoist-{}-{}-state",
                        &ctx.agent_id[..ctx.agent_id.len().min(8)],
                        spec.name
                    ),
                    s.path.clone(),
                )
            }),
            name: format!(
                "hoist-{}-{}-{id}-{incarnation}",
                &ctx.agent_id[..ctx.agent_id.len().min(8)],
                spec.name
            ),
            labels: BTreeMap::from([
                (AGENT_LABEL.to_owned(), ctx.agent_id.clone()),
                ("dev.hoist.app".to_owned(), spec.name.clone()),
                ("dev.hoist.revision".to_owned(), revision.to_string()),
                ("dev.hoist.replica".to_owned(), id.to_string()),
            ]),
        },
    };
    Launch {
        runs,
        env,
        log: log_policy(&ctx.log_dir(&spec.name), id, ctx.logs),
    }
}

/// The label naming the agent (its id) on every container it starts.
pub(crate) const AGENT_LABEL: &str = "dev.hoist.agent";

/// Replica `id`'s log file.
pub(crate) fn log_policy(log_dir: &Path, id: u32, limits: super::LogLimits) -> LogPolicy {
    LogPolicy {
        path: log_dir.join(format!("replica-{id}.log")),
        max_bytes: limits.max_bytes,
        keep: limits.keep,
    }
}
