//! The access log: one line per request, written when its answer is done with,
//! `peer "METHOD /target" range=... status bytes duration`. What came from the client
//! (target, Range) is escaped as nginx escapes its log (`\x1B`), so no byte of theirs
//! reaches the operator's terminal raw; secrets in the target read `REDACTED`.

use std::time::{Duration, Instant};

use crate::Log;
use crate::http::redact::redact_url;

/// One request's entry, filled in as the answer goes out.
pub(crate) struct Entry {
    pub(crate) peer: String,
    /// `METHOD /target`, or `-` for a request refused before it was read.
    pub(crate) request: String,
    /// The Range header's value, or `-`.
    pub(crate) range: String,
    pub(crate) status: u16,
    pub(crate) bytes: u64,
    pub(crate) started: Instant,
    /// What went wrong, for the operator (the client was told less).
    pub(crate) note: Option<String>,
}

impl Entry {
    /// The log line, for an answer done with `elapsed` after the request came; put together
    /// without `core::fmt`, which took 4K of a logged request's 40K instructions (README,
    /// Performance › serve).
    fn line(&self, elapsed: Duration) -> String {
        let mut line = String::with_capacity(96 + self.request.len() + self.range.len());
        line.push_str(&self.peer);
        line.push_str(" \"");
        escape_into(&mut line, redact_url(&self.request).as_bytes());
        line.push_str("\" range=");
        escape_into(&mut line, self.range.as_bytes());
        let mut number = itoa::Buffer::new();
        line.push(' ');
        line.push_str(number.format(self.status));
        line.push(' ');
        line.push_str(number.format(self.bytes));
        // Milliseconds to a tenth, rounded.
        let tenths = (elapsed.as_micros() + 50) / 100;
        line.push(' ');
        line.push_str(number.format(tenths / 10));
        line.push('.');
        line.push_str(number.format(tenths % 10));
        line.push_str("ms");
        if let Some(note) = &self.note {
            line.push_str(" \"");
            escape_into(&mut line, note.as_bytes());
            line.push('"');
        }
        line
    }

    /// Writes the line to `log`.
    pub(crate) fn write(&self, log: &Log) {
        log(&self.line(self.started.elapsed()));
    }
}

/// Appends `bytes` to `out` with controls (C0, DEL), bytes past ASCII, `"` and `\` written as
/// `\xHH`, as nginx's `escape=default` log does: a UTF-8 C1 control (`\xC2\x9B`, CSI) is
/// caught too.
fn escape_into(out: &mut String, mut bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let escaped = |b: &u8| !(0x20..0x7f).contains(b) || *b == b'"' || *b == b'\\';
    loop {
        // What comes before the next byte to escape is printable ASCII, so text as it is.
        let at = bytes.iter().position(escaped).unwrap_or(bytes.len());
        let (kept, rest) = bytes.split_at(at);
        out.push_str(std::str::from_utf8(kept).unwrap_or_default());
        let Some((&b, rest)) = rest.split_first() else {
            return;
        };
        out.push_str("\\x");
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
        bytes = rest;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_peer_request_range_status_bytes_milliseconds_and_note() {
        let entry = Entry {
            peer: "127.0.0.1:5000".into(),
            request: "GET /a?X-Amz-Signature=s3cr3t&b=1".into(),
            range: "bytes=0-9\x1b".into(),
            status: 206,
            bytes: 10,
            started: Instant::now(),
            note: None,
        };
        assert_eq!(
            entry.line(Duration::from_micros(12_349)),
            r#"127.0.0.1:5000 "GET /a?X-Amz-Signature=REDACTED&b=1" range=bytes=0-9\x1B 206 10 12.3ms"#
        );
        let entry = Entry {
            request: "-".into(),
            range: "-".into(),
            status: 502,
            bytes: 0,
            note: Some("the upstream said \"no\"".into()),
            ..entry
        };
        assert_eq!(
            entry.line(Duration::from_micros(950)),
            r#"127.0.0.1:5000 "-" range=- 502 0 1.0ms "the upstream said \x22no\x22""#
        );
    }

    #[test]
    fn controls_quotes_and_non_ascii_are_escaped_as_nginx_does() {
        let cases: [(&[u8], &str); 5] = [
            (b"bytes=0-9", "bytes=0-9"),
            (b"\x1b[31mred", "\\x1B[31mred"),
            (b"a\"b\\c", "a\\x22b\\x5Cc"),
            ("\u{9b}2J".as_bytes(), "\\xC2\\x9B2J"),
            (b"tab\there\x7f", "tab\\x09here\\x7F"),
        ];
        for (raw, want) in cases {
            let mut escaped = String::new();
            escape_into(&mut escaped, raw);
            assert_eq!(escaped, want, "{raw:?}");
        }
    }
}
