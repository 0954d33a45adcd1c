//! Redirects and credentials, as curl does them (README, "What goes on the wire"): a redirect
//! to another origin (127.0.0.2) carries no `Authorization`, `Cookie` or `Proxy-Authorization`,
//! neither on the redirect nor on the later requests that go straight to the final URL, unless
//! `--location-trusted`; a redirect within the origin keeps them; `-u` is Basic auth; a
//! redirect from https to http is refused unless `--allow-insecure-redirect`.

use httpmock::prelude::*;

use crate::util::command::TestCommand;
use crate::util::errors::assert_runtime_error;
use crate::util::mock_log::LoggedMockServer;
use crate::util::server::{Mode, Server};
use crate::util::tls_server::TlsServer;
use crate::util::{self, assert_bytes_eq};

const LEN: usize = 1000;
const CREDENTIALS: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

/// Origin A (httpmock on 127.0.0.1) redirecting `/f` to origin B (the fault server on
/// 127.0.0.2), and B.
fn two_origins() -> (LoggedMockServer, Server) {
    let b = Server::start_on("127.0.0.2", util::data(LEN), Mode::Ranges);
    let a = LoggedMockServer::start();
    let target = b.url("/f");
    a.mock(|when, then| {
        when.method(GET).path("/f");
        then.status(302).header("location", target.as_str());
    });
    (a, b)
}

/// Fetches two ranges through the redirect with `options`; asserts the bytes and returns the
/// header names B received on each request.
fn fetch_through(a: &LoggedMockServer, b: &Server, options: &[&str]) -> Vec<Vec<String>> {
    let out = TestCommand::against(a)
        .args(options)
        .args([&a.url("/f"), "0:10", "500:510"])
        .stdout();
    let data = util::data(LEN);
    assert_bytes_eq(&out, &[&data[0..10], &data[500..510]].concat());
    b.assert_requests(
        2,
        "the first range after the redirect, the second straight to B",
    );
    b.requests()
        .iter()
        .map(|r| r.headers.iter().map(|(n, _)| n.clone()).collect())
        .collect()
}

const SECRET_HEADERS: [&str; 4] = [
    "-H",
    "Authorization: Bearer s3cret",
    "-H",
    "Cookie: session=s3cret",
];

#[test]
fn credentials_never_reach_another_origin() {
    for options in [
        &[
            &SECRET_HEADERS[..],
            &["-H", "Proxy-Authorization: Basic eA==", "-H", "X-Keep: yes"],
        ]
        .concat()[..],
        &["-u", "alice:s3cret", "-H", "X-Keep: yes"][..],
    ] {
        let (a, b) = two_origins();
        for names in fetch_through(&a, &b, options) {
            for credential in CREDENTIALS {
                assert!(
                    !names.iter().any(|n| n == credential),
                    "{options:?}: B received {credential}: {names:?}"
                );
            }
            assert!(
                names.iter().any(|n| n == "x-keep"),
                "{options:?}: {names:?}"
            );
        }
    }
}

#[test]
fn location_trusted_sends_them_on() {
    let (a, b) = two_origins();
    let options = [&SECRET_HEADERS[..], &["--location-trusted"]].concat();
    for names in fetch_through(&a, &b, &options) {
        for credential in ["authorization", "cookie"] {
            assert!(names.iter().any(|n| n == credential), "{names:?}");
        }
    }
}

#[test]
fn a_redirect_within_the_origin_keeps_credentials() {
    let server = LoggedMockServer::start();
    let redirect = server.mock(|when, then| {
        when.method(GET)
            .path("/old")
            .header("authorization", "Bearer s3cret");
        then.status(301).header("location", "/new");
    });
    let data = util::data(LEN);
    let served = server.mock(|when, then| {
        when.method(GET)
            .path("/new")
            .header("authorization", "Bearer s3cret")
            .header("cookie", "session=s3cret")
            .header("range", "bytes=0-9");
        then.status(206)
            .header("content-range", format!("bytes 0-9/{LEN}"))
            .body(&data[..10]);
    });
    let out = TestCommand::against(&server)
        .args(SECRET_HEADERS)
        .args([&server.url("/old"), "0:10"])
        .stdout();
    assert_bytes_eq(&out, &data[..10]);
    redirect.assert_calls(1);
    served.assert_calls(1);
}

#[test]
fn user_sends_basic_credentials() {
    let server = LoggedMockServer::start();
    let data = util::data(LEN);
    let served = server.mock(|when, then| {
        // RFC 7617: base64 of "alice:open sesame".
        when.method(GET)
            .path("/f")
            .header("authorization", "Basic YWxpY2U6b3BlbiBzZXNhbWU=");
        then.status(206)
            .header("content-range", format!("bytes 0-9/{LEN}"))
            .body(&data[..10]);
    });
    let out = TestCommand::against(&server)
        .args(["-u", "alice:open sesame", &server.url("/f"), "0:10"])
        .stdout();
    assert_bytes_eq(&out, &data[..10]);
    served.assert_calls(1);
}

#[test]
fn a_redirect_from_https_to_http_is_refused_unless_allowed() {
    let https = TlsServer::start(util::data(LEN));
    let http = Server::start(util::data(LEN), Mode::Ranges);
    let url = https.url(&format!("/to/{}", http.url("/f")));
    let ca = https.pki.ca_pem();
    let refused = util::rangecat()
        .arg("--cacert")
        .arg(&ca)
        .args([&url, "0:10"])
        .output()
        .unwrap();
    let message = assert_runtime_error(&refused);
    assert!(message.contains("plain http"), "{message}");
    assert!(refused.stdout.is_empty());
    http.assert_requests(0, "refused before any request to the http origin");
    let out = TestCommand::against(&http)
        .arg("--cacert")
        .arg(&ca)
        .args(["--allow-insecure-redirect", &url, "0:10"])
        .stdout();
    assert_bytes_eq(&out, &util::data(LEN)[..10]);
    http.assert_requests(1, "allowed");
}
