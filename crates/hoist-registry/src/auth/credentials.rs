//! Credentials, with a `Debug` that cannot leak the secret.

use std::fmt;

use base64::Engine as _;

/// A user's credentials for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A user name and password (or access token used as a password).
    Basic {
        /// The user name; not secret, shown in messages.
        username: String,
        /// The secret; never printed.
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken` in docker's config), exchanged at the token
    /// endpoint; never printed.
    IdentityToken(String),
}

impl Credentials {
    /// Basic credentials.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The user name, for messages (`None` for an identity token).
    pub fn username(&self) -> Option<&str> {
        match self {
            Self::Basic { username, .. } => Some(username),
            Self::IdentityToken(_) => None,
        }
    }

    /// `base64(user:password)`, docker's `auth` field and the Basic header's value.
    pub(crate) fn basic_token(&self) -> Option<String> {
        match self {
            Self::Basic { username, password } => Some(
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")),
            ),
            Self::IdentityToken(_) => None,
        }
    }

    /// Describes whose credentials these are, without the secret.
    pub(crate) fn who(&self) -> String {
        match self {
            Self::Basic { username, .. } => format!("the credentials of user `{username}`"),
            Self::IdentityToken(_) => "the stored identity token".to_owned(),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &format_args!("<redacted>"))
                .finish(),
            Self::IdentityToken(_) => f
                .debug_tuple("IdentityToken")
                .field(&format_args!("<redacted>"))
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let c = Credentials::basic("alice", "hunter2");
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("alice") && shown.contains("<redacted>"));
        let t = format!("{:?}", Credentials::IdentityToken("tok-123".into()));
        assert!(!t.contains("tok-123"), "{t}");
        assert_eq!(c.basic_token().unwrap(), "YWxpY2U6aHVudGVyMg==");
    }
}
