//! Reading a client's request head (HTTP/1.1, RFC 9112 §2-3) with hard limits, and the
//! checks that keep the proxy pinned to its upstream: origin-form targets only, no path that
//! could climb out of the upstream's base path.

use std::io::{self, BufRead};

use crate::http::is_token_char;

/// Longest request line or header line accepted.
pub const MAX_LINE: usize = 8 * 1024;
/// Most header fields accepted.
pub const MAX_HEADERS: usize = 100;
/// Largest request head accepted, all lines together.
pub const MAX_HEAD: usize = 64 * 1024;

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, as sent (case-sensitive, RFC 9110 §9.1).
    pub method: String,
    /// The origin-form target: path and query, as sent.
    pub target: String,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: String,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the connection stays open after this request (RFC 9112 §9.3).
    pub fn keep_alive(&self) -> bool {
        let tokens = self.header("connection").unwrap_or("").to_ascii_lowercase();
        let has = |t: &str| tokens.split(',').any(|x| x.trim() == t);
        if self.version == "HTTP/1.0" {
            has("keep-alive")
        } else {
            !has("close")
        }
    }
}

/// Why a request head was refused, with the status to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 400, 405, 414, 431 or 505.
    pub status: u16,
    /// A short reason for the log and the response body.
    pub reason: String,
}

fn refuse(status: u16, reason: impl Into<String>) -> Refusal {
    Refusal {
        status,
        reason: reason.into(),
    }
}

/// What reading a request produced.
#[derive(Debug)]
pub enum Read {
    /// A well-formed request.
    Request(Request),
    /// A malformed or unacceptable one: answer with the status, then close.
    Refused(Refusal),
    /// The client closed the connection (or was idle too long) before a request began.
    Closed,
}

/// Reads one request head from `input`.
pub fn read_request(input: &mut impl BufRead) -> io::Result<Read> {
    let mut total = 0;
    let mut line = Vec::new();
    // RFC 9112 §2.2: ignore empty lines before the request line.
    let request_line = loop {
        line.clear();
        match read_line(input, &mut line)? {
            LineRead::Eof if line.is_empty() => return Ok(Read::Closed),
            LineRead::Eof => return Ok(Read::Refused(refuse(400, "incomplete request"))),
            LineRead::TooLong => return Ok(Read::Refused(refuse(414, "request line too long"))),
            LineRead::Line => {}
        }
        total += line.len();
        if total > MAX_HEAD {
            return Ok(Read::Refused(refuse(400, "too many empty lines")));
        }
        if !line.is_empty() {
            break String::from_utf8_lossy(&line).into_owned();
        }
    };
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Ok(Read::Refused(refuse(400, "malformed request line")));
    };
    if method.is_empty() || !method.bytes().all(is_token_char) || target.is_empty() {
        return Ok(Read::Refused(refuse(400, "malformed request line")));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Ok(Read::Refused(refuse(
            505,
            "only HTTP/1.0 and HTTP/1.1 are spoken here",
        )));
    }
    let mut headers = Vec::new();
    loop {
        line.clear();
        match read_line(input, &mut line)? {
            LineRead::Eof => return Ok(Read::Refused(refuse(400, "incomplete request head"))),
            LineRead::TooLong => return Ok(Read::Refused(refuse(431, "header line too long"))),
            LineRead::Line => {}
        }
        total += line.len();
        if total > MAX_HEAD {
            return Ok(Read::Refused(refuse(431, "request head too large")));
        }
        if line.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return Ok(Read::Refused(refuse(431, "too many header fields")));
        }
        let text = String::from_utf8_lossy(&line);
        // RFC 9112 §5.1: no whitespace between name and colon; obsolete folding is refused.
        let Some((name, value)) = text.split_once(':') else {
            return Ok(Read::Refused(refuse(400, "malformed header field")));
        };
        if name.is_empty() || !name.bytes().all(is_token_char) {
            return Ok(Read::Refused(refuse(400, "malformed header field")));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let request = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        version: version.to_owned(),
        headers,
    };
    // A request body (Content-Length or chunked) has no place in a GET/HEAD proxy; refusing it
    // keeps the connection's framing unambiguous (no smuggling).
    let has_body = request.header("transfer-encoding").is_some()
        || request
            .header("content-length")
            .is_some_and(|v| v.trim() != "0");
    if has_body {
        return Ok(Read::Refused(refuse(
            400,
            "request bodies are not accepted",
        )));
    }
    Ok(Read::Request(request))
}

enum LineRead {
    Line,
    Eof,
    TooLong,
}

/// Reads up to CRLF (or a bare LF), without the terminator, at most `MAX_LINE` bytes.
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<LineRead> {
    loop {
        let available = match input.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(LineRead::Eof);
        }
        let (take, done) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        line.extend_from_slice(&available[..take]);
        input.consume(take);
        if line.len() > MAX_LINE + 2 {
            return Ok(LineRead::TooLong);
        }
        if done {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(LineRead::Line);
        }
    }
}

/// Checks an origin-form target and returns it as the path to append to the upstream base:
/// absolute-form (`http://other/`), authority-form and `*` are refused (this is not an open
/// proxy), and so is any path whose segments, once percent-decoded, are `.` or `..` or hide a
/// `/`, `\` or NUL, which could leave the base path at the upstream.
pub fn check_target(target: &str) -> Result<&str, Refusal> {
    if !target.starts_with('/') {
        return Err(refuse(
            400,
            "only origin-form request targets (/path) are accepted",
        ));
    }
    let path = target.split(['?', '#']).next().unwrap_or("");
    if target.contains('#') {
        return Err(refuse(400, "a fragment has no place in a request target"));
    }
    for segment in path.split('/') {
        let Some(decoded) = percent_decode(segment) else {
            return Err(refuse(400, "malformed percent-encoding in the path"));
        };
        if decoded == b"." || decoded == b".." {
            return Err(refuse(400, "dot segments are not accepted in the path"));
        }
        if decoded.iter().any(|&b| matches!(b, b'/' | b'\\' | 0)) {
            return Err(refuse(
                400,
                "encoded separators are not accepted in the path",
            ));
        }
    }
    if target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(refuse(400, "control characters in the request target"));
    }
    Ok(target)
}

fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Read {
        read_request(&mut io::BufReader::new(text.as_bytes())).unwrap()
    }

    #[test]
    fn reads_a_request_head() {
        let Read::Request(request) =
            read("\r\nGET /a/b?x=1 HTTP/1.1\r\nHost: h\r\nRange: bytes=0-9\r\n\r\n")
        else {
            panic!("not a request");
        };
        assert_eq!(request.method, "GET");
        assert_eq!(request.target, "/a/b?x=1");
        assert_eq!(request.header("range"), Some("bytes=0-9"));
        assert!(request.keep_alive());
    }

    #[test]
    fn refuses_malformed_and_oversized_heads() {
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_LINE + 10));
        let many: String = (0..MAX_HEADERS + 1)
            .map(|i| format!("X-{i}: y\r\n"))
            .collect();
        let cases = [
            ("GET /\r\n\r\n".to_owned(), 400),
            ("GET / HTTP/2.0\r\n\r\n".to_owned(), 505),
            ("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n".to_owned(), 400),
            ("GET / HTTP/1.1\r\nNoColon\r\n\r\n".to_owned(), 400),
            (long, 414),
            (format!("GET / HTTP/1.1\r\n{many}\r\n"), 431),
            (
                "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello".to_owned(),
                400,
            ),
            (
                "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned(),
                400,
            ),
            ("GET / HTTP/1.1\r\nHost: h\r\n".to_owned(), 400),
        ];
        for (text, status) in cases {
            match read(&text) {
                Read::Refused(refusal) => assert_eq!(refusal.status, status, "{text:?}"),
                other => panic!("{text:?} gave {other:?}"),
            }
        }
        assert!(matches!(read(""), Read::Closed));
    }

    #[test]
    fn keep_alive_follows_the_version_and_connection() {
        let request = |version: &str, connection: Option<&str>| Request {
            method: "GET".into(),
            target: "/".into(),
            version: version.into(),
            headers: connection
                .map(|c| vec![("Connection".into(), c.into())])
                .unwrap_or_default(),
        };
        assert!(request("HTTP/1.1", None).keep_alive());
        assert!(!request("HTTP/1.1", Some("close")).keep_alive());
        assert!(!request("HTTP/1.0", None).keep_alive());
        assert!(request("HTTP/1.0", Some("Keep-Alive")).keep_alive());
    }

    #[test]
    fn targets_stay_under_the_base() {
        for ok in [
            "/",
            "/a/b.zip",
            "/a/b?x=../y",
            "/a%20b",
            "/a/.hidden",
            "/a/..b",
            "/%7euser",
        ] {
            assert_eq!(check_target(ok), Ok(ok), "{ok}");
        }
        for bad in [
            "http://other.example/x",
            "other.example:443",
            "*",
            "/../etc/passwd",
            "/a/../../x",
            "/a/%2e%2e/x",
            "/a/%2E./x",
            "/./x",
            "/a%2f..%2f..%2fx",
            "/a%5c..%5cx",
            "/a%00b",
            "/a%zz",
            "/a#frag",
            "/a b",
        ] {
            assert!(check_target(bad).is_err(), "{bad}");
        }
    }
}
