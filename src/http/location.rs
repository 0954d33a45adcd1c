//! Redirects (RFC 9110 §10.2.2 Location, §15.4): the target of a `Location` resolved against
//! the request's URL, origins (scheme, host, port), and whether a redirect leaves https.

use ureq::http::Uri;

/// `location` resolved against `base` (RFC 3986 §5.2, without dot-segment removal): an
/// absolute URL as it is, `//host/...` with the base's scheme, `/path` on the base's origin,
/// `?query` on the base's path, anything else beside the base's last path segment.
pub fn resolve_location(base: &str, location: &str) -> Option<String> {
    let location = location.trim();
    if has_scheme(location) {
        return Some(location.to_owned());
    }
    let (scheme, rest) = base.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let origin = &base[..scheme.len() + 3 + authority_end];
    let path_and_query = rest[authority_end..].split('#').next().unwrap_or("");
    let path = path_and_query.split('?').next().unwrap_or("");
    Some(if let Some(network_path) = location.strip_prefix("//") {
        format!("{scheme}://{network_path}")
    } else if location.starts_with('/') {
        format!("{origin}{location}")
    } else if location.starts_with('?') {
        format!("{origin}{path}{location}")
    } else {
        let dir = &path[..path.rfind('/').map_or(0, |at| at + 1)];
        let dir = if dir.is_empty() { "/" } else { dir };
        format!("{origin}{dir}{location}")
    })
}

/// Whether `text` starts with a URI scheme (`http:`, `HTTPS:`, ...).
fn has_scheme(text: &str) -> bool {
    match text.split_once(':') {
        Some((scheme, _)) => {
            let mut chars = scheme.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        None => false,
    }
}

/// Scheme, host and port, lower case, the port made explicit (RFC 6454 §4).
fn origin(url: &str) -> Option<(String, String, u16)> {
    let uri: Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let authority = uri.authority()?;
    let port = authority.port_u16().or(match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some((scheme, authority.host().to_ascii_lowercase(), port))
}

/// Whether `a` and `b` have the same origin; URLs that do not parse never do.
pub fn same_origin(a: &str, b: &str) -> bool {
    match (origin(a), origin(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Whether a redirect from `from` to `to` leaves https for plain http.
pub fn is_downgrade(from: &str, to: &str) -> bool {
    super::is_https(from) && super::is_plain_http(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_the_request_url() {
        let base = "http://a.example:8080/dir/file.bin?x=1#f";
        let cases = [
            ("https://b.example/new", "https://b.example/new"),
            ("HTTP://b.example/new", "HTTP://b.example/new"),
            ("//cdn.example/x", "http://cdn.example/x"),
            ("/root.bin", "http://a.example:8080/root.bin"),
            ("other.bin", "http://a.example:8080/dir/other.bin"),
            (
                "sub/other.bin?y=2",
                "http://a.example:8080/dir/sub/other.bin?y=2",
            ),
            ("?y=2", "http://a.example:8080/dir/file.bin?y=2"),
        ];
        for (location, want) in cases {
            assert_eq!(
                resolve_location(base, location).as_deref(),
                Some(want),
                "{location}"
            );
        }
        assert_eq!(
            resolve_location("http://h", "x").as_deref(),
            Some("http://h/x")
        );
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let cases = [
            ("http://h/a", "http://h:80/b", true),
            ("http://H/a", "http://h/b", true),
            ("https://h/a", "https://h:443/b", true),
            ("http://h/a", "https://h/a", false),
            ("http://h/a", "http://h:81/a", false),
            ("http://127.0.0.1:9/a", "http://127.0.0.2:9/a", false),
            ("http://h/a", "not a url", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(same_origin(a, b), want, "{a} {b}");
        }
        assert!(is_downgrade("https://h/a", "http://h/a"));
        assert!(is_downgrade("HTTPS://h/a", "http://h/a"));
        assert!(!is_downgrade("http://h/a", "https://h/a"));
        assert!(!is_downgrade("https://h/a", "https://g/a"));
    }
}
