//! RANGEs against the length: resolved when it is known (`--strict` refusing one outside
//! the resource), classified by what they need of the end when it is not.

use std::io::Read;
use std::ops::Range;

use crate::range::{Bound, ByteRange, RangeExpr};
use crate::source::{self, Body};

use super::error::Error;

/// Resolves one RANGE against `len`; under `--strict` one outside the resource is an error.
pub(super) fn resolve_range(
    range: &RangeExpr,
    len: u64,
    strict: bool,
) -> Result<Range<u64>, Error> {
    if strict {
        range.resolve_strict(len).map_err(|_| Error::Outside {
            range: range.clone(),
            len,
        })
    } else {
        Ok(range.resolve(len))
    }
}

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
