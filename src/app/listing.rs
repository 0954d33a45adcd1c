//! How `ls` shows entries: the `-l` table (one row per entry, then a total) and the
//! `--json` line. Pure formatting: the caller writes the lines, as the entries stream in.

use humansize::{BINARY, format_size};

use rangecat::zip::Entry;

/// Width of a size column: 999,999,999,999 bytes (under 1 TiB) fits; a larger size widens
/// only its own row. The table streams (100,000 entries in flat memory), so widths are fixed
/// rather than measured over all rows first.
const SIZE_WIDTH: usize = 12;
/// Width of a size column with `-h`: humansize's longest binary form, `1023.99 KiB`.
const HUMAN_WIDTH: usize = 11;
/// Width of the method column: `deflate64`, the longest name the zip crate decodes.
const METHOD_WIDTH: usize = 9;
/// Width of the modified column: `YYYY-MM-DD HH:MM:SS`.
const MODIFIED_WIDTH: usize = 19;
/// Width of the CRC-32 column: eight hex digits.
const CRC_WIDTH: usize = 8;
/// Spaces between columns.
const GAP: &str = "  ";

/// The `ls -l` table: a header, one row per entry, and a total of what was shown.
#[derive(Debug, Clone)]
pub struct Table {
    human: bool,
    total_size: u64,
    total_compressed: u64,
    entries: u64,
}

impl Table {
    /// An empty table; `human` shows sizes in binary units (KiB, MiB, ...).
    pub fn new(human: bool) -> Table {
        Table {
            human,
            total_size: 0,
            total_compressed: 0,
            entries: 0,
        }
    }

    /// The header line, without a newline.
    pub fn header(&self) -> String {
        let width = self.size_width();
        format!(
            "{:>width$}{GAP}{:>width$}{GAP}{:<METHOD_WIDTH$}{GAP}{:<MODIFIED_WIDTH$}{GAP}{:<CRC_WIDTH$}{GAP}Name",
            "Size", "Compressed", "Method", "Modified", "CRC-32"
        )
    }

    /// `entry`'s row, without a newline; counts it in the total.
    pub fn row(&mut self, entry: &Entry) -> String {
        // Sizes come from the archive: saturate rather than overflow on a crafted one.
        self.total_size = self.total_size.saturating_add(entry.size);
        self.total_compressed = self.total_compressed.saturating_add(entry.compressed_size);
        self.entries += 1;
        let width = self.size_width();
        let modified = entry
            .modified
            .as_deref()
            .map_or_else(|| "-".into(), |t| t.replace('T', " "));
        format!(
            "{:>width$}{GAP}{:>width$}{GAP}{:<METHOD_WIDTH$}{GAP}{:<MODIFIED_WIDTH$}{GAP}{:08x}{GAP}{}",
            self.size(entry.size),
            self.size(entry.compressed_size),
            entry.method_name(),
            modified,
            entry.crc32,
            entry.name
        )
    }

    /// The total line, without a newline: total size, total compressed size, entry count.
    pub fn total(&self) -> String {
        let width = self.size_width();
        let noun = if self.entries == 1 {
            "entry"
        } else {
            "entries"
        };
        format!(
            "{:>width$}{GAP}{:>width$}{GAP}{} {noun}",
            self.size(self.total_size),
            self.size(self.total_compressed),
            self.entries
        )
    }

    fn size_width(&self) -> usize {
        if self.human { HUMAN_WIDTH } else { SIZE_WIDTH }
    }

    fn size(&self, bytes: u64) -> String {
        if self.human {
            format_size(bytes, BINARY)
        } else {
            bytes.to_string()
        }
    }
}

/// `entry` as one line of `ls --json` (NDJSON), without a newline.
pub fn json_line(entry: &Entry) -> String {
    entry.to_json().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use zip::CompressionMethod;

    fn entry(name: &str, size: u64, compressed_size: u64, method: CompressionMethod) -> Entry {
        Entry {
            name: name.into(),
            size,
            compressed_size,
            method,
            crc32: 0x0012_abcd,
            modified: Some("2024-05-17T13:45:30".into()),
            is_dir: name.ends_with('/'),
            is_symlink: false,
            unix_mode: Some(0o100644),
            read_only: false,
            encrypted: false,
            header_start: 1234,
        }
    }

    /// The byte column where `needle` starts in `line`.
    fn column(line: &str, needle: &str) -> usize {
        line.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in {line:?}"))
    }

    #[test]
    fn rows_put_each_field_in_its_column() {
        let cases = [
            (
                entry("a.txt", 5, 5, CompressionMethod::Stored),
                false,
                "           5             5  stored     2024-05-17 13:45:30  0012abcd  a.txt",
            ),
            (
                entry("big.bin", 3 << 20, 1536, CompressionMethod::Deflated),
                true,
                "      3 MiB     1.50 KiB  deflate    2024-05-17 13:45:30  0012abcd  big.bin",
            ),
            (
                entry("d/", 0, 0, CompressionMethod::Deflate64),
                false,
                "           0             0  deflate64  2024-05-17 13:45:30  0012abcd  d/",
            ),
            (
                Entry {
                    modified: None,
                    crc32: 0xffff_ffff,
                    ..entry("ünï.txt", 123_456_789_012, 7, CompressionMethod::Bzip2)
                },
                false,
                "123456789012             7  bzip2      -                    ffffffff  ünï.txt",
            ),
        ];
        for (entry, human, want) in cases {
            assert_eq!(Table::new(human).row(&entry), want, "{entry:?}");
        }
    }

    #[test]
    fn header_row_and_total_share_columns() {
        for (human, width) in [(false, SIZE_WIDTH), (true, HUMAN_WIDTH)] {
            let mut table = Table::new(human);
            let header = table.header();
            let row = table.row(&entry("x", 1 << 20, 1, CompressionMethod::Stored));
            let total = table.total();
            // Both size columns end at the same place on every line, right-aligned.
            for line in [&header, &row, &total] {
                for end in [width, 2 * width + GAP.len()] {
                    assert!(!line[..end].ends_with(' '), "{line:?} at {end}");
                    assert_eq!(&line[end..end + GAP.len()], GAP, "{line:?} at {end}");
                }
            }
            assert_eq!(column(&header, "Method"), column(&row, "stored"));
            assert_eq!(column(&header, "Modified"), column(&row, "2024-"));
            assert_eq!(column(&header, "CRC-32"), column(&row, "0012abcd"));
            assert_eq!(header.rfind("Name"), Some(row.len() - 1));
        }
    }

    #[test]
    fn totals_sum_what_was_shown() {
        // (size, compressed size) of each row, -h, the total line.
        type Case = (&'static [(u64, u64)], bool, &'static str);
        let cases: [Case; 4] = [
            (&[], false, "           0             0  0 entries"),
            (&[(10, 4)], false, "          10             4  1 entry"),
            (
                &[(1000, 10), (24, 14), (1 << 20, 1 << 10)],
                false,
                "     1049600          1048  3 entries",
            ),
            (
                &[(1 << 20, 1 << 10), (1 << 19, 0)],
                true,
                "   1.50 MiB        1 KiB  2 entries",
            ),
        ];
        for (sizes, human, want) in cases {
            let mut table = Table::new(human);
            for &(size, compressed) in sizes {
                table.row(&entry("f", size, compressed, CompressionMethod::Stored));
            }
            assert_eq!(table.total(), want, "{sizes:?}");
        }
    }

    #[test]
    fn totals_saturate_on_crafted_sizes() {
        let mut table = Table::new(false);
        table.row(&entry("a", u64::MAX, 1, CompressionMethod::Stored));
        table.row(&entry("b", u64::MAX, 1, CompressionMethod::Stored));
        assert!(table.total().starts_with(&u64::MAX.to_string()));
    }

    #[test]
    fn json_lines_carry_every_field() {
        let cases = [
            (
                entry("dir/a.txt", 5, 3, CompressionMethod::Deflated),
                json!({"name": "dir/a.txt", "size": 5, "compressed_size": 3, "method": "deflate",
                    "crc32": 0x0012_abcd, "modified": "2024-05-17T13:45:30", "is_dir": false,
                    "is_symlink": false, "encrypted": false, "offset": 1234}),
            ),
            (
                Entry {
                    modified: None,
                    is_symlink: true,
                    encrypted: true,
                    ..entry("quote\"\n\u{1}.txt", 0, 0, CompressionMethod::Zstd)
                },
                json!({"name": "quote\"\n\u{1}.txt", "size": 0, "compressed_size": 0,
                    "method": "zstd", "crc32": 0x0012_abcd, "modified": null, "is_dir": false,
                    "is_symlink": true, "encrypted": true, "offset": 1234}),
            ),
            (
                entry("d/", 0, 0, CompressionMethod::Stored),
                json!({"name": "d/", "size": 0, "compressed_size": 0, "method": "stored",
                    "crc32": 0x0012_abcd, "modified": "2024-05-17T13:45:30", "is_dir": true,
                    "is_symlink": false, "encrypted": false, "offset": 1234}),
            ),
        ];
        for (entry, want) in cases {
            let line = json_line(&entry);
            // One line per entry, whatever the name holds: NDJSON.
            assert!(!line.contains('\n'), "{line}");
            let got: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(got, want, "{line}");
        }
    }
}
