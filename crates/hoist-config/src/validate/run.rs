//! `[run]`: replicas, env, rollout, resources, autoscale, ingress, grace period.

use std::time::Duration;

use hoist_core::{Autoscale, Driver, Ingress, IntOrPercent, Resources, Rollout, RunSection};

use crate::error::ConfigError;
use crate::field::Field;
use crate::names;
use crate::partial::{AutoscalePart, IngressPart, ResourcesPart, RolloutPart, RunPart};
use crate::quantity;

use super::numbers::{MAX_COUNT, count, seconds_or};
use super::{check, health, string_map};

type Result<T> = std::result::Result<T, ConfigError>;

pub(super) fn run_section(p: RunPart, app_port: u16) -> Result<RunSection> {
    let replicas = p
        .replicas
        .as_ref()
        .map_or(Ok(1), |r| count(r, 0, MAX_COUNT))?;
    let autoscale = p.autoscale.as_ref().map(autoscale).transpose()?;
    if let Some(a) = &p.autoscale {
        needs_cpu_request(a, &p.resources)?;
    }
    let scale = autoscale.as_ref().map_or(replicas, |a| a.min);
    let state = p.state.as_ref().map(super::state::state).transpose()?;
    if let Some(s) = &state {
        super::state::single_writer_rules(s, &p)?;
    }
    if let Some(port) = p.env.get("PORT") {
        return Err(port.key.invalid(format!(
            "`PORT` is set by hoist from `app.port` ({app_port}) for every replica (the local agent gives each process its own), so a value here would be overridden locally and disagree with the container port and probes on Kubernetes; set `app.port` instead"
        )));
    }
    Ok(RunSection {
        replicas,
        driver: p.driver.as_ref().map_or(Ok(Driver::Process), driver)?,
        env: string_map(p.env, names::env_var)?,
        health: health::health(p.health, app_port)?,
        rollout: match &state {
            Some(s) if s.writers == hoist_core::Writers::One => super::state::rollout(
                s,
                &p.rollout,
                seconds_or(p.rollout.deadline.as_ref(), 1, Duration::from_mins(1))?,
            )?,
            _ => rollout(&p.rollout, scale)?,
        },
        resources: resources(p.resources)?,
        autoscale,
        ingress: p.ingress.map(ingress).transpose()?,
        termination_grace: seconds_or(p.termination_grace.as_ref(), 0, Duration::from_secs(30))?,
        state,
    })
}

fn driver(f: &Field<String>) -> Result<Driver> {
    match f.value.as_str() {
        "process" => Ok(Driver::Process),
        "container" => Ok(Driver::Container),
        other => Err(f.invalid(format!(
            "expected \"process\" (run the binary, told its port in $PORT) or \"container\" (run the image in dockerd or podman), found \"{other}\""
        ))),
    }
}

fn rollout(p: &RolloutPart, replicas: u32) -> Result<Rollout> {
    let max_surge = p
        .max_surge
        .as_ref()
        .map_or(IntOrPercent::Int(1), |f| f.value);
    let max_unavailable = p
        .max_unavailable
        .as_ref()
        .map_or(IntOrPercent::Int(0), |f| f.value);
    let zero = |v: IntOrPercent, round_up| {
        matches!(v, IntOrPercent::Int(0) | IntOrPercent::Percent(0))
            || (replicas > 0 && v.resolve(replicas, round_up) == 0)
    };
    if zero(max_surge, true) && zero(max_unavailable, false) {
        let blame = blame(p.max_unavailable.as_ref(), p.max_surge.as_ref());
        let replicas = match replicas {
            1 => "1 replica".to_owned(),
            n => format!("{n} replicas"),
        };
        return Err(blame.invalid(format!(
            "`max_surge` and `max_unavailable` both come to 0 for {replicas}, so the rollout would never make progress; allow at least one, like `max_surge = 1`"
        )));
    }
    Ok(Rollout {
        max_surge,
        max_unavailable,
        deadline: seconds_or(p.deadline.as_ref(), 1, Duration::from_mins(1))?,
        strategy: super::canary::strategy(p)?,
    })
}

/// The field to point at: the first given of `a`, `b` (one of them is, or there would be no error).
fn blame(a: Option<&Field<IntOrPercent>>, b: Option<&Field<IntOrPercent>>) -> Field<()> {
    a.or(b).expect("defaults never resolve to zero").with(())
}

fn resources(p: ResourcesPart) -> Result<Resources> {
    if let Some(cpu) = &p.cpu {
        quantity::cpu(&cpu.value).map_err(|e| cpu.invalid(e.to_string()))?;
    }
    if let Some(memory) = &p.memory {
        quantity::memory(&memory.value).map_err(|e| memory.invalid(e.to_string()))?;
    }
    Ok(Resources {
        cpu: p.cpu.map(|c| c.value),
        memory: p.memory.map(|m| m.value),
    })
}

/// The autoscaler targets CPU use as a percentage of the CPU request: without a request (or
/// with a zero one) Kubernetes' HPA cannot compute it and never scales.
fn needs_cpu_request(a: &AutoscalePart, r: &ResourcesPart) -> Result<()> {
    match &r.cpu {
        None => Err(a.at.invalid(
            "scales on CPU use as a percentage of `run.resources.cpu`, which is not set; add a CPU request, like `resources = { cpu = \"250m\" }` under `[run]`",
        )),
        Some(cpu) if quantity::is_zero(&cpu.value) => Err(cpu.invalid(
            "must be more than 0 with `run.autoscale`, which scales on CPU use as a percentage of this request",
        )),
        Some(_) => Ok(()),
    }
}

fn autoscale(p: &AutoscalePart) -> Result<Autoscale> {
    let min = p.min.as_ref().map_or(Ok(1), |m| count(m, 1, MAX_COUNT))?;
    let Some(max_field) = &p.max else {
        return Err(ConfigError::Missing {
            location: Box::new(p.at.at.clone()),
            key: format!("{}.max", p.at.key),
            hint: "add the most replicas to scale to, like `max = 10`".to_owned(),
        });
    };
    let max = count(max_field, 1, MAX_COUNT)?;
    if max < min {
        return Err(max_field.invalid(format!("must be at least `min` ({min}), found {max}")));
    }
    Ok(Autoscale {
        min,
        max,
        cpu_percent: p
            .cpu_percent
            .as_ref()
            .map_or(Ok(80), |c| count(c, 1, 100))?,
    })
}

fn ingress(p: IngressPart) -> Result<Ingress> {
    if let Some(host) = &p.host {
        check(host, names::host)?;
    }
    if let Some(path) = &p.path {
        check(path, http_path)?;
    }
    for name in [&p.tls_secret, &p.class].into_iter().flatten() {
        check(name, names::dns_subdomain)?;
    }
    Ok(Ingress {
        host: p.host.map(|h| h.value),
        path: p.path.map_or_else(|| "/".to_owned(), |p| p.value),
        tls_secret: p.tls_secret.map(|t| t.value),
        class: p.class.map(|c| c.value),
    })
}

/// An absolute HTTP path: starts with `/`, no spaces.
pub(super) fn http_path(s: &str) -> std::result::Result<(), String> {
    if s.starts_with('/') && !s.chars().any(char::is_whitespace) {
        Ok(())
    } else {
        Err(format!(
            "`{s}` is not an HTTP path; it must start with `/` and have no spaces, like \"/healthz\""
        ))
    }
}
