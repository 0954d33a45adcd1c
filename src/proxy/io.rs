//! A client connection's socket with the proxy's deadlines on it: how long a connection may
//! wait before its next request begins (`--keepalive-timeout` once it has been answered;
//! `--timeout` for a new one), how long a request head may take from its first byte
//! (`--timeout`, so a client trickling a byte at a time cannot hold a slot), and how long a
//! write may make no progress (`--timeout`, a client that stopped reading). A deadline that
//! passes fails the read or write with `TimedOut`, which ends the connection in hyper.
//!
//! hyper's own `header_read_timeout` runs from the moment it starts waiting for a head, so it
//! cannot tell an idle keep-alive connection from a slow head; the service tells this socket
//! when a request is under way ([`Activity`]).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::splice::{Splice, is_marker};

/// What the service tells the socket: whether a request is being answered, and how many have
/// begun (so the socket sees that an idle period is a new one).
#[derive(Default)]
pub(crate) struct Activity {
    busy: AtomicBool,
    requests: AtomicU64,
    /// The connection's task, parked on a read while a request was under way: woken when
    /// it ends, so that the idle deadline is armed even if the client sends nothing more.
    reader: Mutex<Option<Waker>>,
}

impl Activity {
    /// A request head has been read and is being answered.
    pub(crate) fn begin(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.busy.store(true, Ordering::Relaxed);
    }

    /// Its answer is done with (sent, or abandoned).
    pub(crate) fn end(&self) {
        self.busy.store(false, Ordering::Relaxed);
        if let Some(waker) = self.reader.lock().map(|mut w| w.take()).unwrap_or(None) {
            waker.wake();
        }
    }

    fn park(&self, waker: &Waker) {
        if let Ok(mut reader) = self.reader.lock() {
            match &*reader {
                Some(parked) if parked.will_wake(waker) => {}
                _ => *reader = Some(waker.clone()),
            }
        }
    }
}

/// Which read deadline is armed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// None: a request is under way (its own timeouts apply).
    Nothing,
    /// For the next request to begin, after request number `.0`.
    NextRequest(u64),
    /// For the rest of a head whose first bytes came.
    RestOfHead(u64),
}

/// The client's socket with its deadlines.
pub(crate) struct ClientIo {
    stream: TcpStream,
    activity: Arc<Activity>,
    keepalive: Duration,
    timeout: Duration,
    waiting: Waiting,
    /// The deadline for the next request to begin, and the one for the rest of a head. Each
    /// is only ever moved later, which tokio does without touching its timer wheel; one
    /// deadline for both would move earlier once a request (`--keepalive-timeout` is the
    /// shorter by default), and be taken out of the wheel and put back each time.
    next_request: Pin<Box<Sleep>>,
    rest_of_head: Pin<Box<Sleep>>,
    write_armed: bool,
    write_deadline: Pin<Box<Sleep>>,
    /// Where the bytes that marker frames stand for are (see `splice`).
    splice: Arc<Splice>,
}

impl ClientIo {
    pub(crate) fn new(
        stream: TcpStream,
        activity: Arc<Activity>,
        splice: Arc<Splice>,
        keepalive: Duration,
        timeout: Duration,
    ) -> ClientIo {
        let now = Instant::now();
        ClientIo {
            stream,
            activity,
            keepalive,
            timeout,
            // A new connection: its first head is due within the timeout.
            waiting: Waiting::RestOfHead(0),
            next_request: Box::pin(sleep_until(now + keepalive)),
            rest_of_head: Box::pin(sleep_until(now + timeout)),
            write_armed: false,
            write_deadline: Box::pin(sleep_until(now)),
            splice,
        }
    }

    /// Arms the read deadline that applies now, if it changed.
    fn arm_read(&mut self) {
        let requests = self.activity.requests.load(Ordering::Relaxed);
        let waiting = if self.activity.busy.load(Ordering::Relaxed) {
            Waiting::Nothing
        } else {
            match self.waiting {
                Waiting::RestOfHead(n) if n == requests => return,
                Waiting::NextRequest(n) if n == requests => return,
                _ => Waiting::NextRequest(requests),
            }
        };
        if waiting == self.waiting {
            return;
        }
        self.waiting = waiting;
        if let Waiting::NextRequest(_) = waiting {
            let deadline = Instant::now() + self.keepalive;
            self.next_request.as_mut().reset(deadline);
        }
    }

    /// `Pending` from a write: fails it once no write has made progress for the timeout.
    fn write_pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if !self.write_armed {
            self.write_armed = true;
            let deadline = Instant::now() + self.timeout;
            self.write_deadline.as_mut().reset(deadline);
        }
        ready!(self.write_deadline.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client took nothing for the timeout",
        )))
    }

    fn written<T>(
        &mut self,
        result: Poll<io::Result<T>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<T>> {
        match result {
            Poll::Pending => self.write_pending(cx),
            ready => {
                self.write_armed = false;
                ready
            }
        }
    }
}

fn sleep_until(deadline: Instant) -> Sleep {
    tokio::time::sleep_until(deadline)
}

impl AsyncRead for ClientIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.arm_read();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if let Waiting::NextRequest(n) = this.waiting {
                    if buf.filled().len() > before {
                        // A head has begun: the rest of it is due within the timeout.
                        this.waiting = Waiting::RestOfHead(n);
                        let deadline = Instant::now() + this.timeout;
                        this.rest_of_head.as_mut().reset(deadline);
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending if this.waiting == Waiting::Nothing => {
                this.activity.park(cx.waker());
                // The request may have ended meanwhile, with no waker to wake yet.
                if !this.activity.busy.load(Ordering::Relaxed) {
                    cx.waker().wake_by_ref();
                }
                Poll::Pending
            }
            Poll::Pending => {
                let deadline = match this.waiting {
                    Waiting::NextRequest(_) => this.next_request.as_mut(),
                    _ => this.rest_of_head.as_mut(),
                };
                ready!(deadline.poll(cx));
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    match this.waiting {
                        Waiting::NextRequest(_) => "idle keep-alive connection",
                        _ => "request head took too long",
                    },
                )))
            }
        }
    }
}

impl AsyncWrite for ClientIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = match is_marker(buf) {
            true => this.splice.poll_drain(cx, &this.stream, buf.len()),
            false => Pin::new(&mut this.stream).poll_write(cx, buf),
        };
        this.written(result, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // hyper's queue, up to the first marker: written as it is, held back (`MSG_MORE`)
        // if the spliced bytes follow, so that a head and its body leave together; a marker
        // first is spliced.
        let result = match bufs.iter().position(|b| is_marker(b)) {
            None => Pin::new(&mut this.stream).poll_write_vectored(cx, bufs),
            Some(0) => this.splice.poll_drain(cx, &this.stream, bufs[0].len()),
            Some(first) => poll_send_more(cx, &this.stream, &bufs[..first]),
        };
        this.written(result, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_flush(cx);
        this.written(result, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Writes `bufs` telling the kernel that more follows at once (`MSG_MORE`).
fn poll_send_more(
    cx: &mut Context<'_>,
    stream: &TcpStream,
    bufs: &[io::IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    use rustix::net::{SendAncillaryBuffer, SendFlags, sendmsg};
    loop {
        ready!(stream.poll_write_ready(cx))?;
        let sent = stream.try_io(Interest::WRITABLE, || {
            let flags = SendFlags::MORE | SendFlags::NOSIGNAL;
            Ok(sendmsg(
                stream,
                bufs,
                &mut SendAncillaryBuffer::default(),
                flags,
            )?)
        });
        match sent {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
            sent => return Poll::Ready(sent),
        }
    }
}
