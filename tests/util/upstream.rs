//! Hand-written upstreams on 127.0.0.1 for `rangecat serve`: each connection's request head
//! is recorded and a handler does with the connection what the test needs (`Upstream`);
//! canned answers; an endless body; silence; hang-ups.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::acceptor::Acceptor;
use super::raw_http::is_timeout;

/// A hand-written upstream on 127.0.0.1: each connection's request head is read and recorded,
/// then `handler` does what the test needs with the connection. Stops accepting on drop;
/// handlers end on their own (bounded, and they see the stop flag).
pub struct Upstream {
    shared: Arc<UpstreamShared>,
    acceptor: Acceptor,
}

struct UpstreamShared {
    stop: Arc<AtomicBool>,
    heads: Mutex<Vec<String>>,
}

/// One connection to a hand-written upstream.
pub struct Conn {
    /// 0 for the first connection accepted, 1 for the next...
    pub index: usize,
    /// The request head (without the final empty line), if one came within five seconds.
    pub head: Option<String>,
    pub stream: TcpStream,
    shared: Arc<UpstreamShared>,
}

impl Conn {
    pub fn stopped(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }
}

impl Upstream {
    pub fn start(handler: impl Fn(Conn) + Send + Sync + 'static) -> Upstream {
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(UpstreamShared {
            stop: Arc::clone(&stop),
            heads: Mutex::new(Vec::new()),
        });
        let conn_shared = Arc::clone(&shared);
        let acceptor = Acceptor::start(stop, move |stream, index| {
            let head = read_head(&stream);
            if let Some(head) = &head {
                conn_shared.heads.lock().unwrap().push(head.clone());
            }
            handler(Conn {
                index,
                head,
                stream,
                shared: Arc::clone(&conn_shared),
            });
        });
        Upstream { shared, acceptor }
    }

    /// Answers each connection's request with `respond(head)`, then closes it (the answers
    /// should say `Connection: close`).
    pub fn answering(respond: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> Upstream {
        Upstream::start(move |mut conn| {
            if let Some(head) = conn.head.take() {
                let _ = conn.stream.write_all(&respond(&head));
            }
            let _ = conn.stream.shutdown(Shutdown::Write);
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.acceptor.addr(), path)
    }

    /// The request heads received so far.
    pub fn heads(&self) -> Vec<String> {
        self.shared.heads.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.acceptor.accepted()
    }
}

/// Reads a request head byte by byte (so nothing after it is consumed), at most 64 KiB and
/// five seconds.
pub fn read_head(mut stream: &TcpStream) -> Option<String> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 || stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    head.truncate(head.len() - 4);
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// The target of a request head.
pub fn head_target(head: &str) -> &str {
    head.split_ascii_whitespace().nth(1).unwrap_or("")
}

/// The value of header `name` in a request head (any case).
pub fn head_header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// A response: status line, header lines, an empty line, then `body` as is.
pub fn canned(status_line: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{status_line}\r\n");
    for header in headers {
        out += header;
        out += "\r\n";
    }
    out += "\r\n";
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// An upstream that answers every request with a huge body of zeros, written as fast as the
/// proxy takes it, counting what it wrote and noting when a write fails (the proxy closed).
pub struct Endless {
    pub upstream: Upstream,
    pub written: Arc<AtomicU64>,
    pub broken_at: Arc<Mutex<Option<Instant>>>,
}

impl Endless {
    /// When a write to the proxy failed (the proxy closed the connection), waiting up to
    /// `limit` for it.
    pub fn broken_within(&self, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(at) = *self.broken_at.lock().unwrap() {
                return Some(at);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The length an `Endless` upstream announces: 8 GiB.
pub const ENDLESS_LEN: u64 = 8 << 30;

pub fn endless() -> Endless {
    let written = Arc::new(AtomicU64::new(0));
    let broken_at = Arc::new(Mutex::new(None));
    let (count, broken) = (Arc::clone(&written), Arc::clone(&broken_at));
    let upstream = Upstream::start(move |mut conn| {
        if conn.head.is_none() {
            return;
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
             Content-Length: {ENDLESS_LEN}\r\n\r\n"
        );
        if conn.stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        // A short write timeout, so the stop flag and the deadline are seen while the proxy
        // is not reading.
        let _ = conn
            .stream
            .set_write_timeout(Some(Duration::from_millis(100)));
        let zeros = vec![0u8; 64 * 1024];
        let deadline = Instant::now() + Duration::from_secs(60);
        while !conn.stopped() && Instant::now() < deadline {
            match conn.stream.write(&zeros) {
                Ok(0) => break,
                Ok(n) => {
                    count.fetch_add(n as u64, Ordering::SeqCst);
                }
                Err(e) if is_timeout(&e) || e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    *broken.lock().unwrap() = Some(Instant::now());
                    break;
                }
            }
        }
    });
    Endless {
        upstream,
        written,
        broken_at,
    }
}

/// An upstream that accepts, reads the request and says nothing (for 20 s at most).
pub fn silent_upstream() -> Upstream {
    Upstream::start(|conn| {
        let until = Instant::now() + Duration::from_secs(20);
        while !conn.stopped() && Instant::now() < until {
            thread::sleep(Duration::from_millis(50));
        }
    })
}

/// An upstream that hangs up on the first `drops` connections without answering, and
/// answers the others with `ok`.
pub fn dropping_upstream(drops: usize) -> Upstream {
    Upstream::start(move |mut conn| {
        if conn.index >= drops && conn.head.is_some() {
            let answer = canned(
                "HTTP/1.1 200 OK",
                &[
                    "Content-Type: text/plain",
                    "Content-Length: 2",
                    "Connection: close",
                ],
                b"ok",
            );
            let _ = conn.stream.write_all(&answer);
        }
        let _ = conn.stream.shutdown(Shutdown::Both);
    })
}
