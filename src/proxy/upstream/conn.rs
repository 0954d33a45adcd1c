//! Connections to the upstream: plain TCP or rustls over it, and the worker's pool of idle
//! ones kept for reuse (most recently used first, so that the warm ones are taken and the
//! cold ones age out).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;
use tokio_rustls::client::TlsStream;

/// A connection to the upstream, with the deadline of the answer under way on it.
pub(crate) struct Conn {
    pub(crate) stream: Stream,
    /// When the head of the answer under way is due. One timer per connection, moved later
    /// for each exchange (which tokio does without touching its timer wheel), in place of one
    /// made and dropped for each request.
    pub(crate) answer_due: Pin<Box<Sleep>>,
}

impl Conn {
    pub(crate) fn new(stream: Stream) -> Conn {
        // Set by each exchange before it is polled.
        let answer_due = Box::pin(tokio::time::sleep(Duration::ZERO));
        Conn { stream, answer_due }
    }
}

/// A connection to the upstream.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    /// The socket itself, where bytes on it are the body's own (no TLS).
    pub(crate) fn plain(&self) -> Option<&TcpStream> {
        match self {
            Stream::Plain(tcp) => Some(tcp),
            Stream::Tls(_) => None,
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

/// One worker's idle upstream connections.
pub(crate) struct Pool {
    idle: Mutex<VecDeque<(Conn, Instant)>>,
    max_idle: usize,
    idle_timeout: Duration,
}

impl Pool {
    pub(crate) fn new(max_idle: usize, idle_timeout: Duration) -> Pool {
        Pool {
            idle: Mutex::new(VecDeque::new()),
            max_idle,
            idle_timeout,
        }
    }

    /// The connection used last, if one is idle and has not been for too long.
    pub(crate) fn take(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().ok()?;
        self.expire(&mut idle);
        idle.pop_back().map(|(conn, _)| conn)
    }

    /// Keeps `conn` for the next request; the longest idle goes past `max_idle`.
    pub(crate) fn give_back(&self, conn: Conn) {
        let Ok(mut idle) = self.idle.lock() else {
            return;
        };
        idle.push_back((conn, Instant::now()));
        if idle.len() > self.max_idle {
            idle.pop_front();
        }
    }

    /// Closes the connections idle for longer than the idle timeout.
    pub(crate) fn close_expired(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            self.expire(&mut idle);
        }
    }

    fn expire(&self, idle: &mut VecDeque<(Conn, Instant)>) {
        while idle
            .front()
            .is_some_and(|(_, since)| since.elapsed() >= self.idle_timeout)
        {
            idle.pop_front();
        }
    }
}
