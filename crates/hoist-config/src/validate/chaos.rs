//! `[verify.chaos]`: faults injected into a canary during one of its steps. Only a canary has
//! steps, so the table needs `run.rollout.strategy = "canary"`; the step must be one that is
//! analysed (not the final 100%, which is the promotion).

use hoist_core::{ChaosStep, Strategy};

use super::Result;
use super::numbers::count;
use crate::field::Field;
use crate::partial::ChaosPart;

/// Puts the faults of `p` on the canary of `strategy`.
pub(super) fn chaos_step(p: &ChaosPart, strategy: &mut Strategy) -> Result<()> {
    let Strategy::Canary(canary) = strategy else {
        return Err(p.at.invalid(
            "`[verify.chaos]` injects faults into a canary's step: set `run.rollout.strategy = \"canary\"`, or remove the table",
        ));
    };
    let analysed = u32::try_from(canary.steps.len().saturating_sub(1))
        .unwrap_or(1)
        .max(1);
    let step = p.step.as_ref().map_or(Ok(1), |f| count(f, 1, analysed))?;
    let (abort_percent, abort_status) = match &p.abort {
        None => (0, None),
        Some(f) => abort(f)?,
    };
    let reset_percent = p
        .reset
        .as_ref()
        .map_or(Ok(0), |f| percent(f, &f.value, 100))?;
    if u16::from(abort_percent) + u16::from(reset_percent) > 100 {
        let at = p
            .reset
            .as_ref()
            .or(p.abort.as_ref())
            .map_or_else(|| p.at.clone(), |f| f.with(()));
        return Err(at.invalid("`abort` and `reset` share the requests: together at most 100%"));
    }
    let chaos = ChaosStep {
        step: u8::try_from(step).unwrap_or(u8::MAX),
        kill: p.kill.as_ref().is_some_and(|k| k.value),
        latency: p.latency.as_ref().map(|l| l.value),
        abort_percent,
        abort_status,
        reset_percent,
        cpu_percent: p.cpu.as_ref().map_or(Ok(0), |f| percent(f, &f.value, 95))?,
    };
    if !chaos.kill
        && chaos.latency.is_none()
        && chaos.abort_percent == 0
        && chaos.reset_percent == 0
        && chaos.cpu_percent == 0
    {
        return Err(p.at.invalid(
            "no fault given: set one or more of `kill = true`, `latency = \"200ms\"`, `abort = \"10%\"`, `reset = \"5%\"`, `cpu = \"50%\"`",
        ));
    }
    canary.chaos = Some(chaos);
    Ok(())
}

/// `"10%"` or `"10%:500"`.
fn abort(f: &Field<String>) -> Result<(u8, Option<u16>)> {
    let (share, status) = f
        .value
        .split_once(':')
        .map_or((f.value.as_str(), None), |(p, s)| (p, Some(s)));
    let status = status
        .map(|s| {
            s.parse::<u16>()
                .ok()
                .filter(|c| (400..600).contains(c))
                .ok_or_else(|| f.invalid(format!("`{s}` is not an HTTP error status (400 to 599)")))
        })
        .transpose()?;
    Ok((percent(f, share, 100)?, status))
}

/// `"P%"`, P from 1 to `max`.
fn percent<T>(f: &Field<T>, text: &str, max: u8) -> Result<u8> {
    text.strip_suffix('%')
        .and_then(|n| n.trim().parse::<u8>().ok())
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            f.invalid(format!(
                "must be a share like \"10%\" (1% to {max}%), found \"{text}\""
            ))
        })
}
