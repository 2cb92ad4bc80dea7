//! Credentials stored by `docker login`, `podman login` and `hoist login`: docker's
//! `config.json` (`auths`, `credsStore`, `credHelpers`) and podman's `auth.json`.
//!
//! The caller names the files (the CLI resolves `DOCKER_CONFIG`, `REGISTRY_AUTH_FILE` and
//! `XDG_RUNTIME_DIR`); this module never reads the environment.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde_json::{Map, Value};

use super::Credentials;
use crate::error::{RegistryError, Result};
use crate::reference::DOCKER_HUB;

/// The key docker writes for Docker Hub, and the server URL its helpers are asked about.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The credential files hoist reads, in this order: podman's `auth.json`, then docker's
/// `config.json` (as podman does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthFiles {
    /// podman's `auth.json` (`$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`).
    pub podman_auth: Option<PathBuf>,
    /// docker's `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`):
    /// also where `hoist login` writes.
    pub docker_config: Option<PathBuf>,
}

/// Where credentials were found, for messages (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// Given by the caller (flags or environment variables).
    Explicit,
    /// An `auths` entry of this file.
    File(PathBuf),
    /// A `docker-credential-*` helper.
    Helper(String),
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Explicit => f.write_str("the command line or environment"),
            Self::File(p) => write!(f, "`{}`", p.display()),
            Self::Helper(h) => write!(f, "`docker-credential-{h}`"),
        }
    }
}

impl AuthFiles {
    /// The credentials stored for `registry` (`host[:port]`, `docker.io` for Docker Hub).
    ///
    /// # Errors
    /// [`RegistryError::Io`] or [`RegistryError::Json`] for an unreadable file,
    /// [`RegistryError::CredentialHelper`] when a helper fails for another reason than not
    /// knowing the registry.
    pub fn lookup(&self, registry: &str) -> Result<Option<(Credentials, CredentialSource)>> {
        if let Some(path) = &self.podman_auth
            && let Some(doc) = read_json(path)?
            && let Some(c) = from_auths(&doc, registry, path)?
        {
            return Ok(Some((c, CredentialSource::File(path.clone()))));
        }
        let Some(path) = &self.docker_config else {
            return Ok(None);
        };
        let Some(doc) = read_json(path)? else {
            return Ok(None);
        };
        if let Some(helper) = helper_for(&doc, registry) {
            return Ok(
                helper_get(&helper, registry)?.map(|c| (c, CredentialSource::Helper(helper)))
            );
        }
        if let Some(c) = from_auths(&doc, registry, path)? {
            return Ok(Some((c, CredentialSource::File(path.clone()))));
        }
        if let Some(store) = doc.get("credsStore").and_then(Value::as_str) {
            let store = store.to_owned();
            return Ok(helper_get(&store, registry)?.map(|c| (c, CredentialSource::Helper(store))));
        }
        Ok(None)
    }

    /// Stores `credentials` for `registry` in docker's `config.json` (through its credential
    /// helper when one is configured), keeping everything else in the file.
    ///
    /// # Errors
    /// [`RegistryError::Io`], [`RegistryError::Json`], [`RegistryError::CredentialHelper`].
    pub fn store(&self, registry: &str, credentials: &Credentials) -> Result<CredentialSource> {
        let path = self.config_path()?;
        let mut doc = read_json(&path)?.unwrap_or_else(|| Value::Object(Map::new()));
        if let Some(helper) = helper_for(&doc, registry).or_else(|| {
            doc.get("credsStore")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }) {
            let (user, secret) = match credentials {
                Credentials::Basic { username, password } => (username.as_str(), password.as_str()),
                Credentials::IdentityToken(t) => ("<token>", t.as_str()),
            };
            let input = serde_json::json!({
                "ServerURL": server_url(registry), "Username": user, "Secret": secret,
            });
            run_helper(&helper, "store", &input.to_string())?;
            return Ok(CredentialSource::Helper(helper));
        }
        let entry = match credentials {
            Credentials::Basic { .. } => {
                serde_json::json!({ "auth": credentials.basic_token().unwrap_or_default() })
            }
            Credentials::IdentityToken(t) => serde_json::json!({ "identitytoken": t }),
        };
        let obj = object(&mut doc, &path)?;
        let auths = obj
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(auths) = auths else {
            return Err(not_an_object(&path));
        };
        auths.retain(|k, _| normalize(k) != registry);
        auths.insert(key_for(registry), entry);
        write_json(&path, &doc)?;
        Ok(CredentialSource::File(path))
    }

    /// Removes what is stored for `registry` from docker's `config.json` (and its helper).
    /// Returns whether anything was removed.
    ///
    /// # Errors
    /// As [`AuthFiles::store`].
    pub fn remove(&self, registry: &str) -> Result<bool> {
        let path = self.config_path()?;
        let Some(mut doc) = read_json(&path)? else {
            return Ok(false);
        };
        let mut removed = false;
        if let Some(helper) = helper_for(&doc, registry).or_else(|| {
            doc.get("credsStore")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }) {
            removed |= run_helper(&helper, "erase", &server_url(registry)).is_ok();
        }
        let obj = object(&mut doc, &path)?;
        if let Some(Value::Object(auths)) = obj.get_mut("auths") {
            let before = auths.len();
            auths.retain(|k, _| normalize(k) != registry);
            if auths.len() != before {
                removed = true;
                write_json(&path, &doc)?;
            }
        }
        Ok(removed)
    }

    fn config_path(&self) -> Result<PathBuf> {
        self.docker_config.clone().ok_or_else(|| RegistryError::Io {
            path: PathBuf::from("config.json"),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no docker config file location (no home directory and DOCKER_CONFIG unset)",
            ),
        })
    }
}

fn object<'a>(doc: &'a mut Value, path: &Path) -> Result<&'a mut Map<String, Value>> {
    match doc {
        Value::Object(o) => Ok(o),
        _ => Err(not_an_object(path)),
    }
}

fn not_an_object(path: &Path) -> RegistryError {
    RegistryError::Json {
        what: format!("`{}`", path.display()),
        source: serde::de::Error::custom("expected a JSON object"),
    }
}

/// `https://index.docker.io/v1/` → `docker.io`; `https://host:5000/v2/` → `host:5000`.
fn normalize(key: &str) -> String {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = k.split('/').next().unwrap_or(k);
    match host {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_owned(),
        h => h.to_owned(),
    }
}

fn key_for(registry: &str) -> String {
    if registry == DOCKER_HUB {
        DOCKER_HUB_KEY.to_owned()
    } else {
        registry.to_owned()
    }
}

fn server_url(registry: &str) -> String {
    key_for(registry)
}

fn read_json(path: &Path) -> Result<Option<Value>> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(None),
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| RegistryError::Json {
                    what: format!("`{}`", path.display()),
                    source,
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(RegistryError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes through a temporary file (mode 0600: it holds secrets) and a rename.
fn write_json(path: &Path, doc: &Value) -> Result<()> {
    let io = |source| RegistryError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    let mut text = serde_json::to_vec_pretty(doc).expect("a JSON value serializes");
    text.push(b'\n');
    tmp.write_all(&text).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

fn helper_for(doc: &Value, registry: &str) -> Option<String> {
    doc.get("credHelpers")?
        .as_object()?
        .iter()
        .find(|(k, _)| normalize(k) == registry)
        .and_then(|(_, v)| v.as_str())
        .map(str::to_owned)
}

fn from_auths(doc: &Value, registry: &str, path: &Path) -> Result<Option<Credentials>> {
    let Some(auths) = doc.get("auths").and_then(Value::as_object) else {
        return Ok(None);
    };
    let Some(entry) = auths
        .iter()
        .find(|(k, _)| normalize(k) == registry)
        .map(|(_, v)| v)
    else {
        return Ok(None);
    };
    if let Some(t) = entry
        .get("identitytoken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        return Ok(Some(Credentials::IdentityToken(t.to_owned())));
    }
    if let Some(auth) = entry
        .get("auth")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
    {
        let bad = || RegistryError::Json {
            what: format!("the `auth` of `{registry}` in `{}`", path.display()),
            source: serde::de::Error::custom("expected base64 of `user:password`"),
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad())?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
        let (user, pass) = decoded.split_once(':').ok_or_else(bad)?;
        return Ok(Some(Credentials::basic(user, pass)));
    }
    let user = entry.get("username").and_then(Value::as_str);
    let pass = entry.get("password").and_then(Value::as_str);
    Ok(user.zip(pass).map(|(u, p)| Credentials::basic(u, p)))
}

/// `docker-credential-<helper> get`: `None` when the helper knows nothing of `registry`.
fn helper_get(helper: &str, registry: &str) -> Result<Option<Credentials>> {
    let out = match run_helper(helper, "get", &server_url(registry)) {
        Ok(out) => out,
        Err(RegistryError::CredentialHelper { message, .. })
            if message.to_ascii_lowercase().contains("not found") =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let v: Value = serde_json::from_str(&out).map_err(|source| RegistryError::Json {
        what: format!("the output of `docker-credential-{helper} get`"),
        source,
    })?;
    let user = v
        .get("Username")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let secret = v.get("Secret").and_then(Value::as_str).unwrap_or_default();
    Ok(match (user, secret) {
        (_, "") => None,
        ("<token>", s) => Some(Credentials::IdentityToken(s.to_owned())),
        (u, s) => Some(Credentials::basic(u, s)),
    })
}

fn run_helper(helper: &str, verb: &str, input: &str) -> Result<String> {
    let program = format!("docker-credential-{helper}");
    let fail = |message: String| RegistryError::CredentialHelper {
        helper: helper.to_owned(),
        message,
    };
    let mut child = Command::new(&program)
        .arg(verb)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run `{program}`: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("`{program}` did not finish: {e}")))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    // Helpers print their error on stdout (docker's protocol); never the secret.
    let text = String::from_utf8_lossy(if out.stdout.is_empty() {
        &out.stderr
    } else {
        &out.stdout
    })
    .trim()
    .to_owned();
    Err(fail(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_and_podman_files() {
        let d = tempfile::tempdir().unwrap();
        let docker = d.path().join("config.json");
        let podman = d.path().join("auth.json");
        std::fs::write(
            &docker,
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"YWxpY2U6aHVudGVyMg=="},
                "ghcr.io":{"identitytoken":"refresh"}},"HttpHeaders":{"X":"y"}}"#,
        )
        .unwrap();
        std::fs::write(
            &podman,
            r#"{"auths":{"quay.io":{"auth":"Ym9iOnMzY3JldA=="}}}"#,
        )
        .unwrap();
        let files = AuthFiles {
            podman_auth: Some(podman.clone()),
            docker_config: Some(docker.clone()),
        };
        let (c, src) = files.lookup("docker.io").unwrap().unwrap();
        assert_eq!(c, Credentials::basic("alice", "hunter2"));
        assert_eq!(src, CredentialSource::File(docker.clone()));
        assert_eq!(
            files.lookup("ghcr.io").unwrap().unwrap().0,
            Credentials::IdentityToken("refresh".into())
        );
        assert_eq!(
            files.lookup("quay.io").unwrap().unwrap(),
            (
                Credentials::basic("bob", "s3cret"),
                CredentialSource::File(podman)
            )
        );
        assert!(files.lookup("example.com").unwrap().is_none());
    }

    #[test]
    fn login_and_logout_keep_other_settings() {
        let d = tempfile::tempdir().unwrap();
        let docker = d.path().join("docker").join("config.json");
        std::fs::create_dir_all(docker.parent().unwrap()).unwrap();
        std::fs::write(
            &docker,
            r#"{"HttpHeaders":{"X":"y"},"auths":{"localhost:5000":{"auth":"eDp5"}}}"#,
        )
        .unwrap();
        let files = AuthFiles {
            podman_auth: None,
            docker_config: Some(docker.clone()),
        };
        files
            .store("localhost:5000", &Credentials::basic("u", "p"))
            .unwrap();
        let doc: Value = serde_json::from_slice(&std::fs::read(&docker).unwrap()).unwrap();
        assert_eq!(doc["HttpHeaders"]["X"], "y");
        assert_eq!(doc["auths"]["localhost:5000"]["auth"], "dTpw");
        assert_eq!(
            files.lookup("localhost:5000").unwrap().unwrap().0,
            Credentials::basic("u", "p")
        );
        assert!(files.remove("localhost:5000").unwrap());
        assert!(!files.remove("localhost:5000").unwrap());
        assert!(files.lookup("localhost:5000").unwrap().is_none());
    }
}
