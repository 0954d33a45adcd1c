//! `rangecat ls` against archives built here with the zip crate's writer: the requests on the
//! wire (one suffix request, one more only for a central directory outside it), the `-l`
//! table, globs, and bad archives.
//!
//! The fields of real archives are checked against other tools (Python's zipfile and 7-Zip,
//! `tests/data/expected.txt`) in `tests/archives.rs`. Here the listing of the writer's
//! archives is compared with the zip crate's own `ZipArchive`, the reader rangecat is built
//! on: a differential test, kept for what no fixture holds (symbolic links, 70,000 entries,
//! header offsets, the writer's Zip64 and data descriptors), not an independent oracle.
//!
//! Large archives are built once per test binary (`OnceLock`) and served from memory.

use std::io::{Cursor, Write};
use std::ops::Range;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::util;
use crate::util::errors::assert_runtime_error;
use crate::util::fixtures::{file_url, local_file};
use crate::util::server::{Mode, Server};
use crate::util::zips::{self, Item};

const PATH: &str = "/archive.zip";
/// The suffix rangecat asks for first: the end record, a maximal comment and the Zip64
/// records (22 + 65,535 + 20 + 56 bytes, rounded up to 65 KiB).
const TAIL: usize = 65 * 1024;
const EOCD_SIGNATURE: &[u8] = b"PK\x05\x06";

// ---- Helpers ----

/// `rangecat ls [options] SOURCE [patterns]`.
fn ls(source: &str, options: &[&str], patterns: &[&str]) -> Output {
    util::rangecat()
        .arg("ls")
        .args(options)
        .arg(source)
        .args(patterns)
        .output()
        .unwrap()
}

/// `ls`, asserting success and a silent stderr; returns stdout.
#[track_caller]
fn ls_ok(source: &str, options: &[&str], patterns: &[&str]) -> String {
    let output = ls(source, options, patterns);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.is_empty(),
        "ls {options:?} {source} {patterns:?}: exit {:?}\nstderr:\n{stderr}",
        output.status.code()
    );
    String::from_utf8(output.stdout).expect("ls output is UTF-8")
}

/// `bytes` served by a well-behaved server, and the archive's URL.
fn serve(bytes: Vec<u8>) -> (Server, String) {
    let server = Server::start(bytes, Mode::Ranges);
    let url = server.url(PATH);
    (server, url)
}

/// The requests `server` received, as `METHOD range`.
fn requests(server: &Server) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.range().unwrap_or("-")))
        .collect()
}

fn u16_at(bytes: &[u8], at: usize) -> u64 {
    u64::from(u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap()))
}

fn u32_at(bytes: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

/// Where the end-of-central-directory record starts (the last signature: no test archive's
/// comment holds one, except where a test says so).
fn eocd(bytes: &[u8]) -> usize {
    bytes
        .windows(4)
        .rposition(|w| w == EOCD_SIGNATURE)
        .expect("no end-of-central-directory record")
}

/// Where the central directory lies in `bytes`, prefix included, read by hand from the end
/// records (APPNOTE 4.3.14-4.3.16) rather than by rangecat's code.
fn central_directory(bytes: &[u8]) -> Range<usize> {
    let eocd = eocd(bytes);
    let (count, size, offset) = (
        u16_at(bytes, eocd + 10),
        u32_at(bytes, eocd + 12),
        u32_at(bytes, eocd + 16),
    );
    let (end, size) = if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
        let locator = eocd - 20;
        assert_eq!(&bytes[locator..locator + 4], b"PK\x06\x07", "Zip64 locator");
        let record = locator - 56;
        assert_eq!(&bytes[record..record + 4], b"PK\x06\x06", "Zip64 record");
        (record, u64_at(bytes, record + 40))
    } else {
        (eocd, size)
    };
    end - size as usize..end
}

/// `prefix_len` bytes of noise in front of `archive`: a self-extracting stub.
fn with_prefix(prefix_len: usize, archive: &[u8]) -> Vec<u8> {
    [zips::noise(prefix_len, 7), archive.to_vec()].concat()
}

/// `many_files(70_000)`: more entries than the classic end record can count (Zip64), and a
/// central directory of ~4 MiB. Built once.
fn seventy_thousand() -> &'static [u8] {
    static ARCHIVE: OnceLock<Vec<u8>> = OnceLock::new();
    ARCHIVE.get_or_init(|| zips::many_files(70_000))
}

/// `many_files(5000)`: a central directory of ~330 KiB, far outside the tail. Built once.
fn five_thousand() -> &'static [u8] {
    static ARCHIVE: OnceLock<Vec<u8>> = OnceLock::new();
    ARCHIVE.get_or_init(|| zips::many_files(5000))
}

/// A small archive with a file of each kind `ls -l` shows.
fn small() -> Vec<u8> {
    let data = util::data(300_000);
    let noise = zips::noise(70_000, 3);
    zips::archive(&[
        Item::stored("a.txt", b"hello"),
        Item::deflated("big.bin", &data),
        Item::stored("noise.bin", &noise),
        Item::dir("dir/"),
        Item::deflated("dir/ünïcödé.txt", "ünïcödé\n".as_bytes()),
    ])
}

/// One file per compression method the writer supports with the crate's features (it
/// cannot compress lzma or deflate64).
fn every_method() -> Vec<u8> {
    let text = b"hello, zip\n".repeat(500);
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, method) in [
        ("stored.txt", CompressionMethod::Stored),
        ("deflated.txt", CompressionMethod::Deflated),
        ("bzip2.txt", CompressionMethod::Bzip2),
        ("zstd.txt", CompressionMethod::Zstd),
        ("xz.txt", CompressionMethod::Xz),
        ("ppmd.txt", CompressionMethod::Ppmd),
    ] {
        writer.start_file(name, zips::options(method)).unwrap();
        writer.write_all(&text).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// Directories, a UTF-8 name, an empty file and a symbolic link.
fn tree() -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = zips::options(CompressionMethod::Deflated);
    writer.add_directory("dir", options).unwrap();
    writer.add_directory("dir/sub", options).unwrap();
    writer.start_file("dir/ünïcödé.txt", options).unwrap();
    writer.write_all("ünïcödé\n".as_bytes()).unwrap();
    writer.start_file("dir/sub/empty", options).unwrap();
    writer
        .add_symlink("dir/link", "ünïcödé.txt", options)
        .unwrap();
    writer.finish().unwrap().into_inner()
}

/// Entries marked large (Zip64 extra fields, a Zip64 end record).
fn zip64_large_files() -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (i, method) in [CompressionMethod::Stored, CompressionMethod::Deflated]
        .into_iter()
        .enumerate()
    {
        let options: SimpleFileOptions = zips::options(method).large_file(true);
        writer
            .start_file(format!("large-{i}.bin"), options)
            .unwrap();
        writer.write_all(&util::data(10_000)).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// Written to a non-seekable sink: sizes and CRCs follow the data in data descriptors.
fn data_descriptors() -> Vec<u8> {
    let mut writer = ZipWriter::new_stream(Vec::new());
    for (name, method) in [
        ("streamed-stored.bin", CompressionMethod::Stored),
        ("streamed-deflated.bin", CompressionMethod::Deflated),
    ] {
        writer.start_file(name, zips::options(method)).unwrap();
        writer.write_all(&util::data(5000)).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A name with byte 0x81 and no UTF-8 flag: CP437 `ü`.
fn cp437_name() -> Vec<u8> {
    let bytes = zips::archive(&[Item::stored("cp437-X.txt", b"x")]);
    replace_all(&bytes, b"cp437-X", b"cp437-\x81")
}

/// The first central directory entry's date set to 0 (month 0): no valid modification time.
fn invalid_date() -> Vec<u8> {
    let mut bytes = zips::archive(&[Item::stored("a", b"a"), Item::stored("b", b"b")]);
    let cd = central_directory(&bytes);
    bytes[cd.start + 14..cd.start + 16].copy_from_slice(&[0, 0]);
    bytes
}

/// A stored entry whose flags (local header and central directory) say it is encrypted;
/// the writer cannot encrypt with the crate's features.
fn encrypted_flag() -> Vec<u8> {
    let mut bytes = zips::archive(&[
        Item::stored("secret.txt", b"s"),
        Item::stored("plain", b"p"),
    ]);
    let cd = central_directory(&bytes);
    bytes[6] |= 1;
    bytes[cd.start + 8] |= 1;
    bytes
}

fn replace_all(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut at = 0;
    while let Some(pos) = out[at..].windows(from.len()).position(|w| w == from) {
        out[at + pos..at + pos + to.len()].copy_from_slice(to);
        at += pos + to.len();
    }
    out
}

/// The name rangecat gives each method, written out independently of its code.
fn method_name(method: CompressionMethod) -> &'static str {
    match method {
        CompressionMethod::Stored => "stored",
        CompressionMethod::Deflated => "deflate",
        CompressionMethod::Deflate64 => "deflate64",
        CompressionMethod::Bzip2 => "bzip2",
        CompressionMethod::Zstd => "zstd",
        CompressionMethod::Lzma => "lzma",
        CompressionMethod::Xz => "xz",
        CompressionMethod::Ppmd => "ppmd",
        other => panic!("no name for {other:?} in this test"),
    }
}

/// The modification time of every entry the tests write (`zips::options`), as `ls` shows it.
const WRITTEN: &str = "2024-05-17T13:45:30";

/// What the zip crate's `ZipArchive` reports for every entry of `bytes`, as `ls --json`
/// should show it; the modification time is the one the tests write (`WRITTEN`), or null
/// where the crate finds no valid one.
fn zip_crate_view(bytes: &[u8]) -> Vec<Value> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).expect("the zip crate opens it");
    (0..archive.len())
        .map(|i| {
            let file = archive.by_index_raw(i).unwrap();
            let valid = file.last_modified().is_some_and(|t| t.is_valid());
            let modified = valid.then_some(WRITTEN);
            json!({
                "name": file.name().unwrap(),
                "size": file.size(),
                "compressed_size": file.compressed_size(),
                "method": method_name(file.compression()),
                "crc32": file.crc32(),
                "modified": modified,
                "is_dir": file.is_dir(),
                "is_symlink": file.is_symlink(),
                "encrypted": file.encrypted(),
                "offset": file.header_start(),
            })
        })
        .collect()
}

// ---- Requests on the wire ----

#[test]
fn ls_sends_one_suffix_request_when_the_central_directory_is_in_the_tail() {
    for (what, bytes) in [
        ("small", small()),
        ("zip64 large files", zip64_large_files()),
        ("empty", zips::archive(&[])),
        (
            "maximal comment",
            zips::archive_with_comment(&[Item::stored("a.txt", b"a")], &"c".repeat(65_535)),
        ),
    ] {
        let cd = central_directory(&bytes);
        assert!(cd.start >= bytes.len().saturating_sub(TAIL), "{what}");
        let (server, url) = serve(bytes.clone());
        ls_ok(&url, &[], &[]);
        assert_eq!(
            requests(&server),
            [format!("GET bytes=-{TAIL}")],
            "{what}: want exactly one suffix request"
        );
    }
}

#[test]
fn ls_on_a_server_that_refuses_suffix_ranges_probes_and_asks_for_the_tail() {
    let bytes = small();
    let len = bytes.len();
    let server = Server::start(bytes, Mode::RefusesSuffix);
    let names = ls_ok(&server.url(PATH), &[], &[]);
    assert_eq!(names.lines().next(), Some("a.txt"), "{names}");
    // The refused suffix, the probe (HEAD answers the length), the same tail explicitly.
    assert_eq!(
        requests(&server),
        [
            format!("GET bytes=-{TAIL}"),
            "HEAD -".to_owned(),
            format!("GET bytes={}-{}", len - TAIL, len - 1),
        ]
    );
}

#[test]
fn ls_fetches_a_central_directory_outside_the_tail_in_one_more_request() {
    let names: Vec<String> = (0..100).map(|i| format!("file-{i}.txt")).collect();
    let items: Vec<Item<'_>> = names.iter().map(|n| Item::stored(n, b"x")).collect();
    let cases = [
        ("5000 entries", five_thousand().to_vec()),
        (
            "prefix and 5000 entries",
            with_prefix(5000, five_thousand()),
        ),
        (
            "maximal comment and 100 entries",
            zips::archive_with_comment(&items, &"c".repeat(65_535)),
        ),
        ("70,000 entries (Zip64)", seventy_thousand().to_vec()),
    ];
    for (what, bytes) in cases {
        let cd = central_directory(&bytes);
        let tail_start = bytes.len() - TAIL;
        assert!(cd.start < tail_start, "{what}: test archive too small");
        let (server, url) = serve(bytes.clone());
        let listing = ls_ok(&url, &[], &[]);
        assert_eq!(
            listing.lines().count(),
            zip_crate_view(&bytes).len(),
            "{what}"
        );
        assert_eq!(
            requests(&server),
            [
                format!("GET bytes=-{TAIL}"),
                format!("GET bytes={}-{}", cd.start, tail_start - 1)
            ],
            "{what}: want the tail, then the central directory's start up to the tail"
        );
    }
}

#[test]
fn central_directory_helper_agrees_with_the_zip_crate() {
    // The offsets the request tests expect are computed by hand: check that arithmetic.
    let bytes = five_thousand();
    let archive = ZipArchive::new(Cursor::new(bytes)).unwrap();
    assert_eq!(
        central_directory(bytes).start as u64,
        archive.central_directory_start()
    );
    assert_eq!(central_directory(bytes).end, eocd(bytes));
}

#[test]
fn ls_lists_from_one_response_of_a_server_that_ignores_range() {
    for (what, bytes) in [
        ("small", small()),
        ("5000 entries", five_thousand().to_vec()),
        (
            "prefix and 5000 entries",
            with_prefix(5000, five_thousand()),
        ),
    ] {
        let server = Server::start(bytes.clone(), Mode::IgnoresRange);
        let got: Vec<Value> = ls_ok(&server.url(PATH), &["--json"], &[])
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert!(got == zip_crate_view(&bytes), "{what}: listing differs");
        let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
        assert_eq!(methods, ["GET"], "{what}: requests:\n{}", server.summary());
    }
}

#[test]
fn ls_lists_70000_entries_in_two_requests() {
    let bytes = seventy_thousand();
    let (server, url) = serve(bytes.to_vec());
    let listing = ls_ok(&url, &[], &[]);
    assert_eq!(listing.lines().count(), 70_000);
    assert_eq!(listing.lines().next(), Some("dir/file-000000.txt"));
    assert_eq!(listing.lines().last(), Some("dir/file-069999.txt"));
    server.assert_requests(2, "server");
}

// ---- What is listed ----

#[test]
fn ls_json_matches_the_zip_crate_for_every_entry() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("every method", every_method()),
        ("directories, UTF-8 name, symlink", tree()),
        ("empty archive", zips::archive(&[])),
        (
            "comment",
            zips::archive_with_comment(&[Item::deflated("a.txt", b"aaaa")], "a comment"),
        ),
        (
            "comment holding an end-record signature",
            zips::archive_with_comment(
                &[Item::deflated("a.txt", b"aaaa")],
                "see PK\u{5}\u{6} in here",
            ),
        ),
        ("5000-byte prefix", with_prefix(5000, &every_method())),
        (
            "prefix and 5000 entries",
            with_prefix(5000, five_thousand()),
        ),
        ("Zip64 large files", zip64_large_files()),
        ("Zip64: 70,000 entries", seventy_thousand().to_vec()),
        ("data descriptors", data_descriptors()),
        ("CP437 name", cp437_name()),
        ("invalid modification time", invalid_date()),
        ("encrypted flag", encrypted_flag()),
    ];
    for (what, bytes) in cases {
        let want = zip_crate_view(&bytes);
        let (_server, url) = serve(bytes);
        let listing = ls_ok(&url, &["--json"], &[]);
        let got: Vec<Value> = listing
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect();
        assert_eq!(got.len(), want.len(), "{what}: entry count");
        for (i, (got, want)) in got.iter().zip(&want).enumerate() {
            for (field, value) in want.as_object().unwrap() {
                assert_eq!(
                    got.get(field),
                    Some(value),
                    "{what}: entry {i} ({}): field {field}",
                    want["name"]
                );
            }
        }
    }
}

#[test]
fn ls_json_shows_special_entries_as_expected() {
    // Spot checks that do not lean on the zip crate's view.
    let (_server, url) = serve(tree());
    let listing = ls_ok(&url, &["--json"], &[]);
    let by_name = |name: &str| -> Value {
        listing
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed:\n{listing}"))
    };
    assert_eq!(by_name("dir/")["is_dir"], true);
    assert_eq!(by_name("dir/link")["is_symlink"], true);
    let file = by_name("dir/ünïcödé.txt");
    assert_eq!(file["size"], "ünïcödé\n".len());
    assert!(file["crc32"].is_u64(), "{file}");
    assert_eq!(file["method"], "deflate");
    assert_eq!(file["modified"], "2024-05-17T13:45:30");
    let (_server, url) = serve(invalid_date());
    let first: Value =
        serde_json::from_str(ls_ok(&url, &["--json"], &[]).lines().next().unwrap()).unwrap();
    assert_eq!(first["modified"], Value::Null);
    let (_server, url) = serve(encrypted_flag());
    let first: Value =
        serde_json::from_str(ls_ok(&url, &["--json"], &[]).lines().next().unwrap()).unwrap();
    assert_eq!(first["encrypted"], true);
}

#[test]
fn ls_prints_names_in_central_directory_order() {
    let (_server, url) = serve(small());
    assert_eq!(
        ls_ok(&url, &[], &[]),
        "a.txt\nbig.bin\nnoise.bin\ndir/\ndir/ünïcödé.txt\n"
    );
    // -h means nothing without -l: names as before.
    assert_eq!(ls_ok(&url, &["-h"], &[]), ls_ok(&url, &[], &[]));
}

#[test]
fn ls_of_a_local_path_and_a_file_url_match_http() {
    let bytes = small();
    let (_dir, path) = local_file("archive.zip", &bytes);
    let (_server, url) = serve(bytes);
    for options in [&[][..], &["-l"], &["-lh"], &["--json"]] {
        let http = ls_ok(&url, options, &[]);
        assert!(!http.is_empty());
        assert_eq!(
            ls_ok(&path.display().to_string(), options, &[]),
            http,
            "{options:?}"
        );
        assert_eq!(ls_ok(&file_url(&path), options, &[]), http, "{options:?}");
    }
}

/// The column boundaries of an `ls -l` header: where each size column ends, where the
/// other columns start.
pub(crate) struct Columns {
    size_end: usize,
    compressed_end: usize,
    method: usize,
    modified: usize,
    crc: usize,
    name: usize,
}

impl Columns {
    #[track_caller]
    pub(crate) fn of(header: &str) -> Columns {
        let at = |label: &str| {
            header
                .find(label)
                .unwrap_or_else(|| panic!("no {label:?} in the header {header:?}"))
        };
        let columns = Columns {
            size_end: at("Size") + "Size".len(),
            compressed_end: at("Compressed") + "Compressed".len(),
            method: at("Method"),
            modified: at("Modified"),
            crc: at("CRC-32"),
            name: at("Name"),
        };
        assert!(header.ends_with("Name"), "{header:?}");
        columns
    }

    /// A row's fields, checking that each lies exactly in its column: the size columns
    /// right-aligned (a non-space at their last position, a space after), the others
    /// left-aligned (a space before, a non-space first).
    #[track_caller]
    pub(crate) fn split<'a>(&self, row: &'a str) -> [&'a str; 6] {
        let bytes = row.as_bytes();
        for end in [self.size_end, self.compressed_end] {
            assert!(
                bytes[end - 1] != b' ' && bytes[end] == b' ',
                "size column ending at {end} misaligned in {row:?}"
            );
        }
        for start in [self.method, self.modified, self.crc, self.name] {
            assert!(
                bytes[start - 1] == b' ' && bytes[start] != b' ',
                "column starting at {start} misaligned in {row:?}"
            );
        }
        [
            row[..self.size_end].trim(),
            row[self.size_end..self.compressed_end].trim(),
            row[self.method..self.modified].trim(),
            row[self.modified..self.crc].trim(),
            row[self.crc..self.name].trim(),
            &row[self.name..],
        ]
    }
}

/// One row of an `ls -l` listing as a test expects it.
pub(crate) struct LongRow {
    pub(crate) size: u64,
    pub(crate) compressed: u64,
    /// rangecat's name for the method (`deflate`).
    pub(crate) method: String,
    /// `2024-05-17T13:45:30`, or `None` for no valid time.
    pub(crate) modified: Option<String>,
    pub(crate) crc32: u32,
    pub(crate) name: String,
}

/// The zip crate's view of `bytes` as `ls -l` rows.
fn zip_crate_rows(bytes: &[u8]) -> Vec<LongRow> {
    zip_crate_view(bytes)
        .iter()
        .map(|entry| {
            let u = |field: &str| entry[field].as_u64().unwrap();
            LongRow {
                size: u("size"),
                compressed: u("compressed_size"),
                method: entry["method"].as_str().unwrap().to_string(),
                modified: entry["modified"].as_str().map(str::to_string),
                crc32: u("crc32") as u32,
                name: entry["name"].as_str().unwrap().to_string(),
            }
        })
        .collect()
}

/// Checks an `ls -l` listing against `want`, its rows in order, sizes shown by `size`:
/// every field in its column, and the total line.
#[track_caller]
pub(crate) fn check_long_listing(listing: &str, want: &[LongRow], size: impl Fn(u64) -> String) {
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(
        lines.len(),
        want.len() + 2,
        "header, rows, total:\n{listing}"
    );
    let columns = Columns::of(lines[0]);
    let (mut total_size, mut total_compressed) = (0, 0);
    for (row, entry) in lines[1..lines.len() - 1].iter().zip(want) {
        let modified = entry
            .modified
            .as_deref()
            .map_or("-".to_string(), |t| t.replace('T', " "));
        let expected = [
            size(entry.size),
            size(entry.compressed),
            entry.method.clone(),
            modified,
            format!("{:08x}", entry.crc32),
            entry.name.clone(),
        ];
        assert_eq!(columns.split(row), expected.each_ref().map(|s| s.as_str()));
        total_size += entry.size;
        total_compressed += entry.compressed;
    }
    let total = lines[lines.len() - 1];
    let bytes = total.as_bytes();
    for end in [columns.size_end, columns.compressed_end] {
        assert!(bytes[end - 1] != b' ' && bytes[end] == b' ', "{total:?}");
    }
    assert_eq!(total[..columns.size_end].trim(), size(total_size));
    assert_eq!(
        total[columns.size_end..columns.compressed_end].trim(),
        size(total_compressed)
    );
    let noun = if want.len() == 1 { "entry" } else { "entries" };
    assert_eq!(
        total[columns.compressed_end..].trim(),
        format!("{} {noun}", want.len())
    );
}

#[test]
fn ls_long_aligns_columns_and_sums_a_total() {
    for (what, bytes) in [
        ("small", small()),
        ("every method", every_method()),
        ("tree", tree()),
        ("invalid date", invalid_date()),
        ("one entry", zips::archive(&[Item::stored("a", b"a")])),
    ] {
        let (_server, url) = serve(bytes.clone());
        let listing = ls_ok(&url, &["-l"], &[]);
        check_long_listing(&listing, &zip_crate_rows(&bytes), |n| n.to_string());
        // And the exact look of the first lines, for the record.
        if what == "small" {
            let head: Vec<&str> = listing.lines().take(2).collect();
            assert_eq!(
                head,
                [
                    "        Size    Compressed  Method     Modified             CRC-32    Name",
                    "           5             5  stored     2024-05-17 13:45:30  3610a686  a.txt",
                ]
            );
        }
    }
}

#[test]
fn ls_long_of_an_empty_archive_has_a_header_and_a_zero_total() {
    let (_server, url) = serve(zips::archive(&[]));
    let listing = ls_ok(&url, &["-l"], &[]);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 2, "{listing}");
    assert!(lines[0].ends_with("Name"));
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "0", "entries"]
    );
}

#[test]
fn ls_long_human_shows_binary_units() {
    // Stored, so that every compressed size is known here too.
    let (three_mib, odd, kib) = (util::data(3 << 20), util::data(1_234_567), util::data(1536));
    let bytes = zips::archive(&[
        Item::stored("three-mib.bin", &three_mib),
        Item::stored("odd.bin", &odd),
        Item::stored("one-and-a-half-kib.bin", &kib),
        Item::stored("small.txt", b"hello"),
        Item::dir("dir/"),
    ]);
    // What each size must read as, written out by hand (binary units, two decimals at most).
    let human = |n: u64| -> String {
        match n {
            0 => "0 B",
            5 => "5 B",
            1536 => "1.50 KiB",
            1_234_567 => "1.18 MiB",
            3_145_728 => "3 MiB",
            // The total: 3,145,728 + 1,234,567 + 1,536 + 5 bytes is 4.1789 MiB.
            4_381_836 => "4.18 MiB",
            other => panic!("no expected form for {other} bytes"),
        }
        .to_string()
    };
    let (_server, url) = serve(bytes.clone());
    let listing = ls_ok(&url, &["-l", "--human-readable"], &[]);
    check_long_listing(&listing, &zip_crate_rows(&bytes), human);
    assert!(listing.contains(" 3 MiB "), "{listing}");
    assert!(listing.contains(" KiB "), "{listing}");
    assert!(listing.contains(" 5 B "), "{listing}");
    assert_eq!(ls_ok(&url, &["-lh"], &[]), listing);
}

// ---- Patterns ----

#[test]
fn ls_patterns_select_entries_by_glob() {
    let bytes = zips::archive(&[
        Item::stored("a.txt", b"a"),
        Item::stored("b", b"b"),
        Item::stored("c.md", b"c"),
        Item::dir("dir/"),
        Item::stored("dir/x.txt", b"x"),
        Item::stored("dir/sub/y.bin", b"y"),
        Item::stored("z", b"z"),
    ]);
    let (_server, url) = serve(bytes);
    let cases: [(&[&str], &str); 6] = [
        (&["*.txt"], "a.txt\ndir/x.txt\n"),
        (&["dir/*"], "dir/\ndir/x.txt\ndir/sub/y.bin\n"),
        (&["?"], "b\nz\n"),
        (&["*.md", "?"], "b\nc.md\nz\n"),
        (&["[a-c]*"], "a.txt\nb\nc.md\n"),
        (&["dir/x.txt", "nothing"], "dir/x.txt\n"),
    ];
    for (patterns, want) in cases {
        assert_eq!(ls_ok(&url, &[], patterns), want, "{patterns:?}");
    }
    // -l totals only what matched; --json lists only what matched.
    let long = ls_ok(&url, &["-l"], &["*.txt"]);
    assert!(
        long.lines().last().unwrap().ends_with(" 2 entries"),
        "{long}"
    );
    assert_eq!(ls_ok(&url, &["--json"], &["?"]).lines().count(), 2);
}

#[test]
fn ls_pattern_matching_nothing_is_an_error() {
    let (_server, url) = serve(small());
    for options in [&[][..], &["-l"], &["--json"]] {
        let output = ls(&url, options, &["*.nope", "zzz"]);
        let message = assert_runtime_error(&output);
        assert!(
            message.contains("no entries match") && message.contains("*.nope"),
            "{message}"
        );
        assert!(
            output.stdout.is_empty(),
            "{options:?}: wrote {:?}",
            output.stdout
        );
    }
}

// ---- Output ----

#[test]
fn ls_with_a_closed_stdout_exits_quietly() {
    for bytes in [small(), five_thousand().to_vec()] {
        let (_server, url) = serve(bytes);
        let mut child = Command::new(env!("CARGO_BIN_EXE_rangecat"))
            .env_clear()
            .args(["ls", &url])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Closed before rangecat writes anything: every write fails with EPIPE.
        drop(child.stdout.take());
        let (status, stderr) = util::wait_for(child, Duration::from_secs(30));
        assert_eq!(status.code(), Some(0), "stderr: {stderr}");
        assert_eq!(stderr, "", "a closed stdout must end quietly");
    }
}

// ---- Bad archives ----

/// The end record's offset in `bytes` plus `field`, patched to `value` (little-endian).
fn patch_eocd(mut bytes: Vec<u8>, field: usize, value: &[u8]) -> Vec<u8> {
    let at = eocd(&bytes) + field;
    bytes[at..at + value.len()].copy_from_slice(value);
    bytes
}

#[test]
fn ls_rejects_bad_archives_with_one_line() {
    let good = small();
    let big_cd = central_directory(five_thousand());
    let mut stray_signature = zips::noise(50_000, 11);
    stray_signature[49_900..49_904].copy_from_slice(EOCD_SIGNATURE);
    // Zip64 record (56 bytes before the 20-byte locator before the end record): its two
    // entry counts (at 24 and 32) set to u64::MAX.
    let mut zip64_count = seventy_thousand().to_vec();
    let record = eocd(&zip64_count) - 20 - 56;
    zip64_count[record + 24..record + 40].fill(0xFF);

    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        ("random bytes", zips::noise(100_000, 5), Some("not a zip")),
        (
            "a short text",
            b"hello, world\n".to_vec(),
            Some("not a zip"),
        ),
        (
            "random bytes around a stray signature",
            stray_signature,
            None,
        ),
        (
            "cut in the central directory",
            five_thousand()[..big_cd.start + big_cd.len() / 2].to_vec(),
            Some("not a zip"),
        ),
        (
            "last 5 bytes cut",
            good[..good.len() - 5].to_vec(),
            Some("not a zip"),
        ),
        (
            "central directory offset past the end",
            patch_eocd(good.clone(), 16, &(good.len() as u32 + 1000).to_le_bytes()),
            None,
        ),
        (
            "central directory size past the end",
            patch_eocd(good.clone(), 12, &0xFFFF_FF00u32.to_le_bytes()),
            None,
        ),
        (
            "65,535 entries in a tiny central directory",
            patch_eocd(good.clone(), 8, &[0xFF, 0xFF, 0xFF, 0xFF]),
            None,
        ),
        ("u64::MAX entries in a Zip64 record", zip64_count, None),
        ("0-byte file", Vec::new(), None),
    ];
    for (what, bytes, mention) in cases {
        let (_server, url) = serve(bytes);
        let started = Instant::now();
        let output = ls(&url, &["-l"], &[]);
        let message = assert_runtime_error(&output);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what}: took {:?}",
            started.elapsed()
        );
        assert!(message.contains("zip"), "{what}: {message}");
        if let Some(mention) = mention {
            assert!(message.contains(mention), "{what}: {message}");
        }
        assert!(output.stdout.is_empty(), "{what}: wrote to stdout");
    }
}

#[test]
fn ls_rejects_local_non_archives() {
    let (dir, empty) = local_file("archive.zip", b"");
    for source in [
        empty.display().to_string(),
        file_url(&empty),
        dir.path().display().to_string(),
        dir.path().join("missing.zip").display().to_string(),
    ] {
        let output = ls(&source, &[], &[]);
        assert_runtime_error(&output);
    }
}

/// The last bytes of a "9 GiB" archive whose Zip64 end record claims an 8 GiB central
/// directory holding one entry, and the length claimed.
fn huge_directory_tail() -> (Vec<u8>, u64) {
    let len: u64 = (9 << 30) + 98;
    let record_at = len - 98;
    let cd_size: u64 = 8 << 30;
    let mut end = Vec::new();
    end.extend_from_slice(b"PK\x06\x06");
    end.extend_from_slice(&44u64.to_le_bytes());
    end.extend_from_slice(&[45, 0, 45, 0]);
    end.extend_from_slice(&[0; 8]); // this disk, the directory's disk
    end.extend_from_slice(&1u64.to_le_bytes()); // entries on this disk
    end.extend_from_slice(&1u64.to_le_bytes()); // entries
    end.extend_from_slice(&cd_size.to_le_bytes());
    end.extend_from_slice(&(record_at - cd_size).to_le_bytes());
    end.extend_from_slice(b"PK\x06\x07");
    end.extend_from_slice(&[0; 4]);
    end.extend_from_slice(&record_at.to_le_bytes());
    end.extend_from_slice(&1u32.to_le_bytes());
    end.extend_from_slice(b"PK\x05\x06");
    end.extend_from_slice(&[0; 4]);
    end.extend_from_slice(&[0xff; 12]);
    end.extend_from_slice(&[0; 2]);
    assert_eq!(end.len(), 98);
    let mut tail = vec![0u8; TAIL - 98];
    tail.extend_from_slice(&end);
    (tail, len)
}

#[test]
fn a_central_directory_larger_than_its_entries_can_be_is_refused_before_it_is_fetched() {
    use httpmock::prelude::*;
    let (tail, len) = huge_directory_tail();
    let server = crate::util::mock_log::LoggedMockServer::start();
    let first = server.mock(|when, then| {
        when.method(GET)
            .path(PATH)
            .header("range", format!("bytes=-{TAIL}"));
        then.status(206)
            .header(
                "content-range",
                format!("bytes {}-{}/{len}", len - TAIL as u64, len - 1),
            )
            .body(tail);
    });
    let output = ls(&server.url(PATH), &[], &[]);
    let message = assert_runtime_error(&output);
    assert!(message.contains("central directory"), "{message}");
    first.assert_calls(1);
    assert_eq!(
        server.log().lines().count(),
        1,
        "no request for the claimed directory:\n{}",
        server.log()
    );
}
