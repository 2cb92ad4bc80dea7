//! `[verify.prometheus]`: where a canary's figures come from when the proxy's own counters are
//! not there (Kubernetes), as PromQL templates with `{app}`, `{revision}`, `{window}` and
//! `{namespace}` placeholders.
//!
//! A placeholder is `{` + a name + `}`, with nothing else between the braces, so PromQL's own
//! braces (`metric{app="x"}`, `{}`) never read as one. Checking (here, so `hoist-config` can
//! report a bad template with its line and column) and expansion (the Prometheus source) share
//! one scanner, so a template that validates expands the same way.

use serde::{Deserialize, Serialize};

/// The placeholders a template may use, as written without braces.
pub const PLACEHOLDERS: &[&str] = &["app", "revision", "window", "namespace"];

/// `[verify.prometheus]`, validated: the server and the three queries a canary step needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prometheus {
    /// The server's base URL (`http://` or `https://`; TLS certificates are verified).
    pub url: String,
    /// Requests one revision received over `{window}`: one number.
    pub requests: String,
    /// Of those, the ones that failed (5xx, or no answer) over `{window}`: one number. No
    /// series means none failed (a counter by status code has no 5xx series until a 5xx).
    pub errors: String,
    /// The revision's latency histogram over `{window}`: one series per `le` bucket
    /// (cumulative counts, bounds in seconds), as `sum by (le) (increase(…_bucket[…]))` gives.
    pub latency: String,
}

impl Prometheus {
    /// `requests` when hoist.toml does not set it: what hoist's own proxy exports (answered
    /// requests plus attempts that got no answer, which the agent counts as requests too).
    pub const DEFAULT_REQUESTS: &str = concat!(
        r#"sum(increase(hoist_proxy_requests_total{app="{app}",revision="{revision}"}[{window}]))"#,
        r#" + (sum(increase(hoist_proxy_failed_attempts_total{app="{app}",revision="{revision}"}[{window}])) or vector(0))"#
    );
    /// `errors` when hoist.toml does not set it: 5xx answers plus attempts without an answer,
    /// the agent's own definition of an error.
    pub const DEFAULT_ERRORS: &str = concat!(
        r#"(sum(increase(hoist_proxy_requests_total{app="{app}",revision="{revision}",code=~"5.."}[{window}])) or vector(0))"#,
        r#" + (sum(increase(hoist_proxy_failed_attempts_total{app="{app}",revision="{revision}"}[{window}])) or vector(0))"#
    );
    /// `latency` when hoist.toml does not set it: the proxy's time-to-response-head histogram.
    pub const DEFAULT_LATENCY: &str = r#"sum by (le) (increase(hoist_proxy_request_duration_seconds_bucket{app="{app}",revision="{revision}"}[{window}]))"#;

    /// The defaults for a server at `url`.
    #[must_use]
    pub fn with_defaults(url: &str) -> Self {
        Prometheus {
            url: url.to_owned(),
            requests: Self::DEFAULT_REQUESTS.to_owned(),
            errors: Self::DEFAULT_ERRORS.to_owned(),
            latency: Self::DEFAULT_LATENCY.to_owned(),
        }
    }
}

/// One placeholder found in a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder<'t> {
    /// Its name, without braces.
    pub name: &'t str,
    /// Byte offset of its `{` in the template.
    pub start: usize,
}

/// Every `{name}` in `template`, in order (known or not: the caller decides).
#[must_use]
pub fn placeholders(template: &str) -> Vec<Placeholder<'_>> {
    let bytes = template.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{' {
            let name_len = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            let end = i + 1 + name_len;
            if name_len > 0 && bytes.get(end) == Some(&b'}') && !bytes[i + 1].is_ascii_digit() {
                out.push(Placeholder {
                    name: &template[i + 1..end],
                    start: i,
                });
                i = end + 1;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// The values a template's placeholders take for one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Values<'v> {
    /// `{app}`: `app.name`.
    pub app: &'v str,
    /// `{revision}`: the revision the figures are about.
    pub revision: &'v str,
    /// `{window}`: a PromQL duration, e.g. `30s`.
    pub window: &'v str,
    /// `{namespace}`: the Kubernetes namespace (empty off Kubernetes).
    pub namespace: &'v str,
}

/// `template` with its placeholders replaced; an unknown one is left as written (validation
/// refuses those before a template gets here).
#[must_use]
pub fn expand(template: &str, values: &Values<'_>) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut from = 0;
    for p in placeholders(template) {
        let value = match p.name {
            "app" => values.app,
            "revision" => values.revision,
            "window" => values.window,
            "namespace" => values.namespace,
            _ => continue,
        };
        out.push_str(&template[from..p.start]);
        out.push_str(value);
        from = p.start + p.name.len() + 2;
    }
    out.push_str(&template[from..]);
    out
}

/// A window as a PromQL duration: whole seconds, rounded up, at least one.
#[must_use]
pub fn window(d: std::time::Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    format!("{}s", secs.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promql_braces_are_not_placeholders() {
        let t = r#"sum(rate(x{app="{app}",revision="{revision}"}[{window}])) + y{} + z{ a="1"}"#;
        let names: Vec<_> = placeholders(t).iter().map(|p| p.name).collect();
        assert_eq!(names, ["app", "revision", "window"]);
        assert_eq!(placeholders("{revison} {1} {a-b}")[0].name, "revison");
        assert_eq!(placeholders("{revison} {1} {a-b}").len(), 1);
    }

    #[test]
    fn expansion_fills_every_known_placeholder() {
        let v = Values {
            app: "hello",
            revision: "7",
            window: "30s",
            namespace: "prod",
        };
        assert_eq!(
            expand(
                r#"sum(increase(r{app="{app}",ns="{namespace}",revision="{revision}"}[{window}]))"#,
                &v
            ),
            r#"sum(increase(r{app="hello",ns="prod",revision="7"}[30s]))"#
        );
        assert_eq!(expand("x{other}", &v), "x{other}");
        let d = Prometheus::with_defaults("http://p:9090");
        for t in [&d.requests, &d.errors, &d.latency] {
            let e = expand(t, &v);
            assert!(!e.contains("{app}") && !e.contains("{revision}") && !e.contains("{window}"));
            assert!(e.contains(r#"revision="7""#), "{e}");
        }
    }

    #[test]
    fn windows_are_whole_seconds_rounded_up() {
        use std::time::Duration;
        assert_eq!(window(Duration::from_millis(10)), "1s");
        assert_eq!(window(Duration::from_millis(2001)), "3s");
        assert_eq!(window(Duration::from_secs(90)), "90s");
    }
}
