//! Short and length-less answers (issue 9, items 1 and 2): a 206 that ends before what was
//! asked (CDNs and media servers cap large and open-ended ranges) is completed from where it
//! ended, each byte still fetched once; `Content-Range: bytes a-b/*` (length unknown) serves
//! absolute ranges exactly and the whole resource until the server says it ended; a chunked
//! 200 without a length serves every RANGE from forward passes, end-relative ones through a
//! bounded tail window. rangecat never exits 0 with fewer bytes than a RANGE selects.

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

// ---- A 206 that starts elsewhere is still an error; one that runs long gives the asked bytes ----

/// A mock answering `range` with a 206 of `content_range` and the bytes it names.
fn answer(server: &LoggedMockServer, range: &str, span: std::ops::Range<usize>, total: &str) {
    let body = util::data(span.end)[span.clone()].to_vec();
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
fn a_continuation_that_starts_elsewhere_is_an_error() {
    for (case, rest) in [("starts elsewhere", 20..100), ("starts before", 5..100)] {
        for total in ["1000", "*"] {
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
fn an_answer_that_runs_long_gives_the_asked_bytes() {
    // README: a 206 that starts where asked and runs past it is used (busybox httpd), on
    // the first request as on a continuation.
    for total in ["1000", "*"] {
        let server = LoggedMockServer::start();
        answer(&server, "bytes=0-99", 0..10, total);
        answer(&server, "bytes=10-99", 10..200, total);
        let got = TestCommand::against(&server)
            .case(format!("continuation, length {total}"))
            .args([&server.url(PATH), "0:100"])
            .stdout();
        assert_bytes_eq(&got, &util::data(100));
        let server = LoggedMockServer::start();
        answer(&server, "bytes=0-99", 0..200, total);
        let got = TestCommand::against(&server)
            .case(format!("first, length {total}"))
            .args([&server.url(PATH), "0:100"])
            .stdout();
        assert_bytes_eq(&got, &util::data(100));
    }
}

#[test]
fn a_first_answer_that_starts_elsewhere_is_an_error() {
    let cases = [
        ("starts elsewhere", "0:100", 10..100, "1000"),
        ("starts before", "50:100", 0..100, "1000"),
    ];
    for (case, range, span, total) in cases {
        for total in [total, "*"] {
            let server = LoggedMockServer::start();
            let (start, end) = range.split_once(':').unwrap();
            let end: usize = end.parse().unwrap();
            let asked = format!("bytes={start}-{}", end - 1);
            answer(&server, &asked, span.clone(), total);
            let output = TestCommand::against(&server)
                .case(format!("{case}, length {total}"))
                .args([&server.url(PATH), range])
                .output();
            let message = assert_runtime_error(&output);
            // Refused on its head, for its Content-Range, not only once the body ran long.
            assert!(
                message.contains(&format!("answered {asked} with Content-Range")),
                "{case}: {message}"
            );
            assert!(output.stdout.is_empty(), "{case}: wrote bytes");
        }
    }
}

// ---- Item 1: `Content-Range: bytes a-b/*`, the length unknown ----

#[test]
fn an_unknown_length_whole_file_is_read_until_the_server_says_it_ended() {
    let data = util::random_bytes(3 * MIB);
    let server = Server::start(data.clone(), Mode::CapsUnknownLength(256 * KIB));
    let got = command(&server, &[], &[]).stdout();
    assert_bytes_eq(&got, &data);
    let mut expected = open_chain(0, 3 * MIB, 256 * KIB);
    // The request past the last byte is answered 416: the end.
    expected.push(format!("bytes={}-", 3 * MIB));
    assert_eq!(ranges(&server), expected);
}

#[test]
fn unknown_length_absolute_ranges_are_served_exactly() {
    let data = util::data(10_000);
    let server = Server::start(data.clone(), Mode::CapsUnknownLength(300));
    let got = command(&server, &[], &["0:1000"]).stdout();
    assert_bytes_eq(&got, &data[..1000]);
    assert_eq!(ranges(&server), chain(0, 1000, 300));

    let server = Server::start(data.clone(), Mode::CapsUnknownLength(256));
    let got = command(&server, &[], &["2000:2600", "0:500", "100+50", "9000:"]).stdout();
    let want = [
        &data[2000..2600],
        &data[..500],
        &data[100..150],
        &data[9000..],
    ]
    .concat();
    assert_bytes_eq(&got, &want);
}

#[test]
fn unknown_length_under_j2_reads_everything() {
    let data = util::random_bytes(6 * MIB);
    let server = Server::start(data.clone(), Mode::CapsUnknownLength(MIB));
    let got = command(&server, &["-j", "2"], &[]).stdout();
    assert_bytes_eq(&got, &data);
    let got = command(&server, &["-j", "2"], &["1000:5000000"]).stdout();
    assert_bytes_eq(&got, &data[1000..5_000_000]);
}

#[test]
fn unknown_length_end_relative_ranges_are_an_error_that_says_so() {
    let server = Server::start(util::data(10_000), Mode::CapsUnknownLength(300));
    for range in ["-1000:", ":-10"] {
        let output = command(&server, &[], &["0:10", range]).output();
        let message = assert_runtime_error(&output);
        assert!(
            message.contains("did not say how long"),
            "{range}: {message}"
        );
        assert!(output.stdout.is_empty(), "{range}: wrote bytes");
    }
}

#[test]
fn an_unknown_length_range_past_the_end_never_exits_0_short() {
    let data = util::data(10_000);
    let server = Server::start(data.clone(), Mode::CapsUnknownLength(300));
    let output = command(&server, &[], &["9000:11000"]).output();
    assert_runtime_error(&output);
    assert!(output.stdout.len() <= 1000);
}

#[test]
fn an_unknown_length_open_range_past_the_end_outputs_nothing() {
    let server = Server::start(util::data(10_000), Mode::CapsUnknownLength(300));
    let output = command(&server, &[], &["20000:"]).success();
    assert!(
        output.stdout.is_empty(),
        "wrote {} bytes",
        output.stdout.len()
    );
    // The 416 tells no length, nor does the probe; the range is asked for again (416).
    assert_eq!(
        ranges(&server),
        ["bytes=20000-", "-", "bytes=0-0", "bytes=20000-"]
    );
}

// ---- Item 2: a chunked 200 without any length, Range ignored ----

#[test]
fn no_length_absolute_ranges_in_order_are_one_forward_pass() {
    let data = util::random_bytes(MIB);
    let server = Server::start(data.clone(), Mode::ChunkedNoLength);
    let got = command(&server, &[], &[]).stdout();
    assert_bytes_eq(&got, &data);
    server.assert_requests(1, "whole file");

    let server = Server::start(data.clone(), Mode::ChunkedNoLength);
    let got = command(&server, &[], &["0:1000"]).stdout();
    assert_bytes_eq(&got, &data[..1000]);
    server.assert_requests(1, "0:1000");

    let server = Server::start(data.clone(), Mode::ChunkedNoLength);
    let got = command(&server, &[], &["0:100", "5000+100", "900000:"]).stdout();
    let want = [&data[..100], &data[5000..5100], &data[900_000..]].concat();
    assert_bytes_eq(&got, &want);
    server.assert_requests(1, "ascending ranges");
}

#[test]
fn no_length_ranges_out_of_order_request_the_body_again() {
    let data = util::data(10_000);
    let server = Server::start(data.clone(), Mode::ChunkedNoLength);
    let got = command(&server, &[], &["5000:5100", "0:100", "-50:"]).stdout();
    let want = [&data[5000..5100], &data[..100], &data[9950..]].concat();
    assert_bytes_eq(&got, &want);
    // 0:100 lies behind the pass: a second one; -50: then reads that pass to its end.
    server.assert_requests(2, "out of order");
}

#[test]
fn no_length_end_relative_ranges_read_to_the_end_through_a_tail_window() {
    let data = util::random_bytes(MIB);
    for (range, want) in [
        ("-1000:", &data[MIB - 1000..]),
        (":-1000", &data[..MIB - 1000]),
        ("-1000:-10", &data[MIB - 1000..MIB - 10]),
        ("10:-1000", &data[10..MIB - 1000]),
        ("-3000+100", &data[MIB - 3000..MIB - 2900]),
        ("-2000000:", &data[..]),
    ] {
        let server = Server::start(data.clone(), Mode::ChunkedNoLength);
        let got = command(&server, &[], &[range]).case(range).stdout();
        assert_bytes_eq(&got, want);
        if range.starts_with('-') && range.ends_with(':') {
            // `-N:` is asked as `bytes=-N` without the length: its 200 is the pass.
            assert_eq!(ranges(&server), [range_header_of_suffix(range)], "{range}");
        } else {
            // No request can be formed without the length: a probe (HEAD, then GET
            // bytes=0-0, both without a length), then the pass.
            assert_eq!(ranges(&server), ["-", "bytes=0-0", "bytes=0-"], "{range}");
        }
    }
}

/// The `Range` sent first for a RANGE that starts `-N`: `bytes=-N`.
fn range_header_of_suffix(range: &str) -> String {
    let n = range[1..].trim_end_matches(':');
    format!("bytes=-{n}")
}

#[test]
fn no_length_tail_windows_are_bounded_by_max_buffer() {
    let server = Server::start(util::data(10_000), Mode::ChunkedNoLength);
    for range in ["-5000:", ":-5000"] {
        let output = command(&server, &["--max-buffer", "4096"], &[range]).output();
        let message = assert_runtime_error(&output);
        assert!(message.contains("--max-buffer"), "{range}: {message}");
        assert!(output.stdout.is_empty(), "{range}: wrote bytes");
    }
}

#[test]
fn no_length_ranges_past_the_end_clip_or_fail_under_strict() {
    let data = util::data(10_000);
    let server = Server::start(data.clone(), Mode::ChunkedNoLength);
    let got = command(&server, &[], &["9000:20000", "30000:"]).stdout();
    assert_bytes_eq(&got, &data[9000..]);
    let output = command(&server, &["--strict"], &["9000:20000"]).output();
    let message = assert_runtime_error(&output);
    assert!(message.contains("10000"), "{message}");
}

#[test]
fn a_206_that_runs_past_what_was_asked_gives_the_asked_bytes() {
    // busybox httpd answers `bytes=0-0` with `206 bytes 0-LEN-1/LEN`: the byte asked for is
    // taken, the rest dropped with the connection, and the length learned.
    let data = util::random_bytes(64 * MIB);
    let server = Server::start(data.clone(), Mode::RunsToEnd);
    let got = TestCommand::against(&server)
        .arg(server.url("/f"))
        .arg("0:1")
        .stdout();
    assert_eq!(got, data[..1]);
    let got = TestCommand::against(&server)
        .arg(server.url("/f"))
        .args(["100:200", "1000:1100", "-j", "2"])
        .stdout();
    assert_eq!(got, [&data[100..200], &data[1000..1100]].concat());
    // Three answers of 64 MiB each, dropped after their first bytes: what the sockets'
    // buffers took at most.
    assert!(
        server.body_bytes_sent() < 32 * MIB,
        "{} body bytes sent: the rest was read",
        server.body_bytes_sent()
    );
    let info = TestCommand::against(&server)
        .args(["info", "--json"])
        .arg(server.url("/f"))
        .stdout();
    let info: serde_json::Value = serde_json::from_slice(&info).unwrap();
    assert_eq!(info["length"], 64 * MIB, "{info}");
    assert_eq!(info["ranges"], true, "{info}");
}

#[test]
fn a_200_to_a_suffix_range_gives_way_to_an_explicit_range() {
    // busybox httpd answers `bytes=-N` with the whole file, and serves `bytes=A-B`: the 200
    // is dropped after its head, the last bytes asked for explicitly.
    let data = util::random_bytes(64 * MIB);
    let server = Server::start(data.clone(), Mode::RunsToEnd);
    let got = TestCommand::against(&server)
        .arg(server.url("/f"))
        .arg("-4KiB:")
        .stdout();
    assert_bytes_eq(&got, &data[data.len() - 4 * KIB..]);
    let last = format!("bytes={}-{}", data.len() - 4 * KIB, data.len() - 1);
    assert_eq!(
        server.ranges(),
        [Some("bytes=-4096".to_owned()), Some(last)],
        "the suffix, then the explicit range"
    );
    assert!(server.body_bytes_sent() < 32 * MIB, "the 200 was read");
    // A server that ignores Range altogether costs one head more, and the bytes are right.
    let server = Server::start(data.clone(), Mode::IgnoresRange);
    let got = TestCommand::against(&server)
        .arg(server.url("/f"))
        .arg("-4KiB:")
        .stdout();
    assert_bytes_eq(&got, &data[data.len() - 4 * KIB..]);
    server.assert_requests(2, "the suffix's 200 dropped, then one pass");
}
