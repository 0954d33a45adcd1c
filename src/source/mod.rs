//! Where bytes come from: one trait, [`Source`], with an HTTP implementation
//! ([`http::HttpSource`]) and a local-file one ([`file::FileSource`]), the seekable
//! [`RangeStream`] built on top of any source, what `info` learns ([`info`]), and the
//! typed [`Error`] they all fail with.
//!
//! ```no_run
//! use std::io::{Read, Seek, SeekFrom};
//! use rangecat::range::ByteRange;
//! use rangecat::source::{self, HttpConfig, Opened, RangeStream};
//!
//! # fn main() -> Result<(), rangecat::source::Error> {
//! // One request for the last KiB teaches the length too.
//! let mut source = source::open("https://example.com/big.bin", &HttpConfig::default())?;
//! if let Opened::Partial { span, mut body } = source.open(&ByteRange::Suffix(1024))? {
//!     let mut tail = Vec::new();
//!     body.read_to_end(&mut tail)?;
//!     println!("bytes {span:?} of {:?}", source.len());
//! }
//! // A seekable view that fetches only what it has not seen.
//! let mut stream = RangeStream::new(source)?;
//! stream.seek(SeekFrom::Start(0))?;
//! let mut magic = [0u8; 4];
//! stream.read_exact(&mut magic)?;
//! # Ok(())
//! # }
//! ```

mod error;
pub(crate) mod file;
pub(crate) mod http;
pub(crate) mod info;
pub(crate) mod multipart;
pub(crate) mod parallel;
pub(crate) mod reader;
mod retry;
pub(crate) mod window;

pub use error::Error;
pub use file::FileSource;
pub use http::{Cached, HttpConfig, HttpSource, Identity, Lessons, MAX_REDIRECTS};
pub use info::{Info, info};
pub use parallel::{SEGMENT, SpanFetcher, THRESHOLD, read_ahead};
pub use reader::RangeStream;

use std::io::Read;
use std::ops::Range;
use std::sync::Arc;

use crate::range::ByteRange;

/// A reader of response bytes that can be sent to another thread.
pub type Body = Box<dyn Read + Send>;

/// What the first request for a range brought back.
pub enum Opened {
    /// Exactly `span` (a 206, or a local file); `body` yields its bytes.
    Partial {
        /// The bytes the body holds, half-open.
        span: Range<u64>,
        /// The bytes.
        body: Body,
    },
    /// The server ignored `Range`: `body` is the whole resource from byte 0.
    Whole {
        /// The whole resource.
        body: Body,
    },
    /// The range starts at or past the end (a 416): nothing to read.
    Unsatisfiable,
}

/// A resource whose bytes can be read by range.
// `len` is an Option learned from the first response; an `is_empty` would only restate it.
#[allow(clippy::len_without_is_empty)]
pub trait Source {
    /// The total length, once a response (or the file system) has told it.
    fn len(&self) -> Option<u64>;

    /// Asks for `range` without knowing the length; the answer teaches the length.
    fn open(&mut self, range: &ByteRange) -> Result<Opened, Error>;

    /// Learns the length without reading the body: `HEAD`, or `GET bytes=0-0` where
    /// HEAD is refused.
    fn probe(&mut self) -> Result<u64, Error>;

    /// Reads exactly `span`, which lies within the known length, whatever the server does:
    /// a 206, a 200 whose prefix is skipped while streaming, a resume after a broken
    /// connection. Errors when the resource changed since the first response.
    fn read_span(&mut self, span: Range<u64>) -> Result<Body, Error>;

    /// Whether the source serves ranges itself (false: every read streams from byte 0).
    fn serves_ranges(&self) -> bool {
        true
    }

    /// A handle that reads spans from several threads at once, where that can pay (`-j`).
    fn fetcher(&self) -> Option<Arc<dyn parallel::SpanFetcher>> {
        None
    }

    /// The version read so far, where it can be kept and revalidated (HTTP with a strong
    /// validator, a length, and no `no-store`).
    fn cached(&self) -> Option<Cached> {
        None
    }

    /// The next [`open`](Source::open) asks whether `cached` is still the version
    /// (`If-None-Match`); [`Error::NotModified`] says it is, and the source then takes it as
    /// its first response.
    fn revalidate(&mut self, cached: Cached) {
        let _ = cached;
    }

    /// Takes `cached` as the first response without asking; every request then carries a
    /// precondition (`If-Match`) whose failure is [`Error::ResourceChanged`].
    fn assume(&mut self, cached: Cached) {
        let _ = cached;
    }

    /// Takes `identity` as the first response's without asking (a partial download's version,
    /// README "Output"): every request carries `If-Range` with its validator, and an answer
    /// of another version is [`Error::ResourceChanged`].
    fn resume(&mut self, identity: Identity) {
        let _ = identity;
    }

    /// The first response's validators and length (also with `no-store`, unlike
    /// [`cached`](Source::cached)), once there was one.
    fn version(&self) -> Option<Identity> {
        None
    }

    /// What the server taught so far about the requests it takes.
    fn lessons(&self) -> Lessons {
        Lessons::default()
    }

    /// Takes what the server taught an earlier run (kept by the cache): requests it refused
    /// are not sent again. [`Lessons::suffix_refused`] is also how a caller says it saw a
    /// suffix range refused, by an error or by a 200 it dropped: the source then does not
    /// take that 200 as a sign that every range is ignored.
    fn learn(&mut self, lessons: Lessons) {
        let _ = lessons;
    }

    /// Sends the first requests, one for each of `spans` (non-empty; `-j N` with every RANGE
    /// absolute), all at once: the first answer to come teaches the length. When every span
    /// lies inside the resource and was answered with its bytes, the answers are kept for
    /// the reads of the same spans (the [`fetcher`](Source::fetcher)'s `fetch`, or
    /// [`read_span`](Source::read_span)) and this returns true; otherwise they are dropped,
    /// having taught what they could, and the fetch goes on as without them.
    fn open_spans(&mut self, spans: &[Range<u64>]) -> Result<bool, Error> {
        let _ = spans;
        Ok(false)
    }

    /// Sends the first requests as multi-range requests, one for each of `batches` (each of
    /// at least two disjoint, non-empty spans, in any order; `--multipart` with every RANGE
    /// absolute), all at once: the first answer to come teaches the length, as a single
    /// range would. When every answer brings exactly its spans, all inside the resource,
    /// they are kept for the [`fetcher`](Source::fetcher)'s `fetch_many` of the same spans
    /// and this returns true; otherwise they are dropped (having taught what their heads
    /// could) and the fetch goes on as without them.
    fn open_many(&mut self, batches: &[Vec<Range<u64>>]) -> Result<bool, Error> {
        let _ = batches;
        Ok(false)
    }
}

impl<S: Source + ?Sized> Source for Box<S> {
    fn len(&self) -> Option<u64> {
        (**self).len()
    }
    fn open(&mut self, range: &ByteRange) -> Result<Opened, Error> {
        (**self).open(range)
    }
    fn probe(&mut self) -> Result<u64, Error> {
        (**self).probe()
    }
    fn read_span(&mut self, span: Range<u64>) -> Result<Body, Error> {
        (**self).read_span(span)
    }
    fn serves_ranges(&self) -> bool {
        (**self).serves_ranges()
    }
    fn fetcher(&self) -> Option<Arc<dyn parallel::SpanFetcher>> {
        (**self).fetcher()
    }
    fn cached(&self) -> Option<Cached> {
        (**self).cached()
    }
    fn revalidate(&mut self, cached: Cached) {
        (**self).revalidate(cached)
    }
    fn assume(&mut self, cached: Cached) {
        (**self).assume(cached)
    }
    fn open_many(&mut self, batches: &[Vec<Range<u64>>]) -> Result<bool, Error> {
        (**self).open_many(batches)
    }
    fn open_spans(&mut self, spans: &[Range<u64>]) -> Result<bool, Error> {
        (**self).open_spans(spans)
    }
    fn lessons(&self) -> Lessons {
        (**self).lessons()
    }
    fn learn(&mut self, lessons: Lessons) {
        (**self).learn(lessons)
    }
    fn resume(&mut self, identity: Identity) {
        (**self).resume(identity)
    }
    fn version(&self) -> Option<Identity> {
        (**self).version()
    }
}

/// Opens `location` as a source: `http://`, `https://` and `s3://` URLs over HTTP, `file://`
/// URLs and plain paths from the file system. The source may be moved to another thread (a
/// Python file object's, say).
pub fn open(location: &str, config: &HttpConfig) -> Result<Box<dyn Source + Send>, Error> {
    if is_remote(location) {
        return Ok(Box::new(HttpSource::new(location, config)?));
    }
    let path = file::path_of(location)?;
    Ok(Box::new(file::FileSource::open(&path)?))
}

/// Whether `location` is an `http://`, `https://` or `s3://` URL.
pub fn is_remote(location: &str) -> bool {
    crate::http::is_plain_http(location)
        || crate::http::is_https(location)
        || crate::s3::is_s3(location)
}
