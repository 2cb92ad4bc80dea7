//! One multiplexed SSH connection per host, through the user's own OpenSSH.
//!
//! hoist starts the ControlMaster itself (`ssh -M -f -N`), so that the `ssh` binary and the
//! config file are injectable and the master's log is kept (at `-v`, the level at which ssh says
//! which host key it was sent), then hands the control socket to the `openssh` crate, which
//! speaks the multiplexing protocol for every command: one TCP connection and one login per
//! host, whatever the number of commands. Host keys are checked strictly (`StrictHostKeyChecking
//! =yes`, whatever the user's config says): an unknown or changed key is refused.
//!
//! OpenSSH reports why a connection failed only in words on its log (exit status 255 for all),
//! so [`classify`] reads them: the one place hoist matches ssh's messages, with a unit test per
//! message.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use hoist_core::SshTarget;
use openssh::Session;

use crate::error::HostError;

/// How to reach hosts: what `ssh` gets beside the destination. Defaults leave everything to the
/// user's ssh config.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// The ssh binary (default `ssh` from `PATH`).
    pub program: PathBuf,
    /// A config file for `ssh -F` (default: ssh's own, `~/.ssh/config`).
    pub config: Option<PathBuf>,
    /// Login user for targets that do not name one (`hosts.user`).
    pub user: Option<String>,
    /// Port for targets that do not name one (`hosts.port`).
    pub port: Option<u16>,
    /// A private key file (`hosts.identity`), passed as a path; never read by hoist.
    pub identity: Option<PathBuf>,
    /// How long a host may take to answer and let us in; past it the host is unreachable.
    pub timeout: Duration,
}

impl Default for SshOptions {
    fn default() -> Self {
        Self {
            program: PathBuf::from("ssh"),
            config: None,
            user: None,
            port: None,
            identity: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// An open connection to one host; the master exits when it is dropped.
pub struct Connection {
    /// The target as the user wrote it, for messages.
    pub host: String,
    session: Session,
}

impl Connection {
    /// Opens the master connection to `target` (a `hosts.targets` entry).
    ///
    /// # Errors
    ///
    /// [`HostError::UnknownHostKey`], [`HostError::ChangedHostKey`], [`HostError::AuthFailed`],
    /// [`HostError::Unreachable`] (nothing within `opts.timeout`), [`HostError::Connect`],
    /// [`HostError::Spawn`] (no ssh).
    pub async fn open(target: &str, opts: &SshOptions) -> Result<Self, HostError> {
        let host = target.to_owned();
        let parsed = SshTarget::parse(target).map_err(|message| HostError::Connect {
            host: host.clone(),
            message,
        })?;
        let dir = tempfile::Builder::new()
            .prefix("hoist-ssh.")
            .tempdir()
            .map_err(|source| HostError::Spawn {
                program: opts.program.clone(),
                source,
            })?;
        let log = dir.path().join("log");
        let mut cmd = tokio::process::Command::new(&opts.program);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .arg("-v")
            .arg("-E")
            .arg(&log)
            .arg("-S")
            .arg(dir.path().join("master"))
            .args(["-M", "-f", "-N"])
            .args(["-o", "ControlPersist=yes"])
            .args(["-o", "BatchMode=yes"])
            .args(["-o", "StrictHostKeyChecking=yes"])
            .arg("-o")
            .arg(format!("ConnectTimeout={}", opts.timeout.as_secs().max(1)))
            // A host lost mid-deploy is noticed by the master within about the timeout (three
            // unanswered keepalives a third of it apart), not waited on forever.
            .arg("-o")
            .arg(format!(
                "ServerAliveInterval={}",
                opts.timeout.as_secs().div_ceil(3).max(1)
            ))
            .args(["-o", "ServerAliveCountMax=3"]);
        if let Some(config) = &opts.config {
            cmd.arg("-F").arg(config);
        }
        if let Some(user) = parsed.user.as_ref().or(opts.user.as_ref()) {
            cmd.arg("-l").arg(user);
        }
        if let Some(port) = parsed.port.or(opts.port) {
            cmd.arg("-p").arg(port.to_string());
        }
        if let Some(identity) = &opts.identity {
            cmd.args(["-o", "IdentitiesOnly=yes", "-i"]).arg(identity);
        }
        cmd.arg("--").arg(&parsed.host);
        tracing::debug!(host, "opening the SSH master connection");
        let mut child = cmd.spawn().map_err(|source| HostError::Spawn {
            program: opts.program.clone(),
            source,
        })?;
        // The connect timeout covers TCP; the key exchange and login get as long again.
        let Ok(waited) = tokio::time::timeout(opts.timeout * 2, child.wait()).await else {
            let _ = child.kill().await;
            return Err(HostError::Unreachable {
                host,
                timeout: opts.timeout,
            });
        };
        let status = waited.map_err(|source| HostError::Spawn {
            program: opts.program.clone(),
            source,
        })?;
        if !status.success() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(classify(&host, &text, opts.timeout));
        }
        Ok(Self {
            host,
            session: Session::new_native_mux(dir),
        })
    }

    /// The session, for running commands over the one connection.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Runs `sh -c SCRIPT` on the host and returns its stdout; `step` names it in errors.
    ///
    /// # Errors
    ///
    /// [`HostError::Session`] if the connection fails, [`HostError::Remote`] if the script
    /// exits non-zero.
    pub async fn sh(&self, step: &'static str, script: &str) -> Result<String, HostError> {
        let out = self
            .session
            .command("sh")
            .arg("-c")
            .arg(script)
            .output()
            .await
            .map_err(|source| HostError::Session {
                host: self.host.clone(),
                source,
            })?;
        if !out.status.success() {
            return Err(self.remote(step, &out.status.to_string(), &out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `sh -c SCRIPT` with `input` on its stdin, where the script stores what it reads at
    /// `dest` and ends with `sha256sum` of it; returns the bytes sent once the host's sha256
    /// is `expected` (the bytes' own). Else the host's copy is removed and the error names it.
    /// How both the hoist binary and certificate files reach a host: through the connection,
    /// never on a command line, checked where they land.
    ///
    /// # Errors
    ///
    /// `local` for a failure to read `input`; [`HostError::Session`] if the connection fails;
    /// [`HostError::Remote`] if the script exits non-zero; [`HostError::Checksum`] when the
    /// sha256 differs.
    pub(crate) async fn pipe_verified(
        &self,
        step: &'static str,
        script: &str,
        mut input: impl tokio::io::AsyncRead + Unpin,
        local: impl Fn(std::io::Error) -> HostError,
        dest: &str,
        expected: &str,
    ) -> Result<u64, HostError> {
        use tokio::io::AsyncWriteExt as _;
        let session = |source| HostError::Session {
            host: self.host.clone(),
            source,
        };
        let mut sh = self.session.command("sh");
        sh.arg("-c").arg(script);
        let (child, mut stdin) = self.spawn_piped(sh).await?;
        let sent = tokio::io::copy(&mut input, &mut stdin)
            .await
            .map_err(&local)?;
        stdin.shutdown().await.map_err(&local)?;
        drop(stdin);
        let out = child.wait_with_output().await.map_err(session)?;
        if !out.status.success() {
            return Err(self.remote(step, &out.status.to_string(), &out.stderr));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let found = stdout.split_whitespace().next().unwrap_or_default();
        if found != expected {
            let _ = self
                .sh("remove the bad copy", &format!("rm -f \"{dest}\""))
                .await;
            return Err(HostError::Checksum {
                host: self.host.clone(),
                path: dest.to_owned(),
                found: found.to_owned(),
                expected: expected.to_owned(),
            });
        }
        Ok(sent)
    }

    /// Starts `cmd` on the host with its stdin, stdout and stderr piped: the child, and its
    /// stdin to write to.
    ///
    /// # Errors
    /// [`HostError::Session`] when the command cannot be started.
    pub(crate) async fn spawn_piped<'s>(
        &self,
        mut cmd: openssh::OwningCommand<&'s Session>,
    ) -> Result<(openssh::Child<&'s Session>, openssh::ChildStdin), HostError> {
        let mut child = cmd
            .stdin(openssh::Stdio::piped())
            .stdout(openssh::Stdio::piped())
            .stderr(openssh::Stdio::piped())
            .spawn()
            .await
            .map_err(|source| HostError::Session {
                host: self.host.clone(),
                source,
            })?;
        let Some(stdin) = child.stdin().take() else {
            unreachable!("stdin is piped")
        };
        Ok((child, stdin))
    }

    /// A [`HostError::Remote`] for this host with the end of `stderr`.
    pub(crate) fn remote(&self, step: &'static str, status: &str, stderr: &[u8]) -> HostError {
        let text = String::from_utf8_lossy(stderr);
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        HostError::Remote {
            host: self.host.clone(),
            step,
            status: status.to_owned(),
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join(" / "),
        }
    }

    /// Closes the master connection.
    pub async fn close(self) {
        let _ = self.session.close().await;
    }
}

/// Why ssh failed, from its log (`-v -E LOG`): host key problems first (ssh says "Host key
/// verification failed" for both), then authentication, then the network.
pub fn classify(host: &str, log: &str, timeout: Duration) -> HostError {
    let host = host.to_owned();
    let fingerprint = log.lines().find_map(|l| {
        l.split_once("Server host key: ")
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .map(str::to_owned)
    });
    // `Connecting to NAME [ADDR] port 22.`
    let addr = log.lines().find_map(|l| {
        let rest = l.split_once("Connecting to ")?.1;
        let inside = rest.split_once('[')?.1.split_once(']')?.0;
        Some(inside.to_owned())
    });
    if log.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || log.contains("Host key for ") && log.contains("has changed")
    {
        return HostError::ChangedHostKey {
            host,
            addr,
            fingerprint,
        };
    }
    if log.contains("host key is known for") || log.contains("Host key verification failed") {
        return HostError::UnknownHostKey {
            host,
            addr,
            fingerprint,
        };
    }
    if let Some(line) = log.lines().find(|l| l.contains("Permission denied (")) {
        let methods = line.trim().trim_end_matches('.');
        let methods = methods
            .find("Permission denied")
            .map_or(methods, |i| &methods[i..]);
        return HostError::AuthFailed {
            host,
            methods: methods.to_owned(),
        };
    }
    if log.contains("Connection timed out") || log.contains("Operation timed out") {
        return HostError::Unreachable { host, timeout };
    }
    let message = log
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty() && !l.starts_with("debug"))
        .unwrap_or("ssh exited with status 255 and logged nothing")
        .trim()
        .to_owned();
    HostError::Connect { host, message }
}

/// `~/` at the start of a path, as ssh and shells read it; other paths unchanged.
pub fn expand_home(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::classify;
    use crate::error::HostError;

    const T: Duration = Duration::from_secs(3);

    #[test]
    fn an_unknown_key_gives_its_fingerprint_and_address() {
        let log = "debug1: Connecting to hoist-h1 [10.213.1.6] port 22.\r\n\
                   debug1: Server host key: ssh-ed25519 SHA256:abcDEF123\r\n\
                   No ED25519 host key is known for 10.213.1.6 and you have requested strict checking.\r\n\
                   Host key verification failed.\r\n";
        match classify("hoist-h1", log, T) {
            HostError::UnknownHostKey {
                addr, fingerprint, ..
            } => {
                assert_eq!(addr.as_deref(), Some("10.213.1.6"));
                assert_eq!(fingerprint.as_deref(), Some("SHA256:abcDEF123"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_changed_key_is_not_taken_for_an_unknown_one() {
        let log = "debug1: Server host key: ssh-ed25519 SHA256:new\r\n\
                   @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n\
                   Host key for 10.213.1.6 has changed and you have requested strict checking.\r\n\
                   Host key verification failed.\r\n";
        assert!(matches!(
            classify("h", log, T),
            HostError::ChangedHostKey { fingerprint: Some(f), .. } if f == "SHA256:new"
        ));
    }

    #[test]
    fn auth_network_and_other_failures() {
        let auth = classify(
            "h",
            "debug1: x\r\nu@10.213.1.6: Permission denied (publickey).\r\n",
            T,
        );
        assert_eq!(
            auth.to_string(),
            "`h` refused the login: Permission denied (publickey)"
        );
        let down = classify(
            "h",
            "ssh: connect to host 10.213.1.6 port 22: Connection timed out\r\n",
            T,
        );
        assert!(matches!(down, HostError::Unreachable { .. }));
        let refused = classify(
            "h",
            "debug1: y\r\nssh: connect to host 10.213.1.6 port 22: Connection refused\r\n",
            T,
        );
        assert_eq!(
            refused.to_string(),
            "`h`: ssh could not connect: ssh: connect to host 10.213.1.6 port 22: Connection refused"
        );
    }
}
