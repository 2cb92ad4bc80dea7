//! `run.rollout.strategy` and the canary's keys: steps, analysis timing, stickiness and SLOs.
//!
//! SLO bounds are strings whose form says what they mean, so one key holds an absolute bound,
//! a bound relative to the stable revision, or both (`p99 = ["300ms", "1.5x"]`):
//!
//! | key | absolute | relative to the stable revision |
//! |---|---|---|
//! | `error_rate` | `"1%"` | `"+0.5%"` (percentage points above) |
//! | `p50`, `p99` | `"300ms"` | `"1.5x"` (times), `"+50ms"` (above) |

use std::time::Duration;

use hoist_core::{
    Canary, ErrorRateSlo, LatencySlo, Rate, Relative, Slo, Sticky, Strategy, SyntheticTraffic,
};

use crate::duration;
use crate::error::ConfigError;
use crate::field::Field;
use crate::partial::{RolloutPart, SloPart, StickyPart, SyntheticPart};

use super::numbers::{MAX_COUNT, count, seconds};

type Result<T> = std::result::Result<T, ConfigError>;

/// The strategy `run.rollout` asks for; canary keys without `strategy = "canary"` are refused
/// rather than ignored, so a typo in `strategy` never turns a canary into a rolling update.
pub(super) fn strategy(p: &RolloutPart) -> Result<Strategy> {
    match p.strategy.as_ref().map(|s| (s, s.value.as_str())) {
        None | Some((_, "rolling")) => {
            if let Some(key) = p.canary_keys().first() {
                return Err(key.invalid(
                    "applies to a canary, and this rollout is rolling; add `strategy = \"canary\"` to `run.rollout`, or remove it",
                ));
            }
            Ok(Strategy::Rolling)
        }
        Some((_, "canary")) => canary(p).map(Strategy::Canary),
        Some((f, other)) => Err(f.invalid(format!(
            "expected \"rolling\" (replace replicas as soon as the new ones are ready) or \"canary\" (shift traffic step by step while the new revision holds its SLOs), found \"{other}\""
        ))),
    }
}

fn canary(p: &RolloutPart) -> Result<Canary> {
    let interval = p
        .interval
        .as_ref()
        .map_or(Ok(Canary::DEFAULT_INTERVAL), |f| seconds(f, 1))?;
    let max_wait = match &p.max_wait {
        None => Canary::DEFAULT_MAX_WAIT.max(interval),
        Some(f) => {
            let wait = seconds(f, 1)?;
            if wait < interval {
                return Err(f.invalid(format!(
                    "must be at least `interval` (\"{}\"): a step needs one interval to reach a verdict",
                    duration::format(interval)
                )));
            }
            wait
        }
    };
    Ok(Canary {
        steps: steps(p.steps.as_ref())?,
        interval,
        min_sample: p
            .min_sample
            .as_ref()
            .map_or(Ok(Canary::DEFAULT_MIN_SAMPLE), |f| {
                count(f, 1, MAX_COUNT).map(u64::from)
            })?,
        max_wait,
        sticky: p.sticky.as_ref().map(sticky).transpose()?,
        slo: p
            .slo
            .as_ref()
            .map_or_else(|| Ok(Slo::default_for_canary()), slo)?,
        // `[verify.chaos]`, set by `chaos_step` once the whole file is read.
        chaos: None,
        prometheus: None,
        synthetic: p.synthetic.as_ref().map(synthetic).transpose()?,
    })
}

/// The most synthetic requests a second one revision gets: they earn a sample, they are not a
/// load test, and the agent sends them from its own process.
const MAX_RATE_PER_SECOND: u32 = 1000;

fn synthetic(p: &SyntheticPart) -> Result<SyntheticTraffic> {
    let Some(paths) = &p.paths else {
        return Err(ConfigError::Missing {
            location: Box::new(p.at.at.clone()),
            key: format!("{}.paths", p.at.key),
            hint: "say what the agent requests: `synthetic = { paths = [\"/\", \"/healthz\"], rate = \"10/s\" }`".to_owned(),
        });
    };
    if paths.value.is_empty() {
        return Err(paths.invalid(
            "needs at least one path to request, like `paths = [\"/\"]`; remove `synthetic` to send none",
        ));
    }
    for path in &paths.value {
        request_path(path)?;
    }
    Ok(SyntheticTraffic {
        paths: paths.value.iter().map(|f| f.value.clone()).collect(),
        rate: p.rate.as_ref().map_or(Ok(Rate::DEFAULT), rate)?,
    })
}

/// A path the agent can put in a request line as it is: `/`, then visible ASCII without `#`
/// (a query is fine, a fragment never reaches a server).
fn request_path(f: &Field<String>) -> Result<()> {
    let p = &f.value;
    if !p.starts_with('/') || p.starts_with("//") {
        return Err(f.invalid(format!(
            "`{p}` is not a path; write it as the app sees it, starting with one `/`, like \"/\" or \"/healthz\""
        )));
    }
    if let Some(c) = p.chars().find(|c| !c.is_ascii_graphic() || *c == '#') {
        return Err(f.invalid(format!(
            "`{p}` has {c:?}, which a request path cannot hold; percent-encode it (a space is `%20`), and leave out any `#fragment`"
        )));
    }
    Ok(())
}

/// `"10/s"` or `"30/m"`: a whole number of requests, at least 1, per second or minute.
fn rate(f: &Field<String>) -> Result<Rate> {
    let s = f.value.trim();
    let Some((count, unit)) = s.split_once('/') else {
        return Err(f.invalid(format!(
            "`{s}` has no unit; write requests per second or per minute, like \"10/s\" or \"30/m\""
        )));
    };
    let per = match unit {
        "s" => Duration::from_secs(1),
        "m" => Duration::from_mins(1),
        _ => {
            return Err(f.invalid(format!(
                "`{s}` has the unit `/{unit}`; write requests per second or per minute, like \"10/s\" or \"30/m\""
            )));
        }
    };
    let requests: u32 = match count.parse() {
        Ok(0) => {
            return Err(f.invalid(format!(
                "`{s}` sends nothing, so a quiet step would still wait out `max_wait`; give at least 1, like \"10/s\", or remove `synthetic`"
            )));
        }
        Ok(n) if count.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => {
            return Err(f.invalid(format!(
                "`{s}` is not a whole number of requests per second or minute, like \"10/s\" or \"30/m\""
            )));
        }
    };
    let rate = Rate { requests, per };
    if rate.period() < Duration::from_secs(1) / MAX_RATE_PER_SECOND {
        return Err(f.invalid(format!(
            "`{s}` is more than {MAX_RATE_PER_SECOND}/s: synthetic requests earn a canary its sample, they are not a load test"
        )));
    }
    Ok(rate)
}

/// Percentages, each 1–100, strictly increasing, at least one below 100; 100 is added when the
/// list does not end there.
fn steps(f: Option<&Field<Vec<Field<i64>>>>) -> Result<Vec<u8>> {
    let Some(f) = f else {
        return Ok(Canary::DEFAULT_STEPS.to_vec());
    };
    if f.value.is_empty() {
        return Err(f.invalid(
            "needs at least one step, a percentage of the traffic like `steps = [5, 25, 50]` (100 is implied at the end)",
        ));
    }
    let mut out: Vec<u8> = Vec::with_capacity(f.value.len() + 1);
    for step in &f.value {
        let percent = u8::try_from(step.value)
            .ok()
            .filter(|p| (1..=100).contains(p))
            .ok_or_else(|| {
                step.invalid(format!(
                    "must be a share of the traffic from 1 to 100 (percent), found {}",
                    step.value
                ))
            })?;
        if let Some(&before) = out.last()
            && percent <= before
        {
            return Err(step.invalid(format!(
                "must be more than the step before it ({before}): each step gives the canary a larger share, found {percent}"
            )));
        }
        out.push(percent);
    }
    if out == [100] {
        return Err(f.invalid(
            "needs a step below 100: the canary is analysed at each step below 100% and promoted on reaching 100%, so `[100]` would promote it unjudged; use a rolling update for that, or steps like `[10, 50]`",
        ));
    }
    if out.last() != Some(&100) {
        out.push(100);
    }
    Ok(out)
}

fn sticky(p: &StickyPart) -> Result<Sticky> {
    match (&p.cookie, &p.header) {
        (Some(_), Some(h)) => Err(h.invalid(
            "is given with `cookie`; a client is kept on one revision by one of them, so give `cookie` or `header`",
        )),
        (Some(c), None) => token(c).map(|()| Sticky::Cookie(c.value.clone())),
        (None, Some(h)) => token(h).map(|()| Sticky::Header(h.value.to_ascii_lowercase())),
        (None, None) => Err(ConfigError::Missing {
            location: Box::new(p.at.at.clone()),
            key: format!("{}.cookie", p.at.key),
            hint: "say what keeps a client on one revision: `sticky = { cookie = \"session\" }` or `sticky = { header = \"X-User-Id\" }`".to_owned(),
        }),
    }
}

/// A cookie or header name: an HTTP token (RFC 9110 §5.6.2).
fn token(f: &Field<String>) -> Result<()> {
    let ok = !f.value.is_empty()
        && f.value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(f.invalid(format!(
            "`{}` is not a cookie or header name; use letters, digits and `-`, like \"X-User-Id\"",
            f.value
        )))
    }
}

fn slo(p: &SloPart) -> Result<Slo> {
    let defaults = Slo::default_for_canary();
    let slo = Slo {
        error_rate: p
            .error_rate
            .as_ref()
            .map_or(Ok(defaults.error_rate), error_rate)?,
        p50: latency_or(p.p50.as_ref(), defaults.p50)?,
        p99: latency_or(p.p99.as_ref(), defaults.p99)?,
    };
    if slo.error_rate.is_empty() && slo.p50.is_empty() && slo.p99.is_empty() {
        return Err(p.at.invalid(
            "switches every SLO off, so a canary would be promoted on traffic alone; keep at least one bound, like `error_rate = \"+1%\"`",
        ));
    }
    Ok(slo)
}

fn error_rate(f: &Field<Vec<Field<String>>>) -> Result<ErrorRateSlo> {
    let mut out = ErrorRateSlo::default();
    for bound in &f.value {
        let s = bound.value.trim();
        let (relative, rest) = match s.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        if rest.ends_with('x') {
            return Err(bound.invalid(format!(
                "`{s}` is a ratio, which bounds latency; bound the error rate by a percentage, like \"1%\" (of all requests) or \"+0.5%\" (percentage points above the stable revision)"
            )));
        }
        let Some(number) = rest.strip_suffix('%') else {
            return Err(bound.invalid(format!(
                "`{s}` has no unit; write a percentage, like \"1%\" (at most 1% of requests fail) or \"+0.5%\" (at most 0.5 percentage points above the stable revision)"
            )));
        };
        let percent = decimal(number).filter(|p| *p <= 100.0).ok_or_else(|| {
            bound.invalid(format!(
                "`{s}` is not a percentage from 0% to 100%, like \"1%\" or \"+0.5%\""
            ))
        })?;
        let slot = if relative {
            &mut out.above_stable
        } else {
            &mut out.max
        };
        once(slot, percent, bound, relative)?;
    }
    Ok(out)
}

fn latency_or(f: Option<&Field<Vec<Field<String>>>>, default: LatencySlo) -> Result<LatencySlo> {
    let Some(f) = f else {
        return Ok(default);
    };
    let mut out = LatencySlo::default();
    for bound in &f.value {
        let s = bound.value.trim();
        if let Some(rest) = s.strip_prefix('+') {
            let d = latency(bound, rest)?;
            once(&mut out.vs_stable, Relative::Plus(d), bound, true)?;
        } else if let Some(ratio) = s.strip_suffix('x') {
            let r = decimal(ratio).filter(|r| *r >= 1.0).ok_or_else(|| {
                bound.invalid(format!(
                    "`{s}` is not a ratio of at least 1, like \"1.5x\" (at most 1.5 times the stable revision's)"
                ))
            })?;
            once(&mut out.vs_stable, Relative::Times(r), bound, true)?;
        } else {
            let d = latency(bound, s)?;
            once(&mut out.max, d, bound, false)?;
        }
    }
    Ok(out)
}

fn latency(bound: &Field<String>, s: &str) -> Result<Duration> {
    if decimal(s).is_some() {
        return Err(bound.invalid(format!(
            "`{}` has no unit; write an absolute bound like \"300ms\", or one relative to the stable revision like \"1.5x\" or \"+50ms\"",
            bound.value.trim()
        )));
    }
    match duration::parse(s) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(bound.invalid(format!(
            "`{}` is not a latency bound; write an absolute bound like \"300ms\", or one relative to the stable revision like \"1.5x\" or \"+50ms\"",
            bound.value.trim()
        ))),
    }
}

/// Fills `slot`, refusing a second bound of the same kind.
fn once<T>(slot: &mut Option<T>, value: T, at: &Field<String>, relative: bool) -> Result<()> {
    if slot.is_some() {
        let kind = if relative { "relative" } else { "absolute" };
        return Err(at.invalid(format!(
            "is a second {kind} bound; give at most one absolute and one relative bound, like [\"300ms\", \"1.5x\"]"
        )));
    }
    *slot = Some(value);
    Ok(())
}

/// A plain decimal number, `1`, `0.5`, `12.25` (no sign, exponent or `inf`).
fn decimal(s: &str) -> Option<f64> {
    let mut parts = s.splitn(2, '.');
    let whole = parts.next()?;
    let frac = parts.next();
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    s.parse().ok()
}

/// The keys a single-writer `run.state` forbids: a canary runs two revisions at once.
pub(super) fn refuse_with_one_writer(p: &RolloutPart) -> Result<()> {
    if let Some(f) = p.strategy.as_ref().filter(|s| s.value == "canary") {
        return Err(f.invalid(
            "runs the new revision beside the stable one, and `run.state` has one writer; use `writers = \"many\"` if the app coordinates its writers, or a rolling update",
        ));
    }
    Ok(())
}
