//! `run.rollout.strategy = "canary"`: steps, analysis timing, stickiness and SLO bounds, their
//! defaults, overlays, printing, and every mistake pointing at its line and column.

use std::time::Duration;

use hoist_config::{load_str, load_str_with, to_toml};
use hoist_core::{
    Canary, ErrorRateSlo, LatencySlo, Rate, Relative, Slo, Sticky, Strategy, SyntheticTraffic,
};

use crate::error;

fn canary(body: &str, env: Option<&str>) -> Canary {
    let src = format!("[app]\nname = \"hello\"\n{body}");
    let app = load_str("hoist.toml", &src, env).unwrap_or_else(|e| panic!("{e}\n{src}"));
    match app.run.rollout.strategy {
        Strategy::Canary(c) => c,
        Strategy::Rolling => panic!("rolling from\n{src}"),
    }
}

#[test]
fn rolling_is_the_default_and_canary_has_defaults_for_every_key() {
    let app = load_str("hoist.toml", "[app]\nname = \"hello\"\n", None).unwrap();
    assert_eq!(app.run.rollout.strategy, Strategy::Rolling);
    let c = canary("[run.rollout]\nstrategy = \"canary\"\n", None);
    assert_eq!(c.steps, [10, 50, 100]);
    assert_eq!(c.interval, Duration::from_secs(10));
    assert_eq!(c.min_sample, 100);
    assert_eq!(c.max_wait, Duration::from_mins(5));
    assert_eq!(c.sticky, None);
    assert_eq!(c.synthetic, None, "no request is sent unless asked for");
    assert_eq!(c.slo, Slo::default_for_canary());
    assert_eq!(c.slo.error_rate.above_stable, Some(1.0));
    assert_eq!(
        c.slo.p99.vs_stable,
        Some(Relative::Plus(Duration::from_millis(100)))
    );
}

#[test]
fn every_key_is_read() {
    let c = canary(
        r#"[run.rollout]
strategy = "canary"
steps = [5, 25, 50]
interval = "30s"
min_sample = 500
max_wait = "15m"
sticky = { header = "X-User-Id" }

[run.rollout.slo]
error_rate = ["1%", "+0.5%"]
p50 = "1.2x"
p99 = ["500ms", "+50ms"]
"#,
        None,
    );
    assert_eq!(c.steps, [5, 25, 50, 100], "100 is implied");
    assert_eq!(c.interval, Duration::from_secs(30));
    assert_eq!(c.min_sample, 500);
    assert_eq!(c.max_wait, Duration::from_mins(15));
    assert_eq!(c.sticky, Some(Sticky::Header("x-user-id".to_owned())));
    assert_eq!(
        c.slo,
        Slo {
            error_rate: ErrorRateSlo {
                max: Some(1.0),
                above_stable: Some(0.5)
            },
            p50: LatencySlo {
                max: None,
                vs_stable: Some(Relative::Times(1.2))
            },
            p99: LatencySlo {
                max: Some(Duration::from_millis(500)),
                vs_stable: Some(Relative::Plus(Duration::from_millis(50)))
            },
        }
    );
    let c = canary(
        "[run.rollout]\nstrategy = \"canary\"\nsteps = [50]\nsticky = { cookie = \"session\" }\nslo = { error_rate = [], p99 = \"300ms\" }\n",
        None,
    );
    assert_eq!(c.steps, [50, 100]);
    assert_eq!(c.sticky, Some(Sticky::Cookie("session".to_owned())));
    assert!(c.slo.error_rate.is_empty(), "`[]` switches an SLO off");
    assert_eq!(c.slo.p99.max, Some(Duration::from_millis(300)));
    assert_eq!(
        c.slo.p99.vs_stable, None,
        "a given key replaces its default"
    );
}

#[test]
fn overlays_merge_slo_keys_one_by_one_and_replace_sticky() {
    let body = r#"[run.rollout]
strategy = "canary"
steps = [10, 50]
sticky = { cookie = "session" }
slo = { error_rate = "2%", p50 = "1.5x" }

[environments.prod]
run.rollout.steps = [1, 5, 25]
run.rollout.sticky = { header = "X-Tenant" }
run.rollout.slo.p50 = "+20ms"
"#;
    let base = canary(body, None);
    assert_eq!(base.steps, [10, 50, 100]);
    let prod = canary(body, Some("prod"));
    assert_eq!(prod.steps, [1, 5, 25, 100]);
    assert_eq!(prod.sticky, Some(Sticky::Header("x-tenant".to_owned())));
    assert_eq!(prod.slo.error_rate.max, Some(2.0), "kept from the base");
    assert_eq!(
        prod.slo.p50.vs_stable,
        Some(Relative::Plus(Duration::from_millis(20)))
    );
    let app = load_str_with(
        "hoist.toml",
        "[app]\nname = \"hello\"\n",
        None,
        &["run.rollout.strategy=\"canary\"".to_owned()],
    )
    .unwrap();
    assert!(
        app.run.rollout.strategy.canary().is_some(),
        "--set works too"
    );
}

#[test]
fn a_printed_canary_loads_back_equal() {
    for body in [
        "[run.rollout]\nstrategy = \"canary\"\n",
        "[run.rollout]\nstrategy = \"canary\"\nsteps = [1, 2, 3]\ninterval = \"2s\"\nmin_sample = 7\nmax_wait = \"1h\"\nsticky = { cookie = \"s\" }\nslo = { error_rate = [\"0.25%\", \"+0.1%\"], p50 = [\"2.5x\"], p99 = [\"1500ms\", \"+1s\"] }\n",
        "[run.rollout]\nstrategy = \"canary\"\nslo = { error_rate = [], p50 = \"10ms\", p99 = [] }\n",
        "[run.rollout]\nstrategy = \"canary\"\nsynthetic = { paths = [\"/\", \"/q?a=1&b=%20\"], rate = \"30/m\" }\n",
    ] {
        let src = format!("[app]\nname = \"hello\"\n{body}");
        let app = load_str("hoist.toml", &src, None).unwrap();
        let printed = to_toml(&app);
        let again =
            load_str("printed.toml", &printed, None).unwrap_or_else(|e| panic!("{e}\n{printed}"));
        assert_eq!(again, app, "{printed}");
    }
}

#[test]
fn steps_must_be_increasing_percentages() {
    assert_eq!(
        error("[run.rollout]\nstrategy = \"canary\"\nsteps = [5, 25, 25, 50]\n"),
        "hoist.toml:5:17: run.rollout.steps[2]: must be more than the step before it (25): each step gives the canary a larger share, found 25"
    );
    assert_eq!(
        error("[run.rollout]\nstrategy = \"canary\"\nsteps = [50, 10]\n"),
        "hoist.toml:5:14: run.rollout.steps[1]: must be more than the step before it (50): each step gives the canary a larger share, found 10"
    );
    assert_eq!(
        error("[run.rollout]\nstrategy = \"canary\"\nsteps = [10, 150]\n"),
        "hoist.toml:5:14: run.rollout.steps[1]: must be a share of the traffic from 1 to 100 (percent), found 150"
    );
    assert_eq!(
        error("[run.rollout]\nstrategy = \"canary\"\nsteps = [0, 10]\n"),
        "hoist.toml:5:10: run.rollout.steps[0]: must be a share of the traffic from 1 to 100 (percent), found 0"
    );
    let e = error("[run.rollout]\nstrategy = \"canary\"\nsteps = [100]\n");
    assert!(
        e.starts_with("hoist.toml:5:9: run.rollout.steps: needs a step below 100"),
        "{e}"
    );
    let e = error("[run.rollout]\nstrategy = \"canary\"\nsteps = []\n");
    assert!(
        e.starts_with("hoist.toml:5:9: run.rollout.steps: needs at least one step"),
        "{e}"
    );
    assert_eq!(
        error("[run.rollout]\nstrategy = \"canary\"\nsteps = [\"5%\"]\n"),
        "hoist.toml:5:10: run.rollout.steps[0]: expected an integer, found a string"
    );
}

#[test]
fn slo_bounds_need_a_unit_and_the_right_kind() {
    let e = error("[run.rollout]\nstrategy = \"canary\"\nslo = { p99 = \"300\" }\n");
    assert_eq!(
        e,
        "hoist.toml:5:15: run.rollout.slo.p99: `300` has no unit; write an absolute bound like \"300ms\", or one relative to the stable revision like \"1.5x\" or \"+50ms\""
    );
    let e = error("[run.rollout]\nstrategy = \"canary\"\nslo = { p99 = 300 }\n");
    assert!(
        e.starts_with(
            "hoist.toml:5:15: run.rollout.slo.p99: a bound needs a unit, found the bare number 300"
        ),
        "{e}"
    );
    let e = error(
        "[run.rollout.slo]\nerror_rate = [\"1%\", \"0.5\"]\n[run.rollout]\nstrategy = \"canary\"\n",
    );
    assert!(
        e.starts_with(
            "hoist.toml:4:21: run.rollout.slo.error_rate[1]: `0.5` has no unit; write a percentage"
        ),
        "{e}"
    );
    let e = error("[run.rollout]\nstrategy = \"canary\"\nslo = { error_rate = \"1.5x\" }\n");
    assert!(e.contains("`1.5x` is a ratio, which bounds latency"), "{e}");
    let e = error("[run.rollout]\nstrategy = \"canary\"\nslo = { error_rate = \"150%\" }\n");
    assert!(
        e.contains("`150%` is not a percentage from 0% to 100%"),
        "{e}"
    );
    let e = error("[run.rollout]\nstrategy = \"canary\"\nslo = { p50 = [\"1s\", \"300ms\"] }\n");
    assert!(
        e.starts_with("hoist.toml:5:22: run.rollout.slo.p50[1]: is a second absolute bound"),
        "{e}"
    );
    let e = error("[run.rollout]\nstrategy = \"canary\"\nslo = { p50 = \"0.5x\" }\n");
    assert!(e.contains("`0.5x` is not a ratio of at least 1"), "{e}");
    let e = error("[run.rollout]\nstrategy = \"canary\"\nslo = { p50 = \"fast\" }\n");
    assert!(e.contains("`fast` is not a latency bound"), "{e}");
    let e = error("[run.rollout]\nstrategy = \"canary\"\nslo = { error_rate = [], p99 = [] }\n");
    assert!(
        e.starts_with("hoist.toml:5:7: run.rollout.slo: switches every SLO off"),
        "{e}"
    );
}

#[test]
fn unknown_keys_and_misplaced_canary_keys_are_refused() {
    let e = error("[run.rollout]\nstrategy = \"canary\"\nstep = [10]\n");
    assert!(
        e.starts_with(
            "hoist.toml:5:1: run.rollout.step: unknown key `step` (did you mean `steps`?)"
        ),
        "{e}"
    );
    let e = error("[run.rollout]\nstrategy = \"canary\"\nslo = { p95 = \"1s\" }\n");
    assert!(
        e.starts_with("hoist.toml:5:9: run.rollout.slo.p95: unknown key `p95`"),
        "{e}"
    );
    let e = error("[run.rollout]\nstrategy = \"canary\"\nsticky = { query = \"u\" }\n");
    assert!(
        e.contains("run.rollout.sticky.query: unknown key `query`"),
        "{e}"
    );
    assert_eq!(
        error("[run.rollout]\nsteps = [10, 50]\n"),
        "hoist.toml:4:9: run.rollout.steps: applies to a canary, and this rollout is rolling; add `strategy = \"canary\"` to `run.rollout`, or remove it"
    );
    let e = error("[run.rollout]\nstrategy = \"canery\"\n");
    assert!(
        e.starts_with("hoist.toml:4:12: run.rollout.strategy: expected \"rolling\""),
        "{e}"
    );
}

#[test]
fn sticky_timing_and_state_rules() {
    let e = error(
        "[run.rollout]\nstrategy = \"canary\"\nsticky = { cookie = \"a\", header = \"b\" }\n",
    );
    assert!(
        e.contains("run.rollout.sticky.header: is given with `cookie`"),
        "{e}"
    );
    let e = error("[run.rollout]\nstrategy = \"canary\"\nsticky = {}\n");
    assert!(e.contains("run.rollout.sticky.cookie"), "{e}");
    let e = error("[run.rollout]\nstrategy = \"canary\"\nsticky = { cookie = \"a b\" }\n");
    assert!(e.contains("`a b` is not a cookie or header name"), "{e}");
    assert_eq!(
        error("[run.rollout]\nstrategy = \"canary\"\ninterval = \"30s\"\nmax_wait = \"10s\"\n"),
        "hoist.toml:6:12: run.rollout.max_wait: must be at least `interval` (\"30s\"): a step needs one interval to reach a verdict"
    );
    let e = error("[run.rollout]\nstrategy = \"canary\"\ninterval = \"500ms\"\n");
    assert!(
        e.contains("run.rollout.interval: must be whole seconds"),
        "{e}"
    );
    let e = error("[run.rollout]\nstrategy = \"canary\"\nmin_sample = 0\n");
    assert!(
        e.contains("run.rollout.min_sample: must be 1 or more, found 0"),
        "{e}"
    );
    let e = error("[run]\nstate = \"/data\"\n[run.rollout]\nstrategy = \"canary\"\n");
    assert!(
        e.starts_with("hoist.toml:6:12: run.rollout.strategy: runs the new revision beside the stable one, and `run.state` has one writer"),
        "{e}"
    );
}

#[test]
fn verify_chaos_puts_its_faults_on_a_step_of_the_canary() {
    let body = "[run.rollout]\nstrategy = \"canary\"\nsteps = [10, 50]\n\n[verify.chaos]\nstep = 2\nkill = true\nlatency = \"200ms\"\nabort = \"5%:500\"\nreset = \"2%\"\ncpu = \"50%\"\n";
    let c = canary(body, None);
    let chaos = c.chaos.expect("[verify.chaos] read");
    assert_eq!(
        chaos,
        hoist_core::ChaosStep {
            step: 2,
            kill: true,
            latency: Some(Duration::from_millis(200)),
            abort_percent: 5,
            abort_status: Some(500),
            reset_percent: 2,
            cpu_percent: 50,
        }
    );
    // Printed and loaded back, and per environment like every table.
    let src = format!("[app]\nname = \"hello\"\n{body}");
    let app = load_str("hoist.toml", &src, None).unwrap();
    let printed = to_toml(&app);
    assert_eq!(
        load_str("printed.toml", &printed, None).unwrap(),
        app,
        "{printed}"
    );
    let overlay = "[run.rollout]\nstrategy = \"canary\"\n\n[environments.prod.verify.chaos]\nlatency = \"1s\"\n";
    assert_eq!(canary(overlay, None).chaos, None);
    let prod = canary(overlay, Some("prod")).chaos.unwrap();
    assert_eq!((prod.step, prod.latency), (1, Some(Duration::from_secs(1))));
}

#[test]
fn verify_chaos_mistakes_say_where() {
    assert_eq!(
        error("[verify.chaos]\nkill = true\n"),
        "hoist.toml:3:1: verify.chaos: `[verify.chaos]` injects faults into a canary's step: set `run.rollout.strategy = \"canary\"`, or remove the table"
    );
    let canary = "[run.rollout]\nstrategy = \"canary\"\nsteps = [10, 50]\n\n";
    assert_eq!(
        error(&format!("{canary}[verify.chaos]\nstep = 3\nkill = true\n")),
        "hoist.toml:8:8: verify.chaos.step: must be from 1 to 2, found 3"
    );
    assert_eq!(
        error(&format!("{canary}[verify.chaos]\nabort = \"5\"\n")),
        "hoist.toml:8:9: verify.chaos.abort: must be a share like \"10%\" (1% to 100%), found \"5\""
    );
    assert_eq!(
        error(&format!("{canary}[verify.chaos]\nabort = \"5%:200\"\n")),
        "hoist.toml:8:9: verify.chaos.abort: `200` is not an HTTP error status (400 to 599)"
    );
    assert_eq!(
        error(&format!("{canary}[verify.chaos]\ncpu = \"99%\"\n")),
        "hoist.toml:8:7: verify.chaos.cpu: must be a share like \"10%\" (1% to 95%), found \"99%\""
    );
    assert_eq!(
        error(&format!(
            "{canary}[verify.chaos]\nabort = \"60%\"\nreset = \"50%\"\n"
        )),
        "hoist.toml:9:9: verify.chaos.reset: `abort` and `reset` share the requests: together at most 100%"
    );
    assert_eq!(
        error(&format!("{canary}[verify.chaos]\nstep = 1\n")),
        "hoist.toml:7:1: verify.chaos: no fault given: set one or more of `kill = true`, `latency = \"200ms\"`, `abort = \"10%\"`, `reset = \"5%\"`, `cpu = \"50%\"`"
    );
    assert!(
        error(&format!("{canary}[verify.chaos]\nkil = true\n"))
            .contains("unknown key `kil` (did you mean `kill`?)")
    );
}

#[test]
fn verify_prometheus_needs_only_a_url_and_keeps_given_templates() {
    let body = "[run.rollout]\nstrategy = \"canary\"\n\n[verify.prometheus]\nurl = \"http://prometheus.monitoring:9090/\"\n";
    let p = canary(body, None)
        .prometheus
        .expect("[verify.prometheus] read");
    assert_eq!(
        p,
        hoist_core::Prometheus::with_defaults("http://prometheus.monitoring:9090")
    );
    let given = "[run.rollout]\nstrategy = \"canary\"\n\n[verify.prometheus]\nurl = \"https://prom.example\"\nerrors = 'sum(increase(http_requests_total{app=\"{app}\",namespace=\"{namespace}\",revision=\"{revision}\",code=~\"5..\"}[{window}]))'\n";
    let p = canary(given, None).prometheus.unwrap();
    assert!(
        p.errors
            .starts_with("sum(increase(http_requests_total{app=")
    );
    assert_eq!(p.requests, hoist_core::Prometheus::DEFAULT_REQUESTS);
    // Printed and loaded back.
    let src = format!("[app]\nname = \"hello\"\n{given}");
    let app = load_str("hoist.toml", &src, None).unwrap();
    let printed = to_toml(&app);
    assert_eq!(
        load_str("printed.toml", &printed, None).unwrap(),
        app,
        "{printed}"
    );
    let overlay = "[run.rollout]\nstrategy = \"canary\"\n\n[environments.prod.verify.prometheus]\nurl = \"http://p:9090\"\n";
    assert_eq!(canary(overlay, None).prometheus, None);
    assert_eq!(
        canary(overlay, Some("prod")).prometheus.unwrap().url,
        "http://p:9090"
    );
}

#[test]
fn verify_prometheus_mistakes_say_where() {
    assert_eq!(
        error("[verify.prometheus]\nurl = \"http://p:9090\"\n"),
        "hoist.toml:3:1: verify.prometheus: `[verify.prometheus]` is where a canary's figures come from: set `run.rollout.strategy = \"canary\"`, or remove the table"
    );
    let canary = "[run.rollout]\nstrategy = \"canary\"\n\n";
    assert_eq!(
        error(&format!(
            "{canary}[verify.prometheus]\nurl = \"prometheus:9090\"\n"
        )),
        "hoist.toml:7:7: verify.prometheus.url: must be an http:// or https:// URL, found \"prometheus:9090\""
    );
    assert_eq!(
        error(&format!(
            "{canary}[verify.prometheus]\nurl = \"http://u:pw@p:9090\"\n"
        )),
        "hoist.toml:7:7: verify.prometheus.url: credentials in the URL would be printed in every error: use a URL without `user:password@`"
    );
    assert_eq!(
        error(&format!("{canary}[verify.prometheus]\nrequests = \"x\"\n")),
        "hoist.toml:6:1: verify.prometheus: `url` is missing: the Prometheus server, e.g. `url = \"http://prometheus.monitoring:9090\"`"
    );
    assert_eq!(
        error(&format!(
            "{canary}[verify.prometheus]\nurl = \"http://p:9090\"\nrequests = 'sum(increase(http_requests_total{{app=\"{{app}}\"}}[{{window}}]))'\n"
        )),
        "hoist.toml:8:12: verify.prometheus.requests: the template has no `{revision}` placeholder: without it the canary and the stable revision get the same figures; select the series by revision, e.g. `revision=\"{revision}\"`"
    );
    // An unknown placeholder is pointed at, inside the string.
    let e = error(&format!(
        "{canary}[verify.prometheus]\nurl = \"http://p:9090\"\nerrors = 'sum(x{{revision=\"{{revison}}\",a=\"{{revision}}\"}})'\n"
    ));
    assert_eq!(
        e,
        "hoist.toml:8:27: verify.prometheus.errors: unknown placeholder `{revison}`: a template may use `{app}`, `{revision}`, `{window}`, `{namespace}`"
    );
    assert!(
        error(&format!(
            "{canary}[verify.prometheus]\nurll = \"http://p\"\n"
        ))
        .contains("unknown key `urll` (did you mean `url`?)")
    );
}

#[test]
fn synthetic_traffic_is_read_defaulted_and_merged() {
    let c = canary(
        "[run.rollout]\nstrategy = \"canary\"\nsynthetic = { paths = [\"/\", \"/healthz\"], rate = \"25/s\" }\n",
        None,
    );
    assert_eq!(
        c.synthetic,
        Some(SyntheticTraffic {
            paths: vec!["/".to_owned(), "/healthz".to_owned()],
            rate: Rate {
                requests: 25,
                per: Duration::from_secs(1)
            },
        })
    );
    let body = r#"[run.rollout]
strategy = "canary"

[run.rollout.synthetic]
paths = ["/api/items?limit=1"]

[environments.prod]
run.rollout.synthetic.rate = "120/m"
"#;
    let base = canary(body, None).synthetic.expect("synthetic");
    assert_eq!(base.paths, ["/api/items?limit=1"]);
    assert_eq!(base.rate, Rate::DEFAULT, "10/s when not given");
    let prod = canary(body, Some("prod")).synthetic.expect("synthetic");
    assert_eq!(base.paths, prod.paths, "kept from the base");
    assert_eq!(prod.rate.to_string(), "120/m");
    assert_eq!(prod.rate.period(), Duration::from_millis(500));
    let printed = to_toml(
        &load_str(
            "hoist.toml",
            &format!("[app]\nname = \"hello\"\n{body}"),
            Some("prod"),
        )
        .unwrap(),
    );
    assert!(
        printed.contains(r#"synthetic = { paths = ["/api/items?limit=1"], rate = "120/m" }"#),
        "{printed}"
    );
}

#[test]
fn synthetic_mistakes_say_where() {
    let at = |synthetic: &str| {
        error(&format!(
            "[run.rollout]\nstrategy = \"canary\"\nsynthetic = {synthetic}\n"
        ))
    };
    assert_eq!(
        at(r#"{ paths = ["/", "healthz"] }"#),
        "hoist.toml:5:29: run.rollout.synthetic.paths[1]: `healthz` is not a path; write it as the app sees it, starting with one `/`, like \"/\" or \"/healthz\""
    );
    let e = at(r#"{ paths = ["/a b"] }"#);
    assert!(
        e.starts_with("hoist.toml:5:24: run.rollout.synthetic.paths[0]: `/a b` has ' ', which a request path cannot hold; percent-encode it"),
        "{e}"
    );
    let e = at(r#"{ paths = ["//evil.example"] }"#);
    assert!(e.contains("`//evil.example` is not a path"), "{e}");
    let e = at(r#"{ paths = ["/#top"] }"#);
    assert!(e.contains("has '#'"), "{e}");
    let e = at("{ paths = [] }");
    assert!(
        e.starts_with("hoist.toml:5:23: run.rollout.synthetic.paths: needs at least one path"),
        "{e}"
    );
    let e = at(r#"{ rate = "10/s" }"#);
    assert!(
        e.contains("run.rollout.synthetic.paths"),
        "missing paths: {e}"
    );
    assert!(e.contains("hoist.toml:5:13"), "{e}");
    assert_eq!(
        at(r#"{ paths = ["/"], rate = "0/s" }"#),
        "hoist.toml:5:37: run.rollout.synthetic.rate: `0/s` sends nothing, so a quiet step would still wait out `max_wait`; give at least 1, like \"10/s\", or remove `synthetic`"
    );
    assert_eq!(
        at(r#"{ paths = ["/"], rate = "10" }"#),
        "hoist.toml:5:37: run.rollout.synthetic.rate: `10` has no unit; write requests per second or per minute, like \"10/s\" or \"30/m\""
    );
    let e = at(r#"{ paths = ["/"], rate = 10 }"#);
    assert!(
        e.starts_with("hoist.toml:5:37: run.rollout.synthetic.rate: a rate needs a unit, found the bare number 10; write it as a string such as \"10/s\""),
        "{e}"
    );
    let e = at(r#"{ paths = ["/"], rate = "10/h" }"#);
    assert!(e.contains("`10/h` has the unit `/h`"), "{e}");
    let e = at(r#"{ paths = ["/"], rate = "1.5/s" }"#);
    assert!(e.contains("`1.5/s` is not a whole number"), "{e}");
    let e = at(r#"{ paths = ["/"], rate = "-1/s" }"#);
    assert!(e.contains("`-1/s` is not a whole number"), "{e}");
    let e = at(r#"{ paths = ["/"], rate = "1001/s" }"#);
    assert!(e.contains("more than 1000/s"), "{e}");
    let e = at(r#"{ paths = ["/"], rate = "60001/m" }"#);
    assert!(e.contains("more than 1000/s"), "{e}");
    let limit = canary(
        "[run.rollout]\nstrategy = \"canary\"\nsynthetic = { paths = [\"/\"], rate = \"60000/m\" }\n",
        None,
    );
    assert_eq!(
        limit.synthetic.map(|s| s.rate.period()),
        Some(Duration::from_millis(1)),
        "60000/m is 1000/s, the limit itself"
    );
    let e = at(r#"{ paths = ["/"], hosts = ["a"] }"#);
    assert!(
        e.contains("run.rollout.synthetic.hosts: unknown key `hosts`"),
        "{e}"
    );
    // Canary only, like the other canary keys.
    assert_eq!(
        error("[run.rollout]\nsynthetic = { paths = [\"/\"] }\n"),
        "hoist.toml:4:13: run.rollout.synthetic: applies to a canary, and this rollout is rolling; add `strategy = \"canary\"` to `run.rollout`, or remove it"
    );
}
