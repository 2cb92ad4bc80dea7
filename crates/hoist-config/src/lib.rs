//! Loads `hoist.toml` into the merged, validated [`App`] every other stage works from.
//!
//! What it does:
//! - parses the file (TOML), refuses unknown keys and values of the wrong type;
//! - lays the `[environments.NAME]` overlay chosen by `--env NAME` over the base (tables merge
//!   key by key, any other value is replaced);
//! - lays `--set key.path=value` overrides over that, like one more overlay ([`load_with`]);
//! - fills in the documented defaults and checks every value (names, ports, platforms,
//!   durations, Kubernetes quantities and probe rules), for the chosen environment *and* every
//!   other one, so a mistake in `[environments.prod]` shows up before the day prod is deployed;
//! - points every problem at `file:line:column` with the dotted key, what is wrong and what is
//!   allowed ([`ConfigError`]);
//! - prints a merged [`App`] back as TOML ([`to_toml`], for `hoist config`) and writes the
//!   commented starting file for `hoist init` ([`init_template`]).
//!
//! What it does not do: read environment variables or command-line flags (the CLI passes
//! `--env` and `--set` in as strings), look at the Go module or git, or touch the network. Apart from
//! [`load`] reading the one file, it does no I/O.
//!
//! The user-facing reference of every key is docs/config.md, generated from [`reference`].

mod duration;
mod error;
mod field;
mod merge;
mod names;
mod parse;
mod partial;
mod print;
mod quantity;
mod reference;
mod set;
mod source;
mod suggest;
mod template;
mod validate;
mod walk;

use std::path::Path;

use hoist_core::App;

pub use error::{ConfigError, Location};
pub use names::app_name_from;
pub use print::{to_table, to_toml};
pub use reference::reference_markdown;
pub use source::locate_key;
pub use template::{InitParams, init_template};

use merge::Merge;
use source::Source;

/// The config file hoist looks for in the project directory.
pub const FILE_NAME: &str = "hoist.toml";

/// Loads and validates the config file at `path`, applying the overlay `environment` if given.
///
/// Error messages name `path` as it was given.
///
/// # Errors
///
/// [`ConfigError::Read`] if the file cannot be read; otherwise as [`load_str`].
pub fn load(path: &Path, environment: Option<&str>) -> Result<App, ConfigError> {
    load_with(path, environment, &[])
}

/// The environments the config file at `path` defines (`[environments.NAME]`), sorted: what
/// `hoist ci` renders and deploys.
///
/// # Errors
///
/// As [`load`].
pub fn environments(path: &Path) -> Result<Vec<String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let name = path.display().to_string();
    let doc = parse::document(&Source::new(&name, &text))?;
    Ok(doc.environments.into_keys().collect())
}

/// [`load`], then the `--set key.path=value` overrides `sets` laid over the result, in order.
///
/// # Errors
///
/// As [`load_str_with`].
pub fn load_with(
    path: &Path,
    environment: Option<&str>,
    sets: &[String],
) -> Result<App, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    load_str_with(&path.display().to_string(), &text, environment, sets)
}

/// Loads and validates config text; `file_name` is used in error messages only.
///
/// Every environment in the file is validated, the chosen one first; the returned [`App`] is
/// the base with the chosen overlay laid over it (or the base alone for `None`).
///
/// ```
/// let text = "[app]\nname = \"hello\"\n\n[environments.prod]\nrun.replicas = 3\n";
/// let app = hoist_config::load_str("hoist.toml", text, Some("prod"))?;
/// assert_eq!((app.app.name.as_str(), app.run.replicas), ("hello", 3));
///
/// let err = hoist_config::load_str("hoist.toml", "[app]\nname = \"hello\"\nport = 0\n", None)
///     .unwrap_err();
/// assert_eq!(err.to_string(), "hoist.toml:3:8: app.port: must be a port from 1 to 65535, found 0");
/// # Ok::<(), hoist_config::ConfigError>(())
/// ```
///
/// # Errors
///
/// - [`ConfigError::Syntax`] if the text is not TOML;
/// - [`ConfigError::UnknownKey`], [`ConfigError::WrongType`] for keys hoist does not know and
///   values of the wrong type, anywhere in the file;
/// - [`ConfigError::Invalid`], [`ConfigError::Missing`] for values that are not allowed and a
///   missing `app.name`, in the base or any environment;
/// - [`ConfigError::UnknownEnvironment`] if `environment` is not defined in the file.
pub fn load_str(
    file_name: &str,
    source: &str,
    environment: Option<&str>,
) -> Result<App, ConfigError> {
    load_str_with(file_name, source, environment, &[])
}

/// [`load_str`] with `--set` overrides: each `key.path=value` is laid over the base and the
/// chosen overlay, like one more overlay, and the result is validated as a whole. Errors about
/// a value from `--set` name the flag, e.g.
/// `--set run.replicas=-1:1:14: run.replicas: must be 0 or more, found -1`.
///
/// ```
/// let text = "[app]\nname = \"hello\"\n";
/// let sets = ["run.replicas=4".to_owned(), "run.env.MODE=on".to_owned()];
/// let app = hoist_config::load_str_with("hoist.toml", text, None, &sets)?;
/// assert_eq!((app.run.replicas, app.run.env["MODE"].as_str()), (4, "on"));
/// # Ok::<(), hoist_config::ConfigError>(())
/// ```
///
/// # Errors
///
/// As [`load_str`], and [`ConfigError::BadSet`] for an argument without `=`.
pub fn load_str_with(
    file_name: &str,
    source: &str,
    environment: Option<&str>,
    sets: &[String],
) -> Result<App, ConfigError> {
    let overrides = sets
        .iter()
        .map(|s| set::overlay(s))
        .collect::<Result<Vec<_>, _>>()?;
    let src = Source::new(file_name, source);
    let start = src.locate(&(0..0));
    let mut doc = parse::document(&src)?;
    let known: Vec<&str> = doc.environments.keys().map(String::as_str).collect();
    validate::ci_environments(&doc.base, &known)?;
    let with_sets = |p: partial::Partial| overrides.iter().cloned().fold(p, Merge::merge);
    let app = match environment {
        None => validate::app(with_sets(doc.base.clone()), None, &start)?,
        Some(name) => {
            let overlay =
                doc.environments
                    .remove(name)
                    .ok_or_else(|| ConfigError::UnknownEnvironment {
                        file: src.name().to_owned(),
                        name: name.to_owned(),
                        known: doc.environments.keys().cloned().collect(),
                    })?;
            let app = validate::app(
                with_sets(doc.base.clone().merge(overlay.partial)),
                Some(name.to_owned()),
                &start,
            )?;
            validate::instance_label(&app, &overlay.name)?;
            app
        }
    };
    for (name, overlay) in doc.environments {
        let app = validate::app(doc.base.clone().merge(overlay.partial), Some(name), &start)?;
        validate::instance_label(&app, &overlay.name)?;
    }
    Ok(app)
}
