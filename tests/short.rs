//! Short answers (issue 9, item 1): a 206 that ends before what was asked (CDNs and media
//! servers cap large and open-ended ranges) is completed from where it ended, each byte still
//! fetched once; one that starts elsewhere or runs long is still an error.

use httpmock::Method::GET;

use crate::util::command::TestCommand;
use crate::util::errors::assert_runtime_error;
use crate::util::mock_log::LoggedMockServer;
use crate::util::server::{Mode, Server};
use crate::util::zips::{self, Item};
use crate::util::{self, assert_bytes_eq};

const PATH: &str = "/file.bin";
const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// `rangecat [options] URL [ranges]` against `server`.
fn command<'a>(server: &'a Server, options: &[&str], ranges: &[&str]) -> TestCommand<'a> {
    let mut command = TestCommand::against(server);
    command.args(options).arg(server.url(PATH)).args(ranges);
    command
}

/// The Range headers the server received, in order (`-` for none).
fn ranges(server: &Server) -> Vec<String> {
    server
        .ranges()
        .into_iter()
        .map(|r| r.unwrap_or_else(|| "-".into()))
        .collect()
}

/// The requests that read `start..end` from a server capping answers at `cap` bytes: the
/// first asks for the span, each next one for the rest from where the last answer ended.
fn chain(start: usize, end: usize, cap: usize) -> Vec<String> {
    (start..end)
        .step_by(cap)
        .map(|from| format!("bytes={from}-{}", end - 1))
        .collect()
}

/// As `chain`, open-ended: `bytes=N-` each time.
fn open_chain(start: usize, end: usize, cap: usize) -> Vec<String> {
    (start..end)
        .step_by(cap)
        .map(|from| format!("bytes={from}-"))
        .collect()
}

// ---- Item 1: a 206 shorter than asked, with the real length ----

#[test]
fn a_capped_whole_file_is_read_in_twelve_requests_each_from_where_the_last_ended() {
    let data = util::random_bytes(3 * MIB);
    let server = Server::start(data.clone(), Mode::CapsAt(256 * KIB));
    let got = command(&server, &[], &[]).stdout();
    assert_bytes_eq(&got, &data);
    assert_eq!(ranges(&server), open_chain(0, 3 * MIB, 256 * KIB));
    server.assert_requests(12, "3 MiB capped at 256 KiB");
}

#[test]
fn a_capped_exact_range_is_completed_with_exact_requests() {
    let data = util::data(10_000);
    let server = Server::start(data.clone(), Mode::CapsAt(300));
    let got = command(&server, &[], &["0:1000"]).stdout();
    assert_bytes_eq(&got, &data[..1000]);
    assert_eq!(
        ranges(&server),
        [
            "bytes=0-999",
            "bytes=300-999",
            "bytes=600-999",
            "bytes=900-999"
        ]
    );
}

#[test]
fn capped_answers_to_several_ranges_fetch_each_byte_once() {
    let data = util::data(10_000);
    let server = Server::start(data.clone(), Mode::CapsAt(256));
    let got = command(&server, &[], &["0:500", "2000:2600", "-700:"]).stdout();
    let want = [&data[..500], &data[2000..2600], &data[9300..]].concat();
    assert_bytes_eq(&got, &want);
    let expected = [
        chain(0, 500, 256),
        chain(2000, 2600, 256),
        chain(9300, 10_000, 256),
    ]
    .concat();
    assert_eq!(ranges(&server), expected);
}

#[test]
fn a_capped_suffix_range_is_completed_explicitly() {
    let data = util::data(10_000);
    let server = Server::start(data.clone(), Mode::CapsAt(256));
    let got = command(&server, &[], &["-1000:"]).stdout();
    assert_bytes_eq(&got, &data[9000..]);
    let mut expected = vec!["bytes=-1000".to_string()];
    expected.extend(chain(9256, 10_000, 256));
    assert_eq!(ranges(&server), expected);
}

#[test]
fn capped_segments_under_j2_are_each_completed() {
    let data = util::random_bytes(13 * MIB);
    let server = Server::start(data.clone(), Mode::CapsAt(MIB));
    let got = command(&server, &["-j", "2"], &[]).stdout();
    assert_bytes_eq(&got, &data);
    // The first request takes one 4 MiB segment; the rest is cut into 4 MiB segments fetched
    // side by side, so only the set of requests is fixed, not their order.
    let mut got_ranges = ranges(&server);
    got_ranges.sort();
    let mut expected = [
        chain(0, 4 * MIB, MIB),
        chain(4 * MIB, 8 * MIB, MIB),
        chain(8 * MIB, 12 * MIB, MIB),
        chain(12 * MIB, 13 * MIB, MIB),
    ]
    .concat();
    expected.sort();
    assert_eq!(got_ranges, expected);
}

#[test]
fn a_capped_continuation_does_not_spend_the_retry_budget() {
    // With --retries 0 a broken body is an error at once; capped answers are not broken.
    let data = util::data(5000);
    let server = Server::start(data.clone(), Mode::CapsAt(1000));
    let got = command(&server, &["--retries", "0"], &["0:5000"]).stdout();
    assert_bytes_eq(&got, &data);
    server.assert_requests(5, "5000 bytes capped at 1000");
}

#[test]
fn ls_and_cat_work_through_a_capping_server() {
    let big = zips::noise(300 * KIB, 7);
    let small = b"hello, capped world\n".to_vec();
    let archive = zips::archive(&[
        Item::stored("big.bin", &big),
        Item::deflated("small.txt", &small),
        Item::deflated("again.bin", &big),
    ]);
    let server = Server::start(archive, Mode::CapsAt(16 * KIB));
    let url = server.url("/a.zip");
    let listing = TestCommand::against(&server).args(["ls", &url]).stdout();
    assert_eq!(
        String::from_utf8(listing).unwrap(),
        "big.bin\nsmall.txt\nagain.bin\n"
    );
    for (member, want) in [
        ("big.bin", &big),
        ("small.txt", &small),
        ("again.bin", &big),
    ] {
        let got = TestCommand::against(&server)
            .args(["cat", &url, member])
            .stdout();
        assert_bytes_eq(&got, want);
    }
}

// ---- A 206 that starts elsewhere or runs long is still an error ----

/// A mock answering `range` with a 206 of `content_range` and the bytes it names.
fn answer(server: &LoggedMockServer, range: &str, span: std::ops::Range<usize>, total: &str) {
    let body = util::data(1000)[span.clone()].to_vec();
    let content_range = format!("bytes {}-{}/{total}", span.start, span.end - 1);
    let range = range.to_owned();
    server.mock(move |when, then| {
        when.method(GET).path(PATH).header("range", range);
        then.status(206)
            .header("content-range", content_range)
            .header("etag", "\"v1\"")
            .body(body);
    });
}

#[test]
fn a_continuation_that_starts_elsewhere_or_runs_long_is_an_error() {
    for (case, rest) in [("starts elsewhere", 20..100), ("runs long", 10..200)] {
        {
            let total = "1000";
            let server = LoggedMockServer::start();
            answer(&server, "bytes=0-99", 0..10, total);
            answer(&server, "bytes=10-99", rest.clone(), total);
            let output = TestCommand::against(&server)
                .case(format!("{case}, length {total}"))
                .args([&server.url(PATH), "0:100"])
                .output();
            let message = assert_runtime_error(&output);
            assert!(
                message.contains("bytes=10-99"),
                "{case}: message does not name the request: {message}"
            );
            assert!(output.stdout.len() < 100, "{case}: exit 1 yet all bytes");
        }
    }
}

#[test]
fn a_first_answer_that_starts_elsewhere_or_runs_long_is_an_error() {
    for (case, span) in [("starts elsewhere", 10..100), ("runs long", 0..200)] {
        {
            let total = "1000";
            let server = LoggedMockServer::start();
            answer(&server, "bytes=0-99", span.clone(), total);
            let output = TestCommand::against(&server)
                .case(format!("{case}, length {total}"))
                .args([&server.url(PATH), "0:100"])
                .output();
            assert_runtime_error(&output);
            assert!(output.stdout.is_empty(), "{case}: wrote bytes");
        }
    }
}
