//! The way to the upstream, one per worker: HTTP/1.1 over plain TCP or rustls (with the
//! trust of the client commands, `--cacert`, `-k`), the worker's own pool of keep-alive
//! connections, no redirect followed, nothing added to a request but `Host`, and the spec's
//! one retry when a connection fails before any answer. The exchange is rangecat's own,
//! not hyper's client: the answer's head is parsed with httparse and its body read straight
//! from the connection as the client takes it (see `body`), with no task or channel between
//! the socket and the client's answer, and an identity body's socket handed to the caller
//! for `splice(2)`.

mod body;
mod conn;
pub(crate) mod framing;
pub(crate) mod head;

use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Poll, ready};
use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use hyper::header::{HeaderMap, HeaderName};
use hyper::{Method, StatusCode, Uri};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsConnector;

pub(crate) use body::Body;
use conn::{Conn, Pool, Stream};
use head::Head;

use super::buffers;
use super::error::{Error, UpstreamError};
use crate::http::tls::{CaBundle, rustls_config_for};

/// Idle upstream connections kept for reuse, per worker (each has its own pool); nginx's
/// `keepalive 64` per worker, with room for bursts of concurrent ranges.
const IDLE_PER_HOST: usize = 256;
/// How long an idle upstream connection is kept (under the 60-75 s most servers allow).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The first read of an answer: room for most heads (nginx's and Apache's are about 300
/// bytes, S3's under 1 KiB) and a small body behind them. 2 KiB measured 7 % more CPU a
/// 64 KiB range than 1 KiB (README, Performance › serve).
const FIRST_READ: usize = 1024;
/// Most bytes of an answer's head (hyper's client allowed a buffer's worth too).
const MIN_MAX_HEAD: usize = 64 * 1024;

/// The upstream client.
pub(crate) struct Upstream {
    host: String,
    port: u16,
    /// The `Host` field of every request: the base's host, and its port unless the default.
    host_field: String,
    /// For an https upstream: the handshake's settings and the name to verify.
    tls: Option<(TlsConnector, ServerName<'static>)>,
    pool: Arc<Pool>,
    connect_timeout: Duration,
    /// Longest wait for an answer's head once connected (504 after it).
    timeout: Duration,
    /// Extra attempts when the connection fails before an answer.
    retries: u32,
    chunk_size: usize,
}

/// What the upstream's trust and pacing are.
pub(crate) struct UpstreamConfig<'a> {
    pub(crate) base: &'a str,
    pub(crate) cacert: Option<&'a CaBundle>,
    pub(crate) insecure: bool,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) retries: u32,
    pub(crate) chunk_size: usize,
}

/// An upstream answer.
pub(crate) struct Response {
    pub(crate) status: StatusCode,
    /// The fields that go to the client: no hop-by-hop ones, no framing.
    pub(crate) headers: HeaderMap,
    /// The `Content-Length` the answer gave, unless it was chunked (see `head::Head`).
    pub(crate) length: Option<u64>,
    pub(crate) body: Body,
}

impl Upstream {
    pub(crate) fn new(config: UpstreamConfig<'_>) -> Result<Upstream, Error> {
        let invalid = |reason: &str| Error::InvalidUpstream {
            base: config.base.to_owned(),
            reason: reason.to_owned(),
        };
        let url: Uri = config.base.parse().map_err(|_| invalid("not a URL"))?;
        let https = url.scheme_str() == Some("https");
        let host = url
            .host()
            .ok_or_else(|| invalid("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = url.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = match https {
            true => {
                let trust = rustls_config_for(config.base, config.cacert, config.insecure)
                    .map_err(Error::Tls)?;
                let mut tls = (*trust).clone();
                tls.alpn_protocols = vec![b"http/1.1".to_vec()];
                let name = ServerName::try_from(host.clone())
                    .map_err(|_| invalid("the host is not a name a certificate can carry"))?;
                Some((TlsConnector::from(Arc::new(tls)), name))
            }
            false => None,
        };
        let chunk_size = config.chunk_size.max(8 * 1024);
        Ok(Upstream {
            host,
            port,
            host_field: head::host_field(&url),
            tls,
            pool: Arc::new(Pool::new(IDLE_PER_HOST, IDLE_TIMEOUT)),
            connect_timeout: config.connect_timeout,
            timeout: config.timeout,
            retries: config.retries,
            chunk_size,
        })
    }

    /// Sends `METHOD target` (a path and query on the upstream's host) with the fields of
    /// `headers` that `forward` lets through, retrying when the connection failed before an
    /// answer; the answer's head within the timeout. A kept connection that the upstream
    /// has closed meanwhile fails at once and another is taken, not counted as an attempt.
    pub(crate) async fn send(
        &self,
        method: &Method,
        target: &str,
        headers: &HeaderMap,
        forward: &(dyn Fn(&HeaderName) -> bool + Sync),
    ) -> Result<Response, UpstreamError> {
        let request = head::request_bytes(method, target, &self.host_field, headers, forward);
        let mut attempts = self.retries + 1;
        loop {
            let answer = match self.pool.take() {
                Some(kept) => match self.exchange(kept, &request, method).await {
                    Err(err) if err.is_connection_failure() => continue,
                    answer => answer,
                },
                None => {
                    attempts -= 1;
                    // The handshake counts against the timeout too.
                    let fresh = async {
                        let conn = self.connect().await?;
                        self.exchange(conn, &request, method).await
                    };
                    tokio::time::timeout(self.timeout, fresh)
                        .await
                        .unwrap_or(Err(UpstreamError::Timeout))
                }
            };
            match answer {
                Ok(response) => return Ok(response),
                Err(err) if attempts > 0 && err.is_connection_failure() => continue,
                Err(err) => return Err(err),
            }
        }
    }

    /// Closes the idle connections kept for longer than the idle timeout.
    pub(crate) fn close_expired(&self) {
        self.pool.close_expired();
    }

    async fn connect(&self) -> Result<Conn, UpstreamError> {
        let connecting = TcpStream::connect((self.host.as_str(), self.port));
        let tcp = match tokio::time::timeout(self.connect_timeout, connecting).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(err)) if err.kind() == io::ErrorKind::TimedOut => {
                return Err(UpstreamError::ConnectTimeout(Box::new(err)));
            }
            Ok(Err(err)) => return Err(UpstreamError::Connect(Box::new(err))),
            Err(_) => {
                let err = io::Error::new(io::ErrorKind::TimedOut, "connect timed out");
                return Err(UpstreamError::ConnectTimeout(Box::new(err)));
            }
        };
        let _ = tcp.set_nodelay(true);
        let Some((connector, name)) = &self.tls else {
            return Ok(Conn::new(Stream::Plain(tcp)));
        };
        match connector.connect(name.clone(), tcp).await {
            Ok(tls) => Ok(Conn::new(Stream::Tls(Box::new(tls)))),
            Err(err) => Err(match certificate_problem(&err) {
                Some(problem) => UpstreamError::Certificate(problem),
                None => UpstreamError::Connect(Box::new(err)),
            }),
        }
    }

    /// Writes `request` on `conn` and reads the answer's head within the timeout; the body
    /// is left to read.
    async fn exchange(
        &self,
        mut conn: Conn,
        request: &[u8],
        method: &Method,
    ) -> Result<Response, UpstreamError> {
        let Conn { stream, answer_due } = &mut conn;
        answer_due.as_mut().reset(Instant::now() + self.timeout);
        let (head, buf) =
            within(answer_due.as_mut(), self.read_head(stream, request, method)).await?;
        let Head {
            status,
            headers,
            framing,
            length,
            keep_alive,
        } = head;
        let pool = self.pool.clone();
        let body = Body::new(conn, pool, buf, framing, keep_alive, self.chunk_size);
        Ok(Response {
            status,
            headers,
            length,
            body,
        })
    }

    /// Writes `request` on `stream` and reads the answer's head, and what came after it.
    async fn read_head(
        &self,
        stream: &mut Stream,
        request: &[u8],
        method: &Method,
    ) -> Result<(Head, BytesMut), UpstreamError> {
        stream.write_all(request).await.map_err(failed)?;
        let max_head = self.chunk_size.max(MIN_MAX_HEAD);
        let mut buf = buffers::take(self.chunk_size);
        loop {
            // A head's worth first: the body behind it stays in the socket, to be spliced
            // rather than copied in and out (README, Performance › serve). A longer head is
            // read a chunk at a time.
            let want = match buf.is_empty() {
                true => FIRST_READ,
                false => self.chunk_size,
            };
            let want = want.min(max_head - buf.len());
            buf.reserve(want);
            let read = stream.read_buf(&mut (&mut buf).limit(want)).await;
            match read.map_err(failed)? {
                0 if buf.is_empty() => return Err(closed("before answering")),
                0 => return Err(closed("in the middle of its answer's head")),
                _ => {}
            }
            match head::parse(&buf, method) {
                Ok(Some((head, len))) => {
                    buf.advance(len);
                    return Ok((head, buf));
                }
                Ok(None) if buf.len() < max_head => {}
                Ok(None) => {
                    let err = io::Error::new(io::ErrorKind::InvalidData, "the head is too long");
                    return Err(UpstreamError::Protocol(Box::new(err)));
                }
                Err(err) => return Err(UpstreamError::Protocol(Box::new(err))),
            }
        }
    }
}

/// `future`'s output, or a timeout once `due` passes.
async fn within<T>(
    mut due: Pin<&mut Sleep>,
    future: impl Future<Output = Result<T, UpstreamError>>,
) -> Result<T, UpstreamError> {
    let mut future = pin!(future);
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(output);
        }
        ready!(due.as_mut().poll(cx));
        Poll::Ready(Err(UpstreamError::Timeout))
    })
    .await
}

impl UpstreamError {
    /// A failure to reach the upstream at all, where one retry is worth it (the spec: once
    /// per request cycle).
    fn is_connection_failure(&self) -> bool {
        matches!(self, UpstreamError::Connect(_) | UpstreamError::Closed(_))
    }
}

/// What a failed read or write of the exchange means: the connection closed under it, or
/// something else went wrong (a TLS alert, say).
fn failed(err: io::Error) -> UpstreamError {
    use io::ErrorKind::*;
    match err.kind() {
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
            UpstreamError::Closed(Box::new(err))
        }
        _ => UpstreamError::Protocol(Box::new(err)),
    }
}

fn closed(when: &str) -> UpstreamError {
    let err = io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the connection closed {when}"),
    );
    UpstreamError::Closed(Box::new(err))
}

/// `err` and its causes.
fn chain<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |e| (*e).source())
}

/// The certificate rejection that failed the handshake (`invalid peer certificate:
/// UnknownIssuer`), if that is what happened. rustls's error arrives wrapped in an
/// `io::Error` (tokio-rustls), whose `source` may skip it.
fn certificate_problem(err: &io::Error) -> Option<String> {
    chain(err).find_map(|mut e| {
        loop {
            if let Some(tls) = e.downcast_ref::<rustls::Error>() {
                return matches!(tls, rustls::Error::InvalidCertificate(_))
                    .then(|| tls.to_string());
            }
            let inner = e.downcast_ref::<io::Error>()?.get_ref()?;
            e = inner;
        }
    })
}
