//! The one error type of this crate, and the place in `hoist.toml` each error points at.

use std::fmt;
use std::path::PathBuf;

/// A position in a config file: where a bad key or value starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file name as given to [`load`](crate::load) or [`load_str`](crate::load_str).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// The text of that line, without its line break, for [`ConfigError::snippet`].
    pub line_text: String,
    /// How many characters of the line the offending key or value covers (at least 1).
    pub width: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl Location {
    /// The source line with a caret under the offending span, like a compiler shows it:
    ///
    /// ```text
    ///   7 | replicas = -1
    ///     |            ^^
    /// ```
    pub fn snippet(&self) -> String {
        let number = self.line.to_string();
        let gutter = " ".repeat(number.len());
        let pad = " ".repeat(self.column.saturating_sub(1));
        let carets = "^".repeat(self.width.max(1));
        format!(
            "{gutter} |\n{number} | {}\n{gutter} | {pad}{carets}",
            self.line_text
        )
    }
}

/// Why a `hoist.toml` could not be turned into an [`App`](hoist_core::App).
///
/// Every variant but [`ConfigError::Read`], [`ConfigError::BadSet`] and
/// [`ConfigError::UnknownEnvironment`] carries the
/// [`Location`] of the offending key or value and its dotted key, so the message reads
/// `hoist.toml:7:12: run.replicas: must be 0 or more, found -1`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The path that was opened.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{location}: invalid TOML: {message}")]
    Syntax {
        /// Where the parser stopped.
        location: Box<Location>,
        /// The TOML parser's description.
        message: String,
    },
    /// A key hoist does not know, usually a typo.
    #[error(
        "{location}: {key}: unknown key `{name}`{}; allowed keys here: {}",
        suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(),
        backticked(allowed)
    )]
    UnknownKey {
        /// Where the key is written.
        location: Box<Location>,
        /// The full dotted key, e.g. `run.replica`.
        key: String,
        /// The last part of the key, e.g. `replica`.
        name: String,
        /// The keys this table accepts.
        allowed: Vec<&'static str>,
        /// The allowed key closest to `name`, when it is an obvious typo.
        suggestion: Option<&'static str>,
    },
    /// A value of the wrong TOML type.
    #[error("{location}: {key}: expected {expected}, found {found}")]
    WrongType {
        /// Where the value is written.
        location: Box<Location>,
        /// The dotted key.
        key: String,
        /// What the key takes, e.g. `an integer`.
        expected: &'static str,
        /// What was written, e.g. `a string`.
        found: &'static str,
    },
    /// A value of the right type that is not allowed.
    #[error("{location}: {key}: {problem}")]
    Invalid {
        /// Where the value is written.
        location: Box<Location>,
        /// The dotted key.
        key: String,
        /// What is wrong and what is allowed.
        problem: String,
    },
    /// A required key is absent.
    #[error("{location}: {key}: missing; {hint}")]
    Missing {
        /// The table that should hold the key (or the start of the file).
        location: Box<Location>,
        /// The dotted key.
        key: String,
        /// What to write.
        hint: String,
    },
    /// A `--set` argument without `=`.
    #[error("`--set {flag}`: expected `KEY.PATH=VALUE`, like `--set run.replicas=3`")]
    BadSet {
        /// The argument as given.
        flag: String,
    },
    /// `--env NAME` names an environment the file does not define.
    #[error(
        "{file}: unknown environment `{name}`; {}",
        if known.is_empty() {
            "the file defines no [environments.NAME] tables".to_owned()
        } else {
            format!("known environments: {}", backticked(known))
        }
    )]
    UnknownEnvironment {
        /// The config file name.
        file: String,
        /// The name asked for.
        name: String,
        /// The environments the file defines, sorted.
        known: Vec<String>,
    },
}

impl ConfigError {
    /// Where in the file the problem is, if the error is about a place in it.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Self::Syntax { location, .. }
            | Self::UnknownKey { location, .. }
            | Self::WrongType { location, .. }
            | Self::Invalid { location, .. }
            | Self::Missing { location, .. } => Some(location.as_ref()),
            Self::Read { .. } | Self::UnknownEnvironment { .. } | Self::BadSet { .. } => None,
        }
    }

    /// The offending source line with a caret under the problem, for the CLI to print below
    /// the message; `None` when the error is not about a place in the file.
    pub fn snippet(&self) -> Option<String> {
        self.location().map(Location::snippet)
    }

    /// The dotted key the error is about, e.g. `environments.prod.run.replicas`.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::UnknownKey { key, .. }
            | Self::WrongType { key, .. }
            | Self::Invalid { key, .. }
            | Self::Missing { key, .. } => Some(key),
            Self::Read { .. }
            | Self::Syntax { .. }
            | Self::UnknownEnvironment { .. }
            | Self::BadSet { .. } => None,
        }
    }
}

/// `a`, `b`, `c`: a list of names in backticks.
pub(crate) fn backticked<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line_text: &str, column: usize, width: usize) -> Location {
        Location {
            file: "hoist.toml".to_owned(),
            line: 7,
            column,
            line_text: line_text.to_owned(),
            width,
        }
    }

    #[test]
    fn invalid_reads_like_a_compiler_message() {
        let e = ConfigError::Invalid {
            location: Box::new(at("replicas = -1", 12, 2)),
            key: "run.replicas".to_owned(),
            problem: "must be 0 or more, found -1".to_owned(),
        };
        assert_eq!(
            e.to_string(),
            "hoist.toml:7:12: run.replicas: must be 0 or more, found -1"
        );
        assert_eq!(
            e.snippet().unwrap(),
            "  |\n7 | replicas = -1\n  |            ^^"
        );
        assert_eq!(e.key(), Some("run.replicas"));
    }

    #[test]
    fn unknown_environment_lists_known_ones_or_says_none() {
        let e = ConfigError::UnknownEnvironment {
            file: "hoist.toml".to_owned(),
            name: "stage".to_owned(),
            known: vec!["dev".to_owned(), "prod".to_owned()],
        };
        assert_eq!(
            e.to_string(),
            "hoist.toml: unknown environment `stage`; known environments: `dev`, `prod`"
        );
        let e = ConfigError::UnknownEnvironment {
            file: "hoist.toml".to_owned(),
            name: "stage".to_owned(),
            known: vec![],
        };
        assert!(
            e.to_string()
                .ends_with("the file defines no [environments.NAME] tables")
        );
    }
}
