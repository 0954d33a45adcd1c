//! A raw HTTP/1.1 client over a `TcpStream`, so that every status line, header and body byte
//! is exactly what the server sent; and a reader of `multipart/byteranges` bodies.

use std::fmt;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Longest wait for any read or write of a test client: a server that hangs fails the test.
pub const IO_TIMEOUT: Duration = Duration::from_secs(15);

/// An answer as it came off the wire.
pub struct Response {
    pub status: u16,
    /// Header fields in order, names as sent, values trimmed.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the body was as long as its framing announced.
    pub complete: bool,
}

impl Response {
    /// The first value of `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next()
    }

    /// Every value of `name` (any case), in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    #[track_caller]
    pub fn assert_header(&self, name: &str, want: &str) {
        assert_eq!(self.all(name), [want], "header {name}: {self:?}");
    }

    #[track_caller]
    pub fn assert_absent(&self, names: &[&str]) {
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
pub struct Client {
    pub reader: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        Client {
            reader: BufReader::new(stream),
        }
    }

    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.reader
            .get_mut()
            .write_all(bytes)
            .expect("send the request");
    }

    /// Sends `METHOD TARGET HTTP/1.1` with `headers` (and a Host unless given) and reads the
    /// answer.
    pub fn request(&mut self, method: &str, target: &str, headers: &[(&str, &str)]) -> Response {
        self.send(&request_bytes(method, target, headers));
        self.response(method == "HEAD")
    }

    /// Reads one answer; `head_request` says it answers a HEAD (no body follows).
    pub fn response(&mut self, head_request: bool) -> Response {
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
    pub fn line(&mut self) -> io::Result<Option<String>> {
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
    pub fn up_to(&mut self, len: usize) -> Vec<u8> {
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
    pub fn chunked(&mut self, body: &mut Vec<u8>) -> bool {
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
    pub fn closes_within(&mut self, limit: Duration) -> bool {
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

pub fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// `METHOD TARGET HTTP/1.1`, a Host unless `headers` has one, then `headers`.
pub fn request_bytes(method: &str, target: &str, headers: &[(&str, &str)]) -> Vec<u8> {
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
pub fn get(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Response {
    Client::connect(addr).request("GET", target, headers)
}

/// Sends raw bytes on a fresh connection (ignoring a failed write: the proxy may hang up
/// mid-request) and reads one answer.
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> (Response, Client) {
    let mut client = Client::connect(addr);
    let _ = client.reader.get_mut().write_all(bytes);
    let response = client.response(false);
    (response, client)
}

/// The parts of a `multipart/byteranges` body (RFC 9110 §14.6): each part's Content-Range
/// `(first, last, complete length)` and bytes.
pub fn multipart_parts(content_type: &str, body: &[u8]) -> Vec<((usize, usize, usize), Vec<u8>)> {
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
