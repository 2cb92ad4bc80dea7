//! The ingress proxy and request bodies far larger than the socket buffers, against a real
//! replica (tests/fixtures/webapp built by the machine's Go):
//!
//! - an app that answers before reading the body — 413 over 1 MiB as go-httpbin's body limit
//!   does, or 401 followed at once by a reset — gets its own answer to the client through the
//!   proxy, as it does directly, never a 502: with a Content-Length or chunked, with or without
//!   `Expect: 100-continue`, from a raw client and from curl; and a connection whose body was
//!   left half-read is closed (`Connection: close`), never reused;
//! - an upload the app reads whole still arrives whole, on a connection that stays open;
//! - a replica that hangs up before answering is still a 502, never retried.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hoist_runtime::driver::free_port;
use hoist_runtime::proxy::{Backend, Proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::wait_listening;

const MB: usize = 1 << 20;

/// How long one upload may take, answer included.
const PATIENCE: Duration = Duration::from_mins(1);

/// What the app answers on each early-answer route, by framing.
const LIMITED_BY_LENGTH: (u16, &str) =
    (413, "webapp: body over the 1 MiB limit (Content-Length)\n");
const LIMITED_BY_READING: (u16, &str) = (413, "webapp: body over the 1 MiB limit (read)\n");
const REFUSED: (u16, &str) = (401, "webapp: no credentials, no upload\n");

/// How the request body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `POST` with `Content-Length`.
    Length,
    /// `PUT` with `Transfer-Encoding: chunked`.
    Chunked,
}

/// One upload: where, how much, how.
#[derive(Debug, Clone, Copy)]
struct Upload {
    path: &'static str,
    size: usize,
    framing: Framing,
    /// Whether the request says `Expect: 100-continue` (as curl does for large bodies); the body
    /// is sent at once all the same, as HTTP allows.
    expect: bool,
}

/// A response as the client saw it.
#[derive(Debug)]
struct Answer {
    code: u16,
    /// The status line and headers of the final response, lowercased.
    head: String,
    body: String,
    /// Whether the client managed to send the whole body.
    sent_all: bool,
    /// Whether the other end closed (or reset) the connection soon after the response.
    closed_after: bool,
}

impl Answer {
    fn says_close(&self) -> bool {
        self.head.contains("\r\nconnection: close")
    }
}

/// Starts the webapp fixture on a free port; it is killed when the handle is dropped.
async fn start_replica() -> (tokio::process::Child, SocketAddr) {
    let port = free_port().unwrap();
    let replica = tokio::process::Command::new(hoist_test::fixtures::webapp())
        .env("PORT", port.to_string())
        .kill_on_drop(true)
        .spawn()
        .expect("start the replica");
    wait_listening(port).await;
    (replica, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// The proxy in front of the one replica, as revision `r1` of app `webapp`.
async fn start_webapp_proxy(replica: SocketAddr) -> (Arc<Proxy>, SocketAddr) {
    crate::start_proxy("webapp", vec![Backend::new(replica, "r1")]).await
}

/// Sends `up` to `addr` on a keep-alive connection while reading the answer, as a client that
/// stops sending when the server stops reading (browsers, Go's client) does.
async fn upload(addr: SocketAddr, up: Upload) -> Answer {
    let (mut rd, mut wr) = TcpStream::connect(addr).await.unwrap().into_split();
    let (method, framing) = match up.framing {
        Framing::Length => ("POST", format!("Content-Length: {}", up.size)),
        Framing::Chunked => ("PUT", "Transfer-Encoding: chunked".to_owned()),
    };
    let expect = if up.expect {
        "Expect: 100-continue\r\n"
    } else {
        ""
    };
    let head = format!(
        "{method} {} HTTP/1.1\r\nHost: upload.test\r\n{framing}\r\n{expect}\r\n",
        up.path
    );
    let writer = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        let block = vec![b'x'; 64 * 1024];
        let mut left = up.size;
        while left > 0 {
            let n = left.min(block.len());
            if up.framing == Framing::Chunked {
                wr.write_all(format!("{n:x}\r\n").as_bytes()).await?;
                wr.write_all(&block[..n]).await?;
                wr.write_all(b"\r\n").await?;
            } else {
                wr.write_all(&block[..n]).await?;
            }
            left -= n;
        }
        if up.framing == Framing::Chunked {
            wr.write_all(b"0\r\n\r\n").await?;
        }
        // Kept open (not shut down): a keep-alive client does not half-close.
        Ok::<_, std::io::Error>(wr)
    });
    let (head, body, ended) = tokio::time::timeout(PATIENCE, read_response(&mut rd))
        .await
        .unwrap_or_else(|_| panic!("no complete answer to {up:?} within {PATIENCE:?}"));
    let code = head.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    // After the response: does the other end close the connection (within a few seconds)?
    let closed_after = ended || {
        let mut rest = [0u8; 1024];
        matches!(
            tokio::time::timeout(Duration::from_secs(5), rd.read(&mut rest)).await,
            Ok(Ok(0) | Err(_))
        )
    };
    let sent_all = match tokio::time::timeout(Duration::from_secs(5), writer).await {
        Ok(Ok(result)) => result.is_ok(),
        Ok(Err(panicked)) => panic!("the writer panicked: {panicked}"),
        Err(_) => false,
    };
    Answer {
        code,
        head,
        body,
        sent_all,
        closed_after,
    }
}

/// Reads one final response with a Content-Length body (what the replica and the proxy send
/// here), skipping `100 Continue`: its head (lowercased), its body, and whether the connection
/// ended (EOF or reset) before it was complete.
async fn read_response(rd: &mut tokio::net::tcp::OwnedReadHalf) -> (String, String, bool) {
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while let Some(end) = find(&raw, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            if head.starts_with("http/1.1 1") {
                raw.drain(..end + 4);
                continue;
            }
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if let Some(n) = length
                && raw.len() >= end + 4 + n
            {
                let body = String::from_utf8_lossy(&raw[end + 4..end + 4 + n]).into_owned();
                return (head, body, false);
            }
            break;
        }
        match rd.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let text = String::from_utf8_lossy(&raw).into_owned();
                let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
                return (head.to_ascii_lowercase(), body.to_owned(), true);
            }
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Every early-answer upload, with what the app answers to it.
fn early_answers() -> Vec<(Upload, (u16, &'static str))> {
    let mut all = Vec::new();
    for size in [5 * MB, 20 * MB] {
        for framing in [Framing::Length, Framing::Chunked] {
            for expect in [false, true] {
                let limited = match framing {
                    Framing::Length => LIMITED_BY_LENGTH,
                    Framing::Chunked => LIMITED_BY_READING,
                };
                for (path, said) in [("/upload/limited", limited), ("/upload/refused", REFUSED)] {
                    let up = Upload {
                        path,
                        size,
                        framing,
                        expect,
                    };
                    all.push((up, said));
                }
            }
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_answer_reaches_the_client_and_closes_its_connection() {
    let (mut replica, app) = start_replica().await;
    let (proxy, addr) = start_webapp_proxy(app).await;
    let cases = early_answers();
    for &(up, said) in &cases {
        // Directly, the app answers with its own words: what the client must see through the
        // proxy too.
        let direct = upload(app, up).await;
        assert_eq!(
            (direct.code, direct.body.as_str()),
            said,
            "{up:?}, direct: {direct:?}"
        );
        let proxied = upload(addr, up).await;
        assert_eq!(
            (proxied.code, proxied.body.as_str()),
            said,
            "{up:?}, through the proxy: {proxied:?}"
        );
        // A body the proxy did not read to its end leaves the connection unusable: the proxy
        // says so and closes it. 20 MB is more than the socket buffers on the way take in (the
        // replica reads 1 MiB at most); 5 MB may fit, and then the connection may stay open.
        if up.size == 20 * MB {
            assert!(proxied.says_close(), "{up:?}: {proxied:?}");
        }
        assert_eq!(
            proxied.says_close(),
            proxied.closed_after,
            "{up:?}: {proxied:?}"
        );
        // It closes lingering: what the client still sends is read and dropped, never met with
        // a reset, which could destroy the answer before the client has read it.
        assert!(
            proxied.sent_all,
            "{up:?}: reset under the client's body: {proxied:?}"
        );
    }
    let metrics = proxy.metrics().encode();
    for (code, count) in [(413, cases.len() / 2), (401, cases.len() / 2)] {
        let line = format!(
            r#"hoist_proxy_requests_total{{app="webapp",revision="r1",code="{code}"}} {count}"#
        );
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
    assert!(!metrics.contains("hoist_proxy_errors_total{"), "{metrics}");
    assert!(!metrics.contains("hoist_proxy_retries_total{"), "{metrics}");
    replica.kill().await.unwrap();
}

/// curl, as the issue's reporter ran it: `--data-binary @file` (Content-Length, and
/// `Expect: 100-continue` past 1 MiB) and `-T -` (chunked), each a few times, since whether the
/// replica's reset overtakes the proxy's write is a race.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_gets_the_early_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (mut replica, app) = start_replica().await;
    let (_proxy, addr) = start_webapp_proxy(app).await;
    let file = dir.path().join("20mb");
    std::fs::write(&file, vec![b'x'; 20 * MB]).unwrap();
    let mut failures = Vec::new();
    for round in 0..5 {
        for (path, by_length, chunked) in [
            ("/upload/limited", LIMITED_BY_LENGTH, LIMITED_BY_READING),
            ("/upload/refused", REFUSED, REFUSED),
        ] {
            for (args, said) in [
                (
                    vec!["--data-binary".to_owned(), format!("@{}", file.display())],
                    by_length,
                ),
                (vec!["-T".to_owned(), "-".to_owned()], chunked),
            ] {
                let out = tokio::process::Command::new("curl")
                    .args(["-sS", "-w", "\n%{http_code}"])
                    .args(&args)
                    .arg(format!("http://{addr}{path}"))
                    .stdin(std::fs::File::open(&file).unwrap())
                    .output()
                    .await
                    .expect("the tests need curl on PATH");
                let stdout = String::from_utf8_lossy(&out.stdout);
                let want = format!("{}\n{}", said.1, said.0);
                if stdout != want {
                    failures.push(format!(
                        "round {round}, {path} {args:?}: {stdout:?} {}",
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed: {failures:#?}",
        failures.len()
    );
    replica.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_upload_the_app_reads_arrives_whole() {
    let (mut replica, app) = start_replica().await;
    let (_proxy, addr) = start_webapp_proxy(app).await;
    for framing in [Framing::Length, Framing::Chunked] {
        for expect in [false, true] {
            let up = Upload {
                path: "/upload/len",
                size: 20 * MB,
                framing,
                expect,
            };
            let answer = upload(addr, up).await;
            assert_eq!(
                (answer.code, answer.body.as_str()),
                (200, "20971520\n"),
                "{up:?}: {answer:?}"
            );
            assert!(answer.sent_all, "{up:?}: {answer:?}");
            // A body read whole leaves the connection open for the next request.
            assert!(!answer.says_close(), "{up:?}: {answer:?}");
            assert!(!answer.closed_after, "{up:?}: {answer:?}");
        }
    }
    replica.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hang_up_before_any_answer_is_still_a_502() {
    let (mut replica, app) = start_replica().await;
    let (proxy, addr) = start_webapp_proxy(app).await;
    for framing in [Framing::Length, Framing::Chunked] {
        let up = Upload {
            path: "/upload/hangup",
            size: 20 * MB,
            framing,
            expect: false,
        };
        let answer = upload(addr, up).await;
        assert_eq!(
            (answer.code, answer.body.as_str()),
            (502, "the replica failed while answering\n"),
            "{up:?}: {answer:?}"
        );
        // The body was left half-read here too: the connection closes, lingering.
        assert!(
            answer.says_close() && answer.closed_after,
            "{up:?}: {answer:?}"
        );
        assert!(
            answer.sent_all,
            "{up:?}: reset under the client's body: {answer:?}"
        );
    }
    let metrics = proxy.metrics().encode();
    assert!(
        metrics.contains(r#"hoist_proxy_errors_total{app="webapp",reason="upstream failed"} 2"#),
        "{metrics}"
    );
    // A request with a body is never replayed.
    assert!(!metrics.contains("hoist_proxy_retries_total{"), "{metrics}");
    replica.kill().await.unwrap();
}
