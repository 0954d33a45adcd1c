//! Zip archives written byte by byte, for what the zip crate's writer cannot make, or not in
//! a test's time: Unix modes with setuid, setgid and sticky bits (its `unix_permissions` keeps
//! only `0o777`), and hundreds of MiB of zeros deflated in milliseconds (a zip bomb: the
//! writer's deflate takes many seconds in a debug build).

use super::gzip::crc32;

/// One member: its name, method (0 stored, 8 deflate), CRC-32 and size of the uncompressed
/// bytes, the bytes as stored in the archive, and its Unix mode.
pub struct RawEntry {
    pub name: String,
    pub method: u16,
    pub crc: u32,
    pub size: u64,
    pub data: Vec<u8>,
    pub mode: u32,
}

/// The regular-file type bits of a Unix mode (`S_IFREG`).
const S_IFREG: u32 = 0o100000;
/// 2024-05-17 13:45:30 in MS-DOS form, as `zips::options` writes.
const DOS_TIME: u16 = (13 << 11) | (45 << 5) | (30 / 2);
const DOS_DATE: u16 = ((2024 - 1980) << 9) | (5 << 5) | 17;

/// A stored member holding `data`, with permission and special bits `mode` (e.g. `0o4755`).
pub fn stored(name: &str, data: &[u8], mode: u32) -> RawEntry {
    RawEntry {
        name: name.to_owned(),
        method: 0,
        crc: crc32(data),
        size: data.len() as u64,
        data: data.to_vec(),
        mode,
    }
}

/// A stored member of `len` zero bytes: a large archive made in no time.
pub fn stored_zeros(name: &str, len: usize) -> RawEntry {
    RawEntry {
        name: name.to_owned(),
        method: 0,
        crc: crc32_of_zeros(len as u64),
        size: len as u64,
        data: vec![0; len],
        mode: 0o644,
    }
}

/// A deflated member of `1 + 258 * matches` zero bytes, compressed about 160 times: one
/// fixed-Huffman block (RFC 1951 §3.2.6) of a literal 0 and then `matches` copies of
/// (length 258, distance 1).
pub fn deflated_zeros(name: &str, matches: usize) -> RawEntry {
    let mut bits = Bits::default();
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // BTYPE 01, fixed Huffman codes
    bits.put_code(0x30, 8); // literal 0
    for _ in 0..matches {
        bits.put_code(0xC5, 8); // length 258 (symbol 285)
        bits.put_code(0, 5); // distance 1 (code 0)
    }
    bits.put_code(0, 7); // end of block (symbol 256)
    let size = 1 + 258 * matches as u64;
    RawEntry {
        name: name.to_owned(),
        method: 8,
        crc: crc32_of_zeros(size),
        size,
        data: bits.finish(),
        mode: 0o644,
    }
}

/// An archive of `entries`, in order, with a central directory and no comment.
pub fn archive(entries: &[RawEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for entry in entries {
        let offset = u32::try_from(out.len()).expect("under 4 GiB");
        let compressed = u32::try_from(entry.data.len()).expect("under 4 GiB");
        let size = u32::try_from(entry.size).expect("under 4 GiB");
        let name = entry.name.as_bytes();
        let name_len = u16::try_from(name.len()).unwrap();
        let mode = if entry.mode & 0o170000 == 0 {
            entry.mode | S_IFREG
        } else {
            entry.mode
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for field in [20u16, 0, entry.method, DOS_TIME, DOS_DATE] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        for field in [entry.crc, compressed, size] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(&entry.data);

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        // Made by Unix (3), version 2.0; needs 2.0.
        for field in [(3 << 8) | 20u16, 20, 0, entry.method, DOS_TIME, DOS_DATE] {
            central.extend_from_slice(&field.to_le_bytes());
        }
        for field in [entry.crc, compressed, size] {
            central.extend_from_slice(&field.to_le_bytes());
        }
        // Name length, extra and comment lengths, disk, internal attributes.
        for field in [name_len, 0, 0, 0, 0] {
            central.extend_from_slice(&field.to_le_bytes());
        }
        central.extend_from_slice(&(mode << 16).to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let cd_offset = u32::try_from(out.len()).expect("under 4 GiB");
    let count = u16::try_from(entries.len()).unwrap();
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for field in [0u16, 0, count, count] {
        out.extend_from_slice(&field.to_le_bytes());
    }
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// Deflate's bit order: values least significant bit first, Huffman codes most significant
/// bit first.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    fn put_code(&mut self, code: u32, len: u32) {
        self.put(code.reverse_bits() >> (32 - len), len);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// CRC-32 (IEEE) of `n` zero bytes without reading them: feeding a zero byte is a linear map
/// of the register, raised to the power `n` by squaring (as zlib's `crc32_combine`).
pub fn crc32_of_zeros(n: u64) -> u32 {
    // A linear map of 32-bit registers, as the images of the 32 unit vectors.
    type Map = [u32; 32];
    fn apply(map: &Map, x: u32) -> u32 {
        (0..32)
            .filter(|i| x >> i & 1 == 1)
            .fold(0, |acc, i| acc ^ map[i])
    }
    fn compose(a: &Map, b: &Map) -> Map {
        std::array::from_fn(|i| apply(a, b[i]))
    }
    let zero_byte: Map = std::array::from_fn(|i| {
        let mut crc = 1u32 << i;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
        crc
    });
    let mut result: Map = std::array::from_fn(|i| 1 << i);
    let mut power = zero_byte;
    let mut n = n;
    while n > 0 {
        if n & 1 == 1 {
            result = compose(&power, &result);
        }
        power = compose(&power, &power);
        n >>= 1;
    }
    !apply(&result, !0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_of_zeros_matches_the_bitwise_crc() {
        for n in [0usize, 1, 2, 7, 258, 1000, 65_537] {
            assert_eq!(crc32_of_zeros(n as u64), crc32(&vec![0; n]), "{n} zeros");
        }
    }

    #[test]
    fn hand_made_archives_read_back_with_the_zip_crate() {
        let bytes = archive(&[
            deflated_zeros("bomb.bin", 1000),
            stored("suid", b"#!/bin/sh\n", 0o4755),
        ]);
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut bomb = Vec::new();
        std::io::Read::read_to_end(&mut zip.by_name("bomb.bin").unwrap(), &mut bomb).unwrap();
        assert_eq!(bomb, vec![0; 1 + 258 * 1000]);
        assert_eq!(zip.by_name("suid").unwrap().size(), 10);
        // The zip crate's `unix_mode` hides the special bits: look at the external attributes.
        let mut bytes = zip.into_inner().into_inner();
        let attributes = (0o104755u32 << 16).to_le_bytes();
        assert!(bytes.windows(4).any(|w| w == attributes));
        bytes.clear();
    }
}
