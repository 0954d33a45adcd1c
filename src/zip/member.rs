//! A member's bytes: one request for the span from its local header to the next header (or
//! the central directory), decompressed while streaming and checked against its CRC-32.

use std::io::{self, Read, Write};
use std::ops::Range;

use zip::CompressionMethod;
use zip::read::{ZipReadOptions, read_zipfile_from_stream_with_options};
use zip::result::ZipError;

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
#[cfg(test)]
pub(crate) fn spans(entries: &[Entry], layout: &Layout) -> Vec<Range<u64>> {
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

/// The most memory a member's decompressor may claim: an LZMA or xz dictionary (as much of it
/// as the member's size can fill) or a PPMd model. 128 MiB is zstd's own default limit for
/// its window, and holds every preset of xz and 7-Zip (dictionaries of at most 64 MiB) and
/// the PPMd model of 7-Zip's `-mx9`. Those decompressors take what the data's header asks
/// for (up to 4 GiB for a dictionary), so a member asking for more is refused before it is
/// decompressed.
pub const MAX_DECODER_MEMORY: u64 = 128 << 20;

/// Streams `entry`'s decompressed bytes from `body` (its span, starting at the local header)
/// to `out`, in pieces; fails on a CRC-32 mismatch or a short member, and before
/// decompressing when the decompressor would need more than [`MAX_DECODER_MEMORY`]. Returns
/// the size.
pub fn copy_member(
    body: impl Read,
    entry: &Entry,
    out: &mut dyn Write,
    chunk_size: usize,
) -> Result<u64, Error> {
    check_supported(entry)?;
    // The decompressor reads and yields small pieces; buffering both sides turns ~10,000
    // syscalls per 100 MB into a few hundred. A small member gets buffers its own size: a
    // thousand of them must not each fill three 256 KiB buffers (`x`).
    let fits = |len: u64| {
        usize::try_from(len)
            .unwrap_or(usize::MAX)
            .clamp(8192, chunk_size.max(8192))
    };
    let mut body =
        io::BufReader::with_capacity(fits(entry.compressed_size.saturating_add(1024)), body);
    let (head, needed) = read_head(&mut body, entry)?;
    if let Some((method, needed)) = needed.filter(|&(_, n)| n > MAX_DECODER_MEMORY) {
        return Err(Error::DecoderMemory {
            name: entry.name.clone(),
            method,
            needed,
            limit: MAX_DECODER_MEMORY,
        });
    }
    let mut body = io::Cursor::new(head).chain(body);
    let mut out = io::BufWriter::with_capacity(fits(entry.size), out);
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
    let mut buf = vec![0u8; fits(entry.size)];
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

/// A compression method's name and the memory its decompressor takes.
type Need = (&'static str, u64);

/// Reads the local header and the first bytes of the data from `body`, for [`decoder_memory`];
/// returns them, to be read again, with the method's name and the memory it would need. A
/// failure fails as it would have in the zip crate: in the header as [`Error::Member`], in
/// the data as a decompression error.
fn read_head(body: &mut impl Read, entry: &Entry) -> Result<(Vec<u8>, Option<Need>), Error> {
    let mut head = Vec::new();
    let mut read_to = |head: &mut Vec<u8>, len: usize| {
        let more = len.saturating_sub(head.len()) as u64;
        body.by_ref().take(more).read_to_end(head)
    };
    let in_header = |source| Error::Member {
        name: entry.name.clone(),
        source: ZipError::Io(source),
    };
    read_to(&mut head, LOCAL_HEADER_LEN as usize).map_err(in_header)?;
    if head.len() < LOCAL_HEADER_LEN as usize || head[..4] != *b"PK\x03\x04" {
        // Not a local header: the zip crate says so.
        return Ok((head, None));
    }
    let u16_at = |at: usize| u16::from_le_bytes([head[at], head[at + 1]]);
    // The local header's method is the one the zip crate decompresses with.
    let method = u16_at(8);
    let names = usize::from(u16_at(26)) + usize::from(u16_at(28));
    let data_start = LOCAL_HEADER_LEN as usize + names;
    read_to(&mut head, data_start).map_err(in_header)?;
    read_to(&mut head, data_start + DATA_HEAD).map_err(|e| read_error(entry, e))?;
    let data = head.get(data_start..).unwrap_or_default();
    let needed = decoder_memory(method, data, entry.size);
    Ok((head, needed))
}

/// Bytes of a member's data that [`decoder_memory`] reads: an xz stream header (12) and its
/// first block header (at most 1024).
const DATA_HEAD: usize = 12 + 1024;

/// The memory the decompressor for `method` (its number in the local header) takes for
/// `data`, the start of a member's compressed data that decompresses to `size` bytes, with
/// the method's name; `None` for a method whose memory does not depend on its data, or data
/// too short or malformed for its decompressor to start.
///
/// - LZMA (14): after a 4-byte version and properties size, the properties byte and a 32-bit
///   dictionary size, which the decompressor fills up to the member's size.
/// - xz (95): the LZMA2 filter's dictionary size in the first block header (xz's format,
///   §3.1 and §5.3.1), likewise; later blocks are not read.
/// - PPMd (98): a 16-bit parameter whose bits 4 to 11 hold the model size in MiB, minus 1,
///   allocated whole.
pub fn decoder_memory(method: u16, data: &[u8], size: u64) -> Option<(&'static str, u64)> {
    match method {
        14 => {
            let dictionary = u32::from_le_bytes(data.get(5..9)?.try_into().ok()?);
            Some(("LZMA", u64::from(dictionary).min(size)))
        }
        95 => xz_dictionary(data).map(|dictionary| ("xz", dictionary.min(size))),
        98 => {
            let parameters = u16::from_le_bytes(data.get(..2)?.try_into().ok()?);
            Some(("PPMd", (u64::from((parameters >> 4) & 0xFF) + 1) << 20))
        }
        _ => None,
    }
}

/// The LZMA2 dictionary size of the first block of the xz stream that `data` starts.
fn xz_dictionary(data: &[u8]) -> Option<u64> {
    if data.get(..6)? != b"\xFD7zXZ\0" {
        return None;
    }
    let header_len = (usize::from(*data.get(12)?) + 1) * 4;
    // A 0 there starts the index: a stream without blocks.
    let header = data.get(12..12 + header_len).filter(|_| data[12] != 0)?;
    let flags = header[1];
    let mut at = 2;
    for present in [flags & 0x40, flags & 0x80] {
        if present != 0 {
            varint(header, &mut at)?; // compressed and uncompressed sizes
        }
    }
    let mut dictionary = None;
    for _ in 0..=(flags & 3) {
        let (id, len) = (varint(header, &mut at)?, varint(header, &mut at)?);
        let len = usize::try_from(len).ok()?;
        let props = header.get(at..at.checked_add(len)?)?;
        at += len;
        if id == 0x21 && len == 1 {
            // LZMA2: 2 or 3, times a power of two from 2^11; 40 is 4 GiB - 1.
            dictionary = match props[0] {
                40 => Some(u64::from(u32::MAX)),
                d @ 0..=39 => Some((2 | u64::from(d & 1)) << (d / 2 + 11)),
                _ => None,
            };
        }
    }
    dictionary
}

/// The xz variable-length integer at `*at` in `bytes` (7 bits a byte, low first), moving
/// `*at` past it.
fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..63).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7F) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A local header for `name` with `method`, then `data`.
    fn local(method: u16, name: &str, data: &[u8]) -> Vec<u8> {
        let mut out = b"PK\x03\x04".to_vec();
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&method.to_le_bytes());
        out.extend_from_slice(&[0; 16]); // time, date, CRC-32, sizes
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra field
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn entry(method: CompressionMethod, size: u64) -> Entry {
        Entry {
            name: "m".into(),
            size,
            compressed_size: 64,
            method,
            crc32: 0,
            modified: None,
            is_dir: false,
            is_symlink: false,
            unix_mode: None,
            read_only: false,
            encrypted: false,
            header_start: 0,
        }
    }

    /// LZMA data's start: version 9.4, 5 bytes of properties, `dictionary`, then filler.
    fn lzma(dictionary: u32) -> Vec<u8> {
        let mut data = vec![9, 4, 5, 0, 0x5d];
        data.extend_from_slice(&dictionary.to_le_bytes());
        data.extend_from_slice(&[0; 55]);
        data
    }

    /// An xz stream header and a block header with one LZMA2 filter of dictionary `code`.
    fn xz(code: u8) -> Vec<u8> {
        let mut data = b"\xFD7zXZ\0\0\x01\x69\x22\xDE\x36".to_vec();
        // Size (2 + 1) * 4, flags (one filter, no sizes), LZMA2 (0x21), 1 byte of properties.
        data.extend_from_slice(&[2, 0, 0x21, 1, code, 0, 0, 0, 0, 0, 0, 0]);
        data
    }

    const MIB: u64 = 1 << 20;

    #[test]
    fn decoder_memory_is_read_from_each_methods_header() {
        // LZMA: the dictionary, as far as the member's size can fill it.
        assert_eq!(
            decoder_memory(14, &lzma(1 << 30), u64::MAX),
            Some(("LZMA", 1 << 30))
        );
        assert_eq!(
            decoder_memory(14, &lzma(u32::MAX), 1000),
            Some(("LZMA", 1000))
        );
        assert_eq!(decoder_memory(14, &lzma(8 << 20)[..8], u64::MAX), None);
        // PPMd: bits 4 to 11 are the model's MiB, minus 1.
        assert_eq!(decoder_memory(98, &[0x07, 0x00], 10), Some(("PPMd", MIB)));
        assert_eq!(
            decoder_memory(98, &[0xF7, 0x0F], 10),
            Some(("PPMd", 256 * MIB))
        );
        // xz: the first block's LZMA2 dictionary; code 40 is 4 GiB - 1.
        assert_eq!(decoder_memory(95, &xz(0), u64::MAX), Some(("xz", 4 << 10)));
        assert_eq!(decoder_memory(95, &xz(22), u64::MAX), Some(("xz", 8 * MIB)));
        assert_eq!(
            decoder_memory(95, &xz(23), u64::MAX),
            Some(("xz", 12 * MIB))
        );
        assert_eq!(decoder_memory(95, &xz(40), 5 * MIB), Some(("xz", 5 * MIB)));
        assert_eq!(
            decoder_memory(95, &xz(40), u64::MAX),
            Some(("xz", u64::from(u32::MAX)))
        );
        assert_eq!(decoder_memory(95, &xz(41), u64::MAX), None);
        assert_eq!(decoder_memory(95, &xz(23)[..20], u64::MAX), None);
        assert_eq!(decoder_memory(8, &lzma(u32::MAX), u64::MAX), None);
    }

    #[test]
    fn the_fixtures_decoders_fit() {
        for archive in [
            &include_bytes!("../../tests/data/7z-lzma.zip")[..],
            include_bytes!("../../tests/data/7z-xz.zip"),
            include_bytes!("../../tests/data/7z-ppmd.zip"),
        ] {
            let method = u16::from_le_bytes([archive[8], archive[9]]);
            let start = 30 + usize::from(archive[26]) + usize::from(archive[28]);
            let (_, needed) = decoder_memory(method, &archive[start..], u64::MAX).unwrap();
            assert!(needed <= MAX_DECODER_MEMORY, "{method}: {needed}");
        }
    }

    #[test]
    fn a_decoder_asking_for_too_much_memory_is_refused_before_decompressing() {
        // Found by fuzz/fuzz_targets/zip.rs (a PPMd model of 256 MiB); an LZMA dictionary
        // of 4 GiB let a 76 KB archive hold its output, 512 MiB, in memory.
        let too_much = |method, data: &[u8], entry: Entry| {
            let body = local(method, "m", data);
            match copy_member(&body[..], &entry, &mut io::sink(), 8192) {
                Err(Error::DecoderMemory { needed, limit, .. }) => {
                    assert_eq!(limit, MAX_DECODER_MEMORY);
                    Some(needed)
                }
                _ => None,
            }
        };
        let lzma_entry = || entry(CompressionMethod::Lzma, 1 << 30);
        assert_eq!(
            too_much(14, &lzma(u32::MAX - 15), lzma_entry()),
            Some(1 << 30)
        );
        assert_eq!(too_much(14, &lzma(8 << 20), lzma_entry()), None);
        let small = entry(CompressionMethod::Lzma, 1000);
        assert_eq!(too_much(14, &lzma(u32::MAX - 15), small), None);
        let ppmd = entry(CompressionMethod::Ppmd, 10);
        assert_eq!(too_much(98, &[0xF7, 0x0F, 0, 0], ppmd), Some(256 * MIB));
        let ppmd = entry(CompressionMethod::Ppmd, 10);
        assert_eq!(too_much(98, &[0xF7, 0x07, 0, 0], ppmd), None);
        let xz_entry = entry(CompressionMethod::Xz, u64::MAX);
        assert_eq!(too_much(95, &xz(40), xz_entry), Some(u64::from(u32::MAX)));
        // The local header's method is the one decompressed with, whatever the directory says.
        let stored = entry(CompressionMethod::Stored, 1 << 30);
        assert_eq!(too_much(14, &lzma(u32::MAX - 15), stored), Some(1 << 30));
    }
}
