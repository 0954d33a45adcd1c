//! Which headers cross the proxy, each way (RFC 9110 §7.6.1: hop-by-hop fields and any named
//! in `Connection` stop here), and the content type of an answer that lacks one.

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
const PROXY_OWNED_REQUEST: [&str; 2] = ["host", "content-length"];
const PROXY_OWNED_RESPONSE: [&str; 1] = ["content-length"];

/// The end-to-end fields of `headers`: hop-by-hop ones removed, and any that a `Connection`
/// field names (RFC 9110 §7.6.1).
/// Values are any bytes (`&str` or `&[u8]`): a field value may carry non-ASCII octets, which
/// pass as they came.
pub fn end_to_end<'a, V: AsRef<[u8]>>(
    headers: impl Iterator<Item = (&'a str, V)> + Clone,
) -> Vec<(&'a str, V)> {
    let named: Vec<String> = headers
        .clone()
        .filter(|(name, _)| name.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, value)| {
            String::from_utf8_lossy(value.as_ref())
                .split(',')
                .map(|token| token.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .filter(|token| !token.is_empty())
        .collect();
    headers
        .filter(|(name, _)| {
            let lower = name.to_ascii_lowercase();
            !HOP_BY_HOP.contains(&lower.as_str()) && !named.contains(&lower)
        })
        .collect()
}

/// The client's fields to send upstream: end-to-end ones, less `Host` (the upstream's is
/// used) and framing fields.
pub fn request_headers<'a, V: AsRef<[u8]>>(
    headers: impl Iterator<Item = (&'a str, V)> + Clone,
) -> Vec<(&'a str, V)> {
    end_to_end(headers)
        .into_iter()
        .filter(|(name, _)| !PROXY_OWNED_REQUEST.contains(&name.to_ascii_lowercase().as_str()))
        .collect()
}

/// The upstream's fields to send the client: end-to-end ones, less framing (the proxy frames
/// the body itself).
pub fn response_headers<'a, V: AsRef<[u8]>>(
    headers: impl Iterator<Item = (&'a str, V)> + Clone,
) -> Vec<(&'a str, V)> {
    end_to_end(headers)
        .into_iter()
        .filter(|(name, _)| !PROXY_OWNED_RESPONSE.contains(&name.to_ascii_lowercase().as_str()))
        .collect()
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

    #[test]
    fn hop_by_hop_fields_and_those_connection_names_stop_here() {
        let headers = [
            ("Content-Type", "video/mp4"),
            ("Connection", "keep-alive, X-Private"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("X-Private", "secret"),
            ("Content-Length", "10"),
            ("ETag", "\"a\""),
            ("Cache-Control", "max-age=60"),
        ];
        let kept = response_headers(headers.iter().map(|(n, v)| (*n, *v)));
        assert_eq!(
            kept,
            [
                ("Content-Type", "video/mp4"),
                ("ETag", "\"a\""),
                ("Cache-Control", "max-age=60")
            ]
        );
        let request = [
            ("Host", "me"),
            ("Range", "bytes=0-1"),
            ("TE", "trailers"),
            ("Upgrade", "h2c"),
        ];
        let kept = request_headers(request.iter().map(|(n, v)| (*n, *v)));
        assert_eq!(kept, [("Range", "bytes=0-1")]);
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
