//! The first request of a fetch, sent before the length is known: its answer teaches the
//! length and serves as many RANGEs as it can.

use std::ops::Range;

use super::PlanConfig;
use crate::range::{ByteRange, RangeExpr};

/// The first request: the first RANGE's own request, grown by the other RANGEs that the plan
/// would merge with it, so the first response serves them all. When the first RANGE needs
/// the length, another RANGE small enough to keep in memory goes first instead. A request
/// with a known start is cut to at most `limit` bytes.
pub fn first_request(ranges: &[RangeExpr], config: &PlanConfig, limit: u64) -> Option<ByteRange> {
    let requests: Vec<ByteRange> = ranges.iter().filter_map(|r| r.without_length()).collect();
    let first = ranges.first()?.without_length().or_else(|| {
        requests
            .iter()
            .find(|r| matches!(r, ByteRange::Span(s) if s.end - s.start <= config.max_buffer))
            .cloned()
    })?;
    let (start, end) = match first {
        ByteRange::Suffix(_) => return Some(first),
        ByteRange::Span(span) => (span.start, span.end),
        ByteRange::From(start) => (start, u64::MAX),
    };
    let (start, end) = if config.coalesce {
        grow(start..end, &requests, config.gap)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn first(ranges: &[&str], gap: u64) -> Option<ByteRange> {
        let ranges: Vec<RangeExpr> = ranges.iter().map(|r| r.parse().unwrap()).collect();
        let config = PlanConfig {
            gap,
            max_buffer: 1000,
            coalesce: true,
        };
        first_request(&ranges, &config, u64::MAX)
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
        let config = PlanConfig {
            gap: 0,
            max_buffer: 1000,
            coalesce: true,
        };
        assert_eq!(
            first_request(&ranges, &config, 4),
            Some(ByteRange::Span(0..4))
        );
        let suffix: Vec<RangeExpr> = vec!["-100:".parse().unwrap()];
        assert_eq!(
            first_request(&suffix, &config, 4),
            Some(ByteRange::Suffix(100))
        );
    }
}
