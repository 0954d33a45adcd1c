//! `rangecat URL RANGE...` against httpmock: the exact requests on the wire (Range, If-Range,
//! Accept-Encoding, extra headers), how many of each (`assert_hits`), and the bytes written.
//!
//! Every mock serves slices of `util::data(LEN)`; a request no mock expects gets httpmock's
//! 404, which makes rangecat fail, so an unexpected request fails the test too.

use std::ops::Range;

use httpmock::Method::HEAD;
use httpmock::prelude::*;
use httpmock::{Mock, When};

use crate::util::command::TestCommand;
use crate::util::mock_log::LoggedMockServer;
use crate::util::{self, assert_bytes_eq, assert_bytes_eq_in};

const LEN: usize = 1000;
const PATH: &str = "/file.bin";
const ETAG: &str = "\"e1\"";

/// A GET mock that expects `Range: {range_header}` and answers 206 with `span` of the data.
fn partial<'a>(server: &'a MockServer, range_header: &str, span: Range<usize>) -> Mock<'a> {
    partial_with(server, range_header, span, |when| when, ETAG)
}

/// `partial`, with extra request expectations and the ETag to answer with.
fn partial_with<'a>(
    server: &'a MockServer,
    range_header: &str,
    span: Range<usize>,
    expect: impl FnOnce(When) -> When,
    etag: &str,
) -> Mock<'a> {
    let body = util::data(LEN)[span.clone()].to_vec();
    server.mock(|when, then| {
        expect(when.method(GET).path(PATH).header("range", range_header));
        then.status(206)
            .header(
                "content-range",
                format!("bytes {}-{}/{LEN}", span.start, span.end - 1),
            )
            .header("accept-ranges", "bytes")
            .header("content-type", "application/octet-stream")
            .header("etag", etag)
            .body(body);
    })
}

/// A HEAD mock: 200 with the length and validators, no body.
fn head(server: &MockServer) -> Mock<'_> {
    server.mock(|when, then| {
        when.method(HEAD).path(PATH);
        then.status(200)
            .header("content-length", LEN.to_string())
            .header("accept-ranges", "bytes")
            .header("content-type", "application/octet-stream")
            .header("etag", ETAG);
    })
}

/// Runs `rangecat -v [options] URL [ranges]`, asserts success and returns stdout. A failure
/// shows the requests the server received, and `-v` rangecat's view of them.
#[track_caller]
fn fetch(server: &LoggedMockServer, options: &[&str], ranges: &[&str]) -> Vec<u8> {
    TestCommand::against(server)
        .arg("-v")
        .args(options)
        .arg(server.url(PATH))
        .args(ranges)
        .stdout()
}

/// The expected output: the data's slices, concatenated.
fn slices(spans: &[Range<usize>]) -> Vec<u8> {
    let data = util::data(LEN);
    spans
        .iter()
        .flat_map(|s| data[s.clone()].to_vec())
        .collect()
}

/// A case of the request plan: the options and RANGE arguments, every GET rangecat must send
/// (its `Range` header, the span answered, exactly how many times), the HEAD probes it must
/// send (`None`: no HEAD mock, so a HEAD fails the run) and the spans written.
struct Plan {
    name: &'static str,
    options: &'static [&'static str],
    ranges: &'static [&'static str],
    gets: &'static [(&'static str, Range<usize>, usize)],
    heads: Option<usize>,
    want: &'static [Range<usize>],
}

const PLANS: &[Plan] = &[
    Plan {
        name: "one range is one request",
        options: &[],
        ranges: &["0:100"],
        gets: &[("bytes=0-99", 0..100, 1)],
        heads: Some(0),
        want: &[0..100],
    },
    Plan {
        name: "no range fetches the whole resource with an open range",
        options: &[],
        ranges: &[],
        gets: &[("bytes=0-", 0..LEN, 1)],
        heads: None,
        want: &[0..LEN],
    },
    Plan {
        name: "several ranges in order are one request each",
        options: &[],
        ranges: &["0:10", "100:110"],
        gets: &[("bytes=0-9", 0..10, 1), ("bytes=100-109", 100..110, 1)],
        heads: None,
        want: &[0..10, 100..110],
    },
    Plan {
        name: "overlapping ranges are merged and both written",
        options: &[],
        ranges: &["0:100", "50:150"],
        gets: &[("bytes=0-149", 0..150, 1)],
        heads: None,
        want: &[0..100, 50..150],
    },
    Plan {
        name: "touching ranges are merged",
        options: &[],
        ranges: &["0:100", "100:200"],
        gets: &[("bytes=0-199", 0..200, 1)],
        heads: None,
        want: &[0..100, 100..200],
    },
    Plan {
        name: "out of order and repeated ranges are downloaded once",
        options: &[],
        ranges: &["100:200", "0:50", "100:200"],
        gets: &[("bytes=100-199", 100..200, 1), ("bytes=0-49", 0..50, 1)],
        heads: None,
        want: &[100..200, 0..50, 100..200],
    },
    Plan {
        name: "a suffix range needs no probe",
        options: &[],
        ranges: &["-100:"],
        gets: &[("bytes=-100", 900..LEN, 1)],
        heads: Some(0),
        want: &[900..LEN],
    },
    Plan {
        name: "all but the last bytes needs a HEAD probe first",
        options: &[],
        ranges: &[":-100"],
        gets: &[("bytes=0-899", 0..900, 1)],
        heads: Some(1),
        want: &[0..900],
    },
    Plan {
        name: "ranges closer than --gap share a request",
        options: &["--gap", "10"],
        ranges: &["0:10", "15:20"],
        gets: &[("bytes=0-19", 0..20, 1)],
        heads: None,
        want: &[0..10, 15..20],
    },
    Plan {
        name: "ranges as far apart as --gap are separate requests",
        options: &["--gap", "5"],
        ranges: &["0:10", "15:20"],
        gets: &[("bytes=0-9", 0..10, 1), ("bytes=15-19", 15..20, 1)],
        heads: None,
        want: &[0..10, 15..20],
    },
    Plan {
        name: "--no-coalesce sends each range as given",
        options: &["--no-coalesce"],
        ranges: &["0:100", "50:150"],
        gets: &[("bytes=0-99", 0..100, 1), ("bytes=50-149", 50..150, 1)],
        heads: None,
        want: &[0..100, 50..150],
    },
    Plan {
        name: "--max-buffer 0 re-requests repeated bytes",
        options: &["--max-buffer", "0"],
        ranges: &["0:10", "50:60", "0:10"],
        gets: &[("bytes=0-9", 0..10, 2), ("bytes=50-59", 50..60, 1)],
        heads: None,
        want: &[0..10, 50..60, 0..10],
    },
];

#[test]
fn ranges_become_the_planned_requests_and_the_bytes_asked_for() {
    for plan in PLANS {
        let name = plan.name;
        let server = LoggedMockServer::start();
        let head = plan.heads.map(|_| head(&server));
        let gets: Vec<_> = plan
            .gets
            .iter()
            .map(|(range, span, calls)| (partial(&server, range, span.clone()), *range, *calls))
            .collect();
        let got = TestCommand::against(&server)
            .case(name)
            .arg("-v")
            .args(plan.options)
            .arg(server.url(PATH))
            .args(plan.ranges)
            .stdout();
        assert_bytes_eq_in(name, &got, &slices(plan.want));
        for (get, range, calls) in gets {
            assert_eq!(
                get.calls(),
                calls,
                "{name}: GET {range}; requests:\n{}",
                server.log()
            );
        }
        if let (Some(head), Some(calls)) = (head, plan.heads) {
            assert_eq!(
                head.calls(),
                calls,
                "{name}: HEAD; requests:\n{}",
                server.log()
            );
        }
    }
}

#[test]
fn later_requests_carry_if_range_with_the_first_etag() {
    let server = LoggedMockServer::start();
    let first = partial_with(
        &server,
        "bytes=0-9",
        0..10,
        |w| w.header_missing("if-range"),
        ETAG,
    );
    let second = partial_with(
        &server,
        "bytes=100-109",
        100..110,
        |w| w.header("if-range", ETAG),
        ETAG,
    );
    let got = fetch(&server, &[], &["0:10", "100:110"]);
    assert_bytes_eq(&got, &slices(&[0..10, 100..110]));
    first.assert_calls(1);
    second.assert_calls(1);
}

#[test]
fn weak_etag_is_never_sent_as_if_range() {
    let weak = "W/\"x\"";
    let server = LoggedMockServer::start();
    // No Last-Modified either, so rangecat has no strong validator to send.
    let first = partial_with(&server, "bytes=0-9", 0..10, |w| w, weak);
    let second = partial_with(
        &server,
        "bytes=100-109",
        100..110,
        |w| w.header_missing("if-range"),
        weak,
    );
    let got = fetch(&server, &[], &["0:10", "100:110"]);
    assert_bytes_eq(&got, &slices(&[0..10, 100..110]));
    first.assert_calls(1);
    second.assert_calls(1);
}

#[test]
fn requests_ask_for_the_identity_encoding_never_gzip() {
    let server = LoggedMockServer::start();
    let gzip = server.mock(|when, then| {
        when.path(PATH).header_includes("accept-encoding", "gzip");
        then.status(400).body("gzip asked for");
    });
    let get = partial_with(
        &server,
        "bytes=0-99",
        0..100,
        |w| w.header("accept-encoding", "identity"),
        ETAG,
    );
    let got = fetch(&server, &[], &["0:100"]);
    assert_bytes_eq(&got, &slices(&[0..100]));
    gzip.assert_calls(0);
    get.assert_calls(1);
}

#[test]
fn extra_headers_are_sent() {
    let server = LoggedMockServer::start();
    let get = partial_with(
        &server,
        "bytes=0-99",
        0..100,
        |w| w.header("authorization", "Bearer x"),
        ETAG,
    );
    let got = fetch(&server, &["-H", "Authorization: Bearer x"], &["0:100"]);
    assert_bytes_eq(&got, &slices(&[0..100]));
    get.assert_calls(1);
}

#[test]
fn redirects_are_followed() {
    let server = LoggedMockServer::start();
    let redirect = server.mock(|when, then| {
        when.method(GET).path("/old.bin");
        then.status(302).header("location", PATH);
    });
    let get = partial(&server, "bytes=0-99", 0..100);
    let output = TestCommand::against(&server)
        .arg(server.url("/old.bin"))
        .arg("0:100")
        .success();
    assert_bytes_eq(&output.stdout, &slices(&[0..100]));
    redirect.assert_calls(1);
    get.assert_calls(1);
}

#[test]
fn a_206_for_another_span_is_an_error_not_spliced_in() {
    let server = LoggedMockServer::start();
    // Asked for 0-99, answers with 100-199.
    let body = util::data(LEN)[100..200].to_vec();
    let get = server.mock(|when, then| {
        when.method(GET).path(PATH).header("range", "bytes=0-99");
        then.status(206)
            .header("content-range", format!("bytes 100-199/{LEN}"))
            .header("etag", ETAG)
            .body(body);
    });
    let output = util::rangecat()
        .arg(server.url(PATH))
        .arg("0:100")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stdout.is_empty(),
        "wrote {} bytes of the wrong span",
        output.stdout.len()
    );
    get.assert_calls(1);
}

#[test]
fn verbose_logs_requests_and_responses() {
    let server = LoggedMockServer::start();
    let get = partial(&server, "bytes=0-99", 0..100);
    let output = util::rangecat()
        .arg("-v")
        .arg(server.url(PATH))
        .arg("0:100")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The notes fix the content, not the exact layout:
    // `> GET ... bytes=0-99`, `< 206 ... bytes 0-99/1000`.
    let logged = |prefix: &str, parts: &[&str]| {
        stderr
            .lines()
            .any(|l| l.starts_with(prefix) && parts.iter().all(|p| l.contains(p)))
    };
    assert!(
        logged("> ", &["GET", "bytes=0-99"]),
        "request not logged:\n{stderr}"
    );
    assert!(
        logged("< ", &["206", "bytes 0-99/1000"]),
        "response not logged:\n{stderr}"
    );
    get.assert_calls(1);
}

#[test]
fn later_requests_go_straight_to_the_final_url() {
    let server = LoggedMockServer::start();
    let redirect = server.mock(|when, then| {
        when.method(GET).path("/old.bin");
        then.status(302).header("location", PATH);
    });
    let first = partial(&server, "bytes=0-9", 0..10);
    let second = partial(&server, "bytes=500-509", 500..510);
    let output = TestCommand::against(&server)
        .args([&server.url("/old.bin"), "0:10", "500:510"])
        .success();
    assert_bytes_eq(&output.stdout, &slices(&[0..10, 500..510]));
    redirect.assert_calls(1);
    first.assert_calls(1);
    second.assert_calls(1);
}

#[test]
fn ten_redirects_are_followed_and_an_eleventh_is_an_error() {
    let server = LoggedMockServer::start();
    let _get = partial(&server, "bytes=0-9", 0..10);
    // /chainN/0 -> /chainN/1 -> ... -> /chainN/(N-1) -> PATH: N redirects.
    for hops in [10usize, 11] {
        for i in 0..hops {
            let from = format!("/chain{hops}/{i}");
            let to = if i + 1 == hops {
                PATH.to_owned()
            } else {
                format!("/chain{hops}/{}", i + 1)
            };
            server.mock(|when, then| {
                when.method(GET).path(from.as_str());
                then.status(302).header("location", to.as_str());
            });
        }
    }
    let run = |hops: usize| {
        util::rangecat()
            .args([&server.url(format!("/chain{hops}/0")), "0:10"])
            .output()
            .unwrap()
    };
    let ten = run(10);
    assert!(
        ten.status.success(),
        "{}",
        String::from_utf8_lossy(&ten.stderr)
    );
    assert_bytes_eq(&ten.stdout, &slices(&[0..10]));
    let eleven = run(11);
    let message = crate::util::errors::assert_runtime_error(&eleven);
    assert!(eleven.stdout.is_empty());
    assert!(message.to_lowercase().contains("redirect"), "{message}");
}
