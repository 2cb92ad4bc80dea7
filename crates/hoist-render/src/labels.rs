//! The `app.kubernetes.io/*` labels every object carries, and the selector that picks the pods.

use std::collections::BTreeMap;

use hoist_core::App;

use crate::error::RenderError;

/// The app's name.
pub const NAME: &str = "app.kubernetes.io/name";
/// Which deployment of the app: `<name>-<environment>`, or the name without an environment.
pub const INSTANCE: &str = "app.kubernetes.io/instance";
/// The version being run (`git describe`).
pub const VERSION: &str = "app.kubernetes.io/version";
/// The tool that manages the objects.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// The labels of one app's objects.
#[derive(Debug, Clone)]
pub(crate) struct Labels {
    all: BTreeMap<String, String>,
    selector: BTreeMap<String, String>,
}

impl Labels {
    /// Labels for `app` at `version`; fails when the version is not a valid label value.
    pub(crate) fn new(app: &App, version: &str) -> Result<Self, RenderError> {
        label_value(version).map_err(|problem| RenderError::InvalidLabelValue {
            key: VERSION,
            value: version.to_owned(),
            problem,
        })?;
        let name = app.app.name.clone();
        let instance = instance(app);
        // Config validation keeps `<name>-<env>` within 63 characters; this is the same rule.
        label_value(&instance).map_err(|problem| RenderError::InvalidLabelValue {
            key: INSTANCE,
            value: instance.clone(),
            problem,
        })?;
        let selector = BTreeMap::from([(NAME.to_owned(), name), (INSTANCE.to_owned(), instance)]);
        let mut all = selector.clone();
        all.insert(VERSION.to_owned(), version.to_owned());
        all.insert(MANAGED_BY.to_owned(), "hoist".to_owned());
        Ok(Self { all, selector })
    }

    /// Every label: name, instance, version, managed-by.
    pub(crate) fn all(&self) -> BTreeMap<String, String> {
        self.all.clone()
    }

    /// The labels that select the app's pods: name and instance. Not the version: a
    /// Deployment's selector cannot change after it is created, and the version changes with
    /// every release.
    pub(crate) fn selector(&self) -> BTreeMap<String, String> {
        self.selector.clone()
    }
}

/// `<name>-<environment>`, or the name when no environment is chosen.
pub fn instance(app: &App) -> String {
    match &app.environment {
        Some(env) => format!("{}-{env}", app.app.name),
        None => app.app.name.clone(),
    }
}

/// A Kubernetes label value: empty, or at most 63 of `A-Za-z0-9`, `-`, `_`, `.`, starting and
/// ending with a letter or digit.
///
/// # Errors
///
/// What is wrong with the value, for a message.
pub fn label_value(value: &str) -> Result<(), &'static str> {
    if value.len() > 63 {
        return Err("it is longer than 63 characters");
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err("only letters, digits, `-`, `_` and `.` are allowed");
    }
    let edge_ok = |b: Option<&u8>| b.is_none_or(u8::is_ascii_alphanumeric);
    if !edge_ok(value.as_bytes().first()) || !edge_ok(value.as_bytes().last()) {
        return Err("it must start and end with a letter or digit");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_follow_kubernetes() {
        for ok in ["", "v1.2.3", "v0.1.0-3-gabcdef0-dirty", "dev", "a_b"] {
            assert_eq!(label_value(ok), Ok(()), "{ok}");
        }
        for bad in ["v1.2.3+build", "-a", "a.", &"x".repeat(64), "a b"] {
            assert!(label_value(bad).is_err(), "{bad}");
        }
    }
}
