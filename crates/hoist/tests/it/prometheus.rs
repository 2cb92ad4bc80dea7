//! The Prometheus path against the local agent: a real Prometheus scrapes the agent's admin
//! `/metrics` every second while a canary answering 10% errors runs under load; hoist's
//! Prometheus source, with the default templates (only `url` given), then finds figures
//! consistent with what the clients saw, and the verdict from Prometheus' figures agrees with
//! the agent's own (a breach of the error rate SLO).

use std::time::{Duration, SystemTime};

use hoist_test::agent::Driver;
use hoist_test::cli::code;
use hoist_test::fixtures::label;
use hoist_test::load::Load;
use hoist_test::process::text;
use hoist_test::prometheus::Prometheus;

use crate::webapp;

#[test]
fn prometheus_scraping_the_agent_sees_the_bad_canary_the_agent_rolled_back() {
    let agent = webapp(Driver::Process);
    // Analysed every 4 s, so the canary lives for a few scrapes.
    agent.project.edit(
        "hoist.toml",
        "deadline = \"10s\" }",
        "deadline = \"10s\", strategy = \"canary\", steps = [20, 50], interval = \"4s\", min_sample = 50 }",
    );
    agent.deploy_ok(&[]);
    let prom = Prometheus::start(&format!(
        "  - job_name: hoist\n    scrape_interval: 1s\n    static_configs:\n      - targets: [\"{}\"]\n",
        agent.admin
    ));
    let _turn = hoist_test::load::one_at_a_time();
    let load = Load::start(agent.proxy, "/", 4, Duration::from_mins(1), 2_000_000);
    std::thread::sleep(Duration::from_secs(2));
    let out = agent.deploy(&[
        "--set",
        "run.env.LABEL=v2",
        "--set",
        "run.env.ERROR_PERCENT=10",
    ]);
    let err = text(&out.stderr);
    assert_eq!(code(&out), 3, "the agent rolled the canary back:\n{err}");
    assert!(err.contains("error rate"), "{err}");
    // A few more scrapes, so Prometheus has the canary's last counts.
    std::thread::sleep(Duration::from_secs(3));
    let report = load.finish();
    let v2_seen = report
        .samples
        .iter()
        .filter(|s| label(&s.body) == "v2")
        .count() as u64;
    assert!(v2_seen > 50, "the load reached the canary: {v2_seen}");

    let queries = hoist_core::Prometheus::with_defaults(&prom.url);
    let source = hoist_prometheus::Source::new(&queries, "webapp", "").unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let window = Duration::from_mins(2);
    let (canary, stable) = rt.block_on(async {
        let now = SystemTime::now();
        (
            source.sample("2", window, now).await.unwrap(),
            source.sample("1", window, now).await.unwrap(),
        )
    });
    let canary = canary.unwrap_or_else(|| panic!("no series of revision 2\n{}", prom.log()));
    let stable = stable.unwrap_or_else(|| panic!("no series of revision 1\n{}", prom.log()));
    // Same order of magnitude as what the clients got from the canary (increase() extrapolates
    // to the window's edges; a scrape may miss the last second).
    assert!(
        canary.requests * 3 >= v2_seen && canary.requests <= v2_seen * 3,
        "Prometheus: {} canary requests, clients: {v2_seen}",
        canary.requests
    );
    let rate = canary.error_rate();
    assert!(
        (0.04..=0.2).contains(&rate),
        "the canary's 10% errors show: {rate:.3} ({canary:?})"
    );
    assert_eq!(stable.errors, 0, "{stable:?}");
    assert!(
        stable.requests > canary.requests,
        "{stable:?} vs {canary:?}"
    );
    assert!(canary.latency.count() > 0);
    // The verdict on Prometheus' figures agrees with the agent's: the error rate SLO breaks.
    let verdict = hoist_canary::judge(&hoist_core::Slo::default_for_canary(), 50, &canary, &stable);
    assert!(
        matches!(verdict, hoist_canary::Verdict::Fail { .. }),
        "{verdict}"
    );
    assert!(verdict.to_string().contains("error rate"), "{verdict}");
}
