//! Retries that respect the server: 429/502/503/504 and connections that broke before the
//! answer are sent again up to `--retries` times, after the server's `Retry-After` or a
//! backoff; other statuses never are; a 403 in the middle of an operation names its range.
//! Waits are measured in the fault server's own request log, not with a sleep.

use std::process::Output;
use std::time::{Duration, SystemTime};

use crate::util::command::TestCommand;
use crate::util::errors::{assert_exit, assert_runtime_error};
use crate::util::fixtures::unused_url;
use crate::util::server::{Mode, Server, http_date};
use crate::util::{self, assert_bytes_eq};

const LEN: usize = 1000;
const PATH: &str = "/file.bin";

/// Runs `rangecat [options] URL [ranges]` against `server`, whatever its outcome.
fn run(server: &Server, options: &[&str], ranges: &[&str]) -> (Output, String) {
    let mut command = TestCommand::against(server);
    command.args(options).arg(server.url(PATH)).args(ranges);
    let output = command.output();
    let described = command.describe(&output);
    (output, described)
}

/// Runs and asserts success with exactly the first LEN bytes; returns stderr.
#[track_caller]
fn fetch_all(server: &Server, options: &[&str]) -> String {
    let (output, described) = run(server, options, &["0:1000"]);
    assert!(output.status.success(), "{described}");
    assert_bytes_eq(&output.stdout, &util::data(LEN));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn retry_after_seconds_are_waited_before_the_retry() {
    let server = Server::start(util::data(LEN), Mode::status_then(503, 1, Some("1")));
    let stderr = fetch_all(&server, &["-v", "--retries", "2"]);
    server.assert_requests(2, "one 503, one retry");
    let gaps = server.gaps();
    assert!(gaps[0] >= Duration::from_secs(1), "retried after {gaps:?}");
    assert!(gaps[0] < Duration::from_secs(3), "retried after {gaps:?}");
    assert!(
        stderr.contains("* 503 Service Unavailable; retrying in 1.0 s (1 of 2)"),
        "{stderr}"
    );
    // The retry asks for exactly what the first request asked for.
    let ranges = server.ranges();
    assert_eq!(ranges[0], ranges[1], "{}", server.summary());
}

#[test]
fn retry_after_as_a_date_is_waited_until() {
    // Two whole seconds ahead: whatever second the client reads, at least one is left.
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let date = http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(now + 2));
    let server = Server::start(util::data(LEN), Mode::status_then(429, 1, Some(&date)));
    fetch_all(&server, &[]);
    server.assert_requests(2, "one 429, one retry");
    let gaps = server.gaps();
    assert!(gaps[0] >= Duration::from_secs(1), "retried after {gaps:?}");
    assert!(gaps[0] < Duration::from_secs(4), "retried after {gaps:?}");
}

#[test]
fn backoff_without_retry_after_waits_at_least_the_base_delay() {
    let server = Server::start(util::data(LEN), Mode::status_then(503, 2, None));
    let stderr = fetch_all(&server, &["-v", "--retries", "2"]);
    server.assert_requests(3, "two 503s, two retries");
    let gaps = server.gaps();
    // 250 ms, then twice that, each plus up to as much again.
    assert!(gaps[0] >= Duration::from_millis(250), "waits {gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(500), "waits {gaps:?}");
    assert!(gaps.iter().all(|g| *g < Duration::from_secs(3)), "{gaps:?}");
    assert!(
        stderr.contains("(1 of 2)") && stderr.contains("(2 of 2)"),
        "{stderr}"
    );
}

#[test]
fn overload_and_gateway_answers_are_retried() {
    for status in [429, 502, 503, 504] {
        let server = Server::start(util::data(LEN), Mode::status_then(status, 1, None));
        fetch_all(&server, &["--retries", "1"]);
        server.assert_requests(2, &format!("{status} then a retry"));
    }
}

#[test]
fn retries_run_out_with_an_error_naming_the_status() {
    let server = Server::start(util::data(LEN), Mode::status_then(503, 100, Some("0")));
    let (output, described) = run(&server, &["--retries", "2"], &["0:1000"]);
    let message = assert_runtime_error(&output);
    assert!(
        message.contains("HTTP 503 Service Unavailable"),
        "{message}\n{described}"
    );
    assert!(output.stdout.is_empty());
    server.assert_requests(3, "the request and two retries");
}

#[test]
fn other_statuses_are_never_retried() {
    for status in [400, 401, 403, 404, 500, 501] {
        let server = Server::start(util::data(LEN), Mode::status_then(status, 1, Some("0")));
        let (output, described) = run(&server, &["--retries", "3"], &["0:1000"]);
        let message = assert_runtime_error(&output);
        // The first request's failure reads as it always did: no range in it.
        let want = format!("HTTP {status} ");
        assert!(
            message.starts_with(&format!("rangecat: {want}")),
            "{message}"
        );
        assert!(!message.contains("bytes="), "{message}\n{described}");
        server.assert_requests(1, &format!("{status}: no retry"));
    }
}

#[test]
fn retries_zero_never_retries() {
    let server = Server::start(util::data(LEN), Mode::status_then(503, 1, Some("0")));
    let (output, _) = run(&server, &["--retries", "0"], &["0:1000"]);
    let message = assert_runtime_error(&output);
    assert!(message.contains("HTTP 503"), "{message}");
    server.assert_requests(1, "--retries 0, a 503");

    let server = Server::start(util::data(LEN), Mode::HangUpThen { times: 1 });
    let (output, _) = run(&server, &["--retries", "0"], &["0:1000"]);
    assert_runtime_error(&output);
    server.assert_requests(1, "--retries 0, no answer");
}

#[test]
fn a_connection_closed_before_the_answer_is_retried() {
    let server = Server::start(util::data(LEN), Mode::HangUpThen { times: 1 });
    let stderr = fetch_all(&server, &["-v", "--retries", "1"]);
    server.assert_requests(2, "no answer, then a retry");
    assert!(
        server.gaps()[0] >= Duration::from_millis(250),
        "{:?}",
        server.gaps()
    );
    assert!(stderr.contains("; retrying in "), "{stderr}");
}

#[test]
fn a_refused_connection_is_retried_then_an_error() {
    let output = util::rangecat()
        .args(["-v", "--retries", "2", &unused_url(), "0:10"])
        .output()
        .unwrap();
    let stderr = assert_exit(&output, 1);
    let retries: Vec<&str> = stderr.lines().filter(|l| l.contains("retrying")).collect();
    assert_eq!(retries.len(), 2, "{stderr}");
    assert!(
        retries[0].ends_with("(1 of 2)") && retries[1].ends_with("(2 of 2)"),
        "{stderr}"
    );
}

#[test]
fn a_403_in_the_middle_of_an_operation_names_the_range() {
    // The first range is served; the URL "expires" before the second.
    let server = Server::start(
        util::data(LEN),
        Mode::StatusAfter {
            status: 403,
            after: 1,
        },
    );
    let (output, described) = run(&server, &["--retries", "2"], &["0:100", "500:600"]);
    let message = assert_runtime_error(&output);
    assert_eq!(
        message,
        format!(
            "rangecat: HTTP 403 Forbidden for bytes=500-599: {}",
            server.url(PATH)
        ),
        "{described}"
    );
    server.assert_requests(2, "a 403 is not retried");
    assert_eq!(
        server.ranges(),
        [Some("bytes=0-99".into()), Some("bytes=500-599".into())]
    );
}
