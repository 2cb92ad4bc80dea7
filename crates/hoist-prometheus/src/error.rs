//! What can go wrong asking Prometheus.

/// Errors of the Prometheus client.
#[derive(Debug, thiserror::Error)]
pub enum PromError {
    /// The HTTP client could not be built (the TLS stack).
    #[error("cannot set up an HTTP client for Prometheus")]
    Client {
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
    },
    /// No answer from the server (refused, DNS, TLS, timeout).
    #[error("Prometheus at `{url}` is unreachable")]
    Unreachable {
        /// The server's base URL.
        url: String,
        /// reqwest's error.
        #[source]
        source: reqwest::Error,
    },
    /// Prometheus refused the query: its own error type and text.
    #[error("Prometheus refused the query `{query}`: {kind}: {message}")]
    Query {
        /// The expanded query.
        query: String,
        /// `errorType` (`bad_data`, `execution`, `timeout`, …).
        kind: String,
        /// `error`.
        message: String,
    },
    /// An answer that is not the query API's JSON (a proxy's error page, a wrong URL).
    #[error("`{url}` did not answer as Prometheus' query API (HTTP {status}): {body}")]
    NotPrometheus {
        /// The request URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The beginning of the body.
        body: String,
    },
    /// The query gave a result that is not an instant vector (a scalar, a string, a matrix).
    #[error("the query `{query}` gave a {result_type}, not an instant vector")]
    NotVector {
        /// The expanded query.
        query: String,
        /// `resultType`.
        result_type: String,
    },
    /// A `latency` series without a usable `le` label.
    #[error(
        "the latency query `{query}` gave a series without a numeric `le` label: use `sum by (le) (increase(…_bucket[{{window}}]))`"
    )]
    NoBuckets {
        /// The expanded query.
        query: String,
    },
}

/// Results of this crate.
pub type Result<T> = std::result::Result<T, PromError>;
