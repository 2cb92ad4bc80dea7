//! The agent's JSON API on its Unix socket (see [`crate::api`] for the routes and types).

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::UnixListener;
use tokio::sync::{mpsc, oneshot};

use super::Agent;
use super::controller::{Msg, Refused};
use super::revision::Stored;
use crate::api::{
    AgentInfo, AppSpec, AppState, AppStatus, Artifact, CanarySplit, ChaosReport, ChaosRequest,
    Event, Intervened, RevisionInfo, RevisionTraffic, RollbackRequest, TrafficReport,
};

/// Serves the API until the task is dropped.
pub(crate) async fn serve(agent: Arc<Agent>, listener: UnixListener) {
    let app = axum::Router::new()
        .route("/v1/agent", get(info))
        .route("/v1/agent/shutdown", post(shutdown))
        .route("/v1/apps", get(list))
        .route("/v1/apps/{app}", get(status).delete(forget))
        .route("/v1/apps/{app}/history", get(history))
        .route("/v1/apps/{app}/deploy", post(deploy))
        .route("/v1/apps/{app}/rollback", post(rollback))
        .route("/v1/apps/{app}/stop", post(stop))
        .route("/v1/apps/{app}/promote", post(promote))
        .route("/v1/apps/{app}/abort", post(abort))
        .route("/v1/apps/{app}/chaos", post(chaos))
        .route("/v1/apps/{app}/logs", get(super::logs_api::logs))
        .route("/v1/apps/{app}/traffic", get(traffic))
        .with_state(agent);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "the API socket failed");
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        (code, Json(self.body)).into_response()
    }
}

fn agent_info(agent: &Agent) -> AgentInfo {
    AgentInfo {
        pid: std::process::id(),
        version: agent.config.version.clone(),
        proxy: agent.config.proxy.clone(),
        admin: agent.config.admin.clone(),
        state_dir: agent.config.state_dir.clone(),
        tls: agent.tls.as_ref().map(|t| {
            t.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        }),
    }
}

async fn info(State(agent): State<Arc<Agent>>) -> Json<AgentInfo> {
    Json(agent_info(&agent))
}

async fn shutdown(State(agent): State<Arc<Agent>>) -> Json<AgentInfo> {
    agent.shutdown.notify_one();
    Json(agent_info(&agent))
}

/// Every app the agent knows: those it runs, then the stopped and failed ones (until
/// `hoist forget`).
async fn list(State(agent): State<Arc<Agent>>) -> Json<Vec<AppStatus>> {
    Json(apps(&agent).await)
}

/// Every app the agent knows (what `GET /v1/apps` answers, and the dashboard lists), by name.
pub(super) async fn apps(agent: &Agent) -> Vec<AppStatus> {
    let mut out = Vec::new();
    for (app, _) in agent.running() {
        if let Some(s) = agent.status_of(&app).await
            && (s.serving.is_some() || s.rolling_out.is_some() || !s.replicas.is_empty())
        {
            out.push(s);
        }
    }
    let known = agent
        .ctx
        .record("the apps' names", |s| s.known_apps())
        .unwrap_or_default();
    for app in known {
        if !out.iter().any(|s| s.name == app)
            && let Some(s) = resting_status(agent, &app)
        {
            out.push(s);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Whether the agent knows `app`: it runs, or is stopped or failed (until `hoist forget`).
pub(super) async fn knows(agent: &Agent, app: &str) -> bool {
    agent.status_of(app).await.is_some() || resting_status(agent, app).is_some()
}

/// The status of an app with no replica running: stopped, or failed (its last rollout failed
/// with nothing to fall back to); `None` for an app the agent never had.
fn resting_status(agent: &Agent, app: &str) -> Option<AppStatus> {
    let history = agent
        .ctx
        .record("a history read", |s| s.history(app))
        .unwrap_or_default();
    let last = history.first()?;
    let state = match last.state {
        crate::store::RevisionState::Failed | crate::store::RevisionState::RolledBack => {
            AppState::Failed
        }
        _ => AppState::Stopped,
    };
    Some(AppStatus {
        name: app.to_owned(),
        state,
        serving: None,
        rolling_out: None,
        desired: 0,
        ready: 0,
        route: None,
        replicas: Vec::new(),
        canary: None,
    })
}

async fn status(
    State(agent): State<Arc<Agent>>,
    UrlPath(app): UrlPath<String>,
) -> Result<Json<AppStatus>, Refused> {
    if let Some(s) = agent.status_of(&app).await
        && (s.serving.is_some() || s.rolling_out.is_some() || !s.replicas.is_empty())
    {
        return Ok(Json(s));
    }
    resting_status(&agent, &app)
        .map(Json)
        .ok_or_else(|| unknown_app(&app))
}

/// The proxy's per-revision figures for `app` (an app the agent never had is refused; one with
/// no traffic yet has no revisions listed).
async fn traffic(
    State(agent): State<Arc<Agent>>,
    UrlPath(app): UrlPath<String>,
) -> Result<Json<TrafficReport>, Refused> {
    if !knows(&agent, &app).await {
        return Err(unknown_app(&app));
    }
    let proxy = &agent.ctx.proxy;
    let revisions = proxy
        .metrics()
        .traffic()
        .samples(&app)
        .into_iter()
        .map(|(rev, s)| (rev, RevisionTraffic::of(s)))
        .collect();
    let canary = proxy
        .routes()
        .routes()
        .iter()
        .find(|r| r.app == app)
        .and_then(|r| r.split.as_ref())
        .map(|s| CanarySplit {
            revision: s.revision.clone(),
            weight: s.weight(),
        });
    Ok(Json(TrafficReport {
        app,
        revisions,
        canary,
    }))
}

/// `hoist forget`: the records and logs of an app that does not run.
async fn forget(
    State(agent): State<Arc<Agent>>,
    UrlPath(app): UrlPath<String>,
) -> Result<Json<AppStatus>, Refused> {
    if let Some(s) = agent.status_of(&app).await
        && (s.serving.is_some() || s.rolling_out.is_some() || !s.replicas.is_empty())
    {
        return Err(Refused::new(
            409,
            format!("`{app}` is running; hoist forgets only apps that are stopped"),
            Some(&format!("stop it first: `hoist stop {app}`")),
        ));
    }
    let status = resting_status(&agent, &app).ok_or_else(|| unknown_app(&app))?;
    agent
        .ctx
        .record("the forgotten app", |s| s.forget(&app))
        .ok_or_else(|| Refused::new(500, "the agent cannot write its store", None))?;
    let _ = std::fs::remove_dir_all(agent.ctx.log_dir(&app));
    Ok(Json(status))
}

/// The app's controller ended while a request was on its way to it.
fn controller_gone() -> Refused {
    Refused::new(503, "the app's controller is gone", None)
}

/// The refusal of a request about an app the agent never had.
pub(super) fn unknown_app(app: &str) -> Refused {
    Refused::new(
        404,
        format!("the agent knows no app `{app}`"),
        Some("`hoist status` lists the apps it runs; `hoist deploy` deploys one"),
    )
}

async fn history(
    State(agent): State<Arc<Agent>>,
    UrlPath(app): UrlPath<String>,
) -> Result<Json<Vec<RevisionInfo>>, Refused> {
    let revisions = agent
        .ctx
        .record("a history read", |s| s.history(&app))
        .unwrap_or_default();
    if revisions.is_empty() {
        return Err(unknown_app(&app));
    }
    Ok(Json(
        revisions
            .iter()
            .filter_map(|r| Some(Stored::parse(r)?.info(r)))
            .collect(),
    ))
}

async fn deploy(
    State(agent): State<Arc<Agent>>,
    UrlPath(app): UrlPath<String>,
    Json(mut spec): Json<AppSpec>,
) -> Result<Response, Refused> {
    if spec.name != app {
        return Err(Refused::new(
            400,
            format!("the spec names `{}`, the path `{app}`", spec.name),
            None,
        ));
    }
    spec.artifact = prepare(&agent, spec.artifact.clone(), &app).await?;
    let (events, rx) = mpsc::channel(256);
    let (reply, wait) = oneshot::channel();
    agent
        .controller(&app)
        .send(Msg::Deploy {
            spec: Box::new(spec),
            events,
            reply,
        })
        .await
        .map_err(|_| controller_gone())?;
    wait.await.map_err(|_| controller_gone())??;
    Ok(stream(rx))
}

async fn rollback(
    State(agent): State<Arc<Agent>>,
    UrlPath(app): UrlPath<String>,
    Json(req): Json<RollbackRequest>,
) -> Result<Response, Refused> {
    // A stopped app's controller is started again for the rollback (which then needs `to`).
    let tx = match agent.running_controller(&app) {
        Some(tx) => tx,
        None if resting_status(&agent, &app).is_some() => agent.controller(&app),
        None => return Err(unknown_app(&app)),
    };
    let (events, rx) = mpsc::channel(256);
    let (reply, wait) = oneshot::channel();
    tx.send(Msg::Rollback {
        to: req.to,
        events,
        reply,
    })
    .await
    .map_err(|_| controller_gone())?;
    wait.await.map_err(|_| controller_gone())??;
    Ok(stream(rx))
}

/// `hoist promote`: the canary's current step ends as passed.
async fn promote(
    State(agent): State<Arc<Agent>>,
    UrlPath(app): UrlPath<String>,
) -> Result<Json<Intervened>, Refused> {
    intervene(&agent, &app, super::canary::Intervention::Promote).await
}

/// `hoist abort`: the canary is rolled back.
async fn abort(
    State(agent): State<Arc<Agent>>,
    UrlPath(app): UrlPath<String>,
) -> Result<Json<Intervened>, Refused> {
    intervene(&agent, &app, super::canary::Intervention::Abort).await
}

/// `hoist chaos`: faults injected into one revision for a while.
async fn chaos(
    State(agent): State<Arc<Agent>>,
    UrlPath(app): UrlPath<String>,
    Json(req): Json<ChaosRequest>,
) -> Result<Json<ChaosReport>, Refused> {
    let Some(tx) = agent.running_controller(&app) else {
        return Err(unknown_app(&app));
    };
    let (reply, wait) = oneshot::channel();
    tx.send(Msg::Chaos { req, reply })
        .await
        .map_err(|_| controller_gone())?;
    Ok(Json(wait.await.map_err(|_| controller_gone())??))
}

async fn intervene(
    agent: &Agent,
    app: &str,
    what: super::canary::Intervention,
) -> Result<Json<Intervened>, Refused> {
    let Some(tx) = agent.running_controller(app) else {
        return Err(if resting_status(agent, app).is_some() {
            Refused::new(409, format!("`{app}` has no canary in progress"), None)
        } else {
            unknown_app(app)
        });
    };
    let (reply, wait) = oneshot::channel();
    tx.send(Msg::Intervene { what, reply })
        .await
        .map_err(|_| controller_gone())?;
    let message = wait.await.map_err(|_| controller_gone())??;
    Ok(Json(Intervened { message }))
}

async fn stop(
    State(agent): State<Arc<Agent>>,
    UrlPath(app): UrlPath<String>,
) -> Result<Json<AppStatus>, Refused> {
    let Some(tx) = agent.running_controller(&app) else {
        // Stopped already (or failed): stopping it again changes nothing.
        return resting_status(&agent, &app)
            .map(Json)
            .ok_or_else(|| unknown_app(&app));
    };
    let (reply, wait) = oneshot::channel();
    tx.send(Msg::Stop { reply })
        .await
        .map_err(|_| controller_gone())?;
    let _ = wait.await;
    Ok(Json(AppStatus {
        name: app,
        state: AppState::Stopped,
        serving: None,
        rolling_out: None,
        desired: 0,
        ready: 0,
        route: None,
        replicas: Vec::new(),
        canary: None,
    }))
}

/// NDJSON: one [`Event`] per line, until the controller drops the sender.
fn stream(rx: mpsc::Receiver<Event>) -> Response {
    let lines = futures_util::stream::unfold(rx, |mut rx| async move {
        let ev = rx.recv().await?;
        let mut line = serde_json::to_vec(&ev).unwrap_or_default();
        line.push(b'\n');
        Some((Ok::<_, Infallible>(line), rx))
    });
    Response::builder()
        .header("content-type", "application/x-ndjson")
        .body(Body::from_stream(lines))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Checks the artifact before any revision exists, and pins it: the agent's own copy of a
/// binary (named by its digest), or the image loaded (or pulled) into the engine and named by
/// its id, so a later build cannot change what a revision runs.
async fn prepare(agent: &Agent, artifact: Artifact, app: &str) -> Result<Artifact, Refused> {
    match artifact {
        Artifact::Binary { path } => {
            let state_dir = agent.ctx.state_dir.clone();
            let app = app.to_owned();
            let path = tokio::task::spawn_blocking(move || keep_binary(&state_dir, &path, &app))
                .await
                .map_err(|e| Refused::new(500, format!("cannot store the binary: {e}"), None))??;
            Ok(Artifact::Binary { path })
        }
        Artifact::Image {
            archive,
            reference,
            parts,
            ..
        } => {
            let engine = agent.ctx.engine().await.map_err(engine_refusal)?;
            let image = if let Some(parts) = &parts {
                load_parts(agent, engine, parts, &reference).await?
            } else if let Some(path) = &archive {
                engine.load_archive(path).await.map_err(engine_refusal)?
            } else {
                engine.pull(&reference).await.map_err(engine_refusal)?;
                reference.clone()
            };
            engine
                .check_platform(&image)
                .await
                .map_err(engine_refusal)?;
            let id = engine.image_id(&image).await.map_err(engine_refusal)?;
            Ok(Artifact::Image {
                archive: None,
                reference: image,
                id: Some(id),
                parts: None,
            })
        }
    }
}

/// Numbers the archives [`load_parts`] writes, so two deploys at once never share one.
static NEXT_ARCHIVE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Writes the docker archive of `parts` (files of the agent's store, sent by a hosts deploy)
/// beside the store, tagged `reference`, loads it into the engine and removes it: the parts
/// stay, for the next image that shares them.
async fn load_parts(
    agent: &Agent,
    engine: &crate::driver::container::Engine,
    parts: &crate::api::ImageParts,
    reference: &str,
) -> Result<String, Refused> {
    let store = agent.ctx.state_dir.join("artifacts");
    for p in std::iter::once(&parts.config).chain(&parts.layers) {
        // Only the store's own files: the request names paths, the agent reads them.
        if !p.starts_with(&store) || !p.is_file() {
            return Err(Refused::new(
                400,
                format!(
                    "the image part `{}` is not in the agent's store",
                    p.display()
                ),
                Some("send the image again (`hoist deploy --target hosts`)"),
            ));
        }
    }
    let n = NEXT_ARCHIVE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let archive = store.join(format!(".image-{}-{n}.tar", std::process::id()));
    let (config, layers, tags) = (
        parts.config.clone(),
        parts.layers.clone(),
        vec![reference.to_owned()],
    );
    let out = archive.clone();
    tokio::task::spawn_blocking(move || {
        hoist_image::write_docker_archive_from_parts(&out, &config, &layers, &tags)
    })
    .await
    .map_err(|e| Refused::new(500, format!("cannot write the image archive: {e}"), None))?
    .map_err(|e| Refused::new(400, crate::report_chain(&e), None))?;
    let loaded = engine.load_archive(&archive).await;
    let _ = std::fs::remove_file(&archive);
    loaded.map_err(engine_refusal)
}

/// An engine error as a refusal (nothing was deployed), with what to do about it.
#[allow(
    clippy::needless_pass_by_value,
    reason = "used as `map_err(engine_refusal)`"
)]
fn engine_refusal(e: crate::driver::container::ContainerError) -> Refused {
    use crate::driver::container::ContainerError as E;
    let hint = match &e {
        E::Connect { .. } | E::UnsupportedHost { .. } => Some(
            "start dockerd, or `podman system service`, and point the agent at it: DOCKER_HOST or `hoist agent --engine ADDR` here (`hoist agent --stop`, then deploy again), `hosts.engine` for hosts",
        ),
        E::WrongPlatform { .. } => Some(
            "build the image for the engine's platform (`hoist deploy` builds for this machine's)",
        ),
        E::Pull { .. } | E::ImageNotFound { .. } => {
            Some("check the reference, and that the engine can reach the registry")
        }
        _ => None,
    };
    Refused::new(400, crate::report_chain(&e), hint)
}

/// The agent's copy: `artifacts/sha256-HEX/APP` (named after the app, so `ps` says what runs).
fn keep_binary(state_dir: &Path, path: &Path, app: &str) -> Result<PathBuf, Refused> {
    let bytes = std::fs::read(path).map_err(|e| {
        let hint = (e.kind() == std::io::ErrorKind::NotFound)
            .then_some("check the path, or let `hoist deploy` build the binary");
        Refused::new(
            400,
            format!("cannot read the binary `{}`: {e}", path.display()),
            hint,
        )
    })?;
    check_elf(&bytes, path)?;
    let digest = hoist_core::Digest::of(&bytes);
    let dir = super::artifact_dir(state_dir, &digest);
    let dest = dir.join(app);
    if dest.is_file() {
        return Ok(dest);
    }
    let store = |e: std::io::Error| {
        Refused::new(
            500,
            format!("cannot store the binary in `{}`: {e}", dir.display()),
            None,
        )
    };
    crate::private::create_dir(&dir).map_err(store)?;
    let tmp = dir.join(format!(".tmp-{}", std::process::id()));
    crate::private::write(&tmp, &bytes, crate::private::EXEC_MODE).map_err(store)?;
    std::fs::rename(&tmp, &dest).map_err(store)?;
    Ok(dest)
}

/// A Linux executable for this machine's architecture, or a clear refusal.
fn check_elf(bytes: &[u8], path: &Path) -> Result<(), Refused> {
    if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" {
        return Err(Refused::new(
            400,
            format!("`{}` is not a Linux executable (ELF)", path.display()),
            Some("deploy a binary built for linux; `hoist deploy` builds one for this machine"),
        ));
    }
    let machine = if bytes[5] == 2 {
        u16::from_be_bytes([bytes[18], bytes[19]])
    } else {
        u16::from_le_bytes([bytes[18], bytes[19]])
    };
    let name = |m: u16| match m {
        62 => "amd64",
        183 => "arm64",
        40 => "arm",
        243 => "riscv64",
        21 => "ppc64le",
        22 => "s390x",
        3 => "386",
        _ => "another architecture",
    };
    let host = hoist_core::Platform::host();
    let want = match host.arch.as_str() {
        "amd64" => 62,
        "arm64" => 183,
        "arm" => 40,
        "riscv64" => 243,
        "ppc64le" => 21,
        "s390x" => 22,
        "386" => 3,
        _ => machine,
    };
    if machine != want {
        return Err(Refused::new(
            400,
            format!(
                "`{}` is built for {}, and this machine is {}",
                path.display(),
                name(machine),
                host.arch
            ),
            Some(&format!(
                "deploy without `--binary` and hoist builds it for this machine, or build it yourself with `GOOS=linux GOARCH={} go build`",
                host.arch
            )),
        ));
    }
    Ok(())
}
