//! The one place where half-open ranges meet HTTP's inclusive `bytes=a-b` notation:
//! formatting `Range` (RFC 9110 §14.2) and parsing `Content-Range` (§14.4).

use std::ops::Range;

use crate::range::ByteRange;

/// The value of a `Range` header asking for `range`, which must not be empty.
pub fn range_header(range: &ByteRange) -> String {
    debug_assert!(
        !matches!(range, ByteRange::Span(s) if s.is_empty()),
        "empty range {range:?}"
    );
    match range {
        ByteRange::Span(span) => format!("bytes={}-{}", span.start, span.end - 1),
        ByteRange::From(start) => format!("bytes={start}-"),
        ByteRange::Suffix(len) => format!("bytes=-{len}"),
    }
}

/// The span a server must send for `range` from a resource of `len` bytes (RFC 9110
/// §14.1.2), or `None` when the range is unsatisfiable and the answer is a 416.
pub fn served_span(range: &ByteRange, len: u64) -> Option<Range<u64>> {
    match *range {
        ByteRange::Span(ref span) if span.start < len => Some(span.start..span.end.min(len)),
        ByteRange::From(start) if start < len => Some(start..len),
        ByteRange::Suffix(n) if n > 0 && len > 0 => Some(len.saturating_sub(n)..len),
        _ => None,
    }
}

/// A parsed `Content-Range` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentRange {
    /// The bytes sent, half-open; `None` for `bytes */LEN` (a 416).
    pub span: Option<Range<u64>>,
    /// The complete length; `None` for `bytes a-b/*`.
    pub len: Option<u64>,
}

/// Parses `bytes a-b/len`, `bytes a-b/*` or `bytes */len`; `None` when malformed or
/// inconsistent (`b < a`, or `b >= len`).
pub fn parse_content_range(value: &str) -> Option<ContentRange> {
    let rest = value.trim().strip_prefix("bytes")?;
    let rest = rest.strip_prefix(' ')?.trim_start();
    let (span_text, len_text) = rest.split_once('/')?;
    let len = match len_text.trim() {
        "*" => None,
        text => Some(parse_digits(text)?),
    };
    let span = match span_text.trim() {
        "*" => None,
        text => {
            let (first, last) = text.split_once('-')?;
            let (first, last) = (parse_digits(first)?, parse_digits(last)?);
            if last < first || len.is_some_and(|len| last >= len) {
                return None;
            }
            Some(first..last.checked_add(1)?)
        }
    };
    if span.is_none() && len.is_none() {
        return None;
    }
    Some(ContentRange { span, len })
}

fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `span` in HTTP's inclusive notation, for messages: `bytes 0-99`.
pub fn show_span(span: &Range<u64>) -> String {
    if span.is_empty() {
        format!("bytes {}-(empty)", span.start)
    } else {
        format!("bytes {}-{}", span.start, span.end - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_headers_are_inclusive() {
        assert_eq!(range_header(&ByteRange::Span(0..100)), "bytes=0-99");
        assert_eq!(range_header(&ByteRange::Span(5..6)), "bytes=5-5");
        assert_eq!(range_header(&ByteRange::From(7)), "bytes=7-");
        assert_eq!(range_header(&ByteRange::Suffix(10)), "bytes=-10");
    }

    #[test]
    fn served_span_follows_rfc_9110() {
        let cases = [
            (ByteRange::Span(0..100), 1000, Some(0..100)),
            (ByteRange::Span(900..2000), 1000, Some(900..1000)),
            (ByteRange::Span(1000..2000), 1000, None),
            (ByteRange::From(10), 1000, Some(10..1000)),
            (ByteRange::From(1000), 1000, None),
            (ByteRange::Suffix(10), 1000, Some(990..1000)),
            (ByteRange::Suffix(5000), 1000, Some(0..1000)),
            (ByteRange::Suffix(10), 0, None),
        ];
        for (range, len, want) in cases {
            assert_eq!(served_span(&range, len), want, "{range:?} of {len}");
        }
    }

    #[test]
    fn content_range_parsing() {
        let ok = |span: Option<Range<u64>>, len| Some(ContentRange { span, len });
        let cases = [
            ("bytes 0-99/1000", ok(Some(0..100), Some(1000))),
            ("bytes 0-0/1", ok(Some(0..1), Some(1))),
            ("bytes 5-9/*", ok(Some(5..10), None)),
            ("bytes */1000", ok(None, Some(1000))),
            ("  bytes 0-99/1000 ", ok(Some(0..100), Some(1000))),
            ("bytes 10-9/1000", None),
            ("bytes 0-1000/1000", None),
            ("bytes */*", None),
            ("bytes 0-99", None),
            ("items 0-99/1000", None),
            ("bytes -5-9/100", None),
            ("bytes 0-18446744073709551615/*", None),
            ("bytes +1-2/10", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_content_range(text), want, "{text:?}");
        }
    }
}
