//! Ports on 127.0.0.1 for the services a test starts.

use std::net::TcpListener;

/// A port nothing listens on now (bound, then released for the service to bind). Another process
/// may take it in between; tests tolerate that as rare.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
