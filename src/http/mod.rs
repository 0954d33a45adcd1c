//! HTTP details shared by the sources, the proxy and the command line: token characters
//! (RFC 9110 §5.6.2), header lookups, `Content-Length`, `Content-Range` and `Range`
//! ([`ContentRange`]), HTTP dates, reason phrases, and the proxy the environment names for a
//! URL, redirect targets and origins, URLs with their secrets redacted ([`redact_url`]), the
//! certificates that https trusts ([`CaBundle`]), and the trust and time limits of every
//! request ([`Transport`]).
//!
//! ```
//! use rangecat::http::{ContentRange, parse_content_range};
//!
//! let answer = parse_content_range("bytes 0-99/1000").unwrap();
//! assert_eq!(answer, ContentRange { span: Some(0..100), len: Some(1000) });
//! assert!(rangecat::http::is_token("X-Request-Id"));
//! ```

pub(crate) mod content_range;
pub(crate) mod date;
pub(crate) mod location;
pub(crate) mod proxy_env;
pub(crate) mod redact;
pub(crate) mod tls;
mod transport;
pub(crate) mod validators;

use std::fmt;

pub use content_range::{ContentRange, parse_content_range};
pub use location::{is_downgrade, resolve_location, same_origin};
pub use redact::redact_url;
pub use tls::{CaBundle, TlsError};
pub use transport::Transport;

use ureq::http::{HeaderMap, StatusCode};

/// Whether `url` is an `https://` URL (the scheme in any case).
pub fn is_https(url: &str) -> bool {
    has_scheme(url, "https://")
}

/// Whether `url` is a plain `http://` URL (the scheme in any case).
pub fn is_plain_http(url: &str) -> bool {
    has_scheme(url, "http://")
}

fn has_scheme(url: &str, scheme: &str) -> bool {
    url.get(..scheme.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
}

/// Whether `b` may appear in a token: a method or a field name (RFC 9110 §5.6.2).
pub fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether `text` is a non-empty token (RFC 9110 §5.6.2).
pub fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(is_token_char)
}

/// The trimmed value of header `name`, when it is text.
pub fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim().to_owned())
}

/// `Content-Length`, unless the body is chunked (then the length is unknown, RFC 9112 §6.3).
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    if headers.contains_key("transfer-encoding") {
        return None;
    }
    header(headers, "content-length").and_then(|value| value.parse().ok())
}

/// The reason phrase of `status` (RFC 9110 §15), `Unknown` for a code it does not define.
pub fn reason(status: u16) -> &'static str {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown")
}

/// A `Name: value` header line that is not one (for `-H`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderLineError {
    /// The line as given.
    pub line: String,
}

impl fmt::Display for HeaderLineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid header '{}': expected 'Name: value'", self.line)
    }
}

impl std::error::Error for HeaderLineError {}

/// Splits `Name: value` into its trimmed name and value; the name must be a token.
pub fn parse_header_line(line: &str) -> Result<(String, String), HeaderLineError> {
    match line.split_once(':') {
        Some((name, value)) if is_token(name.trim()) => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(HeaderLineError {
            line: line.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_parse_as_name_and_value() {
        assert_eq!(
            parse_header_line("Authorization: Bearer a:b").unwrap(),
            ("Authorization".into(), "Bearer a:b".into())
        );
        assert_eq!(
            parse_header_line("X-Empty:").unwrap(),
            ("X-Empty".into(), "".into())
        );
        for bad in ["no colon", ": value", "Bad Name: x"] {
            assert!(parse_header_line(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reasons_and_tokens() {
        assert_eq!(reason(206), "Partial Content");
        assert_eq!(reason(599), "Unknown");
        assert!(is_token("GET"));
        assert!(!is_token("GE T"));
        assert!(!is_token(""));
    }
}
