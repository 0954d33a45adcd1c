//! Planning: resolved ranges, in output order, become the requests to send and a schedule that
//! writes the output from their responses. Pure: no I/O.
//!
//! With coalescing (the default: README, "What goes on the wire") the needed bytes are
//! the union of the ranges; needed runs closer than `--gap` bytes share a request, and each
//! byte is downloaded at most once. Requests go out in order of first need, not file order: the
//! planner walks the output and, at each position, either replays kept bytes, reads on in the
//! open request, or opens the request (gap-merged group of not yet fetched bytes) holding the
//! position. Bytes that a later range needs are kept, up to `--max-buffer`; what does not fit
//! is requested again when it is needed (the "degenerate" stream). `--no-coalesce` sends one
//! request per range, as given.
//!
//! Where the contract leaves room:
//! - Bytes consumed anyway (written, or skipped to reach a later position) that do not wholly
//!   fit the budget keep the prefix that fits: less to request again.
//! - Bytes read only to be kept are kept in whole runs (maximal runs of bytes some later range
//!   needs): a part of one saves no request and costs memory. So before opening another
//!   request, the open one is read on while its runs fit, then cut short (its `Fetch` span
//!   shrinks, so every request but `first` is consumed exactly) and its rest stays unfetched;
//!   and a request whose group starts before the position that opened it starts at the
//!   earliest run such that it and the runs up to the position fit (else at the position).
//! - Reading on to a later position inside the open request skips what does not fit, rather
//!   than cutting the request in two: it was asked for in one piece (`--gap`, or `first`).
//! - `first` is read on for any position inside it, whatever `--gap`; an empty `first` cannot
//!   be on the wire and is ignored. Without coalescing it serves the first range if it holds it
//!   wholly (skipping up to it), and is otherwise left unread.
//!
//! ```
//! use rangecat::plan::{Op, PlanConfig, plan};
//!
//! // Two ranges 10 bytes apart share one request when --gap allows it.
//! let config = PlanConfig { gap: 16, ..PlanConfig::default() };
//! let ops = plan(&[0..100, 110..200], &config, None);
//! assert_eq!(ops[0], Op::Fetch(0..200));
//! let fetches = ops.iter().filter(|op| matches!(op, Op::Fetch(_))).count();
//! assert_eq!(fetches, 1);
//! ```

mod first;

use std::collections::BTreeSet;
use std::ops::Range;

pub use first::first_request;

/// How to turn ranges into requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanConfig {
    /// Ranges separated by fewer than `gap` bytes share one request (`--gap`).
    pub gap: u64,
    /// Most bytes held in memory at once for reuse by later ranges (`--max-buffer`).
    pub max_buffer: u64,
    /// `false` for `--no-coalesce`: one request per non-empty range, as given.
    pub coalesce: bool,
}

impl Default for PlanConfig {
    /// The command line's defaults: `--gap 0`, `--max-buffer 64MiB`, coalescing.
    fn default() -> Self {
        PlanConfig {
            gap: 0,
            max_buffer: 64 * 1024 * 1024,
            coalesce: true,
        }
    }
}

/// One step of the schedule, executed in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Start a request for this span; the `Take`s that follow consume it from its start. All of
    /// it is consumed, except for the plan's `first` span, which may be left early.
    Fetch(Range<u64>),
    /// Consume the next bytes of the open request: write them to the output and/or keep them.
    Take {
        /// The bytes consumed, starting where the previous `Take` of this request ended.
        range: Range<u64>,
        /// Write them to the output.
        write: bool,
        /// Keep them in memory for a later `Replay`, until a `Forget` of this same range.
        keep: bool,
    },
    /// Write bytes kept earlier (possibly from several adjacent kept `Take`s).
    Replay(Range<u64>),
    /// Drop kept bytes that no later range needs (exactly a range some `Take` kept).
    Forget(Range<u64>),
}

/// Plans `ranges` (resolved, in output order; empty ones output nothing).
///
/// `first` is a request already sent: the plan then starts with `Fetch(first)`. For a server
/// that ignores Range, pass `Some(0..len)` and `gap: u64::MAX` to get one pass over its body.
///
/// The written bytes are the ranges' bytes in order. No op has an empty range; every `Fetch`
/// but `first` is consumed exactly; kept bytes never exceed `max_buffer`, and every kept
/// piece is forgotten by the end of the plan.
pub fn plan(ranges: &[Range<u64>], options: &PlanConfig, first: Option<Range<u64>>) -> Vec<Op> {
    let ranges: Vec<Range<u64>> = ranges.iter().filter(|r| r.start < r.end).cloned().collect();
    let first = first.filter(|f| f.start < f.end);
    if !options.coalesce {
        return plan_each(&ranges, first);
    }
    let mut planner = Planner::new(&ranges, options, first);
    for (i, range) in ranges.iter().enumerate() {
        let mut pos = range.start;
        while pos < range.end {
            planner.release(i, pos);
            pos = planner.step(i, pos);
        }
    }
    planner.close(ranges.len());
    planner.release(ranges.len(), 0);
    planner.ops
}

/// `--no-coalesce`: one request per range.
fn plan_each(ranges: &[Range<u64>], first: Option<Range<u64>>) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut rest = ranges;
    if let Some(first) = first {
        ops.push(Op::Fetch(first.clone()));
        if let Some(range) = ranges
            .first()
            .filter(|r| first.start <= r.start && r.end <= first.end)
        {
            if first.start < range.start {
                ops.push(take(first.start..range.start, false, false));
            }
            ops.push(take(range.clone(), true, false));
            rest = &ranges[1..];
        }
    }
    for range in rest {
        ops.push(Op::Fetch(range.clone()));
        ops.push(take(range.clone(), true, false));
    }
    ops
}

fn take(range: Range<u64>, write: bool, keep: bool) -> Op {
    Op::Take { range, write, keep }
}

/// The walk over the output, with what has been fetched and kept so far.
struct Planner<'a> {
    ranges: &'a [Range<u64>],
    gap: u64,
    max_buffer: u64,
    last_use: LastUse,
    needed: RangeSet,
    /// Needed bytes that no `Take` has consumed yet.
    unfetched: RangeSet,
    /// Kept pieces, sorted and disjoint, each exactly one keep-`Take`'s range.
    kept: Vec<Piece>,
    kept_bytes: u64,
    open: Option<Open>,
    ops: Vec<Op>,
}

/// A kept piece and the last range (index) that needs any of it.
struct Piece {
    range: Range<u64>,
    last: usize,
}

/// The request being consumed: its `Fetch` op's index, span and next byte.
struct Open {
    op: usize,
    span: Range<u64>,
    cursor: u64,
    first: bool,
}

impl<'a> Planner<'a> {
    fn new(ranges: &'a [Range<u64>], options: &PlanConfig, first: Option<Range<u64>>) -> Self {
        let last_use = LastUse::new(ranges);
        let needed = last_use.needed();
        let mut planner = Planner {
            ranges,
            gap: options.gap,
            max_buffer: options.max_buffer,
            unfetched: needed.clone(),
            needed,
            last_use,
            kept: Vec::new(),
            kept_bytes: 0,
            open: None,
            ops: Vec::new(),
        };
        if let Some(first) = first {
            planner.open(first, true);
        }
        planner
    }

    /// Writes from `pos` in range `i` as far as one source allows; returns where it stopped.
    fn step(&mut self, i: usize, pos: u64) -> u64 {
        let end = self.ranges[i].end;
        if let Some(run_end) = self.kept_run(pos) {
            let stop = run_end.min(end);
            self.ops.push(Op::Replay(pos..stop));
            return stop;
        }
        let in_open = (self.open.as_ref()).is_some_and(|o| o.cursor <= pos && pos < o.span.end);
        if !in_open {
            self.close(i);
            let span = if self.unfetched.contains(pos) {
                self.request(pos)
            } else {
                // Downloaded before but not kept (over budget): ask for it again.
                let next_kept = self.kept.iter().map(|p| p.range.start).find(|&s| s > pos);
                let stop = end.min(self.unfetched.next_start(pos));
                pos..stop.min(next_kept.unwrap_or(stop))
            };
            self.open(span, false);
        }
        self.consume(pos, false, i);
        let stop = end.min(self.open.as_ref().map_or(end, |o| o.span.end));
        self.consume(stop, true, i + 1);
        stop
    }

    /// The span to fetch for unfetched `pos`: the gap-merged group of unfetched runs around it,
    /// starting no earlier than the budget lets its bytes before `pos` be kept.
    fn request(&self, pos: u64) -> Range<u64> {
        let runs = &self.unfetched.0;
        let k = runs.partition_point(|r| r.end <= pos);
        // Fetched needed bytes between two runs split them: they must not be downloaded again.
        let joins = |a: &Range<u64>, b: &Range<u64>| {
            b.start - a.end < self.gap && !self.needed.intersects(a.end..b.start)
        };
        let (mut lo, mut hi) = (k, k);
        while lo > 0 && joins(&runs[lo - 1], &runs[lo]) {
            lo -= 1;
        }
        while hi + 1 < runs.len() && joins(&runs[hi], &runs[hi + 1]) {
            hi += 1;
        }
        let mut budget = self.available();
        let mut start = pos;
        for run in runs[lo..=k].iter().rev() {
            let before = run.start..run.end.min(pos);
            let len = before.end - before.start;
            if len > budget {
                break;
            }
            budget -= len;
            start = before.start;
        }
        start..runs[hi].end
    }

    fn open(&mut self, span: Range<u64>, first: bool) {
        let (op, cursor) = (self.ops.len(), span.start);
        self.ops.push(Op::Fetch(span.clone()));
        self.open = Some(Open {
            op,
            span,
            cursor,
            first,
        });
    }

    /// Finishes the open request before another one, at range `i`: reads on while its bytes
    /// are needed (by range `i` or later) and fit, then cuts it short.
    fn close(&mut self, i: usize) {
        let Some(open) = &self.open else { return };
        for (run, last) in self.last_use.runs(open.cursor..open.span.end, i) {
            if run.end - run.start > self.available() {
                break;
            }
            self.take(run.start, false, None);
            self.take(run.end, false, Some(last));
        }
        let open = self.open.take().expect("checked above");
        if !open.first {
            self.ops[open.op] = Op::Fetch(open.span.start..open.cursor);
        }
    }

    /// Consumes the open request up to `until`, keeping what range `after` or later needs as
    /// far as the budget allows.
    fn consume(&mut self, until: u64, write: bool, after: usize) {
        let Some(open) = &self.open else { return };
        for (run, last) in self.last_use.runs(open.cursor..until, after) {
            self.take(run.start, write, None);
            let fit = (run.end - run.start).min(self.available());
            self.take(run.start + fit, write, Some(last));
            self.take(run.end, write, None);
        }
        self.take(until, write, None);
    }

    /// Consumes the open request up to `to`, merging with the previous `Take` when alike.
    fn take(&mut self, to: u64, write: bool, keep: Option<usize>) {
        let open = self.open.as_mut().expect("a Take needs an open request");
        let from = open.cursor;
        if to <= from {
            return;
        }
        open.cursor = to;
        self.unfetched.remove(from..to);
        let merged = match self.ops.last_mut() {
            Some(Op::Take {
                range,
                write: w,
                keep: k,
            }) if *w == write && *k == keep.is_some() && range.end == from => {
                range.end = to;
                true
            }
            _ => false,
        };
        if !merged {
            self.ops.push(take(from..to, write, keep.is_some()));
        }
        if let Some(last) = keep {
            self.kept_bytes += to - from;
            match self.kept.iter_mut().find(|p| p.range.end == from) {
                Some(piece) if merged => {
                    piece.range.end = to;
                    piece.last = piece.last.max(last);
                }
                _ => {
                    let at = self.kept.partition_point(|p| p.range.start < from);
                    let range = from..to;
                    self.kept.insert(at, Piece { range, last });
                }
            }
        }
    }

    /// Forgets the kept pieces that nothing from `pos` in range `i` on needs.
    fn release(&mut self, i: usize, pos: u64) {
        let rest = self.ranges.get(i).map_or(0..0, |r| pos..r.end);
        let mut forgotten = Vec::new();
        self.kept.retain(|p| {
            let needed =
                p.last > i || (p.last == i && p.range.start < rest.end && rest.start < p.range.end);
            if !needed {
                forgotten.push(p.range.clone());
            }
            needed
        });
        for range in forgotten {
            self.kept_bytes -= range.end - range.start;
            self.ops.push(Op::Forget(range));
        }
    }

    /// The end of the run of kept bytes that holds `pos`, if any.
    fn kept_run(&self, pos: u64) -> Option<u64> {
        let at = self.kept.partition_point(|p| p.range.end <= pos);
        let piece = self.kept.get(at).filter(|p| p.range.start <= pos)?;
        let mut end = piece.range.end;
        for next in &self.kept[at + 1..] {
            if next.range.start != end {
                break;
            }
            end = next.range.end;
        }
        Some(end)
    }

    fn available(&self) -> u64 {
        self.max_buffer - self.kept_bytes
    }
}

/// For each byte, the last range (index in output order) that holds it.
struct LastUse {
    /// Sorted, distinct range ends; segment `k` is `bounds[k]..bounds[k + 1]`.
    bounds: Vec<u64>,
    last: Vec<Option<usize>>,
}

impl LastUse {
    fn new(ranges: &[Range<u64>]) -> Self {
        let mut bounds: Vec<u64> = ranges.iter().flat_map(|r| [r.start, r.end]).collect();
        bounds.sort_unstable();
        bounds.dedup();
        let at = |b: u64| bounds.partition_point(|&x| x < b);
        let mut starts = vec![Vec::new(); bounds.len()];
        let mut ends = starts.clone();
        for (i, r) in ranges.iter().enumerate() {
            starts[at(r.start)].push(i);
            ends[at(r.end)].push(i);
        }
        let mut active = BTreeSet::new();
        let segments = bounds.len().saturating_sub(1);
        let last = (0..segments)
            .map(|k| {
                for i in &ends[k] {
                    active.remove(i);
                }
                active.extend(&starts[k]);
                active.last().copied()
            })
            .collect();
        LastUse { bounds, last }
    }

    /// The union of the ranges.
    fn needed(&self) -> RangeSet {
        let mut set = RangeSet(Vec::new());
        for (range, _) in self.runs(0..u64::MAX, 0) {
            set.0.push(range);
        }
        set
    }

    /// Maximal runs of `span` whose bytes range `after` or later needs, each with the last
    /// range that needs any of it.
    fn runs(&self, span: Range<u64>, after: usize) -> Vec<(Range<u64>, usize)> {
        let mut out: Vec<(Range<u64>, usize)> = Vec::new();
        let from = self
            .bounds
            .partition_point(|&b| b <= span.start)
            .saturating_sub(1);
        for k in from..self.last.len() {
            let segment = self.bounds[k].max(span.start)..self.bounds[k + 1].min(span.end);
            if segment.start >= span.end {
                break;
            }
            let Some(last) = self.last[k].filter(|&l| l >= after) else {
                continue;
            };
            match out.last_mut() {
                Some((run, max)) if run.end == segment.start => {
                    run.end = segment.end;
                    *max = (*max).max(last);
                }
                _ => out.push((segment, last)),
            }
        }
        out
    }
}

/// Sorted, disjoint, non-touching, non-empty ranges.
#[derive(Clone)]
struct RangeSet(Vec<Range<u64>>);

impl RangeSet {
    fn contains(&self, pos: u64) -> bool {
        self.intersects(pos..pos + 1)
    }

    fn intersects(&self, range: Range<u64>) -> bool {
        let at = self.0.partition_point(|r| r.end <= range.start);
        self.0.get(at).is_some_and(|r| r.start < range.end)
    }

    /// The start of the first run after `pos` (`u64::MAX` if none); `pos` must not be inside.
    fn next_start(&self, pos: u64) -> u64 {
        let at = self.0.partition_point(|r| r.end <= pos);
        self.0.get(at).map_or(u64::MAX, |r| r.start)
    }

    fn remove(&mut self, cut: Range<u64>) {
        let lo = self.0.partition_point(|r| r.end <= cut.start);
        let hi = self.0.partition_point(|r| r.start < cut.end);
        if lo >= hi {
            return;
        }
        let (first, last) = (self.0[lo].start, self.0[hi - 1].end);
        let rest = [first..cut.start, cut.end..last];
        self.0
            .splice(lo..hi, rest.into_iter().filter(|r| r.start < r.end));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    fn options(gap: u64, max_buffer: u64) -> PlanConfig {
        PlanConfig {
            gap,
            max_buffer,
            coalesce: true,
        }
    }

    fn fetch(r: Range<u64>) -> Op {
        Op::Fetch(r)
    }
    fn write(r: Range<u64>) -> Op {
        take(r, true, false)
    }
    fn write_keep(r: Range<u64>) -> Op {
        take(r, true, true)
    }
    fn keep(r: Range<u64>) -> Op {
        take(r, false, true)
    }
    fn skip(r: Range<u64>) -> Op {
        take(r, false, false)
    }
    fn replay(r: Range<u64>) -> Op {
        Op::Replay(r)
    }
    fn forget(r: Range<u64>) -> Op {
        Op::Forget(r)
    }

    /// Name, ranges, options, `first`, expected plan.
    type Case = (
        &'static str,
        Vec<Range<u64>>,
        PlanConfig,
        Option<Range<u64>>,
        Vec<Op>,
    );

    #[test]
    // A one-element `vec![a..b]` here is a list of one byte range, as meant.
    #[allow(clippy::single_range_in_vec_init)]
    fn plans() {
        const MAX: u64 = u64::MAX;
        let no_coalesce = PlanConfig {
            gap: 0,
            max_buffer: MAX,
            coalesce: false,
        };
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("single", vec![0..10], options(0, MAX), None,
             vec![fetch(0..10), write(0..10)]),
            ("in order", vec![0..10, 20..30], options(0, MAX), None,
             vec![fetch(0..10), write(0..10), fetch(20..30), write(20..30)]),
            ("overlapping", vec![0..10, 5..15], options(0, MAX), None,
             vec![fetch(0..15), write(0..5), write_keep(5..10), replay(5..10), forget(5..10),
                  write(10..15)]),
            ("touching", vec![0..10, 10..20], options(0, MAX), None,
             vec![fetch(0..20), write(0..20)]),
            ("out of order", vec![100..200, 0..50], options(0, MAX), None,
             vec![fetch(100..200), write(100..200), fetch(0..50), write(0..50)]),
            ("out of order in one request", vec![50..60, 0..10], options(100, MAX), None,
             vec![fetch(0..60), keep(0..10), skip(10..50), write(50..60), replay(0..10),
                  forget(0..10)]),
            ("repeated", vec![0..10, 50..60, 0..10], options(0, MAX), None,
             vec![fetch(0..10), write_keep(0..10), fetch(50..60), write(50..60), replay(0..10),
                  forget(0..10)]),
            ("gap merges", vec![0..10, 15..20], options(10, MAX), None,
             vec![fetch(0..20), write(0..10), skip(10..15), write(15..20)]),
            ("gap too small", vec![0..10, 15..20], options(5, MAX), None,
             vec![fetch(0..10), write(0..10), fetch(15..20), write(15..20)]),
            ("no coalesce", vec![0..10, 5..15, 10..20], no_coalesce.clone(), None,
             vec![fetch(0..10), write(0..10), fetch(5..15), write(5..15), fetch(10..20),
                  write(10..20)]),
            ("no coalesce, first holds the first range", vec![5..10, 0..5], no_coalesce.clone(),
             Some(0..100),
             vec![fetch(0..100), skip(0..5), write(5..10), fetch(0..5), write(0..5)]),
            ("no coalesce, first elsewhere", vec![5..10], no_coalesce, Some(50..60),
             vec![fetch(50..60), fetch(5..10), write(5..10)]),
            ("no buffer: re-request", vec![0..10, 50..60, 0..10], options(0, 0), None,
             vec![fetch(0..10), write(0..10), fetch(50..60), write(50..60), fetch(0..10),
                  write(0..10)]),
            ("buffer fits a prefix", vec![0..10, 50..60, 0..10], options(0, 4), None,
             vec![fetch(0..10), write_keep(0..4), write(4..10), fetch(50..60), write(50..60),
                  replay(0..4), forget(0..4), fetch(4..10), write(4..10)]),
            ("request starts as early as the budget allows", vec![50..60, 0..10, 20..30],
             options(100, 12), None,
             vec![fetch(20..60), keep(20..30), skip(30..50), write(50..60), fetch(0..10),
                  write(0..10), replay(20..30), forget(20..30)]),
            ("request cut short when over budget", vec![0..10, 100..110, 20..30, 40..50],
             options(20, 10), None,
             vec![fetch(0..30), write(0..10), skip(10..20), keep(20..30), fetch(100..110),
                  write(100..110), replay(20..30), forget(20..30), fetch(40..50),
                  write(40..50)]),
            ("request cut at once when its first run does not fit",
             vec![0..10, 100..110, 20..30, 40..50], options(20, 5), None,
             vec![fetch(0..10), write(0..10), fetch(100..110), write(100..110), fetch(20..50),
                  write(20..30), skip(30..40), write(40..50)]),
            ("suffix first", vec![900..1000], options(0, MAX), Some(900..1000),
             vec![fetch(900..1000), write(900..1000)]),
            ("first kept for later", vec![0..10, 900..1000], options(0, MAX), Some(900..1000),
             vec![fetch(900..1000), keep(900..1000), fetch(0..10), write(0..10),
                  replay(900..1000), forget(900..1000)]),
            ("ignored Range: one pass", vec![500..600, 0..100, 700..800], options(MAX, MAX),
             Some(0..1000),
             vec![fetch(0..1000), keep(0..100), skip(100..500), write(500..600), replay(0..100),
                  forget(0..100), skip(600..700), write(700..800)]),
            ("ignored Range, small buffer", vec![500..600, 0..100, 700..800], options(MAX, 50),
             Some(0..1000),
             vec![fetch(0..1000), keep(0..50), skip(50..500), write(500..600), replay(0..50),
                  forget(0..50), fetch(50..100), write(50..100), fetch(700..800),
                  write(700..800)]),
            ("empty ranges ignored", vec![5..5, 0..10, 20..20], options(0, MAX), None,
             vec![fetch(0..10), write(0..10)]),
            ("nothing needed", vec![5..5], options(0, MAX), None, vec![]),
            ("nothing needed, first open", vec![], options(0, MAX), Some(0..10),
             vec![fetch(0..10)]),
        ];
        for (name, ranges, options, first, expected) in cases {
            assert_eq!(plan(&ranges, &options, first), expected, "{name}");
        }
    }

    /// Runs `ops` against `data`, asserting the executor's invariants; returns the output and
    /// how many times each byte was consumed.
    fn execute(
        ops: &[Op],
        data: &[u8],
        ranges: &[Range<u64>],
        options: &PlanConfig,
        first: Option<&Range<u64>>,
    ) -> (Vec<u8>, Vec<u32>) {
        let bytes = |r: &Range<u64>| &data[r.start as usize..r.end as usize];
        // For each byte, one past the last output position that writes it (0: none).
        let mut needed_until = vec![0; data.len()];
        let mut written = 0;
        for r in ranges {
            for b in r.clone() {
                needed_until[b as usize] = written + (b - r.start) as usize + 1;
            }
            written += (r.end - r.start) as usize;
        }
        let needed_after =
            |r: &Range<u64>, at: usize| r.clone().any(|b| needed_until[b as usize] > at);
        let all_needed_after =
            |r: &Range<u64>, at: usize| r.clone().all(|b| needed_until[b as usize] > at);
        let mut out = Vec::new();
        let mut consumed = vec![0u32; data.len()];
        let mut open: Option<(Range<u64>, u64, bool)> = None;
        let mut kept: Vec<(Range<u64>, Vec<u8>)> = Vec::new();
        let mut kept_bytes = 0;
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
                    "{span:?} consumed to {cursor}"
                );
            }
        };
        for (at, op) in ops.iter().enumerate() {
            match op {
                Op::Fetch(span) => {
                    assert!(
                        span.start < span.end && span.end <= data.len() as u64,
                        "{span:?}"
                    );
                    finish(&open);
                    open = Some((span.clone(), span.start, at == 0 && first.is_some()));
                }
                Op::Take { range, write, keep } => {
                    let (span, cursor, _) = open.as_mut().expect("Take without Fetch");
                    assert!(range.start < range.end, "empty {range:?}");
                    assert_eq!(range.start, *cursor, "Take not contiguous");
                    assert!(range.end <= span.end, "{range:?} past {span:?}");
                    *cursor = range.end;
                    for c in &mut consumed[range.start as usize..range.end as usize] {
                        *c += 1;
                    }
                    if *write {
                        out.extend_from_slice(bytes(range));
                    }
                    if *keep {
                        assert!(
                            all_needed_after(range, out.len()),
                            "kept {range:?} for nothing"
                        );
                        assert!(options.coalesce, "kept without coalescing");
                        kept_bytes += range.end - range.start;
                        assert!(kept_bytes <= options.max_buffer, "over budget");
                        kept.push((range.clone(), bytes(range).to_vec()));
                    }
                }
                Op::Replay(range) => {
                    assert!(range.start < range.end, "empty {range:?}");
                    for pos in range.clone() {
                        let (piece, held) = (kept.iter())
                            .find(|(r, _)| r.contains(&pos))
                            .unwrap_or_else(|| panic!("replayed {pos} not kept"));
                        out.push(held[(pos - piece.start) as usize]);
                    }
                }
                Op::Forget(range) => {
                    let at = (kept.iter().position(|(r, _)| r == range))
                        .unwrap_or_else(|| panic!("forgot {range:?}, not a kept piece"));
                    assert!(
                        !needed_after(range, out.len()),
                        "forgot {range:?} still needed"
                    );
                    kept_bytes -= range.end - range.start;
                    kept.remove(at);
                }
            }
        }
        finish(&open);
        assert!(kept.is_empty(), "never forgotten: {kept:?}");
        (out, consumed)
    }

    /// The number of requests the planner should make without a budget, from a model of
    /// README's "What goes on the wire" written here, byte by byte: mark every byte some
    /// range needs; the maximal runs of marked bytes, taken in file order, share a request
    /// with the previous run when fewer than `gap` unmarked bytes lie between them; `first`
    /// is one request of its own, and splits each group it holds marked bytes of into the
    /// parts before and after it that hold any.
    fn expected_fetches(
        len: u64,
        ranges: &[Range<u64>],
        gap: u64,
        first: Option<&Range<u64>>,
    ) -> usize {
        let mut marked = vec![false; len as usize];
        for r in ranges {
            for b in r.clone() {
                marked[b as usize] = true;
            }
        }
        let mut groups: Vec<Range<u64>> = Vec::new();
        for b in 0..len {
            if !marked[b as usize] {
                continue;
            }
            match groups.last_mut() {
                // Still inside the group's last run, or fewer than `gap` bytes after it.
                Some(group) if b == group.end || b - group.end < gap => group.end = b + 1,
                _ => groups.push(b..b + 1),
            }
        }
        let Some(first) = first else {
            return groups.len();
        };
        let has_marked =
            |span: Range<u64>| span.start < span.end && span.clone().any(|b| marked[b as usize]);
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

    fn case() -> impl Strategy<Value = (u64, Vec<Range<u64>>, PlanConfig, Option<Range<u64>>)> {
        (1u64..2000).prop_flat_map(|len| {
            let range = prop_oneof![
                (0..=len, 0..=len).prop_map(|(a, b)| a.min(b)..a.max(b)),
                (0..=len, 0u64..40).prop_map(move |(a, n)| a..(a + n).min(len)),
            ];
            let options = (
                prop_oneof![0u64..50, Just(u64::MAX)],
                prop_oneof![0u64..3000, Just(u64::MAX)],
                any::<bool>(),
            )
                .prop_map(|(gap, max_buffer, coalesce)| PlanConfig {
                    gap,
                    max_buffer,
                    coalesce,
                });
            let first = (0u8..3, any::<Index>());
            (
                Just(len),
                prop::collection::vec(range, 0..8),
                options,
                first,
            )
                .prop_map(|(len, ranges, options, (kind, index))| {
                    let spans: Vec<_> = ranges.iter().filter(|r| r.start < r.end).collect();
                    let first = match kind {
                        1 => Some(0..len),
                        2 if !spans.is_empty() => Some((*index.get(&spans)).clone()),
                        _ => None,
                    };
                    (len, ranges, options, first)
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        #[test]
        fn plans_execute_correctly((len, ranges, options, first) in case()) {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let ops = plan(&ranges, &options, first.clone());
            let (out, consumed) = execute(&ops, &data, &ranges, &options, first.as_ref());
            let expected: Vec<u8> = ranges
                .iter()
                .flat_map(|r| data[r.start as usize..r.end as usize].iter().copied())
                .collect();
            prop_assert!(out == expected, "wrong output from {ops:?}");
            if options.coalesce && options.max_buffer == u64::MAX {
                prop_assert!(consumed.iter().all(|&c| c <= 1), "a byte fetched twice: {ops:?}");
                let fetches = ops.iter().filter(|op| matches!(op, Op::Fetch(_))).count();
                let expected = expected_fetches(len, &ranges, options.gap, first.as_ref());
                prop_assert_eq!(fetches, expected, "requests in {:?}", ops);
            }
        }
    }
}
