//! `-j N`: one large span read as consecutive segments over N connections at once, and
//! yielded strictly in order. The win on servers and links that throttle each connection.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::ops::Range;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread;

use super::{Body, Error};

/// Segment size: large enough that a request's round trip is small beside its transfer, small
/// enough that N segments held in memory stay cheap (N x 4 MiB).
pub const SEGMENT: u64 = 4 * 1024 * 1024;

/// Spans at least this long are split; shorter ones gain little from more connections.
pub const THRESHOLD: u64 = 2 * SEGMENT;

/// Reads spans, from several threads at once.
pub trait SpanFetcher: Send + Sync {
    /// A reader of exactly `span`.
    fn fetch(&self, span: Range<u64>) -> Result<Body, Error>;
}

type Chunk = io::Result<Vec<u8>>;

/// The segments of `span`, in order.
pub fn segments(span: Range<u64>, segment: u64) -> Vec<Range<u64>> {
    let mut out = Vec::new();
    let mut at = span.start;
    while at < span.end {
        let end = at.saturating_add(segment).min(span.end);
        out.push(at..end);
        at = end;
    }
    out
}

/// A reader of `span` fetched by `jobs` threads, `segment` bytes per request, read in
/// `chunk`-byte pieces. A thread may run ahead of the reader by at most one whole segment,
/// so memory stays under `jobs x (segment + chunk)`.
pub fn parallel_body(
    fetcher: Arc<dyn SpanFetcher>,
    span: Range<u64>,
    jobs: usize,
    segment: u64,
    chunk: usize,
) -> Body {
    let chunk = chunk.max(1);
    let depth = usize::try_from(segment.div_ceil(chunk as u64)).unwrap_or(usize::MAX);
    let mut queue = VecDeque::new();
    let mut receivers = VecDeque::new();
    for piece in segments(span, segment) {
        let (sender, receiver) = sync_channel(depth);
        queue.push_back((piece, sender));
        receivers.push_back(receiver);
    }
    let workers = jobs.clamp(1, queue.len().max(1));
    let queue = Arc::new(Mutex::new(queue));
    for _ in 0..workers {
        let queue = queue.clone();
        let fetcher = fetcher.clone();
        thread::spawn(move || work(&queue, fetcher.as_ref(), chunk));
    }
    Box::new(ParallelBody {
        receivers,
        current: Vec::new(),
        at: 0,
    })
}

/// Takes segments in order until none is left or the reader has gone away.
fn work(
    queue: &Mutex<VecDeque<(Range<u64>, SyncSender<Chunk>)>>,
    fetcher: &dyn SpanFetcher,
    chunk: usize,
) {
    loop {
        let Some((span, sender)) = queue.lock().ok().and_then(|mut q| q.pop_front()) else {
            return;
        };
        let mut body = match fetcher.fetch(span) {
            Ok(body) => body,
            Err(err) => {
                let _ = sender.send(Err(err.into()));
                return;
            }
        };
        if !pump(&mut body, &sender, chunk) {
            return;
        }
    }
}

/// Sends `body` down `sender` in pieces of `chunk` bytes; false when it stopped early (a read
/// error, which it sends on, or a reader that has gone away).
fn pump(body: &mut Body, sender: &SyncSender<Chunk>, chunk: usize) -> bool {
    loop {
        let mut piece = vec![0u8; chunk];
        let sent = match body.read(&mut piece) {
            Ok(0) => return true,
            Ok(n) => {
                piece.truncate(n);
                sender.send(Ok(piece))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = sender.send(Err(e));
                return false;
            }
        };
        if sent.is_err() {
            return false;
        }
    }
}

/// Reads `body` on a thread of its own, at most `depth` pieces of `chunk` bytes ahead of the
/// reader, so that the network and whatever consumes the bytes (a decompressor) overlap.
pub fn read_ahead(mut body: Body, chunk: usize, depth: usize) -> Body {
    let chunk = chunk.max(1);
    let (sender, receiver) = sync_channel::<Chunk>(depth.max(1));
    thread::spawn(move || pump(&mut body, &sender, chunk));
    Box::new(ParallelBody {
        receivers: VecDeque::from([receiver]),
        current: Vec::new(),
        at: 0,
    })
}

struct ParallelBody {
    receivers: VecDeque<Receiver<Chunk>>,
    current: Vec<u8>,
    at: usize,
}

impl Read for ParallelBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.at < self.current.len() {
                let n = buf.len().min(self.current.len() - self.at);
                buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
                self.at += n;
                return Ok(n);
            }
            let Some(receiver) = self.receivers.front() else {
                return Ok(0);
            };
            match receiver.recv() {
                Ok(Ok(piece)) => (self.current, self.at) = (piece, 0),
                Ok(Err(err)) => return Err(err),
                // The segment's sender is dropped once the segment is complete.
                Err(_) => {
                    self.receivers.pop_front();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Memory {
        data: Vec<u8>,
        requests: AtomicUsize,
    }

    impl SpanFetcher for Memory {
        fn fetch(&self, span: Range<u64>) -> Result<Body, Error> {
            self.requests.fetch_add(1, Ordering::SeqCst);
            if span.start == 7 * 1000 {
                let what = format!("segment at {} failed", span.start);
                return Err(Error::ResourceChanged { what });
            }
            let bytes = self.data[span.start as usize..span.end as usize].to_vec();
            Ok(Box::new(io::Cursor::new(bytes)))
        }
    }

    fn memory(len: usize) -> Arc<Memory> {
        Arc::new(Memory {
            data: (0..len).map(|i| (i * 13 % 256) as u8).collect(),
            requests: AtomicUsize::new(0),
        })
    }

    #[test]
    fn read_ahead_yields_the_body_and_its_error() {
        let data: Vec<u8> = (0..100_000).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        read_ahead(Box::new(io::Cursor::new(data.clone())), 1000, 2)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);
        let broken = io::Cursor::new(data[..5000].to_vec()).chain(Failing);
        let mut body = read_ahead(Box::new(broken), 1000, 2);
        let mut out = Vec::new();
        assert!(body.read_to_end(&mut out).is_err());
        assert_eq!(out, data[..5000]);
    }

    struct Failing;

    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("broken"))
        }
    }

    #[test]
    fn segments_cover_the_span_in_order() {
        assert_eq!(segments(10..35, 10), vec![10..20, 20..30, 30..35]);
        assert_eq!(segments(0..10, 10), vec![0..10]);
        assert_eq!(segments(5..5, 10), Vec::<Range<u64>>::new());
    }

    #[test]
    fn yields_the_span_in_order_whatever_the_jobs() {
        for jobs in [1, 2, 3, 8] {
            let source = memory(6500);
            let mut body = parallel_body(source.clone(), 100..6500, jobs, 1000, 64);
            let mut out = Vec::new();
            body.read_to_end(&mut out).unwrap();
            assert_eq!(out, source.data[100..6500], "jobs {jobs}");
            assert_eq!(source.requests.load(Ordering::SeqCst), 7);
        }
    }

    #[test]
    fn a_failed_segment_fails_the_read_when_reached() {
        let source = memory(9000);
        let mut body = parallel_body(source.clone(), 0..9000, 3, 1000, 256);
        let mut out = Vec::new();
        let err = body.read_to_end(&mut out).unwrap_err();
        assert!(err.to_string().contains("segment at 7000 failed"), "{err}");
        assert_eq!(
            out,
            source.data[..7000],
            "everything before it was delivered"
        );
    }
}
