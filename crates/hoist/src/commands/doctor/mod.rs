//! `hoist doctor`: what this machine has for the project in DIR, checked one thing at a time,
//! each failure with its fix. It changes nothing (it binds a port for a moment, and writes and
//! removes one file in the state and cache directories).

mod checks;

use std::process::ExitCode;

use console::style;
use serde::Serialize;

use crate::cli::DoctorArgs;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    /// Works.
    Ok,
    /// Works for now, or is needed only by what this project does not use.
    Warn,
    /// Would make a command fail: the exit status is 1.
    Fail,
    /// Not applicable here (e.g. no kubeconfig and no `[kubernetes]`).
    Skip,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
struct Check {
    /// What was checked: `go`, `engine`, `registry`, `kubernetes`, `agent`, `state`, …
    name: &'static str,
    /// How it came out.
    status: Status,
    /// What was found.
    detail: String,
    /// What to do about a warning or a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

impl Check {
    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Self {
        Self {
            name,
            status,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// What `--json` prints.
#[derive(Serialize)]
struct Report<'a> {
    /// No check failed.
    ok: bool,
    checks: &'a [Check],
}

/// Runs every check and prints one line per check (and its fix); exit status 1 when one failed.
pub fn run(args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let checks = checks::all(args)?;
    let ok = !checks.iter().any(|c| c.status == Status::Fail);
    if args.json {
        let report = Report {
            ok,
            checks: &checks,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for c in &checks {
            let label = match c.status {
                Status::Ok => style("ok  ").green(),
                Status::Warn => style("warn").yellow(),
                Status::Fail => style("FAIL").red().bold(),
                Status::Skip => style("skip").dim(),
            };
            println!("{label}  {:<10}  {}", c.name, c.detail);
            if let Some(fix) = &c.fix {
                println!("      {:<10}  fix: {fix}", "");
            }
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::outcome::ERROR)
    })
}
