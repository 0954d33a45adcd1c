//! `rangecat URL [RANGE]...`: learn the length (from the first byte request when possible),
//! resolve the ranges, plan the requests, stream the bytes.

use std::ops::Range;

use rangecat::cache::Entry;
use rangecat::plan::{PlanConfig, first_request, plan};
use rangecat::range::{ByteRange, RangeExpr};
use rangecat::source::parallel::SEGMENT;
use rangecat::source::{self, Body, Lessons, Opened, Source};
use rangecat::transfer::{self, TransferConfig};

use super::{Context, Reuse, resume, unknown_length};
use crate::cli::FetchArgs;
use crate::error::Error;
use crate::output::{Output, progress_bar};

/// Runs the fetch command.
pub fn run(args: &FetchArgs, ctx: &Context, reuse: Reuse) -> Result<(), Error> {
    let url = args.url.as_deref().expect("clap requires URL");
    let ranges = if args.ranges.is_empty() {
        vec![RangeExpr::whole()]
    } else {
        args.ranges.clone()
    };
    let mut plan_config = PlanConfig {
        gap: args.gap,
        max_buffer: args.max_buffer,
        coalesce: !args.no_coalesce,
    };
    let mut source = source::open(url, &ctx.http)?;
    let taught = taught_before(url, ctx);
    source.learn(taught);
    let mut output = resume::output(args)?;
    let resuming = resume::prepare(source.as_mut(), &mut output);
    // With -j, the first request takes one segment; the rest is split over the connections.
    let first_limit = if args.jobs > 1 { SEGMENT } else { u64::MAX };
    // README, "Cache": a first RANGE that needs the length takes a kept one instead of a
    // probe; every request then carries If-Match.
    if first_request(&ranges, &plan_config, first_limit).is_none()
        && !resuming
        && let Some(kept) = kept_version(url, ctx, reuse)
    {
        source.assume(kept);
    }
    let transfer_config = TransferConfig {
        chunk_size: ctx.chunk_size,
        jobs: usize::from(args.jobs),
        multipart: args.multipart,
    };
    let done = fetch(
        source.as_mut(),
        &ranges,
        &mut plan_config,
        transfer_config,
        &mut output,
        args,
        ctx,
    );
    remember(url, ctx, source.as_ref(), taught);
    if done? == Fetched::StartOver {
        drop(output);
        return run(args, ctx, reuse);
    }
    output.finish()
}

/// How [`fetch`] ended.
#[derive(Debug, PartialEq, Eq)]
enum Fetched {
    /// Every byte was written.
    Done,
    /// A partial download (`-c`) turned out to be of another version before anything was
    /// written: it is dropped, and the fetch is to start over (README, "Output").
    StartOver,
}

/// The fetch proper, once the source and the output are open.
fn fetch(
    source: &mut dyn Source,
    ranges: &[RangeExpr],
    plan_config: &mut PlanConfig,
    transfer_config: TransferConfig,
    output: &mut Output,
    args: &FetchArgs,
    ctx: &Context,
) -> Result<Fetched, Error> {
    let first_limit = if args.jobs > 1 { SEGMENT } else { u64::MAX };
    if source.len().is_none() {
        open_first_requests(source, ranges, plan_config, transfer_config)?;
    }
    let first = start(source, ranges, plan_config, first_limit)?;

    let Some(len) = source.len() else {
        // `Content-Range: bytes a-b/*`, or a 200 without a length (chunked).
        let strict = args.strict;
        let first_config = (&*plan_config, transfer_config);
        unknown_length::fetch(source, ranges, first, first_config, output, strict)?;
        return Ok(Fetched::Done);
    };

    let resolved = resolve(ranges, len, args.strict)?;
    let resolved = resume::missing(source, output, resolved)?;
    if !source.serves_ranges() {
        // Every request would stream from byte 0: serve everything in one forward pass.
        plan_config.gap = u64::MAX;
    }
    let (first_span, first_body) = match first {
        Some(first) => (Some(first.span), Some(first.body)),
        None => (None, None),
    };
    let ops = plan(&resolved, plan_config, first_span);
    let total = resolved.iter().map(|r| r.end - r.start).sum();
    output.show_progress(progress_bar(ctx.progress, total));
    let done = transfer::execute(&ops, source, first_body, output, transfer_config);
    if resume::outdated(&done, output, ctx) {
        return Ok(Fetched::StartOver);
    }
    match done {
        // Something was written: starting over would write it twice.
        Err(transfer::Error::Source(source::Error::Stale)) if output.written() > 0 => {
            Err(Error::Source(source::Error::ResourceChanged {
                what: "412 Precondition Failed after bytes were written".into(),
            }))
        }
        done => done.map(|()| Fetched::Done).map_err(Error::from),
    }
}

/// Where the cache keeps what the server at `url` taught a fetch (README, "Cache"): beside
/// the entry a zip command keeps for the same URL, never mistaken for it.
fn lessons_key(url: &str) -> String {
    format!("{}\nlessons", rangecat::http::redact::redact_url(url))
}

/// What the server at `url` taught an earlier fetch (nothing without a cache).
fn taught_before(url: &str, ctx: &Context) -> Lessons {
    let cache = ctx.cache.as_ref().filter(|_| source::is_http(url));
    cache
        .and_then(|cache| cache.get(&lessons_key(url)))
        .map(|entry| entry.lessons)
        .unwrap_or_default()
}

/// Keeps what the server taught this fetch, when it is news and the resource has a strong
/// validator (README, "Cache").
fn remember(url: &str, ctx: &Context, source: &dyn Source, taught: Lessons) {
    let lessons = source.lessons();
    let cache = ctx.cache.as_ref().filter(|_| source::is_http(url));
    if let Some(cache) = cache
        && lessons != taught
        && let Some(cached) = source.cached()
        && let Some(len) = cached.identity.len
    {
        let entry = Entry {
            cached,
            start: len,
            bytes: Vec::new(),
            lessons,
        };
        cache.put(&lessons_key(url), &entry);
    }
}

/// The version the cache kept for `url` (a zip command's entry holds its length), unless
/// `reuse` forbids it; with [`Reuse::Never`] the entry is dropped.
fn kept_version(url: &str, ctx: &Context, reuse: Reuse) -> Option<rangecat::source::Cached> {
    let cache = ctx.cache.as_ref().filter(|_| source::is_http(url))?;
    let key = rangecat::http::redact::redact_url(url).to_string();
    if reuse == Reuse::Never {
        cache.remove(&key);
        return None;
    }
    cache.get(&key).map(|entry| entry.cached)
}

/// README "What goes on the wire": when every RANGE is absolute (`A:B`, `A+N`), no request
/// needs the length, so the first ones are the plan's, planned as if the resource held every
/// RANGE: under `--multipart` its first multi-range batches (N under `-j N`,
/// [`Source::open_many`]), else under `-j N` its first N requests ([`Source::open_spans`]),
/// sent at once. Their answers teach
/// the length; the plan made again with it is the same one when every RANGE lies inside the
/// resource, and the transfer then reads those answers instead of asking again.
fn open_first_requests(
    source: &mut dyn Source,
    ranges: &[RangeExpr],
    config: &PlanConfig,
    transfer_config: TransferConfig,
) -> Result<(), source::Error> {
    let spans: Option<Vec<Range<u64>>> = ranges
        .iter()
        .map(|range| match range.without_length() {
            Some(ByteRange::Span(span)) => Some(span),
            _ => None,
        })
        .collect();
    let Some(spans) = spans else {
        return Ok(());
    };
    let ops = plan(&spans, config, None);
    let batches = transfer::first_batches(&ops, transfer_config);
    if !batches.is_empty() {
        source.open_many(&batches)?;
    } else {
        source.open_spans(&transfer::first_spans(&ops, transfer_config))?;
    }
    Ok(())
}

/// The response already open when planning starts.
pub(super) struct First {
    /// The bytes it answers (ending at `u64::MAX` while the length is unknown).
    pub(super) span: Range<u64>,
    /// Its body.
    pub(super) body: Body,
}

/// Sends the first request: a byte request for the first RANGE when it can be formed without
/// the length (the answer carries the length), a probe only when none can.
fn start(
    source: &mut dyn Source,
    ranges: &[RangeExpr],
    config: &PlanConfig,
    limit: u64,
) -> Result<Option<First>, source::Error> {
    if source.len().is_some() {
        return Ok(None);
    }
    let Some(request) = first_request(ranges, config, limit) else {
        return match source.probe() {
            Ok(_) => Ok(None),
            // No answer gives a length (a chunked 200, `bytes 0-0/*`): read from the start,
            // to find the end by reaching it.
            Err(source::Error::UnknownLength) => {
                let opened = source.open(&ByteRange::From(0))?;
                Ok(first_of(source, opened))
            }
            Err(err) => Err(err),
        };
    };
    let suffix = matches!(request, ByteRange::Suffix(_));
    if suffix && source.lessons().suffix_refused {
        source.probe()?;
        return Ok(None);
    }
    let opened = match source.open(&request) {
        Ok(opened) => opened,
        // Some CDNs refuse suffix ranges (501 and the like): probe, then ask explicitly.
        Err(err) if suffix && err.refuses_the_range() => {
            source.learn(Lessons {
                suffix_refused: true,
                ..Lessons::default()
            });
            source.probe()?;
            return Ok(None);
        }
        Err(err) => return Err(err),
    };
    // A 200 to a suffix range with much to skip before the bytes asked for: the server may
    // refuse only the suffix form (busybox httpd), so it is dropped unread and the bytes
    // asked for explicitly; a server that ignores Range answers that with a 200 as well.
    if let (ByteRange::Suffix(wanted), Opened::Whole { .. }, Some(len)) =
        (&request, &opened, source.len())
        && len.saturating_sub(*wanted) > SUFFIX_SKIP
    {
        drop(opened);
        source.learn(Lessons {
            suffix_refused: true,
            ..Lessons::default()
        });
        return Ok(None);
    }
    Ok(first_of(source, opened))
}

/// A 200 to a suffix range that would make rangecat read more than this before the bytes
/// asked for is dropped for an explicit range request.
const SUFFIX_SKIP: u64 = 1024 * 1024;

/// The first response, as planning takes it.
fn first_of(source: &dyn Source, opened: Opened) -> Option<First> {
    match opened {
        Opened::Partial { span, body } => Some(First { span, body }),
        Opened::Whole { body } => Some(First {
            span: 0..source.len().unwrap_or(u64::MAX),
            body,
        }),
        Opened::Unsatisfiable => None,
    }
}

/// Resolves every RANGE against `len`; under `--strict` one outside the resource is an error.
fn resolve(ranges: &[RangeExpr], len: u64, strict: bool) -> Result<Vec<Range<u64>>, Error> {
    ranges
        .iter()
        .map(|range| resolve_range(range, len, strict))
        .collect()
}

/// Resolves one RANGE against `len`; under `--strict` one outside the resource is an error.
pub(super) fn resolve_range(
    range: &RangeExpr,
    len: u64,
    strict: bool,
) -> Result<Range<u64>, Error> {
    if strict {
        range.resolve_strict(len).map_err(|_| {
            Error::Message(format!(
                "range {range} is outside the resource of {len} bytes (--strict)"
            ))
        })
    } else {
        Ok(range.resolve(len))
    }
}
