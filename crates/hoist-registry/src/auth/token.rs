//! Bearer token scopes and the cache that reuses tokens until shortly before they expire.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a token is asked for: an action set on one repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Scope {
    /// The repository path in the registry.
    pub repository: String,
    /// `pull` or `pull,push`.
    pub actions: &'static str,
}

impl Scope {
    pub fn pull(repository: &str) -> Self {
        Self {
            repository: repository.to_owned(),
            actions: "pull",
        }
    }

    pub fn push(repository: &str) -> Self {
        Self {
            repository: repository.to_owned(),
            actions: "pull,push",
        }
    }

    /// The `scope` parameter of a token request.
    pub fn param(&self) -> String {
        format!("repository:{}:{}", self.repository, self.actions)
    }
}

/// The cache key of a scope set: order does not matter.
pub(crate) fn key(scopes: &[Scope]) -> String {
    let mut params: Vec<String> = scopes.iter().map(Scope::param).collect();
    params.sort();
    params.dedup();
    params.join(" ")
}

/// Tokens by scope set. A token is dropped this long before its announced expiry, so a long
/// upload does not start with a token about to lapse.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);

/// Tokens by scope set, with their expiry.
#[derive(Default)]
pub(crate) struct TokenCache {
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

impl TokenCache {
    /// A live token for `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        let tokens = self.tokens.lock().expect("token cache lock");
        tokens
            .get(key)
            .filter(|(_, until)| Instant::now() + EXPIRY_MARGIN < *until)
            .map(|(t, _)| t.clone())
    }

    /// Remembers a token valid for `lifetime`.
    pub fn put(&self, key: String, token: String, lifetime: Duration) {
        let until = Instant::now() + lifetime;
        self.tokens
            .lock()
            .expect("token cache lock")
            .insert(key, (token, until));
    }

    /// Drops the token for `key` (the registry refused it: expired or revoked).
    pub fn forget(&self, key: &str) {
        self.tokens.lock().expect("token cache lock").remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_order_and_expired_tokens_are_gone() {
        let a = [Scope::push("x"), Scope::pull("base")];
        let b = [Scope::pull("base"), Scope::push("x")];
        assert_eq!(key(&a), key(&b));
        assert_eq!(key(&a), "repository:base:pull repository:x:pull,push");
        let cache = TokenCache::default();
        cache.put("k".into(), "t".into(), Duration::from_mins(5));
        assert_eq!(cache.get("k").as_deref(), Some("t"));
        cache.put("short".into(), "t".into(), Duration::from_secs(5));
        assert_eq!(cache.get("short"), None);
        cache.forget("k");
        assert_eq!(cache.get("k"), None);
    }
}
