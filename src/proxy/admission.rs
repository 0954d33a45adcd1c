//! The connection cap (`--max-connections`), one count for all the workers: a connection
//! past it is answered 503 and closed, and at most [`MAX_REFUSING`] such answers are under
//! way at once, whichever workers accepted them.

use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Connections being refused with 503 at once, at most: each holds a descriptor while its
/// answer goes out, and they must not take the ones the upstream connections need (half of
/// `limits::RESERVED_FDS`). Past it the accept loops wait for one to finish.
const MAX_REFUSING: usize = 32;

/// How long a refused connection is read after its 503, so that closing it does not reset
/// the connection under the answer.
const REFUSAL_DRAIN: Duration = Duration::from_millis(100);

/// The connections open and being refused, across all the workers.
pub(crate) struct Admission {
    max_connections: usize,
    connections: AtomicUsize,
    refusing: AtomicUsize,
    /// Woken when a refusal is done.
    refused: Notify,
}

/// One connection counted against the cap, until dropped.
pub(crate) struct Slot {
    admission: Arc<Admission>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.admission.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Admission {
    pub(crate) fn new(max_connections: usize) -> Arc<Admission> {
        Arc::new(Admission {
            max_connections,
            connections: AtomicUsize::new(0),
            refusing: AtomicUsize::new(0),
            refused: Notify::new(),
        })
    }

    /// Returns once fewer than [`MAX_REFUSING`] refusals are under way.
    pub(crate) async fn room_to_refuse(&self) {
        loop {
            // Registered before the count is read, so that no wake-up falls in between.
            let mut refused = pin!(self.refused.notified());
            refused.as_mut().enable();
            if self.refusing.load(Ordering::SeqCst) < MAX_REFUSING {
                return;
            }
            refused.await;
        }
    }

    /// Counts `stream` against the cap: it and its slot, or `None` when it is past the cap
    /// and is being refused (a task on the current runtime).
    pub(crate) fn admit(self: &Arc<Self>, stream: TcpStream) -> Option<(TcpStream, Slot)> {
        let count = self.connections.fetch_add(1, Ordering::SeqCst) + 1;
        let slot = Slot {
            admission: self.clone(),
        };
        if count <= self.max_connections {
            return Some((stream, slot));
        }
        self.refusing.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(refuse_busy(stream, slot));
        None
    }
}

/// Answers a connection past the cap with 503 and closes it. What the client sent is read
/// briefly first, so that closing does not reset the connection under the answer.
async fn refuse_busy(mut stream: TcpStream, slot: Slot) {
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
        Content-Type: text/plain; charset=utf-8\r\nContent-Length: 50\r\n\
        Connection: close\r\n\r\n503 Service Unavailable: too many connections now\n";
    let answer = async {
        stream.write_all(BUSY).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        io::Result::Ok(())
    };
    let _ = tokio::time::timeout(REFUSAL_DRAIN, answer).await;
    drop(stream);
    let admission = slot.admission.clone();
    drop(slot);
    admission.refusing.fetch_sub(1, Ordering::SeqCst);
    admission.refused.notify_waiters();
}
