//! `rangecat serve` in front of each server of the real-server matrix (nginx, Apache httpd,
//! lighttpd, busybox httpd, uvicorn + Starlette, gunicorn + Werkzeug): each answer through the
//! proxy is the server's own answer to the same request (README, serve: Range forwarded
//! unchanged, 206/416/200 passed through), whatever framing the server chose (a length,
//! chunks, or a close, on a kept connection or not), and one client connection to the proxy
//! carries every request however the server treats its own connections.
//!
//! The expected answers come from the server itself, asked directly; a server that is not
//! installed is skipped (outside CI, see `util::real_server`).

use crate::dialects::{NAME, Server, site};
use crate::serve::{Running, config};
use crate::util::assert_bytes_eq;
use crate::util::raw_http::{Client, Response, multipart_parts};
use crate::util::real_server::Kind;

/// The requests asked of every server of a file of `dialects::LEN` (3 MiB and a bit): method
/// and Range.
const ASKED: [(&str, Option<&str>); 10] = [
    ("GET", None),
    ("GET", Some("bytes=0-0")),
    ("GET", Some("bytes=1000-1999")),
    ("GET", Some("bytes=-5000")),
    ("GET", Some("bytes=3000000-")),
    ("GET", Some("bytes=0-99,300000-300099")),
    ("GET", Some("bytes=4000000-")),
    ("HEAD", None),
    ("HEAD", Some("bytes=0-99")),
    ("GET", Some("bytes=262144-524287")),
];

/// Fields whose value must be the server's own, when the server sent them.
const KEPT_FIELDS: [&str; 4] = ["content-range", "etag", "last-modified", "accept-ranges"];

fn answers_through_the_proxy_are_the_servers_own(server: Server) {
    let Some(site) = site(server) else {
        return;
    };
    let proxy = Running::start(config(&site.base()));
    // One client connection for everything: the proxy keeps it whatever the server does with
    // its own (busybox and gunicorn close theirs after each answer).
    let mut client = Client::connect(proxy.addr);
    for (method, range) in ASKED {
        let headers: Vec<(&str, &str)> = range.iter().map(|r| ("Range", *r)).collect();
        let case = format!("{server:?}: {method} with Range {range:?}");
        let path = format!("/{NAME}");
        let direct = Client::connect(site.addr()).request(method, &path, &headers);
        let proxied = client.request(method, &path, &headers);
        assert_eq!(
            proxied.status, direct.status,
            "{case}: {proxied:?}\ndirect: {direct:?}"
        );
        assert!(proxied.complete, "{case}: {proxied:?}");
        for field in KEPT_FIELDS {
            assert_eq!(
                proxied.header(field),
                direct.header(field),
                "{case}: {field}\n{proxied:?}\ndirect: {direct:?}"
            );
        }
        same_body(&case, &proxied, &direct);
        if direct.status == 200 && method == "GET" {
            assert_bytes_eq(&proxied.body, &site.data);
        }
    }
}

/// The proxied body is the direct one; a multipart body's parts are (its boundary may be
/// drawn anew for each answer).
fn same_body(case: &str, proxied: &Response, direct: &Response) {
    let multipart = |r: &Response| {
        r.header("content-type")
            .filter(|t| t.starts_with("multipart/byteranges"))
            .map(|t| multipart_parts(t, &r.body))
    };
    match (multipart(proxied), multipart(direct)) {
        (Some(proxied), Some(direct)) => assert_eq!(proxied, direct, "{case}: parts"),
        (None, None) => assert_bytes_eq(&proxied.body, &direct.body),
        _ => panic!("{case}: one answer is multipart and the other not\n{proxied:?}\n{direct:?}"),
    }
}

#[test]
fn nginx_answers_through_the_proxy_are_its_own() {
    answers_through_the_proxy_are_the_servers_own(Server::Nginx);
}

#[test]
fn apache_answers_through_the_proxy_are_its_own() {
    answers_through_the_proxy_are_the_servers_own(Server::Real(Kind::Apache));
}

#[test]
fn lighttpd_answers_through_the_proxy_are_its_own() {
    answers_through_the_proxy_are_the_servers_own(Server::Real(Kind::Lighttpd));
}

#[test]
fn busybox_answers_through_the_proxy_are_its_own() {
    answers_through_the_proxy_are_the_servers_own(Server::Real(Kind::Busybox));
}

#[test]
fn starlette_answers_through_the_proxy_are_its_own() {
    answers_through_the_proxy_are_the_servers_own(Server::Real(Kind::Starlette));
}

#[test]
fn werkzeug_answers_through_the_proxy_are_its_own() {
    answers_through_the_proxy_are_the_servers_own(Server::Real(Kind::Werkzeug));
}

/// A body the server streams with no length (uvicorn and gunicorn send it chunked) arrives
/// whole through the proxy, twice on one client connection.
fn a_streamed_body_arrives_whole(kind: Kind) {
    let Some(site) = site(Server::Real(kind)) else {
        return;
    };
    let data = &site.data;
    let streamed = format!("/stream/{NAME}");
    // The witness: the server itself sends this body in chunks.
    let direct = Client::connect(site.addr()).request("GET", &streamed, &[]);
    assert_eq!(
        direct.header("transfer-encoding"),
        Some("chunked"),
        "{direct:?}"
    );
    assert_bytes_eq(&direct.body, data);
    let proxy = Running::start(config(&site.base()));
    let mut client = Client::connect(proxy.addr);
    for i in 0..2 {
        let proxied = client.request("GET", &streamed, &[]);
        assert_eq!(
            proxied.status,
            200,
            "{} answer {i}: {proxied:?}",
            kind.name()
        );
        assert!(proxied.complete, "{} answer {i}: {proxied:?}", kind.name());
        assert_bytes_eq(&proxied.body, data);
    }
}

#[test]
fn a_body_uvicorn_streams_arrives_whole() {
    a_streamed_body_arrives_whole(Kind::Starlette);
}

#[test]
fn a_body_gunicorn_streams_arrives_whole() {
    a_streamed_body_arrives_whole(Kind::Werkzeug);
}
