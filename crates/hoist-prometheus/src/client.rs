//! One client per remote protocol: Prometheus' HTTP query API, instant queries only.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::error::{PromError, Result};

/// A Prometheus server's query API.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
}

/// One series of an instant vector: its labels and its value at the query's time.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' labels (none after a plain `sum`).
    pub labels: BTreeMap<String, String>,
    /// Its value (`NaN` and infinities are kept as Prometheus gives them).
    pub value: f64,
}

/// `{"status": …}`: the envelope of every answer of the API.
#[derive(Deserialize)]
struct Envelope {
    status: String,
    data: Option<Data>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct VectorItem {
    metric: BTreeMap<String, String>,
    /// `[seconds, "value"]`.
    value: (f64, String),
}

impl Client {
    /// A client for the server at `url` (its base, e.g. `http://prometheus:9090`).
    ///
    /// # Errors
    /// [`PromError::Client`] when the TLS stack cannot be set up.
    pub fn new(url: &str) -> Result<Self> {
        // reqwest is built without a crypto provider: it uses the process default, ring (as
        // hoist-registry does, see its Cargo.toml). Whichever was installed first wins.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("hoist/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            // A query over a short window answers in milliseconds; one that takes longer than
            // an analysis interval is of no use to the walk.
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|source| PromError::Client { source })?;
        Ok(Client {
            http,
            base: url.trim_end_matches('/').to_owned(),
        })
    }

    /// The server's base URL.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Runs `query` as an instant query at `at`: the series of the instant vector it gives.
    ///
    /// # Errors
    /// [`PromError::Unreachable`], [`PromError::Query`] with Prometheus' own error,
    /// [`PromError::NotPrometheus`], [`PromError::NotVector`].
    pub async fn query(&self, query: &str, at: SystemTime) -> Result<Vec<Series>> {
        let url = format!("{}/api/v1/query", self.base);
        let time = at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let answer = self
            .http
            .post(&url)
            .form(&[("query", query), ("time", &format!("{time:.3}"))])
            .send()
            .await
            .map_err(|source| PromError::Unreachable {
                url: self.base.clone(),
                source,
            })?;
        let status = answer.status().as_u16();
        let body = answer
            .bytes()
            .await
            .map_err(|source| PromError::Unreachable {
                url: self.base.clone(),
                source,
            })?;
        tracing::debug!(%query, status, "prometheus query");
        parse(query, &url, status, &body)
    }
}

/// An answer of `/api/v1/query` (any status: errors come as JSON with 400, 422, 503) → the
/// instant vector's series.
pub(crate) fn parse(query: &str, url: &str, status: u16, body: &[u8]) -> Result<Vec<Series>> {
    let not_prometheus = || PromError::NotPrometheus {
        url: url.to_owned(),
        status,
        body: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    };
    let envelope: Envelope = serde_json::from_slice(body).map_err(|_| not_prometheus())?;
    if envelope.status != "success" {
        return Err(PromError::Query {
            query: query.to_owned(),
            kind: envelope.error_type.unwrap_or_else(|| "error".to_owned()),
            message: envelope.error.unwrap_or_default(),
        });
    }
    let data = envelope.data.ok_or_else(not_prometheus)?;
    if data.result_type != "vector" {
        return Err(PromError::NotVector {
            query: query.to_owned(),
            result_type: data.result_type,
        });
    }
    let items: Vec<VectorItem> =
        serde_json::from_value(data.result).map_err(|_| not_prometheus())?;
    Ok(items
        .into_iter()
        .map(|i| Series {
            labels: i.metric,
            value: parse_value(&i.value.1),
        })
        .collect())
}

/// A sample value as Prometheus writes it: a float, `NaN`, `+Inf`, `-Inf`.
fn parse_value(s: &str) -> f64 {
    match s {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().unwrap_or(f64::NAN),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vector_answer_gives_its_series() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"le":"0.1"},"value":[1700000000.5,"12.5"]},
            {"metric":{"le":"+Inf"},"value":[1700000000.5,"+Inf"]},
            {"metric":{},"value":[1700000000.5,"NaN"]}]}}"#;
        let s = parse("q", "u", 200, body).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].labels["le"], "0.1");
        assert!((s[0].value - 12.5).abs() < f64::EPSILON);
        assert!(s[1].value.is_infinite() && s[2].value.is_nan());
        let empty = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert!(parse("q", "u", 200, empty).unwrap().is_empty());
    }

    #[test]
    fn prometheus_errors_keep_its_words() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected \"}\""}"#;
        let e = parse("sum(}", "u", 400, body).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Prometheus refused the query `sum(}`: bad_data: invalid parameter \"query\": 1:5: parse error: unexpected \"}\""
        );
        let scalar = br#"{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}"#;
        assert!(matches!(
            parse("1", "u", 200, scalar),
            Err(PromError::NotVector { .. })
        ));
        let html = b"<html>502 Bad Gateway</html>";
        assert_eq!(
            parse("q", "http://p/api/v1/query", 502, html)
                .unwrap_err()
                .to_string(),
            "`http://p/api/v1/query` did not answer as Prometheus' query API (HTTP 502): <html>502 Bad Gateway</html>"
        );
    }
}
