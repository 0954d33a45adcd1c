//! Header values from a server or the command line: `Content-Range` (`parse_content_range`,
//! `served_span`, `range_header`), `-H` lines (`parse_header_line`), HTTP dates
//! (`parse_http_date`), `Location` (`resolve_location`), URL redaction (`redact_url`) and
//! sizes (`parse_size`). None may panic, on any text; and where a property is cheap:
//! - a parsed `Content-Range` is consistent (`a <= b < len`) and its canonical form parses
//!   back the same; `bytes a-b/n` built from the input's numbers parses exactly when
//!   `a <= b < n`;
//! - `served_span` is what RFC 9110 §14.1.2 says, inside the resource;
//! - a parsed header line has a token name and trimmed parts, and its canonical form parses
//!   back the same;
//! - an IMF-fixdate built from the input's numbers parses to the seconds a day count written
//!   here gives;
//! - a redacted URL redacts to itself, and a URL with no '@', '?' or '#' is left alone;
//! - `parse_size` agrees with the README model in `rangecat_fuzz`.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use rangecat::fuzzing::parse_http_date;
use rangecat::fuzzing::{ContentRange, parse_content_range, range_header, served_span, show_span};
use rangecat::fuzzing::{is_token, parse_header_line};
use rangecat::http::redact_url;
use rangecat::http::{is_downgrade, resolve_location, same_origin};
use rangecat::range::{ByteRange, parse_size};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    content_range(text);
    content_range(&format!("bytes {text}"));
    header_line(text);
    let _ = parse_http_date(text);
    let (base, location) = text.split_once('\n').unwrap_or((text, ""));
    location_of(base, location);
    redaction(text);
    assert_eq!(parse_size(text).ok(), rangecat_fuzz::size(text), "{text:?}");

    let mut u = Unstructured::new(data);
    if let Ok(numbers) = <(u64, u64, u64)>::arbitrary(&mut u) {
        built_content_range(numbers);
    }
    if let Ok((range, len)) = <(Request, u64)>::arbitrary(&mut u) {
        served(range.get(), len);
    }
    if let Ok(date) = Date::arbitrary(&mut u) {
        built_date(date);
    }
});

fn content_range(text: &str) {
    let Some(parsed) = parse_content_range(text) else {
        return;
    };
    assert!(parsed.span.is_some() || parsed.len.is_some(), "{text:?}");
    if let Some(span) = &parsed.span {
        assert!(span.start < span.end, "{text:?}: {span:?}");
        if let Some(len) = parsed.len {
            assert!(span.end <= len, "{text:?}: {span:?} of {len}");
        }
    }
    let canonical = format!(
        "bytes {}/{}",
        match &parsed.span {
            Some(span) => format!("{}-{}", span.start, span.end - 1),
            None => "*".into(),
        },
        parsed.len.map_or("*".into(), |n| n.to_string())
    );
    assert_eq!(
        parse_content_range(&canonical).as_ref(),
        Some(&parsed),
        "{canonical}"
    );
    if let Some(span) = &parsed.span {
        assert!(show_span(span).starts_with("bytes "));
    }
}

fn built_content_range((a, b, n): (u64, u64, u64)) {
    let got = parse_content_range(&format!("bytes {a}-{b}/{n}"));
    let want = (a <= b && b < n).then(|| ContentRange {
        span: Some(a..b + 1),
        len: Some(n),
    });
    assert_eq!(got, want, "bytes {a}-{b}/{n}");
    let got = parse_content_range(&format!("bytes {a}-{b}/*"));
    let want = (a <= b && b < u64::MAX).then(|| ContentRange {
        span: Some(a..b + 1),
        len: None,
    });
    assert_eq!(got, want, "bytes {a}-{b}/*");
    let got = parse_content_range(&format!("bytes */{n}"));
    assert_eq!(
        got,
        Some(ContentRange {
            span: None,
            len: Some(n)
        }),
        "bytes */{n}"
    );
}

/// A request as rangecat forms one: a non-empty span, a start, or a suffix of n > 0.
#[derive(Arbitrary, Debug)]
enum Request {
    Span(u64, u64),
    From(u64),
    Suffix(u64),
}

impl Request {
    fn get(&self) -> ByteRange {
        match *self {
            Request::Span(a, b) if a == b => ByteRange::From(a),
            Request::Span(a, b) => ByteRange::Span(a.min(b)..a.max(b)),
            Request::From(a) => ByteRange::From(a),
            Request::Suffix(n) => ByteRange::Suffix(n.max(1)),
        }
    }
}

fn served(range: ByteRange, len: u64) {
    let header = range_header(&range);
    assert!(header.starts_with("bytes="), "{header}");
    let want = match range {
        ByteRange::Span(ref s) if s.start < len => Some(s.start..s.end.min(len)),
        ByteRange::From(a) if a < len => Some(a..len),
        ByteRange::Suffix(n) if len > 0 => Some(len - n.min(len)..len),
        _ => None,
    };
    let got = served_span(&range, len);
    assert_eq!(got, want, "{range:?} of {len}");
    if let Some(span) = got {
        // What a server answers for it parses back to the span.
        let answer = format!("bytes {}-{}/{len}", span.start, span.end - 1);
        let parsed = parse_content_range(&answer);
        assert_eq!(parsed.and_then(|c| c.span), Some(span), "{answer}");
    }
}

fn header_line(line: &str) {
    let Ok((name, value)) = parse_header_line(line) else {
        return;
    };
    assert!(is_token(&name), "{line:?}: name {name:?}");
    assert_eq!(name.trim(), name);
    assert_eq!(value.trim(), value);
    let canonical = format!("{name}: {value}");
    assert_eq!(
        parse_header_line(&canonical),
        Ok((name, value)),
        "{canonical:?}"
    );
}

/// Fields of an IMF-fixdate, made valid below.
#[derive(Arbitrary, Debug)]
struct Date {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

fn built_date(date: Date) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let year = i64::from(date.year % 9999) + 1;
    let month = usize::from(date.month % 12);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let mut lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if leap {
        lengths[1] = 29;
    }
    let day = i64::from(date.day) % lengths[month] + 1;
    let (h, m, s) = (date.hour % 24, date.minute % 60, date.second % 60);
    let text = format!(
        "Sun, {day:02} {} {year:04} {h:02}:{m:02}:{s:02} GMT",
        MONTHS[month]
    );
    // Leap days before `y`, counted from year 1.
    let leaps = |y: i64| (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400;
    let days = 365 * (year - 1970) + leaps(year) - leaps(1970)
        + lengths[..month].iter().sum::<i64>()
        + day
        - 1;
    let want = days * 86_400 + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s);
    assert_eq!(parse_http_date(&text), Some(want), "{text}");
}

fn location_of(base: &str, location: &str) {
    let Some(resolved) = resolve_location(base, location) else {
        return;
    };
    let _ = same_origin(base, &resolved);
    let _ = is_downgrade(base, &resolved);
    if let Some((scheme, _)) = base.split_once("://") {
        let location = location.trim();
        let absolute = location
            .split_once(':')
            .is_some_and(|(s, _)| !s.is_empty() && !s.contains(['/', '?', '#']));
        if !absolute {
            assert!(
                resolved.starts_with(&format!("{scheme}://")),
                "{resolved:?}"
            );
        }
    }
}

fn redaction(url: &str) {
    let once = redact_url(url);
    assert_eq!(redact_url(&once), once, "{url:?}");
    if !url.contains(['@', '?', '#']) {
        assert_eq!(once, url);
    }
}
