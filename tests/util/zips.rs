//! Zip archives built in the tests with the zip crate's writer, so no binary blob needs
//! trusting. (Append new builders at the end of this file.)

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// One entry to write: a name, its bytes (ignored for directories), and a method.
pub struct Item<'a> {
    /// The entry name; a trailing `/` makes a directory.
    pub name: &'a str,
    /// The contents.
    pub data: &'a [u8],
    /// How to compress it.
    pub method: CompressionMethod,
}

impl<'a> Item<'a> {
    /// A file compressed with deflate.
    pub fn deflated(name: &'a str, data: &'a [u8]) -> Item<'a> {
        Item {
            name,
            data,
            method: CompressionMethod::Deflated,
        }
    }

    /// A file stored as it is.
    pub fn stored(name: &'a str, data: &'a [u8]) -> Item<'a> {
        Item {
            name,
            data,
            method: CompressionMethod::Stored,
        }
    }

    /// A directory.
    pub fn dir(name: &'a str) -> Item<'a> {
        Item {
            name,
            data: b"",
            method: CompressionMethod::Stored,
        }
    }
}

/// The options every test archive uses: a fixed modification time, so listings are stable.
pub fn options(method: CompressionMethod) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(method)
        .last_modified_time(zip::DateTime::from_date_and_time(2024, 5, 17, 13, 45, 30).unwrap())
        .unix_permissions(0o644)
}

/// An archive of `items`, with `comment` as the archive comment.
pub fn archive_with_comment(items: &[Item<'_>], comment: &str) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for item in items {
        if item.name.ends_with('/') {
            writer
                .add_directory(
                    item.name.trim_end_matches('/'),
                    options(CompressionMethod::Stored),
                )
                .unwrap();
        } else {
            writer.start_file(item.name, options(item.method)).unwrap();
            writer.write_all(item.data).unwrap();
        }
    }
    writer.set_comment(comment).unwrap();
    writer.finish().unwrap().into_inner()
}

/// An archive of `items`.
pub fn archive(items: &[Item<'_>]) -> Vec<u8> {
    archive_with_comment(items, "")
}

/// `count` small stored files named `dir/file-000123.txt`, each holding its own name: a
/// central directory far larger than the 65 KiB tail when `count` is large.
pub fn many_files(count: usize) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = options(CompressionMethod::Stored);
    for i in 0..count {
        let name = format!("dir/file-{i:06}.txt");
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(name.as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// Pseudo-random bytes that do not compress, deterministic per `seed`.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}
