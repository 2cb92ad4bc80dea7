//! What can go wrong with one host, typed, so that a report says per host what happened and
//! what to do (the CLI turns [`HostError::hint`] into its `hint:` line).

use std::path::PathBuf;
use std::time::Duration;

/// One host's failure. Every variant names the host as the user wrote it.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The host's key is not in known_hosts and checking is strict: hoist never adds a key by
    /// itself, because the first connection is the one an impostor would answer.
    #[error("`{host}` is not in known_hosts: its host key {}", fingerprint_or_unknown(.fingerprint.as_deref()))]
    UnknownHostKey {
        /// The target.
        host: String,
        /// The address ssh connected to (what known_hosts must list), when ssh said it.
        addr: Option<String>,
        /// `SHA256:…` of the key the host sent, when ssh said it.
        fingerprint: Option<String>,
    },
    /// The host sent a key other than the one known_hosts holds: always refused (a reinstalled
    /// server, or someone in between).
    #[error("`{host}` sent a host key that differs from the one in known_hosts: refused; it sent {}", fingerprint_or_unknown(.fingerprint.as_deref()))]
    ChangedHostKey {
        /// The target.
        host: String,
        /// The address ssh connected to, when ssh said it.
        addr: Option<String>,
        /// `SHA256:…` of the key the host sent, when ssh said it.
        fingerprint: Option<String>,
    },
    /// The server refused every key ssh offered.
    #[error("`{host}` refused the login: {methods}")]
    AuthFailed {
        /// The target.
        host: String,
        /// ssh's own words, e.g. `Permission denied (publickey)`.
        methods: String,
    },
    /// No answer within the timeout (a link down, a firewall dropping packets, a host off).
    #[error("`{host}` did not answer within {}s", .timeout.as_secs())]
    Unreachable {
        /// The target.
        host: String,
        /// The connect timeout that passed.
        timeout: Duration,
    },
    /// ssh could not connect for another reason (refused, no such name, a ProxyJump failing);
    /// `message` is the last line ssh logged.
    #[error("`{host}`: ssh could not connect: {message}")]
    Connect {
        /// The target.
        host: String,
        /// ssh's last error line.
        message: String,
    },
    /// The `ssh` program could not be run at all.
    #[error("cannot run `{program}`")]
    Spawn {
        /// The ssh binary.
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The multiplexed connection failed after it was set up.
    #[error("`{host}`: the SSH connection failed")]
    Session {
        /// The target.
        host: String,
        /// The transport's error.
        #[source]
        source: openssh::Error,
    },
    /// A command on the host failed.
    #[error("`{host}`: `{step}` failed ({status}): {stderr}")]
    Remote {
        /// The target.
        host: String,
        /// What hoist was doing there.
        step: &'static str,
        /// Its exit status.
        status: String,
        /// The end of its stderr.
        stderr: String,
    },
    /// The host answered something hoist cannot read.
    #[error("`{host}`: unexpected answer to `{step}`: `{answer}`")]
    Unexpected {
        /// The target.
        host: String,
        /// What hoist asked.
        step: &'static str,
        /// What it got.
        answer: String,
    },
    /// The host is another OS or architecture than this hoist binary, and no build of hoist
    /// for it was found.
    #[error(
        "`{host}` is {platform}, this hoist is built for {local}, and no `hoist-{}` was found (looked in {searched})",
        platform.replace('/', "-")
    )]
    Platform {
        /// The target.
        host: String,
        /// The host's `os/arch`: `uname -s` lowercased, `uname -m` as Go names it.
        platform: String,
        /// This binary's `linux/amd64`.
        local: String,
        /// The directories looked in.
        searched: String,
    },
    /// The app's binary was given (`--binary`), a build for another platform than the host's.
    #[error("`{host}` is {platform}, and `--binary` gives a build for {given}")]
    GivenBinary {
        /// The target.
        host: String,
        /// The host's `os/arch`.
        platform: String,
        /// The platform the given binary is for (this machine's).
        given: String,
    },
    /// The build of hoist for the host's platform is not this version (or does not run there).
    #[error("`{host}`: `{}` is not hoist {version}: it says `{said}`", path.display())]
    ForeignVersion {
        /// The target.
        host: String,
        /// The build for the host's platform, on this machine.
        path: PathBuf,
        /// What its `--version` printed on the host.
        said: String,
        /// This hoist's version.
        version: String,
    },
    /// The copy on the host does not hash to what was sent.
    #[error("`{host}`: the copy of hoist at `{path}` has sha256 {found}, expected {expected}")]
    Checksum {
        /// The target.
        host: String,
        /// Where it was written.
        path: String,
        /// What the host computed.
        found: String,
        /// What was sent.
        expected: String,
    },
    /// The agent did not answer after it was started.
    #[error("`{host}`: the agent did not answer after it was started; the end of its log: {log}")]
    AgentStart {
        /// The target.
        host: String,
        /// The end of `agent.log` there.
        log: String,
    },
    /// This machine's hoist binary could not be read for the copy.
    #[error("cannot read this hoist binary `{path}`")]
    LocalBinary {
        /// `current_exe()`.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file hoist.toml names (a certificate, its key, a CA root) cannot be read here; its
    /// content is never shown.
    #[error("cannot read `{}`", path.display())]
    LocalFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn fingerprint_or_unknown(f: Option<&str>) -> String {
    f.map_or_else(|| "was not reported".to_owned(), |f| format!("is `{f}`"))
}

impl HostError {
    /// What the user can do about it, for the CLI's `hint:` line.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::UnknownHostKey { host, addr, .. } => {
                let a = addr.as_deref().unwrap_or(host);
                Some(format!(
                    "compare the fingerprint with the host's own (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on its console); if they match, add the key: `ssh-keyscan -t ed25519 {a} >> ~/.ssh/known_hosts` (or connect once with `ssh {host}` and accept it)"
                ))
            }
            Self::ChangedHostKey { host, addr, .. } => {
                let a = addr.as_deref().unwrap_or(host);
                Some(format!(
                    "hoist never accepts a changed key; if you know why it changed (a reinstall), remove the old one with `ssh-keygen -R {a}` and add the new one after checking its fingerprint"
                ))
            }
            Self::AuthFailed { host, .. } => Some(format!(
                "check that your public key is in `~/.ssh/authorized_keys` of the user on `{host}`, that `hosts.user` and `hosts.identity` are right, and try `ssh -v {host} true`"
            )),
            Self::Unreachable { host, .. } => Some(format!(
                "is `{host}` up and its network reachable from here? (`ssh -v {host} true`); the other hosts were not held up"
            )),
            Self::Connect { host, .. } => Some(format!("try `ssh -v {host} true`")),
            Self::Platform { platform, .. } => Some(format!(
                "hoist copies itself to a host: put a build of this version of hoist for {platform} beside this one as `hoist-{}` (or in the directory HOIST_BINARIES names), e.g. `cargo build --release --target {}`",
                platform.replace('/', "-"),
                rust_target(platform)
            )),
            Self::GivenBinary { .. } => Some(
                "deploy without `--binary`: hoist builds the app for each host's platform"
                    .to_owned(),
            ),
            Self::ForeignVersion { version, .. } => Some(format!(
                "build hoist {version} for the host's platform again from the same source as this one; the host's hoist was left as it was"
            )),
            Self::AgentStart { .. } => {
                Some("look at `~/.local/state/hoist/agent.log` on the host".to_owned())
            }
            _ => None,
        }
    }

    /// A short name of the kind of failure, stable for `--json`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::UnknownHostKey { .. } => "unknown_host_key",
            Self::ChangedHostKey { .. } => "changed_host_key",
            Self::AuthFailed { .. } => "auth_failed",
            Self::Unreachable { .. } => "unreachable",
            Self::Connect { .. } => "connect",
            Self::Spawn { .. } => "ssh_missing",
            Self::Session { .. } => "session",
            Self::Remote { .. } | Self::Unexpected { .. } => "remote",
            Self::Platform { .. } | Self::GivenBinary { .. } => "platform",
            Self::ForeignVersion { .. } => "foreign_version",
            Self::Checksum { .. } => "checksum",
            Self::AgentStart { .. } => "agent_start",
            Self::LocalBinary { .. } => "local_binary",
            Self::LocalFile { .. } => "local_file",
        }
    }
}

/// Rust's target triple for a Linux host of Go's `arch`, for the hint that says how to build
/// hoist for it.
fn rust_target(platform: &str) -> String {
    let (os, arch) = platform.split_once('/').unwrap_or((platform, ""));
    let cpu = match arch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        other => other,
    };
    format!("{cpu}-unknown-{os}-gnu")
}
