//! The proxy over TLS: certificates from files or ACME (swapped live on renewal), HTTP/2 and HTTP/1.1 by ALPN, and the plain
//! listener's redirect to HTTPS.
//!
//! rustls (ring, as everywhere in hoist) terminates TLS; hyper-util's auto connection serves
//! whichever protocol the client and ALPN agreed on, with the same request handling as the
//! plain listener, so routes, splits, faults and metrics are the same on both. The key file is
//! read once, into rustls, and never logged: errors name the file, not its content.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::{Proxy, forward};

/// A handshake that takes longer than this is dropped (a client that connects and says
/// nothing holds no task forever).
const HANDSHAKE: Duration = Duration::from_secs(10);

/// Why TLS cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate file that cannot be read or holds no certificate.
    #[error("cannot read a certificate chain from `{}`: {reason}", path.display())]
    Cert {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A key file that cannot be read or holds no private key (its content is never shown).
    #[error("cannot read a private key from `{}`: {reason}", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The key does not fit the certificate, or rustls refuses them.
    #[error("the certificate `{}` and the key `{}` cannot be used together: {source}", cert.display(), key.display())]
    Config {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        source: rustls::Error,
    },
}

/// The certificate the HTTPS listener presents, swapped whole when a renewed one arrives (ACME)
/// so a renewal needs no restart and drops no connection. Empty until the first certificate is
/// there: a handshake before that fails (the plain listener already answers the CA's challenge).
#[derive(Debug, Default)]
pub struct Certs(arc_swap::ArcSwapOption<CertifiedKey>);

impl Certs {
    /// Presents `key` from the next handshake on.
    pub fn set(&self, key: CertifiedKey) {
        self.0.store(Some(Arc::new(key)));
    }

    /// Whether a certificate is there to present.
    pub fn is_set(&self) -> bool {
        self.0.load().is_some()
    }
}

impl ResolvesServerCert for Certs {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.load_full()
    }
}

/// The certificate chain and key in these PEM files, checked to belong together.
///
/// # Errors
///
/// [`TlsError`] naming the file at fault.
pub fn load(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let chain_pem = std::fs::read(cert).map_err(|e| TlsError::Cert {
        path: cert.to_owned(),
        reason: e.to_string(),
    })?;
    let key_pem = std::fs::read(key).map_err(|e| TlsError::Key {
        path: key.to_owned(),
        reason: e.to_string(),
    })?;
    from_pem(&chain_pem, &key_pem, cert, key)
}

/// [`load`] from PEM bytes; `cert` and `key` name where they came from, for the errors.
///
/// # Errors
///
/// [`TlsError`] naming the file at fault.
pub fn from_pem(
    chain_pem: &[u8],
    key_pem: &[u8],
    cert: &Path,
    key: &Path,
) -> Result<CertifiedKey, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Cert {
            path: cert.to_owned(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Cert {
            path: cert.to_owned(),
            reason: "no CERTIFICATE block in it".to_owned(),
        });
    }
    // The error's text names the PEM problem, never the key's bytes.
    let private = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Key {
        path: key.to_owned(),
        reason: match e {
            rustls::pki_types::pem::Error::NoItemsFound => "no PRIVATE KEY block in it".to_owned(),
            _ => "not a PEM private key".to_owned(),
        },
    })?;
    let provider = rustls::crypto::ring::default_provider();
    CertifiedKey::from_der(chain, private, &provider).map_err(|source| TlsError::Config {
        cert: cert.to_owned(),
        key: key.to_owned(),
        source,
    })
}

/// A TLS acceptor presenting whatever `certs` holds at each handshake, offering HTTP/2 and
/// HTTP/1.1.
///
/// # Panics
///
/// Never: ring supports every protocol version rustls enables by default.
pub fn acceptor(certs: Arc<Certs>) -> TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports rustls's default protocol versions")
        .with_no_client_auth()
        .with_cert_resolver(certs);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

impl Proxy {
    /// Serves HTTPS on `listener` until this future is dropped: HTTP/2 or HTTP/1.1 as ALPN
    /// agreed, each connection in its own task.
    pub async fn serve_tls(self: Arc<Self>, listener: TcpListener, acceptor: TlsAcceptor) {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (proxy, acceptor) = (Arc::clone(&self), acceptor.clone());
            tokio::spawn(async move {
                let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await
                else {
                    tracing::debug!(%peer, "TLS handshake failed or timed out");
                    return;
                };
                let service = proxy.connection_service(Arc::new(forward::Peer::secure(peer)));
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                if let Err(e) = builder
                    .serve_connection_with_upgrades(TokioIo::new(tls), service)
                    .await
                {
                    tracing::debug!(%peer, error = %e, "TLS client connection ended with an error");
                }
            });
        }
    }
}

/// Where a plain-HTTP request is sent instead when the proxy redirects to HTTPS on `port`:
/// the same host (without its port) and path, `https`, the port said unless it is 443.
pub(crate) fn https_location(host: &str, port: u16, path_and_query: &str) -> String {
    let name = match host.rsplit_once(':') {
        // An IPv6 literal keeps its brackets; `[::1]:8080` → `[::1]`.
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !h.ends_with(':') => h,
        _ => host,
    };
    if port == 443 {
        format!("https://{name}{path_and_query}")
    } else {
        format!("https://{name}:{port}{path_and_query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redirect_keeps_host_and_path_and_names_the_port_unless_443() {
        assert_eq!(
            https_location("example.com:80", 443, "/a?b=1"),
            "https://example.com/a?b=1"
        );
        assert_eq!(
            https_location("localhost:8080", 8443, "/"),
            "https://localhost:8443/"
        );
        assert_eq!(https_location("[::1]:80", 443, "/x"), "https://[::1]/x");
        assert_eq!(
            https_location("example.com", 443, "/"),
            "https://example.com/"
        );
    }

    #[test]
    fn bad_files_name_the_file_and_never_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, "not a certificate").unwrap();
        std::fs::write(&key, "SECRET-KEY-BYTES").unwrap();
        let err = load(&cert, &key).expect_err("refused").to_string();
        assert!(err.contains("cert.pem"), "{err}");
        let missing = load(&dir.path().join("none.pem"), &key)
            .expect_err("refused")
            .to_string();
        assert!(missing.contains("none.pem"), "{missing}");
        assert!(!err.contains("SECRET") && !missing.contains("SECRET"));
    }
}
