//! One archive entry as the central directory describes it, and how `ls` shows it.

use zip::CompressionMethod;
use zip::read::ZipFileEntry;

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
    /// Modification time, `YYYY-MM-DDTHH:MM:SS`, when the entry has a valid one.
    pub modified: Option<String>,
    /// Whether the entry is a directory.
    pub is_dir: bool,
    /// Whether the entry is a symbolic link (Unix mode).
    pub is_symlink: bool,
    /// Unix permission bits and file type, when recorded.
    pub unix_mode: Option<u32>,
    /// Whether the data is encrypted.
    pub encrypted: bool,
    /// Offset of the local header in the file, prefix included.
    pub header_start: u64,
}

impl Entry {
    /// The entry the zip crate parsed.
    pub fn from_zip(file: &ZipFileEntry<'_>) -> Entry {
        let modified = file.last_modified().filter(|t| t.is_valid()).map(|t| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        });
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
            is_dir: file.is_dir(),
            is_symlink: file.is_symlink(),
            unix_mode: file.unix_mode(),
            encrypted: file.encrypted(),
            header_start: file.header_start(),
        }
    }

    /// The method's name, as `ls -l` and `--json` show it.
    pub fn method_name(&self) -> String {
        method_name(self.method)
    }
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
