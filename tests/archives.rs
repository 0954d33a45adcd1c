//! rangecat on real archives made by other tools: Info-ZIP `zip`, Python's `zipfile`, bsdtar
//! and 7-Zip (`tests/data/`, whose README says how each was made and what it exercises).
//!
//! The expectations come from `tests/data/expected.txt`, written by Python's zipfile (an
//! independent reader), never from rangecat itself: `ls` must print the manifest's names in
//! central-directory order, and `cat` must give contents of the manifest's size and CRC-32,
//! computed here from the bytes rangecat wrote. Every check runs on every archive, locally
//! and over HTTP; failures are collected so that one run names every archive that fails.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

use crate::ls::{LongRow, check_long_listing};
use crate::util::errors::assert_runtime_error;
use crate::util::server::{Mode, Server};
use crate::util::{self};

/// The fewest bytes a reader must fetch from the end of any archive to be sure it has the
/// end record: the record (22), a maximal comment (65,535), the Zip64 locator (20) and the
/// Zip64 end record (56). An archive no longer than this is wholly inside that first response.
const MIN_TAIL: usize = 22 + 65_535 + 20 + 56;

/// What an entry is, as the manifest says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    /// A file encrypted with the password `secret` (its size and CRC are of the plaintext).
    Encrypted,
}

#[derive(Debug, Clone)]
struct Member {
    name: String,
    kind: Kind,
    size: usize,
    /// The central directory's fields as zipfile and 7-Zip report them.
    compressed: u64,
    /// The APPNOTE method number.
    method: u16,
    crc32: u32,
    /// The DOS date and time, `2024-05-17T13:45:30`.
    modified: String,
}

#[derive(Debug)]
struct Fixture {
    /// The file name in `tests/data/`.
    file: String,
    bytes: Vec<u8>,
    /// Every entry, in central-directory order.
    members: Vec<Member>,
}

impl Fixture {
    fn path(&self) -> PathBuf {
        data_dir().join(&self.file)
    }

    /// `ls`'s expected output: one name per line.
    fn listing(&self) -> String {
        self.members
            .iter()
            .map(|m| format!("{}\n", m.name))
            .collect()
    }

    /// The entries `cat` can write.
    fn files(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.kind == Kind::File)
    }

    fn has_encrypted(&self) -> bool {
        self.members.iter().any(|m| m.kind == Kind::Encrypted)
    }
}

fn data_dir() -> PathBuf {
    util::repo_root().join("tests/data")
}

/// Reads `tests/data/expected.txt` and every archive it names.
fn fixtures() -> Vec<Fixture> {
    let text = fs::read_to_string(data_dir().join("expected.txt")).expect("expected.txt");
    let mut fixtures: Vec<Fixture> = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.splitn(9, '\t').collect();
        let [
            file,
            kind,
            size,
            compressed,
            method,
            crc,
            modified,
            _sha256,
            name,
        ] = fields[..]
        else {
            panic!("bad manifest line: {line:?}");
        };
        if kind == "archive" {
            fixtures.push(Fixture {
                file: file.to_string(),
                bytes: fs::read(data_dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}")),
                members: Vec::new(),
            });
            counts.push(size.parse().unwrap());
            continue;
        }
        let fixture = fixtures.last_mut().expect("an archive line first");
        assert_eq!(fixture.file, file, "manifest lines out of order: {line:?}");
        fixture.members.push(Member {
            name: name.to_string(),
            kind: match kind {
                "dir" => Kind::Dir,
                "file" => Kind::File,
                "encrypted" => Kind::Encrypted,
                _ => panic!("bad kind in {line:?}"),
            },
            size: size.parse().unwrap(),
            compressed: compressed.parse().unwrap(),
            method: method.parse().unwrap(),
            crc32: u32::from_str_radix(crc, 16).unwrap(),
            modified: modified.to_string(),
        });
    }
    for (fixture, count) in fixtures.iter().zip(counts) {
        assert_eq!(
            fixture.members.len(),
            count,
            "{}: entry count",
            fixture.file
        );
    }
    fixtures
}

/// CRC-32 (IEEE 802.3, as zip uses), bit by bit from a table: the check of `cat`'s output
/// must not share code with rangecat or the zip crate.
fn crc32(bytes: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, slot) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *slot = c;
    }
    let mut crc = !0u32;
    for &b in bytes {
        crc = table[((crc ^ u32::from(b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// Checks that `bytes` is `members`' contents, one after the other; `None` when it is.
fn check_contents(bytes: &[u8], members: &[&Member]) -> Option<String> {
    let want: usize = members.iter().map(|m| m.size).sum();
    if bytes.len() != want {
        return Some(format!("wrote {} bytes, want {want}", bytes.len()));
    }
    let mut rest = bytes;
    for member in members {
        let (piece, after) = rest.split_at(member.size);
        rest = after;
        let got = crc32(piece);
        if got != member.crc32 {
            return Some(format!(
                "{}: CRC-32 {got:08x}, want {:08x}",
                member.name, member.crc32
            ));
        }
    }
    None
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr)
        .trim_end()
        .to_string()
}

/// Panics with every collected failure, if any.
#[track_caller]
fn report(what: &str, failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{what}: {} failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Where `ls` and `cat` read an archive from.
enum Place<'a> {
    Local(&'a Path),
    Http(&'a Server, &'a str),
}

impl Place<'_> {
    fn arg(&self) -> String {
        match self {
            Place::Local(path) => path.display().to_string(),
            Place::Http(server, file) => server.url(&format!("/{file}")),
        }
    }

    /// Requests received so far (0 for a local file).
    fn requests(&self) -> usize {
        match self {
            Place::Local(_) => 0,
            Place::Http(server, _) => server.requests().len(),
        }
    }

    fn summary(&self) -> String {
        match self {
            Place::Local(_) => "(local file)".to_string(),
            Place::Http(server, _) => server.summary(),
        }
    }
}

fn ls(place: &Place<'_>) -> Output {
    util::rangecat()
        .arg("ls")
        .arg(place.arg())
        .output()
        .unwrap()
}

fn cat(place: &Place<'_>, members: &[&Member]) -> Output {
    util::rangecat()
        .arg("cat")
        .arg(place.arg())
        .args(members.iter().map(|m| &m.name))
        .output()
        .unwrap()
}

/// `ls` prints the manifest's names; returns the requests it took.
fn check_ls(fixture: &Fixture, place: &Place<'_>, failures: &mut Vec<String>) -> usize {
    let before = place.requests();
    let output = ls(place);
    let requests = place.requests() - before;
    let want = fixture.listing();
    if !output.status.success() {
        failures.push(format!(
            "{}: ls failed ({:?}): {}",
            fixture.file,
            output.status.code(),
            stderr(&output)
        ));
    } else if output.stdout != want.as_bytes() {
        failures.push(format!(
            "{}: ls printed\n{}\nwant\n{want}",
            fixture.file,
            String::from_utf8_lossy(&output.stdout)
        ));
    }
    requests
}

/// `cat` of each file member, one at a time, gives its contents; over HTTP each costs the
/// requests of `ls` and one more (at most that for an empty member).
fn check_cat_each(fixture: &Fixture, place: &Place<'_>, ls_requests: usize) -> Vec<String> {
    let mut failures = Vec::new();
    for member in fixture.files() {
        let before = place.requests();
        let output = cat(place, &[member]);
        let requests = place.requests() - before;
        let what = format!("{}: cat {}", fixture.file, member.name);
        if !output.status.success() {
            failures.push(format!(
                "{what}: failed ({:?}): {}",
                output.status.code(),
                stderr(&output)
            ));
            continue;
        }
        if let Some(problem) = check_contents(&output.stdout, &[member]) {
            failures.push(format!("{what}: {problem}"));
        }
        // A member inside the 65 KiB tail that `ls` fetched costs no request: all of them
        // but those of py-comment-max.zip, whose comment fills its tail.
        let before_tail = fixture.bytes.len() > 66_560;
        let want = ls_requests + usize::from(matches!(place, Place::Http(..)) && before_tail);
        let ok = if member.size == 0 {
            requests <= want
        } else {
            requests == want
        };
        if !ok {
            failures.push(format!(
                "{what}: {requests} requests, want {want} (ls took {ls_requests}):\n{}",
                place.summary()
            ));
        }
    }
    failures
}

/// The archives in `tests/data/`.
fn zip_files() -> BTreeSet<String> {
    fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".zip"))
        .collect()
}

// ---- The harness ----

#[test]
fn crc32_matches_the_standard_check_value() {
    assert_eq!(crc32(b""), 0);
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(
        crc32(b"The quick brown fox jumps over the lazy dog"),
        0x414F_A339
    );
}

#[test]
fn manifest_describes_every_archive_in_tests_data() {
    let fixtures = fixtures();
    let named: BTreeSet<String> = fixtures.iter().map(|f| f.file.clone()).collect();
    assert_eq!(
        named,
        zip_files(),
        "expected.txt and the *.zip files differ"
    );
    // The cases the fixtures exist for are all there.
    let count = |pred: &dyn Fn(&Member) -> bool| -> usize {
        fixtures
            .iter()
            .map(|f| f.members.iter().filter(|m| pred(m)).count())
            .sum()
    };
    assert!(
        fixtures.iter().any(|f| f.members.is_empty()),
        "no empty archive"
    );
    assert!(count(&|m| m.kind == Kind::Dir) > 0, "no directory entries");
    assert!(
        count(&|m| m.kind == Kind::Encrypted) > 0,
        "no encrypted member"
    );
    assert!(count(&|m| !m.name.is_ascii()) >= 3, "no non-ASCII names");
    assert!(
        fixtures.iter().any(|f| f.bytes.len() > MIN_TAIL),
        "no archive larger than the first request"
    );
    // Whole directory well under 1 MiB.
    let total: usize = fixtures.iter().map(|f| f.bytes.len()).sum();
    assert!(total < 512 * 1024, "fixtures take {total} bytes");
}

#[test]
fn fixtures_hold_a_nonempty_member_of_every_supported_method() {
    // README: "Supported compression methods: stored, deflate, deflate64, bzip2, lzma, xz,
    // zstd and ppmd". The cat tests below decompress every file member of every fixture, so
    // each method is decompressed from an archive another tool wrote; none is left out.
    let required = [0, 8, 9, 12, 14, 93, 95, 98];
    let present: BTreeSet<u16> = fixtures()
        .iter()
        .flat_map(|f| f.files().filter(|m| m.size > 0).map(|m| m.method))
        .collect();
    for method in required {
        assert!(
            present.contains(&method),
            "no fixture member compressed with {} (method {method})",
            method_name(method)
        );
    }
}

// ---- ls ----

#[test]
fn ls_of_a_local_archive_prints_what_zipfile_reads() {
    let mut failures = Vec::new();
    for fixture in fixtures() {
        let path = fixture.path();
        check_ls(&fixture, &Place::Local(&path), &mut failures);
    }
    report("ls of local archives", failures);
}

#[test]
fn ls_over_http_prints_what_zipfile_reads_in_one_request_when_the_archive_is_small() {
    let mut failures = Vec::new();
    for fixture in fixtures() {
        let server = Server::start(fixture.bytes.clone(), Mode::Ranges);
        let place = Place::Http(&server, &fixture.file);
        let requests = check_ls(&fixture, &place, &mut failures);
        // Small archives fit in the first (suffix) response; larger ones may need one more
        // request for the central directory.
        let most = if fixture.bytes.len() <= MIN_TAIL {
            1
        } else {
            2
        };
        if requests == 0 || requests > most {
            failures.push(format!(
                "{} ({} bytes): ls sent {requests} requests, want 1..={most}:\n{}",
                fixture.file,
                fixture.bytes.len(),
                server.summary()
            ));
        }
    }
    report("ls over HTTP", failures);
}

#[test]
fn ls_reads_a_central_directory_outside_the_tail_with_a_second_request() {
    // py-comment-max.zip: a 65,535-byte comment puts the central directory 66,869 bytes
    // from the end, past the 65 KiB that rangecat fetches first.
    let fixture = fixtures()
        .into_iter()
        .find(|f| f.file == "py-comment-max.zip")
        .unwrap();
    let server = Server::start(fixture.bytes.clone(), Mode::Ranges);
    let mut failures = Vec::new();
    let requests = check_ls(
        &fixture,
        &Place::Http(&server, &fixture.file),
        &mut failures,
    );
    report("ls of py-comment-max.zip", failures);
    assert_eq!(requests, 2, "requests:\n{}", server.summary());
    let ranges = server.ranges();
    assert!(
        ranges[0]
            .as_deref()
            .is_some_and(|r| r.starts_with("bytes=-")),
        "the first request must be a suffix range:\n{}",
        server.summary()
    );
}

/// rangecat's name for an APPNOTE method number (README: "Supported compression methods"),
/// written out here.
fn method_name(method: u16) -> &'static str {
    match method {
        0 => "stored",
        8 => "deflate",
        9 => "deflate64",
        12 => "bzip2",
        14 => "lzma",
        93 => "zstd",
        95 => "xz",
        98 => "ppmd",
        other => panic!("method {other} is in no fixture"),
    }
}

/// `rangecat ls OPTIONS PATH`, asserting success; returns stdout.
fn ls_with(options: &[&str], path: &Path) -> String {
    let output = util::rangecat()
        .arg("ls")
        .args(options)
        .arg(path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn ls_json_of_every_archive_shows_the_fields_zipfile_and_7z_report() {
    let mut failures = Vec::new();
    for fixture in fixtures() {
        let listing = ls_with(&["--json"], &fixture.path());
        let got: Vec<Value> = listing
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        if got.len() != fixture.members.len() {
            failures.push(format!(
                "{}: {} entries:\n{listing}",
                fixture.file,
                got.len()
            ));
            continue;
        }
        for (got, member) in got.iter().zip(&fixture.members) {
            let want = json!({
                "name": member.name,
                "size": member.size,
                "compressed_size": member.compressed,
                "method": method_name(member.method),
                "crc32": member.crc32,
                "modified": member.modified,
                "is_dir": member.kind == Kind::Dir,
                "encrypted": member.kind == Kind::Encrypted,
            });
            for (field, value) in want.as_object().unwrap() {
                if got.get(field) != Some(value) {
                    failures.push(format!(
                        "{}: {}: {field} is {:?}, want {value}",
                        fixture.file,
                        member.name,
                        got.get(field)
                    ));
                }
            }
        }
    }
    report("ls --json", failures);
}

#[test]
fn ls_long_of_every_archive_shows_the_fields_zipfile_and_7z_report() {
    for fixture in fixtures() {
        println!("{}", fixture.file);
        let listing = ls_with(&["-l"], &fixture.path());
        let rows: Vec<LongRow> = (fixture.members.iter())
            .map(|m| LongRow {
                size: m.size as u64,
                compressed: m.compressed,
                method: method_name(m.method).to_string(),
                modified: Some(m.modified.clone()),
                crc32: m.crc32,
                name: m.name.clone(),
            })
            .collect();
        check_long_listing(&listing, &rows, |n| n.to_string());
    }
}

// ---- cat ----

#[test]
fn cat_of_each_member_of_a_local_archive_gives_what_zipfile_reads() {
    let mut failures = Vec::new();
    for fixture in fixtures() {
        let path = fixture.path();
        failures.extend(check_cat_each(&fixture, &Place::Local(&path), 0));
    }
    report("cat from local archives", failures);
}

#[test]
fn cat_of_each_member_over_http_gives_what_zipfile_reads_in_one_request_more_than_ls() {
    let mut failures = Vec::new();
    for fixture in fixtures() {
        let server = Server::start(fixture.bytes.clone(), Mode::Ranges);
        let place = Place::Http(&server, &fixture.file);
        let ls_requests = check_ls(&fixture, &place, &mut failures);
        failures.extend(check_cat_each(&fixture, &place, ls_requests));
    }
    report("cat over HTTP", failures);
}

#[test]
fn cat_of_every_member_at_once_writes_them_in_order_with_one_request_each() {
    let mut failures = Vec::new();
    for fixture in fixtures() {
        let members: Vec<&Member> = fixture.files().collect();
        if members.is_empty() {
            continue;
        }
        let server = Server::start(fixture.bytes.clone(), Mode::Ranges);
        let place = Place::Http(&server, &fixture.file);
        let ls_requests = check_ls(&fixture, &place, &mut failures);
        let before = place.requests();
        let output = cat(&place, &members);
        let requests = place.requests() - before;
        if !output.status.success() {
            failures.push(format!(
                "{}: cat of all failed ({:?}): {}",
                fixture.file,
                output.status.code(),
                stderr(&output)
            ));
            continue;
        }
        if let Some(problem) = check_contents(&output.stdout, &members) {
            failures.push(format!("{}: cat of all: {problem}", fixture.file));
        }
        let most = ls_requests + members.len();
        if requests > most {
            failures.push(format!(
                "{}: cat of {} members sent {requests} requests, want at most {most}:\n{}",
                fixture.file,
                members.len(),
                server.summary()
            ));
        }
    }
    report("cat of every member", failures);
}

#[test]
fn cat_from_a_server_that_ignores_range_gives_what_zipfile_reads() {
    let mut failures = Vec::new();
    for fixture in fixtures() {
        let members: Vec<&Member> = fixture.files().collect();
        let server = Server::start(fixture.bytes.clone(), Mode::IgnoresRange);
        let place = Place::Http(&server, &fixture.file);
        check_ls(&fixture, &place, &mut failures);
        if members.is_empty() {
            continue;
        }
        let output = cat(&place, &members);
        if !output.status.success() {
            failures.push(format!(
                "{}: cat failed ({:?}): {}",
                fixture.file,
                output.status.code(),
                stderr(&output)
            ));
        } else if let Some(problem) = check_contents(&output.stdout, &members) {
            failures.push(format!("{}: {problem}", fixture.file));
        }
    }
    report("a server that ignores Range", failures);
}

#[test]
fn cat_of_an_encrypted_member_is_refused_and_says_so() {
    for fixture in fixtures().iter().filter(|f| f.has_encrypted()) {
        let server = Server::start(fixture.bytes.clone(), Mode::Ranges);
        let path = fixture.path();
        let places = [Place::Local(&path), Place::Http(&server, &fixture.file)];
        for place in &places {
            for member in fixture.members.iter().filter(|m| m.kind == Kind::Encrypted) {
                let output = cat(place, &[member]);
                let message = assert_runtime_error(&output);
                assert!(
                    message.contains("encrypted") && message.contains(&member.name),
                    "{}: the error must name {} and say it is encrypted: {message}",
                    fixture.file,
                    member.name
                );
                assert!(
                    output.stdout.is_empty(),
                    "wrote {} bytes",
                    output.stdout.len()
                );
            }
        }
    }
}

// ---- x ----

/// What `dir` holds, as (relative path with `/`, `Some(bytes)` for files or `None` for
/// directories), sorted.
fn tree(dir: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Option<Vec<u8>>)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if path.is_dir() {
                out.push((rel, None));
                walk(root, &path, out);
            } else {
                out.push((rel, Some(fs::read(&path).unwrap())));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Checks an extracted `dir` against `members`: every file with its size and CRC-32, every
/// directory (named, or implied by a file's path), and nothing else.
fn check_tree(dir: &Path, members: &[&Member]) -> Option<String> {
    let got = tree(dir);
    let mut want: BTreeSet<(String, bool)> = BTreeSet::new();
    for member in members {
        let name = member.name.trim_end_matches('/');
        let mut parent = Path::new(name).parent();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            want.insert((p.to_string_lossy().into_owned(), true));
            parent = p.parent();
        }
        want.insert((name.to_string(), member.kind == Kind::Dir));
    }
    let got_set: BTreeSet<(String, bool)> = got
        .iter()
        .map(|(path, bytes)| (path.clone(), bytes.is_none()))
        .collect();
    if got_set != want {
        return Some(format!(
            "extracted (path, is_dir):\n{got_set:?}\nwant:\n{want:?}"
        ));
    }
    for member in members.iter().filter(|m| m.kind != Kind::Dir) {
        let (_, bytes) = got.iter().find(|(p, _)| *p == member.name).unwrap();
        let bytes = bytes.as_ref().unwrap();
        if let Some(problem) = check_contents(bytes, &[member]) {
            return Some(problem);
        }
    }
    None
}

#[test]
fn x_extracts_every_archive_as_zipfile_reads_it() {
    let mut failures = Vec::new();
    for fixture in fixtures() {
        // An encrypted member cannot be extracted: take the others by name.
        let members: Vec<&Member> = fixture
            .members
            .iter()
            .filter(|m| m.kind != Kind::Encrypted)
            .collect();
        let patterns: Vec<&str> = if fixture.has_encrypted() {
            members.iter().map(|m| m.name.as_str()).collect()
        } else {
            Vec::new()
        };
        let server = Server::start(fixture.bytes.clone(), Mode::Ranges);
        let path = fixture.path();
        for place in [Place::Local(&path), Place::Http(&server, &fixture.file)] {
            let dir = tempfile::tempdir().unwrap();
            let output = util::rangecat()
                .arg("x")
                .arg(place.arg())
                .args(&patterns)
                .arg("-C")
                .arg(dir.path())
                .output()
                .unwrap();
            let what = match place {
                Place::Local(_) => format!("{} (local)", fixture.file),
                Place::Http(..) => format!("{} (HTTP)", fixture.file),
            };
            if !output.status.success() {
                failures.push(format!(
                    "{what}: x failed ({:?}): {}",
                    output.status.code(),
                    stderr(&output)
                ));
            } else if let Some(problem) = check_tree(dir.path(), &members) {
                failures.push(format!("{what}: {problem}"));
            }
        }
    }
    report("x", failures);
}
