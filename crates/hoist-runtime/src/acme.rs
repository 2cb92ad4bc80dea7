//! Certificates for the proxy's HTTPS listener from an ACME CA (RFC 8555: Let's Encrypt, or a
//! test CA such as Pebble), renewed before they expire, with no restart.
//!
//! The agent proves it controls each domain with HTTP-01: the CA fetches
//! `http://DOMAIN/.well-known/acme-challenge/TOKEN` on port 80, which the proxy's plain listener
//! answers ([`crate::proxy::challenge`]) before any redirect or route. The account key, the
//! certificate and its key live in `STATE/acme/` (directory 0700, files 0600) and are loaded on
//! the next start, so a restarted agent serves HTTPS at once and asks the CA for nothing: a
//! crash loop cannot run into the CA's rate limits. Their content is never logged; errors name
//! the CA's problem and the domain, never a key.
//!
//! Renewal follows the CA's own advice for its lifetimes: a certificate is renewed once two
//! thirds of its validity have passed (30 days before the end of a 90-day one), and a failed
//! attempt is tried again with a back-off from 10 s to an hour while the current certificate
//! keeps serving.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use serde::{Deserialize, Serialize};

use crate::proxy::Proxy;
use crate::proxy::tls::Certs;

/// Let's Encrypt's production directory: the default CA.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// The directory under the state directory that holds the account and the certificate.
pub const DIR: &str = "acme";

/// The longest wait between two looks at the certificate (a clock that jumps, or a CA that
/// revoked, is noticed within this).
const RECHECK: Duration = Duration::from_hours(12);
/// The first wait after a failed attempt, doubled up to [`RETRY_MAX`].
const RETRY_MIN: Duration = Duration::from_secs(10);
const RETRY_MAX: Duration = Duration::from_hours(1);

/// What to ask the CA for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeOptions {
    /// The names the certificate covers; each must reach this host's port 80.
    pub domains: Vec<String>,
    /// The CA's directory URL.
    pub directory: String,
    /// A contact address for the account (the CA's expiry mails), if any.
    pub email: Option<String>,
    /// A PEM root that the CA's own HTTPS endpoint is signed by, for test CAs; default: the
    /// system's roots.
    pub ca: Option<PathBuf>,
}

/// Why a certificate could not be had; the task logs it and tries again later.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The CA answered with a problem, or could not be reached.
    #[error("the ACME CA at {directory}: {source}")]
    Ca {
        /// The directory URL.
        directory: String,
        /// instant-acme's error (the CA's problem document, or the transport's).
        #[source]
        source: instant_acme::Error,
    },
    /// A domain's authorization failed (the CA could not fetch the token).
    #[error("the CA could not validate `{domain}` over HTTP-01: {reason}")]
    Validation {
        /// The domain.
        domain: String,
        /// The CA's words.
        reason: String,
    },
    /// The order ended in a state other than valid.
    #[error("the order for {domains} ended {status}")]
    Order {
        /// The domains, comma-separated.
        domains: String,
        /// Its last status.
        status: String,
    },
    /// A file in `STATE/acme/` cannot be read or written.
    #[error("`{}`: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// What the CA sent is not a usable certificate for the key.
    #[error(transparent)]
    Tls(#[from] crate::proxy::tls::TlsError),
}

/// What `STATE/acme/cert.json` says about the certificate beside it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Meta {
    domains: Vec<String>,
    directory: String,
    /// Unix seconds.
    not_before: i64,
    not_after: i64,
}

impl Meta {
    /// When to renew: two thirds of the way through the validity.
    fn renew_at(&self) -> i64 {
        self.not_before + (self.not_after - self.not_before) * 2 / 3
    }
}

/// What the agent says of its certificate (`GET /v1/agent`), shared with the ACME task.
pub type TlsState = Arc<std::sync::Mutex<crate::api::TlsInfo>>;

/// Serves the certificate a previous run stored in `dir` for `opts` at once, if there is one.
/// Called before the HTTPS listener accepts: a restarted agent (a kill -9, its supervisor's
/// restart) must not take a handshake before it has its certificate, which [`run`], a task of
/// its own, would load only when the runtime first polls it.
pub fn serve_stored(opts: &AcmeOptions, dir: &Path, certs: &Certs) {
    if let Ok(Some((_, key))) = load_cached(opts, dir) {
        certs.set(key);
    }
}

/// Keeps `certs` holding a valid certificate for `opts`, forever: the agent runs it as a task.
/// A certificate already in `dir` for the same domains and CA is served at once. `state` says
/// what is served and the last failure, for `hoist status`.
pub async fn run(
    opts: AcmeOptions,
    dir: PathBuf,
    proxy: Arc<Proxy>,
    certs: Arc<Certs>,
    state: TlsState,
) {
    let report = |not_after: Option<i64>, error: Option<String>| {
        let mut s = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if not_after.is_some() {
            s.not_after = not_after;
        }
        s.error = error;
    };
    let mut meta = match load_cached(&opts, &dir) {
        Ok(Some((meta, key))) => {
            certs.set(key);
            report(Some(meta.not_after), None);
            tracing::info!(domains = %opts.domains.join(","), "serving the ACME certificate from the last run");
            Some(meta)
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "the stored ACME certificate cannot be used; asking for a new one");
            None
        }
    };
    let mut retry = RETRY_MIN;
    loop {
        let now = crate::store::now();
        if let Some(m) = &meta
            && now < m.renew_at()
        {
            let wait = Duration::from_secs((m.renew_at() - now).max(1).unsigned_abs());
            tokio::time::sleep(wait.min(RECHECK)).await;
            continue;
        }
        match obtain(&opts, &dir, &proxy).await {
            Ok((m, key)) => {
                certs.set(key);
                report(Some(m.not_after), None);
                tracing::info!(
                    domains = %opts.domains.join(","),
                    valid_for_s = m.not_after - crate::store::now(),
                    "ACME certificate obtained"
                );
                meta = Some(m);
                retry = RETRY_MIN;
            }
            Err(e) => {
                tracing::warn!(error = %hoist_core::error_line(&e), retry_in_s = retry.as_secs(), "no ACME certificate");
                report(None, Some(hoist_core::error_line(&e)));
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(RETRY_MAX);
            }
        }
    }
}

/// The certificate in `dir`, when it is for these domains and CA and not yet due for renewal.
fn load_cached(
    opts: &AcmeOptions,
    dir: &Path,
) -> Result<Option<(Meta, rustls::sign::CertifiedKey)>, AcmeError> {
    let meta_path = dir.join("cert.json");
    let Ok(text) = std::fs::read_to_string(&meta_path) else {
        return Ok(None);
    };
    let Ok(meta) = serde_json::from_str::<Meta>(&text) else {
        return Ok(None);
    };
    if meta.domains != opts.domains || meta.directory != opts.directory {
        return Ok(None);
    }
    let key = crate::proxy::tls::load(&dir.join("cert.pem"), &dir.join("key.pem"))?;
    if crate::store::now() >= meta.not_after {
        return Ok(None);
    }
    Ok(Some((meta, key)))
}

/// One order, start to finish: account, HTTP-01 for every domain, finalize, download, store.
async fn obtain(
    opts: &AcmeOptions,
    dir: &Path,
    proxy: &Proxy,
) -> Result<(Meta, rustls::sign::CertifiedKey), AcmeError> {
    let ca = |source| AcmeError::Ca {
        directory: opts.directory.clone(),
        source,
    };
    crate::private::create_dir(dir).map_err(|source| AcmeError::File {
        path: dir.to_owned(),
        source,
    })?;
    let account = account(opts, dir).await?;
    let identifiers: Vec<Identifier> = opts
        .domains
        .iter()
        .map(|d| Identifier::Dns(d.clone()))
        .collect();
    let mut order = account
        .new_order(&NewOrder::new(&identifiers))
        .await
        .map_err(ca)?;
    let mut tokens = Vec::new();
    let result = async {
        let mut authorizations = order.authorizations();
        while let Some(authz) = authorizations.next().await {
            let mut authz = authz.map_err(ca)?;
            if authz.status == AuthorizationStatus::Valid {
                continue;
            }
            let domain = authz.identifier().to_string();
            let mut challenge =
                authz
                    .challenge(ChallengeType::Http01)
                    .ok_or_else(|| AcmeError::Validation {
                        domain: domain.clone(),
                        reason: "the CA offers no HTTP-01 challenge for it".to_owned(),
                    })?;
            proxy
                .challenges()
                .insert(&challenge.token, challenge.key_authorization().as_str());
            tokens.push(challenge.token.clone());
            challenge.set_ready().await.map_err(ca)?;
        }
        let policy = RetryPolicy::new()
            .initial_delay(Duration::from_millis(250))
            .timeout(Duration::from_secs(90));
        let status = order.poll_ready(&policy).await.map_err(ca)?;
        if status != OrderStatus::Ready {
            return Err(failed_order(&mut order, opts, status).await);
        }
        let key_pem = order.finalize().await.map_err(ca)?;
        let chain_pem = order.poll_certificate(&policy).await.map_err(ca)?;
        Ok((key_pem, chain_pem))
    }
    .await;
    for t in &tokens {
        proxy.challenges().remove(t);
    }
    let (key_pem, chain_pem) = result?;
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    let key = crate::proxy::tls::from_pem(
        chain_pem.as_bytes(),
        key_pem.as_bytes(),
        &cert_path,
        &key_path,
    )?;
    let (not_before, not_after) = validity(&chain_pem).ok_or_else(|| AcmeError::Order {
        domains: opts.domains.join(", "),
        status: "with a certificate whose validity cannot be read".to_owned(),
    })?;
    let meta = Meta {
        domains: opts.domains.clone(),
        directory: opts.directory.clone(),
        not_before,
        not_after,
    };
    // Key first, metadata last: a crash in between leaves a pair that `load_cached` rejects
    // (mismatched, or no metadata), never a certificate served with the wrong key.
    write(&key_path, key_pem.as_bytes())?;
    write(&cert_path, chain_pem.as_bytes())?;
    write(
        &dir.join("cert.json"),
        &serde_json::to_vec_pretty(&meta).expect("plain data serializes"),
    )?;
    Ok((meta, key))
}

/// The CA's reason a failed order's authorizations were refused, for the log.
async fn failed_order(
    order: &mut instant_acme::Order,
    opts: &AcmeOptions,
    status: OrderStatus,
) -> AcmeError {
    let mut authorizations = order.authorizations();
    while let Some(Ok(authz)) = authorizations.next().await {
        if authz.status == AuthorizationStatus::Invalid {
            let reason = authz
                .challenges
                .iter()
                .find_map(|c| c.error.as_ref())
                .map_or_else(|| "invalid".to_owned(), ToString::to_string);
            return AcmeError::Validation {
                domain: authz.identifier().to_string(),
                reason,
            };
        }
    }
    AcmeError::Order {
        domains: opts.domains.join(", "),
        status: format!("{status:?}").to_lowercase(),
    }
}

/// The account of `dir/account.json`, or a new one (saved there, 0600) on first use.
async fn account(opts: &AcmeOptions, dir: &Path) -> Result<Account, AcmeError> {
    let ca = |source| AcmeError::Ca {
        directory: opts.directory.clone(),
        source,
    };
    let builder = || match &opts.ca {
        Some(root) => Account::builder_with_root(root).map_err(ca),
        None => Account::builder().map_err(ca),
    };
    let path = dir.join(format!("account-{}.json", short_hash(&opts.directory)));
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(creds) = serde_json::from_str::<AccountCredentials>(&text)
    {
        return builder()?.from_credentials(creds).await.map_err(ca);
    }
    let contact = opts.email.as_ref().map(|e| format!("mailto:{e}"));
    let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
    let (account, creds) = builder()?
        .create(
            &NewAccount {
                contact: &contacts,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            opts.directory.clone(),
            None,
        )
        .await
        .map_err(ca)?;
    write(
        &path,
        &serde_json::to_vec(&creds).expect("credentials serialize"),
    )?;
    Ok(account)
}

/// A DER certificate's notAfter, Unix seconds.
pub(crate) fn not_after(der: &[u8]) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.validity().not_after.timestamp())
}

/// The first certificate's notBefore and notAfter, Unix seconds.
fn validity(chain_pem: &str) -> Option<(i64, i64)> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let first = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .next()?
        .ok()?;
    let (_, cert) = x509_parser::parse_x509_certificate(&first).ok()?;
    let v = cert.validity();
    Some((v.not_before.timestamp(), v.not_after.timestamp()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), AcmeError> {
    crate::private::write(path, bytes, crate::private::FILE_MODE).map_err(|source| {
        AcmeError::File {
            path: path.to_owned(),
            source,
        }
    })
}

/// Eight hex digits of the directory URL's sha256: one account file per CA.
fn short_hash(s: &str) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(s.as_bytes());
    format!("{:02x}{:02x}{:02x}{:02x}", d[0], d[1], d[2], d[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_is_due_two_thirds_through_the_validity() {
        let m = Meta {
            domains: vec!["a.example".into()],
            directory: LETS_ENCRYPT.into(),
            not_before: 0,
            not_after: 90 * 86_400,
        };
        assert_eq!(m.renew_at(), 60 * 86_400);
    }

    #[test]
    fn a_stored_certificate_for_other_domains_or_another_ca_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let opts = AcmeOptions {
            domains: vec!["a.example".into()],
            directory: LETS_ENCRYPT.into(),
            email: None,
            ca: None,
        };
        assert!(load_cached(&opts, dir.path()).unwrap().is_none());
        let meta = Meta {
            domains: vec!["b.example".into()],
            directory: LETS_ENCRYPT.into(),
            not_before: 0,
            not_after: i64::MAX,
        };
        std::fs::write(
            dir.path().join("cert.json"),
            serde_json::to_vec(&meta).unwrap(),
        )
        .unwrap();
        assert!(load_cached(&opts, dir.path()).unwrap().is_none());
        let other_ca = AcmeOptions {
            domains: vec!["b.example".into()],
            directory: "https://other/dir".into(),
            ..opts
        };
        assert!(load_cached(&other_ca, dir.path()).unwrap().is_none());
    }
}
