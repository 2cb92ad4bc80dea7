//! `--set key.path=value`: one value laid over the merged file, like `helm --set`.
//!
//! The argument is read as a one-line TOML overlay, `key.path=value`, so keys are checked
//! exactly as in the file (unknown keys, wrong types) and errors point into the flag itself:
//! `--set run.replicas=-1:1:14: run.replicas: must be 0 or more, found -1`. The value is TOML
//! when it parses as TOML and fits the key (`3`, `true`, `["a", "b"]`, `"quoted"`); otherwise it
//! is taken as a plain string, so `--set run.env.MODE=on` and `--set config.DATE=2024-05-01`
//! need no quotes.

use crate::error::ConfigError;
use crate::parse;
use crate::partial::Partial;
use crate::source::Source;

type Result<T> = std::result::Result<T, ConfigError>;

/// One `--set` argument read into an overlay.
pub(crate) fn overlay(arg: &str) -> Result<Partial> {
    let name = format!("--set {arg}");
    let Some((key, value)) = arg.split_once('=') else {
        return Err(ConfigError::BadSet {
            flag: arg.to_owned(),
        });
    };
    if key.trim().is_empty() {
        return Err(ConfigError::BadSet {
            flag: arg.to_owned(),
        });
    }
    let typed = parse::overlay(&Source::new(&name, arg));
    match typed {
        Ok(p) => Ok(p),
        Err(first @ (ConfigError::WrongType { .. } | ConfigError::Syntax { .. })) => {
            let text = format!("{key}={}", crate::print::quote(value));
            match parse::overlay(&Source::new(&name, &text)) {
                Ok(p) => Ok(p),
                Err(again) if matches!(first, ConfigError::Syntax { .. }) => Err(again),
                Err(_) => Err(first),
            }
        }
        Err(e) => Err(e),
    }
}
