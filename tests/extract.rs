//! `rangecat x` against archives built here with the zip crate's writer: files checked byte
//! for byte against the members, modification times, the exact requests of batching (small
//! neighbours share one) under `-j`, globs, and the refusals: names and links that would
//! escape the directory, existing files without `--overwrite`, CRC mismatches (no file under
//! the real name, no temporary file left), unsupported methods.

use std::fs;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::SystemTime;

use zip::{CompressionMethod, ZipWriter};

use crate::util;
use crate::util::errors::assert_exit;
use crate::util::server::{Mode, Server};
use crate::util::zips::{self, Item};

const PATH: &str = "/archive.zip";

/// The modification time `zips::options` gives every entry, 2024-05-17 13:45:30, as UTC.
const MTIME: u64 = 1_715_953_530;

// ---- Helpers ----

/// `rangecat x [options] SOURCE -C DIR [patterns]`.
fn x(source: &str, dir: &Path, options: &[&str], patterns: &[&str]) -> Output {
    util::rangecat()
        .arg("x")
        .args(options)
        .arg(source)
        .arg("-C")
        .arg(dir)
        .args(patterns)
        .output()
        .unwrap()
}

/// `x`, asserting success with nothing on stdout or stderr.
#[track_caller]
fn x_ok(source: &str, dir: &Path, options: &[&str], patterns: &[&str]) {
    let output = x(source, dir, options, patterns);
    assert!(
        output.status.success() && output.stderr.is_empty() && output.stdout.is_empty(),
        "x {options:?} {source} {patterns:?}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Asserts exit 1, nothing on stdout, no panic, every stderr line a `rangecat: ` message;
/// returns stderr.
#[track_caller]
fn assert_failed(output: &Output) -> String {
    let stderr = assert_exit(output, 1);
    assert!(output.stdout.is_empty(), "x wrote to stdout");
    assert!(
        !stderr.is_empty() && stderr.lines().all(|line| line.starts_with("rangecat: ")),
        "every stderr line must start with 'rangecat: ':\n{stderr}"
    );
    stderr
}

/// Every path under `dir`, relative, sorted; directories end with `/`, links show their
/// target (`name -> target`).
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap();
                out.push(format!("{rel} -> {}", target.display()));
            } else if meta.is_dir() {
                out.push(format!("{rel}/"));
                walk(root, &path, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn mtime(path: &Path) -> u64 {
    fs::metadata(path)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An archive holding one entry per `(name, data)`, each stored, whose names are written
/// raw: the writer gets a placeholder of the same length (so it can sanitize nothing), and
/// the placeholder's bytes are then replaced in the local header and the central directory.
fn raw_names(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let placeholders: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let mark = format!("@{i}@");
            assert!(name.len() >= mark.len(), "name too short: {name}");
            mark.clone() + &"Q".repeat(name.len() - mark.len())
        })
        .collect();
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for ((_, data), placeholder) in entries.iter().zip(&placeholders) {
        writer
            .start_file(
                placeholder.as_str(),
                zips::options(CompressionMethod::Stored),
            )
            .unwrap();
        writer.write_all(data).unwrap();
    }
    let mut bytes = writer.finish().unwrap().into_inner();
    for ((name, _), placeholder) in entries.iter().zip(&placeholders) {
        let at = find_all(&bytes, placeholder.as_bytes());
        assert_eq!(
            at.len(),
            2,
            "{placeholder}: one local header, one central entry"
        );
        for at in at {
            bytes[at..at + name.len()].copy_from_slice(name.as_bytes());
        }
    }
    bytes
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, window)| *window == needle)
        .map(|(at, _)| at)
        .collect()
}

/// A temporary parent holding the extraction directory `out` (not created): a stray file
/// shows up beside it.
fn target() -> (tempfile::TempDir, PathBuf) {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("out");
    (parent, dir)
}

/// Asserts that the extraction directory is all its parent holds.
#[track_caller]
fn assert_nothing_beside(parent: &Path) {
    let names: Vec<String> = fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["out"], "stray files beside the directory");
}

/// The test archive's members: names, contents, methods, and directory entries.
struct Sample {
    files: Vec<(&'static str, Vec<u8>, CompressionMethod)>,
    dirs: Vec<&'static str>,
}

fn sample() -> Sample {
    let stored = CompressionMethod::Stored;
    let deflated = CompressionMethod::Deflated;
    Sample {
        files: vec![
            ("top.bin", zips::noise(100_000, 1), stored),
            ("docs/readme.txt", b"read me\n".repeat(5000), deflated),
            ("docs/deep/er/noise.bin", zips::noise(300_000, 2), deflated),
            ("docs/deep/empty.txt", Vec::new(), stored),
            ("data/a.bin", zips::noise(1, 3), stored),
            ("data/b.bin", zips::noise(70_000, 4), deflated),
        ],
        dirs: vec!["docs/", "docs/deep/", "emptydir/"],
    }
}

impl Sample {
    fn archive(&self) -> Vec<u8> {
        let mut items: Vec<Item<'_>> = self.dirs.iter().map(|d| Item::dir(d)).collect();
        for (name, data, method) in &self.files {
            items.push(Item {
                name,
                data,
                method: *method,
            });
        }
        zips::archive(&items)
    }

    /// Asserts that `dir` holds exactly the sample, byte for byte, with its times.
    #[track_caller]
    fn assert_extracted(&self, dir: &Path) {
        for (name, data, _) in &self.files {
            let path = dir.join(name);
            util::assert_bytes_eq(&fs::read(&path).unwrap(), data);
            assert_eq!(mtime(&path), MTIME, "{name}: modification time");
        }
        for name in &self.dirs {
            assert_eq!(mtime(&dir.join(name)), MTIME, "{name}: modification time");
        }
        let mut want: Vec<String> = self.files.iter().map(|(n, ..)| n.to_string()).collect();
        want.extend(self.dirs.iter().map(|d| d.to_string()));
        want.extend(["data/".to_string(), "docs/deep/er/".to_string()]);
        want.sort();
        assert_eq!(tree(dir), want);
    }
}

// ---- Extraction ----

#[test]
fn x_extracts_every_member_byte_for_byte_fetching_each_byte_once() {
    let sample = sample();
    let server = Server::start(sample.archive(), Mode::Ranges);
    let url = server.url(PATH);
    let mut before = 0;
    for jobs in ["1", "4"] {
        let (_parent, dir) = target();
        x_ok(&url, &dir, &["-j", jobs], &[]);
        sample.assert_extracted(&dir);
        let run = &server.requests()[before..];
        before += run.len();
        // One for the tail (the central directory is inside it), then one for the file
        // members: they are small neighbours (480 KB in all), so they share a request.
        // Directories cost nothing.
        assert_eq!(run.len(), 2, "-j {jobs}:\n{}", server.summary());
        // No byte of a member is fetched twice.
        let mut spans: Vec<(u64, u64)> = run[1..]
            .iter()
            .map(|r| {
                let (a, b) = r.range().unwrap()["bytes=".len()..]
                    .split_once('-')
                    .unwrap();
                (a.parse().unwrap(), b.parse().unwrap())
            })
            .collect();
        spans.sort();
        assert!(
            spans.windows(2).all(|w| w[0].1 < w[1].0),
            "-j {jobs}: overlapping requests {spans:?}"
        );
    }
}

#[test]
fn x_creates_the_directory_and_accepts_a_local_file() {
    let sample = sample();
    let parent = tempfile::tempdir().unwrap();
    let archive = parent.path().join("a.zip");
    fs::write(&archive, sample.archive()).unwrap();
    let dir = parent.path().join("new/nested/out");
    x_ok(archive.to_str().unwrap(), &dir, &[], &[]);
    sample.assert_extracted(&dir);
    let dir = parent.path().join("url");
    x_ok(
        &format!("file://{}", archive.display()),
        &dir,
        &["-j", "2"],
        &[],
    );
    sample.assert_extracted(&dir);
}

#[test]
fn x_works_with_a_server_that_ignores_range() {
    let sample = sample();
    let server = Server::start(sample.archive(), Mode::IgnoresRange);
    let (_parent, dir) = target();
    x_ok(&server.url(PATH), &dir, &[], &[]);
    sample.assert_extracted(&dir);
    server.assert_requests(1, "server");
}

#[test]
fn x_extracts_only_members_matching_a_pattern() {
    let sample = sample();
    let server = Server::start(sample.archive(), Mode::Ranges);
    let (_parent, dir) = target();
    x_ok(&server.url(PATH), &dir, &[], &["docs/*.txt", "top.*"]);
    assert_eq!(
        tree(&dir),
        [
            "docs/",
            "docs/deep/",
            "docs/deep/empty.txt",
            "docs/readme.txt",
            "top.bin"
        ]
    );
    assert_eq!(fs::read(dir.join("top.bin")).unwrap(), sample.files[0].1);
    // The tail, top.bin with its neighbour docs/readme.txt, and docs/deep/empty.txt, which
    // is not a neighbour of those (docs/deep/er/noise.bin lies between).
    server.assert_requests(3, "tail, two batches");
}

#[test]
fn x_takes_an_existing_name_literally_before_the_glob_it_also_is() {
    let items = [
        Item::stored("a[1].txt", b"literal"),
        Item::stored("a1.txt", b"glob match"),
        Item::stored("b.txt", b"b"),
    ];
    let server = Server::start(zips::archive(&items), Mode::Ranges);
    let (_parent, dir) = target();
    x_ok(&server.url(PATH), &dir, &[], &["a[1].txt"]);
    assert_eq!(tree(&dir), ["a[1].txt"]);
    assert_eq!(fs::read(dir.join("a[1].txt")).unwrap(), b"literal");
    let (_parent, dir) = target();
    x_ok(&server.url(PATH), &dir, &[], &["a?.txt", "b.*"]);
    assert_eq!(tree(&dir), ["a1.txt", "b.txt"]);
}

#[test]
fn x_reports_a_pattern_that_matches_nothing() {
    let server = Server::start(sample().archive(), Mode::Ranges);
    let (_parent, dir) = target();
    let output = x(&server.url(PATH), &dir, &[], &["top.bin", "nothing*"]);
    let stderr = assert_failed(&output);
    assert!(stderr.contains("'nothing*'"), "{stderr}");
    assert!(dir.join("top.bin").exists());
}

#[test]
fn x_prints_nothing_and_draws_a_bar_only_when_asked() {
    let server = Server::start(sample().archive(), Mode::Ranges);
    let (_parent, dir) = target();
    let output = x(&server.url(PATH), &dir, &["--progress"], &[]);
    assert!(output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("KiB"),
        "a forced bar shows bytes:\n{stderr}"
    );
}

// ---- Refusals ----

#[test]
fn x_refuses_names_that_escape_the_directory() {
    let (parent, dir) = target();
    let absolute = format!("{}/abs-evil.txt", parent.path().display());
    let names = [
        "../evil.txt",
        "a/../../evil.txt",
        absolute.as_str(),
        "..\\evil.txt",
        "C:\\evil.txt",
        "ok/fine.txt",
    ];
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (*n, &b"evil"[..])).collect();
    let bytes = raw_names(&entries);
    let server = Server::start(bytes, Mode::Ranges);
    let output = x(&server.url(PATH), &dir, &[], &[]);
    let stderr = assert_failed(&output);
    for name in &names[..5] {
        assert!(
            stderr.contains(&format!("rangecat: refusing {name}: ")),
            "{name}:\n{stderr}"
        );
    }
    assert_eq!(tree(&dir), ["ok/", "ok/fine.txt"]);
    assert_nothing_beside(parent.path());
    // Refused entries cost no request, and the others lie in the tail.
    server.assert_requests(1, "server");
}

#[test]
fn x_refuses_links_that_point_outside_and_never_writes_through_one() {
    let (parent, dir) = target();
    let outside = parent.path().display().to_string();
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = zips::options(CompressionMethod::Stored);
    writer.add_symlink("abs", &outside, options).unwrap();
    writer.add_symlink("up", "../", options).unwrap();
    writer.add_symlink("deep/up", "../../x", options).unwrap();
    writer.add_symlink("a", &outside, options).unwrap();
    writer.start_file("a/evil.txt", options).unwrap();
    writer.write_all(b"evil").unwrap();
    writer.add_symlink("sub/ok", "../top.txt", options).unwrap();
    writer.start_file("top.txt", options).unwrap();
    writer.write_all(b"top").unwrap();
    let server = Server::start(writer.finish().unwrap().into_inner(), Mode::Ranges);
    let output = x(&server.url(PATH), &dir, &[], &[]);
    let stderr = assert_failed(&output);
    for name in ["abs", "up", "deep/up"] {
        assert!(
            stderr.contains(&format!("rangecat: refusing {name}: ")),
            "{name}:\n{stderr}"
        );
    }
    // Links are made last: `a/evil.txt` went into a real directory `a` inside, and the link
    // `a` (which points outside anyway) was not made.
    assert!(stderr.contains("rangecat: refusing a: "), "{stderr}");
    assert_eq!(
        tree(&dir),
        [
            "a/",
            "a/evil.txt",
            "deep/",
            "sub/",
            "sub/ok -> ../top.txt",
            "top.txt"
        ]
    );
    assert_eq!(fs::read(dir.join("sub/ok")).unwrap(), b"top");
    assert_nothing_beside(parent.path());
}

#[test]
fn x_never_writes_through_a_link_already_in_the_directory() {
    let (parent, dir) = target();
    let elsewhere = tempfile::tempdir().unwrap();
    fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), dir.join("docs")).unwrap();
    let server = Server::start(sample().archive(), Mode::Ranges);
    let output = x(&server.url(PATH), &dir, &["--overwrite"], &[]);
    let stderr = assert_failed(&output);
    assert!(
        stderr.contains("rangecat: refusing docs/readme.txt: docs is a symbolic link"),
        "{stderr}"
    );
    assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    assert!(dir.join("top.bin").exists() && dir.join("data/b.bin").exists());
    assert_nothing_beside(parent.path());
}

#[test]
fn x_keeps_existing_files_unless_overwrite() {
    let sample = sample();
    let server = Server::start(sample.archive(), Mode::Ranges);
    let (_parent, dir) = target();
    fs::create_dir_all(dir.join("data")).unwrap();
    fs::write(dir.join("data/b.bin"), b"mine").unwrap();
    let output = x(&server.url(PATH), &dir, &[], &[]);
    let stderr = assert_failed(&output);
    let exists = format!(
        "rangecat: 1 file exists in {}, kept (use --overwrite)\n",
        dir.display()
    );
    assert_eq!(stderr, exists);
    assert_eq!(fs::read(dir.join("data/b.bin")).unwrap(), b"mine");
    assert_eq!(fs::read(dir.join("top.bin")).unwrap(), sample.files[0].1);
    // The existing file cost no request: no request after the tail reaches its header.
    let archive_bytes = sample.archive();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&archive_bytes)).unwrap();
    let header = archive.by_name("data/b.bin").unwrap().header_start();
    let requests = server.requests();
    // The tail, and one batch for the other five, all small neighbours.
    server.assert_requests(2, "tail and one batch");
    for request in &requests[1..] {
        let range = &request.range().unwrap()["bytes=".len()..];
        let (a, b) = range.split_once('-').unwrap();
        let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
        assert!(!(a..=b).contains(&header), "fetched data/b.bin: {range}");
    }

    x_ok(&server.url(PATH), &dir, &["--overwrite"], &[]);
    sample.assert_extracted(&dir);
}

#[test]
fn x_again_says_once_how_many_files_exist_and_n_extracts_only_what_is_missing() {
    // README: without --overwrite, one line for all the files that exist, and exit 1; with
    // -n (as unzip -n) only what is missing is extracted, quietly, and the exit status is 0.
    let sample = sample();
    let server = Server::start(sample.archive(), Mode::Ranges);
    let (_parent, dir) = target();
    x_ok(&server.url(PATH), &dir, &[], &[]);
    let count = sample.files.len();
    let output = x(&server.url(PATH), &dir, &[], &[]);
    let stderr = assert_failed(&output);
    assert_eq!(
        stderr,
        format!(
            "rangecat: {count} files exist in {}, kept (use --overwrite)\n",
            dir.display()
        )
    );
    // One gone, one of mine: -n brings back the first and keeps the second.
    let (gone, mine) = (&sample.files[0].0, &sample.files[1].0);
    fs::remove_file(dir.join(gone)).unwrap();
    fs::write(dir.join(mine), b"mine").unwrap();
    let before = server.requests().len();
    x_ok(&server.url(PATH), &dir, &["-n"], &[]);
    assert_eq!(fs::read(dir.join(mine)).unwrap(), b"mine");
    // Mine back as the archive has it: the rest is the sample.
    fs::write(dir.join(mine), &sample.files[1].1).unwrap();
    let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(MTIME);
    let file = fs::File::options()
        .write(true)
        .open(dir.join(mine))
        .unwrap();
    file.set_modified(time).unwrap();
    sample.assert_extracted(&dir);
    // What exists is not fetched: the tail, then the missing member (top.bin, 100 KB, lies
    // before the tail).
    let requests = server.requests()[before..].to_vec();
    assert_eq!(requests.len(), 2, "{}", server.summary());
    // -n and --overwrite say opposite things.
    let output = x(&server.url(PATH), &dir, &["-n", "--overwrite"], &[]);
    assert_exit(&output, 2);
}

#[test]
fn x_leaves_no_file_for_a_member_whose_crc_fails() {
    let sample = sample();
    let mut bytes = sample.archive();
    // top.bin is stored: its bytes lie in the archive as they are.
    let at = find_all(&bytes, &sample.files[0].1[..64])[0] + 50_000;
    bytes[at] ^= 0xff;
    let server = Server::start(bytes, Mode::Ranges);
    let (_parent, dir) = target();
    let output = x(&server.url(PATH), &dir, &["-j", "3"], &[]);
    let stderr = assert_failed(&output);
    assert!(
        stderr.contains("top.bin") && stderr.contains("CRC"),
        "{stderr}"
    );
    let names = tree(&dir);
    assert!(!names.contains(&"top.bin".to_string()), "{names:?}");
    assert!(
        names.iter().all(|n| !n.contains(".part")),
        "temporary file left: {names:?}"
    );
    assert_eq!(fs::read(dir.join("data/b.bin")).unwrap(), sample.files[5].1);

    // With --overwrite, a file already there stays as it was: the member never reaches it.
    fs::write(dir.join("top.bin"), b"mine").unwrap();
    let output = x(&server.url(PATH), &dir, &["--overwrite"], &["top.bin"]);
    let stderr = assert_failed(&output);
    assert!(stderr.contains("CRC"), "{stderr}");
    assert_eq!(fs::read(dir.join("top.bin")).unwrap(), b"mine");
    assert!(tree(&dir).iter().all(|n| !n.contains(".part")));
}

/// Members `m0.EXT`..`m4.EXT` of 1,000,000 bytes of noise each, stored or deflated: their
/// names, their bytes and the archive.
fn five_members_of_a_megabyte(ext: &str, stored: bool) -> (Vec<String>, Vec<Vec<u8>>, Vec<u8>) {
    let data: Vec<Vec<u8>> = (0..5).map(|i| zips::noise(1_000_000, i)).collect();
    let names: Vec<String> = (0..5).map(|i| format!("m{i}.{ext}")).collect();
    let items: Vec<Item<'_>> = names
        .iter()
        .zip(&data)
        .map(|(n, d)| {
            if stored {
                Item::stored(n, d)
            } else {
                Item::deflated(n, d)
            }
        })
        .collect();
    let bytes = zips::archive(&items);
    (names, data, bytes)
}

#[test]
fn a_member_failing_early_in_a_stretch_leaves_its_neighbours_whole() {
    // Five deflated members of 1 MB read from one request (-j 1: one stretch). The third
    // one's local header is broken: it fails before its data is read, the rest of its
    // bytes are skipped, and the members after it come out whole.
    // Noise, so that each member is far longer than one read.
    let (names, data, mut bytes) = five_members_of_a_megabyte("txt", false);
    let starts = member_starts(&bytes);
    assert_eq!(&bytes[starts[2] as usize..][..4], b"PK\x03\x04");
    bytes[starts[2] as usize + 3] = 0xff;
    let server = Server::start(bytes, Mode::Ranges);
    let (_parent, dir) = target();
    let output = x(&server.url(PATH), &dir, &["-j", "1"], &[]);
    let stderr = assert_failed(&output);
    assert!(stderr.contains("m2.txt"), "{stderr}");
    for i in [0, 1, 3, 4] {
        util::assert_bytes_eq_in(&names[i], &fs::read(dir.join(&names[i])).unwrap(), &data[i]);
    }
    assert_eq!(tree(&dir).len(), 4, "{:?}", tree(&dir));
    server.assert_requests(2, "the tail and one stretch");
}

#[test]
fn a_stretch_that_breaks_inside_a_member_is_resumed_from_the_first_missing_byte() {
    // README "Requests on the wire": a body cut short is resumed from its first missing byte.
    // Five stored members of 1 MB in one stretch (-j 1); the stretch's answer stops after
    // 2,500,000 bytes, inside the third member, which reaches its worker in pieces.
    let (names, data, bytes) = five_members_of_a_megabyte("bin", true);
    let starts = member_starts(&bytes);
    let held = held_start(&bytes);
    const CUT: u64 = 2_500_000;
    assert!(starts[2] < CUT && CUT < starts[3], "the cut is inside m2");
    // The tail is the first GET (shorter than the cut), the stretch the second.
    let server = Server::start(
        bytes,
        Mode::DropAfter {
            bytes: CUT as usize,
            times: 2,
        },
    );
    let (_parent, dir) = target();
    x_ok(&server.url(PATH), &dir, &["-j", "1"], &[]);
    for (name, want) in names.iter().zip(&data) {
        util::assert_bytes_eq_in(name, &fs::read(dir.join(name)).unwrap(), want);
    }
    assert_eq!(tree(&dir).len(), 5, "{:?}", tree(&dir));
    let ranges: Vec<String> = server.ranges().into_iter().flatten().collect();
    // The last bytes are in the tail already.
    let end = starts[5].min(held) - 1;
    let want = [
        "bytes=-66560".to_string(),
        format!("bytes={}-{end}", starts[0]),
        format!("bytes={}-{end}", starts[0] + CUT),
    ];
    assert_eq!(ranges, want, "{}", server.summary());
}

#[test]
fn x_reports_an_unsupported_method_and_extracts_the_rest() {
    let mut bytes = zips::archive(&[
        Item::stored("odd.bin", b"odd"),
        Item::deflated("fine.txt", b"fine"),
    ]);
    // Method 99 (AES) in the local header (offset 8) and the first central directory
    // entry (offset 10); the end record's offset 16 says where that one is.
    let eocd = bytes.len() - 22;
    let cd = u32::from_le_bytes(bytes[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    bytes[8..10].copy_from_slice(&99u16.to_le_bytes());
    bytes[cd + 10..cd + 12].copy_from_slice(&99u16.to_le_bytes());
    let server = Server::start(bytes, Mode::Ranges);
    let (_parent, dir) = target();
    let output = x(&server.url(PATH), &dir, &[], &[]);
    let stderr = assert_failed(&output);
    assert!(stderr.contains("odd.bin"), "{stderr}");
    assert_eq!(tree(&dir), ["fine.txt"]);
    // The archive lies in the tail fetched for the central directory.
    server.assert_requests(1, "server");
}

#[test]
fn x_stops_when_the_server_fails() {
    let server = Server::start(sample().archive(), Mode::ChangesAfterFirst);
    let (_parent, dir) = target();
    let output = x(&server.url(PATH), &dir, &["-j", "2"], &[]);
    let stderr = assert_failed(&output);
    assert!(stderr.contains("changed"), "{stderr}");
    let names = tree(&dir);
    assert!(names.iter().all(|n| n.ends_with('/')), "{names:?}");
}

/// The spans `x` fetches for a member, from the archive's bytes alone: member `i` runs from
/// its local header to the next member's, the last one to the central directory.
fn member_starts(bytes: &[u8]) -> Vec<u64> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut starts: Vec<u64> = (0..archive.len())
        .map(|i| archive.by_index(i).unwrap().header_start())
        .collect();
    // No archive comment: the end-of-central-directory record is the last 22 bytes, and the
    // central directory's offset is at byte 16 of it.
    let eocd = &bytes[bytes.len() - 22..];
    assert_eq!(eocd[..4], *b"PK\x05\x06", "no comment, no Zip64");
    starts.push(u64::from(u32::from_le_bytes(
        eocd[16..20].try_into().unwrap(),
    )));
    starts
}

/// Where the bytes that opening `bytes` fetches start: the 65 KiB tail, or the central
/// directory when it starts before it (no comment, no Zip64). Members are not asked for
/// there again.
fn held_start(bytes: &[u8]) -> u64 {
    let starts = member_starts(bytes);
    let cd = starts[starts.len() - 1];
    cd.min((bytes.len() as u64).saturating_sub(66_560))
}

/// `x` stretches (README "Zip archives": neighbouring members share one forward request,
/// at most one stretch per worker, at least 8 MiB each, no byte twice). Where a stretch ends
/// is `src/zip/extract.rs` `stretches`: the selected `total` bytes make
/// `k = clamp(total / 8 MiB, 1, workers)` stretches, member `i` goes to stretch
/// `offset_i / ceil(total / k)`, where `offset_i` is how many selected bytes come before it,
/// and members that are not neighbours never share.
///
/// The layout: ten members a0..a9 of 4,000,000 bytes, one of 30,000,000 (`big`), then c0 of
/// 4,000,000: about 74 MB. With `-j 1` everything is one request. With `-j 4` a stretch is
/// about 18.5 MB: a0..a4 (starting before 18.5 MB), a5..a9 (before 37 MB), big, c0. With
/// `-j 8`, eight of about 9.25 MB: a0..a2, a3 and a4, a5 and a6, a7..a9, big, c0. Selecting
/// a0..a3 (16 MB, under twice 8 MiB) with `-j 4`: one stretch. Selecting a0 and a2 (not
/// neighbours): one request each.
#[test]
fn x_reads_members_in_one_stretch_per_worker_and_neighbours_only() {
    const SMALL: usize = 4_000_000;
    const LARGE: usize = 30_000_000;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..10 {
        files.push((format!("a{i}.bin"), zips::noise(SMALL, i)));
    }
    files.push(("big.bin".into(), zips::noise(LARGE, 100)));
    files.push(("c0.bin".into(), zips::noise(SMALL, 200)));
    let (big, c0) = (10, 11);
    let items: Vec<Item<'_>> = files.iter().map(|(n, d)| Item::stored(n, d)).collect();
    let bytes = zips::archive(&items);
    let starts = member_starts(&bytes);
    assert_eq!(starts.len(), files.len() + 1);
    // The request for members first..=last; what lies in the tail fetched for the central
    // directory is not asked for again.
    let held = held_start(&bytes);
    let range = |first: usize, last: usize| {
        let end = starts[last + 1].min(held);
        format!("bytes={}-{}", starts[first], end - 1)
    };
    let before = |i: usize| starts[i] - starts[0];
    // The layout does what the comment says.
    let total = starts[c0 + 1] - starts[0];
    let floor = 8 * 1024 * 1024;
    assert_eq!(total / floor, 8, "k = 4 under -j 4, 8 under -j 8");
    let (quarter, eighth) = (total.div_ceil(4), total.div_ceil(8));
    assert!(before(4) < quarter && before(5) >= quarter);
    assert!(before(9) < 2 * quarter && before(big) >= 2 * quarter);
    assert!(before(big) < 3 * quarter && before(c0) >= 3 * quarter);
    assert!(before(2) < eighth && before(3) >= eighth && before(5) >= 2 * eighth);
    assert!(before(6) < 3 * eighth && before(7) >= 3 * eighth);
    assert!(before(9) < 4 * eighth && before(big) >= 4 * eighth && before(c0) >= 7 * eighth);
    assert!(before(4) < 2 * floor, "a0..a3 make one stretch");

    let cases: [(&str, &[&str], Vec<String>); 5] = [
        ("1", &[], vec![range(0, c0)]),
        (
            "4",
            &[],
            vec![range(0, 4), range(5, 9), range(big, big), range(c0, c0)],
        ),
        (
            "8",
            &[],
            vec![
                range(0, 2),
                range(3, 4),
                range(5, 6),
                range(7, 9),
                range(big, big),
                range(c0, c0),
            ],
        ),
        ("4", &["a[0-3].bin"], vec![range(0, 3)]),
        ("1", &["a[02].bin"], vec![range(0, 0), range(2, 2)]),
    ];
    let server = Server::start(bytes, Mode::Ranges);
    let mut before = 0;
    for (jobs, patterns, mut want) in cases {
        let (_parent, dir) = target();
        x_ok(&server.url(PATH), &dir, &["-j", jobs], patterns);
        let mut extracted = 0;
        for (name, data) in &files {
            if let Ok(got) = fs::read(dir.join(name)) {
                util::assert_bytes_eq_in(name, &got, data);
                extracted += 1;
            }
        }
        let selected = match patterns {
            [] => files.len(),
            ["a[0-3].bin"] => 4,
            _ => 2,
        };
        assert_eq!(extracted, selected);
        let run = server.ranges()[before..].to_vec();
        before += run.len();
        let mut got: Vec<String> = run
            .iter()
            .map(|r| r.clone().unwrap_or_else(|| "(none)".into()))
            .collect();
        // First the tail (the central directory lies inside it), then the batches, in any
        // order under -j.
        assert_eq!(got.first().map(String::as_str), Some("bytes=-66560"));
        got.remove(0);
        got.sort();
        want.sort();
        assert_eq!(got, want, "-j {jobs} {patterns:?}:\n{}", server.summary());
    }
}

/// `bytes` (no comment, no Zip64) with its central directory's entries in reverse order, as
/// an archive updated in place may list them: the members' bytes stay where they are.
fn reverse_central_directory(mut bytes: Vec<u8>) -> Vec<u8> {
    let eocd = bytes.len() - 22;
    assert_eq!(
        bytes[eocd..eocd + 4],
        *b"PK\x05\x06",
        "no comment, no Zip64"
    );
    let u16_at = |b: &[u8], at: usize| usize::from(u16::from_le_bytes([b[at], b[at + 1]]));
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let start = u32_at(&bytes, eocd + 16) as usize;
    let mut entries = Vec::new();
    let mut at = start;
    while at < eocd {
        assert_eq!(bytes[at..at + 4], *b"PK\x01\x02");
        let len = 46 + u16_at(&bytes, at + 28) + u16_at(&bytes, at + 30) + u16_at(&bytes, at + 32);
        entries.push(bytes[at..at + len].to_vec());
        at += len;
    }
    let reversed: Vec<u8> = entries.into_iter().rev().flatten().collect();
    bytes[start..eocd].copy_from_slice(&reversed);
    bytes
}

#[test]
fn members_listed_out_of_order_are_still_read_in_one_forward_request() {
    // README "Zip archives": stretches follow the members' bytes, not the central
    // directory's order. Four stored members of 300 KB (passed on in pieces) and four of
    // 10 KB (handed over whole), listed last first.
    let files: Vec<(String, Vec<u8>)> = (0..8)
        .map(|i| {
            let len = if i % 2 == 0 { 300_000 } else { 10_000 };
            (format!("f{i}.bin"), zips::noise(len, i))
        })
        .collect();
    let items: Vec<Item<'_>> = files.iter().map(|(n, d)| Item::stored(n, d)).collect();
    let bytes = reverse_central_directory(zips::archive(&items));
    let listed: Vec<String> = {
        let mut zip = zip::ZipArchive::new(Cursor::new(&bytes)).unwrap();
        (0..zip.len())
            .map(|i| zip.by_index(i).unwrap().name().unwrap().into_owned())
            .collect()
    };
    assert_eq!(
        listed.first().map(String::as_str),
        Some("f7.bin"),
        "reversed"
    );
    let server = Server::start(bytes, Mode::Ranges);
    let (_parent, dir) = target();
    x_ok(&server.url(PATH), &dir, &["-j", "1"], &[]);
    for (name, data) in &files {
        util::assert_bytes_eq_in(name, &fs::read(dir.join(name)).unwrap(), data);
    }
    let ranges: Vec<String> = server.ranges().into_iter().flatten().collect();
    assert_eq!(ranges.len(), 2, "the tail and one stretch: {ranges:?}");
    assert!(ranges[1].starts_with("bytes=0-"), "{ranges:?}");
}

#[test]
fn x_sets_attributes_only_on_directories_it_created() {
    use std::os::unix::fs::PermissionsExt;
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let time = zip::DateTime::from_date_and_time(2001, 2, 3, 4, 5, 6).unwrap();
    let open = zips::options(CompressionMethod::Stored)
        .unix_permissions(0o777)
        .last_modified_time(time);
    let closed = open.unix_permissions(0o700);
    writer.add_directory("existing/", open).unwrap();
    writer.start_file("existing/f.txt", open).unwrap();
    writer.write_all(b"f").unwrap();
    writer.add_directory("new/", closed).unwrap();
    let bytes = writer.finish().unwrap().into_inner();
    let (parent, dir) = target();
    let existing = dir.join("existing");
    fs::create_dir_all(&existing).unwrap();
    fs::set_permissions(&existing, fs::Permissions::from_mode(0o750)).unwrap();
    let (_archive_dir, archive) = crate::util::fixtures::local_file("a.zip", &bytes);
    x_ok(&archive.display().to_string(), &dir, &[], &[]);
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o7777;
    // An existing directory keeps its mode and its time (as unzip leaves it).
    assert_eq!(
        mode(&existing),
        0o750,
        "an existing directory was opened up"
    );
    // 2001-02-03T04:05:06Z, the archive's time (read as UTC).
    const ARCHIVE_TIME: u64 = 981_173_106;
    assert_ne!(
        mtime(&existing),
        ARCHIVE_TIME,
        "an existing directory got the archive's time"
    );
    assert_eq!(mtime(&dir.join("new")), ARCHIVE_TIME);
    assert_eq!(fs::read(existing.join("f.txt")).unwrap(), b"f");
    // One that x made gets the archive's.
    assert_eq!(mode(&dir.join("new")), 0o700);
    // --overwrite replaces files, and still never opens up a directory that was there.
    x_ok(&archive.display().to_string(), &dir, &["--overwrite"], &[]);
    assert_eq!(mode(&existing), 0o750, "--overwrite opened up a directory");
    drop(parent);
}
