//! A fetch whose first response gave no length: a 206 with `Content-Range: bytes a-b/*` is
//! served here, a 200 without `Content-Length` (chunked, Range ignored) by
//! [`forward_pass`](super::forward_pass). Absolute RANGEs are served exactly and the whole
//! resource is read until the server says it ended. Nothing here ever ends quietly with
//! fewer bytes than a RANGE selects.

use std::io::Write;

use crate::plan::plan;
use crate::range::RangeExpr;
use crate::source::{self, Body, Source};

use super::config::FetchConfig;
use super::error::Error;
use super::execute::execute;
use super::first::First;
use super::forward_pass::Forward;
use super::resolve::{TO_THE_END, Want, classify, read_some};

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
