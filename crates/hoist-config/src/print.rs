//! A merged [`App`] printed back as `hoist.toml`, for `hoist config`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hoist_core::{
    App, IntOrPercent, Probe, ProbeAction, Relative, StateUpdate, Sticky, Strategy, TagPolicy,
    Writers,
};

use crate::duration;
use crate::validate::default_readiness;

/// Prints `app` as `hoist.toml`: every key with its effective value (defaults included),
/// durations as strings like `"60s"`, platforms as strings, and a comment for each optional
/// value that is not set. There is no `[environments]` section: the output is what one
/// environment means, and loading it back gives the same [`App`] (with `environment` unset).
pub fn to_toml(app: &App) -> String {
    let mut out = Printer::default();
    if let Some(env) = &app.environment {
        out.line(&format!(
            "# hoist.toml as loaded with --env {env}; every key shows its effective value."
        ));
    } else {
        out.line("# hoist.toml as loaded; every key shows its effective value.");
    }
    app_and_build(&mut out, app);
    image(&mut out, app);
    run(&mut out, app);
    out.map_table("config", &app.config);
    match app
        .run
        .rollout
        .strategy
        .canary()
        .and_then(|c| c.chaos.as_ref())
    {
        Some(c) => {
            out.header("verify.chaos");
            out.kv("step", &c.step.to_string());
            out.kv("kill", &c.kill.to_string());
            if let Some(l) = c.latency {
                out.kv("latency", &quote(&duration::format(l)));
            }
            if c.abort_percent > 0 {
                let status = c.abort_status.map_or_else(String::new, |s| format!(":{s}"));
                out.kv("abort", &quote(&format!("{}%{status}", c.abort_percent)));
            }
            if c.reset_percent > 0 {
                out.kv("reset", &quote(&format!("{}%", c.reset_percent)));
            }
            if c.cpu_percent > 0 {
                out.kv("cpu", &quote(&format!("{}%", c.cpu_percent)));
            }
        }
        None => out.line("\n# [verify.chaos] is not set: no faults during a canary's steps"),
    }
    match app
        .run
        .rollout
        .strategy
        .canary()
        .and_then(|c| c.prometheus.as_ref())
    {
        Some(p) => {
            out.header("verify.prometheus");
            out.kv("url", &quote(&p.url));
            out.kv("requests", &quote(&p.requests));
            out.kv("errors", &quote(&p.errors));
            out.kv("latency", &quote(&p.latency));
        }
        None => out.line(
            "\n# [verify.prometheus] is not set: a canary on Kubernetes has no figures to judge",
        ),
    }
    match &app.dapr {
        Some(d) => {
            out.header("dapr");
            out.kv("enabled", "true");
            out.kv("app_id", &quote(&d.app_id));
        }
        None => out.line("\n# [dapr] is not set: no Dapr sidecar"),
    }
    match &app.kubernetes {
        Some(k) => {
            out.header("kubernetes");
            out.kv("contexts", &array(&k.contexts));
            out.opt(
                "namespace",
                k.namespace.as_deref(),
                "the context's namespace, else `default`",
            );
            out.kv("create_namespace", &k.create_namespace.to_string());
            out.kv("history_limit", &k.history_limit.to_string());
        }
        None => {
            out.line("\n# [kubernetes] is not set: `hoist deploy` runs the app on this machine");
        }
    }
    match &app.hosts {
        Some(h) => {
            out.header("hosts");
            out.kv("targets", &array(&h.targets));
            out.opt("user", h.user.as_deref(), "ssh's, from its config");
            match h.port {
                Some(p) => out.kv("port", &p.to_string()),
                None => out.line("# port is not set: ssh's, from its config"),
            }
            out.opt(
                "identity",
                h.identity.as_deref(),
                "ssh's identities and agent",
            );
            out.kv(
                "parallel",
                &match h.parallel {
                    hoist_core::IntOrPercent::Int(n) => n.to_string(),
                    hoist_core::IntOrPercent::Percent(p) => quote(&format!("{p}%")),
                },
            );
            hosts_public(&mut out, &h.public);
            out.opt(
                "engine",
                h.engine.as_deref(),
                "each agent's DOCKER_HOST, else dockerd's socket",
            );
        }
        None => out.line("\n# [hosts] is not set: no servers of your own over SSH"),
    }
    // As comments: `ci.deploy` names environments, which this merged view does not print, so
    // the output stays a file that loads on its own.
    match &app.ci {
        Some(ci) => {
            out.line("\n# [ci], read by `hoist ci`:");
            let rules: Vec<String> = ci
                .deploy
                .iter()
                .map(|r| format!("{} -> {}", r.on, r.environment))
                .collect();
            out.line(&format!(
                "#   deploy: {}",
                if rules.is_empty() {
                    "nothing (tests and builds only)".to_owned()
                } else {
                    rules.join(", ")
                }
            ));
            out.line(&format!("#   runs_on: {}", ci.runs_on.join(", ")));
            out.line(&format!("#   test: {}", ci.test.join("; ")));
        }
        None => out.line("\n# [ci] is not set: `hoist ci` writes a pipeline that tests and builds, and deploys nothing"),
    }
    out.text
}

/// [`to_toml`] as a TOML table: what `hoist config --json` prints, so the JSON has exactly the
/// keys and values of the TOML (durations as `"10s"`, probes as `path`/`tcp`/`exec`).
///
/// # Panics
/// Never for an [`App`] `hoist-config` loaded: the printer writes TOML the parser reads (a
/// round-trip test holds it to that).
pub fn to_table(app: &App) -> toml::Table {
    toml::from_str(&to_toml(app)).expect("hoist prints TOML it can read back")
}

fn app_and_build(out: &mut Printer, app: &App) {
    let (a, b) = (&app.app, &app.build);
    out.header("app");
    out.kv("name", &quote(&a.name));
    out.kv("main", &quote(&a.main));
    out.kv("port", &a.port.to_string());
    out.kv("args", &array(&a.args));
    out.header("build");
    let platforms: Vec<String> = b.platforms.iter().map(ToString::to_string).collect();
    out.kv("platforms", &array(&platforms));
    out.kv("base", &quote(&String::from(b.base.clone())));
    out.kv("tags", &array(&b.tags));
    out.kv("ldflags", &array(&b.ldflags));
    out.kv("version_var", &quote(&b.version_var));
    out.kv("commit_var", &quote(&b.commit_var));
    match b.cgo {
        Some(cgo) => out.kv("cgo", &cgo.to_string()),
        None => out.line(
            "# cgo is not set: built with CGO_ENABLED=0; a program whose dependencies need cgo is refused",
        ),
    }
    out.map_table("build.env", &b.env);
}

fn image(out: &mut Printer, app: &App) {
    let i = &app.image;
    out.header("image");
    out.opt(
        "repository",
        i.repository.as_deref(),
        "images are built but not pushed",
    );
    let tags: Vec<&str> = i.tags.iter().map(|t| tag_name(*t)).collect();
    out.kv("tags", &array(&tags));
    out.opt(
        "source",
        i.source.as_deref(),
        "taken from git's `origin` remote",
    );
    out.map_table("image.labels", &i.labels);
}

fn run(out: &mut Printer, app: &App) {
    let r = &app.run;
    out.header("run");
    out.kv("replicas", &r.replicas.to_string());
    out.kv("driver", &quote(r.driver.as_str()));
    out.kv(
        "termination_grace",
        &quote(&duration::format(r.termination_grace)),
    );
    out.map_table("run.env", &r.env);
    let h = &r.health;
    if h.liveness.is_none()
        && h.startup.is_none()
        && h.readiness == Some(default_readiness(app.app.port))
    {
        out.line("\n# run.health is not set: ready once the app accepts TCP on its port; no liveness probe");
    }
    for (name, p) in [
        ("readiness", &h.readiness),
        ("liveness", &h.liveness),
        ("startup", &h.startup),
    ] {
        if let Some(p) = p {
            probe(out, name, p);
        }
    }
    out.header("run.rollout");
    out.kv("max_surge", &int_or_percent(r.rollout.max_surge));
    out.kv(
        "max_unavailable",
        &int_or_percent(r.rollout.max_unavailable),
    );
    out.kv("deadline", &quote(&duration::format(r.rollout.deadline)));
    strategy(out, &r.rollout.strategy);
    out.header("run.resources");
    out.opt("cpu", r.resources.cpu.as_deref(), "no CPU request");
    out.opt(
        "memory",
        r.resources.memory.as_deref(),
        "no memory request or limit",
    );
    match &r.autoscale {
        Some(a) => {
            out.header("run.autoscale");
            out.kv("min", &a.min.to_string());
            out.kv("max", &a.max.to_string());
            out.kv("cpu_percent", &a.cpu_percent.to_string());
        }
        None => out.line("\n# run.autoscale is not set: a fixed replica count"),
    }
    match &r.ingress {
        Some(i) => {
            out.header("run.ingress");
            out.opt("host", i.host.as_deref(), "any host");
            out.kv("path", &quote(&i.path));
            out.opt("tls_secret", i.tls_secret.as_deref(), "no TLS");
            out.opt(
                "class",
                i.class.as_deref(),
                "the cluster's default ingress class",
            );
        }
        None => out.line("\n# run.ingress is not set: no ingress"),
    }
    match &r.state {
        Some(s) => {
            out.header("run.state");
            out.kv("path", &quote(&s.path));
            out.kv(
                "writers",
                &quote(match s.writers {
                    Writers::One => "one",
                    Writers::Many => "many",
                }),
            );
            if s.writers == Writers::One {
                out.kv(
                    "update",
                    &quote(match s.update {
                        StateUpdate::Recreate => "recreate",
                        StateUpdate::Overlap => "overlap",
                    }),
                );
            }
            out.kv("size", &quote(&s.size));
        }
        None => out.line("\n# run.state is not set: nothing the app writes outlives a replica"),
    }
}

/// `strategy` and, for a canary, its keys and `[run.rollout.slo]` (every bound as an array, an
/// empty one for an SLO that is off, so the printed file does not fall back to the defaults).
fn strategy(out: &mut Printer, s: &Strategy) {
    let Some(c) = s.canary() else {
        out.kv("strategy", &quote("rolling"));
        return;
    };
    out.kv("strategy", &quote("canary"));
    let steps: Vec<String> = c.steps.iter().map(ToString::to_string).collect();
    out.kv("steps", &format!("[{}]", steps.join(", ")));
    out.kv("interval", &quote(&duration::format(c.interval)));
    out.kv("min_sample", &c.min_sample.to_string());
    out.kv("max_wait", &quote(&duration::format(c.max_wait)));
    match &c.sticky {
        Some(Sticky::Cookie(name)) => out.kv("sticky", &format!("{{ cookie = {} }}", quote(name))),
        Some(Sticky::Header(name)) => out.kv("sticky", &format!("{{ header = {} }}", quote(name))),
        None => out.line("# sticky is not set: each request is split by weight on its own"),
    }
    match &c.synthetic {
        Some(t) => out.kv(
            "synthetic",
            &format!(
                "{{ paths = {}, rate = {} }}",
                array(&t.paths),
                quote(&t.rate.to_string())
            ),
        ),
        None => out.line(
            "# synthetic is not set: a step short of requests waits for real ones, up to max_wait",
        ),
    }
    out.header("run.rollout.slo");
    let e = c.slo.error_rate;
    let mut rates = Vec::new();
    rates.extend(e.max.map(|p| format!("{p}%")));
    rates.extend(e.above_stable.map(|p| format!("+{p}%")));
    out.kv("error_rate", &array(&rates));
    for (name, l) in [("p50", c.slo.p50), ("p99", c.slo.p99)] {
        let mut bounds = Vec::new();
        bounds.extend(l.max.map(duration::format));
        bounds.extend(l.vs_stable.map(|r| match r {
            Relative::Times(x) => format!("{x}x"),
            Relative::Plus(d) => format!("+{}", duration::format(d)),
        }));
        out.kv(name, &array(&bounds));
    }
}

fn probe(out: &mut Printer, name: &str, p: &Probe) {
    out.header(&format!("run.health.{name}"));
    match &p.action {
        ProbeAction::Http { path, port } => {
            out.kv("path", &quote(path));
            out.kv("port", &port.to_string());
        }
        ProbeAction::Tcp { port } => {
            out.kv("tcp", "true");
            out.kv("port", &port.to_string());
        }
        ProbeAction::Exec { command } => out.kv("exec", &array(command)),
    }
    let secs = |d: Duration| quote(&duration::format(d));
    out.kv("initial_delay", &secs(p.initial_delay));
    out.kv("period", &secs(p.period));
    out.kv("timeout", &secs(p.timeout));
    out.kv("success_threshold", &p.success_threshold.to_string());
    out.kv("failure_threshold", &p.failure_threshold.to_string());
}

fn tag_name(t: TagPolicy) -> &'static str {
    match t {
        TagPolicy::Latest => "latest",
        TagPolicy::Sha => "sha",
        TagPolicy::Semver => "semver",
    }
}

fn int_or_percent(v: IntOrPercent) -> String {
    match v {
        IntOrPercent::Int(n) => n.to_string(),
        IntOrPercent::Percent(p) => quote(&format!("{p}%")),
    }
}

/// Builds the output text line by line.
#[derive(Default)]
struct Printer {
    text: String,
}

impl Printer {
    fn line(&mut self, s: &str) {
        self.text.push_str(s);
        self.text.push('\n');
    }

    fn header(&mut self, name: &str) {
        let _ = write!(self.text, "\n[{name}]\n");
    }

    fn kv(&mut self, k: &str, v: &str) {
        let _ = writeln!(self.text, "{} = {v}", key(k));
    }

    /// `k = "v"`, or a comment saying what an unset value means.
    fn opt(&mut self, k: &str, v: Option<&str>, unset: &str) {
        match v {
            Some(v) => self.kv(k, &quote(v)),
            None => self.line(&format!("# {k} is not set: {unset}")),
        }
    }

    /// A string table as its own `[section]`, or `section = {}` inline in the current table
    /// when empty (the section's parent must be the current table).
    fn map_table(&mut self, section: &str, map: &BTreeMap<String, String>) {
        if map.is_empty() {
            let last = section.rsplit('.').next().unwrap_or(section);
            if section.contains('.') {
                self.kv(last, "{}");
            } else {
                self.header(section);
            }
            return;
        }
        self.header(section);
        for (k, v) in map {
            self.kv(k, &quote(v));
        }
    }
}

/// A TOML key: bare when it can be, quoted otherwise.
fn key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if bare { k.to_owned() } else { quote(k) }
}

/// `[hosts]`'s listeners and certificate keys (the key file's path only, never its content).
fn hosts_public(out: &mut Printer, p: &hoist_core::HostsPublic) {
    out.opt("http", p.http.as_deref(), "the agent's own, 127.0.0.1:8080");
    let Some(https) = &p.https else {
        out.line("# https is not set: each host serves plain HTTP only");
        return;
    };
    out.kv("https", &quote(&https.listen));
    match &https.tls {
        hoist_core::HostsTls::Files { cert, key } => {
            out.kv("tls_cert", &quote(cert));
            out.kv("tls_key", &quote(key));
        }
        hoist_core::HostsTls::Acme {
            domains,
            directory,
            email,
            ca,
        } => {
            out.kv("domains", &array(domains));
            out.opt(
                "acme_directory",
                directory.as_deref(),
                "Let's Encrypt's production CA",
            );
            out.opt("acme_email", email.as_deref(), "no contact address");
            out.opt("acme_ca", ca.as_deref(), "the system's roots");
        }
    }
}

/// A TOML array of strings on one line.
fn array<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<String> = items.iter().map(|s| quote(s.as_ref())).collect();
    format!("[{}]", items.join(", "))
}

/// A TOML basic string.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_toml_needs_quoted() {
        assert_eq!(quote("a\"b\\c\nd\u{7f}"), "\"a\\\"b\\\\c\\nd\\u007F\"");
        assert_eq!(key("LOG_LEVEL"), "LOG_LEVEL");
        assert_eq!(key("app.properties"), "\"app.properties\"");
        assert_eq!(key(""), "\"\"");
    }
}
