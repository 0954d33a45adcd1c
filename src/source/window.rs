//! A window of another source: bytes `start..end` of it, seen as a resource of their own (a
//! zip stored inside a zip, read in place through ranges of the outer resource: README, "Zip
//! archives", `--in`).

use std::io;
use std::ops::Range;
use std::sync::Arc;

use super::parallel::SpanFetcher;
use super::{Body, Error, Opened, Source};
use crate::range::ByteRange;

/// Bytes `span` of `inner`; offsets are relative to the window's start.
pub struct Window {
    inner: Box<dyn Source>,
    span: Range<u64>,
}

impl Window {
    /// The window `span` of `inner`, whose length must be known and hold the span.
    pub fn new(inner: Box<dyn Source>, span: Range<u64>) -> Result<Window, Error> {
        match inner.len() {
            Some(len) if span.start <= span.end && span.end <= len => Ok(Window { inner, span }),
            _ => Err(Error::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bytes {span:?} are not inside the resource"),
            ))),
        }
    }

    fn len_u64(&self) -> u64 {
        self.span.end - self.span.start
    }

    /// `span` of the window as a span of the inner source.
    fn outer(&self, span: Range<u64>) -> Result<Range<u64>, Error> {
        if span.start > span.end || span.end > self.len_u64() {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "bytes {span:?} lie outside a window of {} bytes",
                    self.len_u64()
                ),
            )));
        }
        Ok(self.span.start + span.start..self.span.start + span.end)
    }
}

impl Source for Window {
    fn len(&self) -> Option<u64> {
        Some(self.len_u64())
    }

    fn open(&mut self, range: &ByteRange) -> Result<Opened, Error> {
        let len = self.len_u64();
        let span = match range {
            ByteRange::Span(span) => span.start..span.end.min(len),
            ByteRange::From(start) => *start..len,
            ByteRange::Suffix(n) => len.saturating_sub(*n)..len,
        };
        if span.start >= len {
            return Ok(Opened::Unsatisfiable);
        }
        let body = self.inner.read_span(self.outer(span.clone())?)?;
        Ok(Opened::Partial { span, body })
    }

    fn probe(&mut self) -> Result<u64, Error> {
        Ok(self.len_u64())
    }

    fn read_span(&mut self, span: Range<u64>) -> Result<Body, Error> {
        let outer = self.outer(span)?;
        self.inner.read_span(outer)
    }

    fn serves_ranges(&self) -> bool {
        self.inner.serves_ranges()
    }

    fn fetcher(&self) -> Option<Arc<dyn SpanFetcher>> {
        let inner = self.inner.fetcher()?;
        Some(Arc::new(Shifted {
            inner,
            start: self.span.start,
        }))
    }
}

/// A fetcher of the window's spans.
struct Shifted {
    inner: Arc<dyn SpanFetcher>,
    start: u64,
}

impl SpanFetcher for Shifted {
    fn fetch(&self, span: Range<u64>) -> Result<Body, Error> {
        self.inner
            .fetch(self.start + span.start..self.start + span.end)
    }

    fn fetch_many(&self, spans: &[Range<u64>]) -> Result<Option<Body>, Error> {
        let shifted: Vec<Range<u64>> = spans
            .iter()
            .map(|span| self.start + span.start..self.start + span.end)
            .collect();
        self.inner.fetch_many(&shifted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::file::FileSource;
    use std::io::Read;

    #[test]
    fn a_window_reads_its_bytes_and_nothing_past_them() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        io::Write::write_all(&mut file, &data).unwrap();
        let inner = Box::new(FileSource::open(file.path()).unwrap());
        let mut window = Window::new(inner, 100..300).unwrap();
        assert_eq!(window.len(), Some(200));
        let mut out = Vec::new();
        let Opened::Partial { span, mut body } = window.open(&ByteRange::Suffix(10)).unwrap()
        else {
            panic!("a partial answer");
        };
        body.read_to_end(&mut out).unwrap();
        assert_eq!((span, out), (190..200, data[290..300].to_vec()));
        let mut out = Vec::new();
        window
            .fetcher()
            .unwrap()
            .fetch(5..7)
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data[105..107]);
        assert!(window.read_span(150..201).is_err());
        assert!(matches!(
            window.open(&ByteRange::From(200)),
            Ok(Opened::Unsatisfiable)
        ));
        let inner = Box::new(FileSource::open(file.path()).unwrap());
        assert!(Window::new(inner, 900..1001).is_err());
    }
}
