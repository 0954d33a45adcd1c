//! Which headers cross the proxy, each way (RFC 9110 §7.6.1: hop-by-hop fields and any named
//! in `Connection` stop here), whether a connection outlives its message (RFC 9112 §9.3),
//! and the content type of an answer that lacks one.

use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Hop-by-hop fields: they describe one connection, never the resource.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
];

/// Whether `lower_name` (a lower-case field name) is hop-by-hop by definition; fields that a
/// `Connection` field names are hop-by-hop too.
pub fn is_hop_by_hop(lower_name: &str) -> bool {
    HOP_BY_HOP.contains(&lower_name)
}

/// Fields the proxy sets itself, whatever the other side sent: in a request, and in an answer
/// (the proxy frames the body itself).
const OWN_REQUEST: [HeaderName; 2] = [header::HOST, header::CONTENT_LENGTH];
const OWN_ANSWER: &str = "content-length";

/// The tokens of the comma-separated list `value`, trimmed (empty ones too).
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(<[u8]>::trim_ascii)
}

/// Whether the comma-separated lists `values` hold `token` (in any case).
fn lists<'a>(mut values: impl Iterator<Item = &'a [u8]>, token: &[u8]) -> bool {
    values.any(|value| tokens(value).any(|t| t.eq_ignore_ascii_case(token)))
}

/// Whether `Connection` values name any field, beyond the options `close` and `keep-alive`.
fn names_fields<'a>(mut values: impl Iterator<Item = &'a [u8]>) -> bool {
    values.any(|value| {
        tokens(value).any(|t| {
            !t.is_empty()
                && !t.eq_ignore_ascii_case(b"close")
                && !t.eq_ignore_ascii_case(b"keep-alive")
        })
    })
}

/// Whether a `Connection` field of `headers` lists `token` (in any case).
pub fn connection_lists(headers: &HeaderMap, token: &[u8]) -> bool {
    lists(connection_values(headers), token)
}

fn connection_values(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    let values = headers.get_all(header::CONNECTION);
    values.into_iter().map(HeaderValue::as_bytes)
}

/// Whether the connection carries another message after the one with `headers`: for
/// HTTP/1.1 unless it says `close`, for HTTP/1.0 only if it says `keep-alive`.
pub fn persists(headers: &HeaderMap, http11: bool) -> bool {
    persists_if(|token| connection_lists(headers, token), http11)
}

fn persists_if(connection_lists: impl Fn(&[u8]) -> bool, http11: bool) -> bool {
    match http11 {
        true => !connection_lists(b"close"),
        false => connection_lists(b"keep-alive"),
    }
}

/// A client's request fields, and which of them go upstream: the end-to-end ones (not
/// hop-by-hop, not named by a `Connection` field), less `Host` (the upstream's is used) and
/// framing.
pub struct RequestFields<'a> {
    headers: &'a HeaderMap,
    /// Whether its `Connection` fields name any field (seldom), looked at once.
    connection_names: bool,
}

impl<'a> RequestFields<'a> {
    /// The fields of a request.
    pub fn new(headers: &'a HeaderMap) -> Self {
        let connection_names = names_fields(connection_values(headers));
        RequestFields {
            headers,
            connection_names,
        }
    }

    /// Whether a `Connection` field names the field `name`.
    fn named(&self, name: &str) -> bool {
        self.connection_names && connection_lists(self.headers, name.as_bytes())
    }

    /// Whether the field `name` goes upstream.
    pub fn forwards(&self, name: &HeaderName) -> bool {
        !is_hop_by_hop(name.as_str()) && !OWN_REQUEST.contains(name) && !self.named(name.as_str())
    }
}

/// The fields of an upstream answer's head as httparse read them, before any is taken into
/// a `HeaderMap`: what crosses to the client is decided here.
pub(crate) struct AnswerFields<'a, 'h> {
    pub(crate) fields: &'a [httparse::Header<'h>],
    /// Whether its `Connection` fields name any field (seldom), looked at once.
    connection_names: bool,
}

impl<'a, 'h> AnswerFields<'a, 'h> {
    pub(crate) fn new(fields: &'a [httparse::Header<'h>]) -> Self {
        let connection_names = names_fields(values_named(fields, "connection"));
        AnswerFields {
            fields,
            connection_names,
        }
    }

    /// The values of the fields named `name` (in any case).
    pub(crate) fn values(&self, name: &str) -> impl Iterator<Item = &'h [u8]> {
        values_named(self.fields, name)
    }

    /// [`persists`] for this answer.
    pub(crate) fn persists(&self, http11: bool) -> bool {
        persists_if(|token| lists(self.values("connection"), token), http11)
    }

    /// Whether a `Connection` field names the field `name`.
    fn named(&self, name: &str) -> bool {
        self.connection_names && lists(self.values("connection"), name.as_bytes())
    }

    /// Whether the field `name` goes to the client: not hop-by-hop, not named by a
    /// `Connection` field, not `Content-Length`.
    pub(crate) fn crosses(&self, name: &str) -> bool {
        !HOP_BY_HOP.iter().any(|hop| hop.eq_ignore_ascii_case(name))
            && !OWN_ANSWER.eq_ignore_ascii_case(name)
            && !self.named(name)
    }
}

/// The values of the `fields` named `name` (in any case).
fn values_named<'h>(fields: &[httparse::Header<'h>], name: &str) -> impl Iterator<Item = &'h [u8]> {
    fields
        .iter()
        .filter(move |f| f.name.eq_ignore_ascii_case(name))
        .map(|f| f.value)
}

/// The content type for `path` from its extension, for an answer without one; HLS playlists
/// get `application/vnd.apple.mpegurl` (RFC 8216), unknown types `application/octet-stream`.
pub fn content_type_for(path: &str) -> &'static str {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let name = path.rsplit('/').next().unwrap_or("");
    let extension = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => return "application/octet-stream",
    };
    match extension.as_str() {
        "m3u8" => "application/vnd.apple.mpegurl",
        "m3u" => "audio/x-mpegurl",
        "mpd" => "application/dash+xml",
        "ts" => "video/mp2t",
        "m4s" => "video/iso.segment",
        "mp4" | "m4v" => "video/mp4",
        "m4a" => "audio/mp4",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "mov" => "video/quicktime",
        "mp3" => "audio/mpeg",
        "aac" => "audio/aac",
        "ogg" | "oga" => "audio/ogg",
        "ogv" => "video/ogg",
        "wav" => "audio/wav",
        "flac" => "audio/flac",
        "vtt" => "text/vtt",
        "srt" => "application/x-subrip",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "js" | "mjs" => "text/javascript",
        "json" => "application/json",
        "xml" => "application/xml",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "md" => "text/markdown",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        "ico" => "image/vnd.microsoft.icon",
        "pdf" => "application/pdf",
        "wasm" => "application/wasm",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "bz2" => "application/x-bzip2",
        "xz" => "application/x-xz",
        "zst" => "application/zstd",
        "7z" => "application/x-7z-compressed",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(fields: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in fields {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn hop_by_hop_fields_and_those_connection_names_stop_here() {
        let answer = [
            ("Content-Type", "video/mp4"),
            ("Connection", "keep-alive, X-Private"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("X-Private", "secret"),
            ("Content-Length", "10"),
            ("ETag", "\"a\""),
            ("Cache-Control", "max-age=60"),
            ("PROXY-Connection", "keep-alive"),
        ];
        let fields: Vec<_> = answer
            .iter()
            .map(|(name, value)| httparse::Header {
                name,
                value: value.as_bytes(),
            })
            .collect();
        let fields = AnswerFields::new(&fields);
        let crossing: Vec<_> = answer
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| fields.crosses(name))
            .collect();
        assert_eq!(crossing, ["Content-Type", "ETag", "Cache-Control"]);
        let request = map(&[
            ("Host", "me"),
            ("Range", "bytes=0-1"),
            ("TE", "trailers"),
            ("Upgrade", "h2c"),
            ("Connection", "keep-alive, x-mine"),
            ("X-Mine", "1"),
            ("If-Range", "\"a\""),
        ]);
        let kept: Vec<_> = request
            .keys()
            .filter(|name| RequestFields::new(&request).forwards(name))
            .collect();
        assert_eq!(kept, ["range", "if-range"]);
    }

    #[test]
    fn content_types_come_from_the_extension() {
        let cases = [
            ("/live/index.m3u8", "application/vnd.apple.mpegurl"),
            ("/live/INDEX.M3U8?token=1", "application/vnd.apple.mpegurl"),
            ("/v/seg-1.ts", "video/mp2t"),
            ("/a.mp4", "video/mp4"),
            ("/a.tar.gz", "application/gzip"),
            ("/noext", "application/octet-stream"),
            ("/.hidden", "application/octet-stream"),
            ("/dir.d/file", "application/octet-stream"),
            ("/x.unknown", "application/octet-stream"),
        ];
        for (path, want) in cases {
            assert_eq!(content_type_for(path), want, "{path}");
        }
    }
}
