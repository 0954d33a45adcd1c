//! The fault matrix's server (`tests/fault_matrix.rs`): one byte buffer at every path, single
//! ranges as RFC 9110 has them, and one [`Fault`] applied to the requests whose index (0 for
//! the first) falls in `from..from + times`. Hand-written over a raw socket so a fault can be
//! what `server::Server` cannot send: a TCP reset (SO_LINGER 0), a garbage status line, a 206
//! that lies about its span.
//!
//! Every loop is bounded: workers poll the stop flag, which dropping the server sets.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::acceptor::Acceptor;
use super::command::RequestLog;

/// What a faulty request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Read the request, then reset the connection (RST) without a byte of answer.
    ResetBeforeHeaders,
    /// Correct headers and half the body, then a reset.
    ResetMidBody,
    /// Correct headers (Content-Length of the whole span), half the body, then a clean close.
    ShortBody,
    /// A 206 whose Content-Range is right but whose body (and Content-Length) has 16 bytes
    /// more, each 0xEE.
    LongerThanContentRange,
    /// A 206 for the span one byte further on than asked (one byte back when it ends at the
    /// end); Content-Range and body agree.
    OtherSpan,
    /// A 206 with the right body and no Content-Range.
    NoContentRange,
    /// The ETag becomes `"v2"` (Last-Modified stays).
    EtagChange,
    /// No ETag at all on any answer; Last-Modified moves a day on.
    LastModifiedChange,
    /// Nothing for this long after the request, then a normal answer.
    StallBeforeHeaders(Duration),
    /// Headers and half the body, nothing for this long, then the rest.
    StallMidBody(Duration),
    /// 302 to the same path with `~` toggled at its end: a loop of two URLs.
    RedirectLoop,
    /// 503 Service Unavailable with a short body.
    Status503,
    /// 200 with the whole body, no Accept-Ranges, whatever the Range.
    IgnoresRange,
    /// `HTXP/1.1 2OO OK` and a close.
    GarbageStatusLine,
}

/// The requests one fault applies to: indexes `from..from + times` (`times` None: all on).
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub fault: Fault,
    pub from: usize,
    pub times: Option<usize>,
}

impl Schedule {
    fn applies(&self, index: usize) -> bool {
        index >= self.from && self.times.is_none_or(|t| index < self.from + t)
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
}

struct Shared {
    body: Vec<u8>,
    schedule: Schedule,
    stop: Arc<AtomicBool>,
    requests: Mutex<Vec<Seen>>,
}

/// The server; stops when dropped.
pub struct MatrixServer {
    shared: Arc<Shared>,
    acceptor: Acceptor,
}

const POLL: Duration = Duration::from_millis(20);
const IDLE_LIMIT: Duration = Duration::from_secs(20);
const ETAG_V1: &str = "\"v1\"";
const ETAG_V2: &str = "\"v2\"";
const LAST_MODIFIED_V1: &str = "Mon, 01 Jan 2024 00:00:00 GMT";
const LAST_MODIFIED_V2: &str = "Tue, 02 Jan 2024 00:00:00 GMT";

impl MatrixServer {
    /// Serves `body` on 127.0.0.1, a free port, with `schedule`.
    pub fn start(body: Vec<u8>, schedule: Schedule) -> MatrixServer {
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            body,
            schedule,
            stop: Arc::clone(&stop),
            requests: Mutex::new(Vec::new()),
        });
        let worker = Arc::clone(&shared);
        let acceptor = Acceptor::start(stop, move |stream, _| serve(stream, &worker));
        MatrixServer { shared, acceptor }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.acceptor.addr(), path)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.shared.requests.lock().unwrap().clone()
    }
}

impl RequestLog for MatrixServer {
    fn request_log(&self) -> String {
        self.requests()
            .iter()
            .map(|r| {
                format!(
                    "{} {} {}\n",
                    r.method,
                    r.path,
                    r.range.as_deref().unwrap_or("-")
                )
            })
            .collect()
    }
}

fn serve(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    // Bounded: each turn answers one request or ends the connection.
    while let Some((method, path, headers)) = read_head(&mut stream, &mut buf, shared) {
        let range = headers
            .iter()
            .find(|(n, _)| n == "range")
            .map(|(_, v)| v.clone());
        let index = {
            let mut requests = shared.requests.lock().unwrap();
            requests.push(Seen {
                method: method.clone(),
                path: path.clone(),
                range: range.clone(),
            });
            requests.len() - 1
        };
        let fault = shared
            .schedule
            .applies(index)
            .then_some(shared.schedule.fault);
        if !answer(&mut stream, shared, &method, &path, range.as_deref(), fault) {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// A request head: method, target, and header fields (names lowercased).
type Head = (String, String, Vec<(String, String)>);

fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>, shared: &Shared) -> Option<Head> {
    let started = Instant::now();
    let end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if started.elapsed() > IDLE_LIMIT || shared.stop.load(Ordering::SeqCst) {
            return None;
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return None,
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    buf.drain(..end + 4);
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_ascii_whitespace();
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some((method, path, headers))
}

/// The inclusive span `bytes=a-b`, `bytes=a-` or `bytes=-n` asks of `len` bytes; `None` for
/// anything else (answered 200) or a start past the end (416).
fn span(range: &str, len: usize) -> Option<Result<(usize, usize), ()>> {
    let (a, b) = range.strip_prefix("bytes=")?.split_once('-')?;
    let (a, b) = match (a.parse::<usize>().ok(), b.parse::<usize>().ok()) {
        (None, Some(n)) if a.is_empty() && n > 0 => (len.saturating_sub(n), len - 1),
        (Some(a), None) if b.is_empty() => (a, len - 1),
        (Some(a), Some(b)) if a <= b => (a, b.min(len - 1)),
        _ => return None,
    };
    Some(if a < len { Ok((a, b)) } else { Err(()) })
}

/// Sleeps `time` in short steps, ending early when the server stops.
fn stall(time: Duration, shared: &Shared) {
    let until = Instant::now() + time;
    while Instant::now() < until && !shared.stop.load(Ordering::SeqCst) {
        thread::sleep(POLL);
    }
}

fn reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

/// Answers one request; whether the connection may be reused.
fn answer(
    stream: &mut TcpStream,
    shared: &Shared,
    method: &str,
    path: &str,
    range: Option<&str>,
    fault: Option<Fault>,
) -> bool {
    let body = &shared.body;
    let len = body.len();
    let mode = shared.schedule.fault;
    match fault {
        Some(Fault::ResetBeforeHeaders) => {
            reset(stream);
            return false;
        }
        Some(Fault::GarbageStatusLine) => {
            let _ = stream.write_all(b"HTXP/1.1 2OO OK\r\nContent-Length: 5\r\n\r\nhello");
            return false;
        }
        Some(Fault::StallBeforeHeaders(time)) => stall(time, shared),
        Some(Fault::RedirectLoop) => {
            let next = path
                .strip_suffix('~')
                .map_or(format!("{path}~"), str::to_owned);
            let head =
                format!("HTTP/1.1 302 Found\r\nLocation: {next}\r\nContent-Length: 0\r\n\r\n");
            return stream.write_all(head.as_bytes()).is_ok();
        }
        Some(Fault::Status503) => {
            let head = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy";
            return stream.write_all(head.as_bytes()).is_ok();
        }
        _ => {}
    }
    let mut headers = vec!["Content-Type: application/octet-stream".to_string()];
    if mode == Fault::LastModifiedChange {
        let lm = if fault.is_some() {
            LAST_MODIFIED_V2
        } else {
            LAST_MODIFIED_V1
        };
        headers.push(format!("Last-Modified: {lm}"));
    } else {
        let etag = if fault == Some(Fault::EtagChange) {
            ETAG_V2
        } else {
            ETAG_V1
        };
        headers.push(format!("ETag: {etag}"));
        headers.push(format!("Last-Modified: {LAST_MODIFIED_V1}"));
    }
    let ignores = fault == Some(Fault::IgnoresRange);
    if !ignores {
        headers.push("Accept-Ranges: bytes".into());
    }
    let wanted = if ignores || method != "GET" {
        None
    } else {
        range.and_then(|r| span(r, len))
    };
    let (status, mut content) = match wanted {
        None => ("200 OK", body.clone()),
        Some(Err(())) => {
            let head = format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\n\r\n"
            );
            return stream.write_all(head.as_bytes()).is_ok();
        }
        Some(Ok((mut a, mut b))) => {
            if fault == Some(Fault::OtherSpan) {
                // One byte on, or one back for a span that ends at the end.
                if b + 1 < len {
                    (a, b) = (a + 1, b + 1);
                } else if a > 0 {
                    (a, b) = (a - 1, b - 1);
                }
            }
            if fault != Some(Fault::NoContentRange) {
                headers.push(format!("Content-Range: bytes {a}-{b}/{len}"));
            }
            ("206 Partial Content", body[a..=b].to_vec())
        }
    };
    if fault == Some(Fault::LongerThanContentRange) && status.starts_with("206") {
        content.extend_from_slice(&[0xEE; 16]);
    }
    headers.push(format!("Content-Length: {}", content.len()));
    let mut head = format!("HTTP/1.1 {status}\r\n");
    for h in &headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).is_err() {
        return false;
    }
    if method == "HEAD" {
        return true;
    }
    let half = content.len() / 2;
    match fault {
        Some(Fault::ResetMidBody) => {
            let _ = stream.write_all(&content[..half]);
            let _ = stream.flush();
            thread::sleep(POLL);
            reset(stream);
            false
        }
        Some(Fault::ShortBody) => {
            let _ = stream.write_all(&content[..half]);
            false
        }
        Some(Fault::StallMidBody(time)) => {
            if stream.write_all(&content[..half]).is_err() {
                return false;
            }
            let _ = stream.flush();
            stall(time, shared);
            write_body(stream, &content[half..], shared)
        }
        _ => write_body(stream, &content, shared),
    }
}

fn write_body(stream: &mut TcpStream, body: &[u8], shared: &Shared) -> bool {
    for piece in body.chunks(64 * 1024) {
        if shared.stop.load(Ordering::SeqCst) || stream.write_all(piece).is_err() {
            return false;
        }
    }
    stream.flush().is_ok()
}
