//! `status`, `history`, `rollback`, `logs` and `stop` on this machine.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use hoist_runtime::api::{AppState, AppStatus, Done, Event, RevisionInfo, RollbackRequest};

use super::connect::connect;
use super::deploy::refused;
use crate::cli::{HistoryArgs, LogsArgs, RollbackArgs, StatusArgs, StopArgs};
use crate::commands::outcome::{Outcome, exit_code};

/// `hoist status [APP]`: one app, or every app the agent runs.
pub fn status(app: Option<&str>, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let dir = super::dir_of(&args.agent)?;
    let (statuses, tls) = super::runtime()?.block_on(async {
        let client = connect(&dir).await?;
        let tls = client
            .get::<hoist_runtime::api::AgentInfo>("/v1/agent")
            .await
            .ok()
            .and_then(|i| i.tls);
        let statuses: anyhow::Result<Vec<AppStatus>> = match app {
            Some(a) => Ok(vec![
                client
                    .get::<AppStatus>(&format!("/v1/apps/{a}"))
                    .await
                    .map_err(|e| refused(e, "cannot get the status"))?,
            ]),
            None => client
                .get::<Vec<AppStatus>>("/v1/apps")
                .await
                .map_err(|e| refused(e, "cannot get the status")),
        };
        statuses.map(|s| (s, tls))
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&statuses)?);
        return Ok(ExitCode::SUCCESS);
    }
    if statuses.is_empty() {
        println!("no apps run on this machine");
    }
    let mut out = std::io::stdout().lock();
    for s in &statuses {
        print_status(&mut out, s)?;
    }
    if let Some(t) = &tls {
        writeln!(out, "{}", tls_line(t))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One line on an agent's HTTPS (this machine's or a host's): where, and the certificate it
/// presents or why it has none.
pub(crate) fn tls_line(t: &hoist_runtime::api::TlsInfo) -> String {
    let whose = if t.source == "acme" {
        format!("ACME for {}", t.domains.join(", "))
    } else {
        "your files".to_owned()
    };
    match (t.not_after, &t.error) {
        (Some(end), err) => {
            let date = format!("{} UTC", time(end));
            let renewal = err
                .as_ref()
                .map(|e| format!("; the last renewal failed: {e}"))
                .unwrap_or_default();
            format!(
                "https on {}: certificate ({whose}) valid until {date}{renewal}",
                t.listen
            )
        }
        (None, Some(e)) => format!(
            "{} https on {}: no certificate ({whose}): {e}",
            console::style("FAIL").red(),
            t.listen
        ),
        (None, None) => format!(
            "https on {}: certificate ({whose}) not there yet: the CA is being asked",
            t.listen
        ),
    }
}

/// The lines of `hoist status` for one app (also per host on the hosts target).
pub(crate) fn print_status(out: &mut impl std::io::Write, s: &AppStatus) -> std::io::Result<()> {
    let serving = s.serving.as_ref().map_or_else(
        || "not serving".to_owned(),
        |r| format!("revision {} ({}) serving", r.number, r.version),
    );
    let rolling = s
        .rolling_out
        .map_or_else(String::new, |n| format!(", rolling out revision {n}"));
    writeln!(
        out,
        "{}: {serving}{rolling}, {}/{} ready{}",
        s.name,
        s.ready,
        s.desired,
        s.route
            .as_ref()
            .map_or_else(String::new, |r| format!(", route {r}"))
    )?;
    if s.replicas.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "  {:<8} {:<4} {:<20} {:>8} {:>6} {:<14} {:>7}  last error",
        "replica", "rev", "state", "restarts", "port", "pid/container", "uptime"
    )?;
    for r in &s.replicas {
        let who = r
            .pid
            .map(|p| p.to_string())
            .or_else(|| r.container.as_ref().map(|c| c.chars().take(12).collect()))
            .unwrap_or_else(|| "-".to_owned());
        writeln!(
            out,
            "  {:<8} {:<4} {:<20} {:>8} {:>6} {:<14} {:>6}s  {}",
            r.id,
            r.revision,
            r.state,
            r.restarts,
            r.port,
            who,
            r.uptime_seconds,
            r.last_error.as_deref().unwrap_or("")
        )?;
    }
    if let Some(c) = &s.canary {
        for line in super::canary::lines(c) {
            writeln!(out, "  {line}")?;
        }
    }
    Ok(())
}

/// `hoist history APP`.
pub fn history(app: &str, args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    let dir = super::dir_of(&args.agent)?;
    let revisions: Vec<RevisionInfo> = super::runtime()?.block_on(async {
        connect(&dir)
            .await?
            .get(&format!("/v1/apps/{app}/history"))
            .await
            .map_err(|e| refused(e, "cannot get the history"))
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&revisions)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_history(&mut std::io::stdout().lock(), &revisions)?;
    Ok(ExitCode::SUCCESS)
}

/// The table of `hoist history` (also per host on the hosts target).
pub(crate) fn print_history(
    out: &mut impl std::io::Write,
    revisions: &[RevisionInfo],
) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<4} {:<12} {:<20} {:<8} {:>8} {:<20} reason",
        "rev", "state", "version", "driver", "replicas", "deployed"
    )?;
    for r in revisions {
        let state = serde_json::to_value(r.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        writeln!(
            out,
            "{:<4} {:<12} {:<20} {:<8} {:>8} {:<20} {}",
            r.number,
            state,
            r.version,
            r.driver,
            r.replicas,
            time(r.created_at),
            r.reason.as_deref().unwrap_or("")
        )?;
        for report in &r.replica_reports {
            writeln!(out, "{}", indent(&report.to_string(), "     "))?;
        }
        if let Some(c) = &r.canary {
            for line in super::canary::lines(c) {
                writeln!(out, "     {line}")?;
            }
        }
    }
    Ok(())
}

/// Every line of `text` with `prefix` before it.
pub fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
pub(crate) fn time(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `hoist rollback APP [--to REV]`.
pub fn rollback(app: &str, args: &RollbackArgs) -> anyhow::Result<ExitCode> {
    let dir = super::dir_of(&args.agent)?;
    let done: Done = super::runtime()?.block_on(async {
        let client = connect(&dir).await?;
        let mut done = None;
        client
            .post_events(
                &format!("/v1/apps/{app}/rollback"),
                &RollbackRequest { to: args.to },
                |ev| match ev {
                    Event::Progress { message, .. } => eprintln!("  {message}"),
                    Event::Done(d) => done = Some(d),
                },
            )
            .await
            .map_err(|e| refused(e, "the agent refused the rollback"))?;
        done.context("the rollback ended without an outcome")
    })?;
    let outcome = done.outcome;
    if args.json {
        println!("{}", serde_json::to_string(&done)?);
    }
    if outcome == Outcome::Deployed {
        eprintln!(
            "rolled back `{app}`: revision {} serves (in {:.1}s)",
            done.revision, done.seconds
        );
    } else {
        eprintln!(
            "the rollback of `{app}` failed: {}",
            done.reason.as_deref().unwrap_or("unknown")
        );
        for report in &done.replica_reports {
            eprintln!("{}", indent(&report.to_string(), "  "));
        }
    }
    Ok(exit_code(outcome))
}

/// `hoist logs APP [--follow] [--replica N] [--tail N]`.
pub fn logs(app: &str, args: &LogsArgs) -> anyhow::Result<ExitCode> {
    let dir = super::dir_of(&args.agent)?;
    let mut query = format!("/v1/apps/{app}/logs?tail={}", args.tail);
    if let Some(n) = args.replica {
        let _ = write!(query, "&replica={n}");
    }
    if args.follow {
        query.push_str("&follow=true");
    }
    super::runtime()?.block_on(async {
        let mut out = std::io::stdout();
        connect(&dir)
            .await?
            .get_raw(&query, |chunk| {
                let _ = out.write_all(chunk);
                let _ = out.flush();
            })
            .await
            .map_err(|e| refused(e, "cannot read the logs"))
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `hoist stop APP`.
pub fn stop(app: &str, args: &StopArgs) -> anyhow::Result<ExitCode> {
    let dir = super::dir_of(&args.agent)?;
    let was = super::runtime()?.block_on(async {
        let client = connect(&dir).await?;
        stop_app(&client, app).await
    })?;
    if let Some(state) = was {
        eprintln!(
            "`{app}` is already {}: nothing of it runs; `hoist history {app}` shows its revisions, `hoist forget {app}` removes them",
            state_name(state)
        );
    }
    if args.json {
        let report = serde_json::json!({
            "app": app,
            "stopped": was.is_none(),
            "was": was.map_or("running", state_name),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// Stops a running `app` (saying what it waits for, and when it is done); `Some(state)` when
/// it was not running.
pub(crate) async fn stop_app(
    client: &hoist_runtime::client::AgentClient,
    app: &str,
) -> anyhow::Result<Option<AppState>> {
    let before: AppStatus = client
        .get(&format!("/v1/apps/{app}"))
        .await
        .map_err(|e| refused(e, "cannot stop the app"))?;
    if before.state != AppState::Running {
        return Ok(Some(before.state));
    }
    eprintln!(
        "stopping `{app}`: {}",
        super::stopping::draining(before.replicas.len())
    );
    let path = format!("/v1/apps/{app}/stop");
    let empty = serde_json::json!({});
    let stop = client.post::<_, AppStatus>(&path, &empty);
    tokio::select! {
        r = stop => { r.map_err(|e| refused(e, "cannot stop the app"))?; }
        () = super::stopping::watch(client, Some(app)) => {}
    }
    eprintln!("stopped `{app}`: its replicas are drained and stopped, its route removed");
    Ok(None)
}

/// `hoist forget APP`: removes the history and logs of an app that is not running.
pub fn forget(app: &str, args: &StopArgs) -> anyhow::Result<ExitCode> {
    let dir = super::dir_of(&args.agent)?;
    super::runtime()?.block_on(async {
        connect(&dir)
            .await?
            .delete::<AppStatus>(&format!("/v1/apps/{app}"))
            .await
            .map_err(|e| refused(e, "cannot forget the app"))
    })?;
    eprintln!("forgot `{app}`: its revisions, events and logs are removed");
    if args.json {
        let report = serde_json::json!({ "app": app, "forgotten": true });
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(ExitCode::SUCCESS)
}

fn state_name(s: AppState) -> &'static str {
    match s {
        AppState::Running => "running",
        AppState::Stopped => "stopped",
        AppState::Failed => "failed (nothing serves)",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_utc_dates() {
        assert_eq!(super::time(0), "1970-01-01 00:00:00");
        assert_eq!(super::time(1_764_607_410), "2025-12-01 16:43:30");
    }
}
