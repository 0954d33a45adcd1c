//! `rangecat URL [RANGE]...`: learn the length (from the first byte request when possible),
//! resolve the ranges, plan the requests, stream the bytes.

use std::io::{Read, Write};
use std::ops::Range;

use rangecat::plan::{PlanConfig, plan};
use rangecat::range::{ByteRange, RangeExpr};
use rangecat::source::parallel::SEGMENT;
use rangecat::source::{self, Body, Opened, Source};
use rangecat::transfer::{self, TransferConfig};

use super::Context;
use crate::cli::FetchArgs;
use crate::error::Error;
use crate::output::{Output, progress_bar};

/// Runs the fetch command.
pub fn run(args: &FetchArgs, ctx: &Context) -> Result<(), Error> {
    let url = args.url.as_deref().expect("clap requires URL");
    let ranges = if args.ranges.is_empty() {
        vec![RangeExpr::whole()]
    } else {
        args.ranges.clone()
    };
    let mut options = PlanConfig {
        gap: args.gap,
        max_buffer: args.max_buffer,
        coalesce: !args.no_coalesce,
    };
    let mut source = source::open(url, &ctx.http)?;
    // With -j, the first request takes one segment; the rest is split over the connections.
    let first_limit = if args.jobs > 1 { SEGMENT } else { u64::MAX };
    let first = start(source.as_mut(), &ranges, &options, first_limit)?;
    let config = TransferConfig {
        chunk_size: ctx.chunk_size,
        jobs: usize::from(args.jobs),
    };

    let Some(len) = source.len() else {
        // A 200 without a length (chunked): only the whole resource can be served.
        let whole = ranges.iter().all(|r| *r == RangeExpr::whole());
        let (Some(first), true) = (first, whole) else {
            return Err(source::Error::UnknownLength.into());
        };
        let mut output = Output::create(args.output.as_deref(), None)?;
        let mut body = first.body;
        copy_whole(&mut body, &mut output)?;
        return output.finish();
    };

    let resolved = resolve(&ranges, len, args.strict)?;
    if !source.serves_ranges() {
        // Every request would stream from byte 0: serve everything in one forward pass.
        options.gap = u64::MAX;
    }
    let (first_span, first_body) = match first {
        Some(first) => (Some(first.span), Some(first.body)),
        None => (None, None),
    };
    let ops = plan(&resolved, &options, first_span);
    let total = resolved.iter().map(|r| r.end - r.start).sum();
    let bar = progress_bar(ctx.progress, total);
    let mut output = Output::create(args.output.as_deref(), bar)?;
    transfer::execute(&ops, source.as_mut(), first_body, &mut output, config)?;
    output.finish()
}

/// Streams a body of unknown length to the output: read errors are the source's, write
/// errors the output's.
fn copy_whole(body: &mut Body, out: &mut Output) -> Result<(), Error> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(source::Error::from(e).into()),
        };
        out.write_all(&buf[..n]).map_err(Error::Write)?;
    }
}

/// The response already open when planning starts.
struct First {
    span: Range<u64>,
    body: Body,
}

/// Sends the first request: a byte request for the first RANGE when it can be formed without
/// the length (the answer carries the length), a probe only when none can.
fn start(
    source: &mut dyn Source,
    ranges: &[RangeExpr],
    options: &PlanConfig,
    limit: u64,
) -> Result<Option<First>, source::Error> {
    if source.len().is_some() {
        return Ok(None);
    }
    let Some(request) = first_request(ranges, options, limit) else {
        source.probe()?;
        return Ok(None);
    };
    let opened = match source.open(&request) {
        Ok(opened) => opened,
        // Some CDNs refuse suffix ranges (501 and the like): probe, then ask explicitly.
        Err(err) if matches!(request, ByteRange::Suffix(_)) && refused_range(&err) => {
            source.probe()?;
            return Ok(None);
        }
        Err(err) => return Err(err),
    };
    Ok(match opened {
        Opened::Partial { span, body } => Some(First { span, body }),
        Opened::Whole { body } => Some(First {
            span: 0..source.len().unwrap_or(u64::MAX),
            body,
        }),
        Opened::Unsatisfiable => None,
    })
}

/// A status that speaks about the range rather than the resource or the credentials.
fn refused_range(err: &source::Error) -> bool {
    match err {
        source::Error::Status { code, .. } => !matches!(code, 401 | 403 | 404 | 407 | 410),
        source::Error::BadContentRange { .. } => true,
        _ => false,
    }
}

/// The first request: the first RANGE's own request, grown by the other RANGEs that the plan
/// would merge with it, so the first response serves them all. When the first RANGE needs
/// the length, another RANGE small enough to keep in memory goes first instead. A request
/// with a known start is cut to at most `limit` bytes.
fn first_request(ranges: &[RangeExpr], options: &PlanConfig, limit: u64) -> Option<ByteRange> {
    let requests: Vec<ByteRange> = ranges.iter().filter_map(|r| r.without_length()).collect();
    let first = ranges.first()?.without_length().or_else(|| {
        requests
            .iter()
            .find(|r| matches!(r, ByteRange::Span(s) if s.end - s.start <= options.max_buffer))
            .cloned()
    })?;
    let (start, end) = match first {
        ByteRange::Suffix(_) => return Some(first),
        ByteRange::Span(span) => (span.start, span.end),
        ByteRange::From(start) => (start, u64::MAX),
    };
    let (start, end) = if options.coalesce {
        grow(start..end, &requests, options.gap)
    } else {
        (start, end)
    };
    Some(match end.min(start.saturating_add(limit)) {
        u64::MAX => ByteRange::From(start),
        end => ByteRange::Span(start..end),
    })
}

/// Grows `span` until no absolute request touches, overlaps or lies within `gap` of it, as
/// the planner will merge them (`u64::MAX` as the end stands for "to the end").
fn grow(span: Range<u64>, requests: &[ByteRange], gap: u64) -> (u64, u64) {
    let (mut start, mut end) = (span.start, span.end);
    loop {
        let mut grown = false;
        for request in requests {
            let (from, to) = match request {
                ByteRange::Span(span) => (span.start, span.end),
                ByteRange::From(from) => (*from, u64::MAX),
                ByteRange::Suffix(_) => continue,
            };
            let joins = from <= end && to >= start
                || from > end && from - end < gap
                || to < start && start - to < gap;
            if joins && (from < start || to > end) {
                (start, end) = (start.min(from), end.max(to));
                grown = true;
            }
        }
        if !grown {
            return (start, end);
        }
    }
}

/// Resolves every RANGE against `len`; under `--strict` one outside the resource is an error.
fn resolve(ranges: &[RangeExpr], len: u64, strict: bool) -> Result<Vec<Range<u64>>, Error> {
    ranges
        .iter()
        .map(|range| {
            if strict {
                range.resolve_strict(len).map_err(|_| {
                    Error::Message(format!(
                        "range {range} is outside the resource of {len} bytes (--strict)"
                    ))
                })
            } else {
                Ok(range.resolve(len))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(ranges: &[&str], gap: u64) -> Option<ByteRange> {
        let ranges: Vec<RangeExpr> = ranges.iter().map(|r| r.parse().unwrap()).collect();
        let options = PlanConfig {
            gap,
            max_buffer: 1000,
            coalesce: true,
        };
        first_request(&ranges, &options, u64::MAX)
    }

    #[test]
    fn the_first_request_serves_the_first_range_and_its_neighbours() {
        use ByteRange::*;
        assert_eq!(first(&["0:100"], 0), Some(Span(0..100)));
        assert_eq!(first(&["0:100", "50:150"], 0), Some(Span(0..150)));
        assert_eq!(first(&["0:100", "100:200"], 0), Some(Span(0..200)));
        assert_eq!(first(&["0:10", "15:20"], 0), Some(Span(0..10)));
        assert_eq!(first(&["0:10", "15:20"], 10), Some(Span(0..20)));
        assert_eq!(first(&["0:10", "15:20"], 5), Some(Span(0..10)));
        assert_eq!(first(&["20:30", "0:20", "100:"], 0), Some(Span(0..30)));
        assert_eq!(first(&["50:", "0:60"], 0), Some(From(0)));
        assert_eq!(first(&["-100:", "0:10"], 0), Some(Suffix(100)));
        assert_eq!(first(&[":"], 0), Some(From(0)));
        // The first RANGE needs the length: a small absolute one goes first, else a probe.
        assert_eq!(first(&[":-100", "0:10"], 0), Some(Span(0..10)));
        assert_eq!(first(&[":-100", "0:5000"], 0), None);
        assert_eq!(first(&[":-100"], 0), None);
        assert_eq!(first(&["5:5"], 0), None);
    }

    #[test]
    fn the_first_request_is_cut_to_the_limit() {
        let ranges: Vec<RangeExpr> = [":", "10:20"].iter().map(|r| r.parse().unwrap()).collect();
        let options = PlanConfig {
            gap: 0,
            max_buffer: 1000,
            coalesce: true,
        };
        assert_eq!(
            first_request(&ranges, &options, 4),
            Some(ByteRange::Span(0..4))
        );
        let suffix: Vec<RangeExpr> = vec!["-100:".parse().unwrap()];
        assert_eq!(
            first_request(&suffix, &options, 4),
            Some(ByteRange::Suffix(100))
        );
    }
}
