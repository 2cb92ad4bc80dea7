//! The proxy's two sockets as hyper sees them, each with one behaviour hyper lacks for a request
//! whose body is left half-read (an app that answers a large upload with 400, 401 or 413 before
//! reading it):
//!
//! - [`UpstreamIo`], towards a replica: hyper's HTTP/1 client fails the whole exchange on the
//!   first write error, even when the replica's answer is already waiting, unread, in the socket.
//!   An app that answers early and then closes resets the connection under the body still being
//!   sent, so hyper would turn its answer into an error. Here a write that fails because the
//!   replica is gone waits instead, until hyper has read the connection to its end (the answer
//!   if there is one, else only the end, which fails the request as before) or for at most
//!   [`GONE_GRACE`]. Writes fail from then on, which ends the connection.
//! - [`ClientIo`], towards a client: closing a socket with unread bytes resets it, and a reset can
//!   destroy the answer not yet delivered (the proxy's unsent bytes, or the client's unread ones).
//!   When the client's body was left half-read, the close is a lingering one, as nginx's and Go's
//!   servers do: the write side is shut (the client sees the end of the answer) and what the client
//!   still sends is read and dropped, for at most [`LINGER`].
//!
//! On the common path (bodies read to their end, replicas that do not reset) both only pass calls
//! through.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::forward::Peer;

/// How long a client connection whose body was left half-read may still send (and be ignored)
/// once its answer is written: enough for the client to read the answer and stop, as Go's
/// server waits 500 ms and nginx up to 5 s between reads.
pub(crate) const LINGER: Duration = Duration::from_secs(2);

/// How long writes to a replica that reset the connection wait for hyper to read what the
/// replica sent before: an answer already received takes no time to read, unless a slow client
/// holds back a large one. The bound matters when hyper stops reading while it still has bytes
/// to write (it flushes before it shuts down, even a connection it gave up on): the writes then
/// fail after it, and the connection ends instead of waiting forever.
const GONE_GRACE: Duration = Duration::from_secs(10);

/// A connection to a replica whose writes, once the replica has reset it, wait for hyper to read
/// the rest of the connection instead of failing.
pub(crate) struct UpstreamIo {
    stream: TcpStream,
    /// Set once a write found the replica gone.
    gone: bool,
    /// Set once a read found the end of the connection (or failed).
    read_ended: bool,
    /// The end of the wait, from the first write that found the replica gone.
    grace: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl UpstreamIo {
    /// Wraps a connected stream.
    pub(crate) fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            gone: false,
            read_ended: false,
            grace: None,
        }
    }

    /// What a write says once the replica is gone: wait while there is still something to read
    /// (the connection's reads wake hyper, with what the replica sent or the end), fail once
    /// everything was read or [`GONE_GRACE`] has passed.
    fn after_gone<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if !self.read_ended {
            let grace = self
                .grace
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(GONE_GRACE)));
            if grace.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()))
    }

    /// A write's result, with the replica's reset turned into [`Self::after_gone`].
    fn park<T>(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match result {
            Poll::Ready(Err(e)) if peer_gone(&e) => {
                tracing::debug!(error = %e, "replica stopped reading; reading its answer");
                self.gone = true;
                self.after_gone(cx)
            }
            other => other,
        }
    }
}

/// Whether a write error says the other end has closed or reset the connection.
fn peer_gone(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
    )
}

impl AsyncRead for UpstreamIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let (room, before) = (buf.remaining(), buf.filled().len());
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        match &result {
            Poll::Ready(Ok(())) if room == 0 || buf.filled().len() > before => {}
            Poll::Ready(_) => this.read_ended = true,
            Poll::Pending => {}
        }
        result
    }
}

impl AsyncWrite for UpstreamIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.gone {
            return this.after_gone(cx);
        }
        let result = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.park(cx, result)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.gone {
            return this.after_gone(cx);
        }
        let result = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.park(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.gone {
            return this.after_gone(cx);
        }
        let result = Pin::new(&mut this.stream).poll_flush(cx);
        this.park(cx, result)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.gone {
            // Nothing left to say to a replica that is gone.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

/// A client connection that closes lingering when its last request's body was left half-read.
pub(crate) struct ClientIo {
    stream: TcpStream,
    peer: Arc<Peer>,
    /// The end of the lingering close, once it has begun.
    linger: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl ClientIo {
    /// Wraps an accepted stream from `peer`.
    pub(crate) fn new(stream: TcpStream, peer: Arc<Peer>) -> Self {
        Self {
            stream,
            peer,
            linger: None,
        }
    }
}

impl AsyncRead for ClientIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ClientIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    /// Shuts the write side; after a half-read body, then reads and drops what the client still
    /// sends until it closes, fails, or [`LINGER`] has passed, so that closing does not reset
    /// the connection under the answer.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.linger.is_none() {
            ready!(Pin::new(&mut this.stream).poll_shutdown(cx))?;
            if !this.peer.body_unread() {
                return Poll::Ready(Ok(()));
            }
            this.linger = Some(Box::pin(tokio::time::sleep(LINGER)));
        }
        let mut scratch = [0u8; 16 * 1024];
        loop {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.stream).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {}
                // The client closed, or reset: nothing can be lost any more.
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending => break,
            }
        }
        match &mut this.linger {
            Some(end) => end.as_mut().poll(cx).map(Ok),
            None => Poll::Ready(Ok(())),
        }
    }
}
