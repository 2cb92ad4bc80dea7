//! The agent's dashboard as a user opens it: a real agent (process driver) running the webapp
//! fixture, traffic through its proxy across a rollout from a good revision to one that answers
//! errors, then the page loaded in headless Chromium (Debian's `chromium`), its DOM read once
//! its polling script has run, and a screenshot kept in `target/test-artifacts/`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hoist_test::agent::Driver;
use hoist_test::browser::Chromium;
use hoist_test::http::{get, post};
use serde_json::Value;

use crate::{HOIST, webapp};

/// Virtual time the page's script gets before the DOM is read: a few of its one-second polls.
const BUDGET: Duration = Duration::from_secs(4);

/// `GET PATH` on the admin address, as JSON.
fn admin_json(admin: SocketAddr, path: &str) -> Value {
    let r = get(admin, &admin.to_string(), path)
        .unwrap_or_else(|e| panic!("GET {path} on the admin address: {e}"));
    assert_eq!(r.status, 200, "GET {path}: {}\n{}", r.head, r.body);
    assert!(
        r.head
            .to_ascii_lowercase()
            .contains("cache-control: no-store"),
        "{}",
        r.head
    );
    serde_json::from_str(&r.body)
        .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {}", r.body))
}

/// Requests through the proxy, one at a time, until stopped: what users send while a rollout
/// goes on. Counts the answers of each label (`webapp v1 …`, `webapp v2 …`) and the 500s.
struct Traffic {
    stop: Arc<AtomicBool>,
    v2: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<u64>,
}

impl Traffic {
    fn start(proxy: SocketAddr) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let v2 = Arc::new(AtomicU64::new(0));
        let (stop2, v2b) = (Arc::clone(&stop), Arc::clone(&v2));
        let thread = std::thread::spawn(move || {
            let mut sent = 0;
            while !stop2.load(Ordering::Relaxed) {
                if let Ok(r) = get(proxy, "webapp.test", "/") {
                    if r.body.contains(" v2 ") || r.status == 500 {
                        v2b.fetch_add(1, Ordering::Relaxed);
                    }
                    sent += 1;
                }
                // About 200 requests a second: enough for a figure every second, and the two
                // shared cores keep room for the rollout.
                std::thread::sleep(Duration::from_millis(5));
            }
            sent
        });
        Self { stop, v2, thread }
    }

    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("traffic thread")
    }
}

/// The value of attribute `name` in the first tag of `html` that has `has` in it.
fn attr<'a>(html: &'a str, has: &str, name: &str) -> Option<&'a str> {
    let at = html.find(has)?;
    let start = html[..at].rfind('<')?;
    let tag = &html[start..start + html[start..].find('>')?];
    let key = format!(" {name}=\"");
    let from = tag.find(&key)? + key.len();
    Some(&tag[from..from + tag[from..].find('"')?])
}

/// The part of `html` inside the chart of `metric` (the `<figure … data-metric=…>`).
fn chart<'a>(html: &'a str, metric: &str) -> &'a str {
    let start = html
        .find(&format!("data-metric=\"{metric}\""))
        .unwrap_or_else(|| panic!("no {metric} chart on the page:\n{html}"));
    let end = html[start..].find("</figure>").expect("the chart ends") + start;
    &html[start..end]
}

/// The peak a chart shows for `revision` (its series' `data-max`).
fn peak(chart: &str, revision: u64) -> f64 {
    attr(
        chart,
        &format!("class=\"series\" data-revision=\"{revision}\""),
        "data-max",
    )
    .unwrap_or_else(|| panic!("no series of revision {revision} in the chart:\n{chart}"))
    .parse()
    .unwrap_or_else(|e| panic!("revision {revision}'s data-max is no number ({e}):\n{chart}"))
}

/// Where screenshots of the tests go: `target/test-artifacts/` beside the binary under test.
fn artifacts() -> PathBuf {
    PathBuf::from(HOIST)
        .parent()
        .and_then(|debug| debug.parent())
        .expect("the binary is in target/PROFILE/")
        .join("test-artifacts")
}

/// Defect guarded against: the admin address served only `/metrics`, so seeing which revision
/// failed, and when, took a Prometheus server or `curl` and arithmetic. The page must show the
/// app, its revisions and replicas with their states, and the bad revision's errors as a series
/// above zero beside the good one's, in a real browser without a script error.
#[test]
fn the_dashboard_shows_revisions_replicas_and_the_bad_revisions_errors() {
    let chromium = Chromium::require();
    let agent = webapp(Driver::Process);
    agent.deploy_ok(&[]);

    let traffic = Traffic::start(agent.proxy);
    // Revision 2 answers 500 to a quarter of the requests to / and passes its probes, so the
    // rolling update takes it; both revisions serve while it goes on.
    agent.deploy_ok(&[
        "--set",
        "run.env.LABEL=v2",
        "--set",
        "run.env.ERROR_PERCENT=25",
    ]);
    let deadline = Instant::now() + Duration::from_mins(1);
    while traffic.v2.load(Ordering::Relaxed) < 400 {
        assert!(
            Instant::now() < deadline,
            "revision 2 answered too little traffic"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let sent = traffic.finish();
    assert!(sent > 400, "{sent} requests");

    // The sampler takes a point a second: wait until it has counted revision 2's errors.
    let deadline = Instant::now() + Duration::from_secs(30);
    let series = loop {
        let s = admin_json(agent.admin, "/api/apps/webapp/series");
        let errors = s["revisions"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["revision"] == "2"))
            .map_or(0, |r| {
                r["errors"]
                    .as_array()
                    .map_or(0, |e| e.iter().filter_map(Value::as_u64).sum())
            });
        if errors > 0 {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "no errors of revision 2 in the series: {s:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let revisions: Vec<&str> = series["revisions"]
        .as_array()
        .expect("revisions")
        .iter()
        .filter_map(|r| r["revision"].as_str())
        .collect();
    assert_eq!(revisions, ["1", "2"], "both revisions answered: {series:#}");

    let overview = admin_json(agent.admin, "/api/apps");
    let app = &overview["apps"][0];
    assert_eq!(app["name"], "webapp", "{overview:#}");
    assert_eq!(app["serving"], 2, "{overview:#}");
    assert!(
        app["canary"].is_null(),
        "a rolling update is no canary: {overview:#}"
    );

    // Read-only: anything but GET is refused, and changes nothing.
    for path in ["/api/apps", "/api/apps/webapp/series", "/"] {
        let r = post(&agent.admin.to_string(), path, "{}").expect("POST answers");
        assert_eq!(r.status, 405, "POST {path}: {}", r.head);
    }
    let r = get(agent.admin, "x", "/api/apps/nope/series").expect("answers");
    assert_eq!(r.status, 404, "an unknown app: {}", r.body);

    // Revision 1's replicas have left (none still terminating), so the page shows three.
    agent.settled("webapp");
    let url = format!("http://{}/", agent.admin);
    let dom = chromium.dump_dom(&url, BUDGET);
    assert_eq!(
        attr(&dom, "id=\"status\"", "data-state"),
        Some("live"),
        "the page polled the agent without a script error:\n{dom}"
    );
    assert!(
        dom.contains("data-app=\"webapp\""),
        "no app section:\n{dom}"
    );
    assert_eq!(
        attr(&dom, "class=\"revision\" data-revision=\"2\"", "data-state"),
        Some("serving"),
        "{dom}"
    );
    assert_eq!(
        attr(&dom, "class=\"revision\" data-revision=\"1\"", "data-state"),
        Some("superseded"),
        "{dom}"
    );
    let ready = dom.matches("class=\"replica\"").count();
    assert_eq!(ready, 3, "revision 2's three replicas:\n{dom}");
    assert_eq!(dom.matches("data-state=\"ready\"").count(), 3, "{dom}");
    assert_eq!(
        attr(&dom, "class=\"canary\"", "data-canary"),
        Some("none"),
        "{dom}"
    );

    let errors = chart(&dom, "error_rate");
    let (bad, good) = (peak(errors, 2), peak(errors, 1));
    assert!(
        bad >= 0.1,
        "revision 2's error rate peaks at {bad}:\n{errors}"
    );
    assert!(
        bad > good,
        "revision 2 ({bad}) above revision 1 ({good}):\n{errors}"
    );
    let p99 = chart(&dom, "p99_ms");
    assert!(peak(p99, 1) > 0.0 && peak(p99, 2) > 0.0, "{p99}");

    let shot = artifacts().join("dashboard.png");
    chromium.screenshot(&url, &shot, (1400, 1000), BUDGET);
    eprintln!("dashboard screenshot: {}", shot.display());
}

/// A canary as the page shows it while it runs: its weight and step, the walk's verdict so far,
/// and its error rate above the stable revision's in the chart, before anyone reads a log.
#[test]
fn the_dashboard_shows_a_canary_its_step_verdict_and_breach() {
    let chromium = Chromium::require();
    let agent = webapp(Driver::Process);
    // A sample it cannot reach in the test: the walk stays on its first step, inconclusive,
    // while the page is read; then `hoist abort` ends it.
    agent.project.edit(
        "hoist.toml",
        "deadline = \"10s\" }",
        "deadline = \"10s\", strategy = \"canary\", steps = [20, 50], interval = \"1s\", min_sample = 1000000, max_wait = \"5m\" }",
    );
    agent.deploy_ok(&[]);
    let traffic = Traffic::start(agent.proxy);
    let deploy = agent.deploy_in_background(&[
        "--set",
        "run.env.LABEL=v2",
        "--set",
        "run.env.ERROR_PERCENT=25",
    ]);
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        let s = admin_json(agent.admin, "/api/apps/webapp/series");
        let canary_errors: u64 = s["revisions"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["revision"] == "2"))
            .map_or(0, |r| {
                r["errors"]
                    .as_array()
                    .map_or(0, |e| e.iter().filter_map(Value::as_u64).sum())
            });
        let verdict = admin_json(agent.admin, "/api/apps")["apps"][0]["canary"]["verdict"].clone();
        if canary_errors > 0 && !verdict.is_null() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the canary never answered: {s:#}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let url = format!("http://{}/", agent.admin);
    let dom = chromium.dump_dom(&url, BUDGET);
    let shot = artifacts().join("dashboard-canary.png");
    chromium.screenshot(&url, &shot, (1400, 1000), BUDGET);
    eprintln!("canary screenshot: {}", shot.display());
    let abort = agent.hoist(&["abort", "webapp"]).output().unwrap();
    assert!(abort.status.success());
    let _ = deploy.wait_with_output();
    traffic.finish();

    assert_eq!(
        attr(&dom, "id=\"status\"", "data-state"),
        Some("live"),
        "{dom}"
    );
    assert_eq!(
        attr(&dom, "class=\"canary\"", "data-canary"),
        Some("on"),
        "{dom}"
    );
    assert_eq!(
        attr(&dom, "class=\"canary\"", "data-revision"),
        Some("2"),
        "{dom}"
    );
    assert_eq!(
        attr(&dom, "class=\"canary\"", "data-weight"),
        Some("20"),
        "{dom}"
    );
    assert_eq!(
        attr(&dom, "aria-current=\"step\"", "data-step"),
        Some("0"),
        "the first step is the current one:\n{dom}"
    );
    assert_eq!(
        attr(&dom, "class=\"verdict\"", "data-verdict"),
        Some("inconclusive"),
        "the walk's verdict so far:\n{dom}"
    );
    let errors = chart(&dom, "error_rate");
    let (canary, stable) = (peak(errors, 2), peak(errors, 1));
    assert!(
        canary >= 0.1 && canary > stable,
        "the canary's errors ({canary}) stand above the stable revision's ({stable}):\n{errors}"
    );
}
