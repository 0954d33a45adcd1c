//! The heads of an exchange with the upstream: the request written in one piece (nothing
//! added but `Host`), the answer's head parsed with httparse (as hyper parses it), and how
//! its body is framed (RFC 9112 §6.3).

use std::io;

use bytes::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, StatusCode, Uri};

use crate::proxy::forward::AnswerFields;

/// Most fields in an answer's head (hyper's client allows 100 too).
const MAX_FIELDS: usize = 100;

/// How an answer's body ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body (HEAD, 1xx, 204, 304).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the upstream closes the connection.
    UntilClose,
}

/// An answer's head.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) status: StatusCode,
    /// The fields that go to the client (see `forward::AnswerFields::crosses`).
    pub(crate) headers: HeaderMap,
    pub(crate) framing: Framing,
    /// The `Content-Length` the answer gave, unless it is chunked: also for a HEAD, where it
    /// is the resource's length and frames nothing.
    pub(crate) length: Option<u64>,
    /// Whether the connection may carry another request once the body is read.
    pub(crate) keep_alive: bool,
}

/// `METHOD target HTTP/1.1`, `Host: host`, then the fields of `headers` that `forward` lets
/// through.
pub(crate) fn request_bytes(
    method: &Method,
    target: &str,
    host: &str,
    headers: &HeaderMap,
    forward: &(dyn Fn(&HeaderName) -> bool + Sync),
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + target.len() + 64 * headers.len());
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers.iter().filter(|(name, _)| forward(name)) {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The `Host` field for `url`: its host, and its port unless the scheme's default.
pub(crate) fn host_field(url: &Uri) -> String {
    let host = url.host().unwrap_or("");
    let default = match url.scheme_str() {
        Some("https") => 443,
        _ => 80,
    };
    match url.port_u16() {
        Some(port) if port != default => format!("{host}:{port}"),
        _ => host.to_owned(),
    }
}

/// The head at the start of `buf`, and its length; `None` until all of it is there. Interim
/// answers (1xx but 101) are skipped: `skipped` grows by their length.
pub(crate) fn parse(buf: &[u8], method: &Method) -> io::Result<Option<(Head, usize)>> {
    let mut offset = 0;
    loop {
        let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
        let mut response = httparse::Response::new(&mut fields);
        let len = match response.parse(&buf[offset..]) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(err) => return Err(invalid(format!("a malformed answer head: {err}"))),
        };
        let code = response.code.unwrap_or(0);
        if code == 101 {
            return Err(invalid("an upgrade (101) nobody asked for".into()));
        }
        if (100..200).contains(&code) {
            offset += len;
            continue;
        }
        let status = StatusCode::from_u16(code).map_err(|_| invalid(format!("status {code}")))?;
        let fields = AnswerFields::new(response.headers);
        let (framing, definite) = framing(&fields, status, method)?;
        let length = match framing {
            Framing::Length(n) => Some(n),
            Framing::Empty if fields.values("transfer-encoding").next().is_none() => {
                declared_length(&fields)
            }
            _ => None,
        };
        let keep_alive = definite && fields.persists(response.version == Some(1));
        // The values share one copy of the head rather than one allocation each.
        let head = &buf[offset..offset + len];
        let base = head.as_ptr() as usize;
        let text = Bytes::copy_from_slice(head);
        let mut headers = HeaderMap::with_capacity(fields.fields.len());
        for field in fields
            .fields
            .iter()
            .filter(|field| fields.crosses(field.name))
        {
            let name = HeaderName::from_bytes(field.name.as_bytes())
                .map_err(|_| invalid(format!("a field name {:?}", field.name)))?;
            let start = field.value.as_ptr() as usize - base;
            let value = text.slice(start..start + field.value.len());
            let value = HeaderValue::from_maybe_shared(value)
                .map_err(|_| invalid(format!("the value of {name}")))?;
            headers.append(name, value);
        }
        let head = Head {
            status,
            headers,
            framing,
            length,
            keep_alive,
        };
        return Ok(Some((head, offset + len)));
    }
}

/// The body's framing, and whether it is unambiguous enough to read another answer after
/// (RFC 9112 §6.3: with both `Transfer-Encoding` and `Content-Length`, the connection
/// closes after the answer).
fn framing(
    fields: &AnswerFields,
    status: StatusCode,
    method: &Method,
) -> io::Result<(Framing, bool)> {
    if method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok((Framing::Empty, true));
    }
    let mut codings = fields.values("transfer-encoding").peekable();
    if codings.peek().is_some() {
        let last = codings
            .flat_map(|v| v.split(|&b| b == b','))
            .map(<[u8]>::trim_ascii)
            .filter(|coding| !coding.is_empty())
            .last();
        let chunked = last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"));
        let definite = chunked && fields.values("content-length").next().is_none();
        let framing = if chunked {
            Framing::Chunked
        } else {
            Framing::UntilClose
        };
        return Ok((framing, definite));
    }
    let mut length = None;
    for value in fields
        .values("content-length")
        .flat_map(|v| v.split(|&b| b == b','))
    {
        let value = value.trim_ascii();
        let parsed = (!value.is_empty() && value.iter().all(u8::is_ascii_digit))
            .then(|| std::str::from_utf8(value).ok()?.parse::<u64>().ok())
            .flatten();
        match (parsed, length) {
            (Some(n), None) => length = Some(n),
            (Some(n), Some(seen)) if n == seen => {}
            _ => return Err(invalid("an invalid Content-Length".into())),
        }
    }
    Ok(match length {
        Some(n) => (Framing::Length(n), true),
        None => (Framing::UntilClose, false),
    })
}

/// The first `Content-Length` of an answer without a body, if it is a number: it tells the
/// client the resource's length and frames nothing, so it is taken as it comes.
fn declared_length(fields: &AnswerFields) -> Option<u64> {
    let value = fields.values("content-length").next()?;
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

/// The framing of the answer whose head starts `buf`, and the head's length (for the fuzz
/// target); `None` until all of it is there.
pub fn answer_framing(buf: &[u8], head_request: bool) -> io::Result<Option<(Framing, usize)>> {
    let method = if head_request {
        Method::HEAD
    } else {
        Method::GET
    };
    Ok(parse(buf, &method)?.map(|(head, len)| (head.framing, len)))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str, method: &Method) -> io::Result<Option<(Head, usize)>> {
        parse(text.as_bytes(), method)
    }

    #[test]
    fn framing_follows_rfc_9112_section_6_3() {
        let get = &Method::GET;
        let cases = [
            (
                "HTTP/1.1 206 OK\r\nContent-Length: 10\r\n\r\n",
                Framing::Length(10),
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n",
                Framing::Length(7),
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                Framing::Chunked,
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n",
                Framing::Chunked,
                false,
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                Framing::UntilClose,
                false,
            ),
            ("HTTP/1.1 200 OK\r\n\r\n", Framing::UntilClose, false),
            (
                "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
                Framing::Empty,
                true,
            ),
            ("HTTP/1.1 204 No Content\r\n\r\n", Framing::Empty, true),
            (
                "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n",
                Framing::Length(3),
                false,
            ),
            (
                "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\n",
                Framing::Length(3),
                true,
            ),
            (
                "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\n",
                Framing::Length(3),
                false,
            ),
        ];
        for (text, framing, keep_alive) in cases {
            let (parsed, len) = head(text, get).unwrap().unwrap();
            assert_eq!(len, text.len(), "{text:?}");
            assert_eq!(parsed.framing, framing, "{text:?}");
            assert_eq!(parsed.keep_alive, keep_alive, "{text:?}");
        }
        let (parsed, _) = head(
            "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
            &Method::HEAD,
        )
        .unwrap()
        .unwrap();
        assert_eq!(parsed.framing, Framing::Empty);
    }

    #[test]
    fn interim_answers_are_skipped_and_partial_heads_wait() {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
                    HTTP/1.1 200 OK\r\nContent-Length: 2\r\nETag: \"x\"\r\n\r\nhi";
        let (parsed, len) = head(text, &Method::GET).unwrap().unwrap();
        assert_eq!(&text[len..], "hi");
        assert_eq!(parsed.status, 200);
        assert_eq!(parsed.headers["etag"], "\"x\"");
        assert!(!parsed.headers.contains_key("link"));
        assert!(
            head("HTTP/1.1 200 OK\r\nContent-Le", &Method::GET)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn only_the_fields_that_cross_are_kept_and_the_length_is_told_apart() {
        let text = "HTTP/1.1 206 Partial Content\r\nConnection: keep-alive, X-Hop\r\n\
                    X-Hop: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 10\r\n\
                    Content-Range: bytes 0-9/100\r\nETag: \"e\"\r\n\r\n";
        let (parsed, _) = head(text, &Method::GET).unwrap().unwrap();
        let names: Vec<_> = parsed.headers.keys().map(|name| name.as_str()).collect();
        assert_eq!(names, ["content-range", "etag"]);
        assert_eq!(
            (parsed.framing, parsed.length),
            (Framing::Length(10), Some(10))
        );
        assert!(parsed.keep_alive);
        // A HEAD's Content-Length is the resource's length; it frames nothing.
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
        let (parsed, _) = head(text, &Method::HEAD).unwrap().unwrap();
        assert_eq!((parsed.framing, parsed.length), (Framing::Empty, Some(100)));
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        let (parsed, _) = head(text, &Method::GET).unwrap().unwrap();
        assert_eq!((parsed.framing, parsed.length), (Framing::Chunked, None));
        assert!(parsed.headers.is_empty());
    }

    #[test]
    fn heads_of_up_to_a_hundred_fields_are_read() {
        let with_fields = |n: usize| {
            let fields: String = (0..n).map(|i| format!("X-Field-{i}: {i}\r\n")).collect();
            format!("HTTP/1.1 200 OK\r\n{fields}Content-Length: 0\r\n\r\n")
        };
        // Content-Length is the 100th field of the last.
        for n in [1, 30, 99] {
            let (parsed, _) = head(&with_fields(n), &Method::GET).unwrap().unwrap();
            assert_eq!(parsed.headers.len(), n);
            assert_eq!(parsed.headers["x-field-0"], "0");
            assert_eq!(parsed.framing, Framing::Length(0));
        }
        let err = head(&with_fields(100), &Method::GET).unwrap_err();
        assert!(err.to_string().contains("too many headers"), "{err}");
    }

    #[test]
    fn ambiguous_or_malformed_heads_are_refused() {
        for text in [
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            "HTTP/1.1 101 Switching Protocols\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
            "SSH-2.0-OpenSSH\r\n\r\n",
        ] {
            assert!(head(text, &Method::GET).is_err(), "{text:?}");
        }
    }

    #[test]
    fn the_request_carries_host_and_the_fields_let_through() {
        let mut headers = HeaderMap::new();
        headers.insert("range", HeaderValue::from_static("bytes=0-9"));
        headers.insert("te", HeaderValue::from_static("trailers"));
        let url: Uri = "http://127.0.0.1:9000/media".parse().unwrap();
        let not_te = |name: &HeaderName| name != "te";
        assert_eq!(
            request_bytes(
                &Method::GET,
                "/media/a.mp4?x=1",
                &host_field(&url),
                &headers,
                &not_te
            ),
            b"GET /media/a.mp4?x=1 HTTP/1.1\r\nhost: 127.0.0.1:9000\r\nrange: bytes=0-9\r\n\r\n"
        );
        let url: Uri = "https://cdn.example:443/a".parse().unwrap();
        let all = |_: &HeaderName| true;
        assert_eq!(
            request_bytes(
                &Method::HEAD,
                "/a",
                &host_field(&url),
                &HeaderMap::new(),
                &all
            ),
            b"HEAD /a HTTP/1.1\r\nhost: cdn.example\r\n\r\n"
        );
    }
}
