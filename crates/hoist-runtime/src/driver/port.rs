//! Ports on 127.0.0.1: finding a free one for a replica, and checking that a replica listens.

use std::hash::{BuildHasher, RandomState};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;

use crate::RuntimeError;

/// Where replica ports are drawn from when the kernel's ephemeral range cannot be read.
const FALLBACK_EPHEMERAL_LOW: u16 = 32768;
/// The lowest port handed to a replica: above the well-known and most registered service ports.
const LOWEST: u16 = 10000;
/// Random draws before falling back to a port the kernel picks.
const DRAWS: usize = 64;

/// A port on 127.0.0.1 that nothing listens on now.
///
/// It is drawn at random from below the kernel's ephemeral range
/// (`net.ipv4.ip_local_port_range`): a kernel-picked port (bind to 0) comes from that range, which
/// every outgoing connection on the machine also draws its local port from, so under load another
/// socket often takes it between our check and the replica's (or the engine's) bind. Another
/// process can still take the port first; callers treat a replica that never listens as failed and
/// retry a start that failed with "address in use".
pub fn free_port() -> Result<u16, RuntimeError> {
    let high = ephemeral_low().saturating_sub(1);
    if high > LOWEST {
        let state = RandomState::new();
        let span = u64::from(high - LOWEST) + 1;
        for draw in 0..DRAWS {
            let port = LOWEST + (state.hash_one(draw) % span) as u16;
            if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return Ok(port);
            }
        }
    }
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(RuntimeError::NoFreePort)?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(RuntimeError::NoFreePort)
}

/// The low end of the kernel's ephemeral port range.
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(FALLBACK_EPHEMERAL_LOW)
}

/// Whether something accepts TCP connections on 127.0.0.1:`port` within `timeout`.
pub async fn is_listening(port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    matches!(
        tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_below_the_ephemeral_range_and_bindable() {
        let low = ephemeral_low();
        for _ in 0..20 {
            let port = free_port().unwrap();
            assert!(port >= LOWEST, "{port}");
            if low > LOWEST + 1 {
                assert!(port < low, "{port} is in the ephemeral range from {low}");
            }
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
        }
    }

    #[test]
    fn a_port_in_use_is_not_handed_out() {
        let taken: Vec<_> = (0..50)
            .filter_map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, free_port().ok()?)).ok())
            .collect();
        let ports: Vec<u16> = taken
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        for _ in 0..50 {
            assert!(!ports.contains(&free_port().unwrap()));
        }
    }
}
