//! The fetch command when the first response gave no length: a 206 with
//! `Content-Range: bytes a-b/*`, or a 200 without `Content-Length` (chunked, Range ignored).
//! Absolute RANGEs are served exactly and the whole resource is read until the server says
//! it ended; with a 200, end-relative RANGEs find the end by reading to it through a tail
//! window of at most `--max-buffer` bytes. Nothing here ever ends quietly with fewer bytes
//! than a RANGE selects.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::ops::Range;

use rangecat::plan::{PlanConfig, plan};
use rangecat::range::{Bound, ByteRange, RangeExpr};
use rangecat::source::{self, Body, Opened, Source};
use rangecat::transfer::{self, TransferConfig};

use super::fetch::First;
use crate::error::Error;
use crate::output::Output;

/// Stands for "up to the end, wherever that is" in a span's end.
const TO_THE_END: u64 = u64::MAX;

/// What a RANGE needs when the length is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Want {
    /// Bytes from a known start: up to a known end, or `TO_THE_END`.
    Absolute(Range<u64>),
    /// A start counted back from the end (`-N:`, `-N:-M`, `-N+C`): the last `n` bytes,
    /// kept while reading to the end.
    Tail(u64),
    /// From `from` to `k` bytes before the end (`:-K`, `A:-K`): written `k` bytes behind.
    AllBut { from: u64, k: u64 },
    /// Nothing, whatever the length (`5:5`, `7+0`).
    Nothing,
}

fn classify(expr: &RangeExpr) -> Want {
    use Bound::{FromEnd, FromStart};
    match *expr {
        RangeExpr::Slice {
            start: Some(FromEnd(n)),
            ..
        }
        | RangeExpr::Count {
            start: FromEnd(n), ..
        } => Want::Tail(n),
        RangeExpr::Slice {
            start,
            end: Some(FromEnd(k)),
        } => {
            let from = match start {
                Some(FromStart(a)) => a,
                _ => 0,
            };
            Want::AllBut { from, k }
        }
        _ => match expr.without_length() {
            Some(ByteRange::Span(span)) => Want::Absolute(span),
            Some(ByteRange::From(start)) => Want::Absolute(start..TO_THE_END),
            Some(ByteRange::Suffix(n)) => Want::Tail(n),
            None => Want::Nothing,
        },
    }
}

/// Serves `ranges` from a source whose first response gave no length.
pub(super) fn fetch(
    source: &mut dyn Source,
    ranges: &[RangeExpr],
    first: Option<First>,
    (plan_config, transfer_config): (&PlanConfig, TransferConfig),
    out: &mut Output,
    strict: bool,
) -> Result<(), Error> {
    if source.serves_ranges() {
        partial(source, ranges, first, plan_config, transfer_config, out)
    } else {
        let body = first.map(|first| first.body);
        Forward::new(body, plan_config.max_buffer, strict).run(source, ranges, out)
    }
}

/// A server that answers ranges but not the length (`bytes a-b/*`): absolute RANGEs only.
/// When every RANGE has an end they are planned as usual (merged, each byte once); when one
/// runs to the end, each RANGE is read on its own, one after another, the open-ended ones
/// until the server says the resource ended (a 416, or a length learned on the way).
fn partial(
    source: &mut dyn Source,
    ranges: &[RangeExpr],
    first: Option<First>,
    plan_config: &PlanConfig,
    transfer_config: TransferConfig,
    out: &mut Output,
) -> Result<(), Error> {
    let mut spans = Vec::new();
    for expr in ranges {
        match classify(expr) {
            Want::Absolute(span) => spans.push(span),
            Want::Nothing => {}
            Want::Tail(_) | Want::AllBut { .. } => {
                return Err(Error::Message(format!(
                    "range {expr} counts from the end, and the server did not say how long \
                     the resource is (Content-Range: bytes a-b/*)"
                )));
            }
        }
    }
    if spans.iter().all(|span| span.end != TO_THE_END) {
        let (first_span, first_body) = match first {
            Some(first) => (Some(first.span), Some(first.body)),
            None => (None, None),
        };
        let ops = plan(&spans, plan_config, first_span);
        transfer::execute(&ops, source, first_body, out, transfer_config)?;
        return Ok(());
    }
    // The first response serves the first RANGE when it starts there (it was formed from it).
    let mut first = first.filter(|first| spans.first().map(|s| s.start) == Some(first.span.start));
    for span in spans {
        let mut pos = span.start;
        if let Some(mut first) = first.take() {
            let upto = first.span.end.min(span.end);
            pos += copy_up_to(&mut first.body, out, upto - pos)?;
            if pos < upto {
                if span.end == TO_THE_END {
                    continue;
                }
                return Err(source::Error::EndedEarly {
                    missing: span.end - pos,
                }
                .into());
            }
        }
        // A length learned on the way ends an open-ended RANGE there.
        let end = source.len().map_or(span.end, |len| span.end.min(len));
        if pos >= end {
            continue;
        }
        let mut body = source.read_span(pos..end)?;
        let got = copy_up_to(&mut body, out, end - pos)?;
        if end != TO_THE_END && got < end - pos {
            return Err(source::Error::EndedEarly {
                missing: end - pos - got,
            }
            .into());
        }
    }
    Ok(())
}

/// Copies at most `limit` bytes of `body` to `out`; returns how many there were.
fn copy_up_to(body: &mut Body, out: &mut Output, limit: u64) -> Result<u64, Error> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut copied = 0;
    while copied < limit {
        let want = buf
            .len()
            .min(usize::try_from(limit - copied).unwrap_or(usize::MAX));
        let n = read_some(body, &mut buf[..want])?;
        if n == 0 {
            break;
        }
        out.write_all(&buf[..n]).map_err(Error::Write)?;
        copied += n as u64;
    }
    Ok(copied)
}

fn read_some(body: &mut Body, buf: &mut [u8]) -> Result<usize, Error> {
    loop {
        match body.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(source::Error::from(e).into()),
        }
    }
}

/// A server that ignores Range and gives no length: every request streams the resource from
/// byte 0. RANGEs are served in order from one forward pass over a body; a RANGE that starts
/// before where the pass is sends the request again (nothing is held for it). The length is
/// known once a pass reaches the end, and from then on every RANGE resolves against it.
struct Forward {
    body: Option<Body>,
    pos: u64,
    len: Option<u64>,
    max_buffer: u64,
    strict: bool,
    buf: Vec<u8>,
}

impl Forward {
    fn new(body: Option<Body>, max_buffer: u64, strict: bool) -> Forward {
        Forward {
            body,
            pos: 0,
            len: None,
            max_buffer,
            strict,
            buf: vec![0u8; 64 * 1024],
        }
    }

    fn run(
        mut self,
        source: &mut dyn Source,
        ranges: &[RangeExpr],
        out: &mut Output,
    ) -> Result<(), Error> {
        for expr in ranges {
            let want = match self.len {
                Some(len) => Want::Absolute(resolve(expr, len, self.strict)?),
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
                _ => {
                    return Err(Error::Message(
                        "the server changed how it answers ranges during the transfer".into(),
                    ));
                }
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
        let len = self.len.unwrap_or(self.pos);
        Error::Message(format!(
            "range {expr} is outside the resource of {len} bytes (--strict)"
        ))
    }

    fn absolute(
        &mut self,
        source: &mut dyn Source,
        expr: &RangeExpr,
        span: Range<u64>,
        out: &mut Output,
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
        Error::Message(format!(
            "range {expr} counts from the end, and the server did not say how long the \
             resource is: finding its end would hold {n} bytes, more than --max-buffer ({})",
            self.max_buffer
        ))
    }

    /// `-N:` and the like: reads to the end keeping the last `n` bytes, then writes the
    /// RANGE's part of them.
    fn tail(
        &mut self,
        source: &mut dyn Source,
        expr: &RangeExpr,
        n: u64,
        out: &mut Output,
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
        let span = resolve(expr, len, self.strict)?;
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
        out: &mut Output,
    ) -> Result<(), Error> {
        if k > self.max_buffer {
            return Err(self.too_large(expr, k));
        }
        if !self.seek(source, from)? {
            // The resource ends before `from`: the RANGE selects nothing.
            return resolve(expr, self.len.unwrap_or(self.pos), self.strict).map(|_| ());
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
        resolve(expr, self.len.unwrap_or(self.pos), self.strict).map(|_| ())
    }
}

/// Resolves `expr` against `len`; under `--strict` one outside the resource is an error.
fn resolve(expr: &RangeExpr, len: u64, strict: bool) -> Result<Range<u64>, Error> {
    if strict {
        expr.resolve_strict(len).map_err(|_| {
            Error::Message(format!(
                "range {expr} is outside the resource of {len} bytes (--strict)"
            ))
        })
    } else {
        Ok(expr.resolve(len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_classified_by_what_they_need_of_the_end() {
        let cases = [
            ("0:1000", Want::Absolute(0..1000)),
            ("10+5", Want::Absolute(10..15)),
            ("10:", Want::Absolute(10..TO_THE_END)),
            (":", Want::Absolute(0..TO_THE_END)),
            ("-100:", Want::Tail(100)),
            ("-100:-10", Want::Tail(100)),
            ("-100+10", Want::Tail(100)),
            (":-10", Want::AllBut { from: 0, k: 10 }),
            ("5:-10", Want::AllBut { from: 5, k: 10 }),
            ("5:5", Want::Nothing),
        ];
        for (text, want) in cases {
            let expr: RangeExpr = text.parse().unwrap();
            assert_eq!(classify(&expr), want, "{text}");
        }
    }
}
