//! Secrets never printed: a userinfo password and the signature and credential parameters of
//! presigned URLs are shown as `REDACTED` in errors, `-v` lines, `info` and the proxy's log.

use std::time::{Duration, Instant};

use crate::util;
use crate::util::command::TestCommand;
use crate::util::errors::assert_exit;
use crate::util::raw_http::Client;
use crate::util::serve_process::Spawned;
use crate::util::server::{Mode, Server};

/// The secrets the URLs below carry: none may appear in anything rangecat prints.
const SECRETS: [&str; 4] = ["hunter2", "f00dfeed", "AKIAEXAMPLE", "s3cr3tsas"];

/// `server`'s URL for PATH with a password and presigned-URL parameters added.
fn secret_url(server: &Server, path: &str) -> String {
    let plain = server.url(path);
    let with_password = plain.replacen("http://", "http://alice:hunter2@", 1);
    format!(
        "{with_password}?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=f00dfeed&sig=s3cr3tsas&v=1"
    )
}

#[track_caller]
fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret:?}:\n{text}");
    }
    assert!(
        text.contains("REDACTED"),
        "{what} shows no REDACTED:\n{text}"
    );
}

#[test]
fn errors_and_verbose_lines_redact_secrets() {
    let server = Server::start(util::data(100), Mode::Status(404));
    let url = secret_url(&server, "/f");
    let cases = [vec![url.as_str()], vec!["ls", &url], vec!["info", &url]];
    for (args, verbose) in cases.iter().flat_map(|a| [(a, true), (a, false)]) {
        let mut command = util::rangecat();
        command.args(args);
        if verbose {
            command.arg("-v");
        }
        let output = command.output().unwrap();
        let stderr = assert_exit(&output, 1);
        let message = stderr.lines().last().unwrap_or_default();
        assert!(
            message.starts_with("rangecat: ") && message.contains("404"),
            "{args:?}: {stderr}"
        );
        assert_no_secret(&format!("{args:?} (-v: {verbose}) on stderr"), &stderr);
    }
}

#[test]
fn info_redacts_the_url_it_reports() {
    let server = Server::start(util::data(100), Mode::Ranges);
    let url = secret_url(&server, "/f");
    for format in [&[][..], &["--json"][..]] {
        let stdout = TestCommand::against(&server)
            .arg("info")
            .args(format)
            .arg(&url)
            .stdout();
        assert_no_secret("info", &String::from_utf8_lossy(&stdout));
    }
}

#[test]
fn the_proxy_log_redacts_the_request_target() {
    let upstream = Server::start(util::data(100), Mode::Ranges);
    let proxy = Spawned::start(&["--upstream", &upstream.url("")]);
    let target = "/f?X-Amz-Signature=f00dfeed&sig=s3cr3tsas&X-Amz-Credential=AKIAEXAMPLE";
    let response = Client::connect(proxy.addr).request("GET", target, &[]);
    assert_eq!(response.status, 200, "the proxy answered");
    // The access-log line is written once the response is complete: wait for it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !proxy.stderr().contains("\"GET /f?") {
        assert!(
            Instant::now() < deadline,
            "no access-log line:\n{}",
            proxy.stderr()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_no_secret("the access log", &proxy.stderr());
}
