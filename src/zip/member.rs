//! A member's bytes: one request for the span from its local header to the next header (or
//! the central directory), decompressed while streaming and checked against its CRC-32.

use std::io::{self, Read, Write};
use std::ops::Range;

use zip::CompressionMethod;
use zip::read::{ZipReadOptions, read_zipfile_from_stream_with_options};

use super::Error;
use super::archive::Layout;
use super::entry::{Entry, method_name};

/// Where members end: every local header's start, so that a member's span runs from its
/// header to the next one (or to the central directory), covering its data descriptor.
pub struct SpanIndex {
    starts: Vec<u64>,
    directory_start: u64,
}

impl SpanIndex {
    /// An index of the given local header starts, in any order.
    pub fn new(mut starts: Vec<u64>, layout: &Layout) -> SpanIndex {
        starts.sort_unstable();
        starts.dedup();
        SpanIndex {
            starts,
            directory_start: layout.central_directory.start,
        }
    }

    /// The span holding the member whose local header starts at `header_start`; empty when
    /// the offset lies at or past the central directory (a damaged or hostile archive).
    pub fn span(&self, header_start: u64) -> Range<u64> {
        let next = self.starts.partition_point(|&s| s <= header_start);
        let end = self
            .starts
            .get(next)
            .copied()
            .unwrap_or(self.directory_start)
            .min(self.directory_start)
            .max(header_start);
        header_start..end
    }
}

/// The span of each of `entries`, when they are all of the archive's entries.
pub fn spans(entries: &[Entry], layout: &Layout) -> Vec<Range<u64>> {
    let index = SpanIndex::new(entries.iter().map(|e| e.header_start).collect(), layout);
    entries.iter().map(|e| index.span(e.header_start)).collect()
}

/// A local header takes at least 30 bytes.
const LOCAL_HEADER_LEN: u64 = 30;

/// Checks that `span` can hold `entry`: its local header and compressed data.
pub fn check_span(entry: &Entry, span: &Range<u64>) -> Result<(), Error> {
    let room = span.end - span.start;
    if room < LOCAL_HEADER_LEN.saturating_add(entry.compressed_size) {
        return Err(Error::MemberOutOfPlace {
            name: entry.name.clone(),
            offset: entry.header_start,
            room,
            compressed_size: entry.compressed_size,
        });
    }
    Ok(())
}

/// Checks that rangecat can decompress `entry`, before any request is sent for it.
pub fn check_supported(entry: &Entry) -> Result<(), Error> {
    let name = entry.name.clone();
    if entry.encrypted {
        return Err(Error::Encrypted { name });
    }
    if !is_supported(entry.method) {
        let method = method_name(entry.method);
        return Err(Error::UnsupportedMethod { name, method });
    }
    Ok(())
}

/// Whether rangecat can decompress `method`: the zip crate's list, which names only methods
/// it can also write, plus LZMA, which its `lzma` feature reads.
pub fn is_supported(method: CompressionMethod) -> bool {
    zip::SUPPORTED_COMPRESSION_METHODS.contains(&method) || method == CompressionMethod::Lzma
}

/// Streams `entry`'s decompressed bytes from `body` (its span, starting at the local header)
/// to `out`, in pieces; fails on a CRC-32 mismatch or a short member. Returns the size.
pub fn copy_member(
    body: impl Read,
    entry: &Entry,
    out: &mut dyn Write,
    chunk_size: usize,
) -> Result<u64, Error> {
    check_supported(entry)?;
    // The decompressor reads and yields small pieces; buffering both sides turns ~10,000
    // syscalls per 100 MB into a few hundred.
    let mut body = io::BufReader::with_capacity(chunk_size.max(8192), body);
    let mut out = io::BufWriter::with_capacity(chunk_size.max(8192), out);
    // The central directory's sizes and CRC are the truth: the local header may leave them
    // to a data descriptor.
    let options = ZipReadOptions::new()
        .override_compressed_size(entry.compressed_size)
        .override_uncompressed_size(entry.size)
        .override_crc(entry.crc32);
    let mut file = read_zipfile_from_stream_with_options(&mut body, options)
        .map_err(|source| Error::Member {
            name: entry.name.clone(),
            source,
        })?
        .ok_or_else(|| Error::NoLocalHeader {
            name: entry.name.clone(),
            offset: entry.header_start,
        })?;
    let mut buf = vec![0u8; chunk_size.max(1)];
    let mut written = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(entry, e)),
        };
        out.write_all(&buf[..n]).map_err(Error::Write)?;
        written += n as u64;
    }
    out.flush().map_err(Error::Write)?;
    if written != entry.size {
        return Err(Error::SizeMismatch {
            name: entry.name.clone(),
            got: written,
            expected: entry.size,
        });
    }
    Ok(written)
}

/// Reads `entry`'s decompressed bytes into memory, checked against its CRC-32, for a member
/// of at most `limit` bytes: more is an error, whatever the data would decompress to, so no
/// archive can make it hold more than `limit`.
pub fn read_member(
    body: impl Read,
    entry: &Entry,
    limit: u64,
    chunk_size: usize,
) -> Result<Vec<u8>, Error> {
    let too_large = || Error::TooLarge {
        name: entry.name.clone(),
        limit,
    };
    if entry.size > limit {
        return Err(too_large());
    }
    let mut held = Held {
        bytes: Vec::with_capacity(entry.size as usize),
        limit: limit as usize,
    };
    match copy_member(body, entry, &mut held, chunk_size) {
        Ok(_) => Ok(held.bytes),
        // Holding it is the only write, and its only failure is the limit.
        Err(Error::Write(_)) => Err(too_large()),
        Err(err) => Err(err),
    }
}

/// Bytes held in memory, refused past `limit`.
struct Held {
    bytes: Vec<u8>,
    limit: usize,
}

impl Write for Held {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + data.len() > self.limit {
            return Err(io::Error::other("over the limit"));
        }
        self.bytes.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A failure while decompressing: a CRC mismatch, or anything else that broke the read.
fn read_error(entry: &Entry, err: io::Error) -> Error {
    let name = entry.name.clone();
    // The zip crate reports a CRC mismatch as an I/O error whose only mark is its text
    // ("Invalid checksum", zip's crc32.rs); it has no variant of its own.
    let text = err.to_string();
    if text.to_ascii_lowercase().contains("checksum") || text.contains("CRC") {
        return Error::CrcMismatch {
            name,
            crc32: entry.crc32,
        };
    }
    Error::Decompress { name, source: err }
}
