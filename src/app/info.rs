//! `rangecat info URL`: length, whether ranges work and are advertised, type, validators.
//! One request (`GET bytes=0-0`); a `HEAD` too only when that answer lacks headers.

use std::io::Write;

use humansize::{BINARY, format_size};
use ureq::http::{HeaderMap, StatusCode};

use crate::cli::{InfoArgs, NetArgs, ReportArgs};
use crate::error::Error;
use crate::source::Source;
use crate::source::content_range::parse_content_range;
use crate::source::file::{FileSource, path_of};
use crate::source::http::{HttpSource, content_length, header};
use crate::transfer::write_error;

/// What `info` reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    /// The URL after redirects.
    pub url: String,
    /// The complete length, when known.
    pub length: Option<u64>,
    /// Whether a one-byte range request got a valid 206.
    pub ranges: bool,
    /// The `Accept-Ranges` header, as sent.
    pub accept_ranges: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `ETag`, as sent.
    pub etag: Option<String>,
    /// `Last-Modified`.
    pub last_modified: Option<String>,
}

/// Runs the info command.
pub fn run(args: &InfoArgs, net: &NetArgs, report: &ReportArgs) -> anyhow::Result<()> {
    let info = if crate::source::is_http(&args.url) {
        probe_http(&args.url, net, report)?
    } else {
        let path = path_of(&args.url)?;
        let source = FileSource::open(&path)?;
        let absolute = std::path::absolute(&path).unwrap_or(path);
        Info {
            url: format!("file://{}", absolute.display()),
            length: source.len(),
            ranges: true,
            ..Info::default()
        }
    };
    let text = if args.json {
        format!("{}\n", to_json(&info))
    } else {
        to_text(&info)
    };
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(write_error)
}

fn probe_http(url: &str, net: &NetArgs, report: &ReportArgs) -> anyhow::Result<Info> {
    let mut source = HttpSource::new(url, &super::http_options(net, report)?)?;
    let response = source.get_first_byte()?;
    let status = response.status();
    let content_range =
        header(response.headers(), "content-range").and_then(|value| parse_content_range(&value));
    let (length, ranges) = match status {
        StatusCode::PARTIAL_CONTENT => match &content_range {
            Some(cr) if cr.span == Some(0..1) => (cr.len, true),
            _ => (None, false),
        },
        StatusCode::RANGE_NOT_SATISFIABLE => (content_range.and_then(|cr| cr.len), true),
        StatusCode::OK => (content_length(response.headers()), false),
        _ => {
            return Err(Error::Status {
                code: status.as_u16(),
                reason: status.canonical_reason().unwrap_or("").to_owned(),
                url: source.final_url().to_owned(),
            }
            .into());
        }
    };
    let mut info = Info {
        url: source.final_url().to_owned(),
        length,
        ranges,
        ..Info::default()
    };
    fill_headers(&mut info, response.headers());
    // A 206 often omits Accept-Ranges (nginx sends it only with 200): ask HEAD for the rest.
    // A 200 already carries everything a HEAD would.
    if status == StatusCode::PARTIAL_CONTENT
        && (info.accept_ranges.is_none() || info.content_type.is_none())
    {
        drop(response);
        if let Ok(head) = source.head()
            && head.status().is_success()
        {
            fill_headers(&mut info, head.headers());
            if info.length.is_none() {
                info.length = content_length(head.headers());
            }
        }
    }
    Ok(info)
}

fn fill_headers(info: &mut Info, headers: &HeaderMap) {
    let fields = [
        (&mut info.accept_ranges, "accept-ranges"),
        (&mut info.content_type, "content-type"),
        (&mut info.etag, "etag"),
        (&mut info.last_modified, "last-modified"),
    ];
    for (field, name) in fields {
        if field.is_none() {
            *field = header(headers, name);
        }
    }
}

/// `key: value` lines, in a fixed order.
pub fn to_text(info: &Info) -> String {
    let none = || "none".to_owned();
    let length = match info.length {
        Some(len) => format!("{len} ({})", format_size(len, BINARY)),
        None => "unknown".into(),
    };
    let etag = match &info.etag {
        Some(etag) if etag.starts_with("W/") => format!("{etag} (weak)"),
        Some(etag) => format!("{etag} (strong)"),
        None => none(),
    };
    let lines = [
        ("url", info.url.clone()),
        ("length", length),
        ("ranges", if info.ranges { "yes" } else { "no" }.into()),
        (
            "accept-ranges",
            info.accept_ranges.clone().unwrap_or_else(none),
        ),
        (
            "content-type",
            info.content_type.clone().unwrap_or_else(none),
        ),
        ("etag", etag),
        (
            "last-modified",
            info.last_modified.clone().unwrap_or_else(none),
        ),
    ];
    lines
        .iter()
        .map(|(key, value)| format!("{key}: {value}\n"))
        .collect()
}

/// One JSON object.
pub fn to_json(info: &Info) -> String {
    serde_json::json!({
        "url": info.url,
        "length": info.length,
        "ranges": info.ranges,
        "accept_ranges": info.accept_ranges,
        "content_type": info.content_type,
        "etag": info.etag,
        "etag_weak": info.etag.as_ref().map(|etag| etag.starts_with("W/")),
        "last_modified": info.last_modified,
    })
    .to_string()
}
