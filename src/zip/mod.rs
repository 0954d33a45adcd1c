//! Zip archives read through ranges: the central directory from the archive's end
//! ([`archive`]), entries ([`entry`]), name patterns ([`glob`]), names and link targets that
//! stay inside a directory ([`path`]), members streamed and decompressed one request each
//! ([`member`]), and safe extraction into a directory ([`extract`]).
//!
//! ```no_run
//! use rangecat::source::{self, HttpConfig};
//! use rangecat::zip::Archive;
//!
//! # fn main() -> Result<(), rangecat::zip::Error> {
//! // At most two requests: the tail, and the central directory if it starts before it.
//! let source = source::open("https://example.com/archive.zip", &HttpConfig::default())?;
//! let mut archive = Archive::open(source)?;
//! archive.for_each_entry(|entry| {
//!     println!("{} {}", entry.size, entry.name);
//!     Ok::<(), rangecat::zip::Error>(())
//! })?;
//! # Ok(())
//! # }
//! ```

pub mod archive;
pub mod entry;
mod error;
pub mod extract;
pub mod glob;
pub mod member;
pub mod path;

pub use archive::Archive;
pub use entry::Entry;
pub use error::Error;
