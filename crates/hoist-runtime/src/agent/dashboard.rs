//! What the dashboard shows of an app, as JSON (`GET /api/apps` on the admin address): the
//! app's status as `hoist status` computes it, regrouped for a page — revisions, each with its
//! replicas — and the canary, if one is on.
//!
//! Nothing here is new state: the status comes from the app's controller, the revisions from the
//! store's history, the canary's revision and weight from the proxy's split and its steps from
//! the revision's spec. The step's verdict is an optional field the canary walk fills once it
//! publishes one; until then the page says so instead of guessing. [`app_view`] is pure.
//!
//! The page's assets are here too ([`INDEX_HTML`], [`SCRIPT`], [`STYLE`]): plain files
//! embedded in the binary, no build step, nothing fetched from the internet.

use serde::Serialize;

use crate::api::{AppState, AppStatus, CanarySplit, ReplicaStatus, RevisionInfo};
use crate::store::RevisionState;

/// The page: markup only; the script fills it.
pub(crate) const INDEX_HTML: &str = include_str!("dashboard/index.html");
/// The page's script: polls the JSON every second and draws the charts as SVG.
pub(crate) const SCRIPT: &str = include_str!("dashboard/dashboard.js");
/// The page's style sheet.
pub(crate) const STYLE: &str = include_str!("dashboard/dashboard.css");

/// Revisions of an app's history the page lists besides those with replicas: enough to see
/// what was rolled back or replaced a moment ago, few enough to stay one screen.
const RECENT: usize = 5;

/// `GET /api/apps`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Overview {
    /// The agent's clock, in milliseconds since the Unix epoch: the page's "now" on the time
    /// axis, so a browser with a skewed clock still draws the last minutes.
    pub(crate) now_ms: u64,
    /// hoist's version.
    pub(crate) version: String,
    /// The proxy's address, for the page's links.
    pub(crate) proxy: String,
    /// Every app the agent knows, by name.
    pub(crate) apps: Vec<AppView>,
}

/// One app.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AppView {
    /// The app.
    pub(crate) name: String,
    /// Running, stopped or failed.
    pub(crate) state: AppState,
    /// Where the proxy routes it (`host` or `*`, and the path prefix).
    pub(crate) route: Option<String>,
    /// Desired replicas.
    pub(crate) desired: u32,
    /// Ready replicas.
    pub(crate) ready: u32,
    /// The serving revision.
    pub(crate) serving: Option<u64>,
    /// The revision being rolled out.
    pub(crate) rolling_out: Option<u64>,
    /// Revisions with replicas, the serving and rolling-out ones, and the last few of the
    /// history; newest first.
    pub(crate) revisions: Vec<RevisionView>,
    /// The canary, while one is on; `null` otherwise.
    pub(crate) canary: Option<CanaryView>,
}

/// One revision and its replicas.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RevisionView {
    /// 1, 2, … per app.
    pub(crate) number: u64,
    /// Its state in the history (`serving`, `rolling_out`, `superseded`, …; `null` for a
    /// revision the store does not have).
    pub(crate) state: Option<RevisionState>,
    /// The version deployed.
    pub(crate) version: Option<String>,
    /// Why it failed, or what it was (`rollback to 2`).
    pub(crate) reason: Option<String>,
    /// Seconds since the epoch.
    pub(crate) created_at: Option<i64>,
    /// Its replicas, by id.
    pub(crate) replicas: Vec<ReplicaStatus>,
}

/// A canary in progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CanaryView {
    /// The canary revision.
    pub(crate) revision: String,
    /// Its share of the requests now, in percent (the proxy's split).
    pub(crate) weight: u8,
    /// The steps' weights, from the revision's `run.rollout` (empty when it has none).
    pub(crate) steps: Vec<u8>,
    /// The index in `steps` of the current weight, when it is one of them.
    pub(crate) step: Option<usize>,
    /// The current step's verdict so far, once the canary walk publishes one.
    pub(crate) verdict: Option<VerdictView>,
}

/// A verdict as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct VerdictView {
    /// `pass`, `fail` or `inconclusive`: what the page colours it by.
    pub(crate) kind: &'static str,
    /// The verdict's one line, with its numbers.
    pub(crate) text: String,
}

impl VerdictView {
    /// The page's form of a verdict, for the canary walk to publish.
    pub(crate) fn of(verdict: &hoist_canary::Verdict) -> Self {
        let kind = match verdict {
            hoist_canary::Verdict::Pass { .. } => "pass",
            hoist_canary::Verdict::Fail { .. } => "fail",
            hoist_canary::Verdict::Inconclusive { .. } => "inconclusive",
        };
        Self {
            kind,
            text: verdict.to_string(),
        }
    }
}

/// A revision of the history, with the canary steps of its spec.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    /// As `hoist history` shows it.
    pub(crate) info: RevisionInfo,
    /// `run.rollout`'s canary steps, if its strategy is a canary.
    pub(crate) canary_steps: Option<Vec<u8>>,
}

/// The page's view of one app: `status` from its controller (or at rest), `history` newest
/// first, `split` the proxy's canary split of its route.
pub(crate) fn app_view(
    status: AppStatus,
    history: &[Known],
    split: Option<CanarySplit>,
) -> AppView {
    let live = |n: u64| {
        status.serving.as_ref().map(|s| s.number) == Some(n)
            || status.rolling_out == Some(n)
            || status.replicas.iter().any(|r| r.revision == n)
            || split.as_ref().is_some_and(|s| s.revision == n.to_string())
    };
    let mut numbers: Vec<u64> = history
        .iter()
        .enumerate()
        .filter(|(i, k)| *i < RECENT || live(k.info.number))
        .map(|(_, k)| k.info.number)
        .collect();
    // A replica of a revision the store does not list still shows (under a bare number).
    numbers.extend(status.replicas.iter().map(|r| r.revision));
    numbers.sort_unstable_by(|a, b| b.cmp(a));
    numbers.dedup();
    let revisions = numbers
        .into_iter()
        .map(|n| {
            let known = history.iter().find(|k| k.info.number == n).map(|k| &k.info);
            RevisionView {
                number: n,
                state: known.map(|i| i.state),
                version: known.map(|i| i.version.clone()),
                reason: known.and_then(|i| i.reason.clone()),
                created_at: known.map(|i| i.created_at),
                replicas: status
                    .replicas
                    .iter()
                    .filter(|r| r.revision == n)
                    .cloned()
                    .collect(),
            }
        })
        .collect();
    let canary = split.map(|s| {
        let steps = history
            .iter()
            .find(|k| k.info.number.to_string() == s.revision)
            .and_then(|k| k.canary_steps.clone())
            .unwrap_or_default();
        // The walk's own step and verdict, when the controller reports the canary.
        let walk = status
            .canary
            .as_ref()
            .filter(|c| c.revision.to_string() == s.revision);
        CanaryView {
            step: walk.map_or_else(
                || steps.iter().position(|w| *w == s.weight),
                |c| Some(c.done.len()),
            ),
            steps,
            revision: s.revision,
            weight: s.weight,
            verdict: walk.and_then(|c| c.verdict.as_ref()).map(VerdictView::of),
        }
    });
    AppView {
        serving: status.serving.as_ref().map(|s| s.number),
        rolling_out: status.rolling_out,
        name: status.name,
        state: status.state,
        route: status.route,
        desired: status.desired,
        ready: status.ready,
        revisions,
        canary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(number: u64, state: RevisionState) -> RevisionInfo {
        RevisionInfo {
            number,
            state,
            version: format!("v{number}"),
            artifact: "binary sha256:00".to_owned(),
            driver: "process".to_owned(),
            replicas: 2,
            reason: None,
            replica_reports: Vec::new(),
            canary: None,
            created_at: 1_700_000_000 + i64::try_from(number).unwrap(),
            finished_at: None,
        }
    }

    fn replica(id: u32, revision: u64, state: &str) -> ReplicaStatus {
        ReplicaStatus {
            id,
            revision,
            state: state.to_owned(),
            restarts: 0,
            port: 40000,
            pid: Some(100 + id),
            container: None,
            uptime_seconds: 3,
            last_error: None,
        }
    }

    fn known(number: u64, state: RevisionState, steps: Option<&[u8]>) -> Known {
        Known {
            info: info(number, state),
            canary_steps: steps.map(<[u8]>::to_vec),
        }
    }

    #[test]
    fn replicas_are_grouped_under_their_revisions_newest_first() {
        let history: Vec<Known> = (1..=8)
            .rev()
            .map(|n| {
                let state = match n {
                    8 => RevisionState::RollingOut,
                    7 => RevisionState::Serving,
                    _ => RevisionState::Superseded,
                };
                known(n, state, None)
            })
            .collect();
        let status = AppStatus {
            name: "web".to_owned(),
            state: AppState::Running,
            serving: Some(info(7, RevisionState::Serving)),
            rolling_out: Some(8),
            desired: 2,
            ready: 2,
            route: Some("*/".to_owned()),
            replicas: vec![
                replica(1, 7, "ready"),
                replica(2, 7, "ready"),
                replica(3, 8, "starting"),
                // The store has lost it, yet it runs: it shows.
                replica(4, 1, "terminating"),
            ],
            canary: None,
        };
        let view = app_view(status, &history, None);
        let numbers: Vec<u64> = view.revisions.iter().map(|r| r.number).collect();
        assert_eq!(
            numbers,
            [8, 7, 6, 5, 4, 1],
            "the recent five and any with replicas"
        );
        let ids = |n: u64| -> Vec<u32> {
            view.revisions
                .iter()
                .find(|r| r.number == n)
                .unwrap()
                .replicas
                .iter()
                .map(|r| r.id)
                .collect()
        };
        assert_eq!(ids(7), [1, 2]);
        assert_eq!(ids(8), [3]);
        assert_eq!(ids(6), [] as [u32; 0]);
        assert_eq!(view.revisions[0].state, Some(RevisionState::RollingOut));
        assert_eq!((view.serving, view.rolling_out), (Some(7), Some(8)));
        assert_eq!(view.canary, None, "no split: no canary");
        let json = serde_json::to_value(&view).unwrap();
        assert!(json["canary"].is_null(), "the page's `no canary`: {json}");
    }

    #[test]
    fn a_split_is_a_canary_with_its_steps_and_no_verdict_yet() {
        let history = vec![
            known(2, RevisionState::RollingOut, Some(&[5, 25, 50, 100])),
            known(1, RevisionState::Serving, None),
        ];
        let status = AppStatus {
            name: "web".to_owned(),
            state: AppState::Running,
            serving: Some(info(1, RevisionState::Serving)),
            rolling_out: Some(2),
            desired: 1,
            ready: 2,
            route: None,
            replicas: vec![replica(1, 1, "ready"), replica(2, 2, "ready")],
            canary: None,
        };
        let split = CanarySplit {
            revision: "2".to_owned(),
            weight: 25,
        };
        let view = app_view(status, &history, Some(split));
        assert_eq!(
            view.canary,
            Some(CanaryView {
                revision: "2".to_owned(),
                weight: 25,
                steps: vec![5, 25, 50, 100],
                step: Some(1),
                verdict: None,
            })
        );
    }

    #[test]
    fn a_verdict_shows_its_kind_and_its_line() {
        let v = hoist_canary::Verdict::Pass {
            findings: Vec::new(),
        };
        assert_eq!(
            VerdictView::of(&v),
            VerdictView {
                kind: "pass",
                text: "pass".to_owned()
            }
        );
    }
}
