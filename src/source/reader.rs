//! [`RangeStream`]: a `Read + Seek` view of a [`Source`] that keeps the byte ranges it has
//! fetched (range-streams' map of disjoint ranges) and asks the source only for what is
//! missing. Parsers that seek around, like a zip reader, run on it unchanged.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;

use super::{Error, Source};

/// Reads smaller than this fetch this much, so a parser's many small reads near one another
/// cost one request; measured: a zip reader's reads cluster within a few KiB.
pub const DEFAULT_READ_AHEAD: u64 = 64 * 1024;

/// A seekable stream over a source, caching every byte it fetched.
///
/// Over HTTP: one probe teaches the length, then every read that is not already held costs
/// one range request (at least 64 KiB, `DEFAULT_READ_AHEAD`).
///
/// ```no_run
/// use std::io::{Read, Seek, SeekFrom};
/// use rangecat::source::{HttpConfig, HttpSource, RangeStream, Source};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut source = HttpSource::new("https://example.com/archive.zip", &HttpConfig::default())?;
/// source.probe()?;
/// let mut stream = RangeStream::new(source)?;
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
    /// Disjoint, non-touching-or-touching fetched ranges, keyed by start.
    fetched: BTreeMap<u64, Vec<u8>>,
    read_ahead: u64,
    requests: usize,
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
            requests: 0,
        })
    }

    /// Sets how much a small read fetches at least (0: exactly what is read).
    pub fn set_read_ahead(&mut self, bytes: u64) {
        self.read_ahead = bytes;
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

    /// The ranges held in memory, in order.
    pub fn fetched(&self) -> Vec<Range<u64>> {
        self.fetched
            .iter()
            .map(|(start, bytes)| *start..start + bytes.len() as u64)
            .collect()
    }

    /// Adds bytes obtained elsewhere (say, the first response of a transfer) at `start`.
    pub fn insert(&mut self, start: u64, bytes: Vec<u8>) {
        let end = start + bytes.len() as u64;
        for missing in self.missing(start..end.min(self.len)) {
            let from = (missing.start - start) as usize;
            let to = (missing.end - start) as usize;
            self.fetched.insert(missing.start, bytes[from..to].to_vec());
        }
    }

    /// Fetches whatever part of `span` is not held yet: one request per missing run, so a
    /// span that is wholly missing costs exactly one request.
    pub fn prefetch(&mut self, span: Range<u64>) -> Result<(), Error> {
        let span = span.start.min(self.len)..span.end.min(self.len);
        for missing in self.missing(span) {
            self.fetch(missing)?;
        }
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
        for (start, bytes) in self.fetched.range(first..span.end) {
            let end = start + bytes.len() as u64;
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
        let mut body = self.source.read_span(span.clone())?;
        // Sizes come from the data (a central directory's size field, say): reserve a bounded
        // amount and let the bytes that actually arrive grow the buffer.
        let reserve = (span.end - span.start).min(16 * 1024 * 1024) as usize;
        let mut bytes = Vec::with_capacity(reserve);
        body.read_to_end(&mut bytes)?;
        let missing = (span.end - span.start).saturating_sub(bytes.len() as u64);
        if missing > 0 {
            return Err(Error::EndedEarly { missing });
        }
        self.fetched.insert(span.start, bytes);
        Ok(())
    }

    /// The cached piece holding `pos`, if any: its start and bytes.
    fn piece_at(&self, pos: u64) -> Option<(u64, &[u8])> {
        let (start, bytes) = self.fetched.range(..=pos).next_back()?;
        (pos < start + bytes.len() as u64).then_some((*start, bytes.as_slice()))
    }
}

impl<S: Source> Read for RangeStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        if self.piece_at(self.pos).is_none() {
            let want = (buf.len() as u64).max(self.read_ahead);
            let end = self.pos.saturating_add(want).min(self.len);
            // Stop at the next cached piece: bytes are fetched at most once.
            let end = self
                .fetched
                .range(self.pos..end)
                .next()
                .map_or(end, |(start, _)| *start);
            self.fetch(self.pos..end)?;
        }
        let (start, bytes) = self.piece_at(self.pos).expect("just fetched");
        let from = (self.pos - start) as usize;
        let n = buf.len().min(bytes.len() - from);
        buf[..n].copy_from_slice(&bytes[from..from + n]);
        self.pos += n as u64;
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
}
