//! What every request to a registry shares, below the sessions and the client that owns them:
//! the HTTP client, the retry policy and its counter, which registries may be spoken to over
//! plain http, and how an error body reads. Sessions take a [`Transport`] rather than the
//! client, so the client (which keeps sessions) and a session do not depend on each other.

use std::sync::atomic::AtomicU64;

use reqwest::blocking::Response;

use crate::retry::RetryPolicy;

/// Borrowed from the client for the duration of one call.
pub(crate) struct Transport<'a> {
    /// The connection pool (TLS settings, user agent, timeouts).
    pub http: &'a reqwest::blocking::Client,
    /// How transient failures are retried.
    pub retry: &'a RetryPolicy,
    /// Counts retries, for the client's stats.
    pub retries: &'a AtomicU64,
    /// Registries that may be spoken to over http beside localhost.
    pub insecure_registries: &'a [String],
}

/// The first `{errors: [{code, message}]}` entry of an error body.
pub(crate) fn oci_error(resp: Response) -> (Option<String>, Option<String>) {
    let Ok(text) = resp.text() else {
        return (None, None);
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let first = &v["errors"][0];
    let s = |k: &str| first[k].as_str().map(str::to_owned);
    match (s("code"), s("message")) {
        (None, None) => {
            let t = text.trim();
            (None, (!t.is_empty() && t.len() < 200).then(|| t.to_owned()))
        }
        cm => cm,
    }
}
