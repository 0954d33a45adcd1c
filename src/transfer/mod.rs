//! The fetch: RANGEs from a [`Source`] to a writer, in one call ([`fetch`]). It sends the
//! first requests before the length is known (README, "What goes on the wire"), resolves
//! the RANGEs once a response taught the length, plans the requests
//! ([`plan`](crate::plan)) and [`execute`]s them; without a length it serves what it can in
//! forward passes. Each byte is written once: a kept version found stale after bytes were
//! written is the resource changing during the transfer, not a reason to start over.
//!
//! The pieces, each using only those listed after it: this module (the call);
//! `first` (the requests sent before the length is known); `unknown_length` (a server
//! that answers ranges without the length, `bytes a-b/*`); `forward_pass` (a server that
//! ignores Range and gives no length, chunked); `resolve` (RANGEs against the length, or
//! what they need of the end without one); `execute` (runs a plan, reading ahead in
//! parallel under `-j` and `--multipart`); `config`; `error`.

mod config;
mod error;
mod execute;
mod first;
mod forward_pass;
mod resolve;
mod unknown_length;

pub use config::{FetchConfig, TransferConfig};
pub use error::{Error, Inconsistent};
pub use execute::{MAX_RANGE_HEADER, execute, first_batches, first_spans};

use std::io::{self, Write};
use std::ops::Range;

use crate::plan::plan;
use crate::range::RangeExpr;
use crate::source::{self, Source};

use resolve::resolve_range;

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
/// use rangecat::source::FileSource;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::file::FileSource;

    fn file(bytes: &[u8]) -> (tempfile::TempDir, FileSource) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        std::fs::write(&path, bytes).unwrap();
        let source = FileSource::open(&path).unwrap();
        (dir, source)
    }

    fn ranges(texts: &[&str]) -> Vec<RangeExpr> {
        texts.iter().map(|text| text.parse().unwrap()).collect()
    }

    #[test]
    fn strict_refuses_a_range_outside_before_writing() {
        let (_dir, mut source) = file(b"0123456789");
        let config = FetchConfig {
            strict: true,
            ..FetchConfig::default()
        };
        let mut out = Vec::new();
        let err = fetch(&mut source, &ranges(&["0:2", "5:20"]), &config, &mut out).unwrap_err();
        assert!(matches!(err, Error::Outside { len: 10, .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "range 5:20 is outside the resource of 10 bytes (--strict)"
        );
        assert!(out.is_empty());
    }

    /// Cuts the first resolved range, as `-c` cuts what a partial file holds.
    struct SkipFirst {
        out: Vec<u8>,
        told: Option<u64>,
    }

    impl Write for SkipFirst {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.out.write(data)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink for SkipFirst {
        fn resolved(
            &mut self,
            _: &dyn Source,
            mut ranges: Vec<Range<u64>>,
        ) -> Result<Vec<Range<u64>>, Error> {
            ranges.remove(0);
            Ok(ranges)
        }
        fn total(&mut self, bytes: u64) {
            self.told = Some(bytes);
        }
    }

    #[test]
    fn a_sink_is_told_the_resolved_ranges_and_may_cut_them() {
        let (_dir, mut source) = file(b"0123456789");
        let mut sink = SkipFirst {
            out: Vec::new(),
            told: None,
        };
        let config = FetchConfig::default();
        let summary =
            fetch_into(&mut source, &ranges(&["0:2", "-3:"]), &config, &mut sink).unwrap();
        assert_eq!(sink.out, b"789");
        assert_eq!(sink.told, Some(3));
        assert_eq!((summary.len, summary.written), (Some(10), 3));
    }

    #[test]
    fn stale_is_a_change_only_once_bytes_were_written() {
        let before = after_writing(source::Error::Stale, 0, "bytes were");
        assert!(matches!(before, source::Error::Stale));
        let after = after_writing(source::Error::Stale, 1, "bytes were");
        let source::Error::ResourceChanged { what } = after else {
            panic!("{after:?}");
        };
        assert_eq!(what, "412 Precondition Failed after bytes were written");
    }
}
