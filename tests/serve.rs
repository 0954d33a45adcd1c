//! `rangecat serve`, checked on the wire against the Range And Streaming Spec: the numbered
//! Range rules and the header policy (fault-injecting server and hand-written upstreams), HEAD
//! and its fallback, content types, 502/504 and the single retry, backpressure (the RSS of a
//! separate proxy process under a slow reader), a client that hangs up, 200 concurrent
//! clients, open-proxy and traversal attempts, request limits, keep-alive, curl and nginx
//! interop, and SIGTERM.
//!
//! Clients speak raw HTTP/1.1 over a `TcpStream`, so every status line, header and body byte
//! is exactly what the proxy sent. Most tests run the proxy in-process (`Proxy::bind` on
//! 127.0.0.1:0); those about the command line, memory and signals spawn the binary. Every
//! server listens on 127.0.0.1, every wait is bounded, and spawned processes die on drop.

use std::fmt;
use std::fs;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rangecat::proxy::{Proxy, ProxyConfig, Stopper};

use crate::util::fixtures::free_port;
use crate::util::nginx::Nginx;
use crate::util::server::{self, Mode, Server};
use crate::util::{self, assert_bytes_eq};

/// Longest wait for any read or write of a test client: a proxy that hangs fails the test.
const IO_TIMEOUT: Duration = Duration::from_secs(15);

/// The path requested where the path does not matter.
const FILE: &str = "/file.bin";

/// Length of the fault server's body in most tests.
const LEN: usize = 100_000;

// ---------------------------------------------------------------------------------------------
// The proxy, in-process or spawned.

/// The proxy running in-process on 127.0.0.1; stopped on drop.
struct Running {
    addr: SocketAddr,
    stopper: Stopper,
}

/// What `rangecat serve` would run with by default, for `upstream` (shorter timeouts).
fn config(upstream: &str) -> ProxyConfig {
    ProxyConfig {
        upstream: upstream.to_owned(),
        chunk_size: 256 * 1024,
        connect_timeout: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
        retries: 1,
        max_connections: 1024,
        log: None,
    }
}

impl Running {
    fn start(config: ProxyConfig) -> Running {
        let proxy = Proxy::bind("127.0.0.1:0", config).expect("bind the proxy on 127.0.0.1:0");
        let addr = proxy.local_addr().expect("the proxy's address");
        let stopper = proxy.stopper().expect("the proxy's stopper");
        // Detached: `run` returns once stopped and its requests under way are done.
        thread::spawn(move || proxy.run());
        Running { addr, stopper }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stopper.stop();
    }
}

/// An in-process proxy to `upstream` with the default configuration.
fn proxy(upstream: &str) -> Running {
    Running::start(config(upstream))
}

/// `rangecat serve` as its own process on a free 127.0.0.1 port, stderr in a temp file;
/// killed on drop.
struct Spawned {
    child: Child,
    addr: SocketAddr,
    stderr: tempfile::NamedTempFile,
}

impl Spawned {
    /// Starts `rangecat serve --listen 127.0.0.1:PORT ARGS...` and waits until it accepts
    /// connections. Retries with another port if the one picked was taken meanwhile.
    fn start(args: &[&str]) -> Spawned {
        let mut failures = String::new();
        for attempt in 1..=3 {
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let stderr = tempfile::NamedTempFile::new().expect("a temp file for stderr");
            let mut command = Command::new(assert_cmd::cargo::cargo_bin!("rangecat"));
            command.env_clear();
            if let Some(path) = std::env::var_os("PATH") {
                command.env("PATH", path);
            }
            let child = command
                .arg("serve")
                .arg("--listen")
                .arg(addr.to_string())
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr.reopen().expect("reopen the stderr file"))
                .spawn()
                .expect("spawn rangecat serve");
            // From here on, dropping `spawned` kills the child.
            let mut spawned = Spawned {
                child,
                addr,
                stderr,
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(Some(status)) = spawned.child.try_wait() {
                    failures += &format!("attempt {attempt}: {status}: {}\n", spawned.stderr());
                    break;
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return spawned;
                }
                assert!(
                    Instant::now() < deadline,
                    "rangecat serve {args:?} is not accepting on {addr} after 10 s; stderr:\n{}",
                    spawned.stderr()
                );
                thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("rangecat serve {args:?} did not start:\n{failures}");
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it wrote on stderr so far.
    fn stderr(&self) -> String {
        fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    /// Sends it a signal with `kill -NAME PID`.
    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {}: {status}", self.pid());
    }

    /// Its exit status, if it exits within `limit`.
    fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Its resident set size in KiB (`VmRSS` in `/proc/PID/status`).
    fn rss_kib(&self) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a VmRSS line")
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 client.

/// An answer as it came off the wire.
struct Response {
    status: u16,
    /// Header fields in order, names as sent, values trimmed.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Whether the body was as long as its framing announced.
    complete: bool,
}

impl Response {
    /// The first value of `name` (any case).
    fn header(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next()
    }

    /// Every value of `name` (any case), in order.
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    #[track_caller]
    fn assert_header(&self, name: &str, want: &str) {
        assert_eq!(self.all(name), [want], "header {name}: {self:?}");
    }

    #[track_caller]
    fn assert_absent(&self, names: &[&str]) {
        for name in names {
            assert!(
                self.header(name).is_none(),
                "{name} must not reach the client: {self:?}"
            );
        }
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let complete = if self.complete { "" } else { ", incomplete" };
        writeln!(
            f,
            "{} ({} body bytes{complete})",
            self.status,
            self.body.len()
        )?;
        for (name, value) in &self.headers {
            writeln!(f, "  {name}: {value}")?;
        }
        if self.body.len() <= 200 {
            writeln!(f, "  body: {:?}", String::from_utf8_lossy(&self.body))?;
        }
        Ok(())
    }
}

/// One client connection.
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        Client {
            reader: BufReader::new(stream),
        }
    }

    fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }

    fn send(&mut self, bytes: &[u8]) {
        self.reader
            .get_mut()
            .write_all(bytes)
            .expect("send the request");
    }

    /// Sends `METHOD TARGET HTTP/1.1` with `headers` (and a Host unless given) and reads the
    /// answer.
    fn request(&mut self, method: &str, target: &str, headers: &[(&str, &str)]) -> Response {
        self.send(&request_bytes(method, target, headers));
        self.response(method == "HEAD")
    }

    /// Reads one answer; `head_request` says it answers a HEAD (no body follows).
    fn response(&mut self, head_request: bool) -> Response {
        let status_line = match self.line() {
            Ok(Some(line)) => line,
            Ok(None) => panic!("the connection closed before a status line"),
            Err(e) => panic!("no status line: {e}"),
        };
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        let status = parts.next().and_then(|s| s.parse::<u16>().ok());
        let (true, Some(status)) = (version.starts_with("HTTP/1."), status) else {
            panic!("not an HTTP/1.x status line: {status_line:?}");
        };
        let mut headers = Vec::new();
        for _ in 0..10_000 {
            let line = match self.line() {
                Ok(Some(line)) => line,
                other => panic!("the header section ended early ({other:?}) after {headers:?}"),
            };
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("malformed header line {line:?}"));
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
            complete: true,
        };
        if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
            return response;
        }
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        if chunked {
            response.complete = self.chunked(&mut response.body);
        } else if let Some(len) = response.header("content-length") {
            let len: usize = len.parse().expect("a numeric Content-Length");
            response.body = self.up_to(len);
            response.complete = response.body.len() == len;
        } else {
            // Delimited by the end of the connection.
            let mut buf = [0u8; 64 * 1024];
            loop {
                match self.reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => response.body.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) if is_timeout(&e) => panic!("the body never ended: {response:?}"),
                    Err(_) => {
                        response.complete = false;
                        break;
                    }
                }
            }
        }
        response
    }

    /// One line without its CRLF; `None` at the end of the connection.
    fn line(&mut self) -> io::Result<Option<String>> {
        let mut line = Vec::new();
        if self.reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(None);
        }
        if line.pop() != Some(b'\n') {
            return Ok(None);
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(Some(String::from_utf8_lossy(&line).into_owned()))
    }

    /// Up to `len` bytes: fewer when the connection ends or breaks first.
    fn up_to(&mut self, len: usize) -> Vec<u8> {
        let mut body = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        while body.len() < len {
            let want = (len - body.len()).min(buf.len());
            match self.reader.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => body.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    panic!("stalled after {} of {len} body bytes", body.len())
                }
                Err(_) => break,
            }
        }
        body
    }

    /// Decodes a chunked body into `body`; whether it ended properly.
    fn chunked(&mut self, body: &mut Vec<u8>) -> bool {
        for _ in 0..1_000_000 {
            let Ok(Some(line)) = self.line() else {
                return false;
            };
            let size = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size, 16)
                .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
            if size == 0 {
                // The trailer section, up to an empty line.
                for _ in 0..1000 {
                    match self.line() {
                        Ok(Some(line)) if line.is_empty() => return true,
                        Ok(Some(_)) => {}
                        _ => return false,
                    }
                }
                return false;
            }
            let data = self.up_to(size);
            let whole = data.len() == size;
            body.extend_from_slice(&data);
            if !whole || !matches!(self.line(), Ok(Some(line)) if line.is_empty()) {
                return false;
            }
        }
        false
    }

    /// Whether the proxy closes the connection within `limit` (EOF or reset). Bytes arriving
    /// instead fail the test: nothing may follow a complete answer.
    fn closes_within(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        self.stream()
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            match self.reader.read(&mut buf) {
                Ok(0) => return true,
                Ok(n) => panic!(
                    "{n} unexpected bytes after the answer: {:?}",
                    String::from_utf8_lossy(&buf[..n])
                ),
                Err(e) if is_timeout(&e) || e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
        false
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// `METHOD TARGET HTTP/1.1`, a Host unless `headers` has one, then `headers`.
fn request_bytes(method: &str, target: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut text = format!("{method} {target} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        text += "Host: rangecat.test\r\n";
    }
    for (name, value) in headers {
        text += &format!("{name}: {value}\r\n");
    }
    text += "\r\n";
    text.into_bytes()
}

/// A GET on a fresh connection.
fn get(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Response {
    Client::connect(addr).request("GET", target, headers)
}

/// Sends raw bytes on a fresh connection (ignoring a failed write: the proxy may hang up
/// mid-request) and reads one answer.
fn raw(addr: SocketAddr, bytes: &[u8]) -> (Response, Client) {
    let mut client = Client::connect(addr);
    let _ = client.reader.get_mut().write_all(bytes);
    let response = client.response(false);
    (response, client)
}

// ---------------------------------------------------------------------------------------------
// Hand-written upstreams.

/// A hand-written upstream on 127.0.0.1: each connection's request head is read and recorded,
/// then `handler` does what the test needs with the connection. Stops accepting on drop;
/// handlers end on their own (bounded, and they see the stop flag).
struct Upstream {
    addr: SocketAddr,
    shared: Arc<UpstreamShared>,
    acceptor: Option<JoinHandle<()>>,
}

struct UpstreamShared {
    stop: AtomicBool,
    heads: Mutex<Vec<String>>,
    accepted: AtomicUsize,
}

/// One connection to a hand-written upstream.
struct Conn {
    /// 0 for the first connection accepted, 1 for the next...
    index: usize,
    /// The request head (without the final empty line), if one came within five seconds.
    head: Option<String>,
    stream: TcpStream,
    shared: Arc<UpstreamShared>,
}

impl Conn {
    fn stopped(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }
}

impl Upstream {
    fn start(handler: impl Fn(Conn) + Send + Sync + 'static) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let shared = Arc::new(UpstreamShared {
            stop: AtomicBool::new(false),
            heads: Mutex::new(Vec::new()),
            accepted: AtomicUsize::new(0),
        });
        let handler = Arc::new(handler);
        let accept_shared = Arc::clone(&shared);
        let acceptor = thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let index = accept_shared.accepted.fetch_add(1, Ordering::SeqCst);
                let shared = Arc::clone(&accept_shared);
                let handler = Arc::clone(&handler);
                thread::spawn(move || {
                    let head = read_head(&stream);
                    if let Some(head) = &head {
                        shared.heads.lock().unwrap().push(head.clone());
                    }
                    handler(Conn {
                        index,
                        head,
                        stream,
                        shared,
                    });
                });
            }
        });
        Upstream {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// Answers each connection's request with `respond(head)`, then closes it (the answers
    /// should say `Connection: close`).
    fn answering(respond: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> Upstream {
        Upstream::start(move |mut conn| {
            if let Some(head) = conn.head.take() {
                let _ = conn.stream.write_all(&respond(&head));
            }
            let _ = conn.stream.shutdown(Shutdown::Write);
        })
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The request heads received so far.
    fn heads(&self) -> Vec<String> {
        self.shared.heads.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Reads a request head byte by byte (so nothing after it is consumed), at most 64 KiB and
/// five seconds.
fn read_head(mut stream: &TcpStream) -> Option<String> {
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
fn head_target(head: &str) -> &str {
    head.split_ascii_whitespace().nth(1).unwrap_or("")
}

/// The value of header `name` in a request head (any case).
fn head_header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// A response: status line, header lines, an empty line, then `body` as is.
fn canned(status_line: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
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
struct Endless {
    upstream: Upstream,
    written: Arc<AtomicU64>,
    broken_at: Arc<Mutex<Option<Instant>>>,
}

/// The length an `Endless` upstream announces: 8 GiB.
const ENDLESS_LEN: u64 = 8 << 30;

fn endless() -> Endless {
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

// ---------------------------------------------------------------------------------------------
// Small helpers.

/// A fault server in `mode` serving `LEN` random bytes, and the bytes.
fn fault_server(mode: Mode) -> (Server, Vec<u8>) {
    let data = util::random_bytes(LEN);
    (Server::start(data.clone(), mode), data)
}

/// A valid gzip member holding `data` in one stored deflate block (RFC 1951 §3.2.4,
/// RFC 1952): binary bytes that a client decoding gzip would turn back into `data`.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).expect("one stored block holds at most 64 KiB");
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    out.push(1); // BFINAL, BTYPE=00 (stored)
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// CRC-32 (IEEE), bit by bit: the gzip trailer's checksum.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A rendezvous of `n` threads that gives up after a timeout (std's `Barrier` would wait
/// forever for a thread that panicked).
struct Gate {
    arrived: Mutex<usize>,
    all: Condvar,
    n: usize,
}

impl Gate {
    fn new(n: usize) -> Gate {
        Gate {
            arrived: Mutex::new(0),
            all: Condvar::new(),
            n,
        }
    }

    /// Arrives and waits for the others; whether all came within `limit`.
    fn arrive(&self, limit: Duration) -> bool {
        let mut arrived = self.arrived.lock().unwrap();
        *arrived += 1;
        self.all.notify_all();
        let (arrived, _) = self
            .all
            .wait_timeout_while(arrived, limit, |a| *a < self.n)
            .unwrap();
        *arrived >= self.n
    }
}

/// The parts of a `multipart/byteranges` body (RFC 9110 §14.6): each part's Content-Range
/// `(first, last, complete length)` and bytes.
fn multipart_parts(content_type: &str, body: &[u8]) -> Vec<((usize, usize, usize), Vec<u8>)> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .unwrap_or_else(|| panic!("no boundary in {content_type:?}"))
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let find = |from: usize, needle: &[u8]| {
        body[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|at| at + from)
    };
    let mut parts = Vec::new();
    let mut at = find(0, delimiter.as_bytes()).expect("a first boundary");
    for _ in 0..1000 {
        at += delimiter.len();
        if body[at..].starts_with(b"--") {
            return parts;
        }
        let head_end = find(at, b"\r\n\r\n").expect("a part's header section");
        let head = String::from_utf8_lossy(&body[at..head_end]).into_owned();
        let range = head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-range"))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| panic!("a part without Content-Range: {head:?}"));
        let (span, total) = range
            .strip_prefix("bytes ")
            .and_then(|r| r.split_once('/'))
            .expect("bytes a-b/len");
        let (first, last) = span.split_once('-').expect("a-b");
        let (first, last): (usize, usize) = (first.parse().unwrap(), last.parse().unwrap());
        let start = head_end + 4;
        let end = start + (last - first + 1);
        parts.push((
            (first, last, total.parse().unwrap()),
            body[start..end].to_vec(),
        ));
        at = find(end, delimiter.as_bytes()).expect("a boundary after each part");
    }
    panic!("more than 1000 parts");
}

/// `curl` with a clean environment and no proxy, or `None` (after saying so) when it is not
/// installed; under `CI=true` a missing curl fails the test.
fn curl() -> Option<Command> {
    let found = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "curl is required when CI=true"
        );
        eprintln!("skipping: curl not found");
        return None;
    }
    let mut command = Command::new("curl");
    command.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command.args([
        "--silent",
        "--show-error",
        "--noproxy",
        "*",
        "--max-time",
        "20",
    ]);
    Some(command)
}

// ---------------------------------------------------------------------------------------------
// Range rules 1-5.

#[test]
fn a_range_is_forwarded_unchanged_and_the_206_passes_through() {
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let cases = [
        ("bytes=100-199", 100..200),
        ("bytes=-100", LEN - 100..LEN),
        ("bytes=99990-", 99_990..LEN),
        ("bytes=0-0", 0..1),
        ("bytes=5000-999999", 5000..LEN),
    ];
    for (i, (range, want)) in cases.into_iter().enumerate() {
        let response = get(proxy.addr, FILE, &[("Range", range)]);
        assert_eq!(response.status, 206, "{range}: {response:?}");
        response.assert_header(
            "content-range",
            &format!("bytes {}-{}/{LEN}", want.start, want.end - 1),
        );
        response.assert_header("content-length", &want.len().to_string());
        response.assert_header("accept-ranges", "bytes");
        response.assert_header("etag", server::ETAG_V1);
        response.assert_header("last-modified", server::LAST_MODIFIED_V1);
        response.assert_header("content-type", server::CONTENT_TYPE);
        assert!(response.complete, "{range}: {response:?}");
        assert_bytes_eq(&response.body, &data[want]);
        let seen = upstream.requests();
        assert_eq!(
            seen.len(),
            i + 1,
            "one upstream request each:\n{}",
            upstream.summary()
        );
        assert_eq!(seen[i].method, "GET");
        assert_eq!(seen[i].path, FILE);
        assert_eq!(
            seen[i].range(),
            Some(range),
            "the Range must arrive unchanged"
        );
    }
}

#[test]
fn a_request_without_range_gets_the_whole_body_without_range_headers_added() {
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let response = get(proxy.addr, FILE, &[]);
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_header("content-length", &LEN.to_string());
    response.assert_absent(&["content-range"]);
    assert_bytes_eq(&response.body, &data);
    let seen = upstream.requests();
    assert_eq!(seen.len(), 1, "{}", upstream.summary());
    assert_eq!(seen[0].range(), None, "the proxy must not invent a Range");
}

#[test]
fn a_body_many_chunks_long_arrives_byte_exact() {
    let data = util::random_bytes(3 * 1024 * 1024 + 123);
    let upstream = Server::start(data.clone(), Mode::Ranges);
    let proxy = Running::start(ProxyConfig {
        chunk_size: 4096,
        ..config(&upstream.url(""))
    });
    let whole = get(proxy.addr, FILE, &[]);
    assert_eq!(whole.status, 200, "{whole:?}");
    assert_bytes_eq(&whole.body, &data);
    let last = data.len() - 2;
    let inner = get(proxy.addr, FILE, &[("Range", &format!("bytes=1-{last}"))]);
    assert_eq!(inner.status, 206, "{inner:?}");
    assert_bytes_eq(&inner.body, &data[1..=last]);
}

#[test]
fn a_416_passes_through_with_the_upstream_content_range() {
    let (always, _) = fault_server(Mode::Always416);
    let proxy_always = proxy(&always.url(""));
    let response = get(proxy_always.addr, FILE, &[("Range", "bytes=0-9")]);
    assert_eq!(response.status, 416, "{response:?}");
    response.assert_header("content-range", &format!("bytes */{LEN}"));
    assert!(response.body.is_empty(), "{response:?}");
    assert_eq!(always.requests()[0].range(), Some("bytes=0-9"));

    let (ranges, _) = fault_server(Mode::Ranges);
    let proxy_ranges = proxy(&ranges.url(""));
    let past_end = format!("bytes={LEN}-");
    let response = get(proxy_ranges.addr, FILE, &[("Range", &past_end)]);
    assert_eq!(response.status, 416, "{response:?}");
    response.assert_header("content-range", &format!("bytes */{LEN}"));
    assert_eq!(ranges.requests()[0].range(), Some(past_end.as_str()));
}

#[test]
fn an_upstream_that_ignores_range_gives_the_client_200_and_the_whole_body() {
    let (upstream, data) = fault_server(Mode::IgnoresRange);
    let proxy = proxy(&upstream.url(""));
    let response = get(proxy.addr, FILE, &[("Range", "bytes=10-19")]);
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_header("content-length", &LEN.to_string());
    // Upstream advertised nothing: the proxy must not claim range support or a range.
    response.assert_absent(&["content-range", "accept-ranges"]);
    assert_bytes_eq(&response.body, &data);
    assert_eq!(upstream.requests()[0].range(), Some("bytes=10-19"));
}

#[test]
fn a_multi_range_request_is_forwarded_unchanged_and_the_answer_passed_through() {
    // The fault server answers a multi-range request with a 200 and everything.
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy_fault = proxy(&upstream.url(""));
    let response = get(proxy_fault.addr, FILE, &[("Range", "bytes=0-9,20-29")]);
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_header("content-length", &LEN.to_string());
    response.assert_absent(&["content-range"]);
    assert_bytes_eq(&response.body, &data);
    assert_eq!(upstream.requests()[0].range(), Some("bytes=0-9,20-29"));

    // An upstream that answers multipart/byteranges: passed through byte for byte.
    let boundary = "3d6b6a416f9b5";
    let mut body = Vec::new();
    for (first, last) in [(0, 9), (20, 29)] {
        body.extend_from_slice(
            format!(
                "\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n\
                 Content-Range: bytes {first}-{last}/{LEN}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&data[first..=last]);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/byteranges; boundary={boundary}");
    let answer = canned(
        "HTTP/1.1 206 Partial Content",
        &[
            &format!("Content-Type: {content_type}"),
            &format!("Content-Length: {}", body.len()),
            "Accept-Ranges: bytes",
            "Connection: close",
        ],
        &body,
    );
    let multipart = Upstream::answering(move |_| answer.clone());
    let proxy_multi = proxy(&multipart.url(""));
    let response = get(proxy_multi.addr, FILE, &[("Range", "bytes=0-9,20-29")]);
    assert_eq!(response.status, 206, "{response:?}");
    response.assert_header("content-type", &content_type);
    response.assert_header("content-length", &body.len().to_string());
    response.assert_absent(&["content-range"]);
    assert_bytes_eq(&response.body, &body);
    let heads = multipart.heads();
    assert_eq!(
        head_header(&heads[0], "range"),
        Some("bytes=0-9,20-29"),
        "{heads:?}"
    );
}

#[test]
fn an_upstream_error_status_is_passed_through_with_its_body() {
    for code in [404u16, 500, 503] {
        let upstream = Server::start(Vec::new(), Mode::Status(code));
        let proxy = proxy(&upstream.url(""));
        let response = get(proxy.addr, FILE, &[("Range", "bytes=0-9")]);
        assert_eq!(response.status, code, "{response:?}");
        assert_eq!(
            response.body,
            format!("status {code}\n").as_bytes(),
            "{response:?}"
        );
        assert_eq!(upstream.requests().len(), 1, "{}", upstream.summary());
    }
}

#[test]
fn an_upstream_that_breaks_mid_body_ends_the_client_connection() {
    let (upstream, data) = fault_server(Mode::DropAfter {
        bytes: 1000,
        times: 1,
    });
    let proxy = proxy(&upstream.url(""));
    let started = Instant::now();
    let mut client = Client::connect(proxy.addr);
    let response = client.request("GET", FILE, &[]);
    // The status was sent before the break: the client must see a short body and a closed
    // connection, never a complete-looking answer or a hang.
    assert_eq!(response.status, 200, "{response:?}");
    assert!(!response.complete, "{response:?}");
    assert_bytes_eq(&response.body, &data[..1000]);
    assert!(client.closes_within(Duration::from_secs(2)));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn an_upstream_stalling_mid_body_ends_the_client_connection_after_the_timeout() {
    let (upstream, _) = fault_server(Mode::StallAfterHeaders(Duration::from_secs(30)));
    let proxy = Running::start(ProxyConfig {
        timeout: Duration::from_secs(1),
        ..config(&upstream.url(""))
    });
    let started = Instant::now();
    let mut client = Client::connect(proxy.addr);
    let response = client.request("GET", FILE, &[("Range", "bytes=0-99")]);
    assert_eq!(response.status, 206, "{response:?}");
    assert!(!response.complete, "{response:?}");
    assert!(client.closes_within(Duration::from_secs(2)));
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "ended after {elapsed:?}");
}

// ---------------------------------------------------------------------------------------------
// Header pass-through.

#[test]
fn end_to_end_response_headers_pass_and_hop_by_hop_ones_stop() {
    let mut plain: Vec<u8> = (0..=255u8).collect();
    plain.extend_from_slice(b"\r\n\r\nHTTP/1.1 200 OK\r\n\0\0{\"json\": true}\n");
    let body = gzip_stored(&plain);
    let answer = canned(
        "HTTP/1.1 200 OK",
        &[
            "Content-Type: application/json",
            "Content-Encoding: gzip",
            &format!("Content-Length: {}", body.len()),
            "Content-Disposition: attachment; filename=\"data.json.gz\"",
            "Cache-Control: public, max-age=60",
            "Vary: Accept-Encoding",
            "Vary: Origin",
            "Set-Cookie: a=1",
            "Set-Cookie: b=2",
            "ETag: \"gz-1\"",
            "Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT",
            "Accept-Ranges: bytes",
            "X-End: 1",
            "Connection: close, X-Hop",
            "X-Hop: 1",
            "Keep-Alive: timeout=5",
            "Proxy-Authenticate: Basic realm=\"upstream\"",
            "Proxy-Connection: keep-alive",
            "Trailer: X-Checksum",
            "TE: trailers",
            "Upgrade: h2c",
        ],
        &body,
    );
    let upstream = Upstream::answering(move |_| answer.clone());
    let proxy = proxy(&upstream.url(""));
    let response = get(proxy.addr, "/data.json.gz", &[]);
    assert_eq!(response.status, 200, "{response:?}");
    for (name, value) in [
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
        ("content-length", body.len().to_string().as_str()),
        (
            "content-disposition",
            "attachment; filename=\"data.json.gz\"",
        ),
        ("cache-control", "public, max-age=60"),
        ("etag", "\"gz-1\""),
        ("last-modified", "Mon, 01 Jan 2024 00:00:00 GMT"),
        ("accept-ranges", "bytes"),
        ("x-end", "1"),
    ] {
        response.assert_header(name, value);
    }
    assert_eq!(
        response.all("vary"),
        ["Accept-Encoding", "Origin"],
        "{response:?}"
    );
    assert_eq!(response.all("set-cookie"), ["a=1", "b=2"], "{response:?}");
    response.assert_absent(&[
        "keep-alive",
        "x-hop",
        "proxy-authenticate",
        "proxy-connection",
        "trailer",
        "te",
        "upgrade",
        "transfer-encoding",
    ]);
    // The proxy's own Connection (about the client connection) is fine; upstream's is not.
    for value in response.all("connection") {
        assert!(
            value.eq_ignore_ascii_case("keep-alive") || value.eq_ignore_ascii_case("close"),
            "upstream's Connection leaked: {response:?}"
        );
    }
    // Encoded bytes pass as they are: not decoded, not re-encoded.
    assert_bytes_eq(&response.body, &body);
}

#[test]
fn a_chunked_upstream_body_is_reframed_not_altered() {
    let data = util::random_bytes(200_000);
    let mut chunked = Vec::new();
    let mut at = 0;
    for size in [1usize, 10, 4096, 70_000, 1, 65_536].into_iter().cycle() {
        if at == data.len() {
            break;
        }
        let size = size.min(data.len() - at);
        chunked.extend_from_slice(format!("{size:x}\r\n").as_bytes());
        chunked.extend_from_slice(&data[at..at + size]);
        chunked.extend_from_slice(b"\r\n");
        at += size;
    }
    chunked.extend_from_slice(b"0\r\nX-Checksum: 1234\r\n\r\n");
    let answer = canned(
        "HTTP/1.1 200 OK",
        &[
            "Content-Type: application/octet-stream",
            "Transfer-Encoding: chunked",
            "Trailer: X-Checksum",
            "Connection: close",
        ],
        &chunked,
    );
    let upstream = Upstream::answering(move |_| answer.clone());
    let proxy = proxy(&upstream.url(""));

    let response = get(proxy.addr, FILE, &[]);
    assert_eq!(response.status, 200, "{response:?}");
    assert!(response.complete, "{response:?}");
    response.assert_absent(&["trailer", "x-checksum"]);
    if let Some(length) = response.header("content-length") {
        assert_eq!(length, data.len().to_string(), "{response:?}");
        response.assert_absent(&["transfer-encoding"]);
    } else {
        response.assert_header("transfer-encoding", "chunked");
    }
    assert_bytes_eq(&response.body, &data);

    // An HTTP/1.0 client knows no chunked coding: the body ends with the connection.
    let (response, _client) = raw(proxy.addr, b"GET /file.bin HTTP/1.0\r\n\r\n");
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_absent(&["transfer-encoding", "trailer"]);
    assert_bytes_eq(&response.body, &data);
}

#[test]
fn request_headers_are_forwarded_and_hop_by_hop_ones_dropped() {
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let forwarded = [
        ("Range", "bytes=0-9"),
        ("If-Range", server::ETAG_V1),
        ("If-None-Match", "\"other\""),
        ("If-Modified-Since", "Sun, 31 Dec 2023 00:00:00 GMT"),
        ("Authorization", "Bearer secret-token"),
        ("X-Custom", "hello, world"),
        ("X-Name", "café"),
        ("Accept", "*/*"),
    ];
    let hop_by_hop = [
        ("Connection", "keep-alive, X-Private"),
        ("X-Private", "1"),
        ("Keep-Alive", "300"),
        ("TE", "trailers"),
        ("Upgrade", "websocket"),
        ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
        ("Proxy-Connection", "keep-alive"),
        ("Trailer", "X-Foo"),
    ];
    let mut headers = vec![("Host", "client.example")];
    headers.extend(forwarded);
    headers.extend(hop_by_hop);
    let response = get(proxy.addr, FILE, &headers);
    assert_eq!(response.status, 206, "{response:?}");
    assert_bytes_eq(&response.body, &data[..10]);

    let seen = upstream.requests();
    assert_eq!(seen.len(), 1, "{}", upstream.summary());
    let seen = &seen[0];
    for (name, value) in forwarded {
        assert_eq!(
            seen.header(name),
            Some(value),
            "{name} not forwarded: {seen:?}"
        );
    }
    for name in [
        "x-private",
        "keep-alive",
        "te",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
        "trailer",
    ] {
        assert_eq!(seen.header(name), None, "{name} forwarded: {seen:?}");
    }
    if let Some(connection) = seen.header("connection") {
        assert!(
            !connection.to_ascii_lowercase().contains("x-private"),
            "{seen:?}"
        );
    }
    // The upstream's own Host, never the client's.
    assert_eq!(
        seen.header("host"),
        Some(upstream.addr().to_string().as_str()),
        "{seen:?}"
    );
}

#[test]
fn if_range_reaches_the_upstream_so_a_stale_validator_gets_the_whole_body() {
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let fresh = get(
        proxy.addr,
        FILE,
        &[("Range", "bytes=0-9"), ("If-Range", server::ETAG_V1)],
    );
    assert_eq!(fresh.status, 206, "{fresh:?}");
    assert_bytes_eq(&fresh.body, &data[..10]);
    let stale = get(
        proxy.addr,
        FILE,
        &[("Range", "bytes=0-9"), ("If-Range", "\"old\"")],
    );
    assert_eq!(stale.status, 200, "{stale:?}");
    stale.assert_absent(&["content-range"]);
    assert_bytes_eq(&stale.body, &data);
    let seen = upstream.requests();
    assert_eq!(
        seen[1].header("if-range"),
        Some("\"old\""),
        "{}",
        upstream.summary()
    );
}

#[test]
fn a_header_value_with_utf8_bytes_passes_through() {
    // Raw UTF-8 (obs-text, RFC 9110 §5.5) is common in Content-Disposition; nginx passes it.
    let disposition = "attachment; filename=\"résumé.pdf\"";
    let answer = canned(
        "HTTP/1.1 200 OK",
        &[
            "Content-Type: application/pdf",
            &format!("Content-Disposition: {disposition}"),
            "X-Title: café",
            "Content-Length: 2",
            "Connection: close",
        ],
        b"ok",
    );
    let upstream = Upstream::answering(move |_| answer.clone());
    let proxy = proxy(&upstream.url(""));
    let response = get(proxy.addr, "/cv.pdf", &[]);
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_header("content-disposition", disposition);
    response.assert_header("x-title", "café");
    assert_eq!(response.body, b"ok");
}

#[test]
fn a_close_delimited_upstream_body_arrives_whole() {
    let data = util::random_bytes(300_000);
    let answer = canned(
        "HTTP/1.1 200 OK",
        &[
            "Content-Type: application/octet-stream",
            "Connection: close",
        ],
        &data,
    );
    let upstream = Upstream::answering(move |_| answer.clone());
    let proxy = proxy(&upstream.url(""));
    let mut client = Client::connect(proxy.addr);
    let response = client.request("GET", FILE, &[]);
    assert_eq!(response.status, 200, "{response:?}");
    assert!(response.complete, "{response:?}");
    assert_bytes_eq(&response.body, &data);
    // Framed (chunked) for an HTTP/1.1 client, so the connection may stay open.
    if response.header("content-length").is_none() && response.header("transfer-encoding").is_none()
    {
        assert!(client.closes_within(Duration::from_secs(2)));
    }
}

#[test]
fn a_redirect_is_passed_through_not_followed() {
    let (decoy, _) = fault_server(Mode::Ranges);
    let location = decoy.url("/elsewhere");
    let answer = canned(
        "HTTP/1.1 302 Found",
        &[
            &format!("Location: {location}"),
            "Content-Length: 0",
            "Connection: close",
        ],
        b"",
    );
    let upstream = Upstream::answering(move |_| answer.clone());
    let proxy = proxy(&upstream.url(""));
    let response = get(proxy.addr, FILE, &[]);
    assert_eq!(response.status, 302, "{response:?}");
    response.assert_header("location", &location);
    assert!(response.body.is_empty(), "{response:?}");
    assert!(
        decoy.requests().is_empty(),
        "the proxy followed the redirect:\n{}",
        decoy.summary()
    );
}

#[test]
fn a_304_passes_through_without_a_body() {
    let upstream = Upstream::answering(|head| {
        let not_modified = head_header(head, "if-none-match") == Some("\"abc\"")
            || head_header(head, "if-modified-since").is_some();
        if not_modified {
            canned(
                "HTTP/1.1 304 Not Modified",
                &[
                    "ETag: \"abc\"",
                    "Cache-Control: max-age=60",
                    "Connection: close",
                ],
                b"",
            )
        } else {
            canned(
                "HTTP/1.1 200 OK",
                &[
                    "Content-Type: text/plain",
                    "Content-Length: 5",
                    "ETag: \"abc\"",
                    "Connection: close",
                ],
                b"fresh",
            )
        }
    });
    let proxy = proxy(&upstream.url(""));
    let mut client = Client::connect(proxy.addr);
    for validator in [
        ("If-None-Match", "\"abc\""),
        ("If-Modified-Since", "Mon, 01 Jan 2024 00:00:00 GMT"),
    ] {
        let response = client.request("GET", "/page.txt", &[validator]);
        assert_eq!(response.status, 304, "{validator:?}: {response:?}");
        response.assert_header("etag", "\"abc\"");
        response.assert_header("cache-control", "max-age=60");
        response.assert_absent(&["transfer-encoding"]);
        if let Some(length) = response.header("content-length") {
            assert_eq!(length, "0", "{response:?}");
        }
    }
    // Had a body followed the 304s, it would be read here as the next status line.
    let response = client.request("GET", "/page.txt", &[]);
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body, b"fresh");
    let heads = upstream.heads();
    assert_eq!(heads.len(), 3, "{heads:?}");
    assert_eq!(head_header(&heads[0], "if-none-match"), Some("\"abc\""));
    assert_eq!(
        head_header(&heads[1], "if-modified-since"),
        Some("Mon, 01 Jan 2024 00:00:00 GMT")
    );
}

// ---------------------------------------------------------------------------------------------
// HEAD.

#[test]
fn head_is_forwarded_and_answered_without_a_body() {
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let mut client = Client::connect(proxy.addr);
    let response = client.request("HEAD", FILE, &[]);
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_header("content-length", &LEN.to_string());
    response.assert_header("accept-ranges", "bytes");
    response.assert_header("etag", server::ETAG_V1);
    response.assert_header("content-type", server::CONTENT_TYPE);
    // No body: the next answer on this connection starts right after the HEAD's headers.
    let next = client.request("GET", FILE, &[("Range", "bytes=0-4")]);
    assert_eq!(next.status, 206, "{next:?}");
    assert_bytes_eq(&next.body, &data[..5]);
    let seen = upstream.requests();
    assert_eq!(seen[0].method, "HEAD", "{}", upstream.summary());
    assert_eq!(seen.len(), 2, "{}", upstream.summary());
}

#[test]
fn head_falls_back_to_a_one_byte_get_when_upstream_refuses_head() {
    let (upstream, data) = fault_server(Mode::RefusesHead);
    let proxy = proxy(&upstream.url(""));
    let mut client = Client::connect(proxy.addr);
    let response = client.request("HEAD", FILE, &[]);
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_header("content-length", &LEN.to_string());
    response.assert_header("etag", server::ETAG_V1);
    response.assert_header("accept-ranges", "bytes");
    response.assert_absent(&["content-range"]);
    let next = client.request("GET", FILE, &[("Range", "bytes=5-9")]);
    assert_eq!(next.status, 206, "{next:?}");
    assert_bytes_eq(&next.body, &data[5..10]);
    let seen = upstream.requests();
    let summary = upstream.summary();
    assert_eq!(seen.len(), 3, "{summary}");
    assert_eq!(seen[0].method, "HEAD", "{summary}");
    assert_eq!(
        (seen[1].method.as_str(), seen[1].range()),
        ("GET", Some("bytes=0-0")),
        "{summary}"
    );
}

#[test]
fn head_falls_back_to_get_when_upstream_refuses_head_and_ignores_range() {
    let data = util::random_bytes(5000);
    let body = data.clone();
    let upstream = Upstream::answering(move |head| {
        if head.starts_with("HEAD ") {
            canned(
                "HTTP/1.1 501 Not Implemented",
                &["Content-Length: 0", "Connection: close"],
                b"",
            )
        } else {
            canned(
                "HTTP/1.1 200 OK",
                &[
                    "Content-Type: video/mp4",
                    "Content-Length: 5000",
                    "Connection: close",
                ],
                &body,
            )
        }
    });
    let proxy = proxy(&upstream.url(""));
    let mut client = Client::connect(proxy.addr);
    let response = client.request("HEAD", "/v.mp4", &[]);
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_header("content-length", "5000");
    response.assert_header("content-type", "video/mp4");
    response.assert_absent(&["content-range"]);
    // No body went to the client: the next answer parses.
    let next = client.request("GET", "/v.mp4", &[]);
    assert_eq!(next.status, 200, "{next:?}");
    assert_bytes_eq(&next.body, &data);
    let heads = upstream.heads();
    assert!(heads[0].starts_with("HEAD /v.mp4 "), "{heads:?}");
    assert!(heads[1].starts_with("GET /v.mp4 "), "{heads:?}");
    assert_eq!(
        head_header(&heads[1], "range"),
        Some("bytes=0-0"),
        "{heads:?}"
    );
}

#[test]
fn head_fallback_on_an_empty_resource_answers_200_with_length_0() {
    // `GET bytes=0-0` of an empty resource is a 416 (`bytes */0`): for the client's HEAD
    // that still means "exists, 0 bytes", not "your range is unsatisfiable" (it sent none).
    let upstream = Server::start(Vec::new(), Mode::RefusesHead);
    let proxy = proxy(&upstream.url(""));
    let mut client = Client::connect(proxy.addr);
    let response = client.request("HEAD", "/empty.txt", &[]);
    assert_eq!(response.status, 200, "{response:?}\n{}", upstream.summary());
    response.assert_header("content-length", "0");
    response.assert_absent(&["content-range"]);
}

// ---------------------------------------------------------------------------------------------
// Content types.

#[test]
fn a_missing_content_type_is_inferred_from_the_extension() {
    let upstream = Upstream::answering(|_| {
        canned(
            "HTTP/1.1 200 OK",
            &["Content-Length: 1", "Connection: close"],
            b"x",
        )
    });
    let proxy = proxy(&upstream.url(""));
    for (path, want) in [
        ("/live/index.m3u8", "application/vnd.apple.mpegurl"),
        ("/live/INDEX.M3U8?token=1", "application/vnd.apple.mpegurl"),
        ("/movie.mp4", "video/mp4"),
        ("/noext", "application/octet-stream"),
        ("/dir.d/file", "application/octet-stream"),
        ("/x.unknownext", "application/octet-stream"),
    ] {
        let response = get(proxy.addr, path, &[]);
        assert_eq!(response.status, 200, "{path}: {response:?}");
        assert_eq!(response.all("content-type"), [want], "{path}: {response:?}");
        assert_eq!(response.body, b"x");
    }
}

#[test]
fn a_content_type_sent_by_upstream_is_never_replaced() {
    let upstream = Upstream::answering(|head| {
        let content_type = if head_target(head).ends_with(".m3u8") {
            "Content-Type: audio/mpegurl"
        } else {
            "Content-Type: text/plain; charset=utf-8"
        };
        canned(
            "HTTP/1.1 200 OK",
            &[content_type, "Content-Length: 1", "Connection: close"],
            b"x",
        )
    });
    let proxy = proxy(&upstream.url(""));
    for (path, want) in [
        ("/movie.mp4", "text/plain; charset=utf-8"),
        ("/noext", "text/plain; charset=utf-8"),
        ("/live/index.m3u8", "audio/mpegurl"),
    ] {
        let response = get(proxy.addr, path, &[]);
        assert_eq!(response.all("content-type"), [want], "{path}: {response:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Errors, timeouts, retries.

#[test]
fn an_unreachable_upstream_gives_502_quickly() {
    let port = free_port();
    let proxy = proxy(&format!("http://127.0.0.1:{port}"));
    let started = Instant::now();
    let mut client = Client::connect(proxy.addr);
    let response = client.request("GET", FILE, &[("Range", "bytes=0-9")]);
    assert_eq!(response.status, 502, "{response:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The connection to the client survives an upstream failure.
    let again = client.request("HEAD", FILE, &[]);
    assert_eq!(again.status, 502, "{again:?}");
}

/// An upstream that accepts, reads the request and says nothing (for 20 s at most).
fn silent_upstream() -> Upstream {
    Upstream::start(|conn| {
        let until = Instant::now() + Duration::from_secs(20);
        while !conn.stopped() && Instant::now() < until {
            thread::sleep(Duration::from_millis(50));
        }
    })
}

#[test]
fn an_upstream_silent_before_headers_gives_504_within_the_timeout() {
    let upstream = silent_upstream();
    let proxy = Spawned::start(&["-q", "--timeout", "1", "--upstream", &upstream.url("")]);
    let started = Instant::now();
    let response = get(proxy.addr, FILE, &[]);
    let elapsed = started.elapsed();
    assert_eq!(response.status, 504, "{response:?}");
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "504 after {elapsed:?}; --timeout 1"
    );
    assert_eq!(upstream.heads().len(), 1, "{:?}", upstream.heads());
}

/// An upstream that hangs up on the first `drops` connections without answering, and
/// answers the others with `ok`.
fn dropping_upstream(drops: usize) -> Upstream {
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

#[test]
fn a_dropped_first_upstream_connection_is_retried_once() {
    let upstream = dropping_upstream(1);
    let proxy = proxy(&upstream.url(""));
    let response = get(proxy.addr, FILE, &[]);
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body, b"ok");
    assert_eq!(upstream.accepted(), 2);
}

#[test]
fn with_retries_0_a_dropped_upstream_connection_gives_502() {
    let upstream = dropping_upstream(1);
    let proxy = Spawned::start(&["-q", "--retries", "0", "--upstream", &upstream.url("")]);
    let response = get(proxy.addr, FILE, &[]);
    assert_eq!(response.status, 502, "{response:?}");
    thread::sleep(Duration::from_millis(300));
    assert_eq!(upstream.accepted(), 1, "--retries 0 must not retry");
}

#[test]
fn an_upstream_that_always_hangs_up_is_tried_twice_then_502() {
    let upstream = dropping_upstream(usize::MAX);
    let proxy = proxy(&upstream.url(""));
    let started = Instant::now();
    let response = get(proxy.addr, FILE, &[]);
    assert_eq!(response.status, 502, "{response:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    thread::sleep(Duration::from_millis(300));
    assert_eq!(upstream.accepted(), 2, "one attempt and one retry, no more");
}

// ---------------------------------------------------------------------------------------------
// Backpressure, hang-ups, concurrency, keep-alive.

#[test]
fn a_slow_client_keeps_the_proxy_memory_flat() {
    let upstream = endless();
    let proxy = Spawned::start(&["-q", "--upstream", &upstream.upstream.url("")]);
    let mut client = Client::connect(proxy.addr);
    client.send(&request_bytes("GET", "/big.bin", &[]));
    let mut read = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    // The headers, then the first chunk, so the stream is under way before sampling.
    let status = client
        .line()
        .expect("a status line")
        .expect("a status line");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    for _ in 0..100 {
        match client.line() {
            Ok(Some(line)) if line.is_empty() => break,
            Ok(Some(_)) => {}
            other => panic!("the header section ended early: {other:?}"),
        }
    }

    // Slow: 64 KiB every 10 ms for 5 s, the RSS sampled every 100 ms.
    let mut samples = Vec::new();
    for tick in 0..500 {
        client.reader.read_exact(&mut buf).expect("read 64 KiB");
        read += buf.len() as u64;
        if tick % 10 == 0 {
            samples.push(proxy.rss_kib());
        }
        thread::sleep(Duration::from_millis(10));
    }
    let written = upstream.written.load(Ordering::SeqCst);
    let slow_read = read;
    // Without backpressure the upstream would have written gigabytes by now; with it, only
    // what fits in the sockets' buffers and the proxy's chunk ahead of the client.
    assert!(
        written - read < 64 << 20,
        "the upstream ran {} MiB ahead of a slow client ({} MiB read)",
        (written - read) >> 20,
        read >> 20
    );

    // Fast: as much as the proxy moves in 3 s, to show memory does not follow body size.
    let fast_until = Instant::now() + Duration::from_secs(3);
    let mut fast = Vec::new();
    while Instant::now() < fast_until {
        for _ in 0..256 {
            client.reader.read_exact(&mut buf).expect("read 64 KiB");
        }
        read += 256 * buf.len() as u64;
        fast.push(proxy.rss_kib());
    }

    let third = samples.len() / 3;
    let mean = |s: &[u64]| s.iter().sum::<u64>() / s.len() as u64;
    let (first, last) = (
        mean(&samples[..third]),
        mean(&samples[samples.len() - third..]),
    );
    let max = samples.iter().chain(&fast).max().copied().unwrap_or(0);
    let report = format!(
        "RSS KiB, slow: {samples:?}\nfast: {fast:?}\n{} MiB read; the upstream was {} KiB \
         ahead of the slow client",
        read >> 20,
        (written - slow_read) >> 10
    );
    eprintln!("{report}");
    assert!(max < 40 * 1024, "RSS reached {max} KiB\n{report}");
    assert!(
        last <= first + 4 * 1024,
        "RSS grew from {first} to {last} KiB\n{report}"
    );
    assert!(read > 64 << 20, "{report}");
}

#[test]
fn a_client_that_disconnects_mid_body_closes_the_upstream_connection() {
    let upstream = endless();
    let proxy = Running::start(ProxyConfig {
        chunk_size: 64 * 1024,
        ..config(&upstream.upstream.url(""))
    });
    let mut client = Client::connect(proxy.addr);
    client.send(&request_bytes("GET", "/big.bin", &[]));
    let mut buf = vec![0u8; 1 << 20];
    client
        .reader
        .read_exact(&mut buf)
        .expect("read the first MiB");
    let _ = client.stream().shutdown(Shutdown::Both);
    drop(client);
    let hung_up = Instant::now();
    let deadline = hung_up + Duration::from_secs(5);
    let broken = loop {
        if let Some(at) = *upstream.broken_at.lock().unwrap() {
            break Some(at);
        }
        if Instant::now() > deadline {
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let written = upstream.written.load(Ordering::SeqCst) >> 20;
    let broken = broken.unwrap_or_else(|| {
        panic!("the upstream connection is still open 5 s after the client left ({written} MiB written)")
    });
    let after = broken.saturating_duration_since(hung_up);
    assert!(
        after < Duration::from_secs(2),
        "upstream closed {after:?} after the client"
    );
}

#[test]
fn a_client_that_stops_reading_is_dropped_after_the_timeout() {
    let upstream = endless();
    let proxy = Running::start(ProxyConfig {
        timeout: Duration::from_secs(1),
        ..config(&upstream.upstream.url(""))
    });
    let mut client = Client::connect(proxy.addr);
    client.send(&request_bytes("GET", "/big.bin", &[]));
    // Never read: the proxy's writes stall once the socket buffers are full.
    let started = Instant::now();
    let deadline = started + Duration::from_secs(8);
    let broken = loop {
        if let Some(at) = *upstream.broken_at.lock().unwrap() {
            break Some(at);
        }
        if Instant::now() > deadline {
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let broken = broken.expect("the upstream connection outlived a stalled client by 8 s");
    let after = broken.saturating_duration_since(started);
    assert!(
        after < Duration::from_secs(5),
        "released after {after:?} with --timeout 1"
    );
    drop(client);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_timeout() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let proxy = Running::start(ProxyConfig {
        timeout: Duration::from_secs(1),
        ..config(&upstream.url(""))
    });
    let mut client = Client::connect(proxy.addr);
    assert_eq!(
        client
            .request("GET", FILE, &[("Range", "bytes=0-0")])
            .status,
        206
    );
    assert!(
        client.closes_within(Duration::from_secs(4)),
        "idle connection kept past the timeout"
    );
}

/// Slowloris: a per-read timeout alone lets a client that sends one byte now and then hold
/// a connection (and a slot under `--max-connections`) for ever; the request head needs a
/// deadline of its own.
#[test]
fn a_client_trickling_its_request_head_is_cut_off() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let proxy = Running::start(ProxyConfig {
        timeout: Duration::from_secs(1),
        ..config(&upstream.url(""))
    });
    let mut stream = TcpStream::connect(proxy.addr).expect("connect");
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let head = format!(
        "GET {FILE} HTTP/1.1\r\nHost: x\r\nX-Slow: {}\r\n\r\n",
        "a".repeat(100)
    );
    let started = Instant::now();
    let mut closed_after = None;
    for byte in head.bytes() {
        if started.elapsed() > Duration::from_secs(8) {
            break;
        }
        stream.set_nonblocking(true).unwrap();
        let peeked = stream.peek(&mut [0u8; 1]);
        stream.set_nonblocking(false).unwrap();
        // EOF, a reset, or an answer (a 408) all end the trickle.
        if !matches!(&peeked, Err(e) if e.kind() == ErrorKind::WouldBlock)
            || stream.write_all(&[byte]).is_err()
        {
            closed_after = Some(started.elapsed());
            break;
        }
        thread::sleep(Duration::from_millis(300));
    }
    let closed_after = closed_after.expect("still open 8 s into a trickled head, --timeout 1");
    assert!(closed_after < Duration::from_secs(6), "{closed_after:?}");
    assert!(upstream.requests().is_empty(), "{}", upstream.summary());
}

#[test]
fn two_hundred_concurrent_clients_get_their_own_bytes() {
    const CLIENTS: usize = 200;
    let data = Arc::new(util::random_bytes(1024 * 1024));
    let upstream = Server::start(data.to_vec(), Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let addr = proxy.addr;
    let connected = Arc::new(Gate::new(CLIENTS));
    let answered = Arc::new(Gate::new(CLIENTS));
    let wait = Duration::from_secs(30);
    let handles: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (data, connected, answered) = (
                Arc::clone(&data),
                Arc::clone(&connected),
                Arc::clone(&answered),
            );
            thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || -> Result<(), String> {
                    let start = i * 5003;
                    let end = start + 1000 + i * 37;
                    let mut client = Client::connect(addr);
                    // All connected before any asks; all answered before any leaves: 200
                    // connections open at once.
                    if !connected.arrive(wait) {
                        return Err(format!("client {i}: not all clients connected"));
                    }
                    let range = format!("bytes={start}-{}", end - 1);
                    let response = client.request("GET", FILE, &[("Range", &range)]);
                    let ok = response.status == 206 && response.body == data[start..end];
                    let arrived = answered.arrive(wait);
                    if !ok {
                        return Err(format!("client {i} {range}: {response:?}"));
                    }
                    if !arrived {
                        return Err(format!("client {i}: not all clients answered"));
                    }
                    Ok(())
                })
                .expect("spawn a client thread")
        })
        .collect();
    let failures: Vec<String> = handles
        .into_iter()
        .filter_map(|h| match h.join() {
            Ok(Ok(())) => None,
            Ok(Err(why)) => Some(why),
            Err(_) => Some("a client panicked".to_owned()),
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(upstream.requests().len(), CLIENTS);
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let mut client = Client::connect(proxy.addr);
    for (range, want) in [("bytes=0-9", 0..10), ("bytes=10-19", 10..20)] {
        let response = client.request("GET", FILE, &[("Range", range)]);
        assert_eq!(response.status, 206, "{range}: {response:?}");
        assert_bytes_eq(&response.body, &data[want]);
    }
    let whole = client.request("GET", FILE, &[]);
    assert_eq!(whole.status, 200, "{whole:?}");
    assert_bytes_eq(&whole.body, &data);

    // Pipelined: two requests in one write, two answers in order.
    let mut both = request_bytes("GET", FILE, &[("Range", "bytes=100-109")]);
    both.extend(request_bytes("GET", FILE, &[("Range", "bytes=200-209")]));
    client.send(&both);
    for want in [100..110, 200..210] {
        let response = client.response(false);
        assert_eq!(response.status, 206, "{response:?}");
        assert_bytes_eq(&response.body, &data[want]);
    }

    // `Connection: close` is honoured after the answer.
    let last = client.request(
        "GET",
        FILE,
        &[("Range", "bytes=0-0"), ("Connection", "close")],
    );
    assert_eq!(last.status, 206, "{last:?}");
    assert!(
        client.closes_within(Duration::from_secs(2)),
        "still open after Connection: close"
    );
    assert_eq!(upstream.requests().len(), 6, "{}", upstream.summary());

    // HTTP/1.0 without keep-alive: answered, then closed.
    let (response, mut client) = raw(
        proxy.addr,
        b"GET /file.bin HTTP/1.0\r\nRange: bytes=0-3\r\n\r\n",
    );
    assert_eq!(response.status, 206, "{response:?}");
    assert_bytes_eq(&response.body, &data[..4]);
    assert!(client.closes_within(Duration::from_secs(2)));
}

#[test]
fn connections_beyond_the_limit_get_503() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let proxy = Running::start(ProxyConfig {
        max_connections: 2,
        ..config(&upstream.url(""))
    });
    let mut first = Client::connect(proxy.addr);
    let mut second = Client::connect(proxy.addr);
    for client in [&mut first, &mut second] {
        assert_eq!(
            client
                .request("GET", FILE, &[("Range", "bytes=0-0")])
                .status,
            206
        );
    }
    let mut third = Client::connect(proxy.addr);
    let response = third.request("GET", FILE, &[("Range", "bytes=0-0")]);
    assert_eq!(response.status, 503, "{response:?}");
    assert!(third.closes_within(Duration::from_secs(2)));
    // A freed slot is usable again (the count drops once the proxy sees the close).
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let status = get(proxy.addr, FILE, &[("Range", "bytes=0-0")]).status;
        if status == 206 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} after a client left"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// Not an open proxy.

#[test]
fn absolute_form_and_foreign_hosts_never_reach_another_server() {
    let (upstream, data) = fault_server(Mode::Ranges);
    let (decoy, _) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let decoy_host = decoy.addr().to_string();

    let absolute = format!("GET http://{decoy_host}/x HTTP/1.1\r\nHost: {decoy_host}\r\n\r\n");
    let (response, _) = raw(proxy.addr, absolute.as_bytes());
    assert_eq!(response.status, 400, "absolute form: {response:?}");
    let other = "GET http://other.example/ HTTP/1.1\r\nHost: other.example\r\n\r\n";
    let (response, _) = raw(proxy.addr, other.as_bytes());
    assert_eq!(response.status, 400, "absolute form: {response:?}");
    for odd in [
        format!("CONNECT {decoy_host} HTTP/1.1\r\nHost: {decoy_host}\r\n\r\n"),
        "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(),
        format!("GET {decoy_host}/x HTTP/1.1\r\nHost: x\r\n\r\n"),
    ] {
        let (response, _) = raw(proxy.addr, odd.as_bytes());
        assert!(
            response.status == 400 || response.status == 405,
            "{odd:?}: {response:?}"
        );
    }
    assert!(upstream.requests().is_empty(), "{}", upstream.summary());

    // Targets that look like authorities once glued to BASE stay on BASE, or are refused.
    for target in [format!("//{decoy_host}/x"), format!("/@{decoy_host}/x")] {
        let response = get(proxy.addr, &target, &[]);
        assert!(
            response.status == 400 || response.status == 200,
            "{target}: {response:?}"
        );
    }
    for seen in upstream.requests() {
        assert!(seen.path.starts_with('/'), "{seen:?}");
    }

    // A foreign Host goes to BASE all the same, with BASE's Host.
    let response = get(
        proxy.addr,
        "/y",
        &[("Host", &decoy_host), ("Range", "bytes=0-9")],
    );
    assert_eq!(response.status, 206, "{response:?}");
    assert_bytes_eq(&response.body, &data[..10]);
    let last = upstream.requests().pop().expect("the request reached BASE");
    assert_eq!(last.path, "/y");
    assert_eq!(
        last.header("host"),
        Some(upstream.addr().to_string().as_str()),
        "{last:?}"
    );

    assert!(
        decoy.requests().is_empty(),
        "reached the decoy:\n{}",
        decoy.summary()
    );
}

#[test]
fn paths_that_climb_out_of_the_base_are_refused() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url("/base/"));
    for target in [
        "/../secret",
        "/a/../../secret",
        "/./secret",
        "/%2e%2e/secret",
        "/%2E%2e/secret",
        "/.%2e/secret",
        "/..%2fsecret",
        "/a%2fb",
        "/a%2F..%2F..%2Fsecret",
        "/..%5csecret",
        "/..\\secret",
        "/a%00b",
        "/a/%2e%2e%2f%2e%2e%2fsecret",
    ] {
        let mut client = Client::connect(proxy.addr);
        let response = client.request("GET", target, &[]);
        assert_eq!(response.status, 400, "{target}: {response:?}");
    }
    assert!(
        upstream.requests().is_empty(),
        "reached upstream:\n{}",
        upstream.summary()
    );
}

#[test]
fn a_base_with_a_path_prefixes_every_request() {
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy = Spawned::start(&["-q", "--upstream", &upstream.url("/base/")]);
    for (target, want) in [
        ("/x", "/base/x"),
        (
            "/dir/file.bin?token=a%2Fb&x=..",
            "/base/dir/file.bin?token=a%2Fb&x=..",
        ),
        ("/", "/base/"),
        ("/a/..b/.c", "/base/a/..b/.c"),
        ("/a%20b/%7Euser", "/base/a%20b/%7Euser"),
    ] {
        let response = get(proxy.addr, target, &[("Range", "bytes=0-9")]);
        assert_eq!(response.status, 206, "{target}: {response:?}");
        assert_bytes_eq(&response.body, &data[..10]);
        let last = upstream.requests().pop().expect("a request upstream");
        assert_eq!(last.path, want, "{target}");
    }
}

// ---------------------------------------------------------------------------------------------
// Request limits and malformed requests.

#[test]
fn an_oversized_request_head_gets_431_and_a_closed_connection() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let one_line = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100_000)
    );
    let many_lines = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..25)
            .map(|i| format!("X-Big-{i}: {}\r\n", "a".repeat(4000)))
            .collect::<String>()
    );
    for (what, request) in [
        ("one 100 KB field", one_line),
        ("25 fields of 4 KB", many_lines),
    ] {
        let (response, mut client) = raw(proxy.addr, request.as_bytes());
        assert!(
            response.status == 431 || response.status == 400,
            "{what}: {response:?}"
        );
        assert!(
            client.closes_within(Duration::from_secs(2)),
            "{what}: still open"
        );
    }
    assert!(upstream.requests().is_empty(), "{}", upstream.summary());
}

#[test]
fn too_many_header_fields_get_431() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let fields: String = (0..200).map(|i| format!("X-Field-{i}: {i}\r\n")).collect();
    let request = format!("GET / HTTP/1.1\r\nHost: x\r\n{fields}\r\n");
    let (response, mut client) = raw(proxy.addr, request.as_bytes());
    assert_eq!(response.status, 431, "{response:?}");
    assert!(client.closes_within(Duration::from_secs(2)));
    assert!(upstream.requests().is_empty(), "{}", upstream.summary());
}

#[test]
fn a_malformed_request_gets_400() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    for request in [
        "GARBAGE\r\n\r\n",
        "GET /\r\n\r\n",
        "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\n folded: x\r\n\r\n",
    ] {
        let (response, mut client) = raw(proxy.addr, request.as_bytes());
        assert_eq!(response.status, 400, "{request:?}: {response:?}");
        assert!(
            client.closes_within(Duration::from_secs(2)),
            "{request:?}: still open"
        );
    }
    assert!(upstream.requests().is_empty(), "{}", upstream.summary());
}

#[test]
fn methods_other_than_get_and_head_get_405() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let mut client = Client::connect(proxy.addr);
        let response = client.request(method, FILE, &[("Content-Length", "0")]);
        assert_eq!(response.status, 405, "{method}: {response:?}");
        let allow = response
            .header("allow")
            .unwrap_or_else(|| panic!("no Allow: {response:?}"));
        assert!(
            allow.contains("GET") && allow.contains("HEAD"),
            "{response:?}"
        );
    }
    assert!(upstream.requests().is_empty(), "{}", upstream.summary());
}

#[test]
fn a_request_with_a_body_gets_400() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    for request in [
        "GET /file.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        "GET /file.bin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "POST /file.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    ] {
        let (response, mut client) = raw(proxy.addr, request.as_bytes());
        assert_eq!(response.status, 400, "{request:?}: {response:?}");
        assert!(
            client.closes_within(Duration::from_secs(2)),
            "{request:?}: still open"
        );
    }
    assert!(upstream.requests().is_empty(), "{}", upstream.summary());
}

// ---------------------------------------------------------------------------------------------
// Interop: curl as the client, nginx as the upstream.

#[test]
fn curl_through_the_proxy_gets_exact_ranges() {
    let Some(_) = curl() else { return };
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let url = format!("http://{}{FILE}", proxy.addr);
    let run = |args: &[&str]| {
        let output = curl()
            .unwrap()
            .args(args)
            .arg(&url)
            .output()
            .expect("run curl");
        assert!(
            output.status.success(),
            "curl {args:?}: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    };
    assert_bytes_eq(&run(&["-r", "100-199"]), &data[100..200]);
    assert_bytes_eq(&run(&["-r", "-1000"]), &data[LEN - 1000..]);
    assert_bytes_eq(&run(&["--http1.0", "-r", "5-9"]), &data[5..10]);
    assert_bytes_eq(&run(&[]), &data);
    let head = String::from_utf8(run(&["-I"])).expect("headers are text");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-length: {LEN}\r\n")),
        "{head}"
    );
    let code = run(&["-r", "200000-", "-o", "/dev/null", "-w", "%{http_code}"]);
    assert_eq!(String::from_utf8_lossy(&code), "416");
}

#[test]
fn an_nginx_upstream_serves_exact_ranges_through_the_proxy() {
    let root = tempfile::tempdir().expect("temp dir");
    let len = 3 * 1024 * 1024 + 12_345;
    let data = util::random_bytes(len);
    fs::write(root.path().join("blob.bin"), &data).expect("write the served file");
    let Some(nginx) = Nginx::start(root.path()) else {
        eprintln!("skipping: nginx not found");
        return;
    };
    let proxy = proxy(&nginx.url(""));
    let mut client = Client::connect(proxy.addr);
    let path = "/blob.bin";
    let whole = client.request("GET", path, &[]);
    assert_eq!(whole.status, 200, "{whole:?}");
    assert_bytes_eq(&whole.body, &data);
    let ranges = [
        ("bytes=0-0", 0..1),
        ("bytes=1000-99999", 1000..100_000),
        ("bytes=-500", len - 500..len),
        ("bytes=3000000-", 3_000_000..len),
    ];
    for (range, want) in ranges.clone() {
        let response = client.request("GET", path, &[("Range", range)]);
        assert_eq!(response.status, 206, "{range}: {response:?}");
        response.assert_header(
            "content-range",
            &format!("bytes {}-{}/{len}", want.start, want.end - 1),
        );
        assert_bytes_eq(&response.body, &data[want]);
    }
    let past = client.request("GET", path, &[("Range", "bytes=99999999-")]);
    assert_eq!(past.status, 416, "{past:?}");
    past.assert_header("content-range", &format!("bytes */{len}"));

    let head = client.request("HEAD", path, &[]);
    assert_eq!(head.status, 200, "{head:?}");
    head.assert_header("content-length", &len.to_string());
    head.assert_header("accept-ranges", "bytes");
    assert!(head.header("last-modified").is_some(), "{head:?}");
    let etag = head.header("etag").expect("nginx sends an ETag").to_owned();

    let not_modified = client.request("GET", path, &[("If-None-Match", &etag)]);
    assert_eq!(not_modified.status, 304, "{not_modified:?}");

    // nginx answers several ranges with multipart/byteranges: passed through intact.
    let multi = "bytes=0-9,20-29,1000000-1000099";
    let response = client.request("GET", path, &[("Range", multi)]);
    assert_eq!(response.status, 206, "{response:?}");
    let content_type = response.header("content-type").expect("a Content-Type");
    assert!(
        content_type.starts_with("multipart/byteranges"),
        "{response:?}"
    );
    let parts = multipart_parts(content_type, &response.body);
    let spans: Vec<_> = parts.iter().map(|(span, _)| *span).collect();
    assert_eq!(
        spans,
        [(0, 9, len), (20, 29, len), (1_000_000, 1_000_099, len)]
    );
    for ((first, last, _), bytes) in &parts {
        assert_bytes_eq(bytes, &data[*first..=*last]);
    }

    // nginx ignoring Range: a 200 with everything.
    let ignored = client.request("GET", "/no-ranges/blob.bin", &[("Range", "bytes=0-9")]);
    assert_eq!(ignored.status, 200, "{ignored:?}");
    assert_bytes_eq(&ignored.body, &data);

    // nginx saw each Range exactly as the client sent it.
    let logged: Vec<Option<String>> = nginx
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == path && r.status == 206)
        .map(|r| r.range)
        .collect();
    let mut sent: Vec<Option<String>> = ranges.iter().map(|(r, _)| Some(r.to_string())).collect();
    sent.push(Some(multi.to_owned()));
    assert_eq!(logged, sent, "nginx error log:\n{}", nginx.error_log());
}

// ---------------------------------------------------------------------------------------------
// Lifecycle: signals and the access log.

#[test]
fn sigterm_and_sigint_stop_the_proxy_cleanly() {
    let (upstream, _) = fault_server(Mode::Ranges);
    for signal in ["TERM", "INT"] {
        let mut proxy = Spawned::start(&["-q", "--upstream", &upstream.url("")]);
        // An idle keep-alive client must not keep it alive.
        let mut idle = Client::connect(proxy.addr);
        assert_eq!(
            idle.request("GET", FILE, &[("Range", "bytes=0-0")]).status,
            206
        );
        proxy.signal(signal);
        let status = proxy.wait_for_exit(Duration::from_secs(2));
        let status = status.unwrap_or_else(|| panic!("still running 2 s after SIG{signal}"));
        assert_eq!(
            status.code(),
            Some(0),
            "SIG{signal}: {status}\n{}",
            proxy.stderr()
        );
        assert!(
            proxy.stderr().is_empty(),
            "SIG{signal} -q: {}",
            proxy.stderr()
        );
    }
}

#[test]
fn each_request_gets_one_access_log_line() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let mut proxy = Spawned::start(&["--upstream", &upstream.url("")]);
    let mut client = Client::connect(proxy.addr);
    assert_eq!(
        client
            .request("GET", FILE, &[("Range", "bytes=0-9")])
            .status,
        206
    );
    assert_eq!(client.request("HEAD", "/other.bin", &[]).status, 200);
    drop(client);
    proxy.signal("TERM");
    assert!(
        proxy.wait_for_exit(Duration::from_secs(2)).is_some(),
        "still running"
    );
    let stderr = proxy.stderr();
    let lines = |needle: &str| {
        stderr
            .lines()
            .filter(|l| l.contains(needle))
            .collect::<Vec<_>>()
    };
    let get_lines = lines("GET /file.bin");
    assert_eq!(get_lines.len(), 1, "{stderr}");
    for part in ["range=bytes=0-9", " 206 ", " 10 ", "ms"] {
        assert!(
            get_lines[0].contains(part),
            "{part:?} missing: {}",
            get_lines[0]
        );
    }
    let head_lines = lines("HEAD /other.bin");
    assert_eq!(head_lines.len(), 1, "{stderr}");
    assert!(head_lines[0].contains(" 200 "), "{}", head_lines[0]);
}
