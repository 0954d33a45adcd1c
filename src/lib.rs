//! rangecat: read parts of remote files.
//!
//! The pieces, from the bottom up:
//! - [`range`]: RANGE expressions and their resolution with Python slice semantics;
//! - [`plan`]: resolved ranges to the fewest disjoint requests and an output schedule;
//! - [`source`]: where bytes come from (HTTP, local files) and [`source::reader::RangeStream`],
//!   a seekable stream that fetches only what it has not seen;
//! - [`transfer`]: runs a plan against a source;
//! - [`zip`]: zip archives through ranges: the central directory in at most two requests,
//!   members one request each, safe extraction;
//! - [`proxy`]: `serve`, a range-aware streaming HTTP proxy;
//! - [`output`], [`app`], [`cli`], [`generate`], [`error`], [`civil`]: the command-line tool
//!   on top.
//!
//! ```
//! use rangecat::range::RangeExpr;
//!
//! let last_kib: RangeExpr = "-1KiB:".parse().unwrap();
//! assert_eq!(last_kib.resolve(10_000), 8976..10_000);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod civil;
pub mod cli;
pub mod error;
pub mod generate;
pub mod output;
pub mod plan;
pub mod proxy;
pub mod range;
pub mod source;
pub mod transfer;
pub mod zip;
