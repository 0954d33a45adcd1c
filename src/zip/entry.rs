//! One archive entry as the central directory describes it, and how `ls` shows it.

use zip::read::ZipFileEntry;
use zip::{CompressionMethod, System};

use super::times;

/// An entry of the central directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name as the zip crate decodes it (UTF-8 when flagged or given in an extra field,
    /// else CP437).
    pub name: String,
    /// Uncompressed size.
    pub size: u64,
    /// Compressed size.
    pub compressed_size: u64,
    /// How the data is compressed.
    pub method: CompressionMethod,
    /// CRC-32 of the uncompressed data.
    pub crc32: u32,
    /// Modification time, `YYYY-MM-DDTHH:MM:SS` (UTC), when the entry has a valid one: from
    /// its extended-timestamp or NTFS extra field, else its DOS date and time
    /// (`zip::times`).
    pub modified: Option<String>,
    /// Whether the entry is a directory.
    pub is_dir: bool,
    /// Whether the entry is a symbolic link (Unix mode).
    pub is_symlink: bool,
    /// Unix permission bits and file type, when the archive recorded them as unzip takes
    /// them: from a Unix host, or from another host when the owner's bits agree with the DOS
    /// attributes.
    pub unix_mode: Option<u32>,
    /// The DOS read-only attribute, which gives an entry without a Unix mode its write bits.
    pub read_only: bool,
    /// Whether the data is encrypted.
    pub encrypted: bool,
    /// Offset of the local header in the file, prefix included.
    pub header_start: u64,
}

impl Entry {
    /// The entry as `rangecat ls --json` shows it (README, "Zip archives"), also what the
    /// Python package's `list_zip` returns: name, sizes, method, CRC-32, modification time,
    /// kind, encryption and the local header's offset.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "size": self.size,
            "compressed_size": self.compressed_size,
            "method": self.method_name(),
            "crc32": self.crc32,
            "modified": self.modified,
            "is_dir": self.is_dir,
            "is_symlink": self.is_symlink,
            "encrypted": self.encrypted,
            "offset": self.header_start,
        })
    }

    /// The entry the zip crate parsed, whose central directory header has the extra field
    /// `extra`.
    pub fn from_zip(file: &ZipFileEntry<'_>, extra: &[u8]) -> Entry {
        let dos = file.last_modified();
        let dos_raw = dos.map_or(0, |t| {
            u32::from(t.datepart()) << 16 | u32::from(t.timepart())
        });
        let modified = times::extra_field_time(extra, dos_raw)
            .map(times::format)
            .or_else(|| {
                dos.filter(|t| t.is_valid()).map(|t| {
                    format!(
                        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                        t.year(),
                        t.month(),
                        t.day(),
                        t.hour(),
                        t.minute(),
                        t.second()
                    )
                })
            });
        let is_dir = file.is_dir();
        let attributes = file.external_attributes();
        Entry {
            name: file
                .name()
                .map(|name| name.into_owned())
                .unwrap_or_else(|_| String::from_utf8_lossy(file.name_raw()).into_owned()),
            size: file.size(),
            compressed_size: file.compressed_size(),
            method: file.compression(),
            crc32: file.crc32(),
            modified,
            is_dir,
            is_symlink: file.is_symlink(),
            unix_mode: unix_mode(file.system(), attributes, is_dir),
            read_only: attributes & 1 != 0,
            encrypted: file.encrypted(),
            header_start: file.header_start(),
        }
    }

    /// The method's name, as `ls -l` and `--json` show it.
    pub fn method_name(&self) -> String {
        method_name(self.method)
    }
}

/// The Unix mode recorded in `attributes` (the mode in the high 16 bits, DOS attributes in
/// the low 8) as unzip takes it (`mapattr` in its `unix/unix.c`): as it is from a Unix host;
/// from the others only when the owner's bits agree with the DOS attributes (read-only: no
/// write bit; directory: the search bit), which archivers on Windows that know Unix modes
/// write. `None` when none was recorded.
fn unix_mode(system: System, attributes: u32, is_dir: bool) -> Option<u32> {
    let mode = attributes >> 16;
    if mode == 0 {
        return None;
    }
    if system == System::Unix {
        return Some(mode);
    }
    let writable = u32::from(attributes & 1 == 0) << 1;
    let search = u32::from(attributes & 0x10 != 0 || is_dir);
    let owner = 0o400 | (writable | search) << 6;
    (mode & 0o700 == owner).then_some(mode)
}

/// A compression method's usual name.
pub fn method_name(method: CompressionMethod) -> String {
    #[allow(deprecated)] // Unsupported(n) is how the crate reports a method it has no name for
    match method {
        CompressionMethod::Stored => "stored".into(),
        CompressionMethod::Deflated => "deflate".into(),
        CompressionMethod::Deflate64 => "deflate64".into(),
        CompressionMethod::Bzip2 => "bzip2".into(),
        CompressionMethod::Zstd => "zstd".into(),
        CompressionMethod::Lzma => "lzma".into(),
        CompressionMethod::Xz => "xz".into(),
        CompressionMethod::Ppmd => "ppmd".into(),
        CompressionMethod::Unsupported(n) => format!("method-{n}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_modes_are_taken_as_unzip_takes_them() {
        // From a Unix host: as recorded (0 is none).
        assert_eq!(
            unix_mode(System::Unix, 0o100755 << 16, false),
            Some(0o100755)
        );
        assert_eq!(unix_mode(System::Unix, 0x20, false), None);
        // From FAT (a jar, Windows): none without high bits...
        assert_eq!(unix_mode(System::Dos, 0, false), None);
        assert_eq!(unix_mode(System::Dos, 0x10, true), None);
        // ...and the high bits only when the owner's agree with the DOS attributes.
        assert_eq!(
            unix_mode(System::Dos, 0o100644 << 16, false),
            Some(0o100644)
        );
        assert_eq!(
            unix_mode(System::Dos, (0o100444 << 16) | 1, false),
            Some(0o100444)
        );
        assert_eq!(unix_mode(System::Dos, (0o100644 << 16) | 1, false), None);
        assert_eq!(unix_mode(System::Dos, 0o100755 << 16, false), None);
        assert_eq!(
            unix_mode(System::Dos, (0o40755 << 16) | 0x10, true),
            Some(0o40755)
        );
        assert_eq!(unix_mode(System::Dos, 0o40755 << 16, true), Some(0o40755));
    }
}
