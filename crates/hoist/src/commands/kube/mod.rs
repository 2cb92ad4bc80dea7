//! `--target kubernetes`: deploy, status, history, rollback and diff against clusters, through
//! `hoist-kube`. Settings come from the flags, then `[kubernetes]` in hoist.toml, then the
//! kubeconfig (its current context, the context's namespace).

mod deploy;
pub mod hint;
mod progress;
mod show;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use hoist_core::App;
use hoist_kube::{Kubeconfigs, Target};

use crate::cli::KubeArgs;
use crate::env_vars;

pub use deploy::deploy;
pub use show::{diff, history, intervene, rollback, status};

/// A single-threaded runtime: the work is waiting on API servers, and several clusters
/// interleave on one thread.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The kubeconfig files: `--kubeconfig`, else `$KUBECONFIG` (`:`-separated), else
/// `~/.kube/config`.
pub(crate) fn kubeconfig_paths(flag: Option<&PathBuf>) -> Vec<PathBuf> {
    if let Some(p) = flag {
        return vec![p.clone()];
    }
    if let Some(v) = env_vars::get(env_vars::KUBECONFIG) {
        return std::env::split_paths(&v)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
    }
    dirs::home_dir()
        .map(|h| vec![h.join(".kube").join("config")])
        .unwrap_or_default()
}

/// One target per context: `--context`s, else `kubernetes.contexts`, else the current
/// context; the namespace is `--namespace`, else `kubernetes.namespace`, else the context's.
async fn targets(app: &App, kube: &KubeArgs) -> anyhow::Result<Vec<Target>> {
    let configs = Kubeconfigs::load(&kubeconfig_paths(kube.kubeconfig.as_ref()))?;
    let settings = app.kubernetes.as_ref();
    let mut contexts = kube.contexts.clone();
    if contexts.is_empty() {
        contexts = settings.map(|k| k.contexts.clone()).unwrap_or_default();
    }
    if contexts.is_empty() {
        contexts.push(configs.current_or_err()?);
    }
    let namespace = kube
        .namespace
        .clone()
        .or_else(|| settings.and_then(|k| k.namespace.clone()));
    let mut out = Vec::new();
    for context in contexts {
        let cluster = configs.cluster(&context).await?;
        out.push(Target {
            namespace: namespace
                .clone()
                .unwrap_or_else(|| cluster.default_namespace().to_owned()),
            cluster,
            app: app.app.name.clone(),
            instance: hoist_render::instance(app),
        });
    }
    Ok(out)
}

/// `10m`, `90s`, `1h30m`, `500ms`.
pub(crate) fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let bad = || {
        anyhow::anyhow!("invalid duration `{text}`: write a number and a unit, like `90s` or `10m`")
    };
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            _ => return Err(bad()),
        };
        total += unit;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// The history limit of `[kubernetes]` (default 10).
fn history_limit(app: &App) -> u32 {
    app.kubernetes.as_ref().map_or(10, |k| k.history_limit)
}

/// Shared by `status`, `history` and `rollback`: the targets of the app.
fn app_targets(
    rt: &tokio::runtime::Runtime,
    app: &App,
    kube: &KubeArgs,
) -> anyhow::Result<Vec<Target>> {
    rt.block_on(targets(app, kube))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_mins(10));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        for bad in ["", "10", "m", "5 m", "1d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
