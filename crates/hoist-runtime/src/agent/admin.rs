//! The agent's admin address (`HOIST_ADMIN_ADDR`, default `127.0.0.1:9180`): the proxy's
//! metrics for Prometheus, and a small read-only dashboard for people.
//!
//! | path | answer |
//! |---|---|
//! | `GET /metrics` | the proxy's metrics, OpenMetrics text |
//! | `GET /` | the dashboard page (`/dashboard.js`, `/dashboard.css`: its assets) |
//! | `GET /api/apps` | [`Overview`]: apps, revisions, replicas, states, canary |
//! | `GET /api/apps/{app}/series` | [`SeriesReport`]: per-revision figures, one point a second |
//!
//! Read-only by construction: every route answers `GET` (and `HEAD`) only, anything else is
//! `405 Method Not Allowed`; nothing here sends a message to a controller that changes
//! anything. The page loads nothing from elsewhere (its Content-Security-Policy says so).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tokio::net::TcpListener;

use super::Agent;
use super::controller::Refused;
use super::dashboard::{self, AppView, Known, Overview};
use super::revision::Stored;
use super::series::{self, RevisionSeries};
use super::server;
use crate::api::CanarySplit;

/// What the admin handlers share.
#[derive(Clone)]
struct Admin {
    agent: Arc<Agent>,
    series: series::Shared,
}

/// The page may run its own script and style and fetch from this address, nothing else.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Serves the admin address on `listener` until the task is dropped.
pub(crate) async fn serve(agent: Arc<Agent>, series: series::Shared, listener: TcpListener) {
    let app = axum::Router::new()
        .route("/metrics", get(metrics))
        .route("/", get(index))
        .route("/dashboard.js", get(script))
        .route("/dashboard.css", get(style))
        .route("/api/apps", get(apps))
        .route("/api/apps/{app}/series", get(app_series))
        .fallback(not_found)
        .with_state(Admin { agent, series });
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "the admin address failed");
    }
}

async fn metrics(State(admin): State<Admin>) -> Response {
    let text = admin.agent.ctx.proxy.metrics().encode();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// An embedded asset, never cached for long (a new agent may serve a new page).
fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response();
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    r
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", dashboard::INDEX_HTML)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", dashboard::SCRIPT)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", dashboard::STYLE)
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "not found: the dashboard is at /, the metrics at /metrics\n",
    )
        .into_response()
}

/// JSON that the page polls: never cached.
fn fresh<T: Serialize>(body: T) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// Every app the agent knows, as `hoist status` lists them, with revisions and the canary.
async fn apps(State(admin): State<Admin>) -> Response {
    let agent = &admin.agent;
    let routes = agent.ctx.proxy.routes();
    let mut views: Vec<AppView> = Vec::new();
    for status in server::apps(agent).await {
        let history: Vec<Known> = agent
            .ctx
            .record("a history read", |s| s.history(&status.name))
            .unwrap_or_default()
            .iter()
            .filter_map(|r| {
                let stored = Stored::parse(r)?;
                Some(Known {
                    info: stored.info(r),
                    canary_steps: stored
                        .spec
                        .run
                        .rollout
                        .strategy
                        .canary()
                        .map(|c| c.steps.clone()),
                })
            })
            .collect();
        let split = routes
            .routes()
            .iter()
            .find(|r| r.app == status.name)
            .and_then(|r| r.split.as_ref())
            .map(|s| CanarySplit {
                revision: s.revision.clone(),
                weight: s.weight(),
            });
        views.push(dashboard::app_view(status, &history, split));
    }
    fresh(Overview {
        now_ms: series::now_ms(),
        version: agent.config.version.clone(),
        proxy: agent.config.proxy.clone(),
        apps: views,
    })
}

/// `GET /api/apps/{app}/series`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SeriesReport {
    /// The app.
    app: String,
    /// The agent's clock, in milliseconds since the Unix epoch.
    now_ms: u64,
    /// The length of one point's interval.
    interval_ms: u64,
    /// How far back points are kept.
    window_ms: u64,
    /// Revisions that answered requests within the window, in revision order.
    revisions: Vec<RevisionSeries>,
}

async fn app_series(
    State(admin): State<Admin>,
    UrlPath(app): UrlPath<String>,
) -> Result<Response, Refused> {
    if !server::knows(&admin.agent, &app).await {
        return Err(server::unknown_app(&app));
    }
    let revisions = series::lock(&admin.series).of(&app);
    let interval_ms = u64::try_from(series::INTERVAL.as_millis()).unwrap_or(u64::MAX);
    Ok(fresh(SeriesReport {
        app,
        now_ms: series::now_ms(),
        interval_ms,
        window_ms: interval_ms * series::WINDOW as u64,
        revisions,
    }))
}
