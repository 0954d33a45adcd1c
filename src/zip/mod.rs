//! Zip archives read through ranges: the central directory from the archive's end
//! ([`archive`]), entries and how they are shown ([`entry`]), members streamed and
//! decompressed one request each ([`member`]).

pub mod archive;
pub mod entry;
pub mod glob;
pub mod member;

pub use archive::Archive;
pub use entry::Entry;
