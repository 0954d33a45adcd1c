//! An answer's body taken apart by its framing (RFC 9112 §6.3): `Content-Length` bytes,
//! chunks (§7.1; extensions and trailers dropped) or everything until the upstream closes.
//! Sans I/O: it looks at the bytes read so far and says what comes next (a piece to hand on,
//! or how much more to read), so the fuzz target drives it with any bytes.

use std::io;

use bytes::{Buf, Bytes, BytesMut};

use super::head::Framing;

/// Longest chunk-size line, and trailer section, read before the body is called malformed.
const MAX_CHUNK_LINE: usize = 4096;
const MAX_TRAILERS: usize = 16 * 1024;

/// What comes next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A piece of the body, at most a chunk.
    Data(Bytes),
    /// Nothing until at most this many more bytes are read.
    Read(usize),
    /// The body is complete.
    End,
}

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
    /// The trailer section after the last chunk, this many bytes of it read.
    Trailers {
        read: usize,
    },
    UntilClose,
    Done,
}

/// A body's decoder.
#[derive(Debug)]
pub struct Decoder {
    state: State,
    /// Most bytes handed on, or asked for, at once.
    chunk: usize,
}

impl Decoder {
    /// A decoder for a body framed as `framing`, handing on at most `chunk` bytes at once.
    pub fn new(framing: Framing, chunk: usize) -> Decoder {
        let state = match framing {
            Framing::Empty | Framing::Length(0) => State::Done,
            Framing::Length(left) => State::Bytes {
                left,
                chunked: false,
            },
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
        };
        Decoder {
            state,
            chunk: chunk.max(1),
        }
    }

    /// Whether the whole body has been handed on.
    pub fn is_end(&self) -> bool {
        self.state == State::Done
    }

    /// The bytes still to come, where `Content-Length` says.
    pub fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Bytes {
                left,
                chunked: false,
            } => Some(left),
            State::Done => Some(0),
            _ => None,
        }
    }

    /// Counts `n` bytes of a `Content-Length` body taken without passing through here.
    pub fn taken(&mut self, n: usize) {
        if let State::Bytes {
            left,
            chunked: false,
        } = self.state
        {
            self.state = match left.saturating_sub(n as u64) {
                0 => State::Done,
                left => State::Bytes {
                    left,
                    chunked: false,
                },
            };
        }
    }

    /// What comes next, given `buf`: the bytes read and not yet taken apart (what this
    /// takes is removed from it).
    pub fn step(&mut self, buf: &mut BytesMut) -> io::Result<Step> {
        loop {
            match self.state {
                State::Done => return Ok(Step::End),
                State::Bytes { left, chunked } => {
                    let want = usize::try_from(left).map_or(self.chunk, |l| l.min(self.chunk));
                    if buf.is_empty() {
                        return Ok(Step::Read(want));
                    }
                    let n = want.min(buf.len());
                    let left = left - n as u64;
                    self.state = match (left, chunked) {
                        (0, true) => State::ChunkEnd,
                        (0, false) => State::Done,
                        _ => State::Bytes { left, chunked },
                    };
                    return Ok(Step::Data(buf.split_to(n).freeze()));
                }
                State::UntilClose => {
                    if buf.is_empty() {
                        return Ok(Step::Read(self.chunk));
                    }
                    let n = self.chunk.min(buf.len());
                    return Ok(Step::Data(buf.split_to(n).freeze()));
                }
                State::ChunkSize => match httparse::parse_chunk_size(buf) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        buf.advance(used);
                        self.state = match size {
                            0 => State::Trailers { read: 0 },
                            left => State::Bytes {
                                left,
                                chunked: true,
                            },
                        };
                    }
                    Ok(httparse::Status::Partial) if buf.len() < MAX_CHUNK_LINE => {
                        return Ok(Step::Read(MAX_CHUNK_LINE));
                    }
                    _ => return Err(malformed("a chunk size")),
                },
                State::ChunkEnd => match buf.get(..2) {
                    Some(b"\r\n") => {
                        buf.advance(2);
                        self.state = State::ChunkSize;
                    }
                    Some(_) => return Err(malformed("the end of a chunk")),
                    None if buf.first().is_none_or(|&b| b == b'\r') => {
                        return Ok(Step::Read(MAX_CHUNK_LINE));
                    }
                    None => return Err(malformed("the end of a chunk")),
                },
                // Trailer fields end with an empty line; they are dropped (the answer is
                // framed anew for the client, and trailers are not forwarded).
                State::Trailers { read } => match buf.windows(2).position(|w| w == b"\r\n") {
                    Some(0) => {
                        buf.advance(2);
                        self.state = State::Done;
                    }
                    Some(line) if read + line < MAX_TRAILERS => {
                        buf.advance(line + 2);
                        self.state = State::Trailers {
                            read: read + line + 2,
                        };
                    }
                    None if read + buf.len() < MAX_TRAILERS => {
                        return Ok(Step::Read(MAX_CHUNK_LINE));
                    }
                    _ => return Err(malformed("the trailer section")),
                },
            }
        }
    }

    /// The connection ended with nothing more to read: the end of a body that runs until
    /// then, and an error for any other that is not complete.
    pub fn closed(&mut self) -> io::Result<()> {
        match self.state {
            State::Done => Ok(()),
            State::UntilClose => {
                self.state = State::Done;
                Ok(())
            }
            State::Bytes {
                left,
                chunked: false,
            } => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the upstream closed the connection {left} bytes before the end of the body"
                ),
            )),
            _ => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the upstream closed the connection before the last chunk",
            )),
        }
    }
}

fn malformed(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the upstream's chunked body has a malformed {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body `framing` makes of `input` fed `piece` bytes at a time, or the error.
    fn decode(framing: Framing, input: &[u8], piece: usize) -> io::Result<Vec<u8>> {
        let mut decoder = Decoder::new(framing, 7);
        let mut buf = BytesMut::new();
        let mut rest = input;
        let mut body = Vec::new();
        loop {
            match decoder.step(&mut buf)? {
                Step::Data(data) => {
                    assert!(!data.is_empty() && data.len() <= 7);
                    body.extend_from_slice(&data);
                }
                Step::End => return Ok(body),
                Step::Read(most) if !rest.is_empty() => {
                    let n = most.min(piece).min(rest.len());
                    buf.extend_from_slice(&rest[..n]);
                    rest = &rest[n..];
                }
                Step::Read(_) => {
                    decoder.closed()?;
                    assert!(decoder.is_end());
                }
            }
        }
    }

    #[test]
    fn chunks_with_extensions_and_trailers_give_their_data_in_any_pieces() {
        let input = b"5;a=b\r\nhello\r\n7 ; x=\"y\"\r\n, world\r\n10\r\n0123456789abcdef\r\n\
                      0\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n";
        for piece in 1..input.len() {
            let body = decode(Framing::Chunked, input, piece).unwrap();
            assert_eq!(body, b"hello, world0123456789abcdef", "pieces of {piece}");
        }
    }

    #[test]
    fn lengths_and_closes_end_where_they_say() {
        assert_eq!(decode(Framing::Length(5), b"hello", 2).unwrap(), b"hello");
        assert_eq!(
            decode(Framing::UntilClose, b"all of it", 3).unwrap(),
            b"all of it"
        );
        assert_eq!(decode(Framing::Empty, b"", 3).unwrap(), b"");
        let short = decode(Framing::Length(9), b"hello", 2).unwrap_err();
        assert_eq!(short.kind(), io::ErrorKind::UnexpectedEof);
        assert!(
            short.to_string().contains("4 bytes before the end"),
            "{short}"
        );
    }

    #[test]
    fn malformed_or_unfinished_chunks_are_errors() {
        for input in [
            &b"zz\r\nhello\r\n0\r\n\r\n"[..],
            b"5\r\nhelloXX0\r\n\r\n",
            b"5\r\nhello",
            b"5\r\nhello\r\n",
            b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n",
            b"fffffffffffffffffffff\r\n",
        ] {
            assert!(decode(Framing::Chunked, input, 3).is_err(), "{input:?}");
        }
        let long_line = [b"5;".as_slice(), &[b'x'; MAX_CHUNK_LINE]].concat();
        assert!(decode(Framing::Chunked, &long_line, 100).is_err());
    }
}
