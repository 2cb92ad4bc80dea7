//! Plain HTTP over a TCP socket, as `curl` would ask a service that a test started: one request
//! per connection, the answer read to its end. A `GET` is HTTP/1.0, whose answers are never
//! chunked, so the body is the bytes after the head.
//! There is a blocking form, for tests on threads, and an async one, for tests whose server runs
//! on the test's own runtime (hoist-runtime's proxy), where blocking would stall it.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// How long a connection may take to open.
const CONNECT: Duration = Duration::from_secs(2);
/// How long an answer may take once the request is sent (a proxy under load, a slow start).
const ANSWER: Duration = Duration::from_secs(10);

/// An answer as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code (0 when the status line had none).
    pub status: u16,
    /// The status line and headers, as sent.
    pub head: String,
    /// Everything after the head.
    pub body: String,
}

impl Response {
    /// Splits a whole answer into its parts; `None` when the head never ended.
    fn parse(raw: &str) -> Option<Self> {
        let (head, body) = raw.split_once("\r\n\r\n")?;
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        Some(Self {
            status,
            head: head.to_owned(),
            body: body.to_owned(),
        })
    }

    fn ok(self) -> Result<String, String> {
        if self.status == 200 {
            Ok(self.body)
        } else {
            let line = self.head.lines().next().unwrap_or_default().to_owned();
            Err(format!("status `{line}`"))
        }
    }
}

fn get_request(host: &str, path: &str) -> String {
    format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n")
}

fn exchange(addr: impl ToSocketAddrs, request: &str) -> std::io::Result<String> {
    let addr = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let mut s = TcpStream::connect_timeout(&addr, CONNECT)?;
    s.set_read_timeout(Some(ANSWER))?;
    s.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    Ok(String::from_utf8_lossy(&raw).into_owned())
}

fn parsed(raw: &str) -> std::io::Result<Response> {
    Response::parse(raw)
        .ok_or_else(|| std::io::Error::other(format!("no complete answer: {raw:?}")))
}

/// `GET PATH` with `Host: HOST`, once: whatever the status.
pub fn get(addr: impl ToSocketAddrs, host: &str, path: &str) -> std::io::Result<Response> {
    parsed(&exchange(addr, &get_request(host, path))?)
}

/// `POST PATH` (HTTP/1.1, `Connection: close`) with a JSON (or text) body, once: whatever the
/// status. The body of a chunked answer keeps its chunk lines.
pub fn post(addr: &str, path: &str, body: &str) -> std::io::Result<Response> {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    parsed(&exchange(addr, &request)?)
}

/// `GET http://ADDR/PATH`, retried until it answers 200 or `within` has passed (a service
/// starting); returns the body.
pub fn get_ok(addr: &str, path: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        match get(addr, addr, path)
            .map_err(|e| e.to_string())
            .and_then(Response::ok)
        {
            Ok(body) => return body,
            Err(e) if Instant::now() < deadline => {
                eprintln!("GET http://{addr}{path}: {e}; retrying");
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(e) => panic!("GET http://{addr}{path} did not answer within {within:?}: {e}"),
        }
    }
}

/// [`get`] on the test's own runtime.
pub async fn get_async(addr: SocketAddr, host: &str, path: &str) -> std::io::Result<Response> {
    let io = async {
        let mut s = tokio::time::timeout(CONNECT, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| std::io::Error::other("connect timed out"))??;
        s.write_all(get_request(host, path).as_bytes()).await?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&raw).into_owned())
    };
    let raw = tokio::time::timeout(ANSWER, io)
        .await
        .map_err(|_| std::io::Error::other("timed out"))??;
    parsed(&raw)
}

/// [`get_ok`] on the test's own runtime.
pub async fn get_ok_async(addr: SocketAddr, path: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let host = addr.to_string();
        match get_async(addr, &host, path)
            .await
            .map_err(|e| e.to_string())
            .and_then(Response::ok)
        {
            Ok(body) => return body,
            Err(e) if Instant::now() < deadline => {
                eprintln!("GET http://{addr}{path}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => panic!("GET http://{addr}{path} did not answer within {within:?}: {e}"),
        }
    }
}
