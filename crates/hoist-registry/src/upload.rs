//! One blob to one repository: HEAD first (never re-upload what the registry has), then a
//! cross-repository mount when another repository of the registry is known to hold it, then a
//! monolithic upload (POST, then PUT `?digest=`), or a chunked one (PATCH with `Content-Range`)
//! for large blobs, falling back to monolithic when the registry refuses chunks.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use hoist_image::Descriptor;
use reqwest::Method;
use reqwest::blocking::Body;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION};

use crate::auth::Scope;
use crate::blobs::BlobDir;
use crate::client::{Client, Request};
use crate::error::{RegistryError, Result};
use crate::observe::{BlobOutcome, Observer};
use crate::session::{Session, unexpected};

/// What one blob upload needs.
pub(crate) struct BlobPush<'a> {
    pub client: &'a Client,
    pub session: &'a Session,
    pub repository: &'a str,
    pub blobs: &'a BlobDir,
    pub observer: &'a Arc<dyn Observer>,
}

impl BlobPush<'_> {
    fn scopes(&self, from: Option<&str>) -> Vec<Scope> {
        let mut s = vec![Scope::push(self.repository)];
        s.extend(from.map(Scope::pull));
        s
    }

    /// Makes sure the registry has `desc` in the repository; `mount_from` lists repositories
    /// of the same registry that may hold it.
    pub fn push(&self, desc: &Descriptor, mount_from: &[String]) -> Result<BlobOutcome> {
        let c = &self.client.counters;
        self.observer.blob_started(&desc.digest, desc.size);
        let outcome = self.push_inner(desc, mount_from)?;
        let (n, bytes) = match outcome {
            BlobOutcome::Exists => (&c.skipped, &c.skipped_bytes),
            BlobOutcome::Mounted { .. } => (&c.mounted, &c.mounted_bytes),
            _ => (&c.uploaded, &c.uploaded_bytes),
        };
        n.fetch_add(1, Ordering::Relaxed);
        bytes.fetch_add(desc.size, Ordering::Relaxed);
        self.observer
            .blob_finished(&desc.digest, desc.size, &outcome);
        Ok(outcome)
    }

    fn push_inner(&self, desc: &Descriptor, mount_from: &[String]) -> Result<BlobOutcome> {
        if self.exists(desc)? {
            return Ok(BlobOutcome::Exists);
        }
        let mut location = None;
        for from in mount_from {
            match self.mount(desc, from) {
                Ok(Mount::Done) => {
                    return Ok(BlobOutcome::Mounted { from: from.clone() });
                }
                Ok(Mount::Session(l)) => {
                    location = Some(l);
                    break;
                }
                Err(e) => tracing::debug!(from, error = %e, "cross-repository mount failed"),
            }
        }
        let what = format!("upload of blob {}", desc.digest);
        let policy = self.client.options.retry;
        policy.run(&what, &self.client.counters.retries, || {
            self.upload(desc, location.take())
        })?;
        Ok(BlobOutcome::Uploaded)
    }

    /// HEAD: does the repository have the blob?
    fn exists(&self, desc: &Descriptor) -> Result<bool> {
        let url = self
            .session
            .url(&format!("{}/blobs/{}", self.repository, desc.digest));
        let what = format!("HEAD blob {}", desc.digest);
        let req = Request::new(Method::HEAD, url, what.clone()).scopes(self.scopes(None));
        let resp = self.client.send(self.session, &req, true)?;
        match resp.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(unexpected(self.session, &what, resp)),
        }
    }

    fn mount(&self, desc: &Descriptor, from: &str) -> Result<Mount> {
        let url = self.session.url(&format!(
            "{}/blobs/uploads/?mount={}&from={from}",
            self.repository, desc.digest
        ));
        let what = format!("mount of blob {} from `{from}`", desc.digest);
        let req = Request::new(Method::POST, url, what.clone())
            .scopes(self.scopes(Some(from)))
            .header(CONTENT_LENGTH, "0");
        let resp = self.client.send(self.session, &req, true)?;
        match resp.status().as_u16() {
            201 => Ok(Mount::Done),
            202 => Ok(Mount::Session(self.location(&resp, &what)?)),
            _ => Err(unexpected(self.session, &what, resp)),
        }
    }

    /// One upload attempt: a new session unless one is given, then chunks or one PUT.
    fn upload(&self, desc: &Descriptor, location: Option<String>) -> Result<()> {
        let location = match location {
            Some(l) => l,
            None => self.start()?,
        };
        if desc.size >= self.client.options.chunk_threshold {
            match self.chunked(desc, &location)? {
                Chunked::Done => return Ok(()),
                Chunked::Refused(status) => {
                    tracing::debug!(
                        status,
                        "the registry refused a chunked upload; uploading {} in one request",
                        desc.digest
                    );
                    let location = self.start()?;
                    return self.monolithic(desc, &location);
                }
            }
        }
        self.monolithic(desc, &location)
    }

    /// POST: opens an upload session.
    fn start(&self) -> Result<String> {
        let url = self
            .session
            .url(&format!("{}/blobs/uploads/", self.repository));
        let what = "POST blob upload".to_owned();
        let req = Request::new(Method::POST, url, what.clone())
            .scopes(self.scopes(None))
            .header(CONTENT_LENGTH, "0");
        let resp = self.client.send(self.session, &req, false)?;
        match resp.status().as_u16() {
            202 => self.location(&resp, &what),
            _ => Err(unexpected(self.session, &what, resp)),
        }
    }

    fn location(&self, resp: &reqwest::blocking::Response, what: &str) -> Result<String> {
        resp.headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| self.session.absolute(l))
            .ok_or_else(|| RegistryError::Unexpected {
                registry: self.session.registry.clone(),
                what: format!("{what} (no Location header)"),
                status: resp.status().as_u16(),
                code: None,
                message: None,
            })
    }

    /// PUT `location?digest=` with the whole blob.
    ///
    /// The blob (below the chunk threshold, so of bounded size) is read into memory and sent as
    /// one buffer: a reader body would cross from reqwest's blocking side to its runtime in 8 KiB
    /// pieces, one thread hand-off each, which made a 20 MB push measurably slower than
    /// skopeo's. Progress is reported once the registry has taken the blob.
    fn monolithic(&self, desc: &Descriptor, location: &str) -> Result<()> {
        let path = self.blobs.path(&desc.digest);
        let bytes = std::fs::read(&path).map_err(|source| RegistryError::Io {
            path: path.clone(),
            source,
        })?;
        let body = bytes_body(bytes);
        let url = with_digest(location, desc);
        let what = format!("PUT blob {}", desc.digest);
        let req = Request::new(Method::PUT, url, what.clone())
            .scopes(self.scopes(None))
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, desc.size.to_string())
            .body(&body);
        let resp = self.client.send(self.session, &req, false)?;
        match resp.status().as_u16() {
            201 | 204 => {
                self.observer.blob_progress(&desc.digest, desc.size);
                Ok(())
            }
            _ => Err(unexpected(self.session, &what, resp)),
        }
    }

    /// PATCH each chunk, then PUT `?digest=` with no body.
    fn chunked(&self, desc: &Descriptor, location: &str) -> Result<Chunked> {
        let path = self.blobs.path(&desc.digest);
        let io = |source| RegistryError::Io {
            path: path.clone(),
            source,
        };
        let mut file = File::open(&path).map_err(io)?;
        let chunk_size = self.client.options.chunk_size.max(1);
        let mut location = location.to_owned();
        let mut offset = 0u64;
        while offset < desc.size {
            let len = chunk_size.min(desc.size - offset);
            let mut chunk = vec![0; usize::try_from(len).unwrap_or(usize::MAX)];
            file.seek(SeekFrom::Start(offset)).map_err(io)?;
            file.read_exact(&mut chunk).map_err(io)?;
            let chunk = bytes_body(chunk);
            let what = format!("PATCH blob {} at {offset}", desc.digest);
            let req = Request::new(Method::PATCH, location.clone(), what.clone())
                .scopes(self.scopes(None))
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_RANGE, format!("{offset}-{}", offset + len - 1))
                .header(CONTENT_LENGTH, len.to_string())
                .body(&chunk);
            let resp = self.client.send(self.session, &req, false)?;
            match resp.status().as_u16() {
                202 => location = self.location(&resp, &what)?,
                status @ (400 | 405 | 416 | 501) if offset == 0 => {
                    return Ok(Chunked::Refused(status));
                }
                _ => return Err(unexpected(self.session, &what, resp)),
            }
            self.observer.blob_progress(&desc.digest, len);
            offset += len;
        }
        let what = format!("PUT blob {} (end of chunks)", desc.digest);
        let req = Request::new(Method::PUT, with_digest(&location, desc), what.clone())
            .scopes(self.scopes(None))
            .header(CONTENT_LENGTH, "0");
        let resp = self.client.send(self.session, &req, false)?;
        match resp.status().as_u16() {
            201 | 204 => Ok(Chunked::Done),
            _ => Err(unexpected(self.session, &what, resp)),
        }
    }
}

enum Mount {
    Done,
    /// Not mounted; the registry opened an upload session instead.
    Session(String),
}

enum Chunked {
    Done,
    Refused(u16),
}

/// A re-creatable body of bytes held in memory.
fn bytes_body(bytes: Vec<u8>) -> impl Fn() -> Result<Body> + Sync {
    let bytes = bytes::Bytes::from(bytes);
    move || Ok(Body::from(bytes.clone()))
}

fn with_digest(location: &str, desc: &Descriptor) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={}", desc.digest)
}
