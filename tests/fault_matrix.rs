//! The fault matrix (issue 10, item 6): every fault of `util::matrix_server` against every way
//! of reading, each cell's outcome stated in [`ROWS`].
//!
//! Where a fault lands: it applies from the second request on (index 1), which is
//!
//! - fetch and `-o`: `URL 0:1000 -1000:` of 9 MiB, the request for the last 1000 bytes;
//! - `-j 4`: the whole of 17 MiB in five segments, segments 2 to 5, which go out at once (the
//!   first teaches the length);
//! - `ls`: an archive whose central directory (about 100 KiB) is larger than the 65 KiB tail,
//!   the request for the central directory;
//! - `cat` and `x`: an archive of two stored 200 KiB members with a small central directory,
//!   the member request (`x` fetches both members in one request, as neighbours under 1 MiB).
//!
//! except `200 ignoring Range`, a server that does so from the first request, and `connection
//! refused`, where nothing listens. Faults are persistent (every request from the second on)
//! unless the row says `once`. Every cell runs with `--timeout 1 --connect-timeout 1
//! --retries 1`.
//!
//! On failure each cell checks: exit 1, every stderr line `rangecat: ` with the row's
//! substring, no panic; stdout a prefix of the right bytes (empty for `-o`, `ls`, `x`, and for
//! `cat`, which holds a member under 1 MiB until its CRC-32 checks out); no `-o` target and no
//! temporary beside it; no `x` member under its name unless whole and right, no `.part`; and
//! at most the column's request bound (no request loops).
//!
//! Where the README is silent, the table asserts what a careful user would expect: a body cut
//! short (reset or clean close) is resumed from the first missing byte, at most once with
//! `--retries 1`, and then fails naming how far it got; a stall mid-body is resumed likewise (only a stall before the
//! answer is never retried, as the README says); a garbage status line is not retried; `x`
//! may keep a member that arrived whole before its shared request broke (checked byte for
//! byte).

use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::util::command::TestCommand;
use crate::util::errors::assert_exit;
use crate::util::fixtures::unused_url;
use crate::util::matrix_server::{Fault, MatrixServer, Schedule};
use crate::util::zips::{self, Item};
use crate::util::{self, assert_bytes_eq_in};

const MIB: usize = 1024 * 1024;
/// Longer than `--timeout 1`.
const STALL: Duration = Duration::from_secs(3);

/// The ways of reading: the columns, in the order of `Row::expect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Fetch = 0,
    Output = 1,
    Ls = 2,
    Cat = 3,
    X = 4,
    Segments = 5,
}

/// A cell's expected outcome.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Exit 0 with exactly the column's right output.
    Ok,
    /// Exit 1, each stderr line containing this.
    Fails(&'static str),
}
use Expect::{Fails, Ok};

/// A row: the fault (None: connection refused), whether it happens once, how often each
/// faulty request may be sent at most (`sends`: 1 never again, 2 one retry or resume, 11 the
/// request and the 10 redirects followed), and the outcome for fetch, `-o`, `ls`, `cat`, `x`,
/// `-j 4`. A cell may send at most `1 + (requests(column) - 1) * sends` requests. `resumes`:
/// the broken body is asked for again from its first missing byte (a Range not sent before).
struct Row {
    name: &'static str,
    fault: Option<Fault>,
    once: bool,
    sends: usize,
    resumes: bool,
    expect: [Expect; 6],
}

const ROWS: &[Row] = &[
    Row {
        name: "connection refused",
        fault: None,
        once: false,
        sends: 2,
        resumes: false,
        expect: [Fails("Connection refused"); 6],
    },
    Row {
        name: "reset before headers",
        fault: Some(Fault::ResetBeforeHeaders),
        once: false,
        sends: 2,
        resumes: false,
        expect: [Fails("Peer disconnected"); 6],
    },
    Row {
        name: "reset mid-body",
        fault: Some(Fault::ResetMidBody),
        once: false,
        sends: 2,
        resumes: true,
        expect: [Fails("connection closed after"); 6],
    },
    Row {
        name: "short body, longer Content-Length",
        fault: Some(Fault::ShortBody),
        once: false,
        sends: 2,
        resumes: true,
        expect: [Fails("connection closed after"); 6],
    },
    Row {
        name: "body longer than its Content-Range",
        fault: Some(Fault::LongerThanContentRange),
        once: false,
        sends: 1,
        resumes: false,
        expect: [Fails("runs past its Content-Range"); 6],
    },
    Row {
        name: "Content-Range for another span",
        fault: Some(Fault::OtherSpan),
        once: false,
        sends: 1,
        resumes: false,
        expect: [Fails("with Content-Range 'bytes "); 6],
    },
    Row {
        name: "206 without Content-Range",
        fault: Some(Fault::NoContentRange),
        once: false,
        sends: 1,
        resumes: false,
        expect: [Fails("with Content-Range '(none)'"); 6],
    },
    Row {
        name: "ETag change",
        fault: Some(Fault::EtagChange),
        once: false,
        sends: 1,
        resumes: false,
        expect: [Fails("(ETag \"v1\" became \"v2\"); not splicing two versions"); 6],
    },
    Row {
        name: "Last-Modified change",
        fault: Some(Fault::LastModifiedChange),
        once: false,
        sends: 1,
        resumes: false,
        expect: [Fails("(Last-Modified 'Mon, 01 Jan 2024 00:00:00 GMT' became"); 6],
    },
    Row {
        name: "stall before headers",
        fault: Some(Fault::StallBeforeHeaders(STALL)),
        once: false,
        sends: 1,
        resumes: false,
        expect: [Fails("timed out (receive response)"); 6],
    },
    Row {
        name: "stall mid-body",
        fault: Some(Fault::StallMidBody(STALL)),
        once: false,
        sends: 2,
        resumes: true,
        expect: [Fails("timed out: no data for 1s after"); 6],
    },
    Row {
        name: "redirect loop",
        fault: Some(Fault::RedirectLoop),
        once: false,
        sends: 11,
        resumes: false,
        expect: [Fails("more than 10 redirects"); 6],
    },
    Row {
        name: "503 once, then success",
        fault: Some(Fault::Status503),
        once: true,
        sends: 2,
        resumes: false,
        expect: [Ok; 6],
    },
    Row {
        name: "200 ignoring Range",
        fault: Some(Fault::IgnoresRange),
        once: false,
        sends: 1,
        resumes: false,
        expect: [Ok; 6],
    },
    Row {
        name: "garbage status line",
        fault: Some(Fault::GarbageStatusLine),
        once: false,
        sends: 1,
        resumes: false,
        expect: [Fails("invalid HTTP version"); 6],
    },
];

/// The requests a column sends when nothing goes wrong.
fn requests(column: Column) -> usize {
    match column {
        // Two ranges; the tail and the central directory; the tail and the member(s).
        Column::Fetch | Column::Output | Column::Ls | Column::Cat | Column::X => 2,
        // The first segment, then four at once.
        Column::Segments => 5,
    }
}

/// What a column reads, and its right answer.
struct Setup {
    resource: Vec<u8>,
    /// stdout of a fetch, `-j 4`, `ls` or `cat`; unused for `-o` and `x`.
    want: Vec<u8>,
    /// `x`'s members.
    members: Vec<(String, Vec<u8>)>,
}

fn setup(column: Column) -> Setup {
    match column {
        Column::Fetch | Column::Output | Column::Segments => {
            // -j 4: five segments, the first alone, then four at once.
            let size = if column == Column::Segments { 17 } else { 9 };
            let resource = util::random_bytes(size * MIB);
            let want = if column == Column::Segments {
                resource.clone()
            } else {
                [&resource[..1000], &resource[resource.len() - 1000..]].concat()
            };
            Setup {
                resource,
                want,
                members: Vec::new(),
            }
        }
        Column::Ls => {
            let resource = zips::many_files(1500);
            let want: String = (0..1500)
                .map(|i| format!("dir/file-{i:06}.txt\n"))
                .collect();
            Setup {
                resource,
                want: want.into_bytes(),
                members: Vec::new(),
            }
        }
        Column::Cat | Column::X => {
            let a = zips::noise(200 * 1024, 1);
            let b = zips::noise(200 * 1024, 2);
            let resource = zips::archive(&[Item::stored("a.bin", &a), Item::stored("b.bin", &b)]);
            Setup {
                resource,
                want: a.clone(),
                members: vec![("a.bin".into(), a), ("b.bin".into(), b)],
            }
        }
    }
}

/// Runs every row of `column`; fails listing every cell that failed.
fn run_column(column: Column) {
    let setup = setup(column);
    let mut failed = Vec::new();
    for row in ROWS {
        let cell = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_cell(row, column, &setup)
        }));
        if let Err(panic) = cell {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failed.push(text);
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} cells failed:\n\n{}",
        failed.len(),
        ROWS.len(),
        failed.join("\n\n")
    );
}

/// Runs one cell, panicking with a message that names it.
fn run_cell(row: &Row, column: Column, setup: &Setup) {
    let case = format!("{} x {column:?}", row.name);
    let server = row.fault.map(|fault| {
        let from = if fault == Fault::IgnoresRange { 0 } else { 1 };
        let times = row.once.then_some(1);
        MatrixServer::start(setup.resource.clone(), Schedule { fault, from, times })
    });
    let url = match &server {
        Some(server) => server.url("/resource"),
        None => unused_url(),
    };
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.bin");
    let mut args: Vec<String> = ["--timeout", "1", "--connect-timeout", "1", "--retries", "1"]
        .map(String::from)
        .to_vec();
    let target_arg = target.to_str().unwrap().to_string();
    let dir_arg = dir.path().to_str().unwrap().to_string();
    let tail: Vec<&str> = match column {
        Column::Fetch => vec![&url, "0:1000", "-1000:"],
        Column::Output => vec![&url, "0:1000", "-1000:", "-o", &target_arg],
        Column::Segments => vec!["-j", "4", &url],
        Column::Ls => vec!["ls", &url],
        Column::Cat => vec!["cat", &url, "a.bin"],
        Column::X => vec!["x", "-C", &dir_arg, &url],
    };
    // Subcommands come first, their options after.
    if matches!(column, Column::Ls | Column::Cat | Column::X) {
        let mut all: Vec<String> = vec![tail[0].to_string()];
        all.append(&mut args);
        all.extend(tail[1..].iter().map(|s| s.to_string()));
        args = all;
    } else {
        args.extend(tail.iter().map(|s| s.to_string()));
    }
    let mut command = match &server {
        Some(server) => TestCommand::against(server),
        None => TestCommand::new(),
    };
    command.case(&case).args(&args);
    let started = Instant::now();
    let output = command.output();
    let elapsed = started.elapsed();
    let describe = command.describe(&output);
    assert!(
        elapsed < Duration::from_secs(10),
        "{case}: took {elapsed:?}\n{describe}"
    );
    if let Some(server) = &server {
        let sent = server.requests().len();
        // The fault at the second request was reached: the cell tests what it says.
        assert!(
            sent >= 2 || row.fault == Some(Fault::IgnoresRange),
            "{case}: only {sent} request\n{describe}"
        );
        let max = 1 + (requests(column) - 1) * row.sends;
        let mut ranges: Vec<Option<String>> =
            server.requests().into_iter().map(|r| r.range).collect();
        ranges.sort();
        ranges.dedup();
        assert_eq!(
            ranges.len() > requests(column),
            row.resumes,
            "{case}: a resume from the first missing byte\n{describe}"
        );
        assert!(
            sent <= max,
            "{case}: {sent} requests, more than {max}\n{describe}"
        );
    }
    match row.expect[column as usize] {
        Ok => check_success(
            &case,
            column,
            setup,
            &output,
            &target,
            dir.path(),
            &describe,
        ),
        Fails(message) => check_failure(
            &case,
            column,
            setup,
            &output,
            dir.path(),
            message,
            &describe,
        ),
    }
}

fn check_success(
    case: &str,
    column: Column,
    setup: &Setup,
    output: &Output,
    target: &Path,
    dir: &Path,
    describe: &str,
) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{case}: exit status\n{describe}"
    );
    match column {
        Column::Output => {
            assert!(output.stdout.is_empty(), "{case}: -o wrote to stdout");
            assert_bytes_eq_in(case, &fs::read(target).unwrap(), &setup.want);
        }
        Column::X => {
            for (name, bytes) in &setup.members {
                let got = fs::read(dir.join(name))
                    .unwrap_or_else(|e| panic!("{case}: {name}: {e}\n{describe}"));
                assert_bytes_eq_in(&format!("{case}: {name}"), &got, bytes);
            }
            assert_eq!(
                names(dir).len(),
                setup.members.len(),
                "{case}: {:?}",
                names(dir)
            );
        }
        _ => assert_bytes_eq_in(case, &output.stdout, &setup.want),
    }
}

fn check_failure(
    case: &str,
    column: Column,
    setup: &Setup,
    output: &Output,
    dir: &Path,
    message: &str,
    describe: &str,
) {
    assert_eq!(
        output.status.code(),
        Some(1),
        "{case}: exit status\n{describe}"
    );
    let stderr = assert_exit(output, 1);
    assert!(!stderr.is_empty(), "{case}: no message\n{describe}");
    for line in stderr.lines() {
        assert!(
            line.starts_with("rangecat: ") && line.contains(message),
            "{case}: want each line `rangecat: ...{message}...`\n{describe}"
        );
    }
    match column {
        Column::Fetch | Column::Segments => {
            let stdout = &output.stdout;
            assert!(
                stdout.len() < setup.want.len(),
                "{case}: all bytes and exit 1"
            );
            assert_bytes_eq_in(case, stdout, &setup.want[..stdout.len()]);
        }
        _ => assert!(
            output.stdout.is_empty(),
            "{case}: wrote {} bytes\n{describe}",
            output.stdout.len()
        ),
    }
    // Nothing under a final name, no temporary left: only whole, right members of `x`.
    let left = names(dir);
    if column == Column::X {
        let extracted = left
            .iter()
            .filter(|name| setup.members.iter().any(|(n, _)| n == *name))
            .count();
        assert!(
            extracted < setup.members.len(),
            "{case}: every member extracted, and exit 1\n{describe}"
        );
    }
    for name in left {
        let member = setup.members.iter().find(|(n, _)| *n == name);
        match (column, member) {
            (Column::X, Some((_, bytes))) => {
                assert_bytes_eq_in(
                    &format!("{case}: {name} left"),
                    &fs::read(dir.join(&name)).unwrap(),
                    bytes,
                );
            }
            _ => panic!("{case}: left {name:?} in the directory\n{describe}"),
        }
    }
}

/// The names in `dir`.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn fault_matrix_fetch() {
    run_column(Column::Fetch);
}

#[test]
fn fault_matrix_output_file() {
    run_column(Column::Output);
}

#[test]
fn fault_matrix_ls() {
    run_column(Column::Ls);
}

#[test]
fn fault_matrix_cat() {
    run_column(Column::Cat);
}

#[test]
fn fault_matrix_x() {
    run_column(Column::X);
}

#[test]
fn fault_matrix_segments() {
    run_column(Column::Segments);
}
