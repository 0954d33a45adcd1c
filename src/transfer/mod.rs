//! The fetch: RANGEs from a [`Source`] to a writer, in one call ([`fetch`]). It sends the
//! first requests before the length is known (README, "What goes on the wire"), resolves
//! the RANGEs once a response taught the length, plans the requests
//! ([`plan`](crate::plan)) and [`execute`]s them; without a length it serves what it can in
//! forward passes. Each byte is written once: a kept version found stale after bytes were
//! written is the resource changing during the transfer, not a reason to start over.
//!
//! The pieces:
//! - `first`: the requests sent before the length is known;
//! - `execute`: runs a plan, reading ahead in parallel under `-j` and `--multipart`;
//! - `unknown_length`: a server that answers ranges without the length (`bytes a-b/*`);
//! - `forward_pass`: a server that ignores Range and gives no length (chunked).

mod execute;
mod first;
mod forward_pass;
mod unknown_length;

pub use execute::{MAX_RANGE_HEADER, TransferConfig, execute, first_batches, first_spans};

use std::fmt;
use std::io::{self, Write};
use std::ops::Range;

use crate::plan::{PlanConfig, plan};
use crate::range::RangeExpr;
use crate::source::parallel::SEGMENT;
use crate::source::{self, Source};

/// Why a fetch stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The source failed.
    Source(source::Error),
    /// The output could not be written (a closed pipe is `BrokenPipe`).
    Write(io::Error),
    /// The plan is inconsistent: it reads or replays bytes it never arranged for.
    Plan(Inconsistent),
    /// Under `--strict`, a RANGE reaches outside the resource.
    Outside {
        /// The RANGE as given.
        range: RangeExpr,
        /// The resource's length.
        len: u64,
    },
    /// A RANGE counts from the end, and the server answers ranges without saying how long
    /// the resource is (`Content-Range: bytes a-b/*`).
    FromEndWithoutLength {
        /// The RANGE as given.
        range: RangeExpr,
    },
    /// A RANGE counts from the end of a resource without a length: finding the end means
    /// holding more bytes than `--max-buffer` allows.
    FromEndTooLarge {
        /// The RANGE as given.
        range: RangeExpr,
        /// The bytes it would hold.
        held: u64,
        /// `--max-buffer`.
        max_buffer: u64,
    },
    /// A server that ignored Range answered a later request with part of the resource.
    AnswersChanged,
    /// The destination refused the ranges it was told of ([`Sink::resolved`]).
    Sink(Box<dyn std::error::Error + Send + Sync>),
}

/// How a plan can be inconsistent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inconsistent {
    /// It takes these bytes with no request open.
    Unopened(Range<u64>),
    /// It leaves this many bytes of a request unread.
    Unread(u64),
    /// It replays this byte, which was not kept.
    NotKept(u64),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Source(err) => write!(f, "{err}"),
            Error::Write(_) => write!(f, "cannot write the output"),
            Error::Plan(Inconsistent::Unopened(range)) => {
                write!(f, "plan takes {range:?} with no request open")
            }
            Error::Plan(Inconsistent::Unread(left)) => {
                write!(f, "plan leaves {left} bytes of a request unread")
            }
            Error::Plan(Inconsistent::NotKept(at)) => {
                write!(f, "plan replays byte {at}, which was not kept")
            }
            Error::Outside { range, len } => write!(
                f,
                "range {range} is outside the resource of {len} bytes (--strict)"
            ),
            Error::FromEndWithoutLength { range } => write!(
                f,
                "range {range} counts from the end, and the server did not say how long the \
                 resource is (Content-Range: bytes a-b/*)"
            ),
            Error::FromEndTooLarge {
                range,
                held,
                max_buffer,
            } => write!(
                f,
                "range {range} counts from the end, and the server did not say how long the \
                 resource is: finding its end would hold {held} bytes, more than --max-buffer \
                 ({max_buffer})"
            ),
            Error::AnswersChanged => {
                f.write_str("the server changed how it answers ranges during the transfer")
            }
            Error::Sink(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // Its message is this one's: go on with what lies beneath it.
            Error::Source(err) => std::error::Error::source(err),
            Error::Sink(err) => err.source(),
            Error::Write(err) => Some(err),
            _ => None,
        }
    }
}

impl From<source::Error> for Error {
    fn from(err: source::Error) -> Error {
        Error::Source(err)
    }
}

/// How a fetch plans and reads: the command line's `--gap`, `--max-buffer`,
/// `--no-coalesce`, `--chunk-size`, `-j`, `--multipart` and `--strict`.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// How RANGEs become requests.
    pub plan: PlanConfig,
    /// Bytes per read and write (`--chunk-size`); the forward passes read this much at once.
    pub chunk_size: usize,
    /// Requests in flight at once (`-j`).
    pub jobs: usize,
    /// Send the plan's requests as multi-range requests (`--multipart`).
    pub multipart: bool,
    /// A RANGE outside the resource is an error ([`Error::Outside`]), not clipped as Python
    /// clips a slice (`--strict`).
    pub strict: bool,
}

impl Default for FetchConfig {
    /// The command line's defaults: `--chunk-size 256KiB`, one request at a time.
    fn default() -> Self {
        FetchConfig {
            plan: PlanConfig::default(),
            chunk_size: 256 * 1024,
            jobs: 1,
            multipart: false,
            strict: false,
        }
    }
}

impl FetchConfig {
    /// How the plan is executed.
    pub fn transfer(&self) -> TransferConfig {
        TransferConfig {
            chunk_size: self.chunk_size,
            jobs: self.jobs,
            multipart: self.multipart,
        }
    }

    /// The most bytes the first request may ask for: one segment under `-j`, so that the
    /// rest is split over the connections.
    pub fn first_limit(&self) -> u64 {
        if self.jobs > 1 { SEGMENT } else { u64::MAX }
    }
}

/// What a fetch did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// The resource's length, when a response said it or a forward pass reached the end.
    pub len: Option<u64>,
    /// Bytes written to the output.
    pub written: u64,
}

/// Where [`fetch_into`] writes, told what it is about to write once the length is known.
/// [`fetch`] takes any `Write` and tells it nothing.
pub trait Sink: Write {
    /// Every RANGE resolved against the length, in order: returns the ranges to fetch and
    /// write. The default is all of them; a download that continues a partial file returns
    /// the ones it lacks. Not called when the length stays unknown.
    fn resolved(
        &mut self,
        source: &dyn Source,
        ranges: Vec<Range<u64>>,
    ) -> Result<Vec<Range<u64>>, Error> {
        let _ = source;
        Ok(ranges)
    }

    /// The bytes the fetch is about to write, once they are known (a progress bar's total).
    fn total(&mut self, bytes: u64) {
        let _ = bytes;
    }
}

/// Fetches `ranges` of `source` into `out`, in order, each byte of a RANGE once:
/// the whole fetch, from the first request to the last byte written.
///
/// ```
/// use rangecat::range::RangeExpr;
/// use rangecat::source::file::FileSource;
/// use rangecat::transfer::{self, FetchConfig};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("data.bin");
/// std::fs::write(&path, b"0123456789")?;
/// let mut source = FileSource::open(&path)?;
/// // The first two bytes, three from byte 4, and the last three (counted from the end).
/// let ranges: Vec<RangeExpr> = ["0:2", "4+3", "-3:"]
///     .iter()
///     .map(|text| text.parse())
///     .collect::<Result<_, _>>()?;
/// let mut out = Vec::new();
/// let summary = transfer::fetch(&mut source, &ranges, &FetchConfig::default(), &mut out)?;
/// assert_eq!(out, b"01456789");
/// assert_eq!((summary.len, summary.written), (Some(10), 8));
/// # Ok(())
/// # }
/// ```
pub fn fetch(
    source: &mut dyn Source,
    ranges: &[RangeExpr],
    config: &FetchConfig,
    out: &mut dyn Write,
) -> Result<Summary, Error> {
    fetch_into(source, ranges, config, &mut Plain(out))
}

/// [`fetch`] into a [`Sink`], which is told the resolved ranges and may cut them.
pub fn fetch_into(
    source: &mut dyn Source,
    ranges: &[RangeExpr],
    config: &FetchConfig,
    sink: &mut dyn Sink,
) -> Result<Summary, Error> {
    let mut out = Counted { sink, written: 0 };
    let done = run(source, ranges, config, &mut out);
    let written = out.written;
    match done {
        Ok(()) => Ok(Summary {
            len: source.len(),
            written,
        }),
        Err(Error::Source(err)) => Err(Error::Source(after_writing(err, written, "bytes were"))),
        Err(err) => Err(err),
    }
}

/// README, "Cache": a 412 to `If-Match` says the kept version is stale, and the caller may
/// start over without it while nothing was written; after `written` bytes, starting over
/// would write them twice, so it is the resource changing during the transfer. `what` says
/// what was written ("bytes were", "a member was").
pub fn after_writing(err: source::Error, written: u64, what: &str) -> source::Error {
    match err {
        source::Error::Stale if written > 0 => source::Error::ResourceChanged {
            what: format!("412 Precondition Failed after {what} written"),
        },
        err => err,
    }
}

/// The fetch proper.
fn run(
    source: &mut dyn Source,
    ranges: &[RangeExpr],
    config: &FetchConfig,
    out: &mut Counted<'_>,
) -> Result<(), Error> {
    if source.len().is_none() {
        first::open_first_requests(source, ranges, &config.plan, config.transfer())?;
    }
    let first = first::start(source, ranges, &config.plan, config.first_limit())?;

    let Some(len) = source.len() else {
        // `Content-Range: bytes a-b/*`, or a 200 without a length (chunked).
        return unknown_length::fetch(source, ranges, first, config, out);
    };

    let resolved = ranges
        .iter()
        .map(|range| resolve_range(range, len, config.strict))
        .collect::<Result<Vec<_>, _>>()?;
    let resolved = out.sink.resolved(source, resolved)?;
    let mut plan_config = config.plan.clone();
    if !source.serves_ranges() {
        // Every request would stream from byte 0: serve everything in one forward pass.
        plan_config.gap = u64::MAX;
    }
    let (first_span, first_body) = match first {
        Some(first) => (Some(first.span), Some(first.body)),
        None => (None, None),
    };
    let ops = plan(&resolved, &plan_config, first_span);
    out.sink
        .total(resolved.iter().map(|r| r.end - r.start).sum());
    execute(&ops, source, first_body, out, config.transfer())
}

/// Resolves one RANGE against `len`; under `--strict` one outside the resource is an error.
fn resolve_range(range: &RangeExpr, len: u64, strict: bool) -> Result<Range<u64>, Error> {
    if strict {
        range.resolve_strict(len).map_err(|_| Error::Outside {
            range: range.clone(),
            len,
        })
    } else {
        Ok(range.resolve(len))
    }
}

/// A plain writer as a [`Sink`] that writes every RANGE.
struct Plain<'a>(&'a mut dyn Write);

impl Write for Plain<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.write(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Sink for Plain<'_> {}

/// The sink, counting what is written to it.
struct Counted<'a> {
    sink: &'a mut dyn Sink,
    written: u64,
}

impl Write for Counted<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.sink.write(data)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }
}
