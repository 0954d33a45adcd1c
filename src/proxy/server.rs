//! The proxy's server: a thread per client connection (HTTP/1.1 keep-alive), each request
//! forwarded to the upstream over one shared keep-alive agent, the answer streamed back in
//! `chunk_size` pieces. A slow client blocks the write, which stops the upstream read: the
//! TCP window does the backpressure, and memory per connection stays at about one chunk.

use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use ureq::Agent;
use ureq::config::AutoHeaderValue;
use ureq::http::{self, Response};

use super::error::{Error, UpstreamError};
use super::forward::{content_type_for, request_headers, response_headers};
use super::request::{self, Refusal, Request, check_target, read_request};
use crate::Log;
use crate::http::content_range::parse_content_range;
use crate::http::redact::redact_url;
use crate::http::tls::{CaBundle, tls_config_for};
use crate::http::{header, proxy_env, reason};

/// How the proxy runs.
#[derive(Clone)]
pub struct ProxyConfig {
    /// The upstream base URL: every request path is appended to it.
    pub upstream: String,
    /// Bytes per read and write of a body.
    pub chunk_size: usize,
    /// Longest wait to connect to the upstream.
    pub connect_timeout: Duration,
    /// Longest stall of any read or write, upstream or client (also the keep-alive idle time).
    pub timeout: Duration,
    /// Extra attempts when connecting to the upstream fails.
    pub retries: u32,
    /// Most client connections served at once; more get a 503.
    pub max_connections: usize,
    /// Where access-log lines go, if anywhere.
    pub log: Option<Log>,
    /// CAs trusted besides the trust store for an https upstream (`--cacert`).
    pub cacert: Option<CaBundle>,
    /// Skip verification of the upstream's certificate (`-k/--insecure`).
    pub insecure: bool,
}

/// A bound, not yet running proxy.
pub struct Proxy {
    listener: TcpListener,
    shared: Arc<Shared>,
}

struct Shared {
    agent: Agent,
    /// `scheme://authority` of the upstream.
    origin: String,
    /// The upstream's base path, without a trailing `/`.
    base_path: String,
    config: ProxyConfig,
    stopping: AtomicBool,
    connections: AtomicUsize,
    in_flight: AtomicUsize,
}

/// Stops a running proxy from another thread (a signal handler, a test).
#[derive(Clone)]
pub struct Stopper {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl Stopper {
    /// Stops accepting; requests under way finish (up to a bound), then `run` returns.
    pub fn stop(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

impl Proxy {
    /// Binds `listen` for the upstream `config.upstream`.
    pub fn bind(listen: &str, config: ProxyConfig) -> Result<Proxy, Error> {
        let (origin, base_path) = split_base(&config.upstream)?;
        let upstream_proxy = proxy_env::from_env(&config.upstream).map_err(Error::InvalidProxy)?;
        let tls = tls_config_for(&config.upstream, config.cacert.as_ref(), config.insecure)
            .map_err(Error::Tls)?;
        let listener = TcpListener::bind(listen).map_err(|source| Error::Listen {
            address: listen.to_owned(),
            source,
        })?;
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_recv_response(Some(config.timeout))
            .timeout_per_read(Some(config.timeout))
            .timeout_per_write(Some(config.timeout))
            .user_agent(AutoHeaderValue::None)
            .accept(AutoHeaderValue::None)
            .accept_encoding(AutoHeaderValue::None)
            .max_idle_connections(256)
            .max_idle_connections_per_host(256)
            .input_buffer_size(config.chunk_size.clamp(16 * 1024, 4 * 1024 * 1024))
            .proxy(upstream_proxy)
            .tls_config(tls)
            .build()
            .into();
        Ok(Proxy {
            listener,
            shared: Arc::new(Shared {
                agent,
                origin,
                base_path,
                config,
                stopping: AtomicBool::new(false),
                connections: AtomicUsize::new(0),
                in_flight: AtomicUsize::new(0),
            }),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A handle that stops it.
    pub fn stopper(&self) -> io::Result<Stopper> {
        Ok(Stopper {
            shared: self.shared.clone(),
            addr: self.local_addr()?,
        })
    }

    /// Serves until stopped, then waits (at most ten seconds) for requests under way.
    pub fn run(self) {
        for stream in self.listener.incoming() {
            if self.shared.stopping.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let shared = self.shared.clone();
            if shared.connections.fetch_add(1, Ordering::SeqCst) >= shared.config.max_connections {
                shared.connections.fetch_sub(1, Ordering::SeqCst);
                let _ = refuse(&stream, 503, "too many connections");
                continue;
            }
            let spawned = thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    serve_connection(stream, &shared);
                    shared.connections.fetch_sub(1, Ordering::SeqCst);
                });
            if spawned.is_err() {
                self.shared.connections.fetch_sub(1, Ordering::SeqCst);
            }
        }
        // Closed, so that a client connecting now is refused rather than left waiting in the
        // accept queue while the requests under way finish.
        drop(self.listener);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.shared.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Splits the upstream base into its origin and its path.
fn split_base(base: &str) -> Result<(String, String), Error> {
    let invalid = |reason: String| Error::InvalidUpstream {
        base: base.to_owned(),
        reason,
    };
    let uri: http::Uri = base.parse().map_err(|e| invalid(format!("{e}")))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(invalid("expected http://host[:port][/path]".into()));
    };
    if scheme != "http" && scheme != "https" {
        return Err(invalid("only http and https upstreams are proxied".into()));
    }
    if uri.query().is_some() {
        return Err(invalid("a base URL takes no query".into()));
    }
    let path = uri.path().trim_end_matches('/').to_owned();
    Ok((format!("{scheme}://{authority}"), path))
}

fn serve_connection(stream: TcpStream, shared: &Shared) {
    let timeout = shared.config.timeout;
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let _ = stream.set_nodelay(true);
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "-".into());
    let Ok(reading) = stream.try_clone() else {
        return;
    };
    let mut input = BufReader::with_capacity(
        16 * 1024,
        Deadline {
            stream: reading,
            until: Instant::now(),
        },
    );
    let mut output = stream;
    loop {
        // The wait for a request and its whole head share one deadline, so a client that
        // trickles a byte at a time cannot hold a connection forever.
        input.get_mut().until = Instant::now() + timeout;
        let request = match read_request(&mut input) {
            Ok(request::Read::Request(request)) => request,
            Ok(request::Read::Refused(refusal)) => {
                let _ = refuse(&output, refusal.status, &refusal.reason);
                shared.log(&peer, "-", "-", refusal.status, 0, Instant::now());
                return;
            }
            Ok(request::Read::Closed) | Err(_) => return,
        };
        let started = Instant::now();
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        let keep_alive = request.keep_alive() && !shared.stopping.load(Ordering::SeqCst);
        let outcome = shared.respond(&request, &mut output, keep_alive);
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        let (status, sent, reusable) = match outcome {
            Ok(Answered { status, bytes }) => (status, bytes, keep_alive),
            Err(Failed { status, bytes }) => (status, bytes, false),
        };
        let range = request.header("range").unwrap_or("-");
        shared.log(
            &peer,
            &format!("{} {}", request.method, request.target),
            range,
            status,
            sent,
            started,
        );
        if !reusable {
            let _ = output.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// Reads from the client with a read timeout that shrinks towards `until`.
struct Deadline {
    stream: TcpStream,
    until: Instant,
}

impl Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request head took too long",
            ));
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

/// A request answered in full: the status sent and the body bytes written.
struct Answered {
    status: u16,
    bytes: u64,
}

/// A request that ended the connection (client gone, upstream broke mid-body).
struct Failed {
    status: u16,
    bytes: u64,
}

impl Shared {
    fn log(
        &self,
        peer: &str,
        request: &str,
        range: &str,
        status: u16,
        bytes: u64,
        started: Instant,
    ) {
        if let Some(log) = &self.config.log {
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let request = redact_url(request);
            log(&format!(
                "{peer} \"{request}\" range={range} {status} {bytes} {ms:.1}ms"
            ));
        }
    }

    fn respond(
        &self,
        request: &Request,
        client: &mut TcpStream,
        keep_alive: bool,
    ) -> Result<Answered, Failed> {
        let fail = |status| Failed { status, bytes: 0 };
        let head = request.method == "HEAD";
        if request.method != "GET" && !head {
            let answer = simple(
                405,
                "only GET and HEAD are proxied",
                keep_alive,
                &[("Allow", "GET, HEAD")],
            );
            client.write_all(&answer).map_err(|_| fail(405))?;
            return Ok(Answered {
                status: 405,
                bytes: 0,
            });
        }
        let target = match check_target(&request.target) {
            Ok(target) => target,
            Err(Refusal { status, reason }) => {
                let answer = simple(status, &reason, keep_alive, &[]);
                client.write_all(&answer).map_err(|_| fail(status))?;
                return Ok(Answered { status, bytes: 0 });
            }
        };
        let url = format!("{}{}{}", self.origin, self.base_path, target);
        let forwarded = request_headers(
            request
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str())),
        );
        let upstream = if head {
            self.head(&url, &forwarded)
        } else {
            self.call("GET", &url, &forwarded).map(Upstream::Response)
        };
        let upstream = match upstream {
            Ok(upstream) => upstream,
            Err(err) => {
                let status = if err.is_timeout() { 504 } else { 502 };
                let message = format!("upstream: {}", crate::one_line(&err));
                let answer = simple(status, &message, keep_alive, &[]);
                client.write_all(&answer).map_err(|_| fail(status))?;
                return Ok(Answered { status, bytes: 0 });
            }
        };
        self.relay(upstream, target, head, request, client, keep_alive)
    }

    /// Sends a request upstream, retrying when the connection could not be made.
    fn call(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
    ) -> Result<Response<ureq::Body>, UpstreamError> {
        let mut attempts = self.config.retries + 1;
        loop {
            attempts -= 1;
            let mut request = http::Request::builder().method(method).uri(url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let request = request.body(()).map_err(UpstreamError::Request)?;
            match self.agent.run(request) {
                Ok(response) => return Ok(response),
                Err(err) if attempts > 0 && is_connection_failure(&err) => continue,
                Err(err) => return Err(UpstreamError::Transport(err)),
            }
        }
    }

    /// `HEAD`, or where the upstream refuses it (405, 501), `GET bytes=0-0` turned into the
    /// headers of the whole resource.
    fn head(&self, url: &str, headers: &[(&str, &str)]) -> Result<Upstream, UpstreamError> {
        let response = self.call("HEAD", url, headers)?;
        let status = response.status().as_u16();
        if status != 405 && status != 501 {
            return Ok(Upstream::Response(response));
        }
        let mut probe: Vec<(&str, &str)> = headers
            .iter()
            .filter(|(n, _)| {
                !n.eq_ignore_ascii_case("range") && !n.eq_ignore_ascii_case("if-range")
            })
            .copied()
            .collect();
        probe.push(("Range", "bytes=0-0"));
        let response = self.call("GET", url, &probe)?;
        let total = header(response.headers(), "content-range")
            .and_then(|v| parse_content_range(&v))
            .and_then(|cr| cr.len);
        match (response.status().as_u16(), total) {
            (206, Some(len)) => Ok(Upstream::Probed { response, len }),
            // An empty resource has no byte 0: its one-byte GET is a 416 of `bytes */0`.
            (416, Some(0)) => Ok(Upstream::Probed { response, len: 0 }),
            _ => Ok(Upstream::Response(response)),
        }
    }

    /// Streams the upstream's answer to the client.
    fn relay(
        &self,
        upstream: Upstream,
        target: &str,
        head: bool,
        request: &Request,
        client: &mut TcpStream,
        keep_alive: bool,
    ) -> Result<Answered, Failed> {
        let (response, probed_len) = match upstream {
            Upstream::Response(response) => (response, None),
            Upstream::Probed { response, len } => (response, Some(len)),
        };
        let mut status = response.status().as_u16();
        let headers = response.headers();
        let pairs: Vec<(&str, &[u8])> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        let mut out: Vec<(String, Vec<u8>)> = response_headers(pairs.iter().copied())
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_vec()))
            .collect();
        let length = match probed_len {
            // A HEAD answered from `GET bytes=0-0`: the whole resource's headers.
            Some(len) => {
                status = 200;
                out.retain(|(n, _)| !n.eq_ignore_ascii_case("content-range"));
                Some(len)
            }
            None if headers.contains_key("transfer-encoding") => None,
            None => header(headers, "content-length").and_then(|v| v.parse::<u64>().ok()),
        };
        if !out
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            && status != 304
        {
            out.push((
                "Content-Type".into(),
                content_type_for(target).as_bytes().to_vec(),
            ));
        }
        let bodyless = head || status == 304 || status == 204 || (100..200).contains(&status);
        let chunked = !bodyless && length.is_none() && request.version == "HTTP/1.1";
        let keep_alive = keep_alive && (bodyless || length.is_some() || chunked);
        let mut head_bytes = format!("HTTP/1.1 {status} {}\r\n", reason(status)).into_bytes();
        for (name, value) in &out {
            head_bytes.extend_from_slice(name.as_bytes());
            head_bytes.extend_from_slice(b": ");
            head_bytes.extend_from_slice(value);
            head_bytes.extend_from_slice(b"\r\n");
        }
        if let Some(len) = length.filter(|_| status != 304 && status != 204) {
            head_bytes.extend_from_slice(format!("Content-Length: {len}\r\n").as_bytes());
        }
        if chunked {
            head_bytes.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
        }
        head_bytes.extend_from_slice(if keep_alive {
            b"Connection: keep-alive\r\n\r\n"
        } else {
            b"Connection: close\r\n\r\n"
        });
        client
            .write_all(&head_bytes)
            .map_err(|_| Failed { status, bytes: 0 })?;
        if bodyless || probed_len.is_some() {
            return Ok(Answered { status, bytes: 0 });
        }
        let mut body = response.into_body().into_reader();
        let sent = self.stream_body(&mut body, client, length, chunked);
        match sent {
            Ok(bytes) if keep_alive => Ok(Answered { status, bytes }),
            Ok(bytes) => Err(Failed { status, bytes }),
            Err(bytes) => Err(Failed { status, bytes }),
        }
    }

    /// Copies the body in `chunk_size` pieces; `Err` (with the bytes sent) when either side
    /// broke, after which the connection must close.
    fn stream_body(
        &self,
        body: &mut impl Read,
        client: &mut TcpStream,
        length: Option<u64>,
        chunked: bool,
    ) -> Result<u64, u64> {
        let mut buf = vec![0u8; self.config.chunk_size.max(1)];
        let mut sent = 0u64;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Err(sent),
            };
            let written = if chunked {
                write!(client, "{n:x}\r\n")
                    .and_then(|_| client.write_all(&buf[..n]))
                    .and_then(|_| client.write_all(b"\r\n"))
            } else {
                client.write_all(&buf[..n])
            };
            written.map_err(|_| sent)?;
            sent += n as u64;
        }
        if length.is_some_and(|len| sent != len) {
            return Err(sent);
        }
        if chunked {
            client.write_all(b"0\r\n\r\n").map_err(|_| sent)?;
        }
        Ok(sent)
    }
}

/// An upstream answer: as it came, or a one-byte GET standing in for a refused HEAD.
enum Upstream {
    Response(Response<ureq::Body>),
    Probed {
        response: Response<ureq::Body>,
        len: u64,
    },
}

/// A failure to reach the upstream at all, where one retry is worth it.
fn is_connection_failure(err: &ureq::Error) -> bool {
    match err {
        ureq::Error::Io(io) => matches!(
            io.kind(),
            io::ErrorKind::ConnectionRefused
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof
                | io::ErrorKind::NotConnected
        ),
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => true,
        _ => false,
    }
}

/// A small complete answer with a text body.
fn simple(status: u16, message: &str, keep_alive: bool, extra: &[(&str, &str)]) -> Vec<u8> {
    let body = format!("{status} {}: {message}\n", reason(status));
    let mut answer = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n",
        reason(status),
        body.len()
    );
    for (name, value) in extra {
        answer += &format!("{name}: {value}\r\n");
    }
    answer += if keep_alive {
        "Connection: keep-alive\r\n\r\n"
    } else {
        "Connection: close\r\n\r\n"
    };
    answer += &body;
    answer.into_bytes()
}

/// Answers and closes.
fn refuse(mut stream: &TcpStream, status: u16, message: &str) -> io::Result<()> {
    stream.write_all(&simple(status, message, false, &[]))?;
    let _ = stream.shutdown(Shutdown::Write);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_splits_into_origin_and_path() {
        assert_eq!(
            split_base("http://127.0.0.1:9000/media/").unwrap(),
            ("http://127.0.0.1:9000".to_owned(), "/media".to_owned())
        );
        assert_eq!(
            split_base("https://cdn.example").unwrap(),
            ("https://cdn.example".to_owned(), String::new())
        );
        for bad in ["ftp://x/", "/just/a/path", "http://x/?q=1", "not a url"] {
            assert!(split_base(bad).is_err(), "{bad}");
        }
    }
}
