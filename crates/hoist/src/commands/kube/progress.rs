//! Progress of Kubernetes deploys on stderr: one plain line per step and per change of the
//! rollout (`deploy eu: 2/3 updated, 1/3 ready`), which reads the same in a terminal and in a
//! CI log and interleaves clearly when several clusters run at once; then a summary per cluster.

use std::time::Instant;

use hoist_kube::{Event, Observer, Outcome, Report};

/// Prints each event as a line, prefixed with the verb, the context and the time since start.
pub struct Lines {
    verb: &'static str,
    started: Instant,
}

impl Lines {
    /// Lines for `verb` (`deploy`, `rollback`), timed from now.
    pub fn new(verb: &'static str) -> Self {
        Self {
            verb,
            started: Instant::now(),
        }
    }

    fn line(&self, context: &str, text: &str) {
        let t = self.started.elapsed().as_secs_f64();
        eprintln!("{} {context}: [{t:5.1}s] {text}", self.verb);
    }
}

impl Observer for Lines {
    fn event(&self, context: &str, event: &Event) {
        match event {
            Event::Recorded { revision } => {
                self.line(context, &format!("revision {revision} recorded"));
            }
            Event::Applied { objects } => {
                self.line(
                    context,
                    &format!("applied {objects} objects (server-side, field manager hoist)"),
                );
            }
            Event::Pruned { what } => self.line(context, &format!("pruned {what}")),
            Event::Canary { message } => self.line(context, message),
            Event::Rollout { rollback, status } => {
                let what = if *rollback { "rollback: " } else { "" };
                self.line(context, &format!("{what}{}", status.describe()));
            }
            Event::Failed { reason, to } => {
                self.line(context, &format!("rollout failed: {reason}"));
                match to {
                    Some(r) => self.line(context, &format!("rolling back to revision {r}")),
                    None => self.line(context, "no earlier deployed revision to roll back to"),
                }
            }
            _ => {}
        }
    }
}

/// The closing line of one cluster.
pub fn summary(r: &Report) {
    let t = &r.timings;
    match r.outcome {
        Outcome::Deployed => eprintln!(
            "{} ({}): deployed revision {} (rollout {:.1}s, total {:.1}s){}",
            r.context,
            r.namespace,
            r.revision,
            t.rollout_seconds,
            t.total_seconds,
            if r.pruned.is_empty() {
                String::new()
            } else {
                format!("; pruned {}", r.pruned.join(", "))
            }
        ),
        Outcome::RolledBack => eprintln!(
            "{} ({}): revision {} failed, rolled back to revision {} (rollback {:.1}s): {}",
            r.context,
            r.namespace,
            r.revision,
            r.serving.map_or_else(|| "?".to_owned(), |s| s.to_string()),
            t.rollback_seconds.unwrap_or_default(),
            r.reason.as_deref().unwrap_or_default()
        ),
        Outcome::Failed => eprintln!(
            "{} ({}): revision {} failed: {}",
            r.context,
            r.namespace,
            r.revision,
            r.reason.as_deref().unwrap_or_default()
        ),
    }
    for report in &r.replica_reports {
        eprintln!(
            "{}",
            crate::commands::local::indent(&report.to_string(), "  ")
        );
    }
}
