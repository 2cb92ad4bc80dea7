//! `run.health`: the shared probe keys, per-probe overrides, and Kubernetes' probe rules.

use std::time::Duration;

use hoist_core::{Health, Probe, ProbeAction};

use crate::error::ConfigError;
use crate::field::Field;
use crate::merge::Merge;
use crate::partial::{HealthPart, ProbePart};

use super::numbers::{MAX_COUNT, count, seconds_or};
use super::run::http_path;
use super::{check, port};

type Result<T> = std::result::Result<T, ConfigError>;

/// What a probe table may say to check, for messages.
const ACTIONS: &str = "`path = \"/healthz\"` (HTTP), `tcp = true` or `exec = [\"cmd\", …]`";

/// Which probe is being built: liveness and startup must have `success_threshold = 1`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Readiness,
    Liveness,
    Startup,
}

/// Without a configured readiness probe a replica is ready once it accepts TCP on its port —
/// on every target (the local agent and Kubernetes' `tcpSocket`), so "ready" means the same
/// everywhere and a service that only listens, as most do, gets traffic as soon as it can take it.
pub(crate) fn default_readiness(app_port: u16) -> Probe {
    Probe {
        action: ProbeAction::Tcp { port: app_port },
        initial_delay: Duration::ZERO,
        period: Duration::from_secs(10),
        timeout: Duration::from_secs(1),
        success_threshold: 1,
        failure_threshold: 3,
    }
}

pub(super) fn health(h: Option<HealthPart>, app_port: u16) -> Result<Health> {
    let Some(h) = h else {
        return Ok(Health {
            readiness: Some(default_readiness(app_port)),
            liveness: None,
            startup: None,
        });
    };
    let any_override = h.readiness.is_some() || h.liveness.is_some() || h.startup.is_some();
    if !h.common.has_action() && !any_override {
        return Err(h
            .common
            .at
            .invalid(format!("says nothing to check; add one of {ACTIONS}")));
    }
    let build = |over: Option<ProbePart>, kind, implied: bool| -> Result<Option<Probe>> {
        match over {
            Some(over) => probe(&h.common.clone().merge(over), kind, app_port).map(Some),
            None if implied && h.common.has_action() => probe(&h.common, kind, app_port).map(Some),
            None => Ok(None),
        }
    };
    Ok(Health {
        readiness: Some(
            build(h.readiness.clone(), Kind::Readiness, true)?
                .unwrap_or_else(|| default_readiness(app_port)),
        ),
        liveness: build(h.liveness.clone(), Kind::Liveness, true)?,
        startup: build(h.startup.clone(), Kind::Startup, false)?,
    })
}

fn probe(p: &ProbePart, kind: Kind, app_port: u16) -> Result<Probe> {
    let success_threshold = p
        .success_threshold
        .as_ref()
        .map_or(Ok(1), |f| count(f, 1, MAX_COUNT))?;
    if success_threshold != 1 && kind != Kind::Readiness {
        let f = p
            .success_threshold
            .as_ref()
            .expect("only a given threshold differs from 1");
        let which = if kind == Kind::Liveness {
            "liveness"
        } else {
            "startup"
        };
        return Err(f.invalid(format!(
            "must be 1 for the {which} probe (a Kubernetes rule), found {success_threshold}; set it only in `run.health.readiness`"
        )));
    }
    Ok(Probe {
        action: action(p, app_port)?,
        initial_delay: seconds_or(p.initial_delay.as_ref(), 0, Duration::ZERO)?,
        period: seconds_or(p.period.as_ref(), 1, Duration::from_secs(10))?,
        timeout: seconds_or(p.timeout.as_ref(), 1, Duration::from_secs(1))?,
        success_threshold,
        failure_threshold: p
            .failure_threshold
            .as_ref()
            .map_or(Ok(3), |f| count(f, 1, MAX_COUNT))?,
    })
}

fn action(p: &ProbePart, app_port: u16) -> Result<ProbeAction> {
    let given: Vec<Field<&str>> = [
        p.path.as_ref().map(|f| f.with("path")),
        p.tcp.as_ref().map(|f| f.with("tcp")),
        p.exec.as_ref().map(|f| f.with("exec")),
    ]
    .into_iter()
    .flatten()
    .collect();
    match given.as_slice() {
        [] => {
            return Err(p
                .at
                .invalid(format!("says nothing to check; add one of {ACTIONS}")));
        }
        [first, second, ..] => {
            return Err(second.invalid(format!(
                "a probe makes one check, found both `{}` and `{}`; keep one of `path`, `tcp` or `exec`",
                first.value, second.value
            )));
        }
        [_] => {}
    }
    let port = p.port.as_ref().map_or(Ok(app_port), port)?;
    if let Some(given) = p
        .port
        .as_ref()
        .filter(|_| port != app_port && p.exec.is_none())
    {
        return Err(given.invalid(format!(
            "port {port} is not exposed: the container exposes only `app.port` ({app_port}), so the probe would always fail; probe the app's port (remove `port`)"
        )));
    }
    if let Some(path) = &p.path {
        check(path, http_path)?;
        return Ok(ProbeAction::Http {
            path: path.value.clone(),
            port,
        });
    }
    if let Some(tcp) = &p.tcp {
        if !tcp.value {
            return Err(tcp.invalid(format!(
                "`tcp = false` checks nothing; write `tcp = true` or use one of {ACTIONS}"
            )));
        }
        return Ok(ProbeAction::Tcp { port });
    }
    let exec = p.exec.as_ref().expect("one action is given");
    if let Some(port) = &p.port {
        return Err(port.invalid("an exec probe runs a command and has no port; remove `port`"));
    }
    if exec.value.first().is_none_or(|c| c.value.is_empty()) {
        return Err(exec.invalid("must name a command to run, like [\"/app\", \"-check\"]"));
    }
    Ok(ProbeAction::Exec {
        command: exec.value.iter().map(|c| c.value.clone()).collect(),
    })
}
