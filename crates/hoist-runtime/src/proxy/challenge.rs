//! ACME HTTP-01 answers on the plain listener: the CA fetches
//! `http://DOMAIN/.well-known/acme-challenge/TOKEN` and expects the key authorization, on port
//! 80, before any redirect to HTTPS (RFC 8555 §8.3). The agent's ACME task puts a token here
//! while its order is pending and takes it away after.

use std::collections::HashMap;
use std::sync::RwLock;

/// Where HTTP-01 requests arrive.
pub(crate) const PREFIX: &str = "/.well-known/acme-challenge/";

/// The tokens being validated now, and their key authorizations.
#[derive(Debug, Default)]
pub struct Challenges(RwLock<HashMap<String, String>>);

impl Challenges {
    /// Answers `token` with `key_authorization` until [`Challenges::remove`].
    pub fn insert(&self, token: &str, key_authorization: &str) {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(token.to_owned(), key_authorization.to_owned());
    }

    /// Stops answering `token`.
    pub fn remove(&self, token: &str) {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(token);
    }

    /// The answer for a request to `path`, when it asks for a token being validated. Other
    /// paths under the prefix go to the app (it may run its own ACME client).
    pub(crate) fn answer(&self, path: &str) -> Option<String> {
        let token = path.strip_prefix(PREFIX)?;
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(token)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pending_token_is_answered() {
        let c = Challenges::default();
        assert_eq!(c.answer("/.well-known/acme-challenge/abc"), None);
        c.insert("abc", "abc.thumb");
        assert_eq!(
            c.answer("/.well-known/acme-challenge/abc").as_deref(),
            Some("abc.thumb")
        );
        assert_eq!(c.answer("/.well-known/acme-challenge/other"), None);
        assert_eq!(c.answer("/abc"), None);
        c.remove("abc");
        assert_eq!(c.answer("/.well-known/acme-challenge/abc"), None);
    }
}
