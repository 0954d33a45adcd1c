//! A fetch whose first response gave no length: a 206 with `Content-Range: bytes a-b/*` is
//! served here, a 200 without `Content-Length` (chunked, Range ignored) by
//! [`forward_pass`](super::forward_pass). Absolute RANGEs are served exactly and the whole
//! resource is read until the server says it ended. Nothing here ever ends quietly with
//! fewer bytes than a RANGE selects.

use std::io::{Read, Write};
use std::ops::Range;

use crate::plan::plan;
use crate::range::{Bound, ByteRange, RangeExpr};
use crate::source::{self, Body, Source};

use super::Error;
use super::FetchConfig;
use super::execute::execute;
use super::first::First;
use super::forward_pass::Forward;

/// Stands for "up to the end, wherever that is" in a span's end.
pub(super) const TO_THE_END: u64 = u64::MAX;

/// What a RANGE needs when the length is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Want {
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

/// What `expr` needs, the length unknown.
pub(super) fn classify(expr: &RangeExpr) -> Want {
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
    config: &FetchConfig,
    out: &mut dyn Write,
) -> Result<(), Error> {
    if source.serves_ranges() {
        partial(source, ranges, first, config, out)
    } else {
        let body = first.map(|first| first.body);
        Forward::new(body, config).run(source, ranges, out)
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
    config: &FetchConfig,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let mut spans = Vec::new();
    for expr in ranges {
        match classify(expr) {
            Want::Absolute(span) => spans.push(span),
            Want::Nothing => {}
            Want::Tail(_) | Want::AllBut { .. } => {
                return Err(Error::FromEndWithoutLength {
                    range: expr.clone(),
                });
            }
        }
    }
    if spans.iter().all(|span| span.end != TO_THE_END) {
        let (first_span, first_body) = match first {
            Some(first) => (Some(first.span), Some(first.body)),
            None => (None, None),
        };
        let ops = plan(&spans, &config.plan, first_span);
        return execute(&ops, source, first_body, out, config.transfer());
    }
    // The first response serves the first RANGE when it starts there (it was formed from it).
    let mut first = first.filter(|first| spans.first().map(|s| s.start) == Some(first.span.start));
    for span in spans {
        let mut pos = span.start;
        if let Some(mut first) = first.take() {
            let upto = first.span.end.min(span.end);
            pos += copy_up_to(&mut first.body, out, upto - pos, config.chunk_size)?;
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
        let got = copy_up_to(&mut body, out, end - pos, config.chunk_size)?;
        if end != TO_THE_END && got < end - pos {
            return Err(source::Error::EndedEarly {
                missing: end - pos - got,
            }
            .into());
        }
    }
    Ok(())
}

/// Copies at most `limit` bytes of `body` to `out`, `chunk_size` at a time; returns how
/// many there were.
fn copy_up_to(
    body: &mut Body,
    out: &mut dyn Write,
    limit: u64,
    chunk_size: usize,
) -> Result<u64, Error> {
    let size = usize::try_from(limit).unwrap_or(usize::MAX).min(chunk_size);
    let mut buf = vec![0u8; size.max(1)];
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

/// One read, at most `buf.len()` bytes (0 at the end); read errors are the source's.
pub(super) fn read_some(body: &mut Body, buf: &mut [u8]) -> Result<usize, Error> {
    loop {
        match body.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(source::Error::from(e).into()),
        }
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
