//! The way to the upstream: hyper-util's pooled client, one per worker (keep-alive
//! connections, reused across that worker's client connections; no redirect followed;
//! nothing added to a request but `Host`), over plain TCP or rustls with the trust of the
//! client commands (`--cacert`, `-k`), and the spec's one retry when a connection fails
//! before any answer.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::error::{Error, UpstreamError};
use crate::http::tls::{CaBundle, rustls_config_for};

/// Idle upstream connections kept for reuse, per worker (each has its own pool); nginx's
/// `keepalive 64` per worker, with room for bursts of concurrent ranges.
const IDLE_PER_HOST: usize = 256;
/// How long an idle upstream connection is kept (under the 60-75 s most servers allow).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The upstream client.
pub(crate) struct Upstream {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    /// Longest wait for an answer's head once connected (504 after it).
    timeout: Duration,
    /// Extra attempts when the connection fails before an answer.
    retries: u32,
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

impl Upstream {
    pub(crate) fn new(config: UpstreamConfig<'_>) -> Result<Upstream, Error> {
        let tls =
            rustls_config_for(config.base, config.cacert, config.insecure).map_err(Error::Tls)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*tls).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(IDLE_TIMEOUT)
            .pool_max_idle_per_host(IDLE_PER_HOST)
            // Reads of the upstream's body grow up to one chunk (hyper's minimum is 8 KiB).
            .http1_max_buf_size(config.chunk_size.max(8 * 1024))
            .build(connector);
        Ok(Upstream {
            client,
            timeout: config.timeout,
            retries: config.retries,
        })
    }

    /// Sends `request` (built again for each attempt by `build`), retrying when the
    /// connection failed before an answer; the answer's head within the timeout.
    pub(crate) async fn send(
        &self,
        build: impl Fn() -> Request<Empty<Bytes>>,
    ) -> Result<Response<Incoming>, UpstreamError> {
        let mut attempts = self.retries + 1;
        loop {
            attempts -= 1;
            let answer = tokio::time::timeout(self.timeout, self.client.request(build())).await;
            match answer {
                Ok(Ok(response)) => return Ok(response),
                Ok(Err(err)) => {
                    let err = UpstreamError::from_client(err);
                    if attempts > 0 && err.is_connection_failure() {
                        continue;
                    }
                    return Err(err);
                }
                Err(_) => return Err(UpstreamError::Timeout),
            }
        }
    }
}

impl UpstreamError {
    fn from_client(err: hyper_util::client::legacy::Error) -> UpstreamError {
        if let Some(problem) = certificate_problem(&err) {
            return UpstreamError::Certificate(problem);
        }
        if has_io_kind(&err, io::ErrorKind::TimedOut) {
            return UpstreamError::ConnectTimeout(Box::new(err));
        }
        if err.is_connect() {
            return UpstreamError::Connect(Box::new(err));
        }
        let closed = chain(&err).any(|e| {
            e.downcast_ref::<hyper::Error>()
                .is_some_and(|h| h.is_incomplete_message() || h.is_canceled() || h.is_closed())
        }) || [
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::ConnectionAborted,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::UnexpectedEof,
        ]
        .iter()
        .any(|kind| has_io_kind(&err, *kind));
        if closed {
            UpstreamError::Closed(Box::new(err))
        } else {
            UpstreamError::Protocol(Box::new(err))
        }
    }

    /// A failure to reach the upstream at all, where one retry is worth it (the spec: once
    /// per request cycle).
    fn is_connection_failure(&self) -> bool {
        matches!(self, UpstreamError::Connect(_) | UpstreamError::Closed(_))
    }
}

/// `err` and its causes.
fn chain<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |e| (*e).source())
}

fn has_io_kind(err: &hyper_util::client::legacy::Error, kind: io::ErrorKind) -> bool {
    chain(err).any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == kind)
    })
}

/// The certificate rejection that failed the handshake (`invalid peer certificate:
/// UnknownIssuer`), if that is what happened. rustls's error arrives wrapped in an
/// `io::Error` or two (tokio-rustls, then hyper-rustls), whose `source` skips it.
fn certificate_problem(err: &hyper_util::client::legacy::Error) -> Option<String> {
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
