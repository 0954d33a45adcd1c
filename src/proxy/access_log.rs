//! The access log: one line per request, written when its answer is done with,
//! `peer "METHOD /target" range=... status bytes duration`. What came from the client
//! (target, Range) is escaped as nginx escapes its log (`\x1B`), so no byte of theirs
//! reaches the operator's terminal raw; secrets in the target read `REDACTED`.

use std::fmt::Write as _;
use std::time::Instant;

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
    /// The log line.
    pub(crate) fn line(&self) -> String {
        let ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let request = escape(redact_url(&self.request).as_bytes());
        let range = escape(self.range.as_bytes());
        let mut line = format!(
            "{} \"{request}\" range={range} {} {} {ms:.1}ms",
            self.peer, self.status, self.bytes
        );
        if let Some(note) = &self.note {
            line += &format!(" \"{}\"", escape(note.as_bytes()));
        }
        line
    }

    /// Writes the line to `log`.
    pub(crate) fn write(&self, log: &Log) {
        log(&self.line());
    }
}

/// `bytes` with controls (C0, DEL), bytes past ASCII, `"` and `\` written as `\xHH`, as
/// nginx's `escape=default` log does: a UTF-8 C1 control (`\xC2\x9B`, CSI) is caught too.
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if !(0x20..0x7f).contains(&b) || b == b'"' || b == b'\\' {
            let _ = write!(out, "\\x{b:02X}");
        } else {
            out.push(b as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
            assert_eq!(escape(raw), want, "{raw:?}");
        }
    }
}
