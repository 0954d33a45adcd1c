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

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::conn::{Pool, Stream};
use super::head::Framing;
use crate::proxy::buffers;

/// Longest chunk-size line or trailer section read before the body is called malformed.
const MAX_CHUNK_LINE: usize = 4096;
const MAX_TRAILERS: usize = 16 * 1024;

/// Where in its framing the body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// This many bytes to go, by `Content-Length` or in the current chunk.
    Bytes {
        left: u64,
        chunked: bool,
    },
    /// A chunk's size line is next.
    ChunkSize,
    /// The CRLF after a chunk's data.
    ChunkEnd,
    /// The trailer section after the last chunk.
    Trailers {
        read: usize,
    },
    UntilClose,
    Done,
}

/// An answer's body.
pub(crate) struct Body {
    stream: Option<Stream>,
    pool: Arc<Pool>,
    /// Bytes read and not yet handed on.
    buf: BytesMut,
    state: State,
    /// Whether the connection is reused once the body is read to its end.
    keep_alive: bool,
    /// Most bytes read at once.
    chunk: usize,
}

impl Body {
    pub(crate) fn new(
        stream: Stream,
        pool: Arc<Pool>,
        buf: BytesMut,
        framing: Framing,
        keep_alive: bool,
        chunk: usize,
    ) -> Body {
        let state = match framing {
            Framing::Empty | Framing::Length(0) => State::Done,
            Framing::Length(left) => State::Bytes {
                left,
                chunked: false,
            },
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
        };
        let mut body = Body {
            stream: Some(stream),
            pool,
            buf,
            state,
            keep_alive,
            chunk,
        };
        if body.state == State::Done {
            body.finish();
        }
        body
    }

    /// Whether all of it has been handed on.
    pub(crate) fn is_end(&self) -> bool {
        self.state == State::Done
    }

    /// The bytes still to come, where the framing says.
    pub(crate) fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Bytes {
                left,
                chunked: false,
            } => Some(left),
            State::Done => Some(0),
            _ => None,
        }
    }

    /// The next piece of the body, `None` at its end.
    pub(crate) fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        loop {
            match self.state {
                State::Done => return Poll::Ready(None),
                State::Bytes { left, chunked } => {
                    if !self.buf.is_empty() {
                        let n =
                            usize::try_from(left).map_or(self.buf.len(), |l| l.min(self.buf.len()));
                        let left = left - n as u64;
                        self.state = match (left, chunked) {
                            (0, true) => State::ChunkEnd,
                            (0, false) => State::Done,
                            _ => State::Bytes { left, chunked },
                        };
                        let frame = self.buf.split_to(n).freeze();
                        if self.state == State::Done {
                            self.finish();
                        }
                        return Poll::Ready(Some(Ok(frame)));
                    }
                    let want = usize::try_from(left).map_or(self.chunk, |l| l.min(self.chunk));
                    if ready!(self.poll_read(cx, want))? == 0 {
                        return Poll::Ready(Some(Err(cut_short(left))));
                    }
                }
                State::UntilClose => {
                    if !self.buf.is_empty() {
                        let frame = self.buf.split().freeze();
                        return Poll::Ready(Some(Ok(frame)));
                    }
                    if ready!(self.poll_read(cx, self.chunk))? == 0 {
                        self.keep_alive = false;
                        self.state = State::Done;
                        self.finish();
                    }
                }
                State::ChunkSize => match httparse::parse_chunk_size(&self.buf) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.buf.advance(used);
                        self.state = match size {
                            0 => State::Trailers { read: 0 },
                            left => State::Bytes {
                                left,
                                chunked: true,
                            },
                        };
                    }
                    Ok(httparse::Status::Partial) if self.buf.len() < MAX_CHUNK_LINE => {
                        if ready!(self.poll_read(cx, MAX_CHUNK_LINE))? == 0 {
                            return Poll::Ready(Some(Err(cut_short_chunked())));
                        }
                    }
                    _ => return Poll::Ready(Some(Err(malformed("a chunk size")))),
                },
                State::ChunkEnd => {
                    if self.buf.len() >= 2 {
                        if &self.buf[..2] != b"\r\n" {
                            return Poll::Ready(Some(Err(malformed("the end of a chunk"))));
                        }
                        self.buf.advance(2);
                        self.state = State::ChunkSize;
                    } else if ready!(self.poll_read(cx, MAX_CHUNK_LINE))? == 0 {
                        return Poll::Ready(Some(Err(cut_short_chunked())));
                    }
                }
                State::Trailers { read } => {
                    // Trailer fields end with an empty line; they are dropped (the answer is
                    // framed anew for the client, and trailers are not forwarded).
                    match self.buf.windows(2).position(|w| w == b"\r\n") {
                        Some(0) => {
                            self.buf.advance(2);
                            self.state = State::Done;
                            self.finish();
                        }
                        Some(line) if read + line < MAX_TRAILERS => {
                            self.buf.advance(line + 2);
                            self.state = State::Trailers {
                                read: read + line + 2,
                            };
                        }
                        None if read + self.buf.len() < MAX_TRAILERS => {
                            if ready!(self.poll_read(cx, MAX_CHUNK_LINE))? == 0 {
                                return Poll::Ready(Some(Err(cut_short_chunked())));
                            }
                        }
                        _ => return Poll::Ready(Some(Err(malformed("the trailer section")))),
                    }
                }
            }
        }
    }

    /// The socket to move the body's next bytes from without reading them here, and how
    /// many at most: in the middle of an identity body, on a plain connection whose bytes
    /// read so far have all been handed on.
    pub(crate) fn splice_source(&self) -> Option<(&TcpStream, usize)> {
        match self.state {
            State::Bytes {
                left,
                chunked: false,
            } if self.buf.is_empty() => {
                let want = usize::try_from(left).map_or(self.chunk, |l| l.min(self.chunk));
                Some((self.stream.as_ref()?.plain()?, want))
            }
            _ => None,
        }
    }

    /// Most bytes read (or moved) at once.
    pub(crate) fn chunk(&self) -> usize {
        self.chunk
    }

    /// The error for a body whose connection ended early.
    pub(crate) fn cut_short(&self) -> io::Error {
        cut_short(self.remaining().unwrap_or(0))
    }

    /// Counts `n` bytes moved from the socket by the caller (see [`Body::splice_source`]).
    pub(crate) fn spliced(&mut self, n: usize) {
        if let State::Bytes {
            left,
            chunked: false,
        } = self.state
        {
            let left = left.saturating_sub(n as u64);
            self.state = match left {
                0 => State::Done,
                left => State::Bytes {
                    left,
                    chunked: false,
                },
            };
            if self.state == State::Done {
                self.finish();
            }
        }
    }

    /// Reads at most `want` more bytes into the buffer; 0 at the end of the stream.
    fn poll_read(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<usize>> {
        let Some(stream) = self.stream.as_mut() else {
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
        if let Some(stream) = self.stream.take() {
            if self.keep_alive && self.buf.is_empty() {
                self.pool.give_back(stream);
            }
        }
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        buffers::give_back(std::mem::take(&mut self.buf));
    }
}

fn cut_short(left: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the upstream closed the connection {left} bytes before the end of the body"),
    )
}

fn cut_short_chunked() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the upstream closed the connection before the last chunk",
    )
}

fn malformed(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the upstream's chunked body has a malformed {what}"),
    )
}
