//! What a request must be before anything goes upstream (pure checks on a parsed head): an
//! origin-form target that stays under the upstream's base path, the README's head limits,
//! and no body (none is expected, and a body is where request smuggling hides).

/// Longest request line or header line accepted (CRLF not counted).
pub const MAX_LINE: usize = 8 * 1024;
/// Most header fields accepted (hyper counts them while parsing).
pub const MAX_HEADERS: usize = 100;
/// Largest request head accepted, all lines together.
pub const MAX_HEAD: usize = 64 * 1024;

/// Why a request was refused, with the status to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 400, 414 or 431.
    pub status: u16,
    /// A short reason for the response body.
    pub reason: &'static str,
}

fn refuse(status: u16, reason: &'static str) -> Refusal {
    Refusal { status, reason }
}

/// The README's head limits on a parsed head: the request line (`METHOD TARGET HTTP/1.x`)
/// and each field line (`Name: value`) at most [`MAX_LINE`] bytes (414, 431), all lines
/// with their CRLFs at most [`MAX_HEAD`] (431). hyper bounds the head as it reads it (its
/// buffer and [`MAX_HEADERS`]); this makes the limits exact.
pub fn check_head<'a>(
    method: &str,
    target: &str,
    fields: impl Iterator<Item = (&'a str, &'a [u8])>,
) -> Result<(), Refusal> {
    let request_line = method.len() + 1 + target.len() + 1 + "HTTP/1.1".len();
    if request_line > MAX_LINE {
        return Err(refuse(414, "request line too long"));
    }
    let mut total = request_line + 2 + 2;
    for (name, value) in fields {
        let line = name.len() + 2 + value.len();
        if line > MAX_LINE {
            return Err(refuse(431, "header line too long"));
        }
        total += line + 2;
    }
    if total > MAX_HEAD {
        return Err(refuse(431, "request head too large"));
    }
    Ok(())
}

/// Refuses a request that carries a body or could be framed two ways (RFC 9112 §6.3): any
/// `Transfer-Encoding`, and a `Content-Length` other than one `0`. hyper has already refused
/// conflicting lengths and folds identical repeats into one (RFC 9110 §8.6), so a repeated
/// `Content-Length: 0` passes: it frames no body either way.
pub fn check_no_body<'a>(
    transfer_encoding: impl Iterator<Item = &'a [u8]>,
    content_length: impl Iterator<Item = &'a [u8]>,
) -> Result<(), Refusal> {
    if transfer_encoding.count() > 0 {
        return Err(refuse(
            400,
            "request bodies are not accepted (Transfer-Encoding)",
        ));
    }
    let lengths: Vec<&[u8]> = content_length.collect();
    match lengths.as_slice() {
        [] | [b"0"] => Ok(()),
        [_] => Err(refuse(400, "request bodies are not accepted")),
        _ => Err(refuse(400, "repeated Content-Length")),
    }
}

/// Checks an origin-form target and returns it as the path to append to the upstream base:
/// absolute-form (`http://other/`), authority-form and `*` are refused (this is not an open
/// proxy), and so is any path whose segments, once percent-decoded, are `.` or `..` or hide a
/// `/`, `\` or NUL, which could leave the base path at the upstream.
pub fn check_target(target: &str) -> Result<&str, Refusal> {
    // Byte by byte: every request passes here.
    let bytes = target.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(refuse(
            400,
            "only origin-form request targets (/path) are accepted",
        ));
    }
    if bytes.contains(&b'#') {
        return Err(refuse(400, "a fragment has no place in a request target"));
    }
    let path = match bytes.iter().position(|&b| b == b'?') {
        Some(query) => &bytes[..query],
        None => bytes,
    };
    for segment in path.split(|&b| b == b'/') {
        let decoded = match segment.contains(&b'%') {
            true => match percent_decode(segment) {
                Some(decoded) => std::borrow::Cow::Owned(decoded),
                None => return Err(refuse(400, "malformed percent-encoding in the path")),
            },
            false => std::borrow::Cow::Borrowed(segment),
        };
        if *decoded == *b"." || *decoded == *b".." {
            return Err(refuse(400, "dot segments are not accepted in the path"));
        }
        if decoded.iter().any(|&b| matches!(b, b'/' | b'\\' | 0)) {
            return Err(refuse(
                400,
                "encoded separators are not accepted in the path",
            ));
        }
    }
    if bytes.iter().any(|&b| b <= b' ' || b == 0x7f) {
        return Err(refuse(400, "control characters in the request target"));
    }
    Ok(target)
}

/// `bytes` with each `%` and two hex digits (RFC 3986 §2.1) turned into its byte; `None` for
/// a `%` without two (`u8::from_str_radix` alone would take `%+1` for byte 1).
fn percent_decode(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let hex = std::str::from_utf8(hex).ok()?;
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

    #[test]
    fn heads_are_measured_line_by_line_and_in_all() {
        let field = |len: usize| "b".repeat(len - "X-Long: ".len());
        let exact = field(MAX_LINE);
        assert_eq!(
            check_head("GET", "/", [("X-Long", exact.as_bytes())].into_iter()),
            Ok(())
        );
        let over = field(MAX_LINE + 1);
        let refused = check_head("GET", "/", [("X-Long", over.as_bytes())].into_iter());
        assert_eq!(refused.map_err(|r| r.status), Err(431));
        let target = format!("/{}", "a".repeat(MAX_LINE - "GET / HTTP/1.1".len()));
        assert_eq!(check_head("GET", &target, std::iter::empty()), Ok(()));
        let target = format!("{target}a");
        let refused = check_head("GET", &target, std::iter::empty());
        assert_eq!(refused.map_err(|r| r.status), Err(414));
        let value = "c".repeat(7000);
        let many = (0..10).map(|_| ("X-Big", value.as_bytes()));
        assert_eq!(check_head("GET", "/", many).map_err(|r| r.status), Err(431));
    }

    #[test]
    fn any_body_or_ambiguous_framing_is_refused() {
        let none: [&[u8]; 0] = [];
        assert_eq!(check_no_body(none.into_iter(), none.into_iter()), Ok(()));
        let zero: [&[u8]; 1] = [b"0"];
        assert_eq!(check_no_body(none.into_iter(), zero.into_iter()), Ok(()));
        type Fields<'a> = &'a [&'a [u8]];
        let cases: [(Fields, Fields); 4] = [
            (&[b"chunked"], &[]),
            (&[b"chunked"], &[b"0"]),
            (&[], &[b"5"]),
            (&[], &[b"0", b"5"]),
        ];
        for (te, cl) in cases {
            let refused = check_no_body(te.iter().copied(), cl.iter().copied());
            assert_eq!(refused.map_err(|r| r.status), Err(400), "{te:?} {cl:?}");
        }
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
            "/a%+1",
            "/a%-0",
            "/a%4",
            "/a#frag",
            "/a b",
        ] {
            assert!(check_target(bad).is_err(), "{bad}");
        }
    }
}
