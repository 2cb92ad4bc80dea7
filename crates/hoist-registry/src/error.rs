//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

use hoist_core::Digest;

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// An image reference or repository name that does not parse.
    #[error("`{reference}` is not a valid image reference: {reason}")]
    InvalidReference {
        /// The text given.
        reference: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The registry could not be reached: unknown host, connection refused, reset, timeout.
    #[error("cannot reach the registry `{registry}`")]
    Connect {
        /// The registry host (and port).
        registry: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The registry's host name does not resolve (no retry: it will not resolve a second later).
    #[error("cannot reach the registry `{registry}`: its host name does not resolve")]
    Unresolved {
        /// The registry host (and port).
        registry: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The TLS handshake failed, usually an unknown certificate authority.
    #[error("TLS connection to the registry `{registry}` failed")]
    Tls {
        /// The registry host (and port).
        registry: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The registry speaks plain http only, which hoist allows for localhost or registries
    /// marked insecure.
    #[error(
        "the registry `{registry}` does not speak https, and plain http is allowed only for localhost or registries marked insecure"
    )]
    InsecureNotAllowed {
        /// The registry host (and port).
        registry: String,
    },
    /// The registry refused the credentials (or asked for some and none were found).
    #[error("the registry `{registry}` refused {who}")]
    Unauthorized {
        /// The registry host (and port).
        registry: String,
        /// `the credentials of user `u`` or `anonymous access`.
        who: String,
    },
    /// The credentials are valid but lack a permission on a repository.
    #[error("the registry `{registry}` denied `{action}` on `{repository}`")]
    Denied {
        /// The registry host (and port).
        registry: String,
        /// The repository.
        repository: String,
        /// `pull` or `push`.
        action: &'static str,
    },
    /// The registry kept answering with a server error (after retries).
    #[error("the registry `{registry}` answered {status} to {what}{}", detail(.code.as_deref(), .message.as_deref()))]
    Server {
        /// The registry host (and port).
        registry: String,
        /// What was being done, e.g. `PUT manifest`.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The OCI error code, if the body had one.
        code: Option<String>,
        /// The OCI error message, if the body had one.
        message: Option<String>,
    },
    /// A status the protocol does not allow at this point.
    #[error("unexpected answer {status} from `{registry}` to {what}{}", detail(.code.as_deref(), .message.as_deref()))]
    Unexpected {
        /// The registry host (and port).
        registry: String,
        /// What was being done.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The OCI error code, if the body had one.
        code: Option<String>,
        /// The OCI error message, if the body had one.
        message: Option<String>,
    },
    /// The manifest or repository does not exist.
    #[error("`{reference}` was not found in the registry")]
    NotFound {
        /// The reference asked for.
        reference: String,
    },
    /// Content did not hash to the digest it was fetched (or announced) by.
    #[error("{what} from `{registry}` has digest `{actual}`, expected `{expected}`")]
    DigestMismatch {
        /// The registry it came from.
        registry: String,
        /// `manifest`, `blob`, …
        what: &'static str,
        /// The digest it should have.
        expected: Digest,
        /// The digest it has.
        actual: Digest,
    },
    /// A manifest or index of a media type hoist does not know.
    #[error("`{reference}` has media type `{media_type}`, which hoist cannot handle")]
    UnsupportedMediaType {
        /// The reference.
        reference: String,
        /// Its media type.
        media_type: String,
    },
    /// An image index has no manifest for the wanted platform.
    #[error("`{reference}` has no image for `{platform}`; it has: {available}")]
    PlatformNotFound {
        /// The reference.
        reference: String,
        /// The platform wanted.
        platform: String,
        /// The platforms it has, comma-separated.
        available: String,
    },
    /// A JSON document (manifest, index, config, token, auth file) does not parse.
    #[error("{what} is not valid JSON")]
    Json {
        /// What was parsed.
        what: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A local file (blob, auth file, CA file) could not be read or written.
    #[error("cannot use `{path}`")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O cause.
        #[source]
        source: io::Error,
    },
    /// The CA file holds no usable certificate.
    #[error("`{path}` holds no PEM certificate")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: reqwest::Error,
    },
    /// A `docker-credential-*` helper failed.
    #[error("the credential helper `docker-credential-{helper}` failed: {message}")]
    CredentialHelper {
        /// The helper's suffix (`pass`, `secretservice`, …).
        helper: String,
        /// What it printed (never the secret).
        message: String,
    },
    /// The blob store (hoist's cache) failed.
    #[error("the blob store failed")]
    Store {
        /// The store's error.
        #[source]
        source: hoist_image::ImageError,
    },
    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client")]
    Client {
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
}

fn detail(code: Option<&str>, message: Option<&str>) -> String {
    match (code, message) {
        (Some(c), Some(m)) => format!(" ({c}: {m})"),
        (Some(c), None) => format!(" ({c})"),
        (None, Some(m)) => format!(" ({m})"),
        (None, None) => String::new(),
    }
}

impl RegistryError {
    /// Whether trying again may succeed: a dropped connection or a server error, not a wrong
    /// password or a missing image.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Connect { .. } | Self::Server { .. })
    }
}

/// Results of this crate.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;
