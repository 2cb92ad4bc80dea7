//! One registry as the client knows it: its base URL (https, or http where allowed), the
//! credentials for it, the challenge it answered the ping with, and the tokens it issued.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::blocking::Response;
use reqwest::header::{CONTENT_TYPE, WWW_AUTHENTICATE};

use crate::auth::{Challenge, Credentials, Scope, TokenCache};
use crate::error::{RegistryError, Result};
use crate::transport::{Transport, oci_error};

/// A connected registry.
pub(crate) struct Session {
    /// `host[:port]` as references name it.
    pub registry: String,
    /// `https://host[:port]` or `http://…`.
    pub base: String,
    creds: Option<Credentials>,
    challenge: Mutex<Option<Challenge>>,
    tokens: TokenCache,
    /// Held while fetching a token, so concurrent blob uploads wait for one token instead of
    /// each asking for its own.
    token_fetch: Mutex<()>,
}

/// How long a token lives when the token endpoint does not say (the distribution spec's default).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_mins(1);

impl Session {
    /// Pings `/v2/` over https, and over http where that is allowed and https is not spoken.
    pub fn connect(
        client: &Transport<'_>,
        registry: &str,
        api_host: &str,
        creds: Option<Credentials>,
    ) -> Result<Self> {
        let https = format!("https://{api_host}");
        let (base, challenge) = match ping(client, registry, &https) {
            Ok(ch) => (https, ch),
            Err(e @ RegistryError::Unresolved { .. }) => return Err(e),
            // A host that refuses https connections is down, not plain http, unless http is
            // allowed there.
            Err(e @ RegistryError::Connect { .. })
                if !allows_http(registry, client.insecure_registries) =>
            {
                return Err(e);
            }
            Err(https_err) => {
                let http = format!("http://{api_host}");
                match ping(client, registry, &http) {
                    Ok(_) if !allows_http(registry, client.insecure_registries) => {
                        return Err(RegistryError::InsecureNotAllowed {
                            registry: registry.to_owned(),
                        });
                    }
                    Ok(ch) => {
                        tracing::debug!(registry, "the registry speaks plain http");
                        (http, ch)
                    }
                    // It answers over http, but badly: that answer is the news.
                    Err(e @ RegistryError::Server { .. })
                        if allows_http(registry, client.insecure_registries) =>
                    {
                        return Err(e);
                    }
                    Err(_) => return Err(https_err),
                }
            }
        };
        Ok(Self {
            registry: registry.to_owned(),
            base,
            creds,
            challenge: Mutex::new(challenge),
            tokens: TokenCache::default(),
            token_fetch: Mutex::new(()),
        })
    }

    /// `{base}/v2/{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/v2/{path}", self.base)
    }

    /// A URL the registry sent (`Location`), made absolute.
    pub fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            format!("{}/{location}", self.base)
        }
    }

    /// The `Authorization` value for a request needing `scopes`, fetching a token if needed.
    pub fn authorization(
        &self,
        client: &Transport<'_>,
        scopes: &[Scope],
    ) -> Result<Option<String>> {
        let challenge = self.challenge.lock().expect("challenge lock").clone();
        match challenge {
            None => Ok(None),
            Some(Challenge::Basic) => Ok(self
                .creds
                .as_ref()
                .and_then(Credentials::basic_token)
                .map(|t| format!("Basic {t}"))),
            Some(Challenge::Bearer { realm, service, .. }) => {
                let key = crate::auth::token_key(scopes);
                if let Some(t) = self.tokens.get(&key) {
                    return Ok(Some(format!("Bearer {t}")));
                }
                let _one_at_a_time = self.token_fetch.lock().expect("token fetch lock");
                if let Some(t) = self.tokens.get(&key) {
                    return Ok(Some(format!("Bearer {t}")));
                }
                let (token, lifetime) =
                    self.fetch_token(client, &realm, service.as_deref(), scopes)?;
                self.tokens.put(key, token.clone(), lifetime);
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    /// Learns the challenge of a 401 and drops the token that was refused (expired, revoked).
    pub fn on_unauthorized(&self, resp: &Response, scopes: &[Scope]) {
        if let Some(ch) = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(Challenge::parse)
        {
            *self.challenge.lock().expect("challenge lock") = Some(ch);
        }
        self.tokens.forget(&crate::auth::token_key(scopes));
    }

    /// The error for credentials the registry refused.
    pub fn unauthorized(&self) -> RegistryError {
        RegistryError::Unauthorized {
            registry: self.registry.clone(),
            who: self.creds.as_ref().map_or_else(
                || "anonymous access (no credentials were found for it)".to_owned(),
                Credentials::who,
            ),
        }
    }

    /// Classifies a transport error.
    pub fn transport_error(&self, e: reqwest::Error) -> RegistryError {
        classify(&self.registry, e)
    }

    fn fetch_token(
        &self,
        client: &Transport<'_>,
        realm: &str,
        service: Option<&str>,
        scopes: &[Scope],
    ) -> Result<(String, Duration)> {
        let bad_realm = || RegistryError::Unexpected {
            registry: self.registry.clone(),
            what: format!("a token realm `{realm}` that is not a URL"),
            status: 401,
            code: None,
            message: None,
        };
        let mut url = reqwest::Url::parse(realm).map_err(|_| bad_realm())?;
        let scope_params: Vec<String> = scopes.iter().map(Scope::param).collect();
        let what = format!("token request to `{}`", url.host_str().unwrap_or(realm));
        let send = || -> Result<Response> {
            let rb = match &self.creds {
                Some(Credentials::IdentityToken(refresh)) => {
                    // OAuth2: exchange the stored refresh token for an access token.
                    let mut form = reqwest::Url::parse("form:").expect("static URL");
                    {
                        let mut q = form.query_pairs_mut();
                        q.append_pair("grant_type", "refresh_token");
                        q.append_pair("refresh_token", refresh);
                        q.append_pair("client_id", "hoist");
                        if let Some(s) = service {
                            q.append_pair("service", s);
                        }
                        if !scope_params.is_empty() {
                            q.append_pair("scope", &scope_params.join(" "));
                        }
                    }
                    client
                        .http
                        .post(url.clone())
                        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(form.query().unwrap_or_default().to_owned())
                }
                creds => {
                    let mut u = url.clone();
                    {
                        let mut q = u.query_pairs_mut();
                        if let Some(s) = service {
                            q.append_pair("service", s);
                        }
                        for s in &scope_params {
                            q.append_pair("scope", s);
                        }
                    }
                    let rb = client.http.get(u);
                    match creds {
                        Some(Credentials::Basic { username, password }) => {
                            rb.basic_auth(username, Some(password))
                        }
                        _ => rb,
                    }
                }
            };
            let resp = rb.send().map_err(|e| self.transport_error(e))?;
            match resp.status().as_u16() {
                200 => Ok(resp),
                401 | 403 => Err(self.unauthorized()),
                status @ (429 | 500..=599) => {
                    let (code, message) = oci_error(resp);
                    Err(RegistryError::Server {
                        registry: self.registry.clone(),
                        what: what.clone(),
                        status,
                        code,
                        message,
                    })
                }
                _ => Err(unexpected(self, &what, resp)),
            }
        };
        let resp = client.retry.run(&what, client.retries, send)?;
        url.set_query(None);
        let text = resp.text().map_err(|e| self.transport_error(e))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| RegistryError::Json {
                what: format!("the token response of `{url}`"),
                source,
            })?;
        let token = v["token"]
            .as_str()
            .or_else(|| v["access_token"].as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| RegistryError::Json {
                what: format!("the token response of `{url}`"),
                source: serde::de::Error::custom("it has no `token` or `access_token`"),
            })?;
        let lifetime = v["expires_in"]
            .as_u64()
            .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
        Ok((token.to_owned(), lifetime))
    }
}

/// `GET /v2/`: `None` when no authentication is asked for, else the challenge.
fn ping(client: &Transport<'_>, registry: &str, base: &str) -> Result<Option<Challenge>> {
    let url = format!("{base}/v2/");
    let what = format!("GET {url}");
    let resp = client.retry.run(&what, client.retries, || {
        let resp = client
            .http
            .get(&url)
            .send()
            .map_err(|e| classify(registry, e))?;
        let status = resp.status().as_u16();
        if status == 429 || status >= 500 {
            let (code, message) = oci_error(resp);
            return Err(RegistryError::Server {
                registry: registry.to_owned(),
                what: what.clone(),
                status,
                code,
                message,
            });
        }
        Ok(resp)
    })?;
    match resp.status().as_u16() {
        200..=299 => Ok(None),
        401 => Ok(resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(Challenge::parse)),
        status => {
            let (code, message) = oci_error(resp);
            Err(RegistryError::Unexpected {
                registry: registry.to_owned(),
                what: format!("{what} (is this a registry?)"),
                status,
                code,
                message,
            })
        }
    }
}

/// A transport error by what it is: a TLS failure (a `rustls::Error` in its causes: an unknown
/// authority, or TLS spoken to a plain-http port), a host name that does not resolve (found by
/// resolving it again: the resolver's own error has no type to tell), or another failure to
/// connect (refused, reset, timed out), which may pass.
fn classify(registry: &str, e: reqwest::Error) -> RegistryError {
    let mut cur: Option<&dyn std::error::Error> = Some(&e);
    let mut tls = false;
    while let Some(err) = cur {
        tls |= is_rustls(err);
        cur = err.source();
    }
    let registry = registry.to_owned();
    if tls {
        return RegistryError::Tls {
            registry,
            source: e,
        };
    }
    if e.is_connect() && !resolves(&registry) {
        return RegistryError::Unresolved {
            registry,
            source: e,
        };
    }
    RegistryError::Connect {
        registry,
        source: e,
    }
}

/// Whether `err` is a `rustls::Error`, or carries one inside `io::Error`s (tokio-rustls and
/// hyper wrap it so, and an `io::Error`'s `source()` skips what it carries).
fn is_rustls(err: &(dyn std::error::Error + 'static)) -> bool {
    if err.downcast_ref::<rustls::Error>().is_some() {
        return true;
    }
    err.downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
        .is_some_and(|inner| is_rustls(inner))
}

/// Whether `host[:port]` resolves to an address now.
fn resolves(registry: &str) -> bool {
    use std::net::ToSocketAddrs as _;
    let with_port = if registry
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        registry.to_owned()
    } else {
        format!("{registry}:443")
    };
    with_port
        .to_socket_addrs()
        .is_ok_and(|mut a| a.next().is_some())
}

/// Plain http is allowed for the loopback interface and registries the user marked insecure.
pub(crate) fn allows_http(registry: &str, insecure: &[String]) -> bool {
    if insecure.iter().any(|r| r == registry) {
        return true;
    }
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        registry.split(':').next().unwrap_or(registry)
    };
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// An error for a status the protocol does not allow here.
pub(crate) fn unexpected(session: &Session, what: &str, resp: Response) -> RegistryError {
    let status = resp.status().as_u16();
    let (code, message) = oci_error(resp);
    RegistryError::Unexpected {
        registry: session.registry.clone(),
        what: what.to_owned(),
        status,
        code,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_only_for_loopback_or_marked_registries() {
        assert!(allows_http("localhost:5000", &[]));
        assert!(allows_http("127.0.0.1:5000", &[]));
        assert!(allows_http("[::1]:5000", &[]));
        assert!(!allows_http("registry.example.com", &[]));
        assert!(allows_http(
            "registry.lan:5000",
            &["registry.lan:5000".to_owned()]
        ));
        assert!(!allows_http("localhost.example.com", &[]));
    }
}
