//! Typed errors for the cases a caller branches on or a message must quote, and the one
//! place that maps an error to rangecat's exit status.

use std::fmt;
use std::ops::Range;
use std::process::ExitCode;

/// Exit status 0: success (also: stdout was closed by the reader).
pub const EXIT_OK: u8 = 0;
/// Exit status 1: a runtime error (network, HTTP status, changed resource, bad archive).
pub const EXIT_RUNTIME: u8 = 1;
/// Exit status 2: a usage error (bad option, bad RANGE).
pub const EXIT_USAGE: u8 = 2;

/// Errors with a meaning of their own.
#[derive(Debug)]
pub enum Error {
    /// The server answered with a status that is not a success for the request.
    Status {
        /// The status code.
        code: u16,
        /// Its reason phrase.
        reason: String,
        /// The URL that answered.
        url: String,
    },
    /// A 206 whose `Content-Range` is not the range asked for, or a malformed one.
    BadContentRange {
        /// The `Range` header sent.
        asked: String,
        /// The `Content-Range` received.
        got: String,
    },
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
    /// A RANGE reaches outside the resource under `--strict`.
    OutOfBounds {
        /// The RANGE as written.
        range: String,
        /// The resource's length.
        len: u64,
    },
    /// The length of the resource is needed but the server never gave it.
    UnknownLength,
    /// Writing to stdout failed because the reader went away (`| head`): not an error.
    StdoutClosed,
    /// A usage error found after argument parsing (exit 2).
    Usage(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Status { code, reason, url } => write!(f, "HTTP {code} {reason}: {url}"),
            Error::BadContentRange { asked, got } => {
                write!(f, "server answered {asked} with Content-Range '{got}'")
            }
            Error::ResourceChanged { what } => write!(
                f,
                "the resource changed during the transfer ({what}); not splicing two versions"
            ),
            Error::Truncated { got, expected } => write!(
                f,
                "connection closed after {got} of {expected} bytes and no retries were left"
            ),
            Error::OutOfBounds { range, len } => {
                write!(
                    f,
                    "range {range} is outside the resource of {len} bytes (--strict)"
                )
            }
            Error::UnknownLength => write!(f, "the server did not say how long the resource is"),
            Error::StdoutClosed => write!(f, "stdout was closed"),
            Error::Usage(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// The half-open `range` in RANGE notation, for messages.
pub fn show_range(range: &Range<u64>) -> String {
    format!("{}:{}", range.start, range.end)
}

/// The exit status for an error that reached `main`.
pub fn exit_code(err: &anyhow::Error) -> ExitCode {
    ExitCode::from(exit_status(err))
}

fn exit_status(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        match cause.downcast_ref::<Error>() {
            Some(Error::StdoutClosed) => return EXIT_OK,
            Some(Error::Usage(_)) => return EXIT_USAGE,
            _ => {}
        }
    }
    EXIT_RUNTIME
}

/// True when the error only means stdout was closed by its reader.
pub fn is_stdout_closed(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|cause| matches!(cause.downcast_ref::<Error>(), Some(Error::StdoutClosed)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn exit_status_follows_the_error_kind() {
        let closed = anyhow::Error::new(Error::StdoutClosed).context("writing");
        assert_eq!(exit_status(&closed), EXIT_OK);
        let usage = anyhow::Error::new(Error::Usage("bad".into()));
        assert_eq!(exit_status(&usage), EXIT_USAGE);
        let status: anyhow::Result<()> = Err(Error::Status {
            code: 404,
            reason: "Not Found".into(),
            url: "http://x/".into(),
        })
        .context("fetching");
        assert_eq!(exit_status(&status.unwrap_err()), EXIT_RUNTIME);
        let io = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(
            exit_status(&io),
            EXIT_RUNTIME,
            "only stdout's EPIPE is quiet"
        );
    }
}
