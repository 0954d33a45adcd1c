//! [`Error`]: why the proxy could not start, and why a request could not be forwarded.

use std::fmt;
use std::io;

use crate::http::redact::redact_url;
use crate::http::tls::TlsError;

/// Why `serve` could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// `--upstream` is not an `http(s)://host[:port][/path]` base URL.
    InvalidUpstream {
        /// The base as given.
        base: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No request to an `s3://` upstream can be signed: no credentials, a bad setting.
    S3Config(crate::s3::ConfigError),
    /// The certificates to trust for an https upstream could not be gathered.
    Tls(TlsError),
    /// The runtime (its worker threads) could not be started.
    Runtime(io::Error),
    /// The listen address could not be bound.
    Listen {
        /// The address as given.
        address: String,
        /// The failure.
        source: io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidUpstream { base, reason } => {
                write!(f, "invalid --upstream '{}': {reason}", redact_url(base))
            }
            Error::S3Config(err) => write!(f, "{err}"),
            Error::Tls(err) => write!(f, "{err}"),
            Error::Listen { address, .. } => write!(f, "cannot listen on {address}"),
            Error::Runtime(_) => write!(f, "cannot start the proxy's worker threads"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Listen { source, .. } | Error::Runtime(source) => Some(source),
            Error::Tls(err) => err.source(),
            Error::S3Config(err) => err.source(),
            _ => None,
        }
    }
}

impl Error {
    /// Whether what was given is wrong in itself (a usage error, exit 2): the upstream, or
    /// the settings of an `s3://` one.
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::InvalidUpstream { .. } | Error::S3Config(_))
    }
}

/// Why one request could not be forwarded: the answer is a 502, or a 504 for a timeout.
/// [`UpstreamError::words`] is what the client is told; the log gets the whole chain.
#[derive(Debug)]
pub(crate) enum UpstreamError {
    /// No connection could be made (refused, unreachable, name not found).
    Connect(BoxError),
    /// Connecting took longer than `--connect-timeout`.
    ConnectTimeout(BoxError),
    /// The upstream's certificate was rejected: rustls's words for why.
    Certificate(String),
    /// The connection closed (or reset) before an answer came.
    Closed(BoxError),
    /// No answer's head within `--timeout`.
    Timeout,
    /// The answer was not HTTP/1.1 the client can read.
    Protocol(BoxError),
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl UpstreamError {
    /// 502, or 504 for a timeout.
    pub(crate) fn status(&self) -> u16 {
        match self {
            UpstreamError::ConnectTimeout(_) | UpstreamError::Timeout => 504,
            _ => 502,
        }
    }

    /// What happened, in words for the client.
    pub(crate) fn words(&self) -> String {
        match self {
            UpstreamError::Connect(_) => "the upstream could not be reached".into(),
            UpstreamError::ConnectTimeout(_) => {
                "connecting to the upstream took longer than the connect timeout".into()
            }
            UpstreamError::Certificate(problem) => format!(
                "the upstream's TLS certificate was not accepted ({problem}); \
                 rangecat serve --cacert FILE trusts its CA"
            ),
            UpstreamError::Closed(_) => {
                "the upstream closed the connection without an answer".into()
            }
            UpstreamError::Timeout => "the upstream did not answer within the timeout".into(),
            UpstreamError::Protocol(_) => "the upstream's answer was not valid HTTP".into(),
        }
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamError::Connect(err)
            | UpstreamError::ConnectTimeout(err)
            | UpstreamError::Closed(err)
            | UpstreamError::Protocol(err) => {
                write!(f, "{}: {}", self.words(), crate::one_line(err.as_ref()))
            }
            _ => write!(f, "{}", self.words()),
        }
    }
}

impl std::error::Error for UpstreamError {}
