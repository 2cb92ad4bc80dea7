//! Ports on 127.0.0.1: finding a free one for a replica, and checking that a replica listens.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;

use crate::RuntimeError;

/// A port on 127.0.0.1 that nothing listens on now, chosen by the kernel. Another process could
/// take it before the replica binds it; the caller treats a replica that never listens as failed.
pub fn free_port() -> Result<u16, RuntimeError> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(RuntimeError::NoFreePort)?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(RuntimeError::NoFreePort)
}

/// Whether something accepts TCP connections on 127.0.0.1:`port` within `timeout`.
pub async fn is_listening(port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    matches!(
        tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}
