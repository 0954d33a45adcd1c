//! Runs a [`plan`](crate::plan) against a [`Source`]: streams each request's bytes to the
//! output in `chunk_size` pieces, keeps what later ranges need, replays it, forgets it.
//!
//! ```
//! use rangecat::plan::{PlanConfig, plan};
//! use rangecat::source::FileSource;
//! use rangecat::transfer::{TransferConfig, execute};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("data.bin");
//! std::fs::write(&path, b"0123456789")?;
//! let mut source = FileSource::open(&path)?;
//! // The last three bytes, then the first two: one forward request, the head kept in memory.
//! let ops = plan(&[7..10, 0..2], &PlanConfig::default(), None);
//! let mut out = Vec::new();
//! let config = TransferConfig { chunk_size: 4, jobs: 1, multipart: false };
//! execute(&ops, &mut source, None, &mut out, config)?;
//! assert_eq!(out, b"78901");
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::ops::Range;
use std::sync::Arc;

use crate::plan::Op;
use crate::source::parallel::{self, Pieces, SpanFetcher, ordered_body};
use crate::source::{self, Body, Source};

use super::config::TransferConfig;
use super::error::{Error, Inconsistent};

/// Executes `ops` in order, writing to `out`. `first` is the response already open for the
/// plan's first `Fetch`, if the plan starts with one.
///
/// With `jobs > 1` and a source that offers a [`SpanFetcher`], every other `Fetch` is read
/// from one ordered parallel reader: up to `jobs` requests in flight, spans of at least
/// [`parallel::THRESHOLD`] cut into [`parallel::SEGMENT`]s.
pub fn execute(
    ops: &[Op],
    source: &mut dyn Source,
    mut first: Option<Body>,
    out: &mut dyn Write,
    config: TransferConfig,
) -> Result<(), Error> {
    let chunk_size = config.chunk_size.max(1);
    let mut buf = vec![0u8; chunk_size];
    let mut kept = Kept::default();
    // The plan's first response, or the request just sent.
    let mut own: Option<Body> = None;
    let mut ahead = match source.fetcher() {
        Some(fetcher) if config.jobs > 1 || config.multipart => {
            let opened_first = first.is_some();
            Some(Ahead::new(ops, opened_first, fetcher, config)?)
        }
        _ => None,
    };
    let mut reading_ahead = false;
    for op in ops {
        match op {
            Op::Fetch(span) => {
                if let Some(open) = first.take() {
                    own = Some(open);
                    continue;
                }
                match &mut ahead {
                    Some(ahead) => {
                        ahead.next_request(span)?;
                        reading_ahead = true;
                    }
                    None => own = Some(source.read_span(span.clone())?),
                }
            }
            Op::Take { range, write, keep } => {
                let body: &mut dyn Read = match (&mut ahead, reading_ahead, &mut own) {
                    (Some(ahead), true, _) => ahead,
                    (_, false, Some(own)) => own.as_mut(),
                    _ => return Err(Error::Plan(Inconsistent::Unopened(range.clone()))),
                };
                let mut piece = Vec::new();
                if *keep {
                    piece.reserve_exact(len_of(range));
                }
                let mut left = range.end - range.start;
                while left > 0 {
                    let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let n = read_some(body, &mut buf[..want], left)?;
                    if *write {
                        out.write_all(&buf[..n]).map_err(Error::Write)?;
                    }
                    if *keep {
                        piece.extend_from_slice(&buf[..n]);
                    }
                    left -= n as u64;
                }
                if *keep {
                    kept.insert(range.start, piece);
                }
            }
            Op::Replay(range) => kept.replay(range, out)?,
            Op::Forget(range) => kept.forget(range),
        }
    }
    if let Some(ahead) = &ahead {
        ahead.check_consumed()?;
    }
    out.flush().map_err(Error::Write)
}

/// The plan's requests (all but an already open `first`) read ahead in parallel, as one
/// stream of their bytes in plan order.
struct Ahead {
    body: Body,
    /// Bytes of the current request not consumed yet: the plan consumes every request but
    /// `first` exactly, so the stream and the plan stay aligned.
    left: u64,
}

impl Ahead {
    /// Under `--multipart` the first batch is sent here, before the others: its answer says
    /// whether the server sends parts (then the other batches follow it) or not (then every
    /// span gets its own request).
    fn new(
        ops: &[Op],
        opened_first: bool,
        fetcher: Arc<dyn SpanFetcher>,
        config: TransferConfig,
    ) -> Result<Ahead, Error> {
        let spans = requests_ahead(ops, opened_first);
        let (jobs, chunk) = (config.jobs, config.chunk_size.max(1));
        let mut pieces = Pieces::new();
        if config.multipart {
            let mut batches = batches(&spans, jobs).into_iter();
            let opened = match batches.next() {
                Some(Batch::Many(first)) => fetcher.fetch_many(&first)?,
                // The first request is a large span: segments, and the rest as batches.
                Some(Batch::One(span, segment)) => {
                    pieces.push(span, segment);
                    Some(Box::new(io::empty()) as Body)
                }
                None => None,
            };
            if let Some(body) = opened {
                for batch in batches {
                    match batch {
                        Batch::Many(spans) => pieces.push_batch(spans),
                        Batch::One(span, segment) => pieces.push(span, segment),
                    }
                }
                let rest = ordered_body(fetcher, pieces, jobs, chunk);
                let body = Box::new(body.chain(rest));
                return Ok(Ahead { body, left: 0 });
            }
        }
        for (span, segment) in spans {
            pieces.push(span, segment);
        }
        Ok(Ahead {
            body: ordered_body(fetcher, pieces, jobs, chunk),
            left: 0,
        })
    }

    fn next_request(&mut self, span: &Range<u64>) -> Result<(), Error> {
        self.check_consumed()?;
        self.left = span.end - span.start;
        Ok(())
    }

    fn check_consumed(&self) -> Result<(), Error> {
        if self.left > 0 {
            return Err(Error::Plan(Inconsistent::Unread(self.left)));
        }
        Ok(())
    }
}

/// The plan's requests that [`Ahead`] sends (all but an already open first one), each with
/// its segment size.
fn requests_ahead(ops: &[Op], opened_first: bool) -> Vec<(Range<u64>, u64)> {
    let mut fetches = ops.iter().filter_map(|op| match op {
        Op::Fetch(span) => Some(span.clone()),
        _ => None,
    });
    // A span that continues the first request counts with it as one transfer.
    let mut previous = if opened_first { fetches.next() } else { None };
    let mut spans: Vec<(Range<u64>, u64)> = Vec::new();
    for span in fetches {
        let continued = match previous.take() {
            Some(prev) if prev.end == span.start => prev.end - prev.start,
            _ => 0,
        };
        let whole = continued + (span.end - span.start);
        let segment = if whole >= parallel::THRESHOLD {
            parallel::SEGMENT
        } else {
            u64::MAX
        };
        spans.push((span, segment));
    }
    spans
}

/// Under `-j N` (without `--multipart`), the first N requests [`execute`] sends for `ops`
/// (with no response open before it): a caller that knows every span without the length
/// sends them all at once as its very first requests ([`Source::open_spans`]), whose
/// answers the transfer then reads. N ranges cost one round trip, not two.
pub fn first_spans(ops: &[Op], config: TransferConfig) -> Vec<Range<u64>> {
    if config.multipart || config.jobs < 2 {
        return Vec::new();
    }
    requests_ahead(ops, false)
        .into_iter()
        .flat_map(|(span, segment)| parallel::segments_up_to(span, segment, config.jobs))
        .take(config.jobs)
        .collect()
}

/// Under `--multipart`, the multi-range requests that [`execute`] sends first for `ops`
/// (with no response open before it), when it starts with some: the first `jobs` batches
/// before any request of a single span. A caller that knows every span without the length
/// sends them as its very first requests, at once ([`Source::open_many`]), whose answers the
/// transfer then reads. 3 ranges cost 1 request, as curl's `-r 0-9,20-29,40-49`.
pub fn first_batches(ops: &[Op], config: TransferConfig) -> Vec<Vec<Range<u64>>> {
    if !config.multipart {
        return Vec::new();
    }
    batches(&requests_ahead(ops, false), config.jobs)
        .into_iter()
        .map_while(|batch| match batch {
            Batch::Many(spans) if spans.len() > 1 => Some(spans),
            _ => None,
        })
        .take(config.jobs.max(1))
        .collect()
}

/// A `Range` header value stays under this many bytes: nginx refuses a header line over
/// 8 KiB by default, and Apache one over 8,190 bytes.
pub const MAX_RANGE_HEADER: usize = 6000;

/// Spans of this many bytes or more get requests of their own (in segments), not a batch.
const MOST_BATCHED: u64 = parallel::THRESHOLD;

/// A request of a `--multipart` plan.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Batch {
    /// Spans sent as one multi-range request.
    Many(Vec<Range<u64>>),
    /// A span on its own, with its segment size.
    One(Range<u64>, u64),
}

/// Groups consecutive spans of the plan into multi-range requests whose `Range`
/// header stays under [`MAX_RANGE_HEADER`], of at most [`source::multipart::MAX_PARTS`]
/// ranges (Apache's default `MaxRanges`), into at least `jobs` batches when there are
/// enough spans, so that they go out in parallel. A large span, and a span that does not
/// [`join`](joins) the batch, starts anew.
fn batches(spans: &[(Range<u64>, u64)], jobs: usize) -> Vec<Batch> {
    let small = spans
        .iter()
        .filter(|(span, _)| span.end - span.start < MOST_BATCHED)
        .count();
    let per_batch = small
        .div_ceil(jobs.max(1))
        .clamp(2, source::multipart::MAX_PARTS);
    let mut out: Vec<Batch> = Vec::new();
    let mut header = 0;
    for (span, segment) in spans {
        if span.end - span.start >= MOST_BATCHED {
            out.push(Batch::One(span.clone(), *segment));
            continue;
        }
        let item = format!("{}-{},", span.start, span.end - 1).len();
        if let Some(Batch::Many(batch)) = out.last_mut() {
            if joins(batch, span) && batch.len() < per_batch && header + item <= MAX_RANGE_HEADER {
                batch.push(span.clone());
                header += item;
                continue;
            }
        }
        out.push(Batch::Many(vec![span.clone()]));
        header = "bytes=".len() + item;
    }
    out
}

/// Whether `span` may join `batch`: it is apart from each of its spans (a gap between them,
/// so no server merges them), and the batch stays ascending or small enough that its parts,
/// which come in ascending order, can be held until the plan needs them.
fn joins(batch: &[Range<u64>], span: &Range<u64>) -> bool {
    let apart = batch
        .iter()
        .all(|other| other.end < span.start || span.end < other.start);
    let ascending = batch.last().is_some_and(|last| last.end < span.start)
        && batch.windows(2).all(|pair| pair[0].end < pair[1].start);
    let bytes: u64 = batch.iter().chain([span]).map(|s| s.end - s.start).sum();
    apart && (ascending || bytes <= source::multipart::MAX_HELD)
}

impl Read for Ahead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.body.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

fn len_of(range: &Range<u64>) -> usize {
    usize::try_from(range.end - range.start).unwrap_or(usize::MAX)
}

/// Reads at least one byte of the `left` still expected.
fn read_some(body: &mut dyn Read, buf: &mut [u8], left: u64) -> Result<usize, Error> {
    loop {
        match body.read(buf) {
            Ok(0) => return Err(source::Error::EndedEarly { missing: left }.into()),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(source::Error::from(e).into()),
        }
    }
}

/// Bytes kept for later ranges, as the pieces the plan kept them in.
#[derive(Default)]
struct Kept {
    pieces: BTreeMap<u64, Vec<u8>>,
}

impl Kept {
    fn insert(&mut self, start: u64, bytes: Vec<u8>) {
        self.pieces.insert(start, bytes);
    }

    fn forget(&mut self, range: &Range<u64>) {
        self.pieces.remove(&range.start);
    }

    fn replay(&self, range: &Range<u64>, out: &mut dyn Write) -> Result<(), Error> {
        let mut at = range.start;
        while at < range.end {
            let (start, bytes) = self
                .pieces
                .range(..=at)
                .next_back()
                .filter(|(start, bytes)| at < *start + bytes.len() as u64)
                .ok_or(Error::Plan(Inconsistent::NotKept(at)))?;
            let from = (at - start) as usize;
            let to = (range.end - start).min(bytes.len() as u64) as usize;
            out.write_all(&bytes[from..to]).map_err(Error::Write)?;
            at = start + to as u64;
        }
        Ok(())
    }
}
