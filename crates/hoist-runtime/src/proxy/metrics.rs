//! The proxy's own metrics, by app and revision, in Prometheus' text format (what a Prometheus
//! server scrapes), and the per-revision [`Traffic`] counters canary analysis reads directly.

use std::sync::Mutex;
use std::time::Duration;

use hyper::StatusCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::Backend;
use super::traffic::{RevisionTraffic, Traffic};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    app: String,
    revision: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RevisionLabels {
    app: String,
    revision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    app: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabels {
    app: String,
}

/// One replica's most used metric handles (they are shared with the families' own entries).
#[derive(Debug)]
pub(crate) struct HotMetrics {
    ok: Counter,
    latency: Histogram,
}

/// Latency buckets in seconds: 1 ms to 10 s.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Counters and histograms of every request the proxy answered.
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RevisionLabels, Histogram>,
    errors: Family<ErrorLabels, Counter>,
    retries: Family<AppLabels, Counter>,
    failed_attempts: Family<RevisionLabels, Counter>,
    traffic: Traffic,
}

impl Metrics {
    /// Registers the metric families.
    pub fn new() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RevisionLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(BUCKETS)) as fn() -> Histogram,
        );
        let errors = Family::<ErrorLabels, Counter>::default();
        let retries = Family::<AppLabels, Counter>::default();
        let failed_attempts = Family::<RevisionLabels, Counter>::default();

        let mut registry = Registry::with_prefix("hoist_proxy");
        registry.register(
            "requests",
            "Requests answered by a replica, by status code",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to the replica's response head",
            latency.clone(),
        );
        registry.register(
            "errors",
            "Requests the proxy answered itself (502/503)",
            errors.clone(),
        );
        registry.register(
            "retries",
            "Attempts moved to another replica",
            retries.clone(),
        );
        registry.register(
            "failed_attempts",
            "Attempts to a replica that failed before any answer (connection refused or reset), by revision; each counts as an error of the revision in canary analysis",
            failed_attempts.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            requests,
            latency,
            errors,
            retries,
            failed_attempts,
            traffic: Traffic::default(),
        }
    }

    pub(crate) fn observe(&self, app: &str, backend: &Backend, code: StatusCode, took: Duration) {
        let hot = backend.hot_metrics.get_or_init(|| HotMetrics {
            ok: self.requests_counter(app, &backend.revision, StatusCode::OK),
            latency: self
                .latency
                .get_or_create(&RevisionLabels {
                    app: app.to_owned(),
                    revision: backend.revision.clone(),
                })
                .clone(),
        });
        if code == StatusCode::OK {
            hot.ok.inc();
        } else {
            self.requests_counter(app, &backend.revision, code).inc();
        }
        hot.latency.observe(took.as_secs_f64());
        self.revision_traffic(app, backend)
            .answered(code.is_server_error(), took);
    }

    /// An attempt to `backend` failed before any answer.
    pub(crate) fn failed_attempt(&self, app: &str, backend: &Backend) {
        self.failed_attempts
            .get_or_create(&RevisionLabels {
                app: app.to_owned(),
                revision: backend.revision.clone(),
            })
            .inc();
        self.revision_traffic(app, backend).failed();
    }

    /// What a fault injected into `backend`'s revision does to the next request.
    pub(crate) fn injected(&self, app: &str, backend: &Backend) -> super::faults::Injected {
        self.revision_traffic(app, backend).fault.decide()
    }

    fn revision_traffic<'b>(&self, app: &str, backend: &'b Backend) -> &'b RevisionTraffic {
        backend
            .traffic
            .get_or_init(|| self.traffic.revision(app, &backend.revision))
    }

    /// Per-revision counters for canary analysis.
    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    fn requests_counter(&self, app: &str, revision: &str, code: StatusCode) -> Counter {
        self.requests
            .get_or_create(&RequestLabels {
                app: app.to_owned(),
                revision: revision.to_owned(),
                code: code.as_u16().to_string(),
            })
            .clone()
    }

    pub(crate) fn error(&self, app: &str, reason: &str) {
        self.errors
            .get_or_create(&ErrorLabels {
                app: app.to_owned(),
                reason: reason.to_owned(),
            })
            .inc();
    }

    pub(crate) fn retry(&self, app: &str) {
        self.retries
            .get_or_create(&AppLabels {
                app: app.to_owned(),
            })
            .inc();
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
