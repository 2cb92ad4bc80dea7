//! What the replicas of a failed revision showed, for the rollout's report and `history`: per
//! replica its last probe result, how it last exited, and the last lines it printed. A user
//! reads why a revision never got ready without opening its logs.

use std::io::{Read as _, Seek as _, SeekFrom};

use hoist_core::ReplicaReport;

use super::controller::Controller;
use super::revision;
use crate::logs::LogPolicy;

/// How the agent's own lines in a replica's log begin (a start marker): not the app's words.
pub(crate) const MARKER: &str = "[hoist] ";

/// Lines of a replica's log in its report.
const LOG_LINES: usize = 5;
/// A line longer than this is cut (an app that logs one huge JSON document).
const LINE_CHARS: usize = 240;
/// Bytes read from the end of a log for its last lines.
const TAIL_BYTES: u64 = 16 * 1024;

impl Controller {
    /// Reports of the replicas of revision `target` that are not ready (all of them when none
    /// is running, which says nothing, so an empty list).
    pub(crate) fn replica_reports(&self, target: u64) -> Vec<ReplicaReport> {
        let log_dir = self.ctx.log_dir(&self.app);
        self.replicas
            .iter()
            .filter(|r| r.revision == target && !r.ready())
            .map(|r| ReplicaReport {
                replica: r.id.to_string(),
                state: r.state().to_owned(),
                probe: r.probe_results.telling(),
                exit: r.last_exit.map(|e| e.to_string()),
                restarts: r.backoff.restarts,
                log: last_lines(
                    &revision::log_policy(&log_dir, r.id, self.ctx.logs),
                    LOG_LINES,
                ),
                notes: r
                    .unhealthy
                    .iter()
                    .chain(
                        r.last_error
                            .iter()
                            .filter(|_| r.probe_results.telling().is_none()),
                    )
                    .cloned()
                    .collect(),
            })
            .collect()
    }
}

/// The last `n` non-empty lines of a replica's log, oldest first, each cut to a readable length.
pub(crate) fn last_lines(policy: &LogPolicy, n: usize) -> Vec<String> {
    let Ok(mut f) = std::fs::File::open(&policy.path) else {
        return Vec::new();
    };
    let len = f.metadata().map_or(0, |m| m.len());
    if f.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))
        .is_err()
    {
        return Vec::new();
    }
    let mut tail = Vec::new();
    if f.read_to_end(&mut tail).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&tail);
    let all: Vec<&str> = text
        .lines()
        // The first line may start mid-way when the read began inside it.
        .skip(usize::from(len > TAIL_BYTES))
        .collect();
    let mut lines: Vec<String> = all
        .into_iter()
        .rev()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !l.starts_with(MARKER))
        .take(n)
        .map(|l| {
            if l.chars().count() > LINE_CHARS {
                let cut: String = l.chars().take(LINE_CHARS).collect();
                format!("{cut}…")
            } else {
                l.to_owned()
            }
        })
        .collect();
    lines.reverse();
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_skip_blanks_and_cut_long_ones() {
        let dir = tempfile::tempdir().unwrap();
        let policy = LogPolicy {
            path: dir.path().join("r.log"),
            max_bytes: 1 << 20,
            keep: 1,
        };
        assert!(last_lines(&policy, 5).is_empty(), "no log yet");
        let long = "x".repeat(300);
        std::fs::write(&policy.path, format!("one\ntwo\n\nthree\n{long}\n\n")).unwrap();
        let lines = last_lines(&policy, 3);
        assert_eq!(lines[..2], ["two", "three"]);
        assert_eq!(lines[2].chars().count(), LINE_CHARS + 1);
    }

    #[test]
    fn a_partial_first_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let policy = LogPolicy {
            path: dir.path().join("r.log"),
            max_bytes: 1 << 20,
            keep: 1,
        };
        let filler = "y".repeat(usize::try_from(TAIL_BYTES).unwrap());
        std::fs::write(&policy.path, format!("{filler}\nlast\n")).unwrap();
        assert_eq!(last_lines(&policy, 5), ["last"]);
    }
}
