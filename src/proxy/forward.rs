//! Which headers cross the proxy, each way (RFC 9110 §7.6.1: hop-by-hop fields and any named
//! in `Connection` stop here), whether a connection outlives its message (RFC 9112 §9.3),
//! and the content type of an answer that lacks one.

use hyper::header::{self, HeaderMap, HeaderName};

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

/// Fields the proxy sets itself, whatever the other side sent.
const OWN_REQUEST: [HeaderName; 2] = [header::HOST, header::CONTENT_LENGTH];
const OWN_RESPONSE: [HeaderName; 1] = [header::CONTENT_LENGTH];

/// Whether a `Connection` field of `headers` lists `token` (in any case).
pub fn connection_lists(headers: &HeaderMap, token: &[u8]) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// Whether the connection carries another message after the one with `headers`: for
/// HTTP/1.1 unless it says `close`, for HTTP/1.0 only if it says `keep-alive`.
pub fn persists(headers: &HeaderMap, http11: bool) -> bool {
    match http11 {
        true => !connection_lists(headers, b"close"),
        false => connection_lists(headers, b"keep-alive"),
    }
}

/// Whether field `name` of `headers` crosses the proxy: not hop-by-hop, not named by a
/// `Connection` field, not one of `own`.
fn crosses(headers: &HeaderMap, name: &HeaderName, own: &[HeaderName]) -> bool {
    !is_hop_by_hop(name.as_str())
        && !own.contains(name)
        && !connection_lists(headers, name.as_str().as_bytes())
}

/// Whether the client's field `name` (of its `headers`) goes upstream: an end-to-end field,
/// less `Host` (the upstream's is used) and framing.
pub fn forwards_request_field(headers: &HeaderMap, name: &HeaderName) -> bool {
    crosses(headers, name, &OWN_REQUEST)
}

/// Removes from the upstream's `headers` what does not go to the client: hop-by-hop fields,
/// those `Connection` names (first, while it is there to name them) and framing (the proxy
/// frames the body itself).
pub fn strip_response_fields(headers: &mut HeaderMap) {
    let named = |headers: &HeaderMap| {
        let name = headers
            .keys()
            .find(|name| connection_lists(headers, name.as_str().as_bytes()))?;
        Some(name.clone())
    };
    while let Some(name) = named(headers) {
        headers.remove(name);
    }
    let doomed = |headers: &HeaderMap| {
        let name = headers
            .keys()
            .find(|name| !crosses(headers, name, &OWN_RESPONSE))?;
        Some(name.clone())
    };
    while let Some(name) = doomed(headers) {
        headers.remove(name);
    }
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
        let mut headers = map(&[
            ("Content-Type", "video/mp4"),
            ("Connection", "keep-alive, X-Private"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("X-Private", "secret"),
            ("Content-Length", "10"),
            ("ETag", "\"a\""),
            ("Cache-Control", "max-age=60"),
        ]);
        strip_response_fields(&mut headers);
        assert_eq!(
            headers,
            map(&[
                ("Content-Type", "video/mp4"),
                ("ETag", "\"a\""),
                ("Cache-Control", "max-age=60")
            ])
        );
        let request = map(&[
            ("Host", "me"),
            ("Range", "bytes=0-1"),
            ("TE", "trailers"),
            ("Upgrade", "h2c"),
        ]);
        let kept: Vec<_> = request
            .keys()
            .filter(|name| forwards_request_field(&request, name))
            .collect();
        assert_eq!(kept, ["range"]);
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
