//! `[verify.prometheus]`: the server a canary's figures are queried from (Kubernetes) and the
//! PromQL templates. Like `[verify.chaos]` it belongs to a canary, so it needs
//! `run.rollout.strategy = "canary"`. A template must name `{revision}` (without it the canary
//! and the stable revision would get the same figures, and every verdict would be a pass), and
//! may use only the placeholders hoist fills; an error points at the placeholder itself.

use hoist_core::promql::{self, PLACEHOLDERS};
use hoist_core::{Prometheus, Strategy};

use super::Result;
use crate::field::Field;
use crate::partial::PrometheusPart;

/// Puts the Prometheus source of `p` on the canary of `strategy`.
pub(super) fn prometheus(p: &PrometheusPart, strategy: &mut Strategy) -> Result<()> {
    let Strategy::Canary(canary) = strategy else {
        return Err(p.at.invalid(
            "`[verify.prometheus]` is where a canary's figures come from: set `run.rollout.strategy = \"canary\"`, or remove the table",
        ));
    };
    let url = p.url.as_ref().ok_or_else(|| {
        p.at.invalid("`url` is missing: the Prometheus server, e.g. `url = \"http://prometheus.monitoring:9090\"`")
    })?;
    check_url(url)?;
    let defaults = Prometheus::with_defaults(&url.value);
    canary.prometheus = Some(Prometheus {
        url: url.value.trim_end_matches('/').to_owned(),
        requests: template(p.requests.as_ref(), defaults.requests)?,
        errors: template(p.errors.as_ref(), defaults.errors)?,
        latency: template(p.latency.as_ref(), defaults.latency)?,
    });
    Ok(())
}

fn check_url(url: &Field<String>) -> Result<()> {
    let rest = url
        .value
        .strip_prefix("http://")
        .or_else(|| url.value.strip_prefix("https://"))
        .ok_or_else(|| {
            url.invalid(format!(
                "must be an http:// or https:// URL, found \"{}\"",
                url.value
            ))
        })?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(url.invalid(format!("`{}` names no host", url.value)));
    }
    if host.contains('@') {
        return Err(url.invalid(
            "credentials in the URL would be printed in every error: use a URL without `user:password@`",
        ));
    }
    Ok(())
}

fn template(given: Option<&Field<String>>, default: String) -> Result<String> {
    let Some(t) = given else {
        return Ok(default);
    };
    let found = promql::placeholders(&t.value);
    if let Some(p) = found.iter().find(|p| !PLACEHOLDERS.contains(&p.name)) {
        let known = PLACEHOLDERS
            .iter()
            .map(|n| format!("`{{{n}}}`"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(inside(t, p.start, p.name.len() + 2).invalid(format!(
            "unknown placeholder `{{{}}}`: a template may use {known}",
            p.name
        )));
    }
    if !found.iter().any(|p| p.name == "revision") {
        return Err(t.invalid(
            "the template has no `{revision}` placeholder: without it the canary and the stable revision get the same figures; select the series by revision, e.g. `revision=\"{revision}\"`",
        ));
    }
    if t.value.trim().is_empty() {
        return Err(t.invalid("a template cannot be empty"));
    }
    Ok(t.value.clone())
}

/// The location of `len` bytes at `offset` inside the string value `t`, when the line shows
/// the value as written (a basic or literal string on one line); else the whole value.
fn inside(t: &Field<String>, offset: usize, len: usize) -> Field<()> {
    let mut at = t.with(());
    let line = &at.at.line_text;
    let value_start: usize = line
        .char_indices()
        .nth(at.at.column.saturating_sub(1))
        .map_or(line.len(), |(i, _)| i);
    let opened = line[value_start..].strip_prefix(['"', '\'']);
    if let Some(rest) = opened
        && rest.get(..offset) == t.value.get(..offset)
        && rest.get(offset..offset + len) == t.value.get(offset..offset + len)
    {
        at.at.column += 1 + t.value[..offset].chars().count();
        at.at.width = len;
    }
    at
}
