//! Ports on 127.0.0.1 for the services a test starts.

use std::hash::{BuildHasher, RandomState};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The lowest port handed out: above the well-known and most registered service ports.
const LOWEST: u16 = 10000;

/// A port nothing listens on now (bound, then released for the service to bind).
///
/// Drawn from below the kernel's ephemeral range, as the agent draws its replicas' ports: a
/// kernel-picked port (bind to 0) comes from the range every outgoing connection on the machine
/// also takes its local port from, and under a full test run one did take such a port between
/// this check and the agent's bind ("address already in use" on the proxy's port). A test
/// process walks the range from a random start, so two of its tests never get the same port;
/// another process (an agent's replica) can still take it, as rarely as a random collision in
/// twenty thousand ports.
pub fn free_port() -> u16 {
    static START: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let start = *START.get_or_init(|| RandomState::new().hash_one(std::process::id()));
    let high = ephemeral_low().saturating_sub(1);
    let span = u64::from(high.saturating_sub(LOWEST)) + 1;
    for _ in 0..256 {
        let draw = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = LOWEST + u16::try_from(start.wrapping_add(draw) % span).unwrap_or(0);
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The low end of the kernel's ephemeral port range (`net.ipv4.ip_local_port_range`).
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768)
}

#[cfg(test)]
mod tests {
    use super::free_port;

    #[test]
    fn ports_are_below_the_ephemeral_range_and_differ() {
        let low = super::ephemeral_low();
        let ports: std::collections::BTreeSet<u16> = (0..50).map(|_| free_port()).collect();
        assert!(ports.len() > 45, "{ports:?}");
        assert!(ports.iter().all(|p| (10000..low).contains(p)), "{ports:?}");
    }
}
