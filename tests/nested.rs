//! `--in MEMBER`: a zip stored inside a zip, read in place through ranges of the outer
//! resource (README, "Zip archives"): no copy, one or two requests for its end records and
//! central directory, one per member, none for what the outer tail already holds.

use std::fs;

use zip::CompressionMethod;

use crate::util::command::TestCommand;
use crate::util::server::{Mode, Server};
use crate::util::zips::{self, Item};
use crate::util::{self, assert_bytes_eq};

/// An inner archive with a comment and 1,000 bytes in front of it (a self-extracting stub).
fn inner() -> (Vec<u8>, Vec<u8>) {
    let data = zips::noise(50_000, 3);
    let mut bytes = vec![b'#'; 1000];
    bytes.extend(zips::archive_with_comment(
        &[
            Item::deflated("inner/a.txt", b"inner a"),
            Item::stored("inner/noise.bin", &data),
        ],
        "an inner comment",
    ));
    (bytes, data)
}

fn stored(name: &str, data: &[u8]) -> Vec<u8> {
    zips::archive(&[
        Item::deflated("readme.txt", b"the outer archive"),
        Item::stored(name, data),
        Item::deflated("after.txt", b"after"),
    ])
}

/// [`stored`], with 70 KB after the member: the outer tail does not reach it.
fn stored_far(name: &str, data: &[u8]) -> Vec<u8> {
    let pad = zips::noise(70_000, 9);
    zips::archive(&[
        Item::deflated("readme.txt", b"the outer archive"),
        Item::stored(name, data),
        Item::stored("after.bin", &pad),
    ])
}

fn names(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_stored_inner_zip_is_listed_read_and_extracted_in_place() {
    let (inner, noise) = inner();
    let server = Server::start(stored_far("images/sys.zip", &inner), Mode::Ranges);
    let url = server.url("/fw.zip");
    let listed = TestCommand::against(&server)
        .args(["ls", &url, "--in", "images/sys.zip"])
        .stdout();
    assert_eq!(names(&listed), ["inner/a.txt", "inner/noise.bin"]);
    // The outer tail, then the inner one (its directory lies inside it).
    server.assert_requests(2, "ls --in");

    let got = TestCommand::against(&server)
        .args([
            "cat",
            &url,
            "--in",
            "images/sys.zip",
            "inner/noise.bin",
            "inner/a.txt",
        ])
        .stdout();
    assert_bytes_eq(&got, &[noise.as_slice(), b"inner a"].concat());
    // The members lie in the inner tail: read from it.
    server.assert_requests(2 + 2, "cat --in: two tails");

    let dir = tempfile::tempdir().unwrap();
    TestCommand::against(&server)
        .args(["x", &url, "--in", "images/sys.zip", "-C"])
        .arg(dir.path())
        .success();
    assert_eq!(
        fs::read(dir.path().join("inner/a.txt")).unwrap(),
        b"inner a"
    );
    assert_eq!(fs::read(dir.path().join("inner/noise.bin")).unwrap(), noise);
}

#[test]
fn an_inner_zip_inside_the_outer_tail_costs_no_request_of_its_own() {
    // README: what lies in the bytes already fetched costs no request; an inner archive
    // within the outer 65 KiB tail is listed, read and extracted from them.
    let (inner, noise) = inner();
    let server = Server::start(stored("images/sys.zip", &inner), Mode::Ranges);
    let url = server.url("/fw.zip");
    let got = TestCommand::against(&server)
        .args(["cat", &url, "--in", "images/sys.zip", "inner/noise.bin"])
        .stdout();
    assert_bytes_eq(&got, &noise);
    server.assert_requests(1, "cat --in: the outer tail only");
    let dir = tempfile::tempdir().unwrap();
    TestCommand::against(&server)
        .args(["x", &url, "--in", "images/sys.zip", "-C"])
        .arg(dir.path())
        .success();
    assert_eq!(fs::read(dir.path().join("inner/noise.bin")).unwrap(), noise);
    server.assert_requests(2, "x --in: the outer tail only");
}

#[test]
fn two_levels_deep_and_a_zip64_inner_archive() {
    let zip64 = fs::read(util::repo_root().join("tests/data/py-zip64.zip")).unwrap();
    let middle = zips::archive(&[
        Item::stored("deeper/py-zip64.zip", &zip64),
        Item::deflated("note.txt", b"middle"),
    ]);
    let server = Server::start(stored("middle.zip", &middle), Mode::Ranges);
    let url = server.url("/outer.zip");
    let listed = TestCommand::against(&server)
        .args([
            "ls",
            &url,
            "--in",
            "middle.zip",
            "--in",
            "deeper/py-zip64.zip",
        ])
        .stdout();
    let direct = TestCommand::new()
        .arg("ls")
        .arg(util::repo_root().join("tests/data/py-zip64.zip"))
        .stdout();
    assert_eq!(listed, direct);
    assert!(!listed.is_empty());
    let requests = server.requests().len();
    assert!(
        requests <= 1 + 2 + 2,
        "{requests} requests:\n{}",
        server.summary()
    );
}

#[test]
fn a_compressed_inner_zip_or_a_member_that_is_no_zip_is_a_clear_error() {
    let (inner, _) = inner();
    let bytes = zips::archive(&[
        Item::deflated("sys.zip", &inner),
        Item::deflated("readme.txt", b"not a zip"),
    ]);
    let compressed = zips::archive(&[Item::deflated("sys.zip", &inner)]);
    let deflated_size = {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&compressed)).unwrap();
        let file = archive.by_name("sys.zip").unwrap();
        assert_eq!(file.compression(), CompressionMethod::Deflated);
        file.compressed_size()
    };
    let server = Server::start(compressed, Mode::Ranges);
    let url = server.url("/fw.zip");
    let output = TestCommand::against(&server)
        .args(["ls", &url, "--in", "sys.zip"])
        .output();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim_end(),
        format!(
            "rangecat: cannot read sys.zip inside {url}: sys.zip is compressed (deflate, \
             {deflated_size} bytes): only a stored archive can be read in place; download it \
             with `rangecat cat {url} sys.zip > FILE`"
        )
    );

    let server = Server::start(bytes, Mode::Ranges);
    let url = server.url("/fw.zip");
    for (member, says) in [
        ("readme.txt", "readme.txt is compressed"),
        ("missing.zip", "missing.zip: no such member"),
    ] {
        let output = TestCommand::against(&server)
            .args(["ls", &url, "--in", member])
            .output();
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(says), "{stderr}");
    }
    let not_a_zip = zips::archive(&[Item::stored("readme.txt", b"stored, but not a zip")]);
    let server = Server::start(not_a_zip, Mode::Ranges);
    let output = TestCommand::against(&server)
        .args(["ls", &server.url("/a.zip"), "--in", "readme.txt"])
        .output();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a zip archive"), "{stderr}");
}
