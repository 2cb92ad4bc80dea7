//! `[ci]`: which pushes deploy which environment, where deploy jobs run, what runs first.

use hoist_core::{Ci, DeployRule};

use super::{Result, check};
use crate::field::{Field, Opt};
use crate::names;
use crate::partial::{CiPart, Partial};

/// `[ci]`: each `deploy` key is a branch name or a tag pattern ending in `*`, each value an
/// environment name (that it is defined is checked by [`ci_environments`]); the lists are not
/// empty strings.
pub(crate) fn ci(p: CiPart) -> Result<Ci> {
    let mut deploy = Vec::new();
    for entry in p.deploy.into_values() {
        let on = &entry.key;
        let pattern = on.value.strip_suffix('*').unwrap_or(&on.value);
        if on.value.is_empty() || pattern.contains(['*', ' ', '~', '^', ':', '?', '[', '\\']) {
            return Err(on.invalid(format!(
                "`{}` is neither a branch name nor a tag pattern: write a branch (`main`) or a prefix ending in `*` (`v*`)",
                on.value
            )));
        }
        check(&entry.value, names::dns_label)?;
        deploy.push(DeployRule {
            on: on.value.clone(),
            environment: entry.value.value,
        });
    }
    let non_empty = |list: Opt<Vec<Field<String>>>, default: &[&str]| -> Result<Vec<String>> {
        match list {
            None => Ok(default.iter().map(|s| (*s).to_owned()).collect()),
            Some(l) => {
                for item in &l.value {
                    if item.value.trim().is_empty() {
                        return Err(item.invalid("cannot be empty".to_owned()));
                    }
                }
                Ok(l.value.into_iter().map(|f| f.value).collect())
            }
        }
    };
    Ok(Ci {
        deploy,
        runs_on: non_empty(p.runs_on, Ci::DEFAULT_RUNS_ON)?,
        test: non_empty(p.test, Ci::DEFAULT_TEST)?,
    })
}

/// Every environment `ci.deploy` names is defined in the file (`known`).
pub(crate) fn ci_environments(p: &Partial, known: &[&str]) -> Result<()> {
    let Some(ci) = &p.ci else {
        return Ok(());
    };
    for entry in ci.deploy.values() {
        if !known.contains(&entry.value.value.as_str()) {
            let listed = if known.is_empty() {
                "the file defines no `[environments.NAME]`".to_owned()
            } else {
                format!(
                    "the file defines {}",
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(entry
                .value
                .invalid(format!("no environment `{}`: {listed}", entry.value.value)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    const ENVS: &str = "[environments.staging]\n[environments.prod]\n";

    fn load(ci: &str) -> Result<hoist_core::App, crate::ConfigError> {
        crate::load_str(
            "hoist.toml",
            &format!("[app]\nname = \"a\"\n\n{ci}\n{ENVS}"),
            None,
        )
    }

    #[test]
    fn deploy_rules_and_defaults() {
        let app = load("[ci]\ndeploy = { main = \"staging\", \"v*\" = \"prod\" }\n").unwrap();
        let ci = app.ci.unwrap();
        assert_eq!(ci.environment_for(Some("main"), None), Some("staging"));
        assert_eq!(ci.environment_for(None, Some("v1.0.0")), Some("prod"));
        assert_eq!(ci.runs_on, ["ubuntu-latest"]);
        assert_eq!(ci.test, ["go vet ./...", "go test ./..."]);
        assert!(load("").unwrap().ci.is_none());
    }

    #[test]
    fn an_unknown_environment_is_refused_where_it_is_named() {
        let e = load("[ci]\ndeploy = { main = \"stagin\" }\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "hoist.toml:5:19: ci.deploy.main: no environment `stagin`: the file defines `prod`, `staging`"
        );
    }

    #[test]
    fn refs_are_branches_or_prefix_patterns() {
        let e = load("[ci]\ndeploy = { \"v*.*\" = \"prod\" }\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("hoist.toml:5:12: ci.deploy.v*.*: `v*.*` is neither"),
            "{e}"
        );
        let e = load("[ci]\nruns_on = [\"\"]\n").unwrap_err().to_string();
        assert!(e.contains("ci.runs_on"), "{e}");
    }

    #[test]
    fn overlays_cannot_hold_ci() {
        let e = crate::load_str(
            "hoist.toml",
            "[app]\nname = \"a\"\n[environments.prod.ci]\ndeploy = {}\n",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown key `ci`"), "{e}");
    }
}
