//! Faults a real registry cannot produce on request, put in front of one or in its place: a
//! connection cut mid-upload, and a server that answers every request with one error status.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A TCP proxy to `target` that resets every connection once `limit` bytes have gone from
/// client to server on it: a push through it is cut mid-upload, like a dropped link.
pub struct FaultProxy {
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl FaultProxy {
    /// Starts the proxy.
    pub fn start(target: &str, limit: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let target = target.to_owned();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Write);
                });
                let (mut client, mut server) = (client, server);
                std::thread::spawn(move || {
                    let mut sent = 0;
                    let mut buf = [0; 16 * 1024];
                    loop {
                        let n = match client.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if sent + n > limit {
                            // SO_LINGER 0 would send an RST; a plain shutdown of both is what
                            // std allows, and the client sees its upload cut short.
                            let _ = server.shutdown(std::net::Shutdown::Both);
                            let _ = client.shutdown(std::net::Shutdown::Both);
                            break;
                        }
                        sent += n;
                        if server.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Self { addr }
    }
}

/// A server answering every request with `status` (a registry having a bad day).
pub struct StatusServer {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Requests served.
    pub requests: Arc<AtomicUsize>,
}

impl StatusServer {
    /// Starts it.
    pub fn start(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(AtomicUsize::new(0));
        let count = requests.clone();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::Relaxed);
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let body = "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"storage backend unavailable\"}]}";
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} Oops\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { addr, requests }
    }
}
