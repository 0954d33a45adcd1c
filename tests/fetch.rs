//! `rangecat URL RANGE...` against httpmock: the exact requests on the wire (Range, If-Range,
//! Accept-Encoding, extra headers), how many of each (`assert_hits`), and the bytes written.
//!
//! Every mock serves slices of `util::data(LEN)`; a request no mock expects gets httpmock's
//! 404, which makes rangecat fail, so an unexpected request fails the test too.

use std::ops::Range;

use httpmock::Method::HEAD;
use httpmock::prelude::*;
use httpmock::{Mock, When};

use crate::util::{self, assert_bytes_eq};

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

/// Runs `rangecat -v [options] URL [ranges]`, asserts
/// success and returns stdout. `-v` puts the requests in the failure message.
fn fetch(server: &MockServer, options: &[&str], ranges: &[&str]) -> Vec<u8> {
    let output = util::rangecat()
        .arg("-v")
        .args(options)
        .arg(server.url(PATH))
        .args(ranges)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "rangecat {options:?} URL {ranges:?} failed with {:?}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The expected output: the data's slices, concatenated.
fn slices(spans: &[Range<usize>]) -> Vec<u8> {
    let data = util::data(LEN);
    spans
        .iter()
        .flat_map(|s| data[s.clone()].to_vec())
        .collect()
}

#[test]
fn one_range_is_one_request() {
    let server = MockServer::start();
    let get = partial(&server, "bytes=0-99", 0..100);
    let head = head(&server);
    let got = fetch(&server, &[], &["0:100"]);
    assert_bytes_eq(&got, &slices(&[0..100]));
    get.assert_calls(1);
    head.assert_calls(0);
}

#[test]
fn no_range_fetches_the_whole_resource_with_an_open_range() {
    let server = MockServer::start();
    let get = partial(&server, "bytes=0-", 0..LEN);
    let got = fetch(&server, &[], &[]);
    assert_bytes_eq(&got, &slices(&[0..LEN]));
    get.assert_calls(1);
}

#[test]
fn several_ranges_in_order_are_one_request_each() {
    let server = MockServer::start();
    let first = partial(&server, "bytes=0-9", 0..10);
    let second = partial(&server, "bytes=100-109", 100..110);
    let got = fetch(&server, &[], &["0:10", "100:110"]);
    assert_bytes_eq(&got, &slices(&[0..10, 100..110]));
    first.assert_calls(1);
    second.assert_calls(1);
}

#[test]
fn overlapping_ranges_are_merged_and_both_written() {
    let server = MockServer::start();
    let get = partial(&server, "bytes=0-149", 0..150);
    let got = fetch(&server, &[], &["0:100", "50:150"]);
    assert_bytes_eq(&got, &slices(&[0..100, 50..150]));
    get.assert_calls(1);
}

#[test]
fn touching_ranges_are_merged() {
    let server = MockServer::start();
    let get = partial(&server, "bytes=0-199", 0..200);
    let got = fetch(&server, &[], &["0:100", "100:200"]);
    assert_bytes_eq(&got, &slices(&[0..100, 100..200]));
    get.assert_calls(1);
}

#[test]
fn out_of_order_and_repeated_ranges_are_downloaded_once() {
    let server = MockServer::start();
    let first = partial(&server, "bytes=100-199", 100..200);
    let second = partial(&server, "bytes=0-49", 0..50);
    let got = fetch(&server, &[], &["100:200", "0:50", "100:200"]);
    assert_bytes_eq(&got, &slices(&[100..200, 0..50, 100..200]));
    first.assert_calls(1);
    second.assert_calls(1);
}

#[test]
fn suffix_range_needs_no_probe() {
    let server = MockServer::start();
    let head = head(&server);
    let get = partial(&server, "bytes=-100", 900..LEN);
    let got = fetch(&server, &[], &["-100:"]);
    assert_bytes_eq(&got, &slices(&[900..LEN]));
    get.assert_calls(1);
    head.assert_calls(0);
}

#[test]
fn all_but_the_last_bytes_needs_a_head_probe_first() {
    let server = MockServer::start();
    let head = head(&server);
    let get = partial(&server, "bytes=0-899", 0..900);
    let got = fetch(&server, &[], &[":-100"]);
    assert_bytes_eq(&got, &slices(&[0..900]));
    head.assert_calls(1);
    get.assert_calls(1);
}

#[test]
fn ranges_closer_than_gap_share_a_request() {
    let server = MockServer::start();
    let get = partial(&server, "bytes=0-19", 0..20);
    let got = fetch(&server, &["--gap", "10"], &["0:10", "15:20"]);
    assert_bytes_eq(&got, &slices(&[0..10, 15..20]));
    get.assert_calls(1);
}

#[test]
fn ranges_as_far_apart_as_gap_are_separate_requests() {
    let server = MockServer::start();
    let first = partial(&server, "bytes=0-9", 0..10);
    let second = partial(&server, "bytes=15-19", 15..20);
    let got = fetch(&server, &["--gap", "5"], &["0:10", "15:20"]);
    assert_bytes_eq(&got, &slices(&[0..10, 15..20]));
    first.assert_calls(1);
    second.assert_calls(1);
}

#[test]
fn no_coalesce_sends_each_range_as_given() {
    let server = MockServer::start();
    let first = partial(&server, "bytes=0-99", 0..100);
    let second = partial(&server, "bytes=50-149", 50..150);
    let got = fetch(&server, &["--no-coalesce"], &["0:100", "50:150"]);
    assert_bytes_eq(&got, &slices(&[0..100, 50..150]));
    first.assert_calls(1);
    second.assert_calls(1);
}

#[test]
fn zero_max_buffer_re_requests_repeated_bytes() {
    let server = MockServer::start();
    let first = partial(&server, "bytes=0-9", 0..10);
    let second = partial(&server, "bytes=50-59", 50..60);
    let got = fetch(&server, &["--max-buffer", "0"], &["0:10", "50:60", "0:10"]);
    assert_bytes_eq(&got, &slices(&[0..10, 50..60, 0..10]));
    first.assert_calls(2);
    second.assert_calls(1);
}

#[test]
fn later_requests_carry_if_range_with_the_first_etag() {
    let server = MockServer::start();
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
    let server = MockServer::start();
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
    let server = MockServer::start();
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
    let server = MockServer::start();
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
    let server = MockServer::start();
    let redirect = server.mock(|when, then| {
        when.method(GET).path("/old.bin");
        then.status(302).header("location", PATH);
    });
    let get = partial(&server, "bytes=0-99", 0..100);
    let output = util::rangecat()
        .arg(server.url("/old.bin"))
        .arg("0:100")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_bytes_eq(&output.stdout, &slices(&[0..100]));
    redirect.assert_calls(1);
    get.assert_calls(1);
}

#[test]
fn a_206_for_another_span_is_an_error_not_spliced_in() {
    let server = MockServer::start();
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
    let server = MockServer::start();
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
    let server = MockServer::start();
    let redirect = server.mock(|when, then| {
        when.method(GET).path("/old.bin");
        then.status(302).header("location", PATH);
    });
    let first = partial(&server, "bytes=0-9", 0..10);
    let second = partial(&server, "bytes=500-509", 500..510);
    let output = util::rangecat()
        .args([&server.url("/old.bin"), "0:10", "500:510"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_bytes_eq(&output.stdout, &slices(&[0..10, 500..510]));
    redirect.assert_calls(1);
    first.assert_calls(1);
    second.assert_calls(1);
}

#[test]
fn ten_redirects_are_followed_and_an_eleventh_is_an_error() {
    let server = MockServer::start();
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
