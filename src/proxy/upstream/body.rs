//! An upstream answer's body, read from its connection as the client takes it: by
//! `Content-Length`, chunked (RFC 9112 §7.1, trailers dropped) or until the upstream closes.
//! Each frame is a slice of the answer's read buffer (see `buffers`), at most a chunk. Read
//! to its end, the connection goes back to the worker's pool if the upstream keeps it;
//! dropped before, it is closed.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::conn::{Conn, Pool};
use super::framing::{Decoder, Step};
use super::head::Framing;
use crate::proxy::buffers;

/// The least of a body worth splicing: less is read and written in one go for less than
/// the two `splice(2)` calls cost.
const MIN_SPLICE: u64 = 16 * 1024;

/// An answer's body.
pub(crate) struct Body {
    conn: Option<Conn>,
    pool: Arc<Pool>,
    /// Bytes read and not yet handed on.
    buf: BytesMut,
    decoder: Decoder,
    /// Whether the connection is reused once the body is read to its end.
    keep_alive: bool,
}

impl Body {
    pub(crate) fn new(
        conn: Conn,
        pool: Arc<Pool>,
        buf: BytesMut,
        framing: Framing,
        keep_alive: bool,
        chunk: usize,
    ) -> Body {
        let mut body = Body {
            conn: Some(conn),
            pool,
            buf,
            decoder: Decoder::new(framing, chunk),
            keep_alive,
        };
        if body.decoder.is_end() {
            body.finish();
        }
        body
    }

    /// Whether all of it has been handed on.
    pub(crate) fn is_end(&self) -> bool {
        self.decoder.is_end()
    }

    /// The bytes still to come, where the framing says.
    pub(crate) fn remaining(&self) -> Option<u64> {
        self.decoder.remaining()
    }

    /// The next piece of the body, `None` at its end.
    pub(crate) fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        loop {
            let step = match self.decoder.step(&mut self.buf) {
                Ok(step) => step,
                Err(err) => return Poll::Ready(Some(Err(err))),
            };
            match step {
                Step::Data(frame) => {
                    if self.decoder.is_end() {
                        self.finish();
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                Step::End => {
                    self.finish();
                    return Poll::Ready(None);
                }
                Step::Read(want) => {
                    if ready!(self.poll_read(cx, want))? == 0 {
                        // A body that ran until the close leaves no connection to reuse.
                        self.keep_alive = false;
                        if let Err(err) = self.decoder.closed() {
                            return Poll::Ready(Some(Err(err)));
                        }
                    }
                }
            }
        }
    }

    /// The socket to move the body's next bytes from without reading them here, and how
    /// many are left: in the middle of a `Content-Length` body with at least [`MIN_SPLICE`]
    /// left, on a plain connection whose bytes read so far have all been handed on.
    pub(crate) fn splice_source(&self) -> Option<(&TcpStream, usize)> {
        let left = self
            .decoder
            .remaining()
            .filter(|&left| left >= MIN_SPLICE)?;
        if !self.buf.is_empty() {
            return None;
        }
        let left = usize::try_from(left).unwrap_or(usize::MAX);
        Some((self.conn.as_ref()?.stream.plain()?, left))
    }

    /// The error for a body whose connection ended early.
    pub(crate) fn cut_short(&mut self) -> io::Error {
        self.decoder
            .closed()
            .err()
            .unwrap_or_else(|| io::ErrorKind::UnexpectedEof.into())
    }

    /// Counts `n` bytes moved from the socket by the caller (see [`Body::splice_source`]).
    pub(crate) fn spliced(&mut self, n: usize) {
        self.decoder.taken(n);
        if self.decoder.is_end() {
            self.finish();
        }
    }

    /// Reads at most `want` more bytes into the buffer; 0 at the end of the stream.
    fn poll_read(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<usize>> {
        let Some(Conn { stream, .. }) = self.conn.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        if self.buf.capacity() - self.buf.len() < want {
            self.buf.reserve(want);
        }
        let mut limited = (&mut self.buf).limit(want);
        pin!(stream.read_buf(&mut limited)).poll(cx)
    }

    /// The body has been read to its end: its connection goes back to the pool if the
    /// upstream keeps it and sent nothing past the body.
    fn finish(&mut self) {
        if let Some(conn) = self.conn.take() {
            if self.keep_alive && self.buf.is_empty() {
                self.pool.give_back(conn);
            }
        }
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        buffers::give_back(std::mem::take(&mut self.buf));
    }
}
