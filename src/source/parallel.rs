//! `-j N`: the ordered parallel reader. A plan's requests (large spans cut into segments,
//! and any number of small ones) are fetched over N connections at once and yielded strictly
//! in order: the win on links with long round trips and on servers that throttle each
//! connection.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::ops::Range;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex};
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

    /// A reader of every span's bytes in order, from one request (disjoint spans in any
    /// order, at most 16 MiB (`multipart::MAX_HELD`) in all when they are not
    /// ascending; HTTP's multi-range request); `None` when the source cannot send one.
    fn fetch_many(&self, spans: &[Range<u64>]) -> Result<Option<Body>, Error> {
        let _ = spans;
        Ok(None)
    }
}

type Chunk = io::Result<Vec<u8>>;

/// The requests of a parallel read, numbered in order: spans, each cut into segments of its
/// own size, and batches of spans asked for in one multi-range request. Held as the spans
/// themselves, so a span of any length costs nothing.
#[derive(Debug, Clone, Default)]
pub struct Pieces {
    /// Each span or batch with its segment size and the number of its first piece.
    spans: Vec<(Entry, u64)>,
    count: u64,
}

#[derive(Debug, Clone)]
enum Entry {
    Span(Range<u64>, u64),
    Batch(Vec<Range<u64>>),
}

/// One request of a parallel read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// One span.
    Span(Range<u64>),
    /// Several, in one request where the source can ([`SpanFetcher::fetch_many`]).
    Batch(&'a [Range<u64>]),
}

impl Piece<'_> {
    /// The bytes it brings.
    pub fn len(&self) -> u64 {
        match self {
            Piece::Span(span) => span.end - span.start,
            Piece::Batch(spans) => spans.iter().map(|s| s.end - s.start).sum(),
        }
    }
}

impl Pieces {
    /// No pieces yet.
    pub fn new() -> Pieces {
        Pieces::default()
    }

    /// Adds `span`, cut into segments of `segment` bytes (`u64::MAX`: one request). An
    /// empty span adds nothing.
    pub fn push(&mut self, span: Range<u64>, segment: u64) {
        let segment = segment.max(1);
        let count = segment_count(&span, segment);
        if count > 0 {
            self.spans.push((Entry::Span(span, segment), self.count));
            self.count = self.count.saturating_add(count);
        }
    }

    /// Adds `spans` as one request (ascending, disjoint, non-empty spans).
    pub fn push_batch(&mut self, spans: Vec<Range<u64>>) {
        if !spans.is_empty() {
            self.spans.push((Entry::Batch(spans), self.count));
            self.count = self.count.saturating_add(1);
        }
    }

    /// How many requests in all.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Request `index`.
    pub fn get(&self, index: u64) -> Piece<'_> {
        let at = self.spans.partition_point(|(_, first)| *first <= index) - 1;
        match &self.spans[at] {
            (Entry::Span(span, segment), first) => {
                Piece::Span(segment_at(span, *segment, index - first))
            }
            (Entry::Batch(spans), _) => Piece::Batch(spans),
        }
    }
}

/// The segments of `span`, in order.
#[cfg(test)]
fn segments(span: Range<u64>, segment: u64) -> Vec<Range<u64>> {
    (0..segment_count(&span, segment))
        .map(|i| segment_at(&span, segment, i))
        .collect()
}

/// The first `most` segments of `span`, in order.
pub fn segments_up_to(span: Range<u64>, segment: u64, most: usize) -> Vec<Range<u64>> {
    let count = segment_count(&span, segment).min(u64::try_from(most).unwrap_or(u64::MAX));
    (0..count).map(|i| segment_at(&span, segment, i)).collect()
}

fn segment_count(span: &Range<u64>, segment: u64) -> u64 {
    (span.end.saturating_sub(span.start)).div_ceil(segment.max(1))
}

fn segment_at(span: &Range<u64>, segment: u64, index: u64) -> Range<u64> {
    let start = span.start + index * segment.max(1);
    start..start.saturating_add(segment.max(1)).min(span.end)
}

/// A reader of `span` fetched by `jobs` threads, `segment` bytes per request, read in
/// `chunk`-byte pieces. Segments are started only within a window of `jobs` from the one
/// being read, so memory stays under `jobs x (segment + chunk)` however long the span (its
/// length may be a number a server made up: nothing is sized by it).
#[cfg(test)]
fn parallel_body(
    fetcher: Arc<dyn SpanFetcher>,
    span: Range<u64>,
    jobs: usize,
    segment: u64,
    chunk: usize,
) -> Body {
    let mut pieces = Pieces::new();
    pieces.push(span, segment);
    ordered_body(fetcher, pieces, jobs, chunk)
}

/// The most bytes a piece holds ahead of the reader (in chunks): a longer piece (an unsplit
/// span under [`THRESHOLD`], a batch) waits for the reader, so N pieces hold N segments.
const MOST_AHEAD: u64 = SEGMENT;

/// What a started piece is counted as holding beyond its bytes (its channel, its chunk's
/// allocation): a thousand tiny pieces ahead are not free.
const PIECE_OVERHEAD: u64 = 4096;

/// What a piece may hold until the reader takes it.
fn held_by(piece: &Piece<'_>) -> u64 {
    piece.len().min(MOST_AHEAD) + PIECE_OVERHEAD
}

/// A reader of every piece's bytes, in order, fetched by `jobs` threads one request per
/// piece and read in `chunk`-byte pieces. At most `jobs` requests are in flight (one per
/// thread), and a piece is started only while the started pieces the reader has not taken
/// ([`held_by`]) hold at most what `jobs` segments do: memory stays under
/// `jobs x (SEGMENT + chunk)` however many pieces there are, and many small pieces keep
/// every thread busy even when one of them is slow (the threads do not wait for the reader
/// to reach it, as curl `-Z` does not).
pub fn ordered_body(
    fetcher: Arc<dyn SpanFetcher>,
    pieces: Pieces,
    jobs: usize,
    chunk: usize,
) -> Body {
    let chunk = chunk.max(1);
    let count = pieces.count();
    let jobs = u64::try_from(jobs.max(1))
        .unwrap_or(u64::MAX)
        .min(count.max(1));
    let window = Arc::new(Window::new(count, jobs));
    let pieces = Arc::new(pieces);
    for _ in 0..jobs {
        let window = window.clone();
        let fetcher = fetcher.clone();
        let pieces = pieces.clone();
        thread::spawn(move || {
            while let Some(index) = window.next_to_start(&pieces) {
                let piece = pieces.get(index);
                let ahead = piece.len().min(MOST_AHEAD);
                let depth = usize::try_from(ahead.div_ceil(chunk as u64)).unwrap_or(usize::MAX);
                // One place more for the empty piece that ends it.
                let (sender, receiver) = sync_channel(depth.max(1) + 1);
                window.started(index, receiver, held_by(&piece));
                let fetched = match piece {
                    Piece::Span(span) => fetcher.fetch(span),
                    Piece::Batch(spans) => fetch_all(&fetcher, spans),
                };
                let mut body = match fetched {
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
        });
    }
    Box::new(ParallelBody {
        window,
        receiver: None,
        current: Vec::new(),
        at: 0,
    })
}

/// Which segments are started, and which one the reader is at.
struct Window {
    state: Mutex<WindowState>,
    changed: Condvar,
}

struct WindowState {
    /// Segments in all.
    count: u64,
    /// How many segments' worth may be held ahead of the reader.
    jobs: u64,
    /// The next segment to start.
    next: u64,
    /// What the segment the reader reads may hold ([`held_by`]).
    reading: u64,
    /// What the started segments the reader has not finished may hold, that one included.
    held: u64,
    /// The next segment the reader will take.
    taken: u64,
    /// Started segments the reader has not taken yet, with what each may hold.
    ready: BTreeMap<u64, (Receiver<Chunk>, u64)>,
    /// The reader is gone.
    closed: bool,
}

impl Window {
    fn new(count: u64, jobs: u64) -> Window {
        Window {
            state: Mutex::new(WindowState {
                count,
                jobs,
                next: 0,
                reading: 0,
                held: 0,
                taken: 0,
                ready: BTreeMap::new(),
                closed: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WindowState> {
        // A thread that panicked left the state consistent: every change is one statement.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next segment to start, waiting until what it may hold fits the budget (`jobs`
    /// pieces of [`MOST_AHEAD`] bytes); `None` when all are started or the reader is gone.
    fn next_to_start(&self, pieces: &Pieces) -> Option<u64> {
        let mut state = self.lock();
        loop {
            if state.closed || state.next >= state.count {
                return None;
            }
            // A piece always fits once all before it are taken: at most `held_by` it holds.
            let holds = held_by(&pieces.get(state.next));
            let budget = state.jobs.saturating_mul(MOST_AHEAD + PIECE_OVERHEAD);
            if state.held + holds <= budget {
                state.next += 1;
                state.held += holds;
                return Some(state.next - 1);
            }
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn started(&self, index: u64, receiver: Receiver<Chunk>, holds: u64) {
        self.lock().ready.insert(index, (receiver, holds));
        self.changed.notify_all();
    }

    /// The reader's next segment, waiting until it is started; `None` past the last.
    fn take_next(&self) -> Option<Receiver<Chunk>> {
        let mut state = self.lock();
        if state.taken >= state.count {
            return None;
        }
        // The segment before is read: what it held is free.
        state.held -= std::mem::take(&mut state.reading);
        self.changed.notify_all();
        loop {
            let want = state.taken;
            if let Some((receiver, holds)) = state.ready.remove(&want) {
                state.taken += 1;
                state.reading = holds;
                return Some(receiver);
            }
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }
}

/// Every span's bytes in order: one request where the fetcher can send one, else one
/// request per span, each sent when the one before is read.
pub fn fetch_all(fetcher: &Arc<dyn SpanFetcher>, spans: &[Range<u64>]) -> Result<Body, Error> {
    if let Some(body) = fetcher.fetch_many(spans)? {
        return Ok(body);
    }
    Ok(one_by_one(fetcher.clone(), spans.to_vec()))
}

/// The bytes of `wanted` (disjoint spans, in any order) from `body`, which yields the same
/// spans in ascending order: a span that comes before it is needed is held in memory, at most
/// `most_held` bytes in all (past that, a read fails). A multi-range request asks for its
/// ranges in ascending order; the output wants them as the plan orders them.
pub fn reordered(body: Body, wanted: Vec<Range<u64>>, most_held: u64) -> Body {
    let mut sorted = wanted.clone();
    sorted.sort_by_key(|span| span.start);
    Box::new(Reordered {
        body,
        sorted,
        next: 0,
        held: BTreeMap::new(),
        held_bytes: 0,
        most_held,
        wanted,
        at: 0,
        pos: 0,
    })
}

/// See [`reordered`].
struct Reordered {
    body: Body,
    /// The spans in the order `body` yields them, and the next one it will.
    sorted: Vec<Range<u64>>,
    next: usize,
    /// Spans read before they were needed, by start.
    held: BTreeMap<u64, Vec<u8>>,
    held_bytes: u64,
    most_held: u64,
    /// The spans in the order to yield, the one being yielded and the position in it.
    wanted: Vec<Range<u64>>,
    at: usize,
    pos: u64,
}

impl Read for Reordered {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Bounded: each turn yields bytes, moves to the next wanted span, or holds one span.
        loop {
            let Some(want) = self.wanted.get(self.at).cloned() else {
                return Ok(0);
            };
            let left = want.end - want.start - self.pos;
            if left == 0 {
                self.at += 1;
                self.pos = 0;
                continue;
            }
            if buf.is_empty() {
                return Ok(0);
            }
            let limit = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            if let Some(bytes) = self.held.get(&want.start) {
                let from = usize::try_from(self.pos).unwrap_or(usize::MAX);
                buf[..limit].copy_from_slice(&bytes[from..from + limit]);
                self.pos += limit as u64;
                if self.pos == want.end - want.start {
                    let gone = self.held.remove(&want.start).map_or(0, |b| b.len() as u64);
                    self.held_bytes -= gone;
                }
                return Ok(limit);
            }
            let Some(coming) = self.sorted.get(self.next).cloned() else {
                return Err(Error::EndedEarly { missing: left }.into());
            };
            if coming.start == want.start {
                let n = self.body.read(&mut buf[..limit])?;
                if n == 0 {
                    return Err(Error::EndedEarly { missing: left }.into());
                }
                self.pos += n as u64;
                if self.pos == want.end - want.start {
                    self.next += 1;
                }
                return Ok(n);
            }
            // A span needed later: held until then.
            let len = coming.end - coming.start;
            if self.held_bytes + len > self.most_held {
                let what = "ranges out of order beyond what can be held";
                return Err(io::Error::other(what));
            }
            let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            (&mut self.body).take(len).read_to_end(&mut bytes)?;
            if (bytes.len() as u64) < len {
                let missing = len - bytes.len() as u64;
                return Err(Error::EndedEarly { missing }.into());
            }
            self.held_bytes += len;
            self.held.insert(coming.start, bytes);
            self.next += 1;
        }
    }
}

/// Every span's bytes in order, one request per span, each sent when the one before is read.
pub fn one_by_one(fetcher: Arc<dyn SpanFetcher>, spans: Vec<Range<u64>>) -> Body {
    Box::new(OneByOne {
        fetcher,
        spans,
        next: 0,
        body: None,
        left: 0,
    })
}

/// One request per span, in turn.
struct OneByOne {
    fetcher: Arc<dyn SpanFetcher>,
    spans: Vec<Range<u64>>,
    next: usize,
    body: Option<Body>,
    /// Bytes of the current span not read yet.
    left: u64,
}

impl Read for OneByOne {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(body) = &mut self.body {
                let want = buf
                    .len()
                    .min(usize::try_from(self.left).unwrap_or(usize::MAX));
                match body.read(&mut buf[..want])? {
                    0 if self.left > 0 => {
                        return Err(Error::EndedEarly { missing: self.left }.into());
                    }
                    0 => self.body = None,
                    n => {
                        self.left -= n as u64;
                        return Ok(n);
                    }
                }
            }
            let Some(span) = self.spans.get(self.next) else {
                return Ok(0);
            };
            self.next += 1;
            self.left = span.end - span.start;
            self.body = Some(self.fetcher.fetch(span.clone())?);
        }
    }
}

/// Sends `body` down `sender` in pieces of `chunk` bytes, then an empty piece that says it
/// ended; false when it stopped early (a read error, which it sends on, or a reader that has
/// gone away).
fn pump(body: &mut Body, sender: &SyncSender<Chunk>, chunk: usize) -> bool {
    loop {
        let mut piece = vec![0u8; chunk];
        let sent = match body.read(&mut piece) {
            Ok(0) => return sender.send(Ok(Vec::new())).is_ok(),
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
    let (sender, receiver) = sync_channel::<Chunk>(depth.max(1) + 1);
    thread::spawn(move || pump(&mut body, &sender, chunk));
    let window = Arc::new(Window::new(1, 1));
    window.lock().next = 1;
    window.started(0, receiver, 0);
    Box::new(ParallelBody {
        window,
        receiver: None,
        current: Vec::new(),
        at: 0,
    })
}

/// The reader side: segments' pieces in order.
struct ParallelBody {
    window: Arc<Window>,
    /// The segment being read.
    receiver: Option<Receiver<Chunk>>,
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
            if self.receiver.is_none() {
                match self.window.take_next() {
                    Some(receiver) => self.receiver = Some(receiver),
                    None => return Ok(0),
                }
            }
            let receiver = self.receiver.as_ref().expect("set above");
            match receiver.recv() {
                // The segment is complete.
                Ok(Ok(piece)) if piece.is_empty() => self.receiver = None,
                Ok(Ok(piece)) => (self.current, self.at) = (piece, 0),
                Ok(Err(err)) => return Err(err),
                // Its thread stopped without saying why (it panicked).
                Err(_) => return Err(io::Error::other("a thread reading a segment stopped")),
            }
        }
    }
}

impl Drop for ParallelBody {
    fn drop(&mut self) {
        self.window.close();
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

    #[test]
    fn reordered_spans_come_out_in_the_order_wanted_within_what_may_be_held() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let wanted = vec![500..600, 0..10, 900..1000, 100..200];
        let mut sorted = wanted.clone();
        sorted.sort_by_key(|span| span.start);
        let ascending: Vec<u8> = sorted
            .iter()
            .flat_map(|s| data[s.start as usize..s.end as usize].to_vec())
            .collect();
        let want: Vec<u8> = wanted
            .iter()
            .flat_map(|s| data[s.start as usize..s.end as usize].to_vec())
            .collect();
        let body = Box::new(io::Cursor::new(ascending.clone()));
        let mut got = Vec::new();
        reordered(body, wanted.clone(), 210)
            .read_to_end(&mut got)
            .unwrap();
        assert_eq!(got, want);
        // 0..10 and 100..200 are held for 500..600: 110 bytes, over a limit of 100.
        let body = Box::new(io::Cursor::new(ascending.clone()));
        let err = reordered(body, wanted.clone(), 100)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains("out of order"), "{err}");
        // A body that ends early is an error, not fewer bytes.
        let body = Box::new(io::Cursor::new(ascending[..150].to_vec()));
        assert!(
            reordered(body, wanted, 1000)
                .read_to_end(&mut Vec::new())
                .is_err()
        );
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
    fn pieces_number_every_span_s_segments_in_order() {
        let mut pieces = Pieces::new();
        pieces.push(10..35, 10);
        pieces.push(40..40, 10);
        pieces.push(50..60, u64::MAX);
        pieces.push(100..1 << 62, 1 << 60);
        assert_eq!(pieces.count(), 3 + 1 + 4);
        let all: Vec<Range<u64>> = (0..pieces.count())
            .map(|i| match pieces.get(i) {
                Piece::Span(span) => span,
                Piece::Batch(_) => unreachable!("no batch pushed"),
            })
            .collect();
        assert_eq!(all[..4], [10..20, 20..30, 30..35, 50..60]);
        assert_eq!(all[4], 100..(1 << 60) + 100);
        assert_eq!(all[7], 3 * (1 << 60) + 100..1 << 62);
    }

    /// Counts the requests in flight (fetched, body not yet dropped) and the most at once.
    struct Gauge {
        data: Vec<u8>,
        requests: AtomicUsize,
        in_flight: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    }

    struct Counted {
        body: io::Cursor<Vec<u8>>,
        in_flight: Arc<AtomicUsize>,
    }

    impl Read for Counted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.body.read(buf)
        }
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }

    impl SpanFetcher for Gauge {
        fn fetch(&self, span: Range<u64>) -> Result<Body, Error> {
            self.requests.fetch_add(1, Ordering::SeqCst);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            thread::sleep(std::time::Duration::from_millis(2));
            let bytes = self.data[span.start as usize..span.end as usize].to_vec();
            Ok(Box::new(Counted {
                body: io::Cursor::new(bytes),
                in_flight: self.in_flight.clone(),
            }))
        }
    }

    #[test]
    fn many_spans_are_yielded_in_order_with_at_most_jobs_in_flight() {
        let gauge = Arc::new(Gauge {
            data: (0..20_000).map(|i| (i * 7 % 251) as u8).collect(),
            requests: AtomicUsize::new(0),
            in_flight: Arc::new(AtomicUsize::new(0)),
            most: Arc::new(AtomicUsize::new(0)),
        });
        let mut spans: Vec<Range<u64>> = vec![500..600, 0..100, 19_000..20_000, 300..5300];
        spans.extend((0..40).map(|i| i * 400 + 50..i * 400 + 150));
        let mut pieces = Pieces::new();
        for span in &spans {
            pieces.push(span.clone(), 1000);
        }
        let mut out = Vec::new();
        ordered_body(gauge.clone(), pieces, 3, 64)
            .read_to_end(&mut out)
            .unwrap();
        let want: Vec<u8> = spans
            .iter()
            .flat_map(|s| gauge.data[s.start as usize..s.end as usize].to_vec())
            .collect();
        assert_eq!(out, want);
        assert_eq!(gauge.requests.load(Ordering::SeqCst), 3 + 5 + 40);
        assert_eq!(gauge.most.load(Ordering::SeqCst), 3, "in flight at once");
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

    /// Serves any span of a made-up resource, counting the requests started.
    struct Endless {
        started: AtomicUsize,
    }

    impl SpanFetcher for Endless {
        fn fetch(&self, span: Range<u64>) -> Result<Body, Error> {
            self.started.fetch_add(1, Ordering::SeqCst);
            Ok(Box::new(io::repeat(7).take(span.end - span.start)))
        }
    }

    #[test]
    fn a_span_of_any_claimed_length_starts_only_what_the_budget_holds() {
        let fetcher = Arc::new(Endless {
            started: AtomicUsize::new(0),
        });
        // 2^62 bytes, as a hostile Content-Range may claim: nothing is sized by it.
        let mut body = parallel_body(fetcher.clone(), 0..1 << 62, 4, 1000, 100);
        let mut first = vec![0u8; 2500];
        body.read_exact(&mut first).unwrap();
        assert!(first.iter().all(|&b| b == 7));
        // Segments 0-1 are read and 2 is being read; the started ones not read, 2 included,
        // hold at most what 4 segments of MOST_AHEAD do, each counted as its 1,000 bytes
        // and the overhead.
        let budget = 4 * (MOST_AHEAD + PIECE_OVERHEAD) / (1000 + PIECE_OVERHEAD);
        let bound = 2 + budget as usize;
        let started = || fetcher.started.load(Ordering::SeqCst);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while started() < bound && std::time::Instant::now() < deadline {
            thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(started(), bound, "the budget filled, no further");
        thread::sleep(std::time::Duration::from_millis(100));
        assert_eq!(started(), bound, "nothing starts while the reader waits");
        // Reading on frees the budget for more.
        let mut more = vec![0u8; 10_000];
        body.read_exact(&mut more).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while started() < bound + 10 && std::time::Instant::now() < deadline {
            thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(started(), bound + 10, "ten more taken, ten more started");
        drop(body);
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

    /// Panics on every segment from 3000 on.
    struct Panicking(Arc<Memory>);

    impl SpanFetcher for Panicking {
        fn fetch(&self, span: Range<u64>) -> Result<Body, Error> {
            assert!(span.start < 3000, "a worker thread panics");
            self.0.fetch(span)
        }
    }

    #[test]
    fn a_panicking_thread_fails_the_read_instead_of_hanging_or_cutting_it_short() {
        let source = memory(9000);
        let fetcher = Arc::new(Panicking(source.clone()));
        let (done, result) = std::sync::mpsc::channel();
        thread::spawn(move || {
            let mut body = parallel_body(fetcher, 0..9000, 2, 1000, 256);
            let mut out = Vec::new();
            let err = body.read_to_end(&mut out).err();
            let _ = done.send((err, out));
        });
        let (err, out) = result
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the read hung");
        let err = err.expect("the read failed");
        assert!(err.to_string().contains("stopped"), "{err}");
        assert_eq!(out, source.data[..3000]);
    }
}
