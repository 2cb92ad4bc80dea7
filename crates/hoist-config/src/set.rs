//! `--set key.path=value`: one value laid over the merged file, like `helm --set`.
//!
//! The argument is read as a one-line TOML overlay, `key.path=value`, so keys are checked
//! exactly as in the file (unknown keys, wrong types) and errors point into the flag itself:
//! `--set run.replicas=-1:1:14: run.replicas: must be 0 or more, found -1`. The value is TOML
//! when it parses as TOML and fits the key (`3`, `true`, `["a", "b"]`, `"quoted"`); otherwise it
//! is taken as a plain string, so `--set run.env.MODE=on` and `--set config.DATE=2024-05-01`
//! need no quotes.

use std::fmt::Write as _;

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
            let text = format!("{key}={}", basic_string(value));
            match parse::overlay(&Source::new(&name, &text)) {
                Ok(p) => Ok(p),
                Err(again) if matches!(first, ConfigError::Syntax { .. }) => Err(again),
                Err(_) => Err(first),
            }
        }
        Err(e) => Err(e),
    }
}

/// `s` as a TOML basic string, escaped.
fn basic_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(basic_string("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
    }
}
