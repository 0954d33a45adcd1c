//! Identity bodies moved from the upstream's socket to the client's without passing through
//! user space (Linux): `splice(2)` from the upstream socket into a pipe, then from the pipe
//! into the client socket. The kernel hands the pages on rather than copying them in and out:
//! a long body costs less CPU than copied (README, Performance › serve, for the figures).
//!
//! hyper still frames the answer and writes its head. The body gives it a *marker* frame for
//! each piece in the pipe: a slice of [`MARKER`], a static buffer of zeros that is never
//! read, whose length is the piece's. hyper queues it like any frame (its writes are
//! vectored, `writev(true)`, so frames are queued, never copied) and the client's socket
//! (`io::ClientIo`), handed a slice of `MARKER` to write, splices that many bytes from the
//! pipe instead. The pipe is filled only when empty, so its bytes and the marker frames in
//! hyper's queue are always the same bytes in the same order.
//!
//! Pipes are lent per piece from the worker's own few ([`PIPES_PER_WORKER`], counted in
//! the descriptors `limits` keeps back), and returned once drained; a pipe a client left
//! with bytes in it is closed. With none free, the body is read and written the copy way.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Pipes a worker may have at once; each is two descriptors.
pub const PIPES_PER_WORKER: usize = 4;

/// The largest pipe asked for (Linux's default `pipe-max-size`), and so the largest marker.
const MAX_PIPE: usize = 1 << 20;

/// Stands for bytes in the pipe; never read, so its pages are never touched.
static MARKER: [u8; MAX_PIPE] = [0; MAX_PIPE];

/// A frame standing for the next `len` bytes in the pipe.
fn marker(len: usize) -> Bytes {
    Bytes::from_static(&MARKER[..len])
}

/// Whether `slice` (from hyper's write queue) stands for bytes in the pipe.
pub(crate) fn is_marker(slice: &[u8]) -> bool {
    !slice.is_empty() && MARKER.as_ptr_range().contains(&slice.as_ptr())
}

/// A pipe, and the most it holds.
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    capacity: usize,
}

/// A worker's pipes: those idle, and how many exist.
struct Pipes {
    idle: Vec<Pipe>,
    live: usize,
}

thread_local! {
    static PIPES: RefCell<Pipes> = const { RefCell::new(Pipes { idle: Vec::new(), live: 0 }) };
}

/// A pipe of this thread's, if one is idle or another may be made.
fn lend() -> Option<Pipe> {
    PIPES.with(|pipes| {
        let mut pipes = pipes.borrow_mut();
        if let Some(pipe) = pipes.idle.pop() {
            return Some(pipe);
        }
        if pipes.live >= PIPES_PER_WORKER {
            return None;
        }
        let pipe = new_pipe()?;
        pipes.live += 1;
        Some(pipe)
    })
}

/// A new pipe of [`MAX_PIPE`] bytes where the system allows it (`pipe-max-size`); else of
/// the default 64 KiB, and bodies move in more pieces. A larger pipe moves a stream in fewer
/// calls (256 MiB streams side by side, medians of 5: 1366 MiB/s and 0.08 s of CPU through
/// 1 MiB pipes, 1306 MiB/s and 0.09 s through 256 KiB ones).
#[cfg(target_os = "linux")]
fn new_pipe() -> Option<Pipe> {
    use rustix::pipe::{PipeFlags, fcntl_getpipe_size, fcntl_setpipe_size, pipe_with};
    let (read, write) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK).ok()?;
    let capacity = fcntl_setpipe_size(&write, MAX_PIPE)
        .or_else(|_| fcntl_getpipe_size(&write))
        .ok()?
        .min(MAX_PIPE);
    Some(Pipe {
        read,
        write,
        capacity,
    })
}

/// No `splice(2)` here: bodies are copied.
#[cfg(not(target_os = "linux"))]
fn new_pipe() -> Option<Pipe> {
    None
}

/// One non-blocking `splice(2)` of at most `len` bytes.
#[cfg(target_os = "linux")]
fn splice(from: impl AsFd, to: impl AsFd, len: usize) -> io::Result<usize> {
    use rustix::pipe::SpliceFlags;
    let flags = SpliceFlags::MOVE | SpliceFlags::NONBLOCK;
    Ok(rustix::pipe::splice(from, None, to, None, len, flags)?)
}

#[cfg(not(target_os = "linux"))]
fn splice(_from: impl AsFd, _to: impl AsFd, _len: usize) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Gives back an empty pipe.
fn give_back(pipe: Pipe) {
    // Past the thread's end the pipe is closed instead.
    let _ = PIPES.try_with(|pipes| pipes.borrow_mut().idle.push(pipe));
}

impl Drop for Pipe {
    fn drop(&mut self) {
        let _ = PIPES.try_with(|pipes| {
            let mut pipes = pipes.borrow_mut();
            pipes.live = pipes.live.saturating_sub(1);
        });
    }
}

/// What filling the pipe came to.
pub(crate) enum Fill {
    /// A frame for hyper's queue, standing for bytes now in the pipe (empty at the end of
    /// the upstream's stream).
    Moved(Bytes),
    /// No pipe free: read this piece the copy way.
    NoPipe,
    /// Waiting for the client to take what is in the pipe.
    ClientBusy,
    /// Waiting for the upstream to send.
    UpstreamBusy,
}

/// One client connection's splicing: the pipe lent to it, and the bytes in it.
#[derive(Default)]
pub(crate) struct Splice {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    pipe: Option<Pipe>,
    /// Bytes in the pipe, that marker frames in hyper's queue stand for.
    pending: usize,
    /// The body, waiting for the pipe to empty.
    filler: Option<Waker>,
}

impl Splice {
    /// Moves at most `want` bytes from `upstream` into an empty pipe, as many as it holds.
    pub(crate) fn poll_fill(
        &self,
        cx: &mut Context<'_>,
        upstream: &TcpStream,
        want: usize,
    ) -> io::Result<Fill> {
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        if state.pending > 0 {
            state.filler = Some(cx.waker().clone());
            return Ok(Fill::ClientBusy);
        }
        let Some(pipe) = state.pipe.take().or_else(lend) else {
            return Ok(Fill::NoPipe);
        };
        let want = want.min(pipe.capacity);
        let moved = poll_splice(cx, upstream, Interest::READABLE, || {
            splice(upstream, &pipe.write, want)
        });
        match moved {
            Poll::Ready(Ok(n)) if n > 0 => {
                state.pipe = Some(pipe);
                state.pending = n;
                Ok(Fill::Moved(marker(n)))
            }
            Poll::Ready(Ok(_)) => {
                give_back(pipe);
                Ok(Fill::Moved(Bytes::new()))
            }
            Poll::Ready(Err(err)) => {
                give_back(pipe);
                Err(err)
            }
            Poll::Pending => {
                give_back(pipe);
                Ok(Fill::UpstreamBusy)
            }
        }
    }

    /// Moves at most `len` bytes from the pipe to `client`, for a marker of that length.
    pub(crate) fn poll_drain(
        &self,
        cx: &mut Context<'_>,
        client: &TcpStream,
        len: usize,
    ) -> Poll<io::Result<usize>> {
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        let want = len.min(state.pending);
        let Some(pipe) = state.pipe.as_ref().filter(|_| want > 0) else {
            // A marker with no bytes behind it: never write its zeros.
            return Poll::Ready(Err(io::Error::other("a spliced piece is missing")));
        };
        let moved = poll_splice(cx, client, Interest::WRITABLE, || {
            splice(&pipe.read, client, want)
        });
        let n = match std::task::ready!(moved)? {
            0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
            n => n,
        };
        state.pending -= n;
        if state.pending == 0 {
            if let Some(pipe) = state.pipe.take() {
                give_back(pipe);
            }
            if let Some(filler) = state.filler.take() {
                filler.wake();
            }
        }
        Poll::Ready(Ok(n))
    }
}

/// Runs `splice` once `socket` is ready for `interest`, until it does not block.
fn poll_splice(
    cx: &mut Context<'_>,
    socket: &TcpStream,
    interest: Interest,
    splice: impl Fn() -> io::Result<usize>,
) -> Poll<io::Result<usize>> {
    loop {
        let ready = match interest.is_readable() {
            true => socket.poll_read_ready(cx),
            false => socket.poll_write_ready(cx),
        };
        std::task::ready!(ready)?;
        match socket.try_io(interest, &splice) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
            done => return Poll::Ready(done),
        }
    }
}

fn poisoned() -> io::Error {
    io::Error::other("a splice state was poisoned")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_slices_of_the_marker_and_nothing_else() {
        assert!(is_marker(&marker(10)));
        assert!(is_marker(&marker(MAX_PIPE)[MAX_PIPE - 1..]));
        assert!(!is_marker(&[0u8; 10]));
        assert!(!is_marker(&marker(10)[10..]));
    }

    #[test]
    fn a_marker_with_no_bytes_behind_it_is_refused_not_written() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let splice = Splice::default();
            let drained = std::future::poll_fn(|cx| splice.poll_drain(cx, &client, 10)).await;
            let err = drained.expect_err("nothing in the pipe");
            assert_eq!(err.to_string(), "a spliced piece is missing");
        });
    }
}
