//! The public side of a host's agent (`[hosts]` `http`, `https` and the certificate keys), and
//! its engine (`hosts.engine`): the arguments its supervisor starts the agent with, and the
//! files those name, put on the host first.
//!
//! Certificate files go into the host's state directory (`tls/`, directory 0700, files 0600,
//! written through stdin, never on a command line) under names that carry a hash of their
//! content, so a new certificate changes the agent's arguments and the agent is restarted with
//! it, while an unchanged one costs nothing. The key's bytes are never printed, logged or
//! named in an error; only its path is.

use std::path::{Path, PathBuf};

use hoist_core::{HostsPublic, HostsTls};
use sha2::{Digest as _, Sha256};

use crate::error::HostError;
use crate::facts::layout;
use crate::ssh::Connection;

/// `[hosts]`'s public side, with the directory its relative paths are relative to.
#[derive(Debug, Clone, Default)]
pub struct Public {
    /// The listeners and the certificate.
    pub spec: HostsPublic,
    /// hoist.toml's directory.
    pub base: PathBuf,
    /// The container engine the agent runs replicas in (`hosts.engine`), given to it as
    /// `--engine`: a change restarts the agent with the new one, as a listener's does.
    pub engine: Option<String>,
}

/// A file to put on the host before the agent starts.
#[derive(Debug)]
struct File {
    /// Its absolute path on the host.
    dest: String,
    bytes: Vec<u8>,
}

/// What the host's agent is started with.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// `hoist agent --supervise` arguments after the defaults.
    pub(crate) args: Vec<String>,
    files: Vec<File>,
}

impl Plan {
    /// The arguments as one shell-quoted line: what the host's `agent.args` remembers, to tell
    /// whether a running agent was started with these.
    pub(crate) fn line(&self) -> String {
        self.args
            .iter()
            .map(|a| quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Public {
    /// The plan for the host `host` (its name as `hosts.targets` gives it, for `{host}` in
    /// `domains`), whose home is `home`.
    pub(crate) fn plan(&self, host: &str, home: &str) -> Result<Plan, HostError> {
        let mut plan = Plan::default();
        if let Some(engine) = &self.engine {
            plan.args.extend(["--engine".to_owned(), engine.clone()]);
        }
        if let Some(http) = &self.spec.http {
            plan.args.extend(["--listen".to_owned(), http.clone()]);
        }
        let Some(https) = &self.spec.https else {
            return Ok(plan);
        };
        let tls_dir = format!("{home}/{}/tls", layout::STATE_DIR);
        plan.args
            .extend(["--tls-listen".to_owned(), https.listen.clone()]);
        match &https.tls {
            HostsTls::Files { cert, key } => {
                let cert_bytes = self.read(cert)?;
                let key_bytes = self.read(key)?;
                let mut h = Sha256::new();
                h.update(&cert_bytes);
                h.update(&key_bytes);
                let tag = &hex::encode(h.finalize())[..12];
                let (c, k) = (
                    format!("{tls_dir}/{tag}-cert.pem"),
                    format!("{tls_dir}/{tag}-key.pem"),
                );
                plan.args.extend([
                    "--tls-cert".to_owned(),
                    c.clone(),
                    "--tls-key".to_owned(),
                    k.clone(),
                ]);
                plan.files.push(File {
                    dest: c,
                    bytes: cert_bytes,
                });
                plan.files.push(File {
                    dest: k,
                    bytes: key_bytes,
                });
            }
            HostsTls::Acme {
                domains,
                directory,
                email,
                ca,
            } => {
                for d in HostsTls::domains_for(domains, &target_host(host)) {
                    plan.args.extend(["--acme-domain".to_owned(), d]);
                }
                if let Some(dir) = directory {
                    plan.args
                        .extend(["--acme-directory".to_owned(), dir.clone()]);
                }
                if let Some(e) = email {
                    plan.args.extend(["--acme-email".to_owned(), e.clone()]);
                }
                if let Some(ca) = ca {
                    let bytes = self.read(ca)?;
                    let dest = format!(
                        "{tls_dir}/{}-acme-ca.pem",
                        &hex::encode(Sha256::digest(&bytes))[..12]
                    );
                    plan.args.extend(["--acme-ca".to_owned(), dest.clone()]);
                    plan.files.push(File { dest, bytes });
                }
            }
        }
        plan.args.push("--redirect-https".to_owned());
        Ok(plan)
    }

    /// Reads every file the public side names, so that a missing or unreadable one stops a
    /// deploy before any host is touched.
    ///
    /// # Errors
    ///
    /// [`HostError::LocalFile`] naming the file.
    pub fn check(&self) -> Result<(), HostError> {
        self.plan("check", "/").map(|_| ())
    }

    fn read(&self, rel: &str) -> Result<Vec<u8>, HostError> {
        let path = crate::ssh::expand_home(rel, dirs::home_dir().as_deref());
        let path = self.base.join(path);
        std::fs::read(&path).map_err(|source| HostError::LocalFile { path, source })
    }
}

/// Puts the plan's files that the host lacks there, private to its user. Names carry a hash of
/// the content, so a file that exists is the same file.
pub(crate) async fn install_files(conn: &Connection, plan: &Plan) -> Result<(), HostError> {
    if plan.files.is_empty() {
        return Ok(());
    }
    let check = plan
        .files
        .iter()
        .map(|f| format!("[ -f {0} ] || echo {0}", quote(&f.dest)))
        .collect::<Vec<_>>()
        .join("; ");
    let missing = conn.sh("look for the certificate files", &check).await?;
    for f in plan
        .files
        .iter()
        .filter(|f| missing.lines().any(|l| l == f.dest))
    {
        write_private(conn, &f.dest, &f.bytes).await?;
    }
    Ok(())
}

/// Writes `bytes` to `dest` on the host (mode 0600, its directory 0700) through stdin, by way
/// of a temporary name, and checks the host's sha256 of it.
async fn write_private(conn: &Connection, dest: &str, bytes: &[u8]) -> Result<(), HostError> {
    let q = quote(dest);
    let script = format!(
        "set -e; umask 077; d=$(dirname {q}); mkdir -p \"$d\"; chmod 700 \"$d\"; cat > {q}.tmp; mv -f {q}.tmp {q}; sha256sum {q}"
    );
    let io = |source| HostError::Session {
        host: conn.host.clone(),
        source: openssh::Error::ChildIo(source),
    };
    let expected = hex::encode(Sha256::digest(bytes));
    conn.pipe_verified(
        "write a certificate file",
        &script,
        bytes,
        io,
        dest,
        &expected,
    )
    .await?;
    Ok(())
}

/// The host part of a target (`deploy@edge-1:2222` → `edge-1`).
fn target_host(target: &str) -> String {
    hoist_core::SshTarget::parse(target).map_or_else(|_| target.to_owned(), |t| t.host)
}

/// `s` in single quotes for `sh`.
pub(crate) fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Where a path the user wrote in hoist.toml is, for messages.
pub fn local_path(base: &Path, rel: &str) -> PathBuf {
    base.join(crate::ssh::expand_home(rel, dirs::home_dir().as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist_core::HostsHttps;

    #[test]
    fn acme_names_are_per_host_and_files_carry_their_hash() {
        let public = Public {
            spec: HostsPublic {
                http: Some("0.0.0.0:80".into()),
                https: Some(HostsHttps {
                    listen: "0.0.0.0:443".into(),
                    tls: HostsTls::Acme {
                        domains: vec!["{host}.example.com".into(), "www.example.com".into()],
                        directory: None,
                        email: Some("ops@example.com".into()),
                        ca: None,
                    },
                }),
            },
            base: PathBuf::from("/nonexistent"),
            engine: Some("unix://$HOME/docker.sock".into()),
        };
        let plan = public.plan("deploy@edge-1:2222", "/home/d").unwrap();
        assert_eq!(
            plan.line(),
            "--engine 'unix://$HOME/docker.sock' --listen 0.0.0.0:80 --tls-listen 0.0.0.0:443 --acme-domain edge-1.example.com --acme-domain www.example.com --acme-email ops@example.com --redirect-https"
        );
        assert!(Public::default().plan("h", "/h").unwrap().args.is_empty());
    }

    #[test]
    fn certificate_files_are_named_by_content_and_a_missing_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.pem"), "CERT").unwrap();
        std::fs::write(dir.path().join("k.pem"), "SECRET KEY").unwrap();
        let public = |key: &str| Public {
            spec: HostsPublic {
                http: None,
                https: Some(HostsHttps {
                    listen: "0.0.0.0:443".into(),
                    tls: HostsTls::Files {
                        cert: "c.pem".into(),
                        key: key.into(),
                    },
                }),
            },
            base: dir.path().to_owned(),
            engine: None,
        };
        let plan = public("k.pem").plan("h", "/home/u").unwrap();
        let line = plan.line();
        assert!(line.contains("/home/u/.local/state/hoist/tls/"), "{line}");
        assert!(!line.contains("SECRET"));
        assert_eq!(plan.files.len(), 2);
        let err = public("none.pem")
            .plan("h", "/home/u")
            .unwrap_err()
            .to_string();
        assert!(err.contains("none.pem"), "{err}");
    }

    #[test]
    fn quoting_keeps_plain_words_and_quotes_the_rest() {
        assert_eq!(quote("0.0.0.0:443"), "0.0.0.0:443");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
    }
}
