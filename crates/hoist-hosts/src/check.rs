//! `hoist hosts check`: every host at once, each on its own connection and with its own
//! timeout, so an unreachable host is reported after the timeout and never holds up the others.

use serde::Serialize;

use crate::error::HostError;
use crate::facts::{FACTS_SCRIPT, Facts, parse_facts};
use crate::ssh::{Connection, SshOptions};

/// One host's check: its facts, or why it could not be checked.
#[derive(Debug)]
pub struct HostReport {
    /// The target as written.
    pub host: String,
    /// What the host said, or what went wrong.
    pub result: Result<Facts, HostError>,
}

impl HostReport {
    /// A host passes when it answered and, once hoist is set up there, its agent is up.
    pub fn passed(&self) -> bool {
        self.result
            .as_ref()
            .is_ok_and(|f| f.hoist_version.is_none() || f.agent_up)
    }
}

/// The JSON form of a [`HostReport`] for `--json`: facts flattened, the error as text with its
/// kind and hint.
#[derive(Debug, Serialize)]
pub struct HostReportJson<'a> {
    /// The target.
    pub host: &'a str,
    /// [`HostReport::passed`].
    pub ok: bool,
    /// Whether SSH got in.
    pub reachable: bool,
    /// The facts, when it was reachable.
    #[serde(flatten)]
    pub facts: Option<&'a Facts>,
    /// [`HostError::kind`].
    pub error_kind: Option<&'static str>,
    /// The error's message.
    pub error: Option<String>,
    /// [`HostError::hint`].
    pub hint: Option<String>,
}

impl HostReport {
    /// The `--json` view.
    pub fn json(&self) -> HostReportJson<'_> {
        let err = self.result.as_ref().err();
        HostReportJson {
            host: &self.host,
            ok: self.passed(),
            reachable: !matches!(
                err,
                Some(
                    HostError::Unreachable { .. }
                        | HostError::Connect { .. }
                        | HostError::Spawn { .. }
                        | HostError::UnknownHostKey { .. }
                        | HostError::ChangedHostKey { .. }
                        | HostError::AuthFailed { .. }
                )
            ),
            facts: self.result.as_ref().ok(),
            error_kind: err.map(HostError::kind),
            error: err.map(ToString::to_string),
            hint: err.and_then(HostError::hint),
        }
    }
}

/// Checks one host over an open connection.
///
/// # Errors
///
/// [`HostError::Remote`] or [`HostError::Unexpected`] when the facts script fails.
pub async fn facts(conn: &Connection) -> Result<Facts, HostError> {
    let out = conn.sh("read the host's facts", FACTS_SCRIPT).await?;
    parse_facts(&out).ok_or_else(|| HostError::Unexpected {
        host: conn.host.clone(),
        step: "uname -sm",
        answer: out.lines().next().unwrap_or_default().to_owned(),
    })
}

/// Checks every target concurrently, in the order given.
pub async fn check_all(targets: &[String], opts: &SshOptions) -> Vec<HostReport> {
    let checks = targets.iter().map(|t| async move {
        let result = async {
            let conn = Connection::open(t, opts).await?;
            let facts = facts(&conn).await;
            conn.close().await;
            facts
        }
        .await;
        HostReport {
            host: t.clone(),
            result,
        }
    });
    futures_util::future::join_all(checks).await
}
