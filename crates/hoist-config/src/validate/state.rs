//! `run.state`: a directory that outlives replicas, and the rules a single writer brings (one
//! replica, an update strategy that never runs two writers unless asked to).

use hoist_core::{IntOrPercent, Rollout, State, StateUpdate, Writers};

use crate::error::ConfigError;
use crate::field::Field;
use crate::partial::{RolloutPart, RunPart, StatePart};
use crate::quantity;

type Result<T> = std::result::Result<T, ConfigError>;

/// Paths a state volume may not cover: the root, the app's own directory (the binary is
/// there), and system directories the image or Kubernetes provides.
const RESERVED: &[&str] = &["/", "/app", "/etc", "/proc", "/sys", "/dev", "/tmp", "/bin"];

pub(super) fn state(p: &StatePart) -> Result<State> {
    let Some(path) = &p.path else {
        return Err(ConfigError::Missing {
            location: Box::new(p.at.at.clone()),
            key: format!("{}.path", p.at.key),
            hint: "add where the app writes, an absolute path like `path = \"/data\"`".to_owned(),
        });
    };
    check_path(path)?;
    let writers = match p.writers.as_ref().map(|w| (w, w.value.as_str())) {
        None | Some((_, "one")) => Writers::One,
        Some((_, "many")) => Writers::Many,
        Some((f, other)) => {
            return Err(f.invalid(format!(
                "expected \"one\" (one process owns the directory: a SQLite database, bbolt) or \"many\" (the app coordinates its writers), found \"{other}\""
            )));
        }
    };
    let update = match (p.update.as_ref().map(|u| (u, u.value.as_str())), writers) {
        (None | Some((_, "recreate")), _) => StateUpdate::Recreate,
        (Some((_, "overlap")), _) => StateUpdate::Overlap,
        (Some((f, other)), _) => {
            return Err(f.invalid(format!(
                "expected \"recreate\" (stop the old replica, then start the new one: never two writers, a short gap) or \"overlap\" (start the new one while the old one serves: no gap, both open the directory for a moment), found \"{other}\""
            )));
        }
    };
    if let (Some(f), Writers::Many) = (&p.update, writers) {
        return Err(f.invalid(
            "applies to one writer; with `writers = \"many\"` replicas are replaced as `run.rollout` says",
        ));
    }
    if let Some(size) = &p.size {
        quantity::memory(&size.value).map_err(|e| size.invalid(e.to_string()))?;
    }
    Ok(State {
        path: path.value.trim_end_matches('/').to_owned(),
        writers,
        update,
        size: p
            .size
            .as_ref()
            .map_or_else(|| "1Gi".to_owned(), |s| s.value.clone()),
    })
}

fn check_path(f: &Field<String>) -> Result<()> {
    let p = f.value.trim_end_matches('/');
    if !f.value.starts_with('/') {
        return Err(f.invalid(format!(
            "`{}` is not absolute; write where the app sees the directory, like \"/data\"",
            f.value
        )));
    }
    if p.split('/').any(|part| part == ".." || part == ".") || p.contains("//") {
        return Err(f.invalid(format!(
            "`{}` is not a plain path; write it without `.`, `..` or `//`, like \"/data\"",
            f.value
        )));
    }
    let p = if p.is_empty() { "/" } else { p };
    if let Some(r) = RESERVED
        .iter()
        .find(|r| p == **r || (**r != "/" && **r != "/app" && p.starts_with(&format!("{r}/"))))
    {
        return Err(f.invalid(format!(
            "`{p}` would cover `{r}`, which the image needs; choose a directory of its own, like \"/data\" or \"/app/data\""
        )));
    }
    Ok(())
}

/// With one writer: one replica, no autoscaler, and `STATE_DIR` is hoist's.
pub(super) fn single_writer_rules(s: &State, run: &RunPart) -> Result<()> {
    if let Some(f) = run.env.get(State::ENV) {
        return Err(f.key.invalid(format!(
            "`{}` is set by hoist to where `run.state` is ({}); remove it here",
            State::ENV,
            s.path
        )));
    }
    if s.writers == Writers::Many {
        return Ok(());
    }
    let why = "`run.state` has one writer (the default: a SQLite database or files one process owns), so one replica runs; set `writers = \"many\"` in `run.state` if the app coordinates several";
    if let Some(r) = run.replicas.as_ref().filter(|r| r.value > 1) {
        return Err(r.invalid(format!("is {} but {why}", r.value)));
    }
    if let Some(a) = &run.autoscale {
        return Err(a.at.invalid(format!("scales replicas, but {why}")));
    }
    Ok(())
}

/// The rollout of a single writer: `recreate` stops the old replica first (surge 0,
/// unavailable 1); `overlap` starts the new one first (surge 1, unavailable 0); the deadline
/// is `run.rollout`'s.
pub(super) fn rollout(
    s: &State,
    given: &RolloutPart,
    deadline: std::time::Duration,
) -> Result<Rollout> {
    let (surge, unavailable) = match s.update {
        StateUpdate::Recreate => (0, 1),
        StateUpdate::Overlap => (1, 0),
    };
    for (f, want) in [
        (&given.max_surge, surge),
        (&given.max_unavailable, unavailable),
    ] {
        if let Some(f) = f
            && f.value.resolve(1, true) != want
        {
            return Err(f.invalid(format!(
                "is decided by `run.state.update` for a single writer ({want} with `{}`); remove it",
                match s.update {
                    StateUpdate::Recreate => "recreate",
                    StateUpdate::Overlap => "overlap",
                }
            )));
        }
    }
    super::canary::refuse_with_one_writer(given)?;
    Ok(Rollout {
        max_surge: IntOrPercent::Int(surge),
        max_unavailable: IntOrPercent::Int(unavailable),
        deadline,
        strategy: super::canary::strategy(given)?,
    })
}
