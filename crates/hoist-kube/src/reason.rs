//! Why a rollout failed, in the cluster's own words: the new ReplicaSet's pods' container
//! waiting and termination reasons (ImagePullBackOff, CrashLoopBackOff, OOMKilled…), their
//! Ready=False and PodScheduled=False conditions, their Warning events (probe failures are
//! `Unhealthy`), and the ReplicaSet's ReplicaFailure. [`findings`] is pure; [`explain`] fetches.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams};

use crate::cluster::Cluster;
use hoist_core::ReplicaReport;

/// The annotation the Deployment controller numbers ReplicaSets with.
const REVISION: &str = "deployment.kubernetes.io/revision";
/// At most this many distinct findings are reported.
const MAX_FINDINGS: usize = 6;

/// The ReplicaSet of `d`'s current template among `sets`: the one it owns with its revision.
pub fn new_replica_set<'a>(d: &Deployment, sets: &'a [ReplicaSet]) -> Option<&'a ReplicaSet> {
    let uid = d.metadata.uid.as_deref()?;
    let revision = d.metadata.annotations.as_ref()?.get(REVISION)?;
    sets.iter().find(|rs| {
        owned_by(&rs.metadata, uid)
            && rs
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION))
                == Some(revision)
    })
}

fn owned_by(meta: &kube::api::ObjectMeta, uid: &str) -> bool {
    meta.owner_references.iter().flatten().any(|o| o.uid == uid)
}

/// Distinct reasons found in the new ReplicaSet, its pods and their Warning events, each with
/// how many pods show it, most frequent first.
pub fn findings(rs: Option<&ReplicaSet>, pods: &[Pod], events: &[Event]) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut note = |s: String| {
        let n = seen.entry(s.clone()).or_insert(0);
        if *n == 0 {
            order.push(s);
        }
        *n += 1;
    };
    if let Some(rs) = rs {
        for c in rs.status.iter().flat_map(|s| s.conditions.iter().flatten()) {
            if c.type_.as_deref() == Some("ReplicaFailure") && c.status.as_deref() == Some("True") {
                note(format!(
                    "ReplicaSet: {}: {}",
                    c.reason.as_deref().unwrap_or("ReplicaFailure"),
                    c.message.as_deref().unwrap_or_default()
                ));
            }
        }
    }
    for pod in pods {
        for finding in pod_findings(pod) {
            note(finding);
        }
    }
    let names: Vec<&str> = pods
        .iter()
        .filter_map(|p| p.metadata.name.as_deref())
        .collect();
    for e in events {
        let about_ours = e
            .involved_object
            .name
            .as_deref()
            .is_some_and(|n| names.contains(&n));
        if about_ours && e.type_.as_deref() == Some("Warning") {
            note(format!(
                "event {}: {}",
                e.reason.as_deref().unwrap_or("Warning"),
                e.message.as_deref().unwrap_or_default().trim()
            ));
        }
    }
    let mut out: Vec<(usize, String)> = order.into_iter().map(|s| (seen[&s], s)).collect();
    out.sort_by_key(|o| std::cmp::Reverse(o.0));
    out.into_iter()
        .take(MAX_FINDINGS)
        .map(|(n, s)| if n > 1 { format!("{s} (×{n})") } else { s })
        .collect()
}

/// What is wrong with one pod, most telling first.
fn pod_findings(pod: &Pod) -> Vec<String> {
    let mut out = Vec::new();
    let Some(st) = &pod.status else {
        return out;
    };
    let containers = st
        .init_container_statuses
        .iter()
        .flatten()
        .chain(st.container_statuses.iter().flatten());
    let mut container_said = false;
    for c in containers {
        let state = c.state.as_ref();
        if let Some(w) = state.and_then(|s| s.waiting.as_ref())
            && let Some(reason) = w.reason.as_deref()
            && reason != "ContainerCreating"
            && reason != "PodInitializing"
        {
            container_said = true;
            out.push(match w.message.as_deref().filter(|m| !m.is_empty()) {
                Some(m) => format!("container `{}`: {reason}: {m}", c.name),
                None => format!("container `{}`: {reason}", c.name),
            });
        }
        if let Some(t) = c.last_state.as_ref().and_then(|s| s.terminated.as_ref()) {
            container_said = true;
            out.push(format!(
                "container `{}` exited with code {}{}",
                c.name,
                t.exit_code,
                t.reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ));
        }
    }
    for cond in st.conditions.iter().flatten() {
        let failing = cond.status == "False";
        let relevant = matches!(cond.type_.as_str(), "PodScheduled" | "Ready");
        if failing && relevant && !(cond.type_ == "Ready" && container_said) {
            out.push(format!(
                "pod {}=False: {}{}",
                cond.type_,
                cond.reason.as_deref().unwrap_or("unknown"),
                cond.message
                    .as_deref()
                    .filter(|m| !m.is_empty())
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ));
        }
    }
    out
}

/// What one pod of the new ReplicaSet showed: its state, the last probe failure its events
/// name, how its container last ended, its restarts and notes (without its log, which
/// [`explain`] fetches).
pub fn pod_report(pod: &Pod, events: &[Event]) -> ReplicaReport {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let status = pod.status.as_ref();
    let containers: Vec<_> = status
        .into_iter()
        .flat_map(|s| {
            s.init_container_statuses
                .iter()
                .flatten()
                .chain(s.container_statuses.iter().flatten())
        })
        .collect();
    let waiting = containers.iter().find_map(|c| {
        c.state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .filter(|w| {
                !matches!(
                    w.reason.as_deref(),
                    None | Some("ContainerCreating" | "PodInitializing")
                )
            })
    });
    let ready = status
        .into_iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let phase = status
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".to_owned());
    let state = match waiting.and_then(|w| w.reason.clone()) {
        Some(reason) => reason,
        None if phase == "Running" && !ready => "Running, not ready".to_owned(),
        None => phase,
    };
    // The newest probe failure about this pod (events come oldest first).
    let probe = events
        .iter()
        .rev()
        .filter(|e| e.involved_object.name.as_deref() == Some(name.as_str()))
        .find(|e| e.reason.as_deref() == Some("Unhealthy"))
        .and_then(|e| e.message.as_deref())
        .map(|m| m.trim().to_owned());
    let exit = containers.iter().find_map(|c| {
        let t = c.last_state.as_ref()?.terminated.as_ref()?;
        Some(match (t.signal, t.reason.as_deref()) {
            (Some(sig), _) => format!("ended by signal {sig}"),
            (None, Some(reason)) => format!("exited with status {} ({reason})", t.exit_code),
            (None, None) => format!("exited with status {}", t.exit_code),
        })
    });
    let mut notes = Vec::new();
    if let Some(w) = waiting
        && let Some(m) = w.message.as_deref().filter(|m| !m.is_empty())
    {
        notes.push(m.to_owned());
    }
    for c in status
        .into_iter()
        .flat_map(|s| s.conditions.iter().flatten())
    {
        if c.type_ == "PodScheduled" && c.status == "False" {
            notes.push(format!(
                "not scheduled: {}",
                c.message.as_deref().unwrap_or("no reason given")
            ));
        }
    }
    ReplicaReport {
        replica: name,
        state,
        probe,
        exit,
        restarts: containers
            .iter()
            .map(|c| u32::try_from(c.restart_count).unwrap_or(0))
            .sum(),
        log: Vec::new(),
        notes,
    }
}

/// Why a rollout is stuck: the distinct findings, and a report per unready pod of the new
/// ReplicaSet.
#[derive(Debug, Default)]
pub(crate) struct Explanation {
    /// [`findings`]: one line each, most frequent first.
    pub(crate) findings: Vec<String>,
    /// Per unready pod, with the last lines of its log when the cluster serves them.
    pub(crate) reports: Vec<ReplicaReport>,
}

/// Lines of a pod's log in its report.
const LOG_LINES: i64 = 5;
/// At most this many pods get a report (each costs a log request).
const MAX_REPORTS: usize = 5;

/// Looks at the cluster and says why `d`'s rollout is stuck (empty when nothing is found).
pub(crate) async fn explain(cluster: &Cluster, namespace: &str, d: &Deployment) -> Explanation {
    let selector = d
        .spec
        .selector
        .match_labels
        .as_ref()
        .map(|l| {
            l.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let params = ListParams::default().labels(&selector);
    let sets: Api<ReplicaSet> = Api::namespaced(cluster.client(), namespace);
    let Ok(sets) = sets.list(&params).await else {
        return Explanation::default();
    };
    let rs = new_replica_set(d, &sets.items);
    let pod_api: Api<Pod> = Api::namespaced(cluster.client(), namespace);
    let pods = pod_api
        .list(&params)
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let pods: Vec<Pod> = match rs.and_then(|r| r.metadata.uid.as_deref()) {
        Some(uid) => pods
            .into_iter()
            .filter(|p| owned_by(&p.metadata, uid))
            .collect(),
        None => pods,
    };
    let events: Api<Event> = Api::namespaced(cluster.client(), namespace);
    let events = events
        .list(&ListParams::default().fields("involvedObject.kind=Pod,type=Warning"))
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    let mut reports = Vec::new();
    for pod in pods.iter().filter(|p| !is_ready(p)).take(MAX_REPORTS) {
        let mut report = pod_report(pod, &events);
        report.log = pod_log(&pod_api, &report).await;
        reports.push(report);
    }
    Explanation {
        findings: findings(rs, &pods, &events),
        reports,
    }
}

fn is_ready(pod: &Pod) -> bool {
    pod.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// The last lines of a pod's log — of its previous container when it restarted, which is the
/// one that failed. A cluster that cannot serve logs (no kubelet to ask) gives none.
async fn pod_log(api: &Api<Pod>, report: &ReplicaReport) -> Vec<String> {
    let params = kube::api::LogParams {
        tail_lines: Some(LOG_LINES),
        previous: report.restarts > 0,
        ..kube::api::LogParams::default()
    };
    match api.logs(&report.replica, &params).await {
        Ok(text) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect(),
        Err(e) => {
            tracing::debug!(pod = %report.replica, error = %e, "cannot read a pod's log");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(yaml: &str) -> Pod {
        serde_saphyr::from_str(yaml).expect("a Pod")
    }

    #[test]
    fn container_reasons_come_first_and_are_counted() {
        let pull = "
metadata: {name: hello-1}
status:
  conditions:
  - {type: Ready, status: 'False', reason: ContainersNotReady, message: 'containers with unready status: [hello]'}
  containerStatuses:
  - name: hello
    image: x
    imageID: ''
    ready: false
    restartCount: 0
    state: {waiting: {reason: ImagePullBackOff, message: 'Back-off pulling image \"x\"'}}
";
        let crash = "
metadata: {name: hello-3}
status:
  containerStatuses:
  - name: hello
    image: x
    imageID: ''
    ready: false
    restartCount: 4
    state: {waiting: {reason: CrashLoopBackOff, message: back-off 40s restarting failed container}}
    lastState: {terminated: {exitCode: 2, reason: Error}}
";
        let pods = [
            pod(pull),
            pod(&pull.replace("hello-1", "hello-2")),
            pod(crash),
        ];
        let f = findings(None, &pods, &[]);
        assert_eq!(
            f,
            [
                "container `hello`: ImagePullBackOff: Back-off pulling image \"x\" (×2)",
                "container `hello`: CrashLoopBackOff: back-off 40s restarting failed container",
                "container `hello` exited with code 2 (Error)",
            ]
        );
    }

    #[test]
    fn unready_pods_and_probe_events_are_reported() {
        let p = pod("
metadata: {name: hello-1}
status:
  phase: Running
  conditions:
  - {type: Ready, status: 'False', reason: ContainersNotReady, message: containers with unready status (hoist.test/never-ready)}
  containerStatuses:
  - {name: hello, image: x, imageID: '', ready: false, restartCount: 0, state: {running: {}}}
");
        let e: Event = serde_saphyr::from_str(
            "
metadata: {name: e1}
involvedObject: {kind: Pod, name: hello-1}
type: Warning
reason: Unhealthy
message: 'Readiness probe failed: HTTP probe failed with statuscode: 503'
",
        )
        .unwrap();
        let other: Event = serde_saphyr::from_str(
            "
metadata: {name: e2}
involvedObject: {kind: Pod, name: unrelated-1}
type: Warning
reason: Unhealthy
message: not ours
",
        )
        .unwrap();
        assert_eq!(
            findings(None, &[p], &[e, other]),
            [
                "pod Ready=False: ContainersNotReady: containers with unready status (hoist.test/never-ready)",
                "event Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503",
            ]
        );
    }

    #[test]
    fn unschedulable_pods_say_so() {
        let p = pod("
metadata: {name: hello-1}
status:
  phase: Pending
  conditions:
  - {type: PodScheduled, status: 'False', reason: Unschedulable, message: '0/2 nodes are available: 2 Insufficient memory.'}
");
        assert_eq!(
            findings(None, &[p], &[]),
            [
                "pod PodScheduled=False: Unschedulable: 0/2 nodes are available: 2 Insufficient memory."
            ]
        );
    }

    #[test]
    fn a_pod_report_names_its_probe_exit_and_restarts() {
        let p = pod("
metadata: {name: hello-7}
status:
  phase: Running
  conditions:
  - {type: Ready, status: 'False', reason: ContainersNotReady}
  containerStatuses:
  - name: hello
    image: x
    imageID: ''
    ready: false
    restartCount: 2
    state: {waiting: {reason: CrashLoopBackOff, message: back-off 20s restarting failed container}}
    lastState: {terminated: {exitCode: 1, reason: Error}}
");
        let events: Vec<Event> = ["HTTP probe failed with statuscode: 500", "HTTP probe failed with statuscode: 404"]
            .iter()
            .map(|m| {
                serde_saphyr::from_str(&format!(
                    "metadata: {{name: e}}\ninvolvedObject: {{kind: Pod, name: hello-7}}\ntype: Warning\nreason: Unhealthy\nmessage: 'Readiness probe failed: {m}'\n"
                ))
                .unwrap()
            })
            .collect();
        let r = pod_report(&p, &events);
        assert_eq!(r.replica, "hello-7");
        assert_eq!(r.state, "CrashLoopBackOff");
        assert_eq!(
            r.probe.as_deref(),
            Some("Readiness probe failed: HTTP probe failed with statuscode: 404"),
            "the newest event"
        );
        assert_eq!(r.exit.as_deref(), Some("exited with status 1 (Error)"));
        assert_eq!(r.restarts, 2);
        assert_eq!(r.notes, ["back-off 20s restarting failed container"]);
    }
}
