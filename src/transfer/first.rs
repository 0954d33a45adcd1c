//! The requests sent before the length is known (README, "What goes on the wire"): the
//! plan's first ones when every RANGE is absolute, else one byte request that teaches the
//! length, a probe only when none can be formed.

use std::ops::Range;

use crate::plan::{PlanConfig, first_request, plan};
use crate::range::{ByteRange, RangeExpr};
use crate::source::{self, Body, Lessons, Opened, Source};

use super::config::TransferConfig;
use super::execute::{first_batches, first_spans};

/// When every RANGE is absolute (`A:B`, `A+N`), no request needs the length, so the first
/// ones are the plan's, planned as if the resource held every RANGE: under `--multipart` its
/// first multi-range batches (N under `-j N`, [`Source::open_many`]), else under `-j N` its
/// first N requests ([`Source::open_spans`]), sent at once. Their answers teach the length;
/// the plan made again with it is the same one when every RANGE lies inside the resource,
/// and the transfer then reads those answers instead of asking again.
pub(super) fn open_first_requests(
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
    let batches = first_batches(&ops, transfer_config);
    if !batches.is_empty() {
        source.open_many(&batches)?;
    } else {
        source.open_spans(&first_spans(&ops, transfer_config))?;
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
/// the length (the answer carries the length), a probe only when none can. `limit` caps the
/// bytes it asks for (one segment under `-j`).
pub(super) fn start(
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
