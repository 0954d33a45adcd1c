//! Why a fetch stops: [`Error`], typed, each message as the command line prints it.

use std::fmt;
use std::io;
use std::ops::Range;

use crate::range::RangeExpr;
use crate::source;

/// Why a fetch stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The source failed.
    Source(source::Error),
    /// The output could not be written (a closed pipe is `BrokenPipe`).
    Write(io::Error),
    /// The plan is inconsistent: it reads or replays bytes it never arranged for.
    Plan(Inconsistent),
    /// Under `--strict`, a RANGE reaches outside the resource.
    Outside {
        /// The RANGE as given.
        range: RangeExpr,
        /// The resource's length.
        len: u64,
    },
    /// A RANGE counts from the end, and the server answers ranges without saying how long
    /// the resource is (`Content-Range: bytes a-b/*`).
    FromEndWithoutLength {
        /// The RANGE as given.
        range: RangeExpr,
    },
    /// A RANGE counts from the end of a resource without a length: finding the end means
    /// holding more bytes than `--max-buffer` allows.
    FromEndTooLarge {
        /// The RANGE as given.
        range: RangeExpr,
        /// The bytes it would hold.
        held: u64,
        /// `--max-buffer`.
        max_buffer: u64,
    },
    /// A server that ignored Range answered a later request with part of the resource.
    AnswersChanged,
    /// The destination refused the ranges it was told of ([`Sink::resolved`](super::Sink::resolved)).
    Sink(Box<dyn std::error::Error + Send + Sync>),
}

/// How a plan can be inconsistent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inconsistent {
    /// It takes these bytes with no request open.
    Unopened(Range<u64>),
    /// It leaves this many bytes of a request unread.
    Unread(u64),
    /// It replays this byte, which was not kept.
    NotKept(u64),
}

impl Error {
    /// The source's failure this is, if it is one.
    pub fn source_error(&self) -> Option<&source::Error> {
        match self {
            Error::Source(err) => Some(err),
            _ => None,
        }
    }

    /// The output's failure this is, if it is one (a closed pipe is `BrokenPipe`).
    pub fn write_error(&self) -> Option<&io::Error> {
        match self {
            Error::Write(err) => Some(err),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Source(err) => write!(f, "{err}"),
            Error::Write(_) => write!(f, "cannot write the output"),
            Error::Plan(Inconsistent::Unopened(range)) => {
                write!(f, "plan takes {range:?} with no request open")
            }
            Error::Plan(Inconsistent::Unread(left)) => {
                write!(f, "plan leaves {left} bytes of a request unread")
            }
            Error::Plan(Inconsistent::NotKept(at)) => {
                write!(f, "plan replays byte {at}, which was not kept")
            }
            Error::Outside { range, len } => write!(
                f,
                "range {range} is outside the resource of {len} bytes (--strict)"
            ),
            Error::FromEndWithoutLength { range } => write!(
                f,
                "range {range} counts from the end, and the server did not say how long the \
                 resource is (Content-Range: bytes a-b/*)"
            ),
            Error::FromEndTooLarge {
                range,
                held,
                max_buffer,
            } => write!(
                f,
                "range {range} counts from the end, and the server did not say how long the \
                 resource is: finding its end would hold {held} bytes, more than --max-buffer \
                 ({max_buffer})"
            ),
            Error::AnswersChanged => {
                f.write_str("the server changed how it answers ranges during the transfer")
            }
            Error::Sink(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // Its message is this one's: go on with what lies beneath it.
            Error::Source(err) => std::error::Error::source(err),
            Error::Sink(err) => err.source(),
            Error::Write(err) => Some(err),
            _ => None,
        }
    }
}

impl From<source::Error> for Error {
    fn from(err: source::Error) -> Error {
        Error::Source(err)
    }
}
