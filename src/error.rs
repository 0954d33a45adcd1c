//! The binary's errors: each library layer's own, the command line's usage errors, and the
//! messages of the commands themselves; and the one place that maps an error to rangecat's
//! exit status (README, "Exit codes").

use std::fmt;
use std::io;
use std::process::ExitCode;

use rangecat::{proxy, source, transfer, zip};

/// Exit status 0: success (also: stdout was closed by the reader).
pub const EXIT_OK: u8 = 0;
/// Exit status 1: a runtime error (network, HTTP status, changed resource, bad archive).
pub const EXIT_RUNTIME: u8 = 1;
/// Exit status 2: a usage error (bad option, bad RANGE, bad URL).
pub const EXIT_USAGE: u8 = 2;

/// Everything a command can fail with.
#[derive(Debug)]
pub enum Error {
    /// A usage error found after clap's parsing.
    Usage(String),
    /// Opening or reading a source.
    Source(source::Error),
    /// Running a plan.
    Transfer(transfer::Error),
    /// Reading an archive or a member.
    Zip(zip::Error),
    /// Starting the proxy.
    Proxy(proxy::Error),
    /// Writing a command's own output to stdout (a closed pipe is `BrokenPipe`).
    Write(io::Error),
    /// Setting up or completing the output (`-o` file, stdout, signals).
    Io {
        /// What was being done.
        what: String,
        /// The failure.
        source: io::Error,
    },
    /// A failure, with what was being done when it happened.
    Context {
        /// What was being done.
        what: String,
        /// The failure.
        source: Box<Error>,
    },
    /// A command's own failure (no such member, no entries match).
    Message(String),
}

impl Error {
    /// This error, as the cause of `what`.
    pub fn context(self, what: impl Into<String>) -> Error {
        Error::Context {
            what: what.into(),
            source: Box::new(self),
        }
    }

    /// An I/O failure while doing `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(message) | Error::Message(message) => f.write_str(message),
            Error::Source(err) => write!(f, "{err}"),
            Error::Transfer(err) => write!(f, "{err}"),
            Error::Zip(err) => write!(f, "{err}"),
            Error::Proxy(err) => write!(f, "{err}"),
            Error::Write(_) => f.write_str("cannot write the output"),
            Error::Io { what, .. } | Error::Context { what, .. } => f.write_str(what),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // Their messages are this one's: go on with what lies beneath them.
            Error::Source(err) => err.source(),
            Error::Transfer(err) => err.source(),
            Error::Zip(err) => err.source(),
            Error::Proxy(err) => err.source(),
            Error::Write(err) | Error::Io { source: err, .. } => Some(err),
            Error::Context { source, .. } => Some(source.as_ref()),
            Error::Usage(_) | Error::Message(_) => None,
        }
    }
}

impl Error {
    /// Whether a copy the cache kept turned out stale (a 412 to `If-Match`): the command may
    /// start over without it.
    pub fn is_stale(&self) -> bool {
        matches!(self.source_error(), Some(source::Error::Stale))
    }

    /// The source's failure beneath a layer's error, if that is what it is.
    fn source_error(&self) -> Option<&source::Error> {
        match self {
            Error::Source(err) => Some(err),
            Error::Transfer(err) => err.source_error(),
            Error::Zip(err) => err.source_error(),
            _ => None,
        }
    }

    /// The output's failure beneath a layer's error, if that is what it is.
    fn write_error(&self) -> Option<&io::Error> {
        match self {
            Error::Write(err) => Some(err),
            Error::Transfer(err) => err.write_error(),
            Error::Zip(err) => err.write_error(),
            _ => None,
        }
    }
}

impl From<source::Error> for Error {
    fn from(err: source::Error) -> Error {
        Error::Source(err)
    }
}

impl From<transfer::Error> for Error {
    fn from(err: transfer::Error) -> Error {
        Error::Transfer(err)
    }
}

impl From<zip::Error> for Error {
    fn from(err: zip::Error) -> Error {
        Error::Zip(err)
    }
}

impl From<proxy::Error> for Error {
    fn from(err: proxy::Error) -> Error {
        Error::Proxy(err)
    }
}

/// The exit status for an error that reached `main`.
pub fn exit_code(err: &Error) -> ExitCode {
    ExitCode::from(exit_status(err))
}

fn exit_status(err: &Error) -> u8 {
    if let Error::Usage(_) = err {
        return EXIT_USAGE;
    }
    if let Error::Proxy(err) = err {
        return if err.is_usage() {
            EXIT_USAGE
        } else {
            EXIT_RUNTIME
        };
    }
    if let Error::Context { source, .. } = err {
        return exit_status(source);
    }
    match (err.source_error(), err.write_error()) {
        (Some(err), _) if err.is_usage() => EXIT_USAGE,
        (_, Some(err)) => write_status(err),
        _ => EXIT_RUNTIME,
    }
}

/// Only the output's closed pipe (`| head`) is quiet; a socket's EPIPE is a source error.
fn write_status(err: &io::Error) -> u8 {
    if err.kind() == io::ErrorKind::BrokenPipe {
        EXIT_OK
    } else {
        EXIT_RUNTIME
    }
}

/// Whether the error only means stdout was closed by its reader: exit quietly.
pub fn is_quiet(err: &Error) -> bool {
    exit_status(err) == EXIT_OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_follows_the_error_kind() {
        let pipe = || io::Error::from(io::ErrorKind::BrokenPipe);
        let cases = [
            (Error::Write(pipe()), EXIT_OK),
            (Error::Transfer(transfer::Error::Write(pipe())), EXIT_OK),
            (Error::Zip(zip::Error::Write(pipe())).context("x"), EXIT_OK),
            (Error::Usage("bad".into()), EXIT_USAGE),
            (
                Error::Source(source::Error::InvalidUrl {
                    url: "x".into(),
                    reason: "y".into(),
                }),
                EXIT_USAGE,
            ),
            (
                Error::Source(source::Error::Status {
                    code: 404,
                    reason: "Not Found".into(),
                    range: None,
                    url: "http://x/".into(),
                })
                .context("fetching"),
                EXIT_RUNTIME,
            ),
            // Only stdout's EPIPE is quiet: a broken connection is a runtime error.
            (Error::Source(source::Error::Io(pipe())), EXIT_RUNTIME),
            (Error::Write(io::Error::other("disk full")), EXIT_RUNTIME),
        ];
        for (err, want) in cases {
            assert_eq!(exit_status(&err), want, "{err:?}");
        }
    }
}
