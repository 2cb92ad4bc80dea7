//! `hoist deploy --target hosts`: build once, send each host only the blobs it lacks, then roll
//! out in waves of `hosts.parallel` hosts, each host's own agent doing its own zero-downtime
//! rolling update behind its own proxy.
//!
//! The order of a deploy, and what each step leaves when it fails:
//! 1. build for this machine's platform (nothing touched yet);
//! 2. every host at once: connect and read its platform (`uname -m`); then a build for each
//!    other platform among them (Go cross-compiles; nothing touched yet either);
//! 3. every host at once: set up hoist (the build of hoist for its platform) and its agent,
//!    send the missing blobs of its platform's build — a host that cannot be reached (or
//!    refuses, or has no room) is reported and skipped, after at most the ssh timeout, and
//!    holds up no other;
//! 4. waves, in the order of `hosts.targets`: each host of a wave rolls out at once; a host whose
//!    new revision fails rolls back by itself (its agent's rollout). Then the deploy stops: the
//!    hosts of later waves are left as they were, and the hosts already on the new revision are
//!    rolled back to what they served before, so the fleet serves one version again — unless
//!    `--continue-on-error`, which goes on with the next waves and keeps what succeeded.
//!
//! The report says per host what serves there now.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use console::style;
use hoist_core::{Digest, Driver, Platform};
use hoist_hosts::{AgentTunnel, Connection, Facts, HostError, SshOptions};
use hoist_runtime::api::{AppSpec, AppStatus, Artifact, Done, Event, RollbackRequest};
use hoist_runtime::client::AgentClient;
use serde::Serialize;

use super::kept;
use crate::cli::DeployArgs;
use crate::commands::outcome::{self, Outcome};

/// Deploys to the hosts and reports per host; the exit status is the worst host's (see
/// [`exit`]).
pub fn deploy(project: &hoist_pipeline::Project, args: &DeployArgs) -> anyhow::Result<ExitCode> {
    let app = &project.app;
    let driver = args.driver.map_or(app.run.driver, |d| match d {
        crate::cli::DriverArg::Process => Driver::Process,
        crate::cli::DriverArg::Container => Driver::Container,
    });
    let wave = app.hosts.as_ref().map_or(1, hoist_core::Hosts::wave_size);
    let public = super::public(app.hosts.as_ref(), &project.dir)?;
    let (targets, opts) = super::resolve(
        app.hosts.clone(),
        &args.target.hosts.hosts,
        args.target.hosts.ssh_config.clone(),
        args.target.hosts.ssh_timeout,
    )?;
    let local = Platform::host();
    let (parts, version) = parts(project, args, driver, &local)?;
    let mut builds = Builds::from([(key(&local.os, &local.arch), parts)]);
    let spec = AppSpec {
        name: app.app.name.clone(),
        version,
        port: app.app.port,
        args: app.app.args.clone(),
        run: hoist_core::RunSection {
            driver,
            ..app.run.clone()
        },
        // Each host's own copy, named once the parts are there.
        artifact: Artifact::Binary {
            path: PathBuf::new(),
        },
    };
    let exe = super::this_binary()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let opened = rt.block_on(futures_util::future::join_all(
        targets.iter().map(|t| open(t, &opts)),
    ));
    let install = super::install(&exe, public);
    if let Err(e) = build_other_platforms(project, args, (driver, &install), &opened, &mut builds) {
        rt.block_on(futures_util::future::join_all(
            opened.into_iter().flatten().map(|(c, _)| c.close()),
        ));
        return Err(e);
    }
    let hosts = rt.block_on(run(
        &targets,
        opened,
        &install,
        &builds,
        &spec,
        wave,
        args.continue_on_error,
    ));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&hosts)?);
    }
    print_report(&spec, &hosts);
    Ok(exit(&hosts))
}

/// The build for each platform among the hosts, by `os/arch` (Go's names).
type Builds = HashMap<String, Parts>;

/// The key of a platform in [`Builds`].
fn key(os: &str, arch: &str) -> String {
    format!("{os}/{arch}")
}

/// Connects to `target` and reads its facts (its platform): nothing changes there.
async fn open(target: &str, opts: &SshOptions) -> Result<(Connection, Facts), HostError> {
    let conn = Connection::open(target, opts).await?;
    match hoist_hosts::facts(&conn).await {
        Ok(f) => Ok((conn, f)),
        Err(e) => {
            conn.close().await;
            Err(e)
        }
    }
}

/// Builds for each platform of the reached hosts that has no build yet and a hoist to run
/// it. A `--binary` is one platform's build: hosts of another are left without one (and
/// skipped, saying so), as are hosts without a hoist for their platform.
fn build_other_platforms(
    project: &hoist_pipeline::Project,
    args: &DeployArgs,
    (driver, install): (Driver, &hoist_hosts::Install),
    opened: &[Result<(Connection, Facts), HostError>],
    builds: &mut Builds,
) -> anyhow::Result<()> {
    if args.binary.is_some() {
        return Ok(());
    }
    for (conn, facts) in opened.iter().flatten() {
        let k = key(&facts.os, &facts.arch);
        if builds.contains_key(&k)
            || install
                .binary_for(&conn.host, &facts.os, &facts.arch)
                .is_err()
        {
            continue;
        }
        let platform = k
            .parse::<Platform>()
            .with_context(|| format!("`{}` is {k}, which hoist cannot build for", conn.host))?;
        let (parts, _) = parts(project, args, driver, &platform)?;
        builds.insert(k, parts);
    }
    Ok(())
}

/// What the app is built into for hosts of `platform`, and its version: the binary (process
/// driver), or the image as its docker-archive parts (container driver); each kept here by
/// digest, so the next deploy can send a host a delta against what it has.
fn parts(
    project: &hoist_pipeline::Project,
    args: &DeployArgs,
    driver: Driver,
    platform: &Platform,
) -> anyhow::Result<(Parts, String)> {
    let app = &project.app;
    if driver == Driver::Container {
        if args.binary.is_some() || args.image.is_some() {
            anyhow::bail!(
                "`--binary` and `--image` are for this machine; on hosts, hoist builds the image and sends each host only the layers it lacks: deploy without them"
            );
        }
        let dir = kept::dir().context("no cache directory for the image's parts")?;
        let (image, reference, version) =
            super::super::build::host_image_parts(project, &args.registry, &dir, platform)?;
        let mut items = vec![Part {
            digest: image.config.0.clone(),
            path: image.config.1.clone(),
            name: "config.json".to_owned(),
        }];
        items.extend(image.layers.into_iter().map(|(digest, path)| Part {
            digest,
            path,
            name: "layer.tar".to_owned(),
        }));
        for p in &items {
            kept::keep(&p.path, &p.digest);
        }
        return Ok((
            Parts {
                items,
                image: Some(reference),
            },
            version,
        ));
    }
    if args.image.is_some() {
        anyhow::bail!(
            "`--image` needs the container driver (`--driver container` or `run.driver = \"container\"`)"
        );
    }
    let (binary, version) = match &args.binary {
        Some(path) => {
            let version = hoist_gobuild::GitFacts::read(&project.dir)
                .map_or_else(|| "dev".to_owned(), |f| f.describe);
            (
                std::path::absolute(path).unwrap_or_else(|_| path.clone()),
                version,
            )
        }
        None => super::super::build::host_binary(project, platform)?,
    };
    let bytes = std::fs::read(&binary)
        .with_context(|| format!("cannot read the binary `{}`", binary.display()))?;
    let digest = Digest::of(&bytes);
    drop(bytes);
    kept::keep(&binary, &digest);
    Ok((
        Parts {
            items: vec![Part {
                digest,
                path: binary,
                name: app.app.name.clone(),
            }],
            image: None,
        },
        version,
    ))
}

/// What every host gets, by content address.
struct Parts {
    /// The binary; or the image's config, then its layers bottom first.
    items: Vec<Part>,
    /// For an image: its `NAME:VERSION` tag.
    image: Option<String>,
}

impl Parts {
    /// What the host's agent runs, given where each part is on that host.
    fn artifact(&self, on_host: &[PathBuf]) -> Artifact {
        match &self.image {
            None => Artifact::Binary {
                path: on_host[0].clone(),
            },
            Some(reference) => Artifact::Image {
                archive: None,
                reference: reference.clone(),
                id: None,
                parts: Some(hoist_runtime::api::ImageParts {
                    config: on_host[0].clone(),
                    layers: on_host[1..].to_vec(),
                }),
            },
        }
    }

    /// The digest that names what runs: the binary's, or the image config's (the image's id
    /// in the engine).
    fn digest(&self) -> &Digest {
        &self.items[0].digest
    }
}

/// One file every host gets, by content address.
struct Part {
    digest: Digest,
    /// This machine's copy.
    path: PathBuf,
    /// Its name in the host's store.
    name: String,
}

/// A host ready to roll out: connected, hoist and its agent set up, the blob in its store.
struct Ready {
    /// Its platform's key in [`Builds`].
    platform: String,
    conn: Connection,
    tunnel: AgentTunnel,
    /// Each part as the host's agent names it.
    paths: Vec<PathBuf>,
    /// What served before the deploy, to roll back to.
    before: Option<u64>,
}

/// What one host ended with.
#[derive(Debug, Serialize)]
struct HostEnd {
    host: String,
    /// `deployed`, `rolled_back` (failed here, rolled back by its agent), `reverted` (deployed,
    /// then rolled back because another host failed), `kept` (deployed; another host failed,
    /// but nothing served here before to go back to), `failed`, `untouched` (not reached by a
    /// wave), `skipped` (unreachable, refused, or no room for the blob: left as it was before
    /// any wave), `refused` (its agent refused the revision before making it: no engine, a
    /// route another app holds; nothing changed there), `error` (lost mid-rollout: its agent
    /// finishes alone, rolling back by itself if the revision fails).
    outcome: &'static str,
    /// Why a host was skipped, as a word (`unreachable`, `auth_failed`, `remote`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    error_kind: Option<&'static str>,
    /// The revision this deploy made there, if it got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    revision: Option<u64>,
    /// The revision serving there now, as far as hoist knows.
    serving: Option<u64>,
    /// Why it did not deploy.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
    /// Bytes of blobs the host lacked (0: it had them all).
    sent_bytes: u64,
    /// What crossed the connection for them (compressed).
    wire_bytes: u64,
    /// The host's HTTPS listener and certificate, when `[hosts] https` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<hoist_runtime::api::TlsInfo>,
}

impl HostEnd {
    fn new(host: &str, outcome: &'static str) -> Self {
        Self {
            host: host.to_owned(),
            outcome,
            error_kind: None,
            revision: None,
            serving: None,
            reason: None,
            hint: None,
            sent_bytes: 0,
            wire_bytes: 0,
            tls: None,
        }
    }
}

/// The deploy, once built: prepare every host at once, then the waves.
async fn run(
    targets: &[String],
    opened: Vec<Result<(Connection, Facts), HostError>>,
    install: &hoist_hosts::Install,
    builds: &Builds,
    spec: &AppSpec,
    wave: usize,
    continue_on_error: bool,
) -> Vec<HostEnd> {
    eprintln!(
        "deploying `{}` {} to {} host{} ({} at a time)",
        spec.name,
        spec.version,
        targets.len(),
        if targets.len() == 1 { "" } else { "s" },
        wave
    );
    let frames = hoist_hosts::Frames::default();
    let prepared = futures_util::future::join_all(targets.iter().zip(opened).map(|(t, o)| {
        let frames = &frames;
        async move {
            let (conn, facts) = o?;
            let platform = key(&facts.os, &facts.arch);
            // A hoist for the host's platform, and the app built for it.
            let parts = install.binary_for(t, &facts.os, &facts.arch).and_then(|_| {
                builds.get(&platform).ok_or_else(|| HostError::GivenBinary {
                    host: t.clone(),
                    platform: platform.clone(),
                    given: Platform::host().to_string(),
                })
            });
            let parts = match parts {
                Ok(p) => p,
                Err(e) => {
                    conn.close().await;
                    return Err(e);
                }
            };
            prepare(t, conn, platform, install, parts, frames, &spec.name).await
        }
    }))
    .await;
    let mut ends: Vec<HostEnd> = Vec::new();
    let mut ready: Vec<(usize, Ready)> = Vec::new();
    for (i, (t, p)) in targets.iter().zip(prepared).enumerate() {
        match p {
            Ok((r, sent)) => {
                let mut end = HostEnd::new(t, "untouched");
                end.serving = r.before;
                end.sent_bytes = sent.0;
                end.wire_bytes = sent.1;
                ends.push(end);
                ready.push((i, r));
            }
            Err(e) => {
                let mut end = HostEnd::new(t, "skipped");
                end.error_kind = Some(e.kind());
                end.reason = Some(report_chain(&e));
                end.hint = e.hint();
                eprintln!("  {} {t}: skipped: {e}", style("!").red());
                ends.push(end);
            }
        }
    }
    let mut stopped = false;
    let mut deployed: Vec<usize> = Vec::new();
    for chunk in ready.chunks(wave) {
        if stopped {
            break;
        }
        let outcomes = futures_util::future::join_all(chunk.iter().map(|(i, r)| {
            let host = targets[*i].as_str();
            let spec = AppSpec {
                artifact: builds[&r.platform].artifact(&r.paths),
                ..spec.clone()
            };
            async move { (*i, roll_out(host, r, &spec).await) }
        }))
        .await;
        for (i, result) in outcomes {
            let end = &mut ends[i];
            match result {
                Ok(done) => {
                    end.revision = Some(done.revision);
                    end.serving = done.serving;
                    end.reason.clone_from(&done.reason);
                    end.outcome = match done.outcome {
                        Outcome::Deployed => {
                            deployed.push(i);
                            "deployed"
                        }
                        Outcome::RolledBack => "rolled_back",
                        Outcome::Failed => "failed",
                    };
                    if done.outcome != Outcome::Deployed {
                        stopped = !continue_on_error;
                    }
                }
                Err(e) => {
                    // Refused by the host's agent before any revision (no engine, a route
                    // taken): nothing changed there. Else lost mid-rollout.
                    let refused = e
                        .chain()
                        .find_map(|c| c.downcast_ref::<crate::commands::local::AgentRefused>());
                    end.outcome = if refused.is_some() {
                        "refused"
                    } else {
                        "error"
                    };
                    end.hint = refused.and_then(|r| r.hint.clone());
                    end.reason = Some(format!("{e:#}"));
                    stopped = !continue_on_error;
                }
            }
        }
    }
    if stopped {
        // Back to one version: the hosts already on the new revision return to what they
        // served before.
        let back = deployed.iter().filter_map(|&i| {
            let (_, r) = ready.iter().find(|(j, _)| *j == i)?;
            Some((i, r))
        });
        let reverted = futures_util::future::join_all(
            back.map(|(i, r)| async move { (i, revert(&targets[i], r, &spec.name).await) }),
        )
        .await;
        for (i, result) in reverted {
            let end = &mut ends[i];
            match result {
                Ok(Some(serving)) => {
                    end.outcome = "reverted";
                    end.serving = Some(serving);
                }
                Ok(None) => end.outcome = "kept",
                Err(e) => {
                    end.outcome = "error";
                    end.reason = Some(format!("deployed, then the rollback failed: {e:#}"));
                }
            }
        }
    }
    if !stopped && !deployed.is_empty() {
        // The fleet's intended state (each host's platform's build), for `status` to tell
        // drift by.
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let platforms: std::collections::BTreeMap<String, String> = builds
            .iter()
            .map(|(k, p)| (k.clone(), p.digest().to_string()))
            .collect();
        let written = futures_util::future::join_all(ready.iter().map(|(i, r)| {
            let parts = &builds[&r.platform];
            let rec = super::show::Record {
                version: spec.version.clone(),
                digest: parts.digest().to_string(),
                parts: parts.items.iter().map(|p| p.digest.to_string()).collect(),
                at,
                platforms: platforms.clone(),
            };
            async move { (*i, super::show::record(&r.conn, &spec.name, &rec).await) }
        }))
        .await;
        for (i, w) in written {
            if let Err(e) = w {
                eprintln!("  {}: cannot record the deploy there: {e:#}", targets[i]);
            }
        }
    }
    // What each host's HTTPS presents: a first ACME certificate is waited for a little, so
    // the report says whether the CA gave it.
    let certs = futures_util::future::join_all(
        ready
            .iter()
            .map(|(i, r)| async move { (*i, certificate(r).await) }),
    )
    .await;
    for (i, tls) in certs {
        if let Some(end) = ends.iter_mut().find(|e| e.host == targets[i]) {
            if let Some(t) = &tls {
                eprintln!(
                    "  {}: {}",
                    targets[i],
                    crate::commands::local::show::tls_line(t)
                );
            }
            end.tls = tls;
        }
    }
    for (_, r) in ready {
        drop(r.tunnel);
        r.conn.close().await;
    }
    ends
}

/// The host's HTTPS certificate as its agent reports it; while a first ACME certificate is
/// neither there nor refused, asked again for up to 30 s.
async fn certificate(r: &Ready) -> Option<hoist_runtime::api::TlsInfo> {
    let client = AgentClient::new(r.tunnel.state_dir());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let info = client
            .get::<hoist_runtime::api::AgentInfo>("/v1/agent")
            .await
            .ok()?;
        let tls = info.tls?;
        if tls.not_after.is_some() || tls.error.is_some() || std::time::Instant::now() > deadline {
            return Some(tls);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// Sets hoist up on the connected `target`, sends the parts (its `platform`'s) the host lacks
/// and opens the tunnel to its agent; returns the host and the (raw, wire) bytes sent.
async fn prepare(
    target: &str,
    conn: Connection,
    platform: String,
    install: &hoist_hosts::Install,
    parts: &Parts,
    frames: &hoist_hosts::Frames,
    app: &str,
) -> Result<(Ready, (u64, u64)), HostError> {
    let result = async {
        let setup = hoist_hosts::setup(&conn, install).await?;
        let home = setup.facts.home.clone();
        let tunnel = AgentTunnel::open(&conn, &home, hoist_runtime::agent::SOCKET).await?;
        // Only "no such app" means nothing serves there: any other failure to ask is this
        // host's error, not a reason to believe it has nothing to go back to.
        let serving = match AgentClient::new(tunnel.state_dir())
            .get::<AppStatus>(&format!("/v1/apps/{app}"))
            .await
        {
            Ok(s) => s.serving,
            Err(hoist_runtime::client::ClientError::Refused { status: 404, .. }) => None,
            Err(e) => {
                return Err(HostError::Unexpected {
                    host: target.to_owned(),
                    step: "ask the agent what serves",
                    answer: e.to_string(),
                });
            }
        };
        let before = serving.as_ref().map(|r| r.number);
        let bases = bases(&conn, parts, serving.as_ref(), app).await;
        let mut wanted: Vec<Digest> = parts.items.iter().map(|p| p.digest.clone()).collect();
        wanted.extend(bases.iter().flatten().map(|(d, _)| d.clone()));
        let missing = hoist_hosts::missing(&conn, &wanted).await?;
        let mut paths = Vec::with_capacity(parts.items.len());
        let (mut sent, mut deltas) = ((0, 0), 0);
        let mut count = 0;
        for (part, base) in parts.items.iter().zip(&bases) {
            if !missing.contains(&part.digest) {
                paths.push(PathBuf::from(format!(
                    "{home}/{}/artifacts/sha256-{}/{}",
                    hoist_hosts::layout::STATE_DIR,
                    part.digest.hex(),
                    part.name
                )));
                continue;
            }
            // ... and the host still has it in its store.
            let base = base.as_ref().filter(|(d, _)| !missing.contains(d));
            let s = hoist_hosts::send(
                &conn,
                frames,
                &part.path,
                &part.digest,
                &part.name,
                base.map(|(digest, path)| hoist_hosts::Base { digest, path }),
            )
            .await?;
            sent = (sent.0 + s.bytes, sent.1 + s.wire_bytes);
            count += 1;
            deltas += usize::from(s.base.is_some());
            paths.push(PathBuf::from(s.path));
        }
        if count > 0 {
            let what = match (&parts.image, deltas, before) {
                (None, 1, Some(n)) => format!(", a delta against revision {n}'s binary"),
                (None, _, _) => String::new(),
                (Some(_), 0, _) => format!(", {count} of {} image parts", parts.items.len()),
                (Some(_), d, _) => format!(
                    ", {count} of {} image parts, {d} as a delta against the last deploy's",
                    parts.items.len()
                ),
            };
            eprintln!(
                "  {target}: sent {} ({} on the wire{what})",
                super::human_bytes(sent.0),
                super::human_bytes(sent.1),
            );
        }
        Ok((tunnel, paths, before, sent))
    }
    .await;
    match result {
        Ok((tunnel, paths, before, sent)) => Ok((
            Ready {
                platform,
                conn,
                tunnel,
                paths,
                before,
            },
            sent,
        )),
        Err(e) => {
            conn.close().await;
            Err(e)
        }
    }
}

/// For each part, a blob the host may have that it can be sent as a delta against, when this
/// machine kept a copy: for a binary, the one serving there; for an image's layers, the same
/// layer of the last deploy recorded on the host (the app's layer changes with every build,
/// and its previous version is most of the new one).
async fn bases(
    conn: &Connection,
    parts: &Parts,
    serving: Option<&hoist_runtime::api::RevisionInfo>,
    app: &str,
) -> Vec<Option<(Digest, PathBuf)>> {
    let kept = |d: Digest, new: &Digest| {
        (d != *new)
            .then(|| kept::find(&d).map(|p| (d, p)))
            .flatten()
    };
    if parts.image.is_none() {
        let base = serving
            .and_then(|r| r.artifact.strip_prefix("binary "))
            .and_then(|d| d.parse::<Digest>().ok())
            .and_then(|d| kept(d, parts.digest()));
        return vec![base];
    }
    let last = super::show::read_record(conn, app)
        .await
        .map(|r| r.parts)
        .unwrap_or_default();
    parts
        .items
        .iter()
        .enumerate()
        .map(|(i, part)| {
            // The config (index 0) is small: sent whole.
            (i > 0)
                .then(|| last.get(i)?.parse::<Digest>().ok())
                .flatten()
                .and_then(|d| kept(d, &part.digest))
        })
        .collect()
}

/// Hands the revision to the host's agent and follows its rollout.
async fn roll_out(host: &str, ready: &Ready, spec: &AppSpec) -> anyhow::Result<Done> {
    let client = AgentClient::new(ready.tunnel.state_dir());
    let taken = AtomicBool::new(false);
    crate::commands::local::deploy::roll_out(&client, spec, &taken, |m| {
        eprintln!("  {host}: {m}");
    })
    .await
}

/// Rolls a host that took the new revision back to what it served before; `None` when nothing
/// served there before (the new revision is kept: there is nothing to go back to).
async fn revert(host: &str, ready: &Ready, app: &str) -> anyhow::Result<Option<u64>> {
    let Some(before) = ready.before else {
        return Ok(None);
    };
    let client = AgentClient::new(ready.tunnel.state_dir());
    let mut done: Option<Done> = None;
    client
        .post_events(
            &format!("/v1/apps/{app}/rollback"),
            &RollbackRequest { to: Some(before) },
            |ev| match ev {
                Event::Progress { message, .. } => eprintln!("  {host}: {message}"),
                Event::Done(d) => done = Some(d),
            },
        )
        .await
        .context("the host's agent refused the rollback")?;
    let done = done.context("the rollback ended without an outcome")?;
    if done.outcome != Outcome::Deployed {
        anyhow::bail!(
            "{}",
            done.reason.unwrap_or_else(|| "the rollback failed".into())
        );
    }
    Ok(Some(done.revision))
}

/// The error and its causes on one line.
pub(super) fn report_chain(e: &HostError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// One line per host: what serves there now.
fn print_report(spec: &AppSpec, hosts: &[HostEnd]) {
    let serving = |e: &HostEnd| {
        e.serving.map_or_else(
            || "nothing serves".to_owned(),
            |s| format!("revision {s} serves"),
        )
    };
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for e in hosts {
        *counts.entry(e.outcome).or_default() += 1;
        let (mark, what) = match e.outcome {
            "deployed" => (
                style("ok").green(),
                format!("{} ({}) serves", rev(e.revision), spec.version),
            ),
            "rolled_back" => (
                style("FAIL").red(),
                format!(
                    "{} failed and was rolled back; {}",
                    rev(e.revision),
                    serving(e)
                ),
            ),
            "failed" => (
                style("FAIL").red(),
                format!("{} failed; {}", rev(e.revision), serving(e)),
            ),
            "reverted" => (
                style("back").yellow(),
                format!(
                    "{} was deployed, then rolled back because another host failed; {}",
                    rev(e.revision),
                    serving(e)
                ),
            ),
            "kept" => (
                style("kept").yellow(),
                format!(
                    "{} serves (another host failed; nothing served here before to go back to)",
                    rev(e.revision)
                ),
            ),
            "untouched" => (
                style("skip").dim(),
                format!("not reached (the deploy stopped); {}", serving(e)),
            ),
            "skipped" => (
                style("FAIL").red(),
                "skipped: nothing changed there".to_owned(),
            ),
            "refused" => (
                style("FAIL").red(),
                format!("its agent refused the revision; {}", serving(e)),
            ),
            _ => (style("FAIL").red(), "lost during its rollout".to_owned()),
        };
        eprintln!("{mark} {}: {what}", e.host);
        if let Some(r) = &e.reason {
            eprintln!("    reason: {r}");
        }
        if let Some(h) = &e.hint {
            eprintln!("    {} {h}", style("hint:").cyan().bold());
        }
    }
    let deployed = counts.get("deployed").copied().unwrap_or(0);
    eprintln!(
        "`{}` {}: deployed on {deployed} of {} host{}",
        spec.name,
        spec.version,
        hosts.len(),
        if hosts.len() == 1 { "" } else { "s" }
    );
}

fn rev(n: Option<u64>) -> String {
    n.map_or_else(
        || "the new revision".to_owned(),
        |n| format!("revision {n}"),
    )
}

/// 0 when every host deployed; 4 when a host failed with nothing to roll back to; 3 when a
/// host's revision was rolled back (there, or on the others because of it); 1 when a host was
/// skipped or lost, and nothing worse happened.
/// A host whose HTTPS has no certificate because the CA refused it: deployed, but its public
/// side (which redirects to HTTPS) does not work, so the deploy does not exit 0.
fn without_certificate(e: &HostEnd) -> bool {
    e.tls
        .as_ref()
        .is_some_and(|t| t.not_after.is_none() && t.error.is_some())
}

fn exit(hosts: &[HostEnd]) -> ExitCode {
    let has = |o: &str| hosts.iter().any(|e| e.outcome == o);
    if has("failed") {
        ExitCode::from(outcome::FAILED)
    } else if has("rolled_back") || has("reverted") {
        ExitCode::from(outcome::ROLLED_BACK)
    } else if has("skipped")
        || has("refused")
        || has("error")
        || has("untouched")
        || has("kept")
        || hosts.iter().any(without_certificate)
    {
        ExitCode::from(outcome::ERROR)
    } else {
        ExitCode::SUCCESS
    }
}
