//! RANGE text: `RangeExpr::from_str` accepts exactly what README's grammar (the model in
//! `rangecat_fuzz`) accepts, with the same values; the canonical form parses back; and for
//! lengths around every written number, `resolve` stays inside `0..=len` and selects what a
//! Python slice selects, `resolve_strict` is `Ok` exactly when the RANGE lies inside, and a
//! `without_length` request is served (RFC 9110 §14.1.2) exactly the resolved bytes.
//!
//! Input: the RANGE text, then optionally a NUL byte and up to 8 bytes (little-endian) of one
//! more length to try.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rangecat::range::{Bound, ByteRange, RangeExpr};
use rangecat_fuzz::{Expr, expr as model_expr, select, strictly_inside};

fuzz_target!(|data: &[u8]| {
    let (text, extra) = match data.iter().rposition(|&b| b == 0) {
        Some(at) => (&data[..at], Some(&data[at + 1..])),
        None => (data, None),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let parsed = text.parse::<RangeExpr>();
    let model = model_expr(text);
    let range = match (parsed, model) {
        (Ok(range), Some(model)) => {
            assert_eq!(as_model(&range), model, "{text:?} parsed differently");
            range
        }
        (Err(err), None) => {
            assert_eq!(err.original, text);
            assert!(!err.reason.is_empty());
            return;
        }
        (Ok(range), None) => panic!("{text:?} accepted as {range:?}, the grammar rejects it"),
        (Err(err), Some(model)) => panic!("{text:?} rejected ({err}), the grammar gives {model:?}"),
    };
    let shown = range.to_string();
    assert_eq!(shown.parse::<RangeExpr>().as_ref(), Ok(&range), "{shown}");

    let mut lengths = vec![0, 1, 2, 3, 10, 4096, u64::MAX - 1, u64::MAX];
    for n in numbers(&range) {
        lengths.extend([n.saturating_sub(1), n, n.saturating_add(1)]);
    }
    if let Some(extra) = extra {
        let mut bytes = [0u8; 8];
        let n = extra.len().min(8);
        bytes[..n].copy_from_slice(&extra[..n]);
        lengths.push(u64::from_le_bytes(bytes));
    }
    let request = range.without_length();
    check_request_form(&range, request.as_ref());
    let model = as_model(&range);
    for len in lengths {
        let got = range.resolve(len);
        assert!(
            got.start <= got.end && got.end <= len,
            "{text} of {len}: {got:?}"
        );
        match select(model, len) {
            Some(want) => assert_eq!(got, want, "{text} of {len}"),
            None => assert!(got.is_empty(), "{text} of {len}: {got:?}, should be empty"),
        }
        match range.resolve_strict(len) {
            Ok(strict) => {
                assert!(
                    strictly_inside(model, len),
                    "{text} of {len}: strict accepted"
                );
                assert_eq!(strict, got, "{text} of {len}: strict");
            }
            Err(err) => {
                assert!(
                    !strictly_inside(model, len),
                    "{text} of {len}: strict refused"
                );
                assert_eq!((err.range, err.len), (range.clone(), len));
            }
        }
        if let Some(request) = &request {
            let served = served(request, len);
            let resolved = (!got.is_empty()).then_some(got);
            assert_eq!(served, resolved, "{text} of {len}: {request:?}");
        }
    }
});

/// The parsed RANGE in the model's terms.
fn as_model(range: &RangeExpr) -> Expr {
    match *range {
        RangeExpr::Slice { start, end } => Expr::Slice(start, end),
        RangeExpr::Count { start, len } => Expr::Count(start, len),
    }
}

/// Every number written in `range`, and the end of an `A+N`.
fn numbers(range: &RangeExpr) -> Vec<u64> {
    let value = |b: Bound| match b {
        Bound::FromStart(n) | Bound::FromEnd(n) => n,
    };
    match *range {
        RangeExpr::Slice { start, end } => start.into_iter().chain(end).map(value).collect(),
        RangeExpr::Count { start, len } => {
            vec![value(start), len, value(start).saturating_add(len)]
        }
    }
}

/// `without_length` is a valid request when there is one, and `None` only where its
/// documentation says: an end counted from the end, a start counted from the end before an
/// end that is not open, `A+N` with `A` counted from the end and `N` less than `|A|`, or a
/// RANGE that selects nothing whatever the length.
fn check_request_form(range: &RangeExpr, request: Option<&ByteRange>) {
    use Bound::{FromEnd, FromStart};
    match request {
        Some(ByteRange::Span(span)) => assert!(span.start < span.end, "{range}: {span:?}"),
        Some(ByteRange::Suffix(n)) => assert!(*n > 0, "{range}: suffix 0"),
        Some(ByteRange::From(_)) => {}
        None => {
            let documented = match *range {
                RangeExpr::Slice {
                    end: Some(FromEnd(_)),
                    ..
                } => true,
                RangeExpr::Slice {
                    start: Some(FromEnd(_)),
                    end: Some(_),
                } => true,
                RangeExpr::Slice {
                    start,
                    end: Some(FromStart(b)),
                } => {
                    let a = match start {
                        Some(FromStart(a)) => a,
                        _ => 0,
                    };
                    a >= b
                }
                RangeExpr::Count { len: 0, .. } => true,
                RangeExpr::Count {
                    start: FromEnd(m),
                    len,
                } => len < m,
                _ => false,
            };
            assert!(documented, "{range}: no request without the length");
        }
    }
}

/// What a server sends for `request` from `len` bytes (RFC 9110 §14.1.2), `None` for a 416.
fn served(request: &ByteRange, len: u64) -> Option<std::ops::Range<u64>> {
    let span = match *request {
        ByteRange::Span(ref span) => span.start..span.end.min(len),
        ByteRange::From(start) => start..len,
        ByteRange::Suffix(n) => len - n.min(len)..len,
    };
    (span.start < span.end).then_some(span)
}
