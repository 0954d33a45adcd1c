//! rangecat: read parts of remote files.
//!
//! The pieces, from the bottom up:
//! - [`range`]: RANGE expressions and their resolution with Python slice semantics;
//! - [`plan`]: resolved ranges to the fewest disjoint requests and an output schedule;
//! - [`http`]: HTTP details (tokens, headers, `Content-Range`, dates, proxies from the
//!   environment) that the sources and the proxy share;
//! - [`s3`]: `s3://BUCKET/KEY`: the store, its credentials as the AWS CLI finds them, and a
//!   presigned URL for every request;
//! - [`source`]: where bytes come from (HTTP, S3, local files) and [`source::RangeStream`],
//!   a seekable stream that fetches only what it has not seen;
//! - [`transfer`]: the whole fetch, [`transfer::fetch`]: RANGEs from a source into a writer;
//! - [`zip`]: zip archives through ranges: the central directory in at most two requests,
//!   members one request each, safe extraction;
//! - [`proxy`]: `serve`, a range-aware streaming HTTP proxy.
//!
//! Each layer fails with its own typed error (`source::Error`, `transfer::Error`,
//! `zip::Error`, `proxy::Error`); [`one_line`] shows any of them with its causes, as the
//! `rangecat` binary prints them.
//!
//! ```
//! use rangecat::range::RangeExpr;
//!
//! let last_kib: RangeExpr = "-1KiB:".parse().unwrap();
//! assert_eq!(last_kib.resolve(10_000), 8976..10_000);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cache;
mod civil;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod partial;
pub mod plan;
#[cfg(feature = "serve")]
pub mod proxy;
pub mod range;
pub mod s3;
pub mod source;
pub mod temporaries;
pub mod transfer;
pub mod zip;

use std::sync::Arc;

/// A sink for log lines (`-v` requests and responses, the proxy's access log): the library
/// never prints itself.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// `err` and each of its causes, joined by `: ` on one line.
///
/// ```
/// use rangecat::source::Error;
///
/// let err = Error::UnknownLength;
/// assert_eq!(rangecat::one_line(&err), "the server did not say how long the resource is");
/// ```
pub fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        line += ": ";
        line += &inner.to_string();
        cause = inner.source();
    }
    line
}
