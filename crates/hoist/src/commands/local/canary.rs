//! `hoist promote` and `hoist abort` on this machine, and how a canary reads in `status` and
//! `history`.

use std::process::ExitCode;

use hoist_runtime::api::{CanaryReport, Intervened, RevisionTraffic};

use super::connect::connect;
use super::deploy::refused;
use crate::cli::StopArgs;

/// `hoist promote APP` (`promote`) or `hoist abort APP`.
pub fn intervene(app: &str, args: &StopArgs, promote: bool) -> anyhow::Result<ExitCode> {
    let dir = super::dir_of(&args.agent)?;
    let (path, what) = if promote {
        (
            format!("/v1/apps/{app}/promote"),
            "cannot promote the canary",
        )
    } else {
        (format!("/v1/apps/{app}/abort"), "cannot abort the canary")
    };
    let done: Intervened = super::runtime()?.block_on(async {
        connect(&dir)
            .await?
            .post(&path, &serde_json::json!({}))
            .await
            .map_err(|e| refused(e, what))
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&done)?);
    } else {
        eprintln!("{}", done.message);
    }
    Ok(ExitCode::SUCCESS)
}

/// The lines a canary adds to `status` (live) or `history` (how it ended), without indent.
pub fn lines(c: &CanaryReport) -> Vec<String> {
    let steps: Vec<String> = c.steps.iter().map(|w| format!("{w}%")).collect();
    let step = (c.done.len() + 1).min(c.steps.len());
    let mut out = vec![match c.phase.as_str() {
        "starting" => format!(
            "canary: revision {} starting beside revision {} (steps {})",
            c.revision,
            c.stable,
            steps.join(" → ")
        ),
        "analysing" => format!(
            "canary: revision {} at {}% (step {step} of {}: {}), stable revision {}",
            c.revision,
            c.weight,
            c.steps.len(),
            steps.join(" → "),
            c.stable
        ),
        "promoted" => format!("canary: promoted after {}", steps.join(" → ")),
        _ => format!(
            "canary: rolled back at {}%: {}",
            c.weight,
            c.reason.as_deref().unwrap_or("unknown")
        ),
    }];
    if let Some([canary, stable]) = &c.window {
        out.push(format!("  this step, canary: {}", figures(canary)));
        out.push(format!("  this step, stable: {}", figures(stable)));
    }
    if let Some(share) = c.synthetic {
        // Live: this step's; rolled back: the last step's, which the verdict is on.
        let step = if c.phase == "analysing" {
            "this step"
        } else {
            "last step"
        };
        out.push(format!("  {step}, {share}"));
    }
    if let Some(v) = &c.verdict {
        out.push(format!("  verdict so far: {v}"));
    }
    for s in &c.done {
        out.push(format!(
            "  step {}% ({:.1}s): {}{}",
            s.weight,
            s.lasted.as_secs_f64(),
            s.verdict
                .as_ref()
                .map_or_else(|| "no analysis".to_owned(), ToString::to_string),
            if s.promoted_by_hand {
                ", promoted by hand"
            } else {
                ""
            }
        ));
        if let Some(share) = s.synthetic {
            out.push(format!("    {share}"));
        }
    }
    out
}

/// `1,234 requests, 0.41% errors, p50 2.1 ms, p99 9.8 ms`.
fn figures(t: &RevisionTraffic) -> String {
    let ms = |s: Option<f64>| s.map_or_else(|| "-".to_owned(), |s| format!("{:.1} ms", s * 1e3));
    format!(
        "{} requests, {:.2}% errors, p50 {}, p99 {}",
        t.sample.requests,
        t.error_rate * 100.0,
        ms(t.p50_seconds),
        ms(t.p99_seconds)
    )
}
