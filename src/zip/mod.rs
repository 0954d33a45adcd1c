//! Zip archives read through ranges: the central directory from the archive's end
//! ([`archive`]), entries ([`entry`]) and how `ls` shows them ([`listing`]), name patterns
//! ([`glob`]), names and link targets that stay inside a directory ([`path`]), members streamed and decompressed one request each ([`member`]), and safe
//! extraction into a directory ([`extract`]).

pub mod archive;
pub mod entry;
pub mod extract;
pub mod glob;
pub mod listing;
pub mod member;
pub mod path;

pub use archive::Archive;
pub use entry::Entry;
