//! The resumable reader: exactly one span's bytes, from a 206 or from a 200 whose prefix is
//! skipped, resumed from the first missing byte when the connection breaks and asked for
//! again when a 206 ends early where its `Content-Range` said (RFC 9110 §14.4, §15.5.17).

use std::io::{self, Read};
use std::ops::Range;
use std::sync::Arc;

use ureq::BodyReader;
use ureq::http::{Response, StatusCode};

use super::client::{Client, discard};
use super::stale;
use crate::http::content_length;
use crate::http::content_range::{range_header, show_span};
use crate::range::ByteRange;
use crate::source::{Body, Error};

impl Client {
    /// A resumable reader of exactly `span`; an empty span costs no request (and is never
    /// sent: `bytes=5-4` is not a range). A span that ends at `u64::MAX` runs to the end of a
    /// resource whose length is unknown, asked for as `bytes=N-`.
    pub(super) fn fetch_span(client: &Arc<Client>, span: Range<u64>) -> Result<Body, Error> {
        if span.is_empty() {
            return Ok(Box::new(io::empty()));
        }
        {
            let mut opened = client.opened.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(at) = opened.iter().position(|(asked, _)| *asked == span) {
                return Ok(opened.swap_remove(at).1);
            }
        }
        let mut budget = client.config.transport.retries;
        let open_ended = span.end == u64::MAX;
        let to = (!open_ended).then_some(span.end);
        let connected = client.connect(span.start, to, &mut budget)?;
        Ok(match SpanReader::opened(client, span, connected, budget) {
            Some(mut reader) => {
                reader.open_ended = open_ended;
                Box::new(reader)
            }
            None => Box::new(io::empty()),
        })
    }

    /// Requests the bytes from `from` up to `to` (`None`: to the end, `bytes=N-`) and returns
    /// a body positioned at `from`. A 206 must start at `from` and lie inside what was asked;
    /// it may end early (a capped answer), and says where. Retries come out of `budget`.
    fn connect(&self, from: u64, to: Option<u64>, budget: &mut u32) -> Result<Connected, Error> {
        let response = self.send("GET", Some(&asked_range(from, to)), budget)?;
        self.connected(response, from, to)
    }

    /// [`connect`](Client::connect)'s judgement of the answer to its request.
    pub(super) fn connected(
        &self,
        response: Response<ureq::Body>,
        from: u64,
        to: Option<u64>,
    ) -> Result<Connected, Error> {
        let asked = asked_range(from, to);
        match response.status() {
            StatusCode::PARTIAL_CONTENT => {
                let content_range = self.content_range(&response, &asked)?;
                self.check(&response, content_range.len)?;
                // It must start where asked; it may end early or run past (as above).
                let Some(got) = content_range.span.filter(|got| got.start == from) else {
                    return Err(self.bad_content_range(&asked, &response));
                };
                self.check_not_too_long(&response, &asked, &got)?;
                let end = to.map_or(got.end, |to| got.end.min(to));
                let runs_past = self.runs_past(&(from..end), &got);
                Ok(Connected::Body {
                    body: response.into_body().into_reader(),
                    exact: !runs_past,
                    end,
                    len: content_range.len,
                })
            }
            StatusCode::OK => {
                // With the same validators, a 200 to If-Range means Range was ignored.
                let len = content_length(response.headers());
                self.check(&response, len)?;
                let mut body = response.into_body().into_reader();
                let skipped = io::copy(&mut (&mut body).take(from), &mut io::sink())?;
                if skipped < from {
                    return Err(Error::ClosedWhileSkipping { to: from });
                }
                Ok(Connected::Body {
                    body,
                    exact: false,
                    end: u64::MAX,
                    len,
                })
            }
            // Without a known length, a 416 is how the server says the resource ends here
            // (RFC 9110 §15.5.17); with one, the range was inside it before.
            StatusCode::RANGE_NOT_SATISFIABLE if self.known_len().is_none() => {
                discard(response);
                Ok(Connected::Ended)
            }
            StatusCode::PRECONDITION_FAILED => Err(stale()),
            StatusCode::RANGE_NOT_SATISFIABLE => Err(Error::ResourceChanged {
                what: format!(
                    "{} is no longer satisfiable",
                    show_span(&(from..to.unwrap_or(u64::MAX)))
                ),
            }),
            _ => Err(self.status_error(response, Some(&asked))),
        }
    }
}

/// What a request for the rest of a span brought back.
pub(super) enum Connected {
    /// A body positioned at the start asked for.
    Body {
        /// The bytes.
        body: BodyReader<'static>,
        /// A 206's: it must end exactly at `end` (not one that runs past what was asked).
        exact: bool,
        /// Where its bytes end (`u64::MAX` for a 200's, which goes on to the end).
        end: u64,
        /// The complete length, when the answer gave it.
        len: Option<u64>,
    },
    /// A 416 to a resource of unknown length: it ends where the request started.
    Ended,
}

/// The request for the bytes from `from` up to `to` (`None`: to the end).
fn asked_range(from: u64, to: Option<u64>) -> ByteRange {
    match to {
        Some(end) => ByteRange::Span(from..end),
        None => ByteRange::From(from),
    }
}

/// Yields exactly the bytes of `span`, resuming from the first missing byte when the
/// connection breaks, while the request's retries last, and asking for the rest, without
/// spending a retry, when a 206 ends early where its `Content-Range` said (a capped answer).
pub(super) struct SpanReader {
    client: Arc<Client>,
    /// Ends at `u64::MAX` while the length is unknown and the span runs to the end.
    span: Range<u64>,
    pos: u64,
    body: Option<BodyReader<'static>>,
    /// Where the current body's bytes end: a 206's `Content-Range` end, which may come
    /// before `span.end`; `u64::MAX` for a 200's.
    pub(super) body_end: u64,
    /// The body must end at `body_end` (a 206's); a 200's goes on past it.
    exact: bool,
    /// The rest is asked for as `bytes=N-` (the request was open-ended), else `bytes=N-M`.
    pub(super) open_ended: bool,
    retries_left: u32,
}

impl SpanReader {
    /// A reader of `span` from what its request brought, with the retries it left; `None`
    /// when the resource ended where the span starts (a 416 without a known length).
    pub(super) fn opened(
        client: &Arc<Client>,
        span: Range<u64>,
        connected: Connected,
        retries_left: u32,
    ) -> Option<SpanReader> {
        let Connected::Body {
            body,
            exact,
            end,
            len,
        } = connected
        else {
            return None;
        };
        let mut reader = SpanReader::new(client.clone(), span, body, exact, retries_left);
        reader.body_end = end;
        reader.learn(len);
        Some(reader)
    }

    /// A reader of `span` from `body`, which holds all of it, with the retries its request
    /// left.
    pub(super) fn new(
        client: Arc<Client>,
        span: Range<u64>,
        body: BodyReader<'static>,
        exact: bool,
        retries_left: u32,
    ) -> SpanReader {
        SpanReader {
            retries_left,
            pos: span.start,
            body_end: span.end,
            client,
            span,
            body: Some(body),
            exact,
            open_ended: false,
        }
    }

    /// Takes a length an answer gave: a span that ran to an unknown end now ends there.
    pub(super) fn learn(&mut self, len: Option<u64>) {
        if let Some(len) = len
            && self.span.end == u64::MAX
        {
            self.span.end = len.max(self.pos);
        }
    }

    /// Requests the rest of the span, from `pos`; false when the resource ended there.
    fn connect_rest(&mut self) -> Result<bool, Error> {
        let to = (!self.open_ended).then_some(self.span.end);
        match self.client.connect(self.pos, to, &mut self.retries_left)? {
            Connected::Body {
                body,
                exact,
                end,
                len,
            } => {
                self.body = Some(body);
                self.exact = exact;
                self.body_end = end;
                self.learn(len);
                Ok(true)
            }
            Connected::Ended => {
                self.span.end = self.pos;
                Ok(false)
            }
        }
    }

    /// Reads once from the current connection; `Err` when it broke or ended early.
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(body) = self.body.as_mut() else {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "no connection"));
        };
        loop {
            match body.read(buf) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed early",
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }

    /// Ends the current body, which has given all it announced. Reading its end hands the
    /// connection back to the pool for the next request; a 206's must end there.
    fn finish_body(&mut self) -> Result<(), Error> {
        if let Some(mut body) = self.body.take()
            && matches!(body.read(&mut [0u8; 1]), Ok(1..))
            && self.exact
        {
            let asked = range_header(&ByteRange::Span(self.span.start..self.body_end));
            return Err(Error::BodyTooLong { asked });
        }
        Ok(())
    }

    fn give_up(&self, cause: io::Error) -> io::Error {
        let got = self.pos - self.span.start;
        let expected = self.span.end - self.span.start;
        let url = self.client.url().to_owned();
        // A read timeout comes out of ureq's body reader as a TimedOut (or WouldBlock) I/O
        // error, or as its own Timeout carried inside one: `io::Error` is all `Read` allows.
        let timed_out = matches!(
            cause.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        ) || matches!(
            cause
                .get_ref()
                .and_then(|e| e.downcast_ref::<ureq::Error>()),
            Some(ureq::Error::Timeout(_))
        );
        let err = match cause.kind() {
            io::ErrorKind::UnexpectedEof => Error::Truncated { got, expected },
            _ if timed_out => Error::Stalled {
                secs: self.client.config.transport.timeout.as_secs_f64(),
                got,
                expected,
                url,
            },
            _ => Error::Read { url, source: cause },
        };
        err.into()
    }
}

impl Read for SpanReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Bounded: each iteration returns, or spends a retry, or (a capped 206 that ended
        // where it said) sends a request that must bring at least one new byte.
        loop {
            let left = self.span.end - self.pos;
            if left == 0 {
                return Ok(0);
            }
            if self.body.is_none() && self.pos == self.body_end {
                self.client.log(|| {
                    format!(
                        "* the answer ended at byte {}; asking for the rest",
                        self.pos
                    )
                });
                if !self.connect_rest()? {
                    return Ok(0);
                }
                continue;
            }
            let left = left.min(self.body_end - self.pos);
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let cause = match self.read_some(&mut buf[..want]) {
                Ok(n) => {
                    self.pos += n as u64;
                    if self.pos == self.span.end || self.pos == self.body_end {
                        self.finish_body()?;
                    }
                    return Ok(n);
                }
                Err(cause) => cause,
            };
            self.body = None;
            if self.retries_left == 0 {
                return Err(self.give_up(cause));
            }
            self.retries_left -= 1;
            self.client
                .log(|| format!("* {cause}; resuming at byte {}", self.pos));
            match self.connect_rest() {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(err) if self.retries_left == 0 => return Err(err.into()),
                Err(_) => {}
            }
        }
    }
}
