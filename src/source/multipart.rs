//! `multipart/byteranges` (RFC 9110 §14.6, RFC 2046 §5.1): the answer to a request for several
//! ranges at once, read as a stream. [`PartsReader`] yields the bytes of the spans asked for,
//! in the order asked, from parts that may come in another order or coalesced (RFC 9110
//! §14.2 lets a server merge ranges and reorder them): every part must start where an asked
//! span starts and end where one ends, covering a run of asked spans; the bytes between them
//! are dropped. Nothing the server says sizes an allocation without a cap.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::Range;

use crate::http::content_range::parse_content_range;

/// The longest boundary RFC 2046 allows.
const MAX_BOUNDARY: usize = 70;
/// Preamble, part headers and delimiters together may not exceed this between two bodies.
const MAX_HEAD: usize = 16 * 1024;
/// Parts that arrive before they are needed are held, up to this many bytes in all.
pub const MAX_HELD: u64 = 16 * 1024 * 1024;

/// Most ranges in one multi-range request, unless a server taught fewer: Apache's default
/// `MaxRanges`, past which it answers with the whole resource.
pub const MAX_PARTS: usize = 200;

/// After a whole-resource answer to more ranges than this, they are asked for again half as
/// many at a time, down to this many, before the server is taken not to do multi-range
/// requests at all.
pub const FEWER_PARTS: usize = 16;

/// The boundary of a `multipart/byteranges` Content-Type, `None` for any other type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let kind = params.next()?.trim();
    if !kind.eq_ignore_ascii_case("multipart/byteranges") {
        return None;
    }
    params.find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        let fits = !value.is_empty() && value.len() <= MAX_BOUNDARY;
        (fits && value.bytes().all(|b| b.is_ascii_graphic() || b == b' ')).then(|| value.to_owned())
    })
}

/// The end of the message for a part that covers far more than the spans it holds.
const TOO_GENEROUS: &str = "holds far more than was asked";

/// The start of the message for an answer that ended before the parts of some asked spans.
const NO_PART: &str = "no part for bytes";

/// Why a multipart answer was refused (carried inside the `io::Error` a read returns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartError(pub String);

impl std::fmt::Display for MultipartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MultipartError {}

/// Reads the asked spans' bytes from a multipart body.
pub struct PartsReader<R> {
    input: BufReader<R>,
    delimiter: Vec<u8>,
    /// The spans asked for, ascending and disjoint, in the order they are yielded.
    asked: Vec<Range<u64>>,
    /// The complete length every part must state, once known.
    len: Option<u64>,
    /// The asked span being yielded, and the position in it.
    at: usize,
    pos: u64,
    /// The part being read: its span and how far it has been read.
    part: Option<(Range<u64>, u64)>,
    /// Parts read ahead of need, by start.
    held: BTreeMap<u64, Vec<u8>>,
    held_bytes: u64,
    /// The closing delimiter was read.
    ended: bool,
}

impl<R: Read> PartsReader<R> {
    /// A reader of `asked` (ascending, disjoint, non-empty spans) from `body`, the body of a
    /// 206 whose Content-Type carried `boundary`. `len` is the resource's length if known.
    pub fn new(body: R, boundary: &str, asked: Vec<Range<u64>>, len: Option<u64>) -> Self {
        PartsReader {
            input: BufReader::with_capacity(64 * 1024, body),
            delimiter: format!("--{boundary}").into_bytes(),
            asked,
            len,
            at: 0,
            pos: 0,
            part: None,
            held: BTreeMap::new(),
            held_bytes: 0,
            ended: false,
        }
    }

    /// A reader of `asked` from `body`, a single-part 206 for `part`: `None` unless the part
    /// covers the spans as a coalescing server may send them (see the module).
    pub fn single(
        body: R,
        part: Range<u64>,
        asked: Vec<Range<u64>>,
        len: Option<u64>,
    ) -> Option<Self> {
        let covers = asked.first().is_some_and(|a| a.start == part.start)
            && asked.last().is_some_and(|a| a.end == part.end);
        let mut reader = PartsReader::new(body, "", asked, len);
        reader.check_part(&part).ok().filter(|()| covers)?;
        reader.part = Some((part, 0));
        reader.ended = true;
        Some(reader)
    }

    /// Reads up to the first part's bytes and returns the complete length it states (`None`
    /// for `bytes a-b/*`), so that a first request learns the length before any byte is
    /// used; the part is then read as any other.
    pub fn first_len(&mut self) -> io::Result<Option<u64>> {
        if self.part.is_none() && !self.ended {
            self.next_part()?;
        }
        Ok(self.len)
    }

    /// The asked bytes not yet yielded, in order.
    pub fn remaining(&self) -> Vec<Range<u64>> {
        let mut rest = self.asked.get(self.at..).unwrap_or_default().to_vec();
        if let Some(first) = rest.first_mut() {
            first.start += self.pos;
        }
        rest
    }

    /// How many asked spans were yielded whole so far.
    pub fn delivered(&self) -> usize {
        self.at
    }

    /// Whether `err`, from a read, says a part covered far more than was asked: a server
    /// that coalesces generously, whose remaining ranges are better asked for one by one.
    pub fn is_too_generous(err: &io::Error) -> bool {
        Self::says(err, |what| what.ends_with(TOO_GENEROUS))
    }

    /// Whether `err`, from a read, says the answer ended, well formed, before the parts of
    /// some asked spans: a server that sends at most so many parts (lighttpd sends the first
    /// ten), whose [`remaining`](PartsReader::remaining) spans are asked for again.
    pub fn is_incomplete(err: &io::Error) -> bool {
        Self::says(err, |what| what.starts_with(NO_PART))
    }

    fn says(err: &io::Error, what: impl Fn(&str) -> bool) -> bool {
        err.get_ref()
            .and_then(|inner| inner.downcast_ref::<MultipartError>())
            .is_some_and(|MultipartError(said)| what(said))
    }

    fn fail(what: impl Into<String>) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, MultipartError(what.into()))
    }

    /// Reads one line (at most what is left of `budget`), without its CRLF or LF. The body's
    /// last line may end without one: a closing delimiter needs none (RFC 2046 §5.1.1: the
    /// epilogue, CRLF included, may be absent; uvicorn with Starlette ends the body there).
    fn line(&mut self, budget: &mut usize) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        let limit = u64::try_from(*budget).unwrap_or(u64::MAX) + 1;
        (&mut self.input).take(limit).read_until(b'\n', &mut line)?;
        if line.len() as u64 >= limit {
            return Err(Self::fail("part headers too long"));
        }
        *budget = budget.saturating_sub(line.len());
        if line.last() != Some(&b'\n') {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if self.delimiter_kind(&line) == Some(true) {
                return Ok(line);
            }
            return Err(Self::fail("the body ended inside the part headers"));
        }
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(line)
    }

    /// Whether `line` is the delimiter, and then whether it is the closing one.
    fn delimiter_kind(&self, line: &[u8]) -> Option<bool> {
        let rest = line.strip_prefix(self.delimiter.as_slice())?;
        let (closing, rest) = match rest.strip_prefix(b"--") {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        // Transport padding (RFC 2046 §5.1.1): trailing white space.
        rest.iter()
            .all(|b| *b == b' ' || *b == b'\t')
            .then_some(closing)
    }

    /// Reads up to the next part's body; `false` after the closing delimiter.
    fn next_part(&mut self) -> io::Result<bool> {
        let mut budget = MAX_HEAD;
        // The preamble (before the first part) or the CRLF that ends the previous body.
        loop {
            let line = self.line(&mut budget)?;
            match self.delimiter_kind(&line) {
                Some(true) => {
                    self.ended = true;
                    return Ok(false);
                }
                Some(false) => break,
                None => {}
            }
        }
        let mut span = None;
        loop {
            let line = self.line(&mut budget)?;
            if line.is_empty() {
                break;
            }
            let line = String::from_utf8_lossy(&line);
            let Some((name, value)) = line.split_once(':') else {
                return Err(Self::fail(format!("malformed part header '{line}'")));
            };
            if name.trim().eq_ignore_ascii_case("content-range") {
                let parsed =
                    parse_content_range(value.trim()).and_then(|cr| Some((cr.span?, cr.len)));
                let Some((got, len)) = parsed else {
                    return Err(Self::fail(format!(
                        "part with Content-Range '{}'",
                        value.trim()
                    )));
                };
                if let Some(len) = len {
                    match self.len {
                        Some(known) if known != len => {
                            let what = format!("a part says the length is {len}, not {known}");
                            return Err(Self::fail(what));
                        }
                        _ => self.len = Some(len),
                    }
                }
                span = Some(got);
            }
        }
        let Some(span) = span else {
            return Err(Self::fail("a part without Content-Range"));
        };
        self.check_part(&span)?;
        self.part = Some((span, 0));
        Ok(true)
    }

    /// A part must start where an asked span starts, end where one ends, and bring nothing
    /// already delivered or held.
    fn check_part(&self, span: &Range<u64>) -> io::Result<()> {
        let first = self.asked.partition_point(|a| a.start < span.start);
        let last = self.asked.partition_point(|a| a.end < span.end);
        let fits = span.start < span.end
            && self.asked.get(first).is_some_and(|a| a.start == span.start)
            && self.asked.get(last).is_some_and(|a| a.end == span.end)
            && first <= last;
        let shown = format!("bytes {}-{}", span.start, span.end - 1);
        if !fits {
            return Err(Self::fail(format!(
                "a part for {shown}, which was not asked for"
            )));
        }
        let gap: u64 = self.asked[first..=last]
            .windows(2)
            .map(|pair| pair[1].start - pair[0].end)
            .sum();
        let asked: u64 = self.asked[first..=last]
            .iter()
            .map(|a| a.end - a.start)
            .sum();
        if gap > asked.max(64 * 1024) {
            return Err(Self::fail(format!("a part for {shown} {TOO_GENEROUS}")));
        }
        let delivered = first < self.at || (first == self.at && self.pos > 0);
        let held = self
            .held
            .range(..span.end)
            .next_back()
            .is_some_and(|(start, bytes)| start + bytes.len() as u64 > span.start);
        let repeated = delivered || held;
        if repeated {
            return Err(Self::fail(format!("a second part for {shown}")));
        }
        Ok(())
    }

    /// Reads the current part's bytes at `part_pos` into `buf` (at most `buf.len()`).
    fn read_part(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (span, read) = self.part.clone().expect("a part is open");
        let left = span.end - span.start - read;
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.input.read(&mut buf[..want])?;
        if n == 0 {
            return Err(Self::fail(format!(
                "the body ended inside the part for bytes {}-{}",
                span.start,
                span.end - 1
            )));
        }
        self.part = Some((span, read + n as u64));
        Ok(n)
    }

    /// Ends the current part once it is read: the delimiter follows its bytes.
    fn close_part_if_done(&mut self) {
        if let Some((span, read)) = &self.part
            && *read == span.end - span.start
        {
            self.part = None;
        }
    }

    /// Reads the whole current part into memory (it is needed later).
    fn hold_part(&mut self) -> io::Result<()> {
        let (span, _) = self.part.clone().expect("a part is open");
        let len = span.end - span.start;
        if self.held_bytes + len > MAX_HELD {
            return Err(Self::fail("parts out of order beyond what can be held"));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        let mut buf = vec![0u8; 64 * 1024];
        while self.part.is_some() {
            let n = self.read_part(&mut buf)?;
            bytes.extend_from_slice(&buf[..n]);
            self.close_part_if_done();
        }
        self.held_bytes += len;
        self.held.insert(span.start, bytes);
        Ok(())
    }
}

impl<R: Read> Read for PartsReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Bounded: each turn yields bytes, skips bytes of the open part, holds a part, or
        // opens one (the body is finite).
        loop {
            let Some(want) = self.asked.get(self.at).cloned() else {
                // Everything asked was delivered: the rest must be the closing delimiter.
                if self.part.is_none() && !self.ended && self.next_part()? {
                    return Err(Self::fail("more parts than were asked for"));
                }
                return Ok(0);
            };
            let at = want.start + self.pos;
            if at >= want.end {
                self.at += 1;
                self.pos = 0;
                continue;
            }
            // From a held part.
            if let Some((start, bytes)) = self.held.range(..=at).next_back()
                && at < start + bytes.len() as u64
            {
                let from = (at - start) as usize;
                let to = (want.end - start).min(bytes.len() as u64) as usize;
                let n = buf.len().min(to - from);
                buf[..n].copy_from_slice(&bytes[from..from + n]);
                self.pos += n as u64;
                if from + n == bytes.len() {
                    let start = *start;
                    let gone = self.held.remove(&start).map_or(0, |b| b.len() as u64);
                    self.held_bytes -= gone;
                }
                return Ok(n);
            }
            match self.part.clone() {
                None if self.ended => {
                    return Err(Self::fail(format!(
                        "{NO_PART} {}-{}",
                        want.start,
                        want.end - 1
                    )));
                }
                None => {
                    if !self.next_part()? {
                        continue;
                    }
                }
                Some((span, read)) => {
                    let part_at = span.start + read;
                    if span.start > at || part_at > at {
                        // A part for later spans: held until needed.
                        if part_at != span.start || span.start <= at {
                            return Err(Self::fail("parts overlap"));
                        }
                        self.hold_part()?;
                        continue;
                    }
                    if part_at < at {
                        // Bytes between two asked spans that the server merged: dropped.
                        let mut skip = vec![0u8; (at - part_at).min(64 * 1024) as usize];
                        self.read_part(&mut skip)?;
                        self.close_part_if_done();
                        continue;
                    }
                    let limit = buf
                        .len()
                        .min(usize::try_from(want.end - at).unwrap_or(usize::MAX));
                    let n = self.read_part(&mut buf[..limit])?;
                    self.pos += n as u64;
                    self.close_part_if_done();
                    return Ok(n);
                }
            }
        }
    }
}

#[cfg(test)]
// One-range slices of parts are what the tests mean, not `vec![a..b]` by mistake.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// A multipart body with one part per span, in the order given.
    fn body(data: &[u8], parts: &[Range<u64>], boundary: &str) -> Vec<u8> {
        let mut out = b"preamble to ignore\r\n".to_vec();
        for part in parts {
            out.extend_from_slice(
                format!("\r\n--{boundary}\r\nContent-Type: text/plain\r\n").as_bytes(),
            );
            out.extend_from_slice(
                format!(
                    "Content-Range: bytes {}-{}/{}\r\n\r\n",
                    part.start,
                    part.end - 1,
                    data.len()
                )
                .as_bytes(),
            );
            out.extend_from_slice(&data[part.start as usize..part.end as usize]);
        }
        out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        out
    }

    fn read(asked: &[Range<u64>], parts: &[Range<u64>]) -> Result<Vec<u8>, String> {
        let data = data(10_000);
        let body = body(&data, parts, "THIS_STRING_SEPARATES");
        let mut reader = PartsReader::new(
            io::Cursor::new(body),
            "THIS_STRING_SEPARATES",
            asked.to_vec(),
            None,
        );
        let mut out = Vec::new();
        // Small reads, to cross every boundary.
        let mut buf = [0u8; 7];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return Ok(out),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(err) => {
                    return Err(err.into_inner().map(|e| e.to_string()).unwrap_or_default());
                }
            }
        }
    }

    fn want(asked: &[Range<u64>]) -> Vec<u8> {
        let data = data(10_000);
        asked
            .iter()
            .flat_map(|a| data[a.start as usize..a.end as usize].to_vec())
            .collect()
    }

    #[test]
    fn boundaries_are_read_from_the_content_type() {
        assert_eq!(
            boundary("multipart/byteranges; boundary=00000000000000000001").as_deref(),
            Some("00000000000000000001")
        );
        assert_eq!(
            boundary("Multipart/ByteRanges;boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(boundary("multipart/mixed; boundary=x"), None);
        assert_eq!(boundary("multipart/byteranges"), None);
        assert_eq!(
            boundary(&format!(
                "multipart/byteranges; boundary={}",
                "x".repeat(71)
            )),
            None
        );
    }

    #[test]
    fn parts_in_order_reordered_or_coalesced_yield_the_asked_bytes() {
        let asked = [0..100, 200..300, 5000..5001, 9000..10_000];
        assert_eq!(read(&asked, &asked).unwrap(), want(&asked));
        let reordered = [9000..10_000, 200..300, 0..100, 5000..5001];
        assert_eq!(read(&asked, &reordered).unwrap(), want(&asked));
        // The server merged the first two (the gap between them is dropped).
        let coalesced = [0..300, 5000..5001, 9000..10_000];
        assert_eq!(read(&asked, &coalesced).unwrap(), want(&asked));
        // One part for everything: the 8,799 bytes between the spans are few enough.
        assert_eq!(read(&asked, &[0..10_000]).unwrap(), want(&asked));
        // 20 bytes asked, a megabyte sent: refused before its bytes are read.
        let asked = vec![0..10, 1_000_000..1_000_010];
        let reader = PartsReader::new(io::empty(), "b", asked, None);
        let err = reader.check_part(&(0..1_000_010)).unwrap_err();
        let err = err.into_inner().unwrap().to_string();
        assert_eq!(
            err,
            "a part for bytes 0-1000009 holds far more than was asked"
        );
    }

    #[test]
    fn parts_not_asked_for_missing_or_repeated_are_refused() {
        let asked = [0..100, 200..300];
        let err = read(&asked, &[0..100, 150..300]).unwrap_err();
        assert_eq!(err, "a part for bytes 150-299, which was not asked for");
        let err = read(&asked, &[0..100]).unwrap_err();
        assert_eq!(err, "no part for bytes 200-299");
        let err = read(&asked, &[0..100, 0..100, 200..300]).unwrap_err();
        assert_eq!(err, "a second part for bytes 0-99");
        let err = read(&asked, &[0..50]).unwrap_err();
        assert_eq!(err, "a part for bytes 0-49, which was not asked for");
    }

    #[test]
    fn a_closing_delimiter_needs_no_line_end() {
        let data = data(1000);
        let asked = vec![0..100, 200..300];
        let full = body(&data, &asked, "b");
        for end in ["--b--", "--b--\r", "--b--  "] {
            let mut cut = full[..full.len() - "--b--\r\n".len()].to_vec();
            cut.extend_from_slice(end.as_bytes());
            let mut reader = PartsReader::new(io::Cursor::new(cut), "b", asked.clone(), None);
            let mut out = Vec::new();
            reader.read_to_end(&mut out).unwrap();
            assert_eq!(out, want(&asked), "{end:?}");
        }
        // Not a delimiter, or not the closing one: the body was cut.
        for end in ["--b", "--c--", "--b-"] {
            let mut cut = full[..full.len() - "--b--\r\n".len()].to_vec();
            cut.extend_from_slice(end.as_bytes());
            let mut reader = PartsReader::new(io::Cursor::new(cut), "b", asked.clone(), None);
            assert!(reader.read_to_end(&mut Vec::new()).is_err(), "{end:?}");
        }
    }

    #[test]
    fn an_answer_with_the_first_parts_only_says_what_remains() {
        let data = data(10_000);
        let asked = vec![0..100, 200..300, 400..500, 600..700];
        let body = body(&data, &asked[..2], "b");
        let mut reader = PartsReader::new(io::Cursor::new(body), "b", asked.clone(), None);
        let mut out = vec![0u8; 200];
        reader.read_exact(&mut out).unwrap();
        let err = reader.read(&mut [0u8; 100]).unwrap_err();
        assert!(PartsReader::<io::Empty>::is_incomplete(&err), "{err}");
        assert_eq!(reader.delivered(), 2);
        assert_eq!(reader.remaining(), vec![400..500, 600..700]);
        // A malformed answer is not that.
        let err = read(&asked, &[0..50]).unwrap_err();
        assert!(!err.starts_with(NO_PART), "{err}");
    }

    #[test]
    fn a_body_cut_short_is_an_error() {
        let data = data(1000);
        let full = body(&data, &[0..100, 200..300], "b");
        for cut in [10, 60, 150, full.len() - 10] {
            let mut reader = PartsReader::new(
                io::Cursor::new(full[..cut].to_vec()),
                "b",
                vec![0..100, 200..300],
                None,
            );
            let mut out = Vec::new();
            assert!(reader.read_to_end(&mut out).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn endless_headers_are_refused_without_growing() {
        let body = io::repeat(b'x');
        let mut reader = PartsReader::new(body, "b", vec![0..100], None);
        let err = reader.read(&mut [0u8; 10]).unwrap_err();
        assert!(err.to_string().contains("too long"), "{err}");
    }
}
