//! A real Prometheus server (Debian's `prometheus`) per test, on 127.0.0.1, with its own data
//! directory: scraping what the test names, or serving series written beforehand as OpenMetrics
//! and turned into TSDB blocks by `promtool tsdb create-blocks-from openmetrics`, so the real
//! query engine answers hoist's queries. Killed on drop.

use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::http::get_ok;
use crate::ports::free_port;
use crate::process::tool;

/// A running Prometheus.
pub struct Prometheus {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its config, data directory and log.
    pub dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus with `scrape_configs` (YAML, the list's items; empty for none) and
    /// waits until `/-/ready` answers.
    pub fn start(scrape_configs: &str) -> Self {
        Self::start_in(tempfile::tempdir().expect("temp dir"), scrape_configs)
    }

    /// Starts Prometheus on series written as OpenMetrics text (timestamps in seconds, `# EOF`
    /// at the end), loaded into its data directory as blocks before it starts; it scrapes
    /// nothing.
    pub fn with_series(openmetrics: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("series.om");
        std::fs::write(&file, openmetrics).expect("write the series");
        let data = dir.path().join("data");
        tool(
            "promtool",
            &[
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                file.to_str().unwrap(),
                data.to_str().unwrap(),
            ],
            None,
        );
        Self::start_in(dir, "")
    }

    fn start_in(dir: tempfile::TempDir, scrape_configs: &str) -> Self {
        let config = dir.path().join("prometheus.yml");
        let scrape = if scrape_configs.trim().is_empty() {
            "scrape_configs: []\n".to_owned()
        } else {
            format!("scrape_configs:\n{scrape_configs}")
        };
        std::fs::write(&config, format!("global:\n  scrape_interval: 1s\n{scrape}"))
            .expect("write prometheus.yml");
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            // Blocks written by promtool may lie around "now" on both sides; keep them all.
            .arg("--storage.tsdb.retention.time=30d")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run `prometheus` ({e}): install it with scripts/install-test-deps")
            });
        let p = Prometheus {
            child,
            url: format!("http://{addr}"),
            addr,
            dir,
        };
        get_ok(&p.addr, "/-/ready", Duration::from_mins(1));
        p
    }

    /// Its log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one revision of an app answers per second in [`proxy_series`].
#[derive(Debug, Clone, Copy)]
pub struct Traffic<'a> {
    /// The `revision` label.
    pub revision: &'a str,
    /// Requests per second.
    pub per_second: u64,
    /// Of those, answered 500.
    pub errors_per_second: u64,
    /// Every request's latency, in seconds.
    pub latency: f64,
}

/// The bounds (seconds) of hoist's proxy histogram, as its agent exports them.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// OpenMetrics text of the series hoist's proxy exports (`hoist_proxy_requests_total`,
/// `hoist_proxy_request_duration_seconds`) for `app`'s revisions, one sample a second from
/// `before` ago to `after` from now — so an instant query at the real time of the test finds
/// them, whenever within that span it runs.
pub fn proxy_series(
    app: &str,
    revisions: &[Traffic<'_>],
    before: Duration,
    after: Duration,
) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let (from, to) = (now - before.as_secs(), now + after.as_secs());
    let mut out = String::new();
    out.push_str("# TYPE hoist_proxy_requests counter\n");
    for r in revisions {
        for (code, rate) in [
            ("200", r.per_second - r.errors_per_second),
            ("500", r.errors_per_second),
        ] {
            if rate == 0 {
                continue;
            }
            for t in from..=to {
                let n = (t - from) * rate;
                let _ = writeln!(
                    out,
                    "hoist_proxy_requests_total{{app=\"{app}\",revision=\"{}\",code=\"{code}\"}} {n} {t}",
                    r.revision
                );
            }
        }
    }
    out.push_str("# TYPE hoist_proxy_request_duration_seconds histogram\n");
    for r in revisions {
        let labels = format!("app=\"{app}\",revision=\"{}\"", r.revision);
        for t in from..=to {
            let n = (t - from) * r.per_second;
            for le in BUCKETS {
                let c = if r.latency <= le { n } else { 0 };
                let _ = writeln!(
                    out,
                    "hoist_proxy_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {c} {t}"
                );
            }
            let _ = writeln!(
                out,
                "hoist_proxy_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {n} {t}"
            );
            let _ = writeln!(
                out,
                "hoist_proxy_request_duration_seconds_count{{{labels}}} {n} {t}"
            );
            let _ = writeln!(
                out,
                "hoist_proxy_request_duration_seconds_sum{{{labels}}} {} {t}",
                n as f64 * r.latency
            );
        }
    }
    out.push_str("# EOF\n");
    out
}
