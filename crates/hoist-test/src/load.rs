//! A bounded HTTP load: keep-alive connections sending `GET` through the proxy as fast as they
//! are answered, until stopped or a limit is reached; every answer is recorded.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

/// Held by a test while its load runs: loads of parallel tests would share the two cores and
/// each measure less than it should.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOADS: Mutex<()> = Mutex::new(());
    LOADS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One answer (or failure) seen by the load.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When the request was sent.
    pub at: Instant,
    /// The status, or `None` for a connection-level failure.
    pub status: Option<u16>,
    /// The body (or the error).
    pub body: String,
}

/// A running load: what a user's traffic would see during a rollout.
pub struct Load {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<Sample>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    started: Instant,
}

/// What a finished load saw: a rollout must fail no request.
pub struct Report {
    /// Every sample, in no particular order.
    pub samples: Vec<Sample>,
    /// How long it ran.
    pub elapsed: Duration,
}

impl Report {
    /// Answers that were not 200, and connection failures.
    pub fn failures(&self) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| s.status != Some(200))
            .collect()
    }

    /// Requests per second.
    pub fn rate(&self) -> f64 {
        self.samples.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// A one-line summary.
    pub fn summary(&self) -> String {
        format!(
            "{} requests in {:.1}s ({:.0}/s), {} failed{}",
            self.samples.len(),
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.failures().len(),
            self.failures()
                .first()
                .map_or_else(String::new, |f| format!(
                    "; first: {:?} {}",
                    f.status, f.body
                ))
        )
    }
}

impl Load {
    /// Starts `connections` loops against `http://addr/path`, for at most `limit` and
    /// `max_requests` in all.
    pub fn start(
        addr: SocketAddr,
        path: &str,
        connections: usize,
        limit: Duration,
        max_requests: usize,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::with_capacity(64 * 1024)));
        let (s2, samples2, path) = (Arc::clone(&stop), Arc::clone(&samples), path.to_owned());
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let deadline = Instant::now() + limit;
                let mut tasks = Vec::new();
                for _ in 0..connections {
                    let (stop, samples, path) =
                        (Arc::clone(&s2), Arc::clone(&samples2), path.clone());
                    tasks.push(tokio::spawn(async move {
                        connection(addr, &path, &stop, &samples, deadline, max_requests).await;
                    }));
                }
                for t in tasks {
                    let _ = t.await;
                }
            });
        });
        Self {
            stop,
            samples,
            thread: Some(thread),
            started,
        }
    }

    /// Requests answered so far.
    pub fn count(&self) -> usize {
        self.samples.lock().expect("samples").len()
    }

    /// Stops and reports.
    pub fn finish(mut self) -> Report {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().expect("load thread");
        }
        let elapsed = self.started.elapsed();
        let samples = std::mem::take(&mut *self.samples.lock().expect("samples"));
        Report { samples, elapsed }
    }
}

async fn connection(
    addr: SocketAddr,
    path: &str,
    stop: &AtomicBool,
    samples: &Mutex<Vec<Sample>>,
    deadline: Instant,
    max: usize,
) {
    let mut sender = None;
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        if samples.lock().expect("samples").len() >= max {
            return;
        }
        if sender.is_none() {
            match connect(addr).await {
                Ok(s) => sender = Some(s),
                Err(e) => {
                    record(samples, Instant::now(), None, format!("connect: {e}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let s = sender.as_mut().expect("connected");
        let at = Instant::now();
        let req = http::Request::get(path)
            .header(http::header::HOST, addr.to_string())
            .body(Empty::<Bytes>::new())
            .expect("request");
        match s.send_request(req).await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                match resp.into_body().collect().await {
                    Ok(b) => record(
                        samples,
                        at,
                        Some(status),
                        String::from_utf8_lossy(&b.to_bytes()).into_owned(),
                    ),
                    Err(e) => {
                        record(samples, at, None, format!("body: {e}"));
                        sender = None;
                    }
                }
            }
            Err(e) => {
                record(samples, at, None, format!("request: {e}"));
                sender = None;
            }
        }
    }
}

async fn connect(
    addr: SocketAddr,
) -> Result<hyper::client::conn::http1::SendRequest<Empty<Bytes>>, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(send)
}

fn record(samples: &Mutex<Vec<Sample>>, at: Instant, status: Option<u16>, body: String) {
    samples
        .lock()
        .expect("samples")
        .push(Sample { at, status, body });
}
