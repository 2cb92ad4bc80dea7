//! A value read from the file, with its dotted key and where it was written.

use crate::error::{ConfigError, Location};

/// One value from `hoist.toml`, remembered with its key and location so that validation (which
/// runs after overlays are merged) can still point at the line it came from.
#[derive(Debug, Clone)]
pub(crate) struct Field<T> {
    pub(crate) value: T,
    /// The full dotted key, e.g. `environments.prod.run.replicas`.
    pub(crate) key: String,
    pub(crate) at: Location,
}

/// A value that may be absent.
pub(crate) type Opt<T> = Option<Field<T>>;

impl<T> Field<T> {
    /// An [`ConfigError::Invalid`] about this value.
    pub(crate) fn invalid(&self, problem: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            location: Box::new(self.at.clone()),
            key: self.key.clone(),
            problem: problem.into(),
        }
    }

    /// The same key and location with another value.
    pub(crate) fn with<U>(&self, value: U) -> Field<U> {
        Field {
            value,
            key: self.key.clone(),
            at: self.at.clone(),
        }
    }
}
