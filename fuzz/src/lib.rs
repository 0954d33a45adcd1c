//! Models the fuzz targets check rangecat against, written from README's descriptions rather
//! than from the library's code: sizes and RANGE text (README "RANGE"), Python slicing, and
//! spans of byte offsets for replaying a plan.

use std::ops::Range;

use rangecat::range::Bound;

/// A size as README describes it: decimal, or `0x`/`0X` then hex digits (taken greedily), then
/// nothing, `B`, or one of `k M G T` (powers of 1000) / `Ki Mi Gi Ti` (powers of 1024) in
/// either case, optionally followed by `B`; `None` when the text is not one or the value does
/// not fit in a `u64`.
pub fn size(text: &str) -> Option<u64> {
    let (radix, body) = match text.get(..2) {
        Some("0x" | "0X") => (16u32, &text[2..]),
        _ => (10, text),
    };
    let is_digit = |c: u8| match radix {
        16 => c.is_ascii_hexdigit(),
        _ => c.is_ascii_digit(),
    };
    let digits = body.bytes().take_while(|&c| is_digit(c)).count();
    if digits == 0 {
        return None;
    }
    let mut value: u128 = 0;
    for c in body[..digits].bytes() {
        let digit = (c as char).to_digit(radix)?;
        value = value * u128::from(radix) + u128::from(digit);
        if value > u128::from(u64::MAX) {
            return None;
        }
    }
    let unit = &body[digits..];
    let prefix = unit.strip_suffix('B').unwrap_or(unit);
    let (letter, base) = match prefix.as_bytes() {
        [] => (None, 1),
        [letter] => (Some(*letter), 1000u128),
        [letter, b'i'] => (Some(*letter), 1024),
        _ => return None,
    };
    let multiplier = match letter.map(|l| l.to_ascii_lowercase()) {
        None => 1,
        Some(b'k') => base,
        Some(b'm') => base.pow(2),
        Some(b'g') => base.pow(3),
        Some(b't') => base.pow(4),
        Some(_) => return None,
    };
    u64::try_from(value * multiplier).ok()
}

/// One end of a RANGE as README describes it: a size, or `-` and a size counting back from
/// the end (`-0` is 0).
pub fn bound(text: &str) -> Option<Bound> {
    match text.strip_prefix('-') {
        Some(rest) => match size(rest)? {
            0 => Some(Bound::FromStart(0)),
            n => Some(Bound::FromEnd(n)),
        },
        None => Some(Bound::FromStart(size(text)?)),
    }
}

/// A RANGE as the model reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expr {
    /// `A:B` with either end optional.
    Slice(Option<Bound>, Option<Bound>),
    /// `A+N`.
    Count(Bound, u64),
}

/// A RANGE per README: exactly one `:` with an optional bound on each side, or exactly one
/// `+` with a bound before it and a size after it (an absolute start plus the count must fit
/// in a `u64`); nothing else (whitespace included) is accepted.
pub fn expr(text: &str) -> Option<Expr> {
    let colons = text.matches(':').count();
    let pluses = text.matches('+').count();
    let optional = |t: &str| {
        if t.is_empty() {
            Some(None)
        } else {
            bound(t).map(Some)
        }
    };
    match (colons, pluses) {
        (1, 0) => {
            let (a, b) = text.split_once(':')?;
            Some(Expr::Slice(optional(a)?, optional(b)?))
        }
        (0, 1) => {
            let (a, n) = text.split_once('+')?;
            let (start, count) = (bound(a)?, size(n)?);
            if let Bound::FromStart(a) = start {
                a.checked_add(count)?;
            }
            Some(Expr::Count(start, count))
        }
        _ => None,
    }
}

/// A bound as a signed Python index: `-n` for one counted from the end.
fn signed(bound: Bound) -> i128 {
    match bound {
        Bound::FromStart(n) => n.into(),
        Bound::FromEnd(n) => -i128::from(n),
    }
}

/// The bytes `expr` selects from `len` bytes, `None` when none: for a slice, CPython's
/// `PySlice_AdjustIndices` for step 1 (a negative index has `len` added and is then raised
/// to 0, a positive one is lowered to `len`); for `A+N`, every offset `i` in `0..len` with
/// `S <= i < S + N`, where `S` is `A`, or `len + A` for a negative `A`.
pub fn select(expr: Expr, len: u64) -> Option<Range<u64>> {
    let len_i = i128::from(len);
    let (start, end) = match expr {
        Expr::Slice(a, b) => {
            let adjust = |i: i128| {
                if i < 0 {
                    (i + len_i).max(0)
                } else {
                    i.min(len_i)
                }
            };
            (
                a.map_or(0, |a| adjust(signed(a))),
                b.map_or(len_i, |b| adjust(signed(b))),
            )
        }
        Expr::Count(a, n) => {
            let s = match signed(a) {
                s if s < 0 => len_i + s,
                s => s,
            };
            (s.max(0), (s + i128::from(n)).min(len_i))
        }
    };
    (start < end).then_some(start as u64..end as u64)
}

/// `--strict` per its documentation: every written bound, made absolute (an open start is 0,
/// an open end `len`), lies in `0..=len`, and start <= end; for `A+N`, `A` made absolute is
/// at least 0 and `A + N` at most `len`.
pub fn strictly_inside(expr: Expr, len: u64) -> bool {
    let len_i = i128::from(len);
    let absolute = |b: Bound| match signed(b) {
        s if s < 0 => len_i + s,
        s => s,
    };
    let (start, end) = match expr {
        Expr::Slice(a, b) => (a.map_or(0, absolute), b.map_or(len_i, absolute)),
        Expr::Count(a, n) => (absolute(a), absolute(a) + i128::from(n)),
    };
    0 <= start && start <= end && end <= len_i
}

/// Spans of byte offsets, in order, with touching neighbours merged: what a sequence of
/// writes outputs when byte `i` of the resource is a function of `i` alone.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Spans(pub Vec<Range<u64>>);

impl Spans {
    /// Appends `span` (ignored when empty).
    pub fn push(&mut self, span: Range<u64>) {
        if span.start >= span.end {
            return;
        }
        match self.0.last_mut() {
            Some(last) if last.end == span.start => last.end = span.end,
            _ => self.0.push(span),
        }
    }

    /// How many bytes.
    pub fn len(&self) -> u64 {
        self.0.iter().map(|s| s.end - s.start).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The union of `spans`, sorted, with overlapping and touching spans merged.
pub fn union(spans: impl IntoIterator<Item = Range<u64>>) -> Vec<Range<u64>> {
    let mut spans: Vec<Range<u64>> = spans.into_iter().filter(|s| s.start < s.end).collect();
    spans.sort_by_key(|s| s.start);
    let mut out: Vec<Range<u64>> = Vec::new();
    for span in spans {
        match out.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => out.push(span),
        }
    }
    out
}

/// Whether the union of `pieces` holds all of `span`.
pub fn covers(pieces: impl IntoIterator<Item = Range<u64>>, span: &Range<u64>) -> bool {
    let pieces = pieces
        .into_iter()
        .map(|p| p.start.max(span.start)..p.end.min(span.end));
    union(pieces) == [span.clone()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_agree_with_readme_examples() {
        assert_eq!(size("4KiB"), Some(4096));
        assert_eq!(size("0x1B"), Some(27));
        assert_eq!(size("0x10KiB"), Some(16384));
        assert_eq!(size("1.5M"), None);
        assert_eq!(size("18446744073709551615"), Some(u64::MAX));
        assert_eq!(size("18446744073709551616"), None);
        let e = |t| expr(t).unwrap();
        assert_eq!(select(e("-100+60"), 50), Some(0..10));
        assert_eq!(select(e(":-3"), 10), Some(0..7));
        assert_eq!(select(e("7:3"), 10), None);
        assert!(strictly_inside(e("-3+3"), 10));
        assert!(!strictly_inside(e("-3+4"), 10));
    }
}
