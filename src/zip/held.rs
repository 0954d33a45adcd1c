//! The archive's bytes a command already holds: a member that lies inside them (a small
//! archive's, or a wheel's `.dist-info/` files, which sit just before the central directory,
//! or an archive stored in the archive) is read from memory, without a request (README, "Zip
//! archives").

use std::io::{self, Read};
use std::ops::Range;
use std::sync::Arc;

use crate::range::ByteRange;
use crate::source::parallel::SpanFetcher;
use crate::source::{Body, Cached, Error, Lessons, Opened, Source};

/// Bytes `start..start + bytes.len()` of the archive, held in memory and known to be the
/// archive's: fetched by this command, or confirmed by the server (never a cached copy taken
/// on trust, README "Cache").
#[derive(Clone, Default)]
pub struct Held {
    start: u64,
    bytes: Arc<[u8]>,
}

impl Held {
    /// `bytes`, which are the archive's from offset `start`.
    pub fn new(start: u64, bytes: Arc<[u8]>) -> Held {
        Held { start, bytes }
    }

    /// The span held, as offsets in the archive.
    pub fn span(&self) -> Range<u64> {
        self.start..self.start + self.bytes.len() as u64
    }

    /// The bytes held.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A reader of `span`: from memory where it lies inside the bytes held, else from
    /// `fetch`, asked only for the part before them when the span ends inside them.
    pub fn serve(
        &self,
        span: Range<u64>,
        fetch: impl FnOnce(Range<u64>) -> Result<Body, Error>,
    ) -> Result<Body, Error> {
        let held = self.span();
        if span.end > held.end || span.end <= held.start || held.is_empty() {
            return fetch(span);
        }
        let from = span.start.max(held.start);
        let memory = Memory {
            bytes: self.bytes.clone(),
            at: (from - held.start) as usize,
            end: (span.end - held.start) as usize,
        };
        if span.start >= held.start {
            return Ok(Box::new(memory));
        }
        let before = fetch(span.start..held.start)?;
        Ok(Box::new(before.chain(memory)))
    }
}

/// A [`SpanFetcher`] that reads what is held from memory ([`Held::serve`]).
pub struct HeldFetcher {
    inner: Arc<dyn SpanFetcher>,
    held: Held,
}

impl HeldFetcher {
    /// Spans from `held` where they lie in it, else from `inner`.
    pub fn new(inner: Arc<dyn SpanFetcher>, held: Held) -> HeldFetcher {
        HeldFetcher { inner, held }
    }
}

impl SpanFetcher for HeldFetcher {
    fn fetch(&self, span: Range<u64>) -> Result<Body, Error> {
        self.held.serve(span, |span| self.inner.fetch(span))
    }
}

/// A source whose spans are read from `held` where they lie in it (an archive stored in an
/// archive: its end records, directory and members, when the outer archive's fetched bytes
/// hold them), else from the source itself.
pub struct HeldSource {
    inner: Box<dyn Source>,
    held: Held,
}

impl HeldSource {
    /// `inner`, with `held` read from memory.
    pub fn new(inner: Box<dyn Source>, held: Held) -> HeldSource {
        HeldSource { inner, held }
    }
}

impl Source for HeldSource {
    fn len(&self) -> Option<u64> {
        self.inner.len()
    }

    fn open(&mut self, range: &ByteRange) -> Result<Opened, Error> {
        self.inner.open(range)
    }

    fn probe(&mut self) -> Result<u64, Error> {
        self.inner.probe()
    }

    fn read_span(&mut self, span: Range<u64>) -> Result<Body, Error> {
        let inner = &mut self.inner;
        self.held.serve(span, |span| inner.read_span(span))
    }

    fn serves_ranges(&self) -> bool {
        self.inner.serves_ranges()
    }

    fn fetcher(&self) -> Option<Arc<dyn SpanFetcher>> {
        let inner = self.inner.fetcher()?;
        Some(Arc::new(HeldFetcher::new(inner, self.held.clone())))
    }

    fn cached(&self) -> Option<Cached> {
        self.inner.cached()
    }

    fn revalidate(&mut self, cached: Cached) {
        self.inner.revalidate(cached);
    }

    fn assume(&mut self, cached: Cached) {
        self.inner.assume(cached);
    }

    fn open_many(&mut self, batches: &[Vec<Range<u64>>]) -> Result<bool, Error> {
        self.inner.open_many(batches)
    }

    fn open_spans(&mut self, spans: &[Range<u64>]) -> Result<bool, Error> {
        self.inner.open_spans(spans)
    }

    fn lessons(&self) -> Lessons {
        self.inner.lessons()
    }

    fn learn(&mut self, lessons: Lessons) {
        self.inner.learn(lessons);
    }
}

/// Bytes `at..end` of shared bytes.
struct Memory {
    bytes: Arc<[u8]>,
    at: usize,
    end: usize,
}

impl Read for Memory {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.end - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn read(held: &Held, span: Range<u64>, asked: &RefCell<Vec<Range<u64>>>) -> Vec<u8> {
        let mut body = held
            .serve(span, |span| {
                asked.borrow_mut().push(span.clone());
                Ok(Box::new(io::repeat(b'n').take(span.end - span.start)) as Body)
            })
            .unwrap();
        let mut out = Vec::new();
        body.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // lists of one range, as meant
    fn spans_inside_the_bytes_held_cost_no_request() {
        let held = Held::new(10, Arc::from(&b"abcdef"[..]));
        let asked = RefCell::new(Vec::new());
        assert_eq!(read(&held, 11..14, &asked), b"bcd");
        assert_eq!(read(&held, 10..16, &asked), b"abcdef");
        assert_eq!(read(&held, 12..12, &asked), b"");
        assert!(asked.borrow().is_empty());
        // Ending inside: only the part before is asked for.
        assert_eq!(read(&held, 7..12, &asked), b"nnnab");
        assert_eq!(*asked.borrow(), [7..10]);
        // Past the end, or wholly before: asked for whole.
        assert_eq!(read(&held, 14..17, &asked), b"nnn");
        assert_eq!(read(&held, 2..10, &asked), b"nnnnnnnn");
        assert_eq!(*asked.borrow(), [7..10, 14..17, 2..10]);
        let none = Held::default();
        assert_eq!(read(&none, 0..0, &asked).len(), 0);
        assert_eq!(asked.borrow().len(), 4);
    }
}
