//! rangecat against the fault-injecting server (`util::server`): servers that ignore Range,
//! refuse HEAD or suffix ranges, cut connections mid-body, change between requests, stall,
//! or answer 416. Each test checks the bytes, the requests that produced them, or the error.
//!
//! The first tests check the server itself over a raw socket, so that a failure below is
//! rangecat's and not the harness's.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::util::command::TestCommand;
use crate::util::errors::assert_runtime_error;
use crate::util::server::{ETAG_V1, Mode, Server};
use crate::util::{self, assert_bytes_eq};

const LEN: usize = 1000;
const PATH: &str = "/file.bin";

/// `rangecat [options] URL [ranges]` against `server`.
fn command<'a>(server: &'a Server, options: &[&str], ranges: &[&str]) -> TestCommand<'a> {
    let mut command = TestCommand::against(server);
    command.args(options).arg(server.url(PATH)).args(ranges);
    command
}

/// Runs `rangecat [options] URL [ranges]` against `server`.
fn run(server: &Server, options: &[&str], ranges: &[&str]) -> Output {
    command(server, options, ranges).output()
}

/// `run`, asserting success; returns stdout.
#[track_caller]
fn fetch(server: &Server, options: &[&str], ranges: &[&str]) -> Vec<u8> {
    command(server, options, ranges).stdout()
}

/// The data's slices, concatenated.
fn slices(data: &[u8], spans: &[std::ops::Range<usize>]) -> Vec<u8> {
    spans
        .iter()
        .flat_map(|s| data[s.clone()].to_vec())
        .collect()
}

// ---- The server itself, over a raw socket ----

struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `request` and reads one response: the head byte by byte (so the connection can be
/// reused), then Content-Length body bytes or as many as arrive before EOF.
fn exchange(stream: &mut TcpStream, request: &str, is_head: bool) -> RawResponse {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert!(head.len() < 64 * 1024, "response head too long");
        let n = stream.read(&mut byte).unwrap();
        assert_eq!(n, 1, "connection closed inside the response head");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let mut lines = head.trim_end().split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| l.split_once(':').unwrap())
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut response = RawResponse {
        status,
        headers,
        body: Vec::new(),
    };
    let len: usize = response.header("content-length").unwrap().parse().unwrap();
    if !is_head {
        let mut chunk = [0u8; 4096];
        while response.body.len() < len {
            let want = (len - response.body.len()).min(chunk.len());
            match stream.read(&mut chunk[..want]) {
                Ok(0) | Err(_) => break,
                Ok(n) => response.body.extend_from_slice(&chunk[..n]),
            }
        }
    }
    response
}

fn get(range: Option<&str>, extra: &str) -> String {
    let range = range.map(|r| format!("Range: {r}\r\n")).unwrap_or_default();
    format!("GET {PATH} HTTP/1.1\r\nHost: test\r\n{range}{extra}\r\n")
}

#[test]
fn server_speaks_rfc_9110_ranges_on_a_kept_alive_connection() {
    let data = util::data(LEN);
    let server = Server::start(data.clone(), Mode::Ranges);
    let mut stream = TcpStream::connect(server.addr()).unwrap();

    let r = exchange(&mut stream, &get(Some("bytes=10-19"), ""), false);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("bytes 10-19/1000"));
    assert_eq!(r.header("etag"), Some(ETAG_V1));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert!(r.header("last-modified").is_some() && r.header("date").is_some());
    assert_bytes_eq(&r.body, &data[10..20]);

    let r = exchange(&mut stream, &get(Some("bytes=-100"), ""), false);
    assert_eq!(
        (r.status, r.header("content-range")),
        (206, Some("bytes 900-999/1000"))
    );
    assert_bytes_eq(&r.body, &data[900..]);

    let r = exchange(
        &mut stream,
        &format!("HEAD {PATH} HTTP/1.1\r\nHost: test\r\n\r\n"),
        true,
    );
    assert_eq!((r.status, r.header("content-length")), (200, Some("1000")));

    let r = exchange(&mut stream, &get(None, ""), false);
    assert_eq!(r.status, 200);
    assert_bytes_eq(&r.body, &data);

    let r = exchange(&mut stream, &get(Some("bytes=2000-"), ""), false);
    assert_eq!(
        (r.status, r.header("content-range")),
        (416, Some("bytes */1000"))
    );

    let r = exchange(
        &mut stream,
        &get(Some("bytes=0-9"), "If-Range: \"old\"\r\n"),
        false,
    );
    assert_eq!(
        r.status, 200,
        "a non-matching If-Range must get the whole body"
    );
    assert_bytes_eq(&r.body, &data);

    let r = exchange(
        &mut stream,
        &get(Some("bytes=0-9"), &format!("If-Range: {ETAG_V1}\r\n")),
        false,
    );
    assert_eq!(r.status, 206);

    let methods: Vec<String> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["GET", "GET", "HEAD", "GET", "GET", "GET", "GET"]);
    assert_eq!(server.requests()[0].range(), Some("bytes=10-19"));
}

#[test]
fn server_cuts_the_first_bodies_in_drop_after_mode() {
    let data = util::data(LEN);
    let server = Server::start(data.clone(), Mode::drop_after(300, 1));
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let r = exchange(&mut stream, &get(Some("bytes=0-999"), ""), false);
    assert_eq!((r.status, r.header("content-length")), (206, Some("1000")));
    assert_bytes_eq(&r.body, &data[..300]);

    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let r = exchange(&mut stream, &get(Some("bytes=300-999"), ""), false);
    assert_bytes_eq(&r.body, &data[300..]);
}

#[test]
fn server_fault_modes_answer_as_named() {
    let head = format!("HEAD {PATH} HTTP/1.1\r\nHost: test\r\n\r\n");
    let cases: [(Mode, String, bool, u16); 5] = [
        (Mode::IgnoresRange, get(Some("bytes=0-9"), ""), false, 200),
        (Mode::RefusesHead, head.clone(), true, 405),
        (Mode::RefusesSuffix, get(Some("bytes=-10"), ""), false, 501),
        (Mode::Always416, get(Some("bytes=0-9"), ""), false, 416),
        (Mode::Status(404), get(Some("bytes=0-9"), ""), false, 404),
    ];
    for (mode, request, is_head, status) in cases {
        let server = Server::start(util::data(LEN), mode.clone());
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        let r = exchange(&mut stream, &request, is_head);
        assert_eq!(r.status, status, "{mode:?}");
    }
    // ChangesAfterFirst: new validators from the second request on.
    let server = Server::start(util::data(LEN), Mode::ChangesAfterFirst);
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let first = exchange(&mut stream, &get(Some("bytes=0-9"), ""), false);
    let second = exchange(&mut stream, &get(Some("bytes=0-9"), ""), false);
    assert_eq!(first.header("etag"), Some(ETAG_V1));
    assert_eq!(second.header("etag"), Some("\"v2\""));
    assert_ne!(
        first.header("last-modified"),
        second.header("last-modified")
    );
}

#[test]
fn server_stops_a_stalled_response_promptly_when_dropped() {
    let server = Server::start(
        util::data(LEN),
        Mode::StallAfterHeaders(Duration::from_secs(20)),
    );
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(get(Some("bytes=0-99"), "").as_bytes())
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 206"));
    let started = Instant::now();
    drop(server);
    // The worker notices the stop flag and closes without sending the body.
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
}

// ---- rangecat against the faults ----

#[test]
fn every_mode_that_can_serve_serves_the_same_bytes() {
    let data = util::data(LEN);
    let ranges = ["0:10", "-100:", "200:300", ":-900", "5+3", "150:250"];
    let want = slices(&data, &[0..10, 900..1000, 200..300, 0..100, 5..8, 150..250]);
    let modes = [
        Mode::Ranges,
        Mode::IgnoresRange,
        Mode::RefusesHead,
        Mode::RefusesSuffix,
        Mode::drop_after(5, 1),
    ];
    for mode in modes {
        let server = Server::start(data.clone(), mode.clone());
        let output = command(&server, &[], &ranges)
            .case(format!("{mode:?}"))
            .success();
        assert!(output.stdout == want, "{mode:?}: wrong bytes");
    }
}

#[test]
fn server_ignoring_range_is_read_in_few_requests() {
    let data = util::data(LEN);
    let server = Server::start(data.clone(), Mode::IgnoresRange);
    let got = fetch(&server, &[], &["500:510", "0:10", "900:1000", "0:10"]);
    assert_bytes_eq(&got, &slices(&data, &[500..510, 0..10, 900..1000, 0..10]));
    let requests = server.requests();
    assert!(
        requests.len() <= 2,
        "{} requests:\n{}",
        requests.len(),
        server.summary()
    );
}

#[test]
fn refused_head_falls_back_to_a_one_byte_get_probe() {
    let data = util::data(LEN);
    let server = Server::start(data.clone(), Mode::RefusesHead);
    let got = fetch(&server, &[], &[":-100"]);
    assert_bytes_eq(&got, &data[..900]);
    let requests = server.requests();
    assert!(requests.len() >= 2, "requests:\n{}", server.summary());
    assert_eq!(
        requests[0].method,
        "HEAD",
        "requests:\n{}",
        server.summary()
    );
    assert_eq!(
        (requests[1].method.as_str(), requests[1].range()),
        ("GET", Some("bytes=0-0")),
        "requests:\n{}",
        server.summary()
    );
}

#[test]
fn refused_suffix_range_is_replaced_by_an_explicit_one() {
    let data = util::data(LEN);
    let server = Server::start(data.clone(), Mode::RefusesSuffix);
    let got = fetch(&server, &[], &["-100:"]);
    assert_bytes_eq(&got, &data[900..]);
    let requests = server.requests();
    assert_eq!(
        requests[0].range(),
        Some("bytes=-100"),
        "requests:\n{}",
        server.summary()
    );
    assert!(
        requests.iter().any(|r| r.range() == Some("bytes=900-999")),
        "no explicit range for the last 100 bytes:\n{}",
        server.summary()
    );
}

#[test]
fn broken_connection_is_resumed_from_the_first_missing_byte() {
    let data = util::data(LEN);
    let server = Server::start(data.clone(), Mode::drop_after(300, 1));
    let got = fetch(&server, &[], &["0:1000"]);
    assert_bytes_eq(&got, &data);
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "requests:\n{}", server.summary());
    assert_eq!(requests[0].range(), Some("bytes=0-999"));
    assert_eq!(
        requests[1].range(),
        Some("bytes=300-999"),
        "requests:\n{}",
        server.summary()
    );
    assert_eq!(
        requests[1].header("if-range"),
        Some(ETAG_V1),
        "requests:\n{}",
        server.summary()
    );
}

#[test]
fn connection_broken_more_often_than_retries_allow_is_an_error() {
    let server = Server::start(util::data(LEN), Mode::drop_after(300, 2));
    let output = run(&server, &["--retries", "1"], &["0:1000"]);
    assert_runtime_error(&output);
    server.assert_requests(2, "server");
}

#[test]
fn two_retries_survive_two_broken_connections() {
    let data = util::data(LEN);
    let server = Server::start(data.clone(), Mode::drop_after(300, 2));
    let got = fetch(&server, &["--retries", "2"], &["0:1000"]);
    assert_bytes_eq(&got, &data);
    assert_eq!(
        server.ranges(),
        [
            Some("bytes=0-999".into()),
            Some("bytes=300-999".into()),
            Some("bytes=600-999".into())
        ]
    );
}

#[test]
fn resource_changed_between_requests_is_an_error() {
    let server = Server::start(util::data(LEN), Mode::ChangesAfterFirst);
    let output = run(&server, &[], &["0:10", "500:510"]);
    let message = assert_runtime_error(&output);
    assert!(
        message.contains("changed"),
        "message: {message}\nrequests:\n{}",
        server.summary()
    );
    // Whatever was written, the second version's bytes were not spliced in after the first's.
    assert!(
        output.stdout.len() <= 10,
        "wrote {} bytes",
        output.stdout.len()
    );
}

#[test]
fn stalled_body_times_out_within_the_timeout() {
    let server = Server::start(
        util::data(LEN),
        Mode::StallAfterHeaders(Duration::from_secs(20)),
    );
    // With `--retries 0` one stall of 1 s; by default (one retry) the request is sent again
    // and stalls again: two.
    let mut sent = 0;
    for (retries, stalls) in [("0", 1), ("1", 2)] {
        let started = Instant::now();
        let output = run(
            &server,
            &["--timeout", "1", "--retries", retries],
            &["0:100"],
        );
        let elapsed = started.elapsed();
        let message = assert_runtime_error(&output);
        assert!(message.contains("timed out"), "message: {message}");
        let what = format!("--timeout 1 --retries {retries}");
        util::assert_took_about(elapsed, Duration::from_secs(stalls), &what);
        sent += stalls as usize;
        server.assert_requests(sent, &what);
    }
}

#[test]
fn range_starting_past_the_end_outputs_nothing() {
    let server = Server::start(util::data(LEN), Mode::Always416);
    let output = command(&server, &[], &["5000:"]).success();
    assert!(output.stdout.is_empty());
    server.assert_requests(1, "server");
}

#[test]
fn strict_range_starting_past_the_end_names_the_range_and_length() {
    let server = Server::start(util::data(LEN), Mode::Always416);
    let output = run(&server, &["--strict"], &["5000:"]);
    let message = assert_runtime_error(&output);
    assert!(message.contains("5000"), "message: {message}");
    assert!(message.contains("1000"), "message: {message}");
    assert!(output.stdout.is_empty());
}

#[test]
fn large_body_is_byte_exact_whole_and_in_pieces() {
    let len = 1536 * 1024 + 7;
    let data = util::data(len);
    let server = Server::start(data.clone(), Mode::Ranges);
    assert_bytes_eq(&fetch(&server, &[], &[]), &data);
    let got = fetch(
        &server,
        &[],
        &["0:1000", "1MiB:", "5000:6000", "-10:", "0x100+0x100"],
    );
    let want = slices(
        &data,
        &[0..1000, 1 << 20..len, 5000..6000, len - 10..len, 256..512],
    );
    assert_bytes_eq(&got, &want);
}

#[test]
fn large_body_from_a_server_ignoring_range_is_byte_exact() {
    let len = 1536 * 1024 + 7;
    let data = util::data(len);
    let server = Server::start(data.clone(), Mode::IgnoresRange);
    let got = fetch(&server, &[], &["1MiB+10", "-10:", "100:200"]);
    let want = slices(&data, &[1 << 20..(1 << 20) + 10, len - 10..len, 100..200]);
    assert_bytes_eq(&got, &want);
}
