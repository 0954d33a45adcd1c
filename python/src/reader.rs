//! [`Reader`]: a remote (or local) file read by range, the engine of `rangecat.open()`.
//!
//! The length is learned from the first ranged GET, never a HEAD: a first read asks for
//! what it reads (at least 64 KiB); a first `seek(…, SEEK_END)` or `.size` asks for the last
//! 64 KiB, where zip, Parquet and other formats keep their index. Later requests are pinned
//! to the first response's validators and resumed when broken (the library's HTTP source);
//! fetched bytes are kept up to `max_buffer` (the library's `RangeStream`).
//!
//! `readinto` is the Python side's: the buffer protocol is not in the stable ABI before
//! Python 3.11 and the wheel serves 3.9, so `read` fills a new `bytes` with the GIL
//! released and Python copies it into the caller's buffer.

use std::io::{Read, Seek, SeekFrom};
use std::sync::{Mutex, MutexGuard};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rangecat::range::ByteRange;
use rangecat::source::{self, HttpConfig, RangeStream, Source};

use crate::config::http_config;
use crate::errors::Failure;

/// What a first request asks for when the first operation needs the end: the last 64 KiB,
/// where a zip's central directory (with a comment of up to 64 KiB) and a Parquet footer
/// (pyarrow reads 64 KiB) lie.
const TAIL: u64 = 64 * 1024;

/// The least a first read asks for, as the library's read-ahead.
const FIRST_READ: u64 = 64 * 1024;

type Stream = RangeStream<Box<dyn Source + Send>>;

/// The file's state: the source until the first response, then the stream.
struct State {
    source: Option<Box<dyn Source + Send>>,
    stream: Option<Stream>,
    pos: u64,
    closed: bool,
}

/// A file read by range; see the module documentation.
#[pyclass(module = "rangecat._rangecat", frozen)]
pub struct Reader {
    location: String,
    config: HttpConfig,
    max_buffer: u64,
    state: Mutex<State>,
}

impl Reader {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic never happens while the lock is held; if one did, the state is still
        // consistent (positions and held bytes), so take it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The stream, sending the first request (`first`) if none was sent yet.
    fn stream<'s>(
        &self,
        state: &'s mut State,
        first: ByteRange,
    ) -> Result<&'s mut Stream, Failure> {
        if state.closed {
            return Err(closed().into());
        }
        if state.stream.is_none() {
            let source = match state.source.take() {
                Some(source) => source,
                None => source::open(&self.location, &self.config)?,
            };
            let stream = RangeStream::first(source, &first, self.max_buffer)?;
            state.stream = Some(stream);
        }
        Ok(state.stream.as_mut().expect("set above"))
    }

    /// Reads up to `size` bytes (negative: all the rest) from the position: fewer only at
    /// the end. A first read asks for what it reads, at least 64 KiB, or all the rest.
    fn read_at_position(&self, size: i64) -> Result<Vec<u8>, Failure> {
        let mut state = self.lock();
        if size == 0 && !state.closed {
            return Ok(Vec::new()); // as io's read(0): no I/O
        }
        let pos = state.pos;
        let first = match u64::try_from(size) {
            Ok(n) => ByteRange::Span(pos..pos.saturating_add(n.max(FIRST_READ))),
            Err(_) => ByteRange::From(pos),
        };
        let stream = self.stream(&mut state, first)?;
        let rest = stream.len().saturating_sub(pos);
        let n = u64::try_from(size).map_or(rest, |n| n.min(rest));
        stream.seek(SeekFrom::Start(pos))?;
        let buf = read_up_to(stream, n)?;
        state.pos = pos + buf.len() as u64;
        Ok(buf)
    }

    /// The length, learned from a first request for the last 64 KiB if need be.
    fn len(&self) -> Result<u64, Failure> {
        let mut state = self.lock();
        Ok(self.stream(&mut state, ByteRange::Suffix(TAIL))?.len())
    }
}

#[pymethods]
impl Reader {
    /// Opens `location` (checked now; nothing is sent until the first read, seek from the
    /// end or `size`).
    #[new]
    #[pyo3(signature = (location, *, headers=None, timeout=None, connect_timeout=None, retries=1, max_buffer=64 * 1024 * 1024))]
    fn new(
        location: String,
        headers: Option<Vec<(String, String)>>,
        timeout: Option<f64>,
        connect_timeout: Option<f64>,
        retries: u32,
        max_buffer: u64,
    ) -> PyResult<Reader> {
        let config = http_config(headers, timeout, connect_timeout, retries)?;
        let source = source::open(&location, &config).map_err(Failure::from)?;
        Ok(Reader {
            location,
            config,
            max_buffer,
            state: Mutex::new(State {
                source: Some(source),
                stream: None,
                pos: 0,
                closed: false,
            }),
        })
    }

    /// The location, any password and signed query parameters replaced.
    #[getter]
    fn url(&self) -> String {
        crate::errors::redact(&self.location)
    }

    /// The length in bytes (from the first response; asks for the last 64 KiB if none came yet).
    #[getter]
    fn size(&self, py: Python<'_>) -> PyResult<u64> {
        Ok(py.detach(|| self.len())?)
    }

    /// The length if a response told it already, else None (sends nothing).
    #[getter]
    fn known_size(&self, py: Python<'_>) -> Option<u64> {
        py.detach(|| self.lock().stream.as_ref().map(|s| s.len()))
    }

    /// Learns the length without reading the body, if it is not known yet: `HEAD`, or
    /// `GET bytes=0-0` where HEAD is refused (range-streams' empty first range).
    fn probe(&self, py: Python<'_>) -> PyResult<u64> {
        let len = py.detach(|| -> Result<u64, Failure> {
            let mut state = self.lock();
            if let Some(stream) = &state.stream {
                return Ok(stream.len());
            }
            if state.closed {
                return Err(closed().into());
            }
            let mut source = match state.source.take() {
                Some(source) => source,
                None => source::open(&self.location, &self.config)?,
            };
            source.probe()?;
            let mut stream = RangeStream::new(source)?;
            stream.set_max_buffer(self.max_buffer);
            let len = stream.len();
            state.stream = Some(stream);
            Ok(len)
        })?;
        Ok(len)
    }

    /// Requests sent so far.
    #[getter]
    fn requests(&self, py: Python<'_>) -> usize {
        py.detach(|| self.lock().stream.as_ref().map_or(0, |s| s.requests()))
    }

    /// Whether `close` was called.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| self.lock().closed)
    }

    /// Reads up to `size` bytes (all the rest when negative) from the position.
    #[pyo3(signature = (size=-1))]
    fn read<'py>(&self, py: Python<'py>, size: Option<i64>) -> PyResult<Bound<'py, PyBytes>> {
        let size = size.unwrap_or(-1);
        let bytes = py.detach(|| self.read_at_position(size))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Reads all the rest.
    fn readall<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.read(py, Some(-1))
    }

    /// Moves the position (`whence` 0: from the start, 1: from the position, 2: from the end)
    /// and returns it. Positions past the end are allowed; reads there return nothing.
    #[pyo3(signature = (offset, whence=0))]
    fn seek(&self, py: Python<'_>, offset: i64, whence: i32) -> PyResult<u64> {
        let base = match whence {
            0 => 0,
            1 => py.detach(|| self.lock().pos),
            2 => py.detach(|| self.len())?,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "invalid whence ({whence}, should be 0, 1 or 2)"
                )));
            }
        };
        let target = base.checked_add_signed(offset).ok_or_else(|| {
            PyValueError::new_err(format!(
                "negative seek position {}",
                i128::from(base) + i128::from(offset)
            ))
        })?;
        py.detach(|| self.lock().pos = target);
        Ok(target)
    }

    /// The position.
    fn tell(&self, py: Python<'_>) -> u64 {
        py.detach(|| self.lock().pos)
    }

    /// The bytes `start..end` (clipped to the length), from memory where held; `disjoint`
    /// false sends a request for them whatever is held, and keeps nothing (range-streams'
    /// degenerate mode).
    #[pyo3(signature = (start, end, disjoint=true))]
    fn span<'py>(
        &self,
        py: Python<'py>,
        start: u64,
        end: u64,
        disjoint: bool,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = py.detach(|| -> Result<Vec<u8>, Failure> {
            let mut state = self.lock();
            let first = ByteRange::Span(start..end.max(start + 1));
            // A first request asked for exactly these bytes: they are the new response.
            let fresh = state.stream.is_none();
            let stream = self.stream(&mut state, first)?;
            let span = start.min(stream.len())..end.min(stream.len());
            let n = span.end.saturating_sub(span.start);
            if n == 0 {
                return Ok(Vec::new());
            }
            if disjoint || fresh {
                stream.prefetch(span.clone())?;
                stream.seek(SeekFrom::Start(span.start))?;
                read_up_to(stream, n)
            } else {
                read_up_to(stream.source_mut().read_span(span)?, n)
            }
        })?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Drops the held bytes; later reads fail.
    fn close(&self, py: Python<'_>) {
        py.detach(|| {
            let mut state = self.lock();
            state.closed = true;
            state.stream = None;
            state.source = None;
        })
    }
}

/// Bytes reserved up front for a read: the length comes from the server, so a larger read
/// grows its buffer as the bytes arrive rather than trusting it.
const MAX_RESERVE: u64 = 64 * 1024 * 1024;

/// Reads `n` bytes from `reader`, fewer only at its end. Each read is handed all the room
/// left (the stream sizes its request by it: one request for a read that is not held),
/// which grows by doubling past `MAX_RESERVE`.
fn read_up_to(mut reader: impl Read, n: u64) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    let mut filled = 0;
    while (filled as u64) < n {
        if filled == buf.len() {
            let room = (n - filled as u64).min(MAX_RESERVE.max(buf.len() as u64));
            buf.resize(filled + room as usize, 0);
        }
        let read = reader.read(&mut buf[filled..])?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    buf.truncate(filled);
    Ok(buf)
}

/// The error of an operation on a closed file, as `io` words it.
fn closed() -> source::Error {
    source::Error::Io(std::io::Error::other("I/O operation on closed file"))
}
