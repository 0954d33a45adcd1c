//! Forward passes over a 200 that gives no length and ignores Range (chunked): every request
//! streams the resource from byte 0, so RANGEs are served by reading forward, and a RANGE
//! counted from the end finds the end by reaching it, through a tail window of at most
//! `--max-buffer` bytes.

use std::collections::VecDeque;
use std::io::Write;
use std::ops::Range;

use crate::range::{ByteRange, RangeExpr};
use crate::source::{Body, Opened, Source};

use super::config::FetchConfig;
use super::error::Error;
use super::resolve::{TO_THE_END, Want, classify, read_some, resolve_range};

/// A server that ignores Range and gives no length: every request streams the resource from
/// byte 0. RANGEs are served in order from one forward pass over a body; a RANGE that starts
/// before where the pass is sends the request again (nothing is held for it). The length is
/// known once a pass reaches the end, and from then on every RANGE resolves against it.
pub(super) struct Forward {
    body: Option<Body>,
    pos: u64,
    len: Option<u64>,
    max_buffer: u64,
    strict: bool,
    buf: Vec<u8>,
}

impl Forward {
    /// A pass over `body` (the first response, if any), holding at most `--max-buffer`
    /// bytes, reading `--chunk-size` bytes at a time.
    pub(super) fn new(body: Option<Body>, config: &FetchConfig) -> Forward {
        Forward {
            body,
            pos: 0,
            len: None,
            max_buffer: config.plan.max_buffer,
            strict: config.strict,
            buf: vec![0u8; config.chunk_size.max(1)],
        }
    }

    /// Writes every RANGE, in order.
    pub(super) fn run(
        mut self,
        source: &mut dyn Source,
        ranges: &[RangeExpr],
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        for expr in ranges {
            let want = match self.len {
                Some(len) => Want::Absolute(resolve_range(expr, len, self.strict)?),
                None => classify(expr),
            };
            match want {
                Want::Nothing => {}
                Want::Absolute(span) if span.is_empty() => {}
                Want::Absolute(span) => self.absolute(source, expr, span, out)?,
                Want::Tail(n) => self.tail(source, expr, n, out)?,
                Want::AllBut { from, k } => self.all_but(source, expr, from, k, out)?,
            }
        }
        Ok(())
    }

    /// Positions the pass at `at`, sending the request again when it is past `at`; false
    /// when the resource ends before `at`.
    fn seek(&mut self, source: &mut dyn Source, at: u64) -> Result<bool, Error> {
        if self.body.is_none() || self.pos > at {
            self.body = None;
            match source.open(&ByteRange::From(0))? {
                Opened::Whole { body } => (self.body, self.pos) = (Some(body), 0),
                Opened::Partial { span, body } if span.start == 0 => {
                    (self.body, self.pos) = (Some(body), 0);
                }
                _ => return Err(Error::AnswersChanged),
            }
        }
        while self.pos < at {
            let want = self
                .buf
                .len()
                .min(usize::try_from(at - self.pos).unwrap_or(usize::MAX));
            if self.read(want)? == 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads up to `want` bytes into `buf`; at the end, the length is known.
    fn read(&mut self, want: usize) -> Result<usize, Error> {
        let Some(body) = self.body.as_mut() else {
            return Ok(0);
        };
        let n = read_some(body, &mut self.buf[..want])?;
        self.pos += n as u64;
        if n == 0 {
            self.len = Some(self.pos);
            self.body = None;
        }
        Ok(n)
    }

    /// The error for a RANGE the resource turned out too short for, under `--strict`.
    fn outside(&self, expr: &RangeExpr) -> Error {
        Error::Outside {
            range: expr.clone(),
            len: self.len.unwrap_or(self.pos),
        }
    }

    fn absolute(
        &mut self,
        source: &mut dyn Source,
        expr: &RangeExpr,
        span: Range<u64>,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let reached = self.seek(source, span.start)?;
        while reached && self.pos < span.end {
            let left = span.end - self.pos;
            let want = self
                .buf
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = self.read(want)?;
            if n == 0 {
                break;
            }
            out.write_all(&self.buf[..n]).map_err(Error::Write)?;
        }
        // Past the end, as Python clips a slice; `--strict` refuses it.
        let short = self.pos < span.end && span.end != TO_THE_END;
        if (short || !reached) && self.strict {
            return Err(self.outside(expr));
        }
        Ok(())
    }

    /// The refusal of a window larger than `--max-buffer`.
    fn too_large(&self, expr: &RangeExpr, n: u64) -> Error {
        Error::FromEndTooLarge {
            range: expr.clone(),
            held: n,
            max_buffer: self.max_buffer,
        }
    }

    /// `-N:` and the like: reads to the end keeping the last `n` bytes, then writes the
    /// RANGE's part of them.
    fn tail(
        &mut self,
        source: &mut dyn Source,
        expr: &RangeExpr,
        n: u64,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        if n > self.max_buffer {
            return Err(self.too_large(expr, n));
        }
        self.seek(source, self.pos)?;
        let mut window: VecDeque<u8> = VecDeque::new();
        loop {
            let got = self.read(self.buf.len())?;
            if got == 0 {
                break;
            }
            window.extend(&self.buf[..got]);
            let excess = window
                .len()
                .saturating_sub(usize::try_from(n).unwrap_or(usize::MAX));
            window.drain(..excess);
        }
        let len = self.len.unwrap_or(self.pos);
        let span = resolve_range(expr, len, self.strict)?;
        let held = len - window.len() as u64;
        if span.start < held && !span.is_empty() {
            // The pass began after where the RANGE starts: now that the length is known,
            // read it from a new pass.
            return self.absolute(source, expr, span, out);
        }
        let (from, to) = ((span.start - held) as usize, (span.end - held) as usize);
        let (a, b) = window.as_slices();
        let joined = a.iter().chain(b).skip(from).take(to - from);
        let bytes: Vec<u8> = joined.copied().collect();
        out.write_all(&bytes).map_err(Error::Write)
    }

    /// `:-K` and `A:-K`: writes from `from` on, holding the last `k` bytes back until the end
    /// shows they are not part of the RANGE.
    fn all_but(
        &mut self,
        source: &mut dyn Source,
        expr: &RangeExpr,
        from: u64,
        k: u64,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        if k > self.max_buffer {
            return Err(self.too_large(expr, k));
        }
        if !self.seek(source, from)? {
            // The resource ends before `from`: the RANGE selects nothing.
            return resolve_range(expr, self.len.unwrap_or(self.pos), self.strict).map(|_| ());
        }
        let mut held: VecDeque<u8> = VecDeque::new();
        loop {
            let got = self.read(self.buf.len())?;
            if got == 0 {
                break;
            }
            held.extend(&self.buf[..got]);
            let excess = held
                .len()
                .saturating_sub(usize::try_from(k).unwrap_or(usize::MAX));
            let (a, b) = held.as_slices();
            let (a, b) = (
                &a[..excess.min(a.len())],
                &b[..excess - excess.min(a.len())],
            );
            out.write_all(a).map_err(Error::Write)?;
            out.write_all(b).map_err(Error::Write)?;
            held.drain(..excess);
        }
        resolve_range(expr, self.len.unwrap_or(self.pos), self.strict).map(|_| ())
    }
}
