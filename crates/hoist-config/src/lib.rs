//! Loads `hoist.toml` into the merged, validated [`App`] every other stage works from.
//!
//! What it does:
//! - parses the file (TOML), refuses unknown keys and values of the wrong type;
//! - lays the `[environments.NAME]` overlay chosen by `--env NAME` over the base (tables merge
//!   key by key, any other value is replaced);
//! - fills in the documented defaults and checks every value (names, ports, platforms,
//!   durations, Kubernetes quantities and probe rules), for the chosen environment *and* every
//!   other one, so a mistake in `[environments.prod]` shows up before the day prod is deployed;
//! - points every problem at `file:line:column` with the dotted key, what is wrong and what is
//!   allowed ([`ConfigError`]);
//! - prints a merged [`App`] back as TOML ([`to_toml`], for `hoist config`) and writes the
//!   commented starting file for `hoist init` ([`init_template`]).
//!
//! What it does not do: read environment variables or command-line flags (the CLI layers those
//! over the loaded [`App`]), look at the Go module or git, or touch the network. Apart from
//! [`load`] reading the one file, it does no I/O.
//!
//! The user-facing reference of every key is the "hoist.toml reference" section of the README.

mod duration;
mod error;
mod field;
mod merge;
mod names;
mod parse;
mod partial;
mod print;
mod quantity;
mod source;
mod suggest;
mod template;
mod validate;
mod walk;

use std::path::Path;

use hoist_core::App;

pub use error::{ConfigError, Location};
pub use names::app_name_from;
pub use print::to_toml;
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
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    load_str(&path.display().to_string(), &text, environment)
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
    let src = Source::new(file_name, source);
    let start = src.locate(&(0..0));
    let mut doc = parse::document(&src)?;
    let chosen = match environment {
        None => doc.base.clone(),
        Some(name) => {
            let overlay =
                doc.environments
                    .remove(name)
                    .ok_or_else(|| ConfigError::UnknownEnvironment {
                        file: src.name().to_owned(),
                        name: name.to_owned(),
                        known: doc.environments.keys().cloned().collect(),
                    })?;
            doc.base.clone().merge(overlay)
        }
    };
    let app = validate::app(chosen, environment.map(str::to_owned), &start)?;
    for (name, overlay) in doc.environments {
        validate::app(doc.base.clone().merge(overlay), Some(name), &start)?;
    }
    Ok(app)
}
