//! [`Error`]: why the proxy could not start, and why a request could not be forwarded.

use std::fmt;
use std::io;

use crate::http::proxy_env::InvalidProxy;
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
    /// A proxy variable of the environment holds no usable proxy URL.
    InvalidProxy(InvalidProxy),
    /// The certificates to trust for an https upstream could not be gathered.
    Tls(TlsError),
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
            Error::InvalidProxy(err) => write!(f, "{err}"),
            Error::Tls(err) => write!(f, "{err}"),
            Error::Listen { address, .. } => write!(f, "cannot listen on {address}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Listen { source, .. } => Some(source),
            Error::Tls(err) => err.source(),
            _ => None,
        }
    }
}

/// Why one request could not be forwarded: the answer is a 502, or a 504 for a timeout.
#[derive(Debug)]
pub(crate) enum UpstreamError {
    /// The request could not be built from what the client sent.
    Request(ureq::http::Error),
    /// The upstream could not be reached or did not answer.
    Transport(ureq::Error),
}

impl UpstreamError {
    /// Whether the upstream went quiet (504) rather than failed (502).
    pub(crate) fn is_timeout(&self) -> bool {
        match self {
            UpstreamError::Transport(ureq::Error::Timeout(_)) => true,
            UpstreamError::Transport(ureq::Error::Io(err)) => matches!(
                err.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ),
            _ => false,
        }
    }
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpstreamError::Request(_) => write!(f, "cannot forward this request"),
            UpstreamError::Transport(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for UpstreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UpstreamError::Request(err) => Some(err),
            UpstreamError::Transport(err) => std::error::Error::source(err),
        }
    }
}
