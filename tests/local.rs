//! Local files, as a plain path and as a `file://` URL: the same RANGE semantics, and the
//! same bytes, as over HTTP.

use crate::util::command::TestCommand;
use crate::util::errors::{assert_runtime_error, assert_strict_refuses};
use crate::util::fixtures::{file_url, local_file};
use crate::util::server::{Mode, Server};
use crate::util::{self, assert_bytes_eq};

const LEN: usize = 1000;

/// Each RANGE with the bytes it selects from a 1000-byte resource (Python-slice clipping).
const CASES: [(&str, std::ops::Range<usize>); 8] = [
    ("0:10", 0..10),
    ("-10:", 990..1000),
    (":-10", 0..990),
    ("5+3", 5..8),
    ("-3+10", 997..1000),
    (":", 0..1000),
    ("990:2000", 990..1000),
    ("500:400", 0..0),
];

/// `rangecat [options] SOURCE [ranges]`, asserting success; returns stdout.
#[track_caller]
fn fetch(source: &str, options: &[&str], ranges: &[&str]) -> Vec<u8> {
    TestCommand::new()
        .args(options)
        .arg(source)
        .args(ranges)
        .stdout()
}

#[test]
fn local_path_file_url_and_http_give_the_same_bytes() {
    let data = util::data(LEN);
    let (_dir, path) = local_file("file.bin", &data);
    let server = Server::start(data.clone(), Mode::Ranges);
    let sources = [
        path.display().to_string(),
        file_url(&path),
        server.url("/file.bin"),
    ];
    for (range, span) in CASES {
        for source in &sources {
            let got = fetch(source, &[], &[range]);
            assert!(
                got == data[span.clone()],
                "{source} {range}: got {} bytes, want {:?}",
                got.len(),
                span
            );
        }
    }
}

#[test]
fn local_file_writes_several_ranges_in_the_order_given() {
    let data = util::data(LEN);
    let (_dir, path) = local_file("file.bin", &data);
    let ranges: Vec<&str> = CASES.iter().map(|(r, _)| *r).collect();
    let want: Vec<u8> = CASES
        .iter()
        .flat_map(|(_, s)| data[s.clone()].to_vec())
        .collect();
    assert_bytes_eq(&fetch(&path.display().to_string(), &[], &ranges), &want);
    assert_bytes_eq(&fetch(&file_url(&path), &[], &ranges), &want);
}

#[test]
fn local_file_without_range_is_the_whole_file() {
    let data = util::data(LEN);
    let (_dir, path) = local_file("file.bin", &data);
    assert_bytes_eq(&fetch(&path.display().to_string(), &[], &[]), &data);
}

#[test]
fn empty_local_file_gives_empty_output() {
    let (_dir, path) = local_file("file.bin", &[]);
    assert!(fetch(&path.display().to_string(), &[], &[":", "-10:"]).is_empty());
}

#[test]
fn missing_local_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.bin");
    for source in [missing.display().to_string(), file_url(&missing)] {
        let output = util::rangecat().arg(&source).arg("0:10").output().unwrap();
        assert_runtime_error(&output);
    }
}

#[test]
fn strict_range_outside_a_local_file_is_an_error() {
    let (_dir, path) = local_file("file.bin", &util::data(LEN));
    assert_strict_refuses(&path, &["0:2000", "2000:", "-2000:"], LEN);
}

#[test]
fn strict_range_inside_a_local_file_succeeds() {
    let data = util::data(LEN);
    let (_dir, path) = local_file("file.bin", &data);
    let got = fetch(
        &path.display().to_string(),
        &["--strict"],
        &["0:1000", "-10:"],
    );
    assert_bytes_eq(&got, &[&data[..], &data[990..]].concat());
}

#[test]
fn global_options_may_come_before_a_subcommand() {
    let sample = util::repo_root().join("examples/sample.zip");
    let before = TestCommand::new()
        .args(["-q", "-H", "X-Test: 1", "ls"])
        .arg(&sample)
        .stdout();
    let after = TestCommand::new()
        .arg("ls")
        .arg(&sample)
        .args(["-q", "-H", "X-Test: 1"])
        .stdout();
    assert!(!before.is_empty(), "ls listed nothing");
    assert_eq!(before, after, "the options' place changes nothing");
}
