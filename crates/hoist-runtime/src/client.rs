//! The CLI's side of the agent API: HTTP/1.1 over the agent's Unix socket, JSON in and out,
//! and the NDJSON event streams of deploys and rollbacks.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::UnixStream;

use crate::api::{ApiError, Event};

/// What can go wrong talking to the agent.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No agent listens on the socket.
    #[error("no hoist agent answers on `{socket}`")]
    NotRunning {
        /// The socket.
        socket: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP exchange failed (the agent died mid-answer).
    #[error("the agent's answer broke off")]
    Http(#[source] hyper::Error),
    /// The agent refused (bad input, a rollout in progress, an unknown app).
    #[error("{}", .body.error)]
    Refused {
        /// The HTTP status.
        status: u16,
        /// What the agent said.
        body: ApiError,
    },
    /// The answer was not what this hoist expects (another version of the agent).
    #[error("the agent's answer cannot be read (is it another hoist version?)")]
    Decode(#[source] serde_json::Error),
}

/// A client of one state directory's agent.
#[derive(Debug, Clone)]
pub struct AgentClient {
    socket: PathBuf,
}

impl AgentClient {
    /// The agent of `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        Self {
            socket: state_dir.join(crate::agent::SOCKET),
        }
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    async fn send(
        &self,
        method: http::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<http::Response<Incoming>, ClientError> {
        let stream =
            UnixStream::connect(&self.socket)
                .await
                .map_err(|source| ClientError::NotRunning {
                    socket: self.socket.clone(),
                    source,
                })?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(ClientError::Http)?;
        tokio::spawn(conn);
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, "hoist-agent");
        if body.is_some() {
            req = req.header(http::header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .expect("a valid request");
        let resp = sender.send_request(req).await.map_err(ClientError::Http)?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(ClientError::Http)?
            .to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| ApiError {
            error: format!(
                "the agent answered {status}: {}",
                String::from_utf8_lossy(&bytes).trim()
            ),
            hint: None,
        });
        Err(ClientError::Refused { status, body })
    }

    /// `GET path` as JSON.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let resp = self.send(http::Method::GET, path, None).await?;
        decode(resp).await
    }

    /// `DELETE path`, answered with JSON.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let resp = self.send(http::Method::DELETE, path, None).await?;
        decode(resp).await
    }

    /// `POST path` with a JSON body, answered with JSON.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let body = serde_json::to_vec(body).map_err(ClientError::Decode)?;
        let resp = self.send(http::Method::POST, path, Some(body)).await?;
        decode(resp).await
    }

    /// `POST path` with a JSON body, answered with a stream of events; `on_event` sees each.
    ///
    /// # Errors
    /// [`ClientError`]; a stream that ends without its `Done` event is
    /// [`ClientError::Refused`] with status 0 (the agent stopped mid-rollout).
    pub async fn post_events<B: Serialize>(
        &self,
        path: &str,
        body: &B,
        mut on_event: impl FnMut(Event),
    ) -> Result<(), ClientError> {
        let body = serde_json::to_vec(body).map_err(ClientError::Decode)?;
        let resp = self.send(http::Method::POST, path, Some(body)).await?;
        let mut body = resp.into_body();
        let mut buf = Vec::new();
        let mut done = false;
        while let Some(frame) = body.frame().await {
            // A broken stream is an agent that died mid-rollout, the same as one that ended it.
            let Ok(frame) = frame else {
                break;
            };
            let Some(data) = frame.data_ref() else {
                continue;
            };
            buf.extend_from_slice(data);
            while let Some(i) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=i).collect();
                let ev: Event = serde_json::from_slice(&line).map_err(ClientError::Decode)?;
                done |= matches!(ev, Event::Done(_));
                on_event(ev);
            }
        }
        if done {
            Ok(())
        } else {
            Err(ClientError::Refused {
                status: 0,
                body: ApiError {
                    error: "the agent stopped before the rollout ended".to_owned(),
                    hint: Some(
                        "start it again (`hoist agent`, or any `hoist deploy`): it resumes the rollout; `hoist status` shows where it stands".to_owned(),
                    ),
                },
            })
        }
    }

    /// `GET path`, streaming the raw body to `on_chunk` (logs).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn get_raw(
        &self,
        path: &str,
        mut on_chunk: impl FnMut(&[u8]),
    ) -> Result<(), ClientError> {
        let resp = self.send(http::Method::GET, path, None).await?;
        let mut body = resp.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(ClientError::Http)?;
            if let Some(data) = frame.data_ref() {
                on_chunk(data);
            }
        }
        Ok(())
    }
}

async fn decode<T: DeserializeOwned>(resp: http::Response<Incoming>) -> Result<T, ClientError> {
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(ClientError::Http)?
        .to_bytes();
    serde_json::from_slice(&bytes).map_err(ClientError::Decode)
}
