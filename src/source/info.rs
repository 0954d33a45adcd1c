//! What `rangecat info` learns about a resource: one request (`GET bytes=0-0`), and a `HEAD`
//! too only when that answer lacks headers.

use ureq::http::{HeaderMap, StatusCode};

use super::file::{FileSource, path_of};
use super::{Error, HttpConfig, HttpSource, Source, is_remote};
use crate::http::content_range::parse_content_range;
use crate::http::{content_length, header};

/// What a server (or the file system) says about a resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    /// The URL after redirects (`file://` and an absolute path for a local file).
    pub url: String,
    /// The complete length, when known.
    pub length: Option<u64>,
    /// Whether a one-byte range request got a valid 206 (starting at that byte).
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

/// Probes `location`: an `http(s)://` or `s3://` URL, a `file://` URL or a path.
pub fn info(location: &str, config: &HttpConfig) -> Result<Info, Error> {
    if is_remote(location) {
        return probe_http(location, config);
    }
    let path = path_of(location)?;
    let source = FileSource::open(&path)?;
    let absolute = std::path::absolute(&path).unwrap_or(path);
    Ok(Info {
        url: format!("file://{}", absolute.display()),
        length: source.len(),
        ranges: true,
        ..Info::default()
    })
}

fn probe_http(url: &str, config: &HttpConfig) -> Result<Info, Error> {
    let mut source = HttpSource::new(url, config)?;
    let response = source.get_first_byte()?;
    let status = response.status();
    let content_range =
        header(response.headers(), "content-range").and_then(|value| parse_content_range(&value));
    let (length, ranges) = match status {
        StatusCode::PARTIAL_CONTENT => match &content_range {
            // One that runs on past the byte asked for (busybox httpd's answer to `0-0`)
            // still serves ranges: a fetch takes the byte and drops the rest.
            Some(cr) if cr.span.as_ref().is_some_and(|span| span.start == 0) => (cr.len, true),
            _ => (None, false),
        },
        StatusCode::RANGE_NOT_SATISFIABLE => (content_range.and_then(|cr| cr.len), true),
        StatusCode::OK => (content_length(response.headers()), false),
        _ => return Err(source.status_error(response)),
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
