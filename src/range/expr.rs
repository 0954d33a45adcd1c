//! RANGE expressions (`A:B`, `A:`, `:B`, `:`, `A+N`): parsing, canonical display, and resolution
//! against a resource's length with the semantics of a Python slice `data[A:B]`.
//!
//! `A` and `B` may start with `-` to count back from the end; `-0` is 0, as in Python. `N` is a
//! count and takes no sign. Numbers are those of [`super::parse_size`]. The text is taken as it
//! is: surrounding whitespace is an error rather than trimmed, since a shell never adds it.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use super::number::parse_number;

/// One end of a RANGE, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// An offset from the start (`10`, `0x10`, and also `-0`, which is 0 as in Python).
    FromStart(u64),
    /// An offset back from the end (`-10` is `FromEnd(10)`; never `FromEnd(0)`).
    FromEnd(u64),
}

impl Bound {
    /// Parse `N` or `-N`; the error is the reason alone.
    fn parse(text: &str) -> Result<Bound, String> {
        match text.strip_prefix('-') {
            Some(digits) => parse_number(digits).map(|n| match n {
                0 => Bound::FromStart(0),
                n => Bound::FromEnd(n),
            }),
            None => parse_number(text).map(Bound::FromStart),
        }
    }

    /// This bound as an offset from the start of `len` bytes, negative if it lies before the
    /// start. `i128` holds `len - n` for any two `u64`s.
    fn absolute(self, len: u64) -> i128 {
        match self {
            Bound::FromStart(n) => n.into(),
            Bound::FromEnd(n) => i128::from(len) - i128::from(n),
        }
    }
}

/// Renders `10` or `-10`.
impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::FromStart(n) => write!(f, "{n}"),
            Bound::FromEnd(n) => write!(f, "-{n}"),
        }
    }
}

/// A parsed RANGE expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeExpr {
    /// `A:B`, `A:`, `:B`, `:`; `None` is an open end.
    Slice {
        /// `A`; `None` is the start of the resource.
        start: Option<Bound>,
        /// `B`; `None` is the end of the resource.
        end: Option<Bound>,
    },
    /// `A+N`: N bytes starting at A.
    ///
    /// A negative A is made absolute first, and then both ends are clipped, so with 50 bytes
    /// `-100+60` is bytes `0..10` and `-3+10` is the last 3 bytes. (This is not Python's
    /// `data[A:A+N]`, whose end would flip sides when A+N reaches 0.)
    Count {
        /// `A`, where the bytes begin.
        start: Bound,
        /// `N`, how many bytes; for a `FromStart` start, `start + len` fits in a `u64`.
        len: u64,
    },
}

/// A request that can be formed without knowing the length (RFC 9110 §14.1.2 forms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=a-(b-1)`: a non-empty half-open span.
    Span(Range<u64>),
    /// `bytes=a-`: from a to the end.
    From(u64),
    /// `bytes=-n`: the last n bytes, n > 0.
    Suffix(u64),
}

/// Why a RANGE did not parse; quotes the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeError {
    /// The RANGE as given.
    pub original: String,
    /// What is wrong with it, with the form to write instead when there is one: lower case, no
    /// final period.
    pub reason: String,
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid RANGE '{}': {}", self.original, self.reason)
    }
}

impl std::error::Error for RangeError {}

/// A RANGE that is not wholly inside the resource (`--strict`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfBounds {
    /// The RANGE as parsed.
    pub range: RangeExpr,
    /// The length of the resource, in bytes.
    pub len: u64,
}

impl fmt::Display for OutOfBounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "range {} is not wholly inside the resource of {} bytes",
            self.range, self.len
        )
    }
}

impl std::error::Error for OutOfBounds {}

impl FromStr for RangeExpr {
    type Err = RangeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse(text).map_err(|reason| RangeError {
            original: text.to_owned(),
            reason,
        })
    }
}

/// [`RangeExpr::from_str`] with the error as the reason alone.
fn parse(text: &str) -> Result<RangeExpr, String> {
    let bound = |what: &str, text: &str| {
        Bound::parse(text).map_err(|reason| format!("bad {what} '{text}': {reason}"))
    };
    if text.is_empty() {
        return Err("empty: write A:B, A:, :B, : or A+N".into());
    }
    if text.trim() != text {
        return Err("remove the surrounding whitespace".into());
    }
    if text.contains(':') && text.contains('+') {
        return Err("use either ':' or '+', not both".into());
    }
    if let Some((start, end)) = text.split_once(':') {
        if end.contains(':') {
            return Err("more than one ':'".into());
        }
        let start = Some(start).filter(|s| !s.is_empty());
        let end = Some(end).filter(|e| !e.is_empty());
        return Ok(RangeExpr::Slice {
            start: start.map(|s| bound("start", s)).transpose()?,
            end: end.map(|e| bound("end", e)).transpose()?,
        });
    }
    if let Some((start, len)) = text.split_once('+') {
        if len.contains('+') {
            return Err("more than one '+'".into());
        }
        if start.is_empty() {
            return Err(format!("'+' needs a start before it: write '0+{len}'"));
        }
        if len.is_empty() {
            return Err("'+' needs a count after it".into());
        }
        let start = bound("start", start)?;
        let len = parse_number(len).map_err(|reason| format!("bad count '{len}': {reason}"))?;
        if let Bound::FromStart(a) = start {
            if a.checked_add(len).is_none() {
                return Err("the end, start + count, does not fit in 64 bits".into());
            }
        }
        return Ok(RangeExpr::Count { start, len });
    }
    Err(missing_separator(text))
}

/// Why a RANGE with neither ':' nor '+' is wrong, with the form to write when the text looks
/// like a bare number or a curl-style range.
fn missing_separator(text: &str) -> String {
    const NEEDS: &str = "RANGE needs ':' or '+'";
    if text.contains(',') {
        return "give several RANGEs as separate arguments, not a comma list".into();
    }
    if Bound::parse(text).is_ok() {
        return format!(
            "{NEEDS}: write '{text}:' to read from there to the end, or '{text}+N' for N bytes"
        );
    }
    // curl's `A-B` includes byte B; RANGE is half-open like a Python slice, so B becomes B+1.
    if let Some((start, last)) = text.split_once('-') {
        if parse_number(start).is_ok() {
            if last.is_empty() {
                return format!("curl-style range: write '{start}:'");
            }
            if let Some(end) = parse_number(last).ok().and_then(|b| b.checked_add(1)) {
                return format!(
                    "curl-style inclusive range: RANGE is half-open, write '{start}:{end}'"
                );
            }
        }
    }
    format!("{NEEDS}: write A:B, A:, :B, : or A+N")
}

/// Renders the canonical form, which parses back to an equal value: `0:100`, `-1024:`, `10+5`,
/// `:`. Numbers are plain decimal bytes.
impl fmt::Display for RangeExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeExpr::Slice { start, end } => {
                if let Some(start) = start {
                    write!(f, "{start}")?;
                }
                f.write_str(":")?;
                if let Some(end) = end {
                    write!(f, "{end}")?;
                }
                Ok(())
            }
            RangeExpr::Count { start, len } => write!(f, "{start}+{len}"),
        }
    }
}

impl RangeExpr {
    /// The whole resource, `:`.
    pub fn whole() -> RangeExpr {
        RangeExpr::Slice {
            start: None,
            end: None,
        }
    }

    /// The ends as written, made absolute for `len` bytes but not yet clipped.
    fn absolute(&self, len: u64) -> (i128, i128) {
        match *self {
            RangeExpr::Slice { start, end } => (
                start.map_or(0, |b| b.absolute(len)),
                end.map_or(len.into(), |b| b.absolute(len)),
            ),
            RangeExpr::Count { start, len: count } => {
                let start = start.absolute(len);
                (start, start + i128::from(count))
            }
        }
    }

    /// The bytes this RANGE selects from a resource of `len` bytes, clipped as Python clips a
    /// slice. Always `start <= end <= len`; an empty selection may have any start.
    ///
    /// Negative bounds count back from `len`, then both ends are clipped to `0..=len`; an end
    /// before the start selects nothing, as `start..start`. For `A+N` the end is the absolute
    /// start plus N, clipped afterwards (see [`RangeExpr::Count`]).
    pub fn resolve(&self, len: u64) -> Range<u64> {
        let clip = |offset: i128| {
            // Clamped into 0..=len, so the value fits in a u64.
            offset.clamp(0, len.into()) as u64
        };
        let (start, end) = self.absolute(len);
        let (start, end) = (clip(start), clip(end));
        start..end.max(start)
    }

    /// `--strict`: the resolved range, or an error when the RANGE as written reaches outside
    /// `0..=len` or is inverted.
    ///
    /// Every written bound, made absolute, must lie in `0..=len` with start <= end; for `A+N`,
    /// A made absolute must be at least 0 and A+N at most `len`. An empty range such as `5:5`
    /// is inside.
    pub fn resolve_strict(&self, len: u64) -> Result<Range<u64>, OutOfBounds> {
        let (start, end) = self.absolute(len);
        if 0 <= start && start <= end && end <= len.into() {
            Ok(self.resolve(len))
        } else {
            Err(OutOfBounds {
                range: self.clone(),
                len,
            })
        }
    }

    /// The request for exactly this RANGE's bytes when it can be formed without the length.
    ///
    /// `None` when the bytes depend on the length (an end counted from the end, as in `:-5`)
    /// or when the RANGE selects nothing whatever the length (`5:5`, `10:3`, `7+0`), which no
    /// request can express. For a resource shorter than the request, what a server sends per
    /// RFC 9110 §14.1.2 (the available part, or 416 for nothing) is exactly [`Self::resolve`].
    pub fn without_length(&self) -> Option<ByteRange> {
        use Bound::{FromEnd, FromStart};
        match *self {
            RangeExpr::Slice {
                start: None | Some(FromStart(_)),
                end: Some(FromStart(end)),
            } => {
                let start = self.written_start();
                (start < end).then_some(ByteRange::Span(start..end))
            }
            RangeExpr::Slice {
                start: None | Some(FromStart(_)),
                end: None,
            } => Some(ByteRange::From(self.written_start())),
            RangeExpr::Slice {
                start: Some(FromEnd(n)),
                end: None,
            } => (n > 0).then_some(ByteRange::Suffix(n)),
            RangeExpr::Count {
                start: FromStart(start),
                len,
            } => {
                let end = start.checked_add(len)?;
                (len > 0).then_some(ByteRange::Span(start..end))
            }
            // The last m bytes, then n of them: all m when n >= m.
            RangeExpr::Count {
                start: FromEnd(m),
                len,
            } => (m > 0 && len >= m).then_some(ByteRange::Suffix(m)),
            _ => None,
        }
    }

    /// The start of a `Slice` that is open or counted from the start.
    fn written_start(&self) -> u64 {
        match self {
            RangeExpr::Slice {
                start: Some(Bound::FromStart(n)),
                ..
            } => *n,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Bound::{FromEnd, FromStart};
    use proptest::prelude::*;

    fn slice(start: Option<Bound>, end: Option<Bound>) -> RangeExpr {
        RangeExpr::Slice { start, end }
    }

    fn count(start: Bound, len: u64) -> RangeExpr {
        RangeExpr::Count { start, len }
    }

    fn expr(text: &str) -> RangeExpr {
        text.parse()
            .unwrap_or_else(|err| panic!("{text} should parse: {err}"))
    }

    #[test]
    fn parses_every_form() {
        let cases = [
            ("0:100", slice(Some(FromStart(0)), Some(FromStart(100)))),
            ("10:", slice(Some(FromStart(10)), None)),
            (":10", slice(None, Some(FromStart(10)))),
            (":", RangeExpr::whole()),
            ("-1024:", slice(Some(FromEnd(1024)), None)),
            (":-10", slice(None, Some(FromEnd(10)))),
            ("-10:-2", slice(Some(FromEnd(10)), Some(FromEnd(2)))),
            ("-10:20", slice(Some(FromEnd(10)), Some(FromStart(20)))),
            ("10+5", count(FromStart(10), 5)),
            ("-3+10", count(FromEnd(3), 10)),
            ("7+0", count(FromStart(7), 0)),
            ("-0:", slice(Some(FromStart(0)), None)),
            ("5:-0", slice(Some(FromStart(5)), Some(FromStart(0)))),
            ("-0+5", count(FromStart(0), 5)),
            ("4KiB:", slice(Some(FromStart(4096)), None)),
            ("1k:", slice(Some(FromStart(1000)), None)),
            ("2MiB+1", count(FromStart(2 << 20), 1)),
            ("-1GB:", slice(Some(FromEnd(1_000_000_000)), None)),
            ("0x10:0X20", slice(Some(FromStart(16)), Some(FromStart(32)))),
            ("0x1B+10B", count(FromStart(27), 10)),
            ("-4KiB+1k", count(FromEnd(4096), 1000)),
            (
                ":18446744073709551615",
                slice(None, Some(FromStart(u64::MAX))),
            ),
            (
                "-18446744073709551615:",
                slice(Some(FromEnd(u64::MAX)), None),
            ),
            ("0+18446744073709551615", count(FromStart(0), u64::MAX)),
            ("-1+18446744073709551615", count(FromEnd(1), u64::MAX)),
        ];
        for (text, expected) in cases {
            assert_eq!(expr(text), expected, "{text}");
        }
    }

    #[test]
    fn rejects_bad_ranges() {
        let cases = [
            ("", "empty"),
            (" 1:2", "whitespace"),
            ("1:2\n", "whitespace"),
            ("abc", "RANGE needs ':' or '+'"),
            ("abc:", "bad start 'abc': expected a number"),
            ("1:xyz", "bad end 'xyz'"),
            ("1.5M:", "units take whole numbers"),
            ("0-99", "'0:100'"),
            ("0x10-0x1f", "'0x10:32'"),
            ("100-", "'100:'"),
            ("0-18446744073709551615", "RANGE needs ':' or '+'"),
            ("0-99,200-299", "separate arguments"),
            ("5", "RANGE needs ':' or '+': write '5:'"),
            ("-5", "write '-5:'"),
            ("1:2:3", "more than one ':'"),
            ("99999999999999999999:", "does not fit in 64 bits"),
            ("1+-5", "bad count '-5': cannot be negative"),
            ("++", "more than one '+'"),
            ("+5", "write '0+5'"),
            ("5+", "needs a count"),
            ("1:2+3", "not both"),
            ("TiB:", "a unit needs digits"),
            ("--5:", "cannot be negative"),
            ("-:", "bad start '-'"),
            ("18446744073709551615+1", "does not fit in 64 bits"),
        ];
        for (text, reason) in cases {
            let err = text.parse::<RangeExpr>().unwrap_err();
            assert_eq!(err.original, text);
            assert!(err.reason.contains(reason), "{text}: {err}");
        }
    }

    #[test]
    fn error_message_quotes_the_range() {
        let err = "0-99".parse::<RangeExpr>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid RANGE '0-99': curl-style inclusive range: RANGE is half-open, write '0:100'"
        );
    }

    #[test]
    fn displays_canonical_form() {
        let cases = [
            (":", ":"),
            ("0x10:0x20", "16:32"),
            ("-0:", "0:"),
            ("-1KiB:", "-1024:"),
            (":-5", ":-5"),
            ("-10:-2", "-10:-2"),
            ("4KiB+1k", "4096+1000"),
            ("-3+10", "-3+10"),
        ];
        for (text, shown) in cases {
            assert_eq!(expr(text).to_string(), shown, "{text}");
        }
    }

    #[test]
    fn resolves_like_python_slices() {
        let cases = [
            (":", 10, 0..10),
            ("2:5", 10, 2..5),
            ("-3:", 10, 7..10),
            (":-3", 10, 0..7),
            ("-5:-2", 10, 5..8),
            ("-100:", 10, 0..10),
            (":-100", 10, 0..0),
            ("5:100", 10, 5..10),
            ("20:30", 10, 10..10),
            ("7:3", 10, 7..7),
            ("-2:-5", 10, 8..8),
            ("5:5", 10, 5..5),
            ("5:-0", 10, 5..5),
            ("3+4", 10, 3..7),
            ("8+5", 10, 8..10),
            ("20+5", 10, 10..10),
            ("-3+10", 10, 7..10),
            ("-3+1", 10, 7..8),
            ("-100+60", 50, 0..10),
            ("-100+10", 50, 0..0),
            ("4+0", 10, 4..4),
            (":", 0, 0..0),
            ("-5:", 0, 0..0),
            ("3:", 0, 0..0),
            ("3+2", 0, 0..0),
            ("-1+18446744073709551615", 10, 9..10),
            ("-18446744073709551615:", u64::MAX, 0..u64::MAX),
        ];
        for (text, len, expected) in cases {
            assert_eq!(expr(text).resolve(len), expected, "{text} of {len}");
        }
    }

    #[test]
    fn strict_rejects_what_reaches_outside() {
        let cases = [
            ("2:5", 10, Some(2..5)),
            ("0:10", 10, Some(0..10)),
            (":", 0, Some(0..0)),
            ("5:5", 10, Some(5..5)),
            ("10:", 10, Some(10..10)),
            ("-10:", 10, Some(0..10)),
            (":-10", 10, Some(0..0)),
            ("3+7", 10, Some(3..10)),
            ("-3+3", 10, Some(7..10)),
            ("-3+0", 10, Some(7..7)),
            ("0:11", 10, None),
            ("11:", 10, None),
            ("-11:", 10, None),
            (":-11", 10, None),
            ("7:3", 10, None),
            ("-2:-5", 10, None),
            ("3+8", 10, None),
            ("-3+4", 10, None),
            ("-11+1", 10, None),
            ("1:", 0, None),
        ];
        for (text, len, expected) in cases {
            let range = expr(text);
            let got = range.resolve_strict(len);
            match expected {
                Some(expected) => assert_eq!(got, Ok(expected), "{text} of {len}"),
                None => assert_eq!(got, Err(OutOfBounds { range, len }), "{text} of {len}"),
            }
        }
        let err = expr("0:11").resolve_strict(10).unwrap_err();
        assert_eq!(
            err.to_string(),
            "range 0:11 is not wholly inside the resource of 10 bytes"
        );
    }

    #[test]
    fn requests_without_length() {
        use ByteRange::{From, Span, Suffix};
        let cases = [
            ("0:100", Some(Span(0..100))),
            (":100", Some(Span(0..100))),
            ("10:", Some(From(10))),
            (":", Some(From(0))),
            ("-0:", Some(From(0))),
            ("-1024:", Some(Suffix(1024))),
            ("10+5", Some(Span(10..15))),
            ("-0+5", Some(Span(0..5))),
            ("-5+5", Some(Suffix(5))),
            ("-5+10", Some(Suffix(5))),
            ("5:5", None),
            ("10:3", None),
            (":0", None),
            ("7+0", None),
            ("-5+4", None),
            (":-5", None),
            ("-10:-5", None),
            ("-10:5", None),
            ("5:-1", None),
        ];
        for (text, expected) in cases {
            assert_eq!(expr(text).without_length(), expected, "{text}");
        }
    }

    /// A RANGE as a test writes it, with plain signed numbers.
    #[derive(Debug, Clone)]
    enum Written {
        Slice(Option<i64>, Option<i64>),
        Count(i64, u64),
    }

    impl Written {
        fn text(&self) -> String {
            let show = |b: Option<i64>| b.map(|b| b.to_string()).unwrap_or_default();
            match *self {
                Written::Slice(start, end) => format!("{}:{}", show(start), show(end)),
                Written::Count(start, len) => format!("{start}+{len}"),
            }
        }

        /// The selected bytes, computed independently of `resolve`.
        fn select(&self, data: &[u8]) -> Vec<u8> {
            let len = data.len() as i64;
            match *self {
                // Python's slice index normalisation for step 1 (CPython `PySlice_AdjustIndices`).
                Written::Slice(start, end) => {
                    let adjust = |i: i64| if i < 0 { (i + len).max(0) } else { i.min(len) };
                    let start = start.map_or(0, adjust);
                    let end = end.map_or(len, adjust);
                    if end <= start {
                        Vec::new()
                    } else {
                        data[start as usize..end as usize].to_vec()
                    }
                }
                // Every byte whose offset lies in [S, S + N), S made absolute.
                Written::Count(start, n) => {
                    let start = if start < 0 { len + start } else { start };
                    (0..len)
                        .filter(|&i| start <= i && i < start + n as i64)
                        .map(|i| data[i as usize])
                        .collect()
                }
            }
        }
    }

    fn written() -> impl Strategy<Value = Written> {
        let bound = proptest::option::of(-400_i64..400);
        prop_oneof![
            (bound.clone(), bound).prop_map(|(start, end)| Written::Slice(start, end)),
            (-400_i64..400, 0_u64..400).prop_map(|(start, len)| Written::Count(start, len)),
        ]
    }

    /// What a server sends for `range` of `data` (RFC 9110 §14.1.2): the part that exists, or
    /// nothing (a 416) when the first byte is past the end.
    fn served(range: &ByteRange, data: &[u8]) -> Vec<u8> {
        let len = data.len() as u64;
        let part = match *range {
            ByteRange::Span(ref span) if span.start < len => span.start..span.end.min(len),
            ByteRange::From(start) if start < len => start..len,
            ByteRange::Suffix(n) => len.saturating_sub(n)..len,
            _ => return Vec::new(),
        };
        data[part.start as usize..part.end as usize].to_vec()
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    proptest! {
        #[test]
        fn resolve_matches_python_slicing(written in written(), len in 0_usize..300) {
            let range = expr(&written.text());
            let data = data(len);
            let got = range.resolve(len as u64);
            prop_assert!(got.start <= got.end && got.end <= len as u64, "{got:?}");
            prop_assert_eq!(
                &data[got.start as usize..got.end as usize],
                &written.select(&data)[..]
            );
        }

        #[test]
        fn display_parses_back(written in written()) {
            let range = expr(&written.text());
            prop_assert_eq!(expr(&range.to_string()), range);
        }

        #[test]
        fn without_length_requests_exactly_the_bytes(
            written in written(),
            len in 0_usize..300,
        ) {
            let range = expr(&written.text());
            if let Some(request) = range.without_length() {
                match request {
                    ByteRange::Span(ref span) => prop_assert!(span.start < span.end),
                    ByteRange::Suffix(n) => prop_assert!(n > 0),
                    ByteRange::From(_) => {}
                }
                let data = data(len);
                let resolved = range.resolve(len as u64);
                prop_assert_eq!(
                    served(&request, &data),
                    &data[resolved.start as usize..resolved.end as usize]
                );
            }
        }
    }
}
