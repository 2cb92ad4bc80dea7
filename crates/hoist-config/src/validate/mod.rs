//! Merged [`Partial`] → [`App`]: defaults filled in, every value checked.
//!
//! Each check reports the key and location the value came from, which for an overlay value is
//! a line inside its `[environments.NAME]` table.

mod build;
mod canary;
mod chaos;
mod ci;
mod health;
mod hosts;
mod numbers;
mod prometheus;
mod run;
mod state;

use std::collections::BTreeMap;

use hoist_core::{App, AppSection, Dapr, Kubernetes};

use crate::error::{ConfigError, Location};
use crate::field::{Field, Opt};
use crate::names;
use crate::partial::{AppPart, DaprPart, KubernetesPart, Partial};
use crate::walk::StrMap;

pub(crate) use ci::ci_environments;
pub(crate) use health::default_readiness;
pub(crate) use numbers::port;

type Result<T> = std::result::Result<T, ConfigError>;

/// Validates a merged spec; `start` is the file's first position, for errors about keys that
/// are missing from a file without the table that would hold them.
pub(crate) fn app(p: Partial, environment: Option<String>, start: &Location) -> Result<App> {
    let app = app_section(p.app, start)?;
    let mut run = run::run_section(p.run, app.port)?;
    if let Some(c) = p.verify.as_ref().and_then(|v| v.chaos.as_ref()) {
        chaos::chaos_step(c, &mut run.rollout.strategy)?;
    }
    if let Some(p) = p.verify.as_ref().and_then(|v| v.prometheus.as_ref()) {
        prometheus::prometheus(p, &mut run.rollout.strategy)?;
    }
    Ok(App {
        build: build::build_section(p.build)?,
        image: build::image_section(p.image)?,
        run,
        config: string_map(p.config, names::config_key)?,
        dapr: p.dapr.map(|d| dapr(d, &app.name)).transpose()?.flatten(),
        kubernetes: p.kubernetes.map(kubernetes).transpose()?,
        hosts: p.hosts.map(hosts::hosts).transpose()?,
        ci: p.ci.map(ci::ci).transpose()?,
        app,
        environment,
    })
}

fn app_section(p: AppPart, start: &Location) -> Result<AppSection> {
    let name = p.name.ok_or_else(|| ConfigError::Missing {
        location: Box::new(p.at.unwrap_or_else(|| start.clone())),
        key: "app.name".to_owned(),
        hint: "add `name = \"my-app\"` under `[app]`; it names the binary, the image and every Kubernetes object".to_owned(),
    })?;
    check(&name, names::app_name)?;
    let main = p.main.map_or(Ok(".".to_owned()), |m| {
        check(&m, names::main_package)?;
        Ok(m.value)
    })?;
    Ok(AppSection {
        name: name.value,
        main,
        port: p.port.as_ref().map_or(Ok(8080), port)?,
        args: strings(p.args),
    })
}

/// `[kubernetes]`: contexts are non-empty and listed once; the namespace is a DNS label.
fn kubernetes(p: KubernetesPart) -> Result<Kubernetes> {
    if let Some(contexts) = &p.contexts {
        for c in &contexts.value {
            if c.value.trim().is_empty() {
                return Err(c.invalid("a context name cannot be empty".to_owned()));
            }
        }
        no_duplicates(&contexts.value, |a, b| a == b)?;
    }
    let namespace = p
        .namespace
        .map(|n| check(&n, names::dns_label).map(|()| n.value))
        .transpose()?;
    let history_limit = p
        .history_limit
        .as_ref()
        .map_or(Ok(10), |h| numbers::count(h, 1, 100))?;
    Ok(Kubernetes {
        contexts: strings(p.contexts),
        namespace,
        create_namespace: p.create_namespace.is_some_and(|c| c.value),
        history_limit,
    })
}

/// `[dapr]`: on unless `enabled = false`; the app id defaults to the app name.
fn dapr(p: DaprPart, app_name: &str) -> Result<Option<Dapr>> {
    if p.enabled.as_ref().is_some_and(|e| !e.value) {
        return Ok(None);
    }
    let app_id = match p.app_id {
        Some(id) => {
            check(&id, names::dns_label)?;
            id.value
        }
        None => app_name.to_owned(),
    };
    Ok(Some(Dapr { app_id }))
}

/// The `app.kubernetes.io/instance` label of an environment, `<name>-<environment>`, must be a
/// Kubernetes label value (at most 63 characters); `env` is where the environment is named.
pub(crate) fn instance_label(app: &App, env: &Field<()>) -> Result<()> {
    let Some(name) = &app.environment else {
        return Ok(());
    };
    let instance = format!("{}-{name}", app.app.name);
    if instance.len() > 63 {
        return Err(env.invalid(format!(
            "the label `app.kubernetes.io/instance: {instance}` (app name, `-`, environment) would be {} characters, and Kubernetes label values have at most 63; shorten the environment or the app name",
            instance.len()
        )));
    }
    Ok(())
}

/// Runs a name check on a field, reporting its problem at the field.
pub(crate) fn check(
    f: &Field<String>,
    rule: fn(&str) -> std::result::Result<(), String>,
) -> Result<()> {
    rule(&f.value).map_err(|problem| f.invalid(problem))
}

/// The values of a string array (none: empty).
pub(crate) fn strings(f: Opt<Vec<Field<String>>>) -> Vec<String> {
    f.map(|f| f.value.into_iter().map(|s| s.value).collect())
        .unwrap_or_default()
}

/// A string table with each key checked by `rule`.
pub(crate) fn string_map(
    map: StrMap,
    rule: fn(&str) -> std::result::Result<(), String>,
) -> Result<BTreeMap<String, String>> {
    map.into_values()
        .map(|entry| {
            check(&entry.key, rule)?;
            Ok((entry.key.value, entry.value.value))
        })
        .collect()
}

/// The first element of `items` that repeats an earlier one by `same`, as an error.
pub(crate) fn no_duplicates<T>(items: &[Field<T>], same: impl Fn(&T, &T) -> bool) -> Result<()>
where
    T: std::fmt::Display,
{
    for (i, item) in items.iter().enumerate() {
        if items[..i]
            .iter()
            .any(|earlier| same(&earlier.value, &item.value))
        {
            return Err(item.invalid(format!("`{}` is listed twice", item.value)));
        }
    }
    Ok(())
}
