//! `status`, `history` and `rollback` on the hosts target: the local commands, asked of every
//! host's agent at once through its forwarded socket, one section per host.
//!
//! Drift: every deploy that changes the fleet leaves its record on each host it reached
//! ([`record`]: the version and the binary's digest, and when). `status` takes the newest
//! record among the hosts as "the last deploy" and says of each host whether what serves there
//! is it — a host that was down during the deploy, rolled back by hand, or deployed to alone
//! with `--host` shows as drifted.

use std::process::ExitCode;

use anyhow::Context as _;
use console::style;
use hoist_core::App;
use hoist_hosts::{AgentTunnel, Connection, SshOptions};
use hoist_runtime::api::{AppStatus, Done, Event, RevisionInfo, RollbackRequest};
use hoist_runtime::client::AgentClient;
use serde::{Deserialize, Serialize};

use crate::cli::{HistoryArgs, RollbackArgs, StatusArgs, TargetArgs};
use crate::commands::outcome::{self, Outcome};

/// What the last deploy that changed the fleet put on it, kept on each host it reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Record {
    /// The version deployed.
    pub version: String,
    /// The binary's digest, or the image config's (`sha256:…`).
    pub digest: String,
    /// Every part sent: the binary, or the image's config then its layers (for the next
    /// deploy's deltas).
    #[serde(default)]
    pub parts: Vec<String>,
    /// When (seconds since the epoch, the deploying machine's clock).
    pub at: u64,
    /// What that deploy ran on each platform of its hosts (`linux/arm64` → digest): a host
    /// runs the last deploy when it serves its own platform's.
    #[serde(default)]
    pub platforms: std::collections::BTreeMap<String, String>,
}

/// The record's file on a host, relative to its home.
fn record_path(app: &str) -> String {
    format!("{}/fleet/{app}.json", hoist_hosts::layout::STATE_DIR)
}

/// Writes `rec` on the host (replacing the one there).
pub(super) async fn record(conn: &Connection, app: &str, rec: &Record) -> anyhow::Result<()> {
    let path = record_path(app);
    let json = serde_json::to_string(rec)?;
    conn.sh(
        "record the deploy",
        &format!(
            "set -e; mkdir -p \"$HOME/$(dirname '{path}')\"; printf '%s\\n' '{json}' > \"$HOME/{path}.tmp\"; mv -f \"$HOME/{path}.tmp\" \"$HOME/{path}\""
        ),
    )
    .await?;
    Ok(())
}

/// The record on the host, if any.
pub(super) async fn read_record(conn: &Connection, app: &str) -> Option<Record> {
    let path = record_path(app);
    let text = conn
        .sh(
            "read the last deploy",
            &format!("cat \"$HOME/{path}\" 2>/dev/null || true"),
        )
        .await
        .ok()?;
    serde_json::from_str(text.trim()).ok()
}

/// One host, connected, with a tunnel to its agent.
struct Reached {
    conn: Connection,
    tunnel: AgentTunnel,
}

impl Reached {
    async fn open(target: &str, opts: &SshOptions) -> anyhow::Result<Self> {
        let conn = Connection::open(target, opts).await?;
        let home = match conn.sh("find the home", "printf %s \"$HOME\"").await {
            Ok(h) => h,
            Err(e) => {
                conn.close().await;
                return Err(e.into());
            }
        };
        match AgentTunnel::open(&conn, &home, hoist_runtime::agent::SOCKET).await {
            Ok(tunnel) => Ok(Self { conn, tunnel }),
            Err(e) => {
                conn.close().await;
                Err(e.into())
            }
        }
    }

    fn client(&self) -> AgentClient {
        AgentClient::new(self.tunnel.state_dir())
    }

    async fn close(self) {
        drop(self.tunnel);
        self.conn.close().await;
    }
}

/// The targets and ssh options of `app` with the command's flags.
fn resolve(app: &App, target: &TargetArgs) -> anyhow::Result<(Vec<String>, SshOptions)> {
    super::resolve(
        app.hosts.clone(),
        &target.hosts.hosts,
        target.hosts.ssh_config.clone(),
        target.hosts.ssh_timeout,
    )
}

/// Runs `each` on every host at once; results in the order of the targets.
async fn on_every_host<T, F, Fut>(
    targets: &[String],
    opts: &SshOptions,
    each: F,
) -> Vec<(String, anyhow::Result<T>)>
where
    F: Fn(String, Reached) -> Fut,
    Fut: std::future::Future<Output = (Reached, anyhow::Result<T>)>,
{
    futures_util::future::join_all(targets.iter().map(|t| {
        let each = &each;
        async move {
            let result = match Reached::open(t, opts).await {
                Ok(r) => {
                    let (r, result) = each(t.clone(), r).await;
                    r.close().await;
                    result
                }
                Err(e) => Err(e),
            };
            (t.clone(), result)
        }
    }))
    .await
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// One host's status and the fleet's record it holds.
#[derive(Serialize)]
struct HostStatus {
    host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<AppStatus>,
    /// Whether what serves there differs from the last deploy (`None`: no deploy recorded).
    #[serde(skip_serializing_if = "Option::is_none")]
    drift: Option<bool>,
    /// The host's HTTPS listener and certificate, when it serves HTTPS.
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<hoist_runtime::api::TlsInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// `hoist status --target hosts`: the app on every host, and whether each host serves what the
/// last deploy put there.
pub fn status(app: &App, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let (targets, opts) = resolve(app, &args.target)?;
    let name = app.app.name.clone();
    let results = runtime()?.block_on(on_every_host(&targets, &opts, |_, r| {
        let name = name.clone();
        async move {
            let rec = read_record(&r.conn, &name).await;
            let status = r
                .client()
                .get::<AppStatus>(&format!("/v1/apps/{name}"))
                .await
                .map_err(|e| anyhow::Error::new(e).context("the host's agent cannot say"));
            let tls = r
                .client()
                .get::<hoist_runtime::api::AgentInfo>("/v1/agent")
                .await
                .ok()
                .and_then(|i| i.tls);
            (r, status.map(|s| (s, rec, tls)))
        }
    }));
    let last = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok()?.1.clone())
        .max_by_key(|rec| rec.at);
    let hosts: Vec<HostStatus> = results
        .into_iter()
        .map(|(host, r)| match r {
            Ok((s, _, tls)) => HostStatus {
                drift: last.as_ref().map(|l| drifted(&s, l)),
                host,
                status: Some(s),
                tls,
                error: None,
            },
            Err(e) => HostStatus {
                host,
                status: None,
                drift: None,
                tls: None,
                error: Some(format!("{e:#}")),
            },
        })
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&hosts)?);
    } else {
        print_statuses(&hosts, last.as_ref())?;
    }
    let bad = hosts
        .iter()
        .any(|h| h.error.is_some() || h.drift == Some(true));
    Ok(if bad {
        ExitCode::from(outcome::ERROR)
    } else {
        ExitCode::SUCCESS
    })
}

/// Whether the revision serving in `s` is not the binary (or image) of the last deploy for any
/// platform (a host serves only its own platform's): a binary's artifact ends with its
/// digest, an image's with its id (docker's `sha256:HEX`, podman's `HEX`), the config's
/// digest.
fn drifted(s: &AppStatus, last: &Record) -> bool {
    let mut digests = last.platforms.values().chain(std::iter::once(&last.digest));
    !s.serving.as_ref().is_some_and(|r| {
        r.version == last.version
            && digests.any(|d| r.artifact.ends_with(d.trim_start_matches("sha256:")))
    })
}

fn print_statuses(hosts: &[HostStatus], last: Option<&Record>) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if let Some(l) = last {
        writeln!(out, "last deploy: {} ({})", l.version, short(&l.digest))?;
    }
    for h in hosts {
        match (&h.status, &h.error) {
            (Some(s), _) => {
                let drift = match h.drift {
                    Some(true) => format!("{}", style("drift: not the last deploy").yellow()),
                    Some(false) => "matches the last deploy".to_owned(),
                    None => "no deploy recorded".to_owned(),
                };
                writeln!(out, "{} ({drift})", h.host)?;
                if let Some(t) = &h.tls {
                    writeln!(out, "  {}", crate::commands::local::show::tls_line(t))?;
                }
                let mut text = Vec::new();
                crate::commands::local::show::print_status(&mut text, s)?;
                writeln!(
                    out,
                    "{}",
                    crate::commands::local::indent(&String::from_utf8_lossy(&text), "  ")
                )?;
            }
            (None, e) => writeln!(
                out,
                "{} {}: {}",
                style("FAIL").red(),
                h.host,
                e.as_deref().unwrap_or("unknown")
            )?,
        }
    }
    Ok(())
}

fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

/// `hoist history --target hosts`: each host's revisions.
pub fn history(app: &App, args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    let (targets, opts) = resolve(app, &args.target)?;
    let name = app.app.name.clone();
    let results = runtime()?.block_on(on_every_host(&targets, &opts, |_, r| {
        let name = name.clone();
        async move {
            let h = r
                .client()
                .get::<Vec<RevisionInfo>>(&format!("/v1/apps/{name}/history"))
                .await
                .map_err(|e| anyhow::Error::new(e).context("the host's agent cannot say"));
            (r, h)
        }
    }));
    if args.json {
        print_json(&results, "revisions")?;
    } else {
        let mut out = std::io::stdout().lock();
        for (host, r) in &results {
            use std::io::Write as _;
            match r {
                Ok(revs) => {
                    writeln!(out, "{host}")?;
                    let mut text = Vec::new();
                    crate::commands::local::show::print_history(&mut text, revs)?;
                    writeln!(
                        out,
                        "{}",
                        crate::commands::local::indent(&String::from_utf8_lossy(&text), "  ")
                    )?;
                }
                Err(e) => writeln!(out, "{} {host}: {e:#}", style("FAIL").red())?,
            }
        }
    }
    Ok(if results.iter().any(|(_, r)| r.is_err()) {
        ExitCode::from(outcome::ERROR)
    } else {
        ExitCode::SUCCESS
    })
}

/// `hoist rollback --target hosts [--host H]… [--to REV]`: every host (or those named) back,
/// at once, each by its own agent.
pub fn rollback(app: &App, args: &RollbackArgs) -> anyhow::Result<ExitCode> {
    let (targets, opts) = resolve(app, &args.target)?;
    let name = app.app.name.clone();
    let to = args.to;
    let results = runtime()?.block_on(on_every_host(&targets, &opts, |host, r| {
        let name = name.clone();
        async move {
            let mut done: Option<Done> = None;
            let asked = r
                .client()
                .post_events(
                    &format!("/v1/apps/{name}/rollback"),
                    &RollbackRequest { to },
                    |ev| match ev {
                        Event::Progress { message, .. } => eprintln!("  {host}: {message}"),
                        Event::Done(d) => done = Some(d),
                    },
                )
                .await;
            let result = match asked {
                Ok(()) => done.context("the rollback ended without an outcome"),
                Err(e) => Err(refusal(e)),
            };
            (r, result)
        }
    }));
    if args.json {
        print_json(&results, "done")?;
    }
    let mut worst = ExitCode::SUCCESS;
    for (host, r) in &results {
        match r {
            Ok(d) if d.outcome == Outcome::Deployed => eprintln!(
                "{} {host}: rolled back `{name}`: revision {} serves",
                style("ok").green(),
                d.revision
            ),
            Ok(d) => {
                eprintln!(
                    "{} {host}: the rollback failed: {}",
                    style("FAIL").red(),
                    d.reason.as_deref().unwrap_or("unknown")
                );
                worst = outcome::exit_code(d.outcome);
            }
            Err(e) => {
                eprintln!("{} {host}: {e:#}", style("FAIL").red());
                worst = ExitCode::from(outcome::ERROR);
            }
        }
    }
    Ok(worst)
}

/// An agent's refusal with its words (and hint), or the client's error.
fn refusal(e: hoist_runtime::client::ClientError) -> anyhow::Error {
    match e {
        hoist_runtime::client::ClientError::Refused { body, .. } => anyhow::anyhow!(
            "{}{}",
            body.error,
            body.hint.map_or_else(String::new, |h| format!(" ({h})"))
        ),
        other => anyhow::Error::new(other),
    }
}

/// `hoist logs --target hosts`: every host's replica logs at once, each line prefixed with its
/// host; with `--follow`, as they come.
pub fn logs(app: &App, args: &crate::cli::LogsArgs) -> anyhow::Result<ExitCode> {
    use std::fmt::Write as _;
    let (targets, opts) = resolve(app, &args.target)?;
    let mut query = format!("/v1/apps/{}/logs?tail={}", app.app.name, args.tail);
    if let Some(n) = args.replica {
        let _ = write!(query, "&replica={n}");
    }
    if args.follow {
        query.push_str("&follow=true");
    }
    let width = targets.iter().map(String::len).max().unwrap_or(0);
    let results = runtime()?.block_on(on_every_host(&targets, &opts, |host, r| {
        let query = query.clone();
        async move {
            let mut partial: Vec<u8> = Vec::new();
            let read = r
                .client()
                .get_raw(&query, |chunk| {
                    partial.extend_from_slice(chunk);
                    while let Some(end) = partial.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = partial.drain(..=end).collect();
                        print_prefixed(&host, width, &line);
                    }
                })
                .await;
            if !partial.is_empty() {
                partial.push(b'\n');
                print_prefixed(&host, width, &partial);
            }
            (r, read.map_err(refusal))
        }
    }));
    Ok(report_errors(&results))
}

/// The results as a JSON array on stdout: `{"host": H, KEY: VALUE}` or `{"host": H, "error": E}`.
fn print_json<T: Serialize>(
    results: &[(String, anyhow::Result<T>)],
    key: &str,
) -> anyhow::Result<()> {
    let all: Vec<serde_json::Value> = results
        .iter()
        .map(|(host, r)| match r {
            Ok(v) => serde_json::json!({ "host": host, key: v }),
            Err(e) => serde_json::json!({ "host": host, "error": format!("{e:#}") }),
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&all)?);
    Ok(())
}

/// One log line as `HOST | LINE` (the line ends with its newline).
fn print_prefixed(host: &str, width: usize, line: &[u8]) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{host:<width$} | ");
    let _ = out.write_all(line);
    let _ = out.flush();
}

/// Prints each host that failed; exit 1 when any did.
fn report_errors<T>(results: &[(String, anyhow::Result<T>)]) -> ExitCode {
    let mut ok = true;
    for (host, r) in results {
        if let Err(e) = r {
            eprintln!("{} {host}: {e:#}", style("FAIL").red());
            ok = false;
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(outcome::ERROR)
    }
}

/// `hoist stop --target hosts`: the app stopped on every host (or those given) at once, each
/// host's agent draining its replicas.
pub fn stop(app: &App, args: &crate::cli::StopArgs) -> anyhow::Result<ExitCode> {
    let (targets, opts) = resolve(app, &args.target)?;
    let name = app.app.name.clone();
    let results = runtime()?.block_on(on_every_host(&targets, &opts, |_, r| {
        let name = name.clone();
        async move {
            let client = r.client();
            let result = async {
                let before: AppStatus = client
                    .get(&format!("/v1/apps/{name}"))
                    .await
                    .map_err(refusal)?;
                if before.state != hoist_runtime::api::AppState::Running {
                    return Ok(false);
                }
                client
                    .post::<_, AppStatus>(&format!("/v1/apps/{name}/stop"), &serde_json::json!({}))
                    .await
                    .map_err(refusal)?;
                Ok(true)
            }
            .await;
            (r, result)
        }
    }));
    if args.json {
        print_json(&results, "stopped")?;
    }
    for (host, r) in &results {
        match r {
            Ok(true) => eprintln!(
                "{} {host}: stopped `{name}`: its replicas are drained and stopped",
                style("ok").green()
            ),
            Ok(false) => eprintln!(
                "{} {host}: `{name}` was not running there",
                style("ok").green()
            ),
            Err(_) => {}
        }
    }
    Ok(report_errors(&results))
}

/// `hoist promote|abort --target hosts`: the canary on every host (or those given) promoted or
/// aborted, each by its own agent.
pub fn intervene(
    app: &App,
    args: &crate::cli::StopArgs,
    promote: bool,
) -> anyhow::Result<ExitCode> {
    let (targets, opts) = resolve(app, &args.target)?;
    let path = format!(
        "/v1/apps/{}/{}",
        app.app.name,
        if promote { "promote" } else { "abort" }
    );
    let results = runtime()?.block_on(on_every_host(&targets, &opts, |_, r| {
        let path = path.clone();
        async move {
            let done = r
                .client()
                .post::<_, hoist_runtime::api::Intervened>(&path, &serde_json::json!({}))
                .await
                .map_err(refusal);
            (r, done)
        }
    }));
    if args.json {
        print_json(&results, "done")?;
    }
    for (host, r) in &results {
        if let Ok(d) = r {
            eprintln!("{} {host}: {}", style("ok").green(), d.message);
        }
    }
    Ok(report_errors(&results))
}
