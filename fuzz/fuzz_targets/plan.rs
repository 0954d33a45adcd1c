//! The planner: `plan(ranges, config, first)` replayed against a resource whose byte `i` is a
//! function of `i` alone (so output is tracked as spans of offsets, and offsets may sit near
//! `u64::MAX`) must write exactly the ranges' bytes in order, with every op well formed: no
//! empty op, `Take`s contiguous inside their `Fetch`, every `Fetch` but `first` consumed
//! exactly, only bytes a later position needs kept, never more than `max_buffer` kept, every
//! kept piece forgotten once no longer needed, `Replay` only of kept bytes.
//!
//! Without a budget (`max_buffer` unlimited) and with coalescing, the plan is also minimal as
//! README's "What goes on the wire" and the planner's documentation put it: no byte is
//! consumed twice (the requests are disjoint), and there are exactly as many requests as
//! gap-merged groups of needed bytes (maximal runs merged when fewer than `gap` unneeded bytes
//! lie between them), `first` being one of its own that splits each group it holds needed
//! bytes of into the parts before and after it that hold any. That count is checked for the
//! `first`s callers pass: none, the whole resource (a server that ignores Range), one of the
//! ranges, or what `first_request` asks for (cut by a limit, as `-j` does) as the file source
//! serves it. Without coalescing, each range is its own request.
#![no_main]

use std::ops::Range;

use libfuzzer_sys::fuzz_target;
use rangecat::fuzzing::served_span;
use rangecat::plan::{Op, PlanConfig, first_request, plan};
use rangecat::range::{Bound, RangeExpr};
use rangecat_fuzz::{Spans, covers, union};

/// Room for the ranges above `base`.
const ROOM: u64 = 1 << 17;

/// The input, decoded from bytes (missing ones read as 0) so that seeds can be written by
/// hand (`fuzz/seeds/make.py`): a flags byte (bit 0: coalesce; bits 1-2: the base, 0, near
/// `u64::MAX` or the base field; bits 3-5: `first`, as in [`First`] in order), then
/// little-endian `base: u64`, `gap: u64`, `max_buffer: u64`, `first_a: u32`, `first_b: u32`,
/// then up to 12 ranges of 5 bytes each: a kind (mod 4, as in [`Written`]) and two `u16`s.
#[derive(Debug)]
struct Input {
    base: u64,
    ranges: Vec<Written>,
    gap: u64,
    max_buffer: u64,
    coalesce: bool,
    first: First,
}

/// One RANGE, offsets relative to the base.
#[derive(Debug)]
enum Written {
    /// `A:B`.
    Span(u16, u16),
    /// `A+N`.
    Count(u16, u16),
    /// `-N:`, the last N bytes.
    Tail(u16),
    /// `A:`, to the end.
    Open(u16),
}

#[derive(Debug)]
enum First {
    None,
    /// The whole resource: a server that ignored Range.
    Whole,
    /// The span of one of the ranges (index `first_a`, modulo their number).
    Range(u32),
    /// What `first_request` asks for, cut to `first_a` bytes (0: no limit), as the file
    /// source serves it.
    Requested(u32),
    /// Any span, `first_a..first_b` after the base (checked for correctness only).
    Span(u32, u32),
}

impl Input {
    fn decode(data: &[u8]) -> Input {
        let mut header = [0u8; 33];
        let n = data.len().min(header.len());
        header[..n].copy_from_slice(&data[..n]);
        let u64_at = |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().unwrap());
        let u32_at = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().unwrap());
        let flags = header[0];
        let base = match (flags >> 1) & 3 {
            0 => 0,
            1 => u64::MAX - ROOM,
            _ => u64_at(1).min(u64::MAX - ROOM),
        };
        let (first_a, first_b) = (u32_at(25), u32_at(29));
        let first = match (flags >> 3) & 7 {
            1 => First::Whole,
            2 => First::Range(first_a),
            3 => First::Requested(first_a),
            4 => First::Span(first_a, first_b),
            _ => First::None,
        };
        let ranges = data[n..]
            .chunks_exact(5)
            .take(12)
            .map(|c| {
                let (a, b) = (
                    u16::from_le_bytes([c[1], c[2]]),
                    u16::from_le_bytes([c[3], c[4]]),
                );
                match c[0] % 4 {
                    0 => Written::Span(a, b),
                    1 => Written::Count(a, b),
                    2 => Written::Tail(a),
                    _ => Written::Open(a),
                }
            })
            .collect();
        Input {
            base,
            ranges,
            gap: u64_at(9),
            max_buffer: u64_at(17),
            coalesce: flags & 1 == 1,
            first,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let input = Input::decode(data);
    let base = input.base;
    let len = base + ROOM;
    let exprs: Vec<RangeExpr> = input
        .ranges
        .iter()
        .take(12)
        .map(|w| expr(w, base))
        .collect();
    let ranges: Vec<Range<u64>> = exprs.iter().map(|e| e.resolve(len)).collect();
    let config = PlanConfig {
        gap: input.gap,
        max_buffer: input.max_buffer,
        coalesce: input.coalesce,
    };
    let nonempty: Vec<&Range<u64>> = ranges.iter().filter(|r| !r.is_empty()).collect();
    let (first, minimal_applies) = match input.first {
        First::None => (None, true),
        First::Whole => (Some(0..len), true),
        First::Range(i) if !nonempty.is_empty() => {
            (Some(nonempty[i as usize % nonempty.len()].clone()), true)
        }
        First::Range(_) => (None, true),
        First::Requested(limit) => {
            let limit = if limit == 0 { u64::MAX } else { limit.into() };
            let request = first_request(&exprs, &config, limit);
            (request.and_then(|r| served_span(&r, len)), true)
        }
        First::Span(a, b) => {
            let (a, b) = (u64::from(a.min(b)), u64::from(a.max(b)));
            (Some(base.saturating_add(a)..base.saturating_add(b)), false)
        }
    };
    let ops = plan(&ranges, &config, first.clone());
    let first = first.filter(|f| !f.is_empty());
    let consumed = execute(&ops, &ranges, &config, first.as_ref());

    let fetches = ops.iter().filter(|op| matches!(op, Op::Fetch(_))).count();
    if !config.coalesce {
        let holds_first = first.as_ref().is_some_and(|f| {
            nonempty
                .first()
                .is_some_and(|r| f.start <= r.start && r.end <= f.end)
        });
        let want = nonempty.len() + usize::from(first.is_some()) - usize::from(holds_first);
        assert_eq!(fetches, want, "one request per range: {ops:?}");
    } else if config.max_buffer == u64::MAX {
        let mut sorted = consumed.clone();
        sorted.sort_by_key(|r| r.start);
        for pair in sorted.windows(2) {
            assert!(
                pair[0].end <= pair[1].start,
                "{pair:?} consumed twice: {ops:?}"
            );
        }
        if minimal_applies {
            let want = expected_fetches(&ranges, config.gap, first.as_ref());
            assert_eq!(fetches, want, "requests in {ops:?}");
        }
    }
});

fn expr(written: &Written, base: u64) -> RangeExpr {
    use Bound::{FromEnd, FromStart};
    let at = |n: u16| FromStart(base + u64::from(n));
    match *written {
        Written::Span(a, b) => RangeExpr::Slice {
            start: Some(at(a)),
            end: Some(at(b)),
        },
        Written::Count(a, n) => RangeExpr::Count {
            start: at(a),
            len: n.into(),
        },
        Written::Tail(0) => RangeExpr::Slice {
            start: Some(FromStart(base + ROOM)),
            end: None,
        },
        Written::Tail(n) => RangeExpr::Slice {
            start: Some(FromEnd(n.into())),
            end: None,
        },
        Written::Open(a) => RangeExpr::Slice {
            start: Some(at(a)),
            end: None,
        },
    }
}

/// The bytes of `span` that output position `at` or a later one writes.
fn needed_from(ranges: &[Range<u64>], span: &Range<u64>, at: u64) -> Vec<Range<u64>> {
    let mut out = Vec::new();
    let mut written = 0u64;
    for r in ranges {
        // Byte b of r is written at position written + (b - r.start).
        let from = if at > written {
            r.start.saturating_add(at - written)
        } else {
            r.start
        };
        let piece = from.max(span.start)..r.end.min(span.end);
        if piece.start < piece.end {
            out.push(piece);
        }
        written += r.end - r.start;
    }
    out
}

/// Runs `ops`, asserting every invariant of the schedule; returns the consumed spans.
fn execute(
    ops: &[Op],
    ranges: &[Range<u64>],
    config: &PlanConfig,
    first: Option<&Range<u64>>,
) -> Vec<Range<u64>> {
    let mut out = Spans::default();
    let mut consumed = Vec::new();
    // The open request: its span, the next byte, whether it is `first`.
    let mut open: Option<(Range<u64>, u64, bool)> = None;
    let mut kept: Vec<Range<u64>> = Vec::new();
    let mut kept_bytes = 0u64;
    if let Some(first) = first {
        assert_eq!(
            ops.first(),
            Some(&Op::Fetch(first.clone())),
            "starts with first"
        );
    }
    let finish = |open: &Option<(Range<u64>, u64, bool)>| {
        if let Some((span, cursor, is_first)) = open {
            assert!(
                *is_first || *cursor == span.end,
                "{span:?} consumed to {cursor}: {ops:?}"
            );
        }
    };
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Fetch(span) => {
                assert!(span.start < span.end, "empty fetch {span:?}");
                finish(&open);
                open = Some((span.clone(), span.start, i == 0 && first.is_some()));
            }
            Op::Take { range, write, keep } => {
                let (span, cursor, _) = open.as_mut().expect("Take without Fetch");
                assert!(range.start < range.end, "empty take {range:?}");
                assert_eq!(range.start, *cursor, "Take not contiguous: {ops:?}");
                assert!(range.end <= span.end, "{range:?} past {span:?}");
                *cursor = range.end;
                consumed.push(range.clone());
                if *write {
                    out.push(range.clone());
                }
                if *keep {
                    assert!(config.coalesce, "kept without coalescing");
                    let needed = needed_from(ranges, range, out.len());
                    assert!(covers(needed, range), "kept {range:?} for nothing: {ops:?}");
                    assert!(
                        !kept
                            .iter()
                            .any(|k| k.start < range.end && range.start < k.end)
                    );
                    kept_bytes += range.end - range.start;
                    assert!(kept_bytes <= config.max_buffer, "over budget: {ops:?}");
                    kept.push(range.clone());
                }
            }
            Op::Replay(range) => {
                assert!(range.start < range.end, "empty replay {range:?}");
                assert!(
                    covers(kept.clone(), range),
                    "replayed {range:?} not kept: {ops:?}"
                );
                out.push(range.clone());
            }
            Op::Forget(range) => {
                let at = kept.iter().position(|k| k == range);
                let at = at.unwrap_or_else(|| panic!("forgot {range:?}, not a kept piece"));
                let needed = needed_from(ranges, range, out.len());
                assert!(needed.is_empty(), "forgot {range:?} still needed: {ops:?}");
                kept_bytes -= range.end - range.start;
                kept.remove(at);
            }
        }
    }
    finish(&open);
    assert!(kept.is_empty(), "never forgotten: {kept:?}");
    let mut want = Spans::default();
    for r in ranges {
        want.push(r.clone());
    }
    assert_eq!(out, want, "wrong output from {ops:?}");
    consumed
}

/// The requests README's rule makes (see the module documentation), from the needed bytes.
fn expected_fetches(ranges: &[Range<u64>], gap: u64, first: Option<&Range<u64>>) -> usize {
    let marked = union(ranges.iter().cloned());
    let mut groups: Vec<Range<u64>> = Vec::new();
    for run in &marked {
        match groups.last_mut() {
            Some(group) if run.start - group.end < gap => group.end = run.end,
            _ => groups.push(run.clone()),
        }
    }
    let Some(first) = first else {
        return groups.len();
    };
    let has_marked = |span: Range<u64>| {
        span.start < span.end
            && marked
                .iter()
                .any(|m| m.start < span.end && span.start < m.end)
    };
    let split = |g: &Range<u64>| {
        if has_marked(g.start.max(first.start)..g.end.min(first.end)) {
            usize::from(has_marked(g.start..first.start))
                + usize::from(has_marked(first.end..g.end))
        } else {
            1
        }
    };
    1 + groups.iter().map(split).sum::<usize>()
}
