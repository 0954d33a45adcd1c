//! The accept loop the hand-written servers share (`server::Server`, `upstream::Upstream`): a
//! listener on 127.0.0.1 that hands each connection to a thread of its own until stopped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The accept loop; on drop it sets the stop flag, wakes the loop and waits for it to end.
pub struct Acceptor {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Acceptor {
    /// Binds 127.0.0.1 on a free port and runs `serve(stream, index)` on a new thread for each
    /// connection (index 0 for the first). Handlers are detached: each must end on its own,
    /// bounded, and see `stop`, which is set when the acceptor is dropped.
    pub fn start(
        stop: Arc<AtomicBool>,
        serve: impl Fn(TcpStream, usize) + Send + Sync + 'static,
    ) -> Acceptor {
        Acceptor::start_on("127.0.0.1", stop, serve)
    }

    /// As `start`, on the loopback address `ip` (127.0.0.2 for a second origin).
    pub fn start_on(
        ip: &str,
        stop: Arc<AtomicBool>,
        serve: impl Fn(TcpStream, usize) + Send + Sync + 'static,
    ) -> Acceptor {
        let listener = TcpListener::bind((ip, 0)).expect("bind a loopback address");
        let addr = listener.local_addr().expect("local_addr");
        let serve = Arc::new(serve);
        let stopped = Arc::clone(&stop);
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        let thread = thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let index = count.fetch_add(1, Ordering::SeqCst);
                let serve = Arc::clone(&serve);
                thread::spawn(move || serve(stream, index));
            }
        });
        Acceptor {
            addr,
            stop,
            accepted,
            thread: Some(thread),
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the loop, which is blocked in accept().
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
