//! [`Error`]: everything reading a source can fail with. Readers that must speak
//! `io::Error` (a [`Body`](super::Body), [`RangeStream`](super::reader::RangeStream)) carry it
//! inside one, and `Error::from(io_error)` takes it back out.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::http::redact::redact_url;
use crate::http::tls::TlsError;

/// Why a source could not be opened or read. Messages show URLs with their secrets redacted
/// ([`redact_url`](crate::http::redact::redact_url)); the fields keep them as given.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The location is not a URL that can be requested.
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The location names a scheme other than http, https and file.
    UnsupportedScheme {
        /// The location as given.
        location: String,
        /// Its scheme, without `://`.
        scheme: String,
    },
    /// A `file://` URL names another host.
    RemoteFileUrl {
        /// The URL as given.
        location: String,
    },
    /// A `file://` URL whose percent-escapes are malformed or do not decode to UTF-8.
    BadFileUrl {
        /// The URL's path, as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A proxy variable of the environment holds no usable proxy URL.
    InvalidProxy {
        /// The variable (`HTTPS_PROXY`, say).
        variable: String,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A request header (`-H`) cannot be sent.
    InvalidHeader {
        /// What is wrong with it.
        reason: String,
    },
    /// A local file could not be opened or examined.
    File {
        /// What was being done: `open` or `read`.
        verb: &'static str,
        /// The file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// A local path names a directory.
    IsADirectory {
        /// The path.
        path: PathBuf,
    },
    /// The server answered with a status that is not a success for the request.
    Status {
        /// The status code.
        code: u16,
        /// Its reason phrase.
        reason: String,
        /// The `Range` asked for, when the answer came in the middle of an operation (an
        /// earlier response was fine: a presigned URL that expired, say).
        range: Option<String>,
        /// The URL that answered.
        url: String,
    },
    /// A 206 whose `Content-Range` is not the range asked for, or is missing or malformed
    /// (RFC 9110 §14.4).
    BadContentRange {
        /// The `Range` header sent.
        asked: String,
        /// The `Content-Range` received, `(none)` when there was none.
        got: String,
    },
    /// A `multipart/byteranges` answer with parts that were not asked for, missing parts, or
    /// a malformed body.
    BadMultipart {
        /// The `Range` header sent (its first ranges, for a long one).
        asked: String,
        /// What is wrong.
        what: String,
    },
    /// A 206 whose body runs past its `Content-Range` (a longer `Content-Length`, or more
    /// bytes before the connection ends).
    BodyTooLong {
        /// The `Range` header sent.
        asked: String,
    },
    /// A cached copy was revalidated and is current (a 304): not a failure.
    NotModified,
    /// A cached copy was relied on and the server says the resource is another version now
    /// (412 to `If-Match`).
    Stale,
    /// The resource changed between two responses (validators or length differ).
    ResourceChanged {
        /// What differs.
        what: String,
    },
    /// The body ended before the announced length and no retries were left.
    Truncated {
        /// Bytes received.
        got: u64,
        /// Bytes announced.
        expected: u64,
    },
    /// A body ended before all the bytes it was read for.
    EndedEarly {
        /// How many bytes were missing.
        missing: u64,
    },
    /// A 200 answer ended before the range it was skipped to.
    ClosedWhileSkipping {
        /// The first byte of the range.
        to: u64,
    },
    /// No connection within `--connect-timeout`, or no response within `--timeout`.
    Timeout {
        /// `GET` or `HEAD`.
        method: String,
        /// The URL.
        url: String,
        /// Which wait ran out, as ureq names it.
        what: String,
    },
    /// No data arrived for a whole `--timeout` in the middle of a body.
    Stalled {
        /// The timeout, in seconds.
        secs: f64,
        /// Bytes of the span received before the stall.
        got: u64,
        /// Bytes of the span.
        expected: u64,
        /// The URL being read.
        url: String,
    },
    /// The server's certificate was rejected (not trusted, expired, for another name).
    Certificate {
        /// `GET` or `HEAD`.
        method: String,
        /// The URL.
        url: String,
        /// The problem, as rustls words it (`invalid peer certificate: UnknownIssuer`).
        problem: String,
    },
    /// A request could not be sent or its response not received.
    Request {
        /// `GET` or `HEAD`.
        method: String,
        /// The URL.
        url: String,
        /// The failure.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A body broke while being read and no retries were left.
    Read {
        /// The URL being read.
        url: String,
        /// The failure.
        source: io::Error,
    },
    /// More redirects than rangecat follows for one request.
    TooManyRedirects {
        /// The URL asked for.
        url: String,
        /// How many were followed.
        limit: usize,
    },
    /// A redirect from https to plain http, without `--allow-insecure-redirect`.
    InsecureRedirect {
        /// The https URL.
        from: String,
        /// The http URL it redirects to.
        to: String,
    },
    /// The length of the resource is needed but the server never gave it.
    UnknownLength,
    /// No request can be signed for an `s3://` URL: no credentials, a bad setting (README,
    /// "Object stores"). Nothing was sent.
    S3Config(crate::s3::ConfigError),
    /// The keys to sign the next `s3://` request could not be had (a `credential_process`
    /// run again when its keys expired).
    S3Credentials(crate::s3::ConfigError),
    /// An object store answered with an error (`<Error><Code>`), or with a status alone.
    S3(Box<crate::s3::StoreError>),
    /// The certificates to trust could not be gathered (`--cacert`, `SSL_CERT_FILE`).
    Tls(TlsError),
    /// Any other I/O failure.
    Io(io::Error),
}

impl Error {
    /// Whether no request can be made with what was given: a location or a setting that is
    /// wrong in itself (a usage error, exit 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::InvalidUrl { .. }
                | Error::UnsupportedScheme { .. }
                | Error::RemoteFileUrl { .. }
                | Error::InvalidProxy { .. }
                | Error::InvalidHeader { .. }
                | Error::S3Config(_)
        )
    }

    /// Whether the answer speaks about the range rather than the resource or the credentials
    /// (a 501 or 400 to `bytes=-N`, a malformed Content-Range): asking again with an explicit
    /// range may work. 401, 403, 404, 407 and 410 would answer any range alike.
    pub fn refuses_the_range(&self) -> bool {
        match self {
            Error::Status { code, .. } => !matches!(code, 401 | 403 | 404 | 407 | 410),
            Error::S3(err) => !matches!(err.status, 401 | 403 | 404 | 407 | 410),
            Error::BadContentRange { .. } => true,
            _ => false,
        }
    }

    /// Whether the error is a timeout: the connection was made, or tried, and went quiet.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::Stalled { .. } => true,
            Error::Io(err) | Error::Read { source: err, .. } => is_timeout_kind(err.kind()),
            _ => false,
        }
    }
}

fn is_timeout_kind(kind: io::ErrorKind) -> bool {
    matches!(kind, io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidUrl { url, reason } => {
                write!(f, "invalid URL '{}': {reason}", redact_url(url))
            }
            Error::UnsupportedScheme { location, scheme } => write!(
                f,
                "unsupported URL scheme '{scheme}://' in '{}' \
                 (use http://, https://, s3://, file:// or a path)",
                redact_url(location)
            ),
            Error::RemoteFileUrl { location } => write!(
                f,
                "'{}' names a file on another host; only local file:// URLs are supported",
                redact_url(location)
            ),
            Error::BadFileUrl { path, reason } => write!(f, "{reason} in file URL '{path}'"),
            Error::InvalidProxy {
                variable,
                value,
                reason,
            } => write!(
                f,
                "invalid proxy '{}' in {variable}: {reason}",
                redact_url(value)
            ),
            Error::InvalidHeader { reason } => write!(f, "invalid request header: {reason}"),
            Error::File { verb, path, .. } => write!(f, "cannot {verb} {}", path.display()),
            Error::IsADirectory { path } => write!(f, "{} is a directory", path.display()),
            Error::Status {
                code,
                reason,
                range: None,
                url,
            } => write!(f, "HTTP {code} {reason}: {}", redact_url(url)),
            Error::Status {
                code,
                reason,
                range: Some(range),
                url,
            } => write!(f, "HTTP {code} {reason} for {range}: {}", redact_url(url)),
            Error::BadContentRange { asked, got } => {
                write!(f, "server answered {asked} with Content-Range '{got}'")
            }
            Error::BadMultipart { asked, what } => {
                write!(
                    f,
                    "server answered {asked} with a bad multipart body: {what}"
                )
            }
            Error::BodyTooLong { asked } => write!(
                f,
                "the 206 answering {asked} runs past its Content-Range; not splicing it"
            ),
            Error::NotModified => write!(f, "not modified since it was cached"),
            Error::Stale => write!(
                f,
                "the resource changed since it was cached (412 Precondition Failed)"
            ),
            Error::ResourceChanged { what } => write!(
                f,
                "the resource changed during the transfer ({what}); not splicing two versions"
            ),
            Error::Truncated { got, expected } => write!(
                f,
                "connection closed after {got} of {expected} bytes and no retries were left"
            ),
            Error::EndedEarly { missing } => {
                write!(f, "the response ended {missing} bytes early")
            }
            Error::ClosedWhileSkipping { to } => {
                write!(f, "connection closed while skipping to byte {to}")
            }
            Error::Timeout { method, url, what } => {
                write!(f, "{method} {}: timed out ({what})", redact_url(url))
            }
            Error::Stalled {
                secs,
                got,
                expected,
                url,
            } => write!(
                f,
                "timed out: no data for {secs}s after {got} of {expected} bytes from {}",
                redact_url(url)
            ),
            Error::Certificate {
                method,
                url,
                problem,
            } => write!(
                f,
                "{method} {}: {problem} (--cacert FILE trusts its CA; -k skips the check)",
                redact_url(url)
            ),
            Error::Request { method, url, .. } => write!(f, "{method} {}", redact_url(url)),
            Error::Read { url, .. } => write!(f, "reading {}", redact_url(url)),
            Error::TooManyRedirects { url, limit } => {
                write!(f, "{}: more than {limit} redirects", redact_url(url))
            }
            Error::InsecureRedirect { from, to } => write!(
                f,
                "{} redirects to plain http ({}); refusing (--allow-insecure-redirect permits it)",
                redact_url(from),
                redact_url(to)
            ),
            Error::UnknownLength => write!(f, "the server did not say how long the resource is"),
            Error::S3Config(err) => write!(f, "{err}"),
            Error::S3Credentials(err) => write!(f, "signing the next request: {err}"),
            Error::S3(err) => write!(f, "{err}"),
            Error::Tls(err) => write!(f, "{err}"),
            Error::Io(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::File { source, .. } | Error::Read { source, .. } => Some(source),
            Error::Request { source, .. } => Some(source.as_ref()),
            Error::Tls(err) => err.source(),
            Error::S3Config(err) | Error::S3Credentials(err) => err.source(),
            // The I/O error's own message is this one's: go on with what lies beneath it.
            Error::Io(err) => err.source(),
            _ => None,
        }
    }
}

impl From<TlsError> for Error {
    fn from(err: TlsError) -> Error {
        Error::Tls(err)
    }
}

/// Takes back an [`Error`] that a reader carried inside an `io::Error`; any other I/O
/// failure becomes [`Error::Io`].
impl From<io::Error> for Error {
    fn from(err: io::Error) -> Error {
        if err.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            let inner = err.into_inner().expect("checked above");
            return *inner.downcast::<Error>().expect("checked above");
        }
        Error::Io(err)
    }
}

/// Carries an [`Error`] through `Read` and `Seek`; timeouts keep their kind.
impl From<Error> for io::Error {
    fn from(err: Error) -> io::Error {
        match err {
            Error::Io(err) => err,
            err if err.is_timeout() => io::Error::new(io::ErrorKind::TimedOut, err),
            err => io::Error::other(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_survive_a_trip_through_io_error() {
        let err = io::Error::from(Error::Truncated {
            got: 1,
            expected: 2,
        });
        assert!(matches!(
            Error::from(err),
            Error::Truncated {
                got: 1,
                expected: 2
            }
        ));
        let plain = io::Error::new(io::ErrorKind::ConnectionReset, "reset");
        assert!(
            matches!(Error::from(plain), Error::Io(e) if e.kind() == io::ErrorKind::ConnectionReset)
        );
        let stalled = io::Error::from(Error::Timeout {
            method: "GET".into(),
            url: "http://x/".into(),
            what: "Connect".into(),
        });
        assert_eq!(stalled.kind(), io::ErrorKind::TimedOut);
        assert!(Error::from(stalled).is_timeout());
    }
}
