//! A small fault-injecting HTTP/1.1 server for behavioural tests: it serves one byte buffer at
//! any path, with RFC 9110 single-range support, and misbehaves in named ways ([`Mode`]).
//!
//! Plain std (a `TcpListener`, a thread per connection), so the faults are exactly what the
//! tests ask for: a socket cut after N body bytes, headers followed by silence, validators
//! that change between requests. Every loop is bounded and the server stops when dropped.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::acceptor::Acceptor;

/// How the server behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// A well-behaved server: RFC 9110 single ranges, 206/416/200, HEAD, If-Range.
    Ranges,
    /// Ignores `Range`: every GET is a 200 with the whole body (and no `Accept-Ranges`).
    IgnoresRange,
    /// Answers HEAD with 405, as presigned S3 URLs do; GET is normal.
    RefusesHead,
    /// Answers suffix ranges (`bytes=-N`) with 501; other ranges are normal.
    RefusesSuffix,
    /// The first `times` GET responses send correct headers, then only `bytes` body bytes,
    /// then the socket is closed. Later GETs are normal.
    DropAfter { bytes: usize, times: usize },
    /// From the second request on, the ETag is `"v2"` and Last-Modified a day later (the body
    /// stays the same): the resource "changed" between requests.
    ChangesAfterFirst,
    /// GET responses send their headers, then nothing for this long (or until the server is
    /// dropped), then the body.
    StallAfterHeaders(Duration),
    /// Every ranged GET is answered 416 with `Content-Range: bytes */LEN`.
    Always416,
    /// Every request is answered with this status and a short body.
    Status(u16),
    /// The first `times` requests are answered with `status` (and `Retry-After:
    /// retry_after` when given) and a short body; later ones are served normally.
    StatusThen {
        status: u16,
        times: usize,
        retry_after: Option<String>,
    },
    /// The first `after` requests are served normally; every later one is answered with
    /// `status` (a presigned URL that expired in the middle of an operation).
    StatusAfter { status: u16, after: usize },
    /// The first `times` requests are read and the connection closed without an answer;
    /// later ones are served normally.
    HangUpThen { times: usize },
    /// Answers every range with a 206 of at most this many bytes from the start asked for,
    /// with the real length (`bytes 0-262143/3145728`), as CDNs and media servers cap
    /// open-ended and large ranges.
    CapsAt(usize),
    /// As `CapsAt`, with the length unknown (`bytes 0-262143/*`); a range past the end gets a
    /// 416 without `Content-Range`, and HEAD and a GET without Range carry no length (the
    /// latter chunked).
    CapsUnknownLength(usize),
    /// Every GET is a chunked 200 with the whole body and no `Content-Length` (Range
    /// ignored); HEAD carries no length either.
    ChunkedNoLength,
    /// As `Ranges`, each answer sent this long after its request arrived (a long round trip);
    /// a request for several ranges gets a `multipart/byteranges` answer, one part per range.
    Delayed(Duration),
    /// As `ChangesAfterFirst`, ignoring `If-Match` (answering with the new version anyway).
    ChangesIgnoringIfMatch,
    /// As `Ranges`, with only a weak ETag (`W/"v1"`) and no Last-Modified: no validator a
    /// client may rely on.
    WeakOnly,
    /// As `Ranges`, each body sent at most this many bytes per second (a slow link).
    Throttled(usize),
    /// As `Ranges`, with ETag `"v2"` and Last-Modified a day later than `ETAG_V1`'s from the
    /// first request on: the resource was replaced since a client saw version 1.
    Replaced,
    /// As `Ranges`, and a request for several ranges gets a `multipart/byteranges` answer of
    /// this shape (any other mode answers it with 200 and the whole body, as S3 does).
    Multipart(Shape),
    /// As `Ranges`, and every request for several ranges is refused with this status: 416
    /// with `Content-Range: bytes */LEN`, as Werkzeug does, 400 as s3s-fs does.
    RefusesMultiRange(u16),
    /// Every range `bytes=A-...` (the first, when there are several) is answered with a 206
    /// from A to the end of the file, as busybox httpd answers `bytes=0-0`; a suffix range
    /// gets a 200 with the whole body.
    RunsToEnd,
}

/// How `Mode::Multipart` answers a multi-range request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One part per range, in the order asked.
    InOrder,
    /// One part per range, last first.
    Reversed,
    /// Each two neighbouring ranges in one part that also holds the bytes between them.
    Coalesced,
    /// The parts asked for, and one more for a range that was not.
    ExtraPart,
    /// Not multipart: one 206 from the first range's start to the last one's end.
    OnePart,
    /// Not multipart: one 206 for the first range only.
    FirstOnly,
    /// One part for each of the first this many ranges only, as lighttpd sends at most ten.
    FirstParts(usize),
    /// One part per range, the body ending right after the closing delimiter, with no CRLF
    /// (uvicorn with Starlette).
    Unterminated,
    /// In order for at most this many ranges; more get a 200 with the whole body (Apache's
    /// `MaxRanges`).
    WholeOver(usize),
}

impl Mode {
    /// `DropAfter { bytes, times }`: the first `times` GETs are cut after `bytes` body bytes.
    pub fn drop_after(bytes: usize, times: usize) -> Mode {
        Mode::DropAfter { bytes, times }
    }

    /// `StatusThen`: the first `times` requests get `status`, with `Retry-After` if given.
    pub fn status_then(status: u16, times: usize, retry_after: Option<&str>) -> Mode {
        Mode::StatusThen {
            status,
            times,
            retry_after: retry_after.map(str::to_owned),
        }
    }
}

/// One request the server received, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// `GET`, `HEAD`, ...
    pub method: String,
    /// The request target, e.g. `/file.bin`.
    pub path: String,
    /// Header names lowercased, values trimmed, in the order received.
    pub headers: Vec<(String, String)>,
    /// When the request head was complete.
    pub at: Instant,
}

impl Recorded {
    /// The first value of header `name` (any case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `Range` header, if present.
    pub fn range(&self) -> Option<&str> {
        self.header("range")
    }
}

/// The fault-injecting server. Stops (and unblocks its threads) when dropped: its acceptor
/// sets the stop flag the workers watch.
pub struct Server {
    shared: Arc<Shared>,
    acceptor: Acceptor,
}

struct Shared {
    body: Vec<u8>,
    mode: Mode,
    stop: Arc<AtomicBool>,
    requests: Mutex<Vec<Recorded>>,
    /// GET responses started so far (for `DropAfter`).
    gets: AtomicUsize,
    /// Requests being answered now, and the most there ever were at once.
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    /// Body bytes written to clients, in all.
    body_bytes_sent: AtomicUsize,
}

/// The strong validators of the resource, before and after `ChangesAfterFirst` changes it.
pub const ETAG_V1: &str = "\"v1\"";
/// The ETag from the second request on in `ChangesAfterFirst` mode.
pub const ETAG_V2: &str = "\"v2\"";
/// Last-Modified of the resource (a fixed date, long before any `Date`: a strong validator).
pub const LAST_MODIFIED_V1: &str = "Mon, 01 Jan 2024 00:00:00 GMT";
/// Last-Modified from the second request on in `ChangesAfterFirst` mode.
pub const LAST_MODIFIED_V2: &str = "Tue, 02 Jan 2024 00:00:00 GMT";
/// The `Content-Type` served.
pub const CONTENT_TYPE: &str = "application/octet-stream";

/// How long an idle keep-alive connection is kept before the worker gives up on it.
const IDLE_LIMIT: Duration = Duration::from_secs(20);
/// Granularity of the workers' checks of the stop flag.
const POLL: Duration = Duration::from_millis(50);
/// A request head larger than this is refused (the tests never send one).
const MAX_HEAD: usize = 64 * 1024;

impl Server {
    /// Binds 127.0.0.1 on a free port and serves `body` at every path.
    pub fn start(body: Vec<u8>, mode: Mode) -> Server {
        Server::start_on("127.0.0.1", body, mode)
    }

    /// As `start`, on the loopback address `ip` (127.0.0.2 for a second origin).
    pub fn start_on(ip: &str, body: Vec<u8>, mode: Mode) -> Server {
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            body,
            mode,
            stop: Arc::clone(&stop),
            requests: Mutex::new(Vec::new()),
            gets: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
            body_bytes_sent: AtomicUsize::new(0),
        });
        let conn_shared = Arc::clone(&shared);
        // A worker ends when its client closes, when it is idle for IDLE_LIMIT, or when the
        // stop flag is set.
        let acceptor = Acceptor::start_on(ip, stop, move |stream, _| {
            serve_connection(stream, &conn_shared)
        });
        Server { shared, acceptor }
    }

    /// `http://IP:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.acceptor.addr(), path)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.acceptor.addr()
    }

    /// The requests received so far, in order of arrival.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The most requests that were being answered at the same time.
    pub fn most_in_flight(&self) -> usize {
        self.shared.most_in_flight.load(Ordering::SeqCst)
    }

    /// How many body bytes were written to clients, in all (a client that drops a response
    /// unread stops this once the socket buffers are full).
    pub fn body_bytes_sent(&self) -> usize {
        self.shared.body_bytes_sent.load(Ordering::SeqCst)
    }

    /// The time between the arrival of each request and the next, in order.
    pub fn gaps(&self) -> Vec<Duration> {
        self.requests()
            .windows(2)
            .map(|pair| pair[1].at.duration_since(pair[0].at))
            .collect()
    }

    /// The `Range` header of each request received so far, in order.
    pub fn ranges(&self) -> Vec<Option<String>> {
        self.requests()
            .iter()
            .map(|r| r.range().map(str::to_owned))
            .collect()
    }

    /// Asserts that exactly `n` requests arrived; the failure names `context` and lists them.
    #[track_caller]
    pub fn assert_requests(&self, n: usize, context: &str) {
        let got = self.requests().len();
        assert_eq!(
            got,
            n,
            "{context}: want {n} requests, got {got}:\n{}",
            self.summary()
        );
    }

    /// A one-line-per-request summary (`GET bytes=0-99 if-range="v1"`), for failure messages.
    pub fn summary(&self) -> String {
        self.requests()
            .iter()
            .map(|r| {
                format!(
                    "{} {} range={} if-range={}",
                    r.method,
                    r.path,
                    r.range().unwrap_or("-"),
                    r.header("if-range").unwrap_or("-")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A parsed request head.
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Serves requests on one connection until the client closes it, it idles too long, a
/// response ends the connection, or the server stops.
fn serve_connection(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::new();
    // Bounded: every iteration either serves a request or ends the connection.
    loop {
        let Some(request) = read_request(&mut stream, &mut buf, shared) else {
            return;
        };
        let close_requested = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let index = {
            let mut requests = shared.requests.lock().unwrap();
            requests.push(Recorded {
                method: request.method.clone(),
                path: request.path.clone(),
                headers: request.headers.clone(),
                at: Instant::now(),
            });
            requests.len() - 1
        };
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.most_in_flight.fetch_max(now, Ordering::SeqCst);
        if let Mode::Delayed(delay) = shared.mode {
            std::thread::sleep(delay);
        }
        let keep_open = respond(&mut stream, shared, &request, index);
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !keep_open || close_requested || shared.stop.load(Ordering::SeqCst) {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// Reads one request head (and discards any body it announces). `None` when the connection
/// ends, idles past IDLE_LIMIT, sends garbage, or the server stops.
fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>, shared: &Shared) -> Option<Request> {
    let started = Instant::now();
    let head_end = loop {
        if let Some(pos) = find(buf, b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD
            || started.elapsed() > IDLE_LIMIT
            || shared.stop.load(Ordering::SeqCst)
        {
            return None;
        }
        read_some(stream, buf)?;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split_ascii_whitespace();
    let method = request_line.next()?.to_string();
    let path = request_line.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    // Discard a request body, if any (rangecat never sends one).
    let body_len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < body_len {
        if started.elapsed() > IDLE_LIMIT || shared.stop.load(Ordering::SeqCst) {
            return None;
        }
        read_some(stream, buf)?;
    }
    buf.drain(..body_len);
    Some(Request {
        method,
        path,
        headers,
    })
}

/// Appends what one read brings (nothing after a timeout); `None` at the end of the
/// connection or on an error.
fn read_some(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 4096];
    match stream.read(&mut chunk) {
        Ok(0) => None,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Some(())
        }
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
            ) =>
        {
            Some(())
        }
        Err(_) => None,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What a GET's `Range` header asks for (RFC 9110 §14.1.2), single ranges only.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    /// No usable Range: answer 200 with everything (also for multi-range and invalid syntax,
    /// which RFC 9110 §14.2 lets a server ignore).
    Whole,
    /// `bytes=a-b`, clipped to the resource: 206.
    Span(usize, usize),
    /// A range starting past the end, or `bytes=-0`: 416.
    Unsatisfiable,
}

fn parse_range(value: &str, len: usize) -> Wanted {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let number = |s: &str| -> Option<usize> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    match (first.is_empty(), last.is_empty()) {
        // bytes=-n: the last n bytes.
        (true, false) => match number(last) {
            Some(0) => Wanted::Unsatisfiable,
            Some(_) if len == 0 => Wanted::Unsatisfiable,
            Some(n) => Wanted::Span(len.saturating_sub(n), len - 1),
            None => Wanted::Whole,
        },
        // bytes=a-
        (false, true) => match number(first) {
            Some(a) if a >= len => Wanted::Unsatisfiable,
            Some(a) => Wanted::Span(a, len - 1),
            None => Wanted::Whole,
        },
        // bytes=a-b
        (false, false) => match (number(first), number(last)) {
            (Some(a), Some(b)) if a > b => Wanted::Whole,
            (Some(a), Some(_)) if a >= len => Wanted::Unsatisfiable,
            (Some(a), Some(b)) => Wanted::Span(a, b.min(len - 1)),
            _ => Wanted::Whole,
        },
        (true, true) => Wanted::Whole,
    }
}

fn is_suffix(value: &str) -> bool {
    value
        .trim()
        .strip_prefix("bytes=")
        .is_some_and(|s| s.trim_start().starts_with('-'))
}

/// Writes the response to `request`; returns whether the connection may be reused.
fn respond(stream: &mut TcpStream, shared: &Shared, request: &Request, index: usize) -> bool {
    let len = shared.body.len();
    let is_head = request.method == "HEAD";
    let changed = matches!(
        shared.mode,
        Mode::ChangesAfterFirst | Mode::ChangesIgnoringIfMatch
    ) && index >= 1
        || shared.mode == Mode::Replaced;
    let (etag, last_modified) = if changed {
        (ETAG_V2, LAST_MODIFIED_V2)
    } else {
        (ETAG_V1, LAST_MODIFIED_V1)
    };
    let etag = if shared.mode == Mode::WeakOnly {
        "W/\"v1\""
    } else {
        etag
    };
    let advertises_ranges = shared.mode != Mode::IgnoresRange;
    let mut headers: Vec<(&str, String)> = vec![
        ("Date", http_date(SystemTime::now())),
        ("Content-Type", CONTENT_TYPE.to_string()),
        ("ETag", etag.to_string()),
        ("Last-Modified", last_modified.to_string()),
    ];
    if shared.mode == Mode::WeakOnly {
        headers.retain(|(name, _)| *name != "Last-Modified");
    }
    if advertises_ranges {
        headers.push(("Accept-Ranges", "bytes".to_string()));
    }

    if let Mode::Status(code) = shared.mode {
        return send_short(stream, code, &format!("status {code}\n"), is_head, &[]);
    }
    match &shared.mode {
        Mode::StatusThen {
            status,
            times,
            retry_after,
        } if index < *times => {
            let extra: Vec<(&str, String)> = retry_after
                .iter()
                .map(|value| ("Retry-After", value.clone()))
                .collect();
            return send_short(
                stream,
                *status,
                &format!("status {status}\n"),
                is_head,
                &extra,
            );
        }
        Mode::StatusAfter { status, after } if index >= *after => {
            return send_short(stream, *status, &format!("status {status}\n"), is_head, &[]);
        }
        // Closing without a word: the client sees the connection end before any answer.
        Mode::HangUpThen { times } if index < *times => return false,
        _ => {}
    }
    if request.method != "GET" && request.method != "HEAD" {
        return send_short(
            stream,
            405,
            "method not allowed\n",
            is_head,
            &[("Allow", "GET, HEAD".into())],
        );
    }
    if is_head {
        if shared.mode == Mode::RefusesHead {
            return send_short(stream, 405, "", true, &[("Allow", "GET".into())]);
        }
        if !matches!(
            shared.mode,
            Mode::CapsUnknownLength(_) | Mode::ChunkedNoLength
        ) {
            headers.push(("Content-Length", len.to_string()));
        }
        return write_head(stream, 200, &headers);
    }

    // GET from here on. Preconditions (RFC 9110 §13.2.2): If-Match, then If-None-Match.
    let honours_if_match = shared.mode != Mode::ChangesIgnoringIfMatch;
    if honours_if_match && request.header("if-match").is_some_and(|v| v != etag) {
        return send_short(stream, 412, "", false, &headers);
    }
    if request.header("if-none-match").is_some_and(|v| v == etag) {
        return write_head(stream, 304, &headers) && stream.flush().is_ok();
    }
    let get_number = shared.gets.fetch_add(1, Ordering::SeqCst);
    let range = request.header("range");
    // RFC 9110 §13.1.5: a Range with a non-matching If-Range is ignored (200, whole body).
    let if_range_ok = request
        .header("if-range")
        .is_none_or(|v| v == etag || v == last_modified);
    let wanted = match (&shared.mode, range) {
        (Mode::IgnoresRange | Mode::ChunkedNoLength, _) | (_, None) => Wanted::Whole,
        (_, Some(_)) if !if_range_ok => Wanted::Whole,
        (Mode::Always416, Some(_)) => Wanted::Unsatisfiable,
        (Mode::RefusesSuffix, Some(r)) if is_suffix(r) => {
            return send_short(stream, 501, "suffix ranges not implemented\n", false, &[]);
        }
        (_, Some(r)) => parse_range(r, len),
    };
    if let (Mode::Multipart(shape), Some(value)) = (&shared.mode, range)
        && value.contains(',')
        && if_range_ok
    {
        return send_multipart(stream, shared, headers, value, *shape);
    }
    if let (Mode::Delayed(_), Some(value)) = (&shared.mode, range)
        && value.contains(',')
        && if_range_ok
    {
        return send_multipart(stream, shared, headers, value, Shape::InOrder);
    }
    if let (Mode::RefusesMultiRange(status), Some(value)) = (&shared.mode, range)
        && value.contains(',')
    {
        if *status == 416 {
            headers.push(("Content-Range", format!("bytes */{len}")));
        }
        return send_short(stream, *status, "", false, &headers);
    }
    let wanted = match (&shared.mode, wanted) {
        (Mode::RunsToEnd, Wanted::Span(a, _)) if !range.is_some_and(is_suffix) => {
            Wanted::Span(a, len - 1)
        }
        (Mode::RunsToEnd, Wanted::Span(..)) => Wanted::Whole,
        (_, wanted) => wanted,
    };
    let (cap, total) = match shared.mode {
        Mode::CapsAt(cap) => (cap, len.to_string()),
        Mode::CapsUnknownLength(cap) => (cap, "*".to_string()),
        _ => (usize::MAX, len.to_string()),
    };
    let unknown_length = matches!(
        shared.mode,
        Mode::CapsUnknownLength(_) | Mode::ChunkedNoLength
    );
    let (status, span) = match wanted {
        Wanted::Whole if unknown_length => {
            headers.push(("Transfer-Encoding", "chunked".to_string()));
            if !write_head(stream, 200, &headers) {
                return false;
            }
            return write_chunked(stream, &shared.body, shared);
        }
        Wanted::Whole => (200, 0..len),
        Wanted::Span(a, b) => {
            let b = b.min(a.saturating_add(cap.max(1) - 1));
            headers.push(("Content-Range", format!("bytes {a}-{b}/{total}")));
            (206, a..b + 1)
        }
        Wanted::Unsatisfiable if unknown_length => {
            return send_short(stream, 416, "", false, &headers);
        }
        Wanted::Unsatisfiable => {
            headers.push(("Content-Range", format!("bytes */{len}")));
            return send_short(stream, 416, "", false, &headers);
        }
    };
    headers.push(("Content-Length", span.len().to_string()));
    if !write_head(stream, status, &headers) {
        return false;
    }
    let body = &shared.body[span];
    match shared.mode {
        Mode::DropAfter { bytes, times } if get_number < times => {
            let _ = write_all(stream, &body[..bytes.min(body.len())], shared);
            let _ = stream.flush();
            // Cut the connection mid-body: the client sees fewer bytes than announced.
            let _ = stream.shutdown(Shutdown::Both);
            false
        }
        Mode::StallAfterHeaders(stall) => {
            let until = Instant::now() + stall;
            while Instant::now() < until && !shared.stop.load(Ordering::SeqCst) {
                thread::sleep(POLL);
            }
            write_all(stream, body, shared)
        }
        _ => write_all(stream, body, shared),
    }
}

/// Writes the body in pieces, stopping early when the server stops; `false` on any error.
fn write_all(stream: &mut TcpStream, body: &[u8], shared: &Shared) -> bool {
    let started = Instant::now();
    let mut sent = 0;
    for piece in body.chunks(64 * 1024) {
        if let Mode::Throttled(rate) = shared.mode {
            let due = started + Duration::from_secs_f64(sent as f64 / rate.max(1) as f64);
            thread::sleep(due.saturating_duration_since(Instant::now()));
            sent += piece.len();
        }
        if shared.stop.load(Ordering::SeqCst) || stream.write_all(piece).is_err() {
            return false;
        }
        shared
            .body_bytes_sent
            .fetch_add(piece.len(), Ordering::SeqCst);
    }
    stream.flush().is_ok()
}

/// Writes the body as HTTP/1.1 chunks (RFC 9112 §7.1) and the last chunk; `false` on any
/// error.
fn write_chunked(stream: &mut TcpStream, body: &[u8], shared: &Shared) -> bool {
    for piece in body.chunks(16 * 1024) {
        let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
        chunk.extend_from_slice(piece);
        chunk.extend_from_slice(b"\r\n");
        if shared.stop.load(Ordering::SeqCst) || stream.write_all(&chunk).is_err() {
            return false;
        }
    }
    stream.write_all(b"0\r\n\r\n").is_ok() && stream.flush().is_ok()
}

fn write_head(stream: &mut TcpStream, status: u16, headers: &[(&str, String)]) -> bool {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).is_ok() && stream.flush().is_ok()
}

/// A complete response with a short text body (none for HEAD).
/// Answers `bytes=a-b,c-d,...` as `shape` says.
fn send_multipart(
    stream: &mut TcpStream,
    shared: &Shared,
    mut headers: Vec<(&str, String)>,
    value: &str,
    shape: Shape,
) -> bool {
    let len = shared.body.len();
    // RFC 9110 §14.2: ranges that start past the end are left out; with none left, 416.
    let asked: Vec<(usize, usize)> = value
        .trim_start_matches("bytes=")
        .split(',')
        .filter_map(|item| {
            let (a, b) = item.trim().split_once('-')?;
            Some((a.parse().ok()?, b.parse::<usize>().ok()?.min(len - 1)))
        })
        .filter(|(a, b)| a <= b)
        .collect();
    if asked.is_empty() {
        headers.push(("Content-Range", format!("bytes */{len}")));
        headers.push(("Content-Length", "0".to_string()));
        return write_head(stream, 416, &headers);
    }
    let mut parts = asked.clone();
    match shape {
        Shape::InOrder | Shape::Unterminated => {}
        Shape::FirstParts(most) => parts.truncate(most),
        Shape::WholeOver(most) if asked.len() > most => {
            headers.push(("Content-Length", len.to_string()));
            return write_head(stream, 200, &headers) && write_all(stream, &shared.body, shared);
        }
        Shape::WholeOver(_) => {}
        Shape::Reversed => parts.reverse(),
        Shape::Coalesced => {
            parts = asked
                .chunks(2)
                .map(|pair| (pair[0].0, pair[pair.len() - 1].1))
                .collect();
        }
        Shape::ExtraPart => parts.insert(1, (asked[0].0 + 1, asked[0].1)),
        Shape::OnePart | Shape::FirstOnly => {
            let (a, b) = match shape {
                Shape::OnePart => (asked[0].0, asked[asked.len() - 1].1),
                _ => asked[0],
            };
            headers.push(("Content-Range", format!("bytes {a}-{b}/{len}")));
            headers.push(("Content-Length", (b + 1 - a).to_string()));
            return write_head(stream, 206, &headers)
                && write_all(stream, &shared.body[a..=b], shared);
        }
    }
    let boundary = "3d6b6a416f9b5";
    let mut body = Vec::new();
    for (a, b) in parts {
        body.extend_from_slice(
            format!(
                "\r\n--{boundary}\r\nContent-Type: {CONTENT_TYPE}\r\n\
                 Content-Range: bytes {a}-{b}/{len}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&shared.body[a..=b]);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--").as_bytes());
    if shape != Shape::Unterminated {
        body.extend_from_slice(b"\r\n");
    }
    headers.retain(|(name, _)| *name != "Content-Type");
    let content_type = format!("multipart/byteranges; boundary={boundary}");
    headers.push(("Content-Type", content_type));
    headers.push(("Content-Length", body.len().to_string()));
    write_head(stream, 206, &headers) && write_all(stream, &body, shared)
}

fn send_short(
    stream: &mut TcpStream,
    status: u16,
    body: &str,
    is_head: bool,
    extra: &[(&str, String)],
) -> bool {
    let mut headers: Vec<(&str, String)> = extra
        .iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case("content-length"))
        .cloned()
        .collect();
    if !headers.iter().any(|(n, _)| *n == "Date") {
        headers.push(("Date", http_date(SystemTime::now())));
    }
    headers.push(("Content-Length", body.len().to_string()));
    if !body.is_empty() && !headers.iter().any(|(n, _)| *n == "Content-Type") {
        headers.push(("Content-Type", "text/plain".to_string()));
    }
    if !write_head(stream, status, &headers) {
        return false;
    }
    if is_head {
        return true;
    }
    stream.write_all(body.as_bytes()).is_ok() && stream.flush().is_ok()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        304 => "Not Modified",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        412 => "Precondition Failed",
        416 => "Range Not Satisfiable",
        500 => "Internal Server Error",
        429 => "Too Many Requests",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// An IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let month_name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    format!(
        "{weekday}, {day:02} {month_name} {year} {:02}:{:02}:{:02} GMT",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_are_imf_fixdates() {
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_secs(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_secs(1_704_067_200)),
            LAST_MODIFIED_V1
        );
    }

    #[test]
    fn range_headers_are_parsed_as_rfc_9110_says() {
        assert_eq!(parse_range("bytes=0-99", 1000), Wanted::Span(0, 99));
        assert_eq!(parse_range("bytes=990-2000", 1000), Wanted::Span(990, 999));
        assert_eq!(parse_range("bytes=10-", 1000), Wanted::Span(10, 999));
        assert_eq!(parse_range("bytes=-100", 1000), Wanted::Span(900, 999));
        assert_eq!(parse_range("bytes=-5000", 1000), Wanted::Span(0, 999));
        assert_eq!(parse_range("bytes=-0", 1000), Wanted::Unsatisfiable);
        assert_eq!(parse_range("bytes=1000-", 1000), Wanted::Unsatisfiable);
        assert_eq!(parse_range("bytes=5-4", 1000), Wanted::Whole);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Wanted::Whole);
        assert_eq!(parse_range("items=0-1", 1000), Wanted::Whole);
    }
}
