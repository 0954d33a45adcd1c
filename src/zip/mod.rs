//! Zip archives read through ranges: the central directory from the archive's end
//! ([`Archive`], in `archive`), entries ([`Entry`]) and their times (`times`), name patterns
//! ([`matches()`], in `glob`), names and link targets that stay inside a directory (`path`),
//! members streamed and decompressed one request each ([`copy_member`], in `member`), or none
//! when they lie in the bytes already fetched (`held`), and safe extraction into a directory
//! ([`extract()`], in `extract`) through directory handles that never follow a link (`dir`).
//!
//! ```
//! # use std::io::Write;
//! use rangecat::source::FileSource;
//! use rangecat::zip::{Archive, Error};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("a.zip");
//! # let mut writer = ::zip::ZipWriter::new(std::fs::File::create(&path)?);
//! # writer.start_file("hello.txt", ::zip::write::SimpleFileOptions::default())?;
//! # writer.write_all(b"hello")?;
//! # writer.finish()?;
//! // Over HTTP: `rangecat::source::open("https://host/a.zip", &HttpConfig::default())?`.
//! let mut archive = Archive::open(Box::new(FileSource::open(&path)?))?;
//! let mut names = Vec::new();
//! archive.for_each_entry(|entry| {
//!     names.push(entry.name);
//!     Ok::<(), Error>(())
//! })?;
//! assert_eq!(names, ["hello.txt"]);
//! // One member's bytes: the span from its local header to the next one.
//! let (entries, spans) = archive.select(|entry| entry.name == "hello.txt")?;
//! let body = archive.source_mut().read_span(spans[0].clone())?;
//! let mut out = Vec::new();
//! rangecat::zip::copy_member(body, &entries[0], &mut out, 64 * 1024)?;
//! assert_eq!(out, b"hello");
//! # Ok(())
//! # }
//! ```

pub(crate) mod archive;
pub(crate) mod dir;
pub(crate) mod entry;
mod error;
pub(crate) mod extract;
pub(crate) mod glob;
pub(crate) mod held;
pub(crate) mod member;
pub(crate) mod path;
pub(crate) mod times;

pub use archive::Archive;
pub use entry::Entry;
pub use error::Error;
pub use extract::{ExtractConfig, Failure, Fetch, Reporter, Summary, extract};
pub use glob::{any_matches, matches, select_members};
pub use member::{MAX_DECODER_MEMORY, check_span, check_supported, copy_member, read_member};
