//! [`RangeStream`]: a `Read + Seek` view of a [`Source`] that keeps the byte ranges it has
//! fetched (range-streams' map of disjoint ranges) and asks the source only for what is
//! missing. Parsers that seek around, like a zip reader, run on it unchanged.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;

use super::{Error, Opened, Source};
use crate::range::ByteRange;

/// Reads smaller than this fetch this much, so a parser's many small reads near one another
/// cost one request; measured: a zip reader's reads cluster within a few KiB.
pub const DEFAULT_READ_AHEAD: u64 = 64 * 1024;

/// The most a run of sequential reads fetches at once: each read that continues where the
/// last fetch ended doubles the read-ahead up to this, so 50 MB read in 64 KiB pieces cost
/// 13 requests rather than 800, and a request's latency is small beside its transfer.
pub const MAX_READ_AHEAD: u64 = 8 * 1024 * 1024;

/// A seekable stream over a source, caching every byte it fetched (up to a bound,
/// [`set_max_buffer`](RangeStream::set_max_buffer)).
///
/// Over HTTP: the first response teaches the length ([`first`](RangeStream::first) sends
/// it, or a probe before [`new`](RangeStream::new)), then every read that is not already
/// held costs one range request (at least 64 KiB, `DEFAULT_READ_AHEAD`, more on sequential
/// reads).
///
/// ```no_run
/// use std::io::{Read, Seek, SeekFrom};
/// use rangecat::range::ByteRange;
/// use rangecat::source::{HttpConfig, HttpSource, RangeStream, Source};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let source = HttpSource::new("https://example.com/archive.zip", &HttpConfig::default())?;
/// // One request for the last 64 KiB teaches the length and holds a zip's central directory.
/// let mut stream = RangeStream::first(source, &ByteRange::Suffix(64 * 1024), u64::MAX)?;
/// // The end-of-central-directory record lies in the last 22 bytes of a zip without comment.
/// stream.seek(SeekFrom::End(-22))?;
/// let mut record = [0u8; 22];
/// stream.read_exact(&mut record)?;
/// assert_eq!(&record[..4], b"PK\x05\x06");
/// // Read again: held in memory, no request.
/// stream.seek(SeekFrom::Current(-22))?;
/// stream.read_exact(&mut record)?;
/// assert_eq!(stream.requests(), 1);
/// # Ok(())
/// # }
/// ```
pub struct RangeStream<S> {
    source: S,
    len: u64,
    pos: u64,
    /// Disjoint fetched ranges (touching or not), keyed by start.
    fetched: BTreeMap<u64, Piece>,
    read_ahead: u64,
    /// The read-ahead of the next sequential fetch (doubles up to `MAX_READ_AHEAD`).
    ahead: u64,
    /// Where the last fetch for a read ended: a read that misses there is sequential.
    last_end: Option<u64>,
    max_buffer: u64,
    held: u64,
    clock: u64,
    requests: usize,
}

/// Fetched bytes and when they were last read (for evicting the least recently used).
struct Piece {
    bytes: Vec<u8>,
    used: u64,
}

impl<S: Source> RangeStream<S> {
    /// A stream over `source`, whose length must already be known (after its first response).
    pub fn new(source: S) -> Result<RangeStream<S>, Error> {
        let len = source.len().ok_or(Error::UnknownLength)?;
        Ok(RangeStream {
            source,
            len,
            pos: 0,
            fetched: BTreeMap::new(),
            read_ahead: DEFAULT_READ_AHEAD,
            ahead: DEFAULT_READ_AHEAD,
            last_end: None,
            max_buffer: u64::MAX,
            held: 0,
            clock: 0,
            requests: 0,
        })
    }

    /// A stream over `source` keeping at most about `max_buffer` fetched bytes
    /// ([`set_max_buffer`](RangeStream::set_max_buffer)), whose first request asks for
    /// `first`: its answer teaches the length, and its bytes are kept (no HEAD where a
    /// ranged GET can teach the length; a format that keeps its index at the end is best
    /// opened with a suffix). A server that ignores `Range` streams the resource from byte
    /// 0: all of it is kept when it fits in `max_buffer` (every later read would stream it
    /// again), else the asked bytes. The position is 0.
    pub fn first(
        mut source: S,
        first: &ByteRange,
        max_buffer: u64,
    ) -> Result<RangeStream<S>, Error> {
        let kept = match source.open(first)? {
            Opened::Partial { span, body } => Some((span.start, read_exactly(body, span)?)),
            Opened::Whole { mut body } => {
                let len = source.len().ok_or(Error::UnknownLength)?;
                let span = match *first {
                    _ if len <= max_buffer => 0..len,
                    ByteRange::Span(ref span) => span.start.min(len)..span.end.min(len),
                    ByteRange::From(start) => start.min(len)..len,
                    ByteRange::Suffix(n) => len.saturating_sub(n)..len,
                };
                io::copy(&mut (&mut body).take(span.start), &mut io::sink())?;
                Some((span.start, read_exactly(body, span)?))
            }
            Opened::Unsatisfiable => {
                if source.len().is_none() {
                    source.probe()?;
                }
                None
            }
        };
        let mut stream = RangeStream::new(source)?;
        stream.max_buffer = max_buffer;
        stream.requests = 1;
        if let Some((start, bytes)) = kept {
            stream.last_end = Some(start + bytes.len() as u64);
            stream.insert(start, bytes);
        }
        Ok(stream)
    }

    /// Sets how much a small read fetches at least (0: exactly what is read).
    pub fn set_read_ahead(&mut self, bytes: u64) {
        self.read_ahead = bytes;
        self.ahead = bytes;
    }

    /// Keeps at most about `bytes` of fetched bytes, dropping the least recently read
    /// first; the read-ahead never exceeds it. The default keeps everything.
    pub fn set_max_buffer(&mut self, bytes: u64) {
        self.max_buffer = bytes;
        self.trim();
    }

    /// The source underneath, for reads that should not be cached.
    pub fn source_mut(&mut self) -> &mut S {
        &mut self.source
    }

    /// The source underneath, for good.
    pub fn into_source(self) -> S {
        self.source
    }

    /// The total length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty resource.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many requests the stream has sent.
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// The position of the next read.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The ranges held in memory, in order.
    pub fn fetched(&self) -> Vec<Range<u64>> {
        self.fetched
            .iter()
            .map(|(start, piece)| *start..start + piece.bytes.len() as u64)
            .collect()
    }

    /// Adds bytes obtained elsewhere (say, the first response of a transfer) at `start`.
    pub fn insert(&mut self, start: u64, bytes: Vec<u8>) {
        let end = start + bytes.len() as u64;
        for missing in self.missing(start..end.min(self.len)) {
            let from = (missing.start - start) as usize;
            let to = (missing.end - start) as usize;
            self.keep(missing.start, bytes[from..to].to_vec());
        }
        self.trim();
    }

    /// Fetches whatever part of `span` is not held yet: one request per missing run, so a
    /// span that is wholly missing costs exactly one request.
    pub fn prefetch(&mut self, span: Range<u64>) -> Result<(), Error> {
        let span = span.start.min(self.len)..span.end.min(self.len);
        for missing in self.missing(span) {
            self.fetch(missing)?;
        }
        self.trim();
        Ok(())
    }

    /// The sub-ranges of `span` not held in memory.
    fn missing(&self, span: Range<u64>) -> Vec<Range<u64>> {
        let mut missing = Vec::new();
        let mut at = span.start;
        let first = self
            .fetched
            .range(..=span.start)
            .next_back()
            .map(|(start, _)| *start)
            .unwrap_or(span.start);
        for (start, piece) in self.fetched.range(first..span.end) {
            let end = start + piece.bytes.len() as u64;
            if end <= at {
                continue;
            }
            if *start > at {
                missing.push(at..*start);
            }
            at = at.max(end);
        }
        if at < span.end {
            missing.push(at..span.end);
        }
        missing
    }

    fn fetch(&mut self, span: Range<u64>) -> Result<(), Error> {
        self.requests += 1;
        let body = self.source.read_span(span.clone())?;
        let start = span.start;
        let bytes = read_exactly(body, span)?;
        self.keep(start, bytes);
        Ok(())
    }

    fn keep(&mut self, start: u64, bytes: Vec<u8>) {
        self.clock += 1;
        self.held += bytes.len() as u64;
        let used = self.clock;
        self.fetched.insert(start, Piece { bytes, used });
    }

    /// Drops the least recently read pieces until at most `max_buffer` bytes are held.
    fn trim(&mut self) {
        while self.held > self.max_buffer {
            let Some(oldest) = self
                .fetched
                .iter()
                .min_by_key(|(_, p)| p.used)
                .map(|(s, _)| *s)
            else {
                break;
            };
            if let Some(piece) = self.fetched.remove(&oldest) {
                self.held -= piece.bytes.len() as u64;
            }
        }
    }

    /// The cached piece holding `pos`, if any: its start and bytes.
    fn piece_at(&self, pos: u64) -> Option<(u64, &[u8])> {
        let (start, piece) = self.fetched.range(..=pos).next_back()?;
        (pos < start + piece.bytes.len() as u64).then_some((*start, piece.bytes.as_slice()))
    }

    /// How much a read of `want` bytes that misses at `self.pos` fetches: what it wants, or
    /// the read-ahead, doubled on each sequential miss, within `max_buffer`.
    fn fetch_size(&mut self, want: u64) -> u64 {
        self.ahead = if self.last_end == Some(self.pos) {
            (self.ahead.saturating_mul(2))
                .clamp(self.read_ahead, MAX_READ_AHEAD.max(self.read_ahead))
        } else {
            self.read_ahead
        };
        want.max(self.ahead.min(self.max_buffer))
    }
}

/// Reads `body`, which must hold exactly `span`'s bytes.
fn read_exactly(body: super::Body, span: Range<u64>) -> Result<Vec<u8>, Error> {
    // Sizes come from the data (a central directory's size field, say): reserve a bounded
    // amount and let the bytes that actually arrive grow the buffer.
    let size = span.end - span.start;
    let mut bytes = Vec::with_capacity(size.min(16 * 1024 * 1024) as usize);
    body.take(size).read_to_end(&mut bytes)?;
    let missing = size.saturating_sub(bytes.len() as u64);
    if missing > 0 {
        return Err(Error::EndedEarly { missing });
    }
    Ok(bytes)
}

impl<S: Source> Read for RangeStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        if self.piece_at(self.pos).is_none() {
            let want = self.fetch_size(buf.len() as u64);
            let end = self.pos.saturating_add(want).min(self.len);
            // Stop at the next cached piece: bytes are fetched at most once.
            let end = self
                .fetched
                .range(self.pos..end)
                .next()
                .map_or(end, |(start, _)| *start);
            self.fetch(self.pos..end)?;
            self.last_end = Some(end);
        }
        self.clock += 1;
        let clock = self.clock;
        let (start, piece) = self
            .fetched
            .range_mut(..=self.pos)
            .next_back()
            .expect("just fetched");
        piece.used = clock;
        let from = (self.pos - start) as usize;
        let n = buf.len().min(piece.bytes.len() - from);
        buf[..n].copy_from_slice(&piece.bytes[from..from + n]);
        self.pos += n as u64;
        self.trim();
        Ok(n)
    }
}

impl<S: Source> Seek for RangeStream<S> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        let target = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::file::FileSource;
    use std::io::Write;

    fn stream(len: usize) -> (tempfile::NamedTempFile, Vec<u8>, RangeStream<FileSource>) {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&data).unwrap();
        let source = FileSource::open(file.path()).unwrap();
        let stream = RangeStream::new(source).unwrap();
        (file, data, stream)
    }

    #[test]
    fn reads_and_seeks_like_the_file() {
        let (_file, data, mut stream) = stream(300_000);
        let mut buf = [0u8; 10];
        stream.seek(SeekFrom::End(-10)).unwrap();
        stream.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, &data[data.len() - 10..]);
        stream.seek(SeekFrom::Start(5)).unwrap();
        stream.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, &data[5..15]);
        stream.seek(SeekFrom::Current(-5)).unwrap();
        stream.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, &data[10..20]);
        assert_eq!(stream.requests(), 2, "small nearby reads come from memory");
    }

    #[test]
    fn fetches_only_missing_bytes() {
        let (_file, data, mut stream) = stream(1000);
        stream.set_read_ahead(0);
        stream.prefetch(100..200).unwrap();
        stream.prefetch(150..300).unwrap();
        assert_eq!(stream.fetched(), vec![100..200, 200..300]);
        assert_eq!(stream.requests(), 2);
        stream.prefetch(0..1000).unwrap();
        assert_eq!(stream.requests(), 4, "0..100 and 300..1000");
        let mut all = Vec::new();
        stream.seek(SeekFrom::Start(0)).unwrap();
        stream.read_to_end(&mut all).unwrap();
        assert_eq!(all, data);
        assert_eq!(stream.requests(), 4);
    }

    #[test]
    fn inserted_bytes_are_not_fetched_again() {
        let (_file, data, mut stream) = stream(1000);
        stream.insert(900, data[900..].to_vec());
        let mut buf = vec![0u8; 100];
        stream.seek(SeekFrom::Start(900)).unwrap();
        stream.read_exact(&mut buf).unwrap();
        assert_eq!(buf, &data[900..]);
        assert_eq!(stream.requests(), 0);
        let mut end = [0u8; 1];
        assert_eq!(stream.read(&mut end).unwrap(), 0);
    }

    #[test]
    fn first_request_keeps_its_bytes_and_teaches_the_length() {
        let (file, data, _) = stream(300_000);
        let source = FileSource::open(file.path()).unwrap();
        let mut stream =
            RangeStream::first(source, &ByteRange::Suffix(64 * 1024), u64::MAX).unwrap();
        assert_eq!(stream.len(), 300_000);
        assert_eq!(stream.fetched(), vec![300_000 - 65_536..300_000]);
        let mut buf = vec![0u8; 100];
        stream.seek(SeekFrom::End(-100)).unwrap();
        stream.read_exact(&mut buf).unwrap();
        assert_eq!(buf, &data[data.len() - 100..]);
        assert_eq!(stream.requests(), 1);
    }

    #[test]
    fn sequential_reads_double_the_read_ahead() {
        let (_file, data, mut stream) = stream(5_000_000);
        let mut all = Vec::new();
        let mut buf = vec![0u8; 4096];
        loop {
            let n = stream.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        assert_eq!(all, data);
        // 64 KiB, 128 KiB, ... 4 MiB: 64 KiB * (2^7 - 1) = 8,323,072 bytes cover 5 MB.
        assert_eq!(stream.requests(), 7);
        let fetched = stream.fetched();
        assert_eq!(
            fetched[1],
            65_536..196_608,
            "the second fetch is twice the first"
        );
    }

    #[test]
    fn max_buffer_drops_the_least_recently_read() {
        let (_file, data, mut stream) = stream(1_000_000);
        stream.set_max_buffer(150_000);
        let mut buf = vec![0u8; 10];
        for at in [0u64, 500_000, 900_000] {
            stream.seek(SeekFrom::Start(at)).unwrap();
            stream.read_exact(&mut buf).unwrap();
            assert_eq!(buf, &data[at as usize..at as usize + 10]);
        }
        assert_eq!(stream.fetched(), vec![500_000..565_536, 900_000..965_536]);
        stream.seek(SeekFrom::Start(0)).unwrap();
        stream.read_exact(&mut buf).unwrap();
        assert_eq!(stream.requests(), 4, "0.. was dropped and fetched again");
    }
}
