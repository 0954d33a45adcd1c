//! Runs a [`plan`](crate::plan) against a [`Source`]: streams each request's bytes to the
//! output in `chunk_size` pieces, keeps what later ranges need, replays it, forgets it.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::ops::Range;

use anyhow::{Context, anyhow};

use crate::error::Error;
use crate::plan::Op;
use crate::source::parallel::{self, parallel_body};
use crate::source::{Body, Source};

/// How a transfer reads.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Bytes per read and write (`--chunk-size`).
    pub chunk_size: usize,
    /// Connections for one large request (`-j`).
    pub jobs: usize,
}

/// Executes `ops` in order, writing to `out`. `first` is the response already open for the
/// plan's first `Fetch`, if the plan starts with one.
pub fn execute(
    ops: &[Op],
    source: &mut dyn Source,
    mut first: Option<Body>,
    out: &mut dyn Write,
    settings: Settings,
) -> anyhow::Result<()> {
    let chunk_size = settings.chunk_size.max(1);
    let mut buf = vec![0u8; chunk_size];
    let mut kept = Kept::default();
    let mut body: Option<Body> = None;
    for op in ops {
        match op {
            Op::Fetch(span) => {
                body = Some(match (first.take(), source.fetcher()) {
                    (Some(open), _) => open,
                    (None, Some(fetcher))
                        if settings.jobs > 1 && span.end - span.start >= parallel::THRESHOLD =>
                    {
                        let (jobs, segment) = (settings.jobs, parallel::SEGMENT);
                        parallel_body(fetcher, span.clone(), jobs, segment, chunk_size)
                    }
                    (None, _) => source.read_span(span.clone())?,
                });
            }
            Op::Take { range, write, keep } => {
                let body = body
                    .as_mut()
                    .ok_or_else(|| anyhow!("plan takes {range:?} with no request open"))?;
                let mut piece = Vec::new();
                if *keep {
                    piece.reserve_exact(len_of(range));
                }
                let mut left = range.end - range.start;
                while left > 0 {
                    let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let n = read_some(body.as_mut(), &mut buf[..want])?;
                    if *write {
                        out.write_all(&buf[..n]).map_err(write_error)?;
                    }
                    if *keep {
                        piece.extend_from_slice(&buf[..n]);
                    }
                    left -= n as u64;
                }
                if *keep {
                    kept.insert(range.start, piece);
                }
            }
            Op::Replay(range) => kept.replay(range, out)?,
            Op::Forget(range) => kept.forget(range),
        }
    }
    out.flush().map_err(write_error)?;
    Ok(())
}

fn len_of(range: &Range<u64>) -> usize {
    usize::try_from(range.end - range.start).unwrap_or(usize::MAX)
}

fn read_some(body: &mut dyn Read, buf: &mut [u8]) -> anyhow::Result<usize> {
    loop {
        match body.read(buf) {
            Ok(0) => return Err(anyhow!("the response ended early")),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(e)),
        }
    }
}

/// Unwraps our own errors carried through `io::Error` so their messages stay as they are.
fn read_error(err: io::Error) -> anyhow::Error {
    if err.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        let inner = err.into_inner().expect("checked above");
        return anyhow::Error::new(*inner.downcast::<Error>().expect("checked above"));
    }
    anyhow::Error::new(err)
}

/// Output errors: a closed stdout is tagged so `main` can exit quietly.
pub fn write_error(err: io::Error) -> anyhow::Error {
    if err.kind() == io::ErrorKind::BrokenPipe {
        anyhow::Error::new(Error::StdoutClosed)
    } else {
        anyhow::Error::new(err).context("cannot write the output")
    }
}

/// Bytes kept for later ranges, as the pieces the plan kept them in.
#[derive(Default)]
struct Kept {
    pieces: BTreeMap<u64, Vec<u8>>,
}

impl Kept {
    fn insert(&mut self, start: u64, bytes: Vec<u8>) {
        self.pieces.insert(start, bytes);
    }

    fn forget(&mut self, range: &Range<u64>) {
        self.pieces.remove(&range.start);
    }

    fn replay(&self, range: &Range<u64>, out: &mut dyn Write) -> anyhow::Result<()> {
        let mut at = range.start;
        while at < range.end {
            let (start, bytes) = self
                .pieces
                .range(..=at)
                .next_back()
                .filter(|(start, bytes)| at < *start + bytes.len() as u64)
                .with_context(|| format!("plan replays byte {at}, which was not kept"))?;
            let from = (at - start) as usize;
            let to = (range.end - start).min(bytes.len() as u64) as usize;
            out.write_all(&bytes[from..to]).map_err(write_error)?;
            at = start + to as u64;
        }
        Ok(())
    }
}
