//! Which request brings each member's bytes and which worker writes them: stretches of
//! neighbouring members, each read with one forward request and handed member by member to
//! `jobs` workers, as ripunzip does; or one request per member in the calling thread.

use std::io::{self, Read};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread;

use super::write::write_job;
use super::{Job, Shared, Step};
use crate::source::parallel::{self, SpanFetcher};
use crate::source::{self, Body};
use crate::zip::Error;

/// Runs `jobs` with `ctx.config.jobs` workers, as ripunzip does: stretches of neighbouring
/// members ([`stretches`]) are each read with one forward request by a reader thread, at
/// most `jobs` requests at once, and every member's bytes go to the next free worker, which
/// decompresses and writes it. A request never waits for a decompressor it does not need,
/// so few requests keep every worker busy. Stops after a fatal error, which is returned.
pub(super) fn run_concurrently(
    jobs: &[Job<'_>],
    fetcher: Arc<dyn SpanFetcher>,
    ctx: &Shared<'_>,
    record: &(dyn Fn(usize, Step) -> Option<Error> + Sync),
) -> Option<Error> {
    let workers = ctx.config.jobs.clamp(1, jobs.len().max(1));
    let batches = stretches(jobs, workers);
    let readers = workers.min(batches.len());
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let fatal = Mutex::new(None);
    let finish = |slot: usize, step: Step| {
        if let Some(err) = record(slot, step) {
            stop.store(true, Ordering::SeqCst);
            fatal.lock().expect("fatal lock").get_or_insert(err);
        }
    };
    // Each queued item holds at most `WHOLE` bytes and a longer member at most
    // `PIPE_DEPTH + 2` pieces of it, so memory stays within a few `WHOLE` per worker and
    // reader however large the archive.
    let (queue, work) = sync_channel::<Work>(workers);
    let work = Mutex::new(work);
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let Ok(item) = work.lock().unwrap_or_else(|e| e.into_inner()).recv() else {
                        return;
                    };
                    match item {
                        // Dropped after a stop: the readers see it and end.
                        _ if stop.load(Ordering::SeqCst) => {}
                        Work::Whole { slots, bytes } => {
                            let mut rest = &bytes[..];
                            for slot in slots {
                                let len = (jobs[slot].span.end - jobs[slot].span.start) as usize;
                                let (member, after) = rest.split_at(len.min(rest.len()));
                                rest = after;
                                finish(slot, write_job(&jobs[slot], member, ctx));
                            }
                        }
                        Work::Piped {
                            slot,
                            pieces,
                            broken,
                        } => {
                            let body = Pipe {
                                pieces,
                                piece: io::Cursor::new(Vec::new()),
                            };
                            match write_job(&jobs[slot], body, ctx) {
                                // Its request failed inside it: the reader reports that.
                                Step::Failed(_) if broken.load(Ordering::SeqCst) => {}
                                step => finish(slot, step),
                            }
                        }
                    }
                }
            });
        }
        for _ in 0..readers {
            let queue = queue.clone();
            let (next, stop, finish) = (&next, &stop, &finish);
            let (batches, fetcher) = (&batches, &*fetcher);
            scope.spawn(move || {
                while let Some(batch) = batches.get(next.fetch_add(1, Ordering::SeqCst)) {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Err((slot, source)) = read_stretch(jobs, batch, fetcher, &queue, stop) {
                        let name = jobs[slot].entry.name.clone();
                        finish(slot, Step::Fatal(Error::Fetch { name, source }));
                        return;
                    }
                }
            });
        }
        drop(queue);
    });
    fatal.into_inner().expect("fatal lock")
}

/// A stretch of its own covers at least this much: another connection pays for its round
/// trip (and its slow start) only when it moves this many bytes. The size from which `-j`
/// splits a transfer ([`parallel::THRESHOLD`]).
const STRETCH_MIN: u64 = parallel::THRESHOLD;

/// Groups the members into stretches, each fetched with one forward request and read member
/// after member, as ripunzip does: about one stretch per worker when most of a large archive
/// is extracted (a thousand members cost a few requests, not a thousand round trips). The
/// members are taken in the order of their bytes in the archive, whatever the central
/// directory's order (an archive updated in place lists them otherwise). The selected bytes
/// make `k = clamp(total / STRETCH_MIN, 1, workers)` stretches: member `i` goes to stretch
/// `offset_i / ceil(total / k)`, `offset_i` being the selected bytes before it; members that
/// are not neighbours (more than [`GAP`] bytes apart) never share a request. Each stretch is
/// its members' slots, in the order of their bytes.
fn stretches(jobs: &[Job<'_>], workers: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&slot| jobs[slot].span.start);
    let total: u64 = jobs.iter().map(|j| j.span.end - j.span.start).sum();
    let count = (total / STRETCH_MIN).clamp(1, workers.max(1) as u64);
    let size = total.div_ceil(count).max(1);
    let mut stretches: Vec<(Vec<usize>, u64)> = Vec::new();
    let mut offset = 0u64;
    for slot in order {
        let job = &jobs[slot];
        let index = offset / size;
        offset += job.span.end - job.span.start;
        if let Some((last, last_index)) = stretches.last_mut() {
            let neighbour = last.last().is_some_and(|&prev| {
                let gap = job.span.start.checked_sub(jobs[prev].span.end);
                gap.is_some_and(|gap| gap <= GAP)
            });
            if neighbour && *last_index == index {
                last.push(slot);
                continue;
            }
        }
        stretches.push((vec![slot], index));
    }
    stretches.into_iter().map(|(stretch, _)| stretch).collect()
}

/// Members at most this far apart are neighbours, read from the same request: what lies
/// between them (directory entries, members the selection leaves out) costs less to read and
/// skip than a request of its own.
const GAP: u64 = 64 * 1024;

/// Members of at most this many bytes are read whole before they go to a worker, neighbours
/// together up to this much (a thousand small members are a hundred hand-overs, not a
/// thousand); a longer member is passed on in pieces of this size while the worker writes it.
const WHOLE: usize = 256 * 1024;

/// Pieces of a longer member on their way to its worker.
const PIPE_DEPTH: usize = 2;

/// Members' bytes for a worker.
enum Work {
    /// Neighbouring members, whole, their spans back to back.
    Whole { slots: Vec<usize>, bytes: Vec<u8> },
    /// The pieces of a longer member, as its reader gets them; `broken` once the request
    /// failed inside it.
    Piped {
        slot: usize,
        pieces: Receiver<Vec<u8>>,
        broken: Arc<AtomicBool>,
    },
}

/// The reading end of a longer member's pieces; it ends where its reader stopped sending.
struct Pipe {
    pieces: Receiver<Vec<u8>>,
    piece: io::Cursor<Vec<u8>>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.piece.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            match self.pieces.recv() {
                Ok(piece) => self.piece = io::Cursor::new(piece),
                Err(_) => return Ok(0),
            }
        }
    }
}

/// Reads the members of `batch` from one request and hands each one to the workers; the
/// error is the member whose bytes the request failed to bring, and why.
fn read_stretch(
    jobs: &[Job<'_>],
    batch: &[usize],
    fetcher: &dyn SpanFetcher,
    queue: &SyncSender<Work>,
    stop: &AtomicBool,
) -> Result<(), (usize, source::Error)> {
    let (Some(&first), Some(&last)) = (batch.first(), batch.last()) else {
        return Ok(());
    };
    let span = jobs[first].span.start..jobs[last].span.end;
    let mut body = fetcher.fetch(span.clone()).map_err(|err| (first, err))?;
    let len = |slot: usize| jobs[slot].span.end - jobs[slot].span.start;
    // Where the body is, in the archive: the bytes between members are skipped.
    let mut pos = span.start;
    let mut skip_to = |body: &mut Body, slot: usize| -> Result<(), (usize, source::Error)> {
        let gap = jobs[slot].span.start - pos;
        let skipped = io::copy(&mut body.take(gap), &mut io::sink())
            .map_err(|err| (slot, source::Error::from(err)))?;
        if skipped < gap {
            let missing = gap - skipped;
            return Err((slot, source::Error::EndedEarly { missing }));
        }
        pos = jobs[slot].span.end;
        Ok(())
    };
    let mut at = 0;
    while at < batch.len() {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let slot = batch[at];
        if len(slot) <= WHOLE as u64 {
            // This member and the small ones after it, up to WHOLE bytes in all.
            let (from, mut total) = (at, 0);
            while at < batch.len() && total + len(batch[at]) <= WHOLE as u64 {
                total += len(batch[at]);
                at += 1;
            }
            let slots = batch[from..at].to_vec();
            let mut bytes = Vec::with_capacity(total as usize);
            for &member in &slots {
                skip_to(&mut body, member)?;
                read_exactly(&mut body, &mut bytes, len(member) as usize)
                    .map_err(|err| (member, err))?;
            }
            if queue.send(Work::Whole { slots, bytes }).is_err() {
                return Ok(());
            }
            continue;
        }
        skip_to(&mut body, slot)?;
        let (sender, pieces) = sync_channel(PIPE_DEPTH);
        let broken = Arc::new(AtomicBool::new(false));
        let work = Work::Piped {
            slot,
            pieces,
            broken: broken.clone(),
        };
        if queue.send(work).is_err() {
            return Ok(());
        }
        let mut left = len(slot);
        let mut wanted = true;
        while left > 0 {
            let want = WHOLE.min(usize::try_from(left).unwrap_or(WHOLE));
            let mut piece = Vec::with_capacity(want);
            if let Err(err) = read_exactly(&mut body, &mut piece, want) {
                broken.store(true, Ordering::SeqCst);
                return Err((slot, err));
            }
            left -= want as u64;
            // A worker that stopped reading (the member failed its check) leaves the rest
            // of its bytes to be skipped, so that the next member starts where it should.
            wanted = wanted && sender.send(piece).is_ok();
            if !wanted && stop.load(Ordering::SeqCst) {
                return Ok(());
            }
        }
        at += 1;
    }
    Ok(())
}

/// Appends exactly `len` bytes of `body` to `buf`: a body that ends first is a request that
/// ended early.
fn read_exactly(body: &mut Body, buf: &mut Vec<u8>, len: usize) -> Result<(), source::Error> {
    let got = body
        .take(len as u64)
        .read_to_end(buf)
        .map_err(source::Error::from)?;
    if got < len {
        let missing = (len - got) as u64;
        return Err(source::Error::EndedEarly { missing });
    }
    Ok(())
}

/// Fetches one member (one request) and writes it, or keeps a link's target for later.
pub(super) fn run_job(
    job: &Job<'_>,
    fetch: &mut dyn FnMut(Range<u64>) -> Result<Body, source::Error>,
    ctx: &Shared<'_>,
) -> Step {
    match fetch(job.span.clone()) {
        Ok(body) => write_job(job, body, ctx),
        Err(source) => {
            let name = job.entry.name.clone();
            Step::Fatal(Error::Fetch { name, source })
        }
    }
}
