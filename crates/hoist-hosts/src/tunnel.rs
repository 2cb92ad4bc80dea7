//! A host's agent socket, forwarded over the host's one connection to a local socket.
//!
//! The CLI talks to every agent with the same client (HTTP over a Unix socket, JSON and NDJSON
//! events): its own, or a host's through this forward. So a deploy, `status`, `rollback`,
//! `logs` or `stop` on a host is the local command with another socket, not a second protocol,
//! and the host's agent needs no TCP port of its own (nothing listens on the network but sshd
//! and the proxy). OpenSSH's streamlocal forwarding (`ssh -L LOCAL.sock:REMOTE.sock`), asked of
//! the ControlMaster, so it rides the connection that is already open.

use std::path::{Path, PathBuf};

use openssh::{ForwardType, Socket};

use crate::error::HostError;
use crate::facts::layout;
use crate::ssh::Connection;

/// A local directory whose socket `NAME` reaches the host agent's; the forward and the
/// directory go when it is dropped (or with the connection).
pub struct AgentTunnel {
    dir: tempfile::TempDir,
}

impl AgentTunnel {
    /// Forwards `DIR/socket_name` here to the socket of the same name in the host's agent state
    /// directory (`HOME/.local/state/hoist`, `home` as the host reported it).
    ///
    /// # Errors
    ///
    /// [`HostError::Session`] when the host (or its sshd's `AllowStreamLocalForwarding`)
    /// refuses the forward, [`HostError::Spawn`] when the local directory cannot be made.
    pub async fn open(conn: &Connection, home: &str, socket_name: &str) -> Result<Self, HostError> {
        let dir = tempfile::Builder::new()
            .prefix("hoist-agent.")
            .tempdir()
            .map_err(|source| HostError::Spawn {
                program: PathBuf::from("mktemp"),
                source,
            })?;
        let local = dir.path().join(socket_name);
        let remote = format!("{home}/{}/{socket_name}", layout::STATE_DIR);
        conn.session()
            .request_port_forward(
                ForwardType::Local,
                Socket::UnixSocket {
                    path: local.as_path().into(),
                },
                Socket::UnixSocket {
                    path: Path::new(&remote).into(),
                },
            )
            .await
            .map_err(|source| HostError::Session {
                host: conn.host.clone(),
                source,
            })?;
        Ok(Self { dir })
    }

    /// The directory to hand to the agent client as the agent's state directory.
    pub fn state_dir(&self) -> &Path {
        self.dir.path()
    }
}
