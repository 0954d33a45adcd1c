//! `rangecat serve`, checked on the wire against the Range And Streaming Spec: the numbered
//! Range rules and the header policy (fault-injecting server and hand-written upstreams), HEAD
//! and its fallback, content types, 502/504 and the single retry, backpressure (the RSS of a
//! separate proxy process under a slow reader), a client that hangs up, 200 concurrent
//! clients, open-proxy and traversal attempts, request limits, keep-alive, curl and nginx
//! interop, and SIGTERM.
//!
//! Clients speak raw HTTP/1.1 over a `TcpStream` (`util::raw_http`), so every status line,
//! header and body byte is exactly what the proxy sent; upstreams are the fault server
//! (`util::server`) or written by hand (`util::upstream`). Most tests run the proxy in-process
//! (`Proxy::bind` on 127.0.0.1:0); those about the command line, memory and signals spawn the
//! binary (`util::serve_process`). Every server listens on 127.0.0.1, every wait is bounded,
//! and spawned processes die on drop.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use rangecat::http::Transport;
use rangecat::proxy::{Proxy, ProxyConfig, Stopper};

use crate::util::curl::curl;
use crate::util::fixtures::free_port;
use crate::util::gate::Gate;
use crate::util::gzip::gzip_stored;
use crate::util::nginx::Nginx;
use crate::util::raw_http::{Client, IO_TIMEOUT, get, multipart_parts, raw, request_bytes};
use crate::util::serve_process::Spawned;
use crate::util::server::{self, Mode, Server};
use crate::util::upstream::{
    Upstream, canned, dropping_upstream, endless, head_header, head_target, silent_upstream,
};
use crate::util::{self, assert_bytes_eq};

/// The path requested where the path does not matter.
const FILE: &str = "/file.bin";

/// Length of the fault server's body in most tests.
const LEN: usize = 100_000;

// ---------------------------------------------------------------------------------------------
// The proxy in-process.

/// The proxy running in-process on 127.0.0.1; stopped on drop.
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    pub(crate) stopper: Stopper,
}

/// What `rangecat serve` would run with by default, for `upstream` (shorter timeouts).
pub(crate) fn config(upstream: &str) -> ProxyConfig {
    ProxyConfig {
        upstream: upstream.to_owned(),
        chunk_size: 256 * 1024,
        transport: Transport {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            ..Transport::default()
        },
        keepalive_timeout: Duration::from_secs(15),
        max_connections: 1024,
        log: None,
        s3: Default::default(),
        workers: 0,
    }
}

impl Running {
    pub(crate) fn start(config: ProxyConfig) -> Running {
        let proxy = Proxy::bind("127.0.0.1:0", config).expect("bind the proxy on 127.0.0.1:0");
        let addr = proxy.local_addr().expect("the proxy's address");
        let stopper = proxy.stopper().expect("the proxy's stopper");
        // Detached: `run` returns once stopped and its requests under way are done.
        thread::spawn(move || proxy.run());
        Running { addr, stopper }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stopper.stop();
    }
}

/// An in-process proxy to `upstream` with the default configuration.
fn proxy(upstream: &str) -> Running {
    Running::start(config(upstream))
}

/// A fault server in `mode` serving `LEN` random bytes, and the bytes.
fn fault_server(mode: Mode) -> (Server, Vec<u8>) {
    let data = util::random_bytes(LEN);
    (Server::start(data.clone(), mode), data)
}

// ---------------------------------------------------------------------------------------------
// Ranges: forwarded unchanged, 206, 416 and 200 passed through (README, "serve").

#[test]
fn a_range_is_forwarded_unchanged_and_the_206_passes_through() {
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let cases = [
        ("bytes=100-199", 100..200),
        ("bytes=-100", LEN - 100..LEN),
        ("bytes=99990-", 99_990..LEN),
        ("bytes=0-0", 0..1),
        ("bytes=5000-999999", 5000..LEN),
    ];
    for (i, (range, want)) in cases.into_iter().enumerate() {
        let response = get(proxy.addr, FILE, &[("Range", range)]);
        assert_eq!(response.status, 206, "{range}: {response:?}");
        response.assert_header(
            "content-range",
            &format!("bytes {}-{}/{LEN}", want.start, want.end - 1),
        );
        response.assert_header("content-length", &want.len().to_string());
        response.assert_header("accept-ranges", "bytes");
        response.assert_header("etag", server::ETAG_V1);
        response.assert_header("last-modified", server::LAST_MODIFIED_V1);
        response.assert_header("content-type", server::CONTENT_TYPE);
        assert!(response.complete, "{range}: {response:?}");
        assert_bytes_eq(&response.body, &data[want]);
        let seen = upstream.requests();
        assert_eq!(
            seen.len(),
            i + 1,
            "one upstream request each:\n{}",
            upstream.summary()
        );
        assert_eq!(seen[i].method, "GET");
        assert_eq!(seen[i].path, FILE);
        assert_eq!(
            seen[i].range(),
            Some(range),
            "the Range must arrive unchanged"
        );
    }
}

#[test]
fn a_request_without_range_gets_the_whole_body_without_range_headers_added() {
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let response = get(proxy.addr, FILE, &[]);
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_header("content-length", &LEN.to_string());
    response.assert_absent(&["content-range"]);
    assert_bytes_eq(&response.body, &data);
    let seen = upstream.requests();
    assert_eq!(seen.len(), 1, "{}", upstream.summary());
    assert_eq!(seen[0].range(), None, "the proxy must not invent a Range");
}

#[test]
fn a_body_many_chunks_long_arrives_byte_exact() {
    let data = util::random_bytes(3 * 1024 * 1024 + 123);
    let upstream = Server::start(data.clone(), Mode::Ranges);
    let proxy = Running::start(ProxyConfig {
        chunk_size: 4096,
        ..config(&upstream.url(""))
    });
    let whole = get(proxy.addr, FILE, &[]);
    assert_eq!(whole.status, 200, "{whole:?}");
    assert_bytes_eq(&whole.body, &data);
    let last = data.len() - 2;
    let inner = get(proxy.addr, FILE, &[("Range", &format!("bytes=1-{last}"))]);
    assert_eq!(inner.status, 206, "{inner:?}");
    assert_bytes_eq(&inner.body, &data[1..=last]);
}

#[test]
fn a_416_passes_through_with_the_upstream_content_range() {
    let (always, _) = fault_server(Mode::Always416);
    let proxy_always = proxy(&always.url(""));
    let response = get(proxy_always.addr, FILE, &[("Range", "bytes=0-9")]);
    assert_eq!(response.status, 416, "{response:?}");
    response.assert_header("content-range", &format!("bytes */{LEN}"));
    assert!(response.body.is_empty(), "{response:?}");
    assert_eq!(always.requests()[0].range(), Some("bytes=0-9"));

    let (ranges, _) = fault_server(Mode::Ranges);
    let proxy_ranges = proxy(&ranges.url(""));
    let past_end = format!("bytes={LEN}-");
    let response = get(proxy_ranges.addr, FILE, &[("Range", &past_end)]);
    assert_eq!(response.status, 416, "{response:?}");
    response.assert_header("content-range", &format!("bytes */{LEN}"));
    assert_eq!(ranges.requests()[0].range(), Some(past_end.as_str()));
}

#[test]
fn an_upstream_that_ignores_range_gives_the_client_200_and_the_whole_body() {
    let (upstream, data) = fault_server(Mode::IgnoresRange);
    let proxy = proxy(&upstream.url(""));
    let response = get(proxy.addr, FILE, &[("Range", "bytes=10-19")]);
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_header("content-length", &LEN.to_string());
    // Upstream advertised nothing: the proxy must not claim range support or a range.
    response.assert_absent(&["content-range", "accept-ranges"]);
    assert_bytes_eq(&response.body, &data);
    assert_eq!(upstream.requests()[0].range(), Some("bytes=10-19"));
}

#[test]
fn a_multi_range_request_is_forwarded_unchanged_and_the_answer_passed_through() {
    // The fault server answers a multi-range request with a 200 and everything.
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy_fault = proxy(&upstream.url(""));
    let response = get(proxy_fault.addr, FILE, &[("Range", "bytes=0-9,20-29")]);
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_header("content-length", &LEN.to_string());
    response.assert_absent(&["content-range"]);
    assert_bytes_eq(&response.body, &data);
    assert_eq!(upstream.requests()[0].range(), Some("bytes=0-9,20-29"));

    // An upstream that answers multipart/byteranges: passed through byte for byte.
    let boundary = "3d6b6a416f9b5";
    let mut body = Vec::new();
    for (first, last) in [(0, 9), (20, 29)] {
        body.extend_from_slice(
            format!(
                "\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n\
                 Content-Range: bytes {first}-{last}/{LEN}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&data[first..=last]);
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/byteranges; boundary={boundary}");
    let answer = canned(
        "HTTP/1.1 206 Partial Content",
        &[
            &format!("Content-Type: {content_type}"),
            &format!("Content-Length: {}", body.len()),
            "Accept-Ranges: bytes",
            "Connection: close",
        ],
        &body,
    );
    let multipart = Upstream::answering(move |_| answer.clone());
    let proxy_multi = proxy(&multipart.url(""));
    let response = get(proxy_multi.addr, FILE, &[("Range", "bytes=0-9,20-29")]);
    assert_eq!(response.status, 206, "{response:?}");
    response.assert_header("content-type", &content_type);
    response.assert_header("content-length", &body.len().to_string());
    response.assert_absent(&["content-range"]);
    assert_bytes_eq(&response.body, &body);
    let heads = multipart.heads();
    assert_eq!(
        head_header(&heads[0], "range"),
        Some("bytes=0-9,20-29"),
        "{heads:?}"
    );
}

#[test]
fn an_upstream_error_status_is_passed_through_with_its_body() {
    for code in [404u16, 500, 503] {
        let upstream = Server::start(Vec::new(), Mode::Status(code));
        let proxy = proxy(&upstream.url(""));
        let response = get(proxy.addr, FILE, &[("Range", "bytes=0-9")]);
        assert_eq!(response.status, code, "{response:?}");
        assert_eq!(
            response.body,
            format!("status {code}\n").as_bytes(),
            "{response:?}"
        );
        upstream.assert_requests(1, &format!("status {code}"));
    }
}

#[test]
fn an_upstream_that_breaks_mid_body_ends_the_client_connection() {
    let (upstream, data) = fault_server(Mode::drop_after(1000, 1));
    let proxy = proxy(&upstream.url(""));
    let started = Instant::now();
    let mut client = Client::connect(proxy.addr);
    let response = client.request("GET", FILE, &[]);
    // The status was sent before the break: the client must see a short body and a closed
    // connection, never a complete-looking answer or a hang.
    assert_eq!(response.status, 200, "{response:?}");
    assert!(!response.complete, "{response:?}");
    assert_bytes_eq(&response.body, &data[..1000]);
    assert!(client.closes_within(Duration::from_secs(2)));
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[test]
fn an_upstream_stalling_mid_body_ends_the_client_connection_after_the_timeout() {
    let (upstream, _) = fault_server(Mode::StallAfterHeaders(Duration::from_secs(30)));
    let mut config = config(&upstream.url(""));
    config.transport.timeout = Duration::from_secs(1);
    let proxy = Running::start(config);
    let started = Instant::now();
    let mut client = Client::connect(proxy.addr);
    let response = client.request("GET", FILE, &[("Range", "bytes=0-99")]);
    assert_eq!(response.status, 206, "{response:?}");
    assert!(!response.complete, "{response:?}");
    assert!(client.closes_within(Duration::from_secs(3)));
    util::assert_took_about(started.elapsed(), Duration::from_secs(1), "timeout 1 s");
}

// ---------------------------------------------------------------------------------------------
// Header pass-through.

#[test]
fn end_to_end_response_headers_pass_and_hop_by_hop_ones_stop() {
    let mut plain: Vec<u8> = (0..=255u8).collect();
    plain.extend_from_slice(b"\r\n\r\nHTTP/1.1 200 OK\r\n\0\0{\"json\": true}\n");
    let body = gzip_stored(&plain);
    let answer = canned(
        "HTTP/1.1 200 OK",
        &[
            "Content-Type: application/json",
            "Content-Encoding: gzip",
            &format!("Content-Length: {}", body.len()),
            "Content-Disposition: attachment; filename=\"data.json.gz\"",
            "Cache-Control: public, max-age=60",
            "Vary: Accept-Encoding",
            "Vary: Origin",
            "Set-Cookie: a=1",
            "Set-Cookie: b=2",
            "ETag: \"gz-1\"",
            "Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT",
            "Accept-Ranges: bytes",
            "X-End: 1",
            "Connection: close, X-Hop",
            "X-Hop: 1",
            "Keep-Alive: timeout=5",
            "Proxy-Authenticate: Basic realm=\"upstream\"",
            "Proxy-Connection: keep-alive",
            "Trailer: X-Checksum",
            "TE: trailers",
            "Upgrade: h2c",
        ],
        &body,
    );
    let upstream = Upstream::answering(move |_| answer.clone());
    let proxy = proxy(&upstream.url(""));
    let response = get(proxy.addr, "/data.json.gz", &[]);
    assert_eq!(response.status, 200, "{response:?}");
    for (name, value) in [
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
        ("content-length", body.len().to_string().as_str()),
        (
            "content-disposition",
            "attachment; filename=\"data.json.gz\"",
        ),
        ("cache-control", "public, max-age=60"),
        ("etag", "\"gz-1\""),
        ("last-modified", "Mon, 01 Jan 2024 00:00:00 GMT"),
        ("accept-ranges", "bytes"),
        ("x-end", "1"),
    ] {
        response.assert_header(name, value);
    }
    assert_eq!(
        response.all("vary"),
        ["Accept-Encoding", "Origin"],
        "{response:?}"
    );
    assert_eq!(response.all("set-cookie"), ["a=1", "b=2"], "{response:?}");
    response.assert_absent(&[
        "keep-alive",
        "x-hop",
        "proxy-authenticate",
        "proxy-connection",
        "trailer",
        "te",
        "upgrade",
        "transfer-encoding",
    ]);
    // The proxy's own Connection (about the client connection) is fine; upstream's is not.
    for value in response.all("connection") {
        assert!(
            value.eq_ignore_ascii_case("keep-alive") || value.eq_ignore_ascii_case("close"),
            "upstream's Connection leaked: {response:?}"
        );
    }
    // Encoded bytes pass as they are: not decoded, not re-encoded.
    assert_bytes_eq(&response.body, &body);
}

#[test]
fn a_chunked_upstream_body_is_reframed_not_altered() {
    let data = util::random_bytes(200_000);
    let mut chunked = Vec::new();
    let mut at = 0;
    for size in [1usize, 10, 4096, 70_000, 1, 65_536].into_iter().cycle() {
        if at == data.len() {
            break;
        }
        let size = size.min(data.len() - at);
        chunked.extend_from_slice(format!("{size:x}\r\n").as_bytes());
        chunked.extend_from_slice(&data[at..at + size]);
        chunked.extend_from_slice(b"\r\n");
        at += size;
    }
    chunked.extend_from_slice(b"0\r\nX-Checksum: 1234\r\n\r\n");
    let answer = canned(
        "HTTP/1.1 200 OK",
        &[
            "Content-Type: application/octet-stream",
            "Transfer-Encoding: chunked",
            "Trailer: X-Checksum",
            "Connection: close",
        ],
        &chunked,
    );
    let upstream = Upstream::answering(move |_| answer.clone());
    let proxy = proxy(&upstream.url(""));

    let response = get(proxy.addr, FILE, &[]);
    assert_eq!(response.status, 200, "{response:?}");
    assert!(response.complete, "{response:?}");
    response.assert_absent(&["trailer", "x-checksum"]);
    if let Some(length) = response.header("content-length") {
        assert_eq!(length, data.len().to_string(), "{response:?}");
        response.assert_absent(&["transfer-encoding"]);
    } else {
        response.assert_header("transfer-encoding", "chunked");
    }
    assert_bytes_eq(&response.body, &data);

    // An HTTP/1.0 client knows no chunked coding: the body ends with the connection.
    let (response, _client) = raw(proxy.addr, b"GET /file.bin HTTP/1.0\r\n\r\n");
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_absent(&["transfer-encoding", "trailer"]);
    assert_bytes_eq(&response.body, &data);
}

#[test]
fn request_headers_are_forwarded_and_hop_by_hop_ones_dropped() {
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let forwarded = [
        ("Range", "bytes=0-9"),
        ("If-Range", server::ETAG_V1),
        ("If-None-Match", "\"other\""),
        ("If-Modified-Since", "Sun, 31 Dec 2023 00:00:00 GMT"),
        ("Authorization", "Bearer secret-token"),
        ("X-Custom", "hello, world"),
        ("X-Name", "café"),
        ("Accept", "*/*"),
    ];
    let hop_by_hop = [
        ("Connection", "keep-alive, X-Private"),
        ("X-Private", "1"),
        ("Keep-Alive", "300"),
        ("TE", "trailers"),
        ("Upgrade", "websocket"),
        ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
        ("Proxy-Connection", "keep-alive"),
        ("Trailer", "X-Foo"),
    ];
    let mut headers = vec![("Host", "client.example")];
    headers.extend(forwarded);
    headers.extend(hop_by_hop);
    let response = get(proxy.addr, FILE, &headers);
    assert_eq!(response.status, 206, "{response:?}");
    assert_bytes_eq(&response.body, &data[..10]);

    let seen = upstream.requests();
    assert_eq!(seen.len(), 1, "{}", upstream.summary());
    let seen = &seen[0];
    for (name, value) in forwarded {
        assert_eq!(
            seen.header(name),
            Some(value),
            "{name} not forwarded: {seen:?}"
        );
    }
    for name in [
        "x-private",
        "keep-alive",
        "te",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
        "trailer",
    ] {
        assert_eq!(seen.header(name), None, "{name} forwarded: {seen:?}");
    }
    if let Some(connection) = seen.header("connection") {
        assert!(
            !connection.to_ascii_lowercase().contains("x-private"),
            "{seen:?}"
        );
    }
    // The upstream's own Host, never the client's.
    assert_eq!(
        seen.header("host"),
        Some(upstream.addr().to_string().as_str()),
        "{seen:?}"
    );
}

#[test]
fn if_range_reaches_the_upstream_so_a_stale_validator_gets_the_whole_body() {
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let fresh = get(
        proxy.addr,
        FILE,
        &[("Range", "bytes=0-9"), ("If-Range", server::ETAG_V1)],
    );
    assert_eq!(fresh.status, 206, "{fresh:?}");
    assert_bytes_eq(&fresh.body, &data[..10]);
    let stale = get(
        proxy.addr,
        FILE,
        &[("Range", "bytes=0-9"), ("If-Range", "\"old\"")],
    );
    assert_eq!(stale.status, 200, "{stale:?}");
    stale.assert_absent(&["content-range"]);
    assert_bytes_eq(&stale.body, &data);
    let seen = upstream.requests();
    assert_eq!(
        seen[1].header("if-range"),
        Some("\"old\""),
        "{}",
        upstream.summary()
    );
}

#[test]
fn a_header_value_with_utf8_bytes_passes_through() {
    // Raw UTF-8 (obs-text, RFC 9110 §5.5) is common in Content-Disposition; nginx passes it.
    let disposition = "attachment; filename=\"résumé.pdf\"";
    let answer = canned(
        "HTTP/1.1 200 OK",
        &[
            "Content-Type: application/pdf",
            &format!("Content-Disposition: {disposition}"),
            "X-Title: café",
            "Content-Length: 2",
            "Connection: close",
        ],
        b"ok",
    );
    let upstream = Upstream::answering(move |_| answer.clone());
    let proxy = proxy(&upstream.url(""));
    let response = get(proxy.addr, "/cv.pdf", &[]);
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_header("content-disposition", disposition);
    response.assert_header("x-title", "café");
    assert_eq!(response.body, b"ok");
}

#[test]
fn a_close_delimited_upstream_body_arrives_whole() {
    let data = util::random_bytes(300_000);
    let answer = canned(
        "HTTP/1.1 200 OK",
        &[
            "Content-Type: application/octet-stream",
            "Connection: close",
        ],
        &data,
    );
    let upstream = Upstream::answering(move |_| answer.clone());
    let proxy = proxy(&upstream.url(""));
    let mut client = Client::connect(proxy.addr);
    let response = client.request("GET", FILE, &[]);
    assert_eq!(response.status, 200, "{response:?}");
    assert!(response.complete, "{response:?}");
    assert_bytes_eq(&response.body, &data);
    // Framed (chunked) for an HTTP/1.1 client, so the connection may stay open.
    if response.header("content-length").is_none() && response.header("transfer-encoding").is_none()
    {
        assert!(client.closes_within(Duration::from_secs(2)));
    }
}

#[test]
fn a_redirect_is_passed_through_not_followed() {
    let (decoy, _) = fault_server(Mode::Ranges);
    let location = decoy.url("/elsewhere");
    let answer = canned(
        "HTTP/1.1 302 Found",
        &[
            &format!("Location: {location}"),
            "Content-Length: 0",
            "Connection: close",
        ],
        b"",
    );
    let upstream = Upstream::answering(move |_| answer.clone());
    let proxy = proxy(&upstream.url(""));
    let response = get(proxy.addr, FILE, &[]);
    assert_eq!(response.status, 302, "{response:?}");
    response.assert_header("location", &location);
    assert!(response.body.is_empty(), "{response:?}");
    decoy.assert_requests(0, "the proxy followed the redirect");
}

#[test]
fn a_304_passes_through_without_a_body() {
    let upstream = Upstream::answering(|head| {
        let not_modified = head_header(head, "if-none-match") == Some("\"abc\"")
            || head_header(head, "if-modified-since").is_some();
        if not_modified {
            canned(
                "HTTP/1.1 304 Not Modified",
                &[
                    "ETag: \"abc\"",
                    "Cache-Control: max-age=60",
                    "Connection: close",
                ],
                b"",
            )
        } else {
            canned(
                "HTTP/1.1 200 OK",
                &[
                    "Content-Type: text/plain",
                    "Content-Length: 5",
                    "ETag: \"abc\"",
                    "Connection: close",
                ],
                b"fresh",
            )
        }
    });
    let proxy = proxy(&upstream.url(""));
    let mut client = Client::connect(proxy.addr);
    for validator in [
        ("If-None-Match", "\"abc\""),
        ("If-Modified-Since", "Mon, 01 Jan 2024 00:00:00 GMT"),
    ] {
        let response = client.request("GET", "/page.txt", &[validator]);
        assert_eq!(response.status, 304, "{validator:?}: {response:?}");
        response.assert_header("etag", "\"abc\"");
        response.assert_header("cache-control", "max-age=60");
        response.assert_absent(&["transfer-encoding"]);
        if let Some(length) = response.header("content-length") {
            assert_eq!(length, "0", "{response:?}");
        }
    }
    // Had a body followed the 304s, it would be read here as the next status line.
    let response = client.request("GET", "/page.txt", &[]);
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body, b"fresh");
    let heads = upstream.heads();
    assert_eq!(heads.len(), 3, "{heads:?}");
    assert_eq!(head_header(&heads[0], "if-none-match"), Some("\"abc\""));
    assert_eq!(
        head_header(&heads[1], "if-modified-since"),
        Some("Mon, 01 Jan 2024 00:00:00 GMT")
    );
}

// ---------------------------------------------------------------------------------------------
// HEAD.

#[test]
fn head_is_forwarded_and_answered_without_a_body() {
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let mut client = Client::connect(proxy.addr);
    let response = client.request("HEAD", FILE, &[]);
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_header("content-length", &LEN.to_string());
    response.assert_header("accept-ranges", "bytes");
    response.assert_header("etag", server::ETAG_V1);
    response.assert_header("content-type", server::CONTENT_TYPE);
    // No body: the next answer on this connection starts right after the HEAD's headers.
    let next = client.request("GET", FILE, &[("Range", "bytes=0-4")]);
    assert_eq!(next.status, 206, "{next:?}");
    assert_bytes_eq(&next.body, &data[..5]);
    let seen = upstream.requests();
    assert_eq!(seen[0].method, "HEAD", "{}", upstream.summary());
    assert_eq!(seen.len(), 2, "{}", upstream.summary());
}

#[test]
fn head_falls_back_to_a_one_byte_get_when_upstream_refuses_head() {
    let (upstream, data) = fault_server(Mode::RefusesHead);
    let proxy = proxy(&upstream.url(""));
    let mut client = Client::connect(proxy.addr);
    let response = client.request("HEAD", FILE, &[]);
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_header("content-length", &LEN.to_string());
    response.assert_header("etag", server::ETAG_V1);
    response.assert_header("accept-ranges", "bytes");
    response.assert_absent(&["content-range"]);
    let next = client.request("GET", FILE, &[("Range", "bytes=5-9")]);
    assert_eq!(next.status, 206, "{next:?}");
    assert_bytes_eq(&next.body, &data[5..10]);
    let seen = upstream.requests();
    let summary = upstream.summary();
    assert_eq!(seen.len(), 3, "{summary}");
    assert_eq!(seen[0].method, "HEAD", "{summary}");
    assert_eq!(
        (seen[1].method.as_str(), seen[1].range()),
        ("GET", Some("bytes=0-0")),
        "{summary}"
    );
}

#[test]
fn head_falls_back_to_get_when_upstream_refuses_head_and_ignores_range() {
    let data = util::random_bytes(5000);
    let body = data.clone();
    let upstream = Upstream::answering(move |head| {
        if head.starts_with("HEAD ") {
            canned(
                "HTTP/1.1 501 Not Implemented",
                &["Content-Length: 0", "Connection: close"],
                b"",
            )
        } else {
            canned(
                "HTTP/1.1 200 OK",
                &[
                    "Content-Type: video/mp4",
                    "Content-Length: 5000",
                    "Connection: close",
                ],
                &body,
            )
        }
    });
    let proxy = proxy(&upstream.url(""));
    let mut client = Client::connect(proxy.addr);
    let response = client.request("HEAD", "/v.mp4", &[]);
    assert_eq!(response.status, 200, "{response:?}");
    response.assert_header("content-length", "5000");
    response.assert_header("content-type", "video/mp4");
    response.assert_absent(&["content-range"]);
    // No body went to the client: the next answer parses.
    let next = client.request("GET", "/v.mp4", &[]);
    assert_eq!(next.status, 200, "{next:?}");
    assert_bytes_eq(&next.body, &data);
    let heads = upstream.heads();
    assert!(heads[0].starts_with("HEAD /v.mp4 "), "{heads:?}");
    assert!(heads[1].starts_with("GET /v.mp4 "), "{heads:?}");
    assert_eq!(
        head_header(&heads[1], "range"),
        Some("bytes=0-0"),
        "{heads:?}"
    );
}

#[test]
fn head_fallback_on_an_empty_resource_answers_200_with_length_0() {
    // `GET bytes=0-0` of an empty resource is a 416 (`bytes */0`): for the client's HEAD
    // that still means "exists, 0 bytes", not "your range is unsatisfiable" (it sent none).
    let upstream = Server::start(Vec::new(), Mode::RefusesHead);
    let proxy = proxy(&upstream.url(""));
    let mut client = Client::connect(proxy.addr);
    let response = client.request("HEAD", "/empty.txt", &[]);
    assert_eq!(response.status, 200, "{response:?}\n{}", upstream.summary());
    response.assert_header("content-length", "0");
    response.assert_absent(&["content-range"]);
}

// ---------------------------------------------------------------------------------------------
// Content types.

#[test]
fn a_missing_content_type_is_inferred_from_the_extension() {
    let upstream = Upstream::answering(|_| {
        canned(
            "HTTP/1.1 200 OK",
            &["Content-Length: 1", "Connection: close"],
            b"x",
        )
    });
    let proxy = proxy(&upstream.url(""));
    for (path, want) in [
        ("/live/index.m3u8", "application/vnd.apple.mpegurl"),
        ("/live/INDEX.M3U8?token=1", "application/vnd.apple.mpegurl"),
        ("/movie.mp4", "video/mp4"),
        ("/noext", "application/octet-stream"),
        ("/dir.d/file", "application/octet-stream"),
        ("/x.unknownext", "application/octet-stream"),
    ] {
        let response = get(proxy.addr, path, &[]);
        assert_eq!(response.status, 200, "{path}: {response:?}");
        assert_eq!(response.all("content-type"), [want], "{path}: {response:?}");
        assert_eq!(response.body, b"x");
    }
}

#[test]
fn a_content_type_sent_by_upstream_is_never_replaced() {
    let upstream = Upstream::answering(|head| {
        let content_type = if head_target(head).ends_with(".m3u8") {
            "Content-Type: audio/mpegurl"
        } else {
            "Content-Type: text/plain; charset=utf-8"
        };
        canned(
            "HTTP/1.1 200 OK",
            &[content_type, "Content-Length: 1", "Connection: close"],
            b"x",
        )
    });
    let proxy = proxy(&upstream.url(""));
    for (path, want) in [
        ("/movie.mp4", "text/plain; charset=utf-8"),
        ("/noext", "text/plain; charset=utf-8"),
        ("/live/index.m3u8", "audio/mpegurl"),
    ] {
        let response = get(proxy.addr, path, &[]);
        assert_eq!(response.all("content-type"), [want], "{path}: {response:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Errors, timeouts, retries.

#[test]
fn an_unreachable_upstream_gives_502_quickly() {
    let port = free_port();
    let proxy = proxy(&format!("http://127.0.0.1:{port}"));
    let started = Instant::now();
    let mut client = Client::connect(proxy.addr);
    let response = client.request("GET", FILE, &[("Range", "bytes=0-9")]);
    assert_eq!(response.status, 502, "{response:?}");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    // The connection to the client survives an upstream failure.
    let again = client.request("HEAD", FILE, &[]);
    assert_eq!(again.status, 502, "{again:?}");
}

#[test]
fn an_upstream_silent_before_headers_gives_504_within_the_timeout() {
    let upstream = silent_upstream();
    let proxy = Spawned::start(&["-q", "--timeout", "1", "--upstream", &upstream.url("")]);
    let started = Instant::now();
    let response = get(proxy.addr, FILE, &[]);
    let elapsed = started.elapsed();
    assert_eq!(response.status, 504, "{response:?}");
    util::assert_took_about(elapsed, Duration::from_secs(1), "504 with --timeout 1");
    assert_eq!(upstream.heads().len(), 1, "{:?}", upstream.heads());
}

#[test]
fn a_kept_upstream_connection_silent_before_headers_gives_504_within_the_timeout() {
    // The first answer keeps its connection; the next request on it gets no answer.
    let upstream = Upstream::start(|mut conn| {
        if conn.head.is_none() {
            return;
        }
        let answer = canned("HTTP/1.1 200 OK", &["Content-Length: 2"], b"ok");
        let _ = conn.stream.write_all(&answer);
        let until = Instant::now() + Duration::from_secs(20);
        while !conn.stopped() && Instant::now() < until {
            thread::sleep(Duration::from_millis(50));
        }
    });
    let proxy = Spawned::start(&["-q", "--timeout", "1", "--upstream", &upstream.url("")]);
    let mut client = Client::connect(proxy.addr);
    let first = client.request("GET", FILE, &[]);
    assert_eq!((first.status, first.body.as_slice()), (200, &b"ok"[..]));
    let started = Instant::now();
    let second = client.request("GET", FILE, &[]);
    let elapsed = started.elapsed();
    assert_eq!(second.status, 504, "{second:?}");
    util::assert_took_about(elapsed, Duration::from_secs(1), "504 with --timeout 1");
    // The second request went on the kept connection.
    assert_eq!(upstream.accepted(), 1);
}

#[test]
fn an_answer_head_longer_than_the_first_read_is_read_whole_and_its_body_follows() {
    // 20 KB of fields: more than the first read's 1 KiB, so the rest of the head is read a
    // chunk at a time; what of the 300 KB body comes with it is copied, the rest spliced.
    let body = util::random_bytes(300_000);
    let fields: Vec<String> = (0..10)
        .map(|i| format!("X-Big-{i}: {}", "h".repeat(2000)))
        .collect();
    let answer = {
        let mut headers: Vec<&str> = fields.iter().map(String::as_str).collect();
        let length = format!("Content-Length: {}", body.len());
        headers.extend(["Connection: close", &length]);
        canned("HTTP/1.1 200 OK", &headers, &body)
    };
    let upstream = Upstream::answering(move |_| answer.clone());
    let proxy = proxy(&upstream.url(""));
    let mut client = Client::connect(proxy.addr);
    for _ in 0..2 {
        let response = client.request("GET", FILE, &[]);
        assert_eq!(response.status, 200, "{response:?}");
        assert_eq!(response.header("x-big-9"), Some("h".repeat(2000).as_str()));
        assert_bytes_eq(&response.body, &body);
    }
}

#[test]
fn a_dropped_first_upstream_connection_is_retried_once() {
    let upstream = dropping_upstream(1);
    let proxy = proxy(&upstream.url(""));
    let response = get(proxy.addr, FILE, &[]);
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body, b"ok");
    assert_eq!(upstream.accepted(), 2);
}

#[test]
fn with_retries_0_a_dropped_upstream_connection_gives_502() {
    let upstream = dropping_upstream(1);
    let mut proxy = Spawned::start(&["-q", "--retries", "0", "--upstream", &upstream.url("")]);
    let response = get(proxy.addr, FILE, &[]);
    assert_eq!(response.status, 502, "{response:?}");
    // Once the proxy has exited (SIGTERM lets a request under way finish), no retry can
    // come any more.
    proxy.signal("TERM");
    assert!(
        proxy.wait_for_exit(Duration::from_secs(5)).is_some(),
        "still running"
    );
    assert_eq!(upstream.accepted(), 1, "--retries 0 must not retry");
}

#[test]
fn an_upstream_that_always_hangs_up_is_tried_twice_then_502() {
    let upstream = dropping_upstream(usize::MAX);
    // The access-log line is written once the request is done with, retries included.
    let (logged, log) = std::sync::mpsc::channel::<String>();
    let proxy = Running::start(ProxyConfig {
        log: Some(Arc::new(move |line: &str| {
            let _ = logged.send(line.to_owned());
        })),
        ..config(&upstream.url(""))
    });
    let started = Instant::now();
    let response = get(proxy.addr, FILE, &[]);
    assert_eq!(response.status, 502, "{response:?}");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    let line = log
        .recv_timeout(Duration::from_secs(5))
        .expect("an access-log line for the request");
    assert!(line.contains(" 502 "), "{line}");
    assert_eq!(upstream.accepted(), 2, "one attempt and one retry, no more");
}

// ---------------------------------------------------------------------------------------------
// Backpressure, hang-ups, concurrency, keep-alive.

#[test]
fn a_slow_client_keeps_the_proxy_memory_flat() {
    let upstream = endless();
    let proxy = Spawned::start(&["-q", "--upstream", &upstream.upstream.url("")]);
    let mut client = Client::connect(proxy.addr);
    client.send(&request_bytes("GET", "/big.bin", &[]));
    let mut read = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    // The headers, then the first chunk, so the stream is under way before sampling.
    let status = client
        .line()
        .expect("a status line")
        .expect("a status line");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    for _ in 0..100 {
        match client.line() {
            Ok(Some(line)) if line.is_empty() => break,
            Ok(Some(_)) => {}
            other => panic!("the header section ended early: {other:?}"),
        }
    }

    // Slow: 64 KiB every 10 ms for 5 s, the RSS sampled every 100 ms.
    let mut samples = Vec::new();
    for tick in 0..500 {
        client.reader.read_exact(&mut buf).expect("read 64 KiB");
        read += buf.len() as u64;
        if tick % 10 == 0 {
            samples.push(proxy.rss_kib());
        }
        thread::sleep(Duration::from_millis(10));
    }
    let written = upstream.written.load(Ordering::SeqCst);
    let slow_read = read;
    // Without backpressure the upstream would have written gigabytes by now; with it, only
    // what fits in the sockets' buffers and the proxy's chunk ahead of the client.
    assert!(
        written - read < 64 << 20,
        "the upstream ran {} MiB ahead of a slow client ({} MiB read)",
        (written - read) >> 20,
        read >> 20
    );

    // Fast: as much as the proxy moves in 3 s, to show memory does not follow body size.
    let fast_until = Instant::now() + Duration::from_secs(3);
    let mut fast = Vec::new();
    while Instant::now() < fast_until {
        for _ in 0..256 {
            client.reader.read_exact(&mut buf).expect("read 64 KiB");
        }
        read += 256 * buf.len() as u64;
        fast.push(proxy.rss_kib());
    }

    let third = samples.len() / 3;
    let mean = |s: &[u64]| s.iter().sum::<u64>() / s.len() as u64;
    let (first, last) = (
        mean(&samples[..third]),
        mean(&samples[samples.len() - third..]),
    );
    let max = samples.iter().chain(&fast).max().copied().unwrap_or(0);
    let report = format!(
        "RSS KiB, slow: {samples:?}\nfast: {fast:?}\n{} MiB read; the upstream was {} KiB \
         ahead of the slow client",
        read >> 20,
        (written - slow_read) >> 10
    );
    eprintln!("{report}");
    assert!(max < 40 * 1024, "RSS reached {max} KiB\n{report}");
    assert!(
        last <= first + 4 * 1024,
        "RSS grew from {first} to {last} KiB\n{report}"
    );
    assert!(read > 64 << 20, "{report}");
}

#[test]
fn a_client_that_disconnects_mid_body_closes_the_upstream_connection() {
    let upstream = endless();
    let proxy = Running::start(ProxyConfig {
        chunk_size: 64 * 1024,
        ..config(&upstream.upstream.url(""))
    });
    let mut client = Client::connect(proxy.addr);
    client.send(&request_bytes("GET", "/big.bin", &[]));
    let mut buf = vec![0u8; 1 << 20];
    client
        .reader
        .read_exact(&mut buf)
        .expect("read the first MiB");
    let _ = client.stream().shutdown(Shutdown::Both);
    drop(client);
    let hung_up = Instant::now();
    let broken = upstream.broken_within(Duration::from_secs(5));
    let written = upstream.written.load(Ordering::SeqCst) >> 20;
    let broken = broken.unwrap_or_else(|| {
        panic!("the upstream connection is still open 5 s after the client left ({written} MiB written)")
    });
    let after = broken.saturating_duration_since(hung_up);
    assert!(
        after < Duration::from_secs(2),
        "upstream closed {after:?} after the client"
    );
}

#[test]
fn a_client_that_stops_reading_is_dropped_after_the_timeout() {
    let upstream = endless();
    let mut config = config(&upstream.upstream.url(""));
    config.transport.timeout = Duration::from_secs(1);
    let proxy = Running::start(config);
    let mut client = Client::connect(proxy.addr);
    client.send(&request_bytes("GET", "/big.bin", &[]));
    // Never read: the proxy's writes stall once the socket buffers are full.
    let started = Instant::now();
    let broken = upstream.broken_within(Duration::from_secs(8));
    let broken = broken.expect("the upstream connection outlived a stalled client by 8 s");
    let after = broken.saturating_duration_since(started);
    // The timeout counts from the proxy's last write that made progress, and the kernel goes
    // on taking a little of each write for a while after the client stops reading (about two
    // timeouts on loopback): so at least the timeout, and at most a few of them.
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(5),
        "released after {after:?} with --timeout 1"
    );
    drop(client);
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_timeout() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let proxy = Running::start(ProxyConfig {
        keepalive_timeout: Duration::from_secs(1),
        ..config(&upstream.url(""))
    });
    let mut client = Client::connect(proxy.addr);
    assert_eq!(
        client
            .request("GET", FILE, &[("Range", "bytes=0-0")])
            .status,
        206
    );
    let idle = Instant::now();
    assert!(
        client.closes_within(Duration::from_secs(3)),
        "idle connection kept past the timeout"
    );
    util::assert_took_about(idle.elapsed(), Duration::from_secs(1), "idle, timeout 1 s");
}

/// Slowloris: a per-read timeout alone lets a client that sends one byte now and then hold
/// a connection (and a slot under `--max-connections`) for ever; the request head needs a
/// deadline of its own.
#[test]
fn a_client_trickling_its_request_head_is_cut_off() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let mut config = config(&upstream.url(""));
    config.transport.timeout = Duration::from_secs(1);
    let proxy = Running::start(config);
    let mut stream = TcpStream::connect(proxy.addr).expect("connect");
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let head = format!(
        "GET {FILE} HTTP/1.1\r\nHost: x\r\nX-Slow: {}\r\n\r\n",
        "a".repeat(100)
    );
    let started = Instant::now();
    let mut closed_after = None;
    for byte in head.bytes() {
        if started.elapsed() > Duration::from_secs(8) {
            break;
        }
        stream.set_nonblocking(true).unwrap();
        let peeked = stream.peek(&mut [0u8; 1]);
        stream.set_nonblocking(false).unwrap();
        // EOF, a reset, or an answer (a 408) all end the trickle.
        if !matches!(&peeked, Err(e) if e.kind() == ErrorKind::WouldBlock)
            || stream.write_all(&[byte]).is_err()
        {
            closed_after = Some(started.elapsed());
            break;
        }
        thread::sleep(Duration::from_millis(300));
    }
    let closed_after = closed_after.expect("still open 8 s into a trickled head, --timeout 1");
    // The head's deadline is 1 s; the trickle notices within one 300 ms step.
    util::assert_took_about(closed_after, Duration::from_secs(1), "trickled head");
    upstream.assert_requests(0, "upstream");
}

#[test]
fn two_hundred_concurrent_clients_get_their_own_bytes() {
    const CLIENTS: usize = 200;
    let data = Arc::new(util::random_bytes(1024 * 1024));
    let upstream = Server::start(data.to_vec(), Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let addr = proxy.addr;
    let connected = Arc::new(Gate::new(CLIENTS));
    let answered = Arc::new(Gate::new(CLIENTS));
    let wait = Duration::from_secs(30);
    let handles: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (data, connected, answered) = (
                Arc::clone(&data),
                Arc::clone(&connected),
                Arc::clone(&answered),
            );
            thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || -> Result<(), String> {
                    let start = i * 5003;
                    let end = start + 1000 + i * 37;
                    let mut client = Client::connect(addr);
                    // All connected before any asks; all answered before any leaves: 200
                    // connections open at once.
                    if !connected.arrive(wait) {
                        return Err(format!("client {i}: not all clients connected"));
                    }
                    let range = format!("bytes={start}-{}", end - 1);
                    let response = client.request("GET", FILE, &[("Range", &range)]);
                    let ok = response.status == 206 && response.body == data[start..end];
                    let arrived = answered.arrive(wait);
                    if !ok {
                        return Err(format!("client {i} {range}: {response:?}"));
                    }
                    if !arrived {
                        return Err(format!("client {i}: not all clients answered"));
                    }
                    Ok(())
                })
                .expect("spawn a client thread")
        })
        .collect();
    let failures: Vec<String> = handles
        .into_iter()
        .filter_map(|h| match h.join() {
            Ok(Ok(())) => None,
            Ok(Err(why)) => Some(why),
            Err(_) => Some("a client panicked".to_owned()),
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(upstream.requests().len(), CLIENTS);
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let mut client = Client::connect(proxy.addr);
    for (range, want) in [("bytes=0-9", 0..10), ("bytes=10-19", 10..20)] {
        let response = client.request("GET", FILE, &[("Range", range)]);
        assert_eq!(response.status, 206, "{range}: {response:?}");
        assert_bytes_eq(&response.body, &data[want]);
    }
    let whole = client.request("GET", FILE, &[]);
    assert_eq!(whole.status, 200, "{whole:?}");
    assert_bytes_eq(&whole.body, &data);

    // Pipelined: two requests in one write, two answers in order.
    let mut both = request_bytes("GET", FILE, &[("Range", "bytes=100-109")]);
    both.extend(request_bytes("GET", FILE, &[("Range", "bytes=200-209")]));
    client.send(&both);
    for want in [100..110, 200..210] {
        let response = client.response(false);
        assert_eq!(response.status, 206, "{response:?}");
        assert_bytes_eq(&response.body, &data[want]);
    }

    // `Connection: close` is honoured after the answer.
    let last = client.request(
        "GET",
        FILE,
        &[("Range", "bytes=0-0"), ("Connection", "close")],
    );
    assert_eq!(last.status, 206, "{last:?}");
    assert!(
        client.closes_within(Duration::from_secs(2)),
        "still open after Connection: close"
    );
    upstream.assert_requests(6, "upstream");

    // HTTP/1.0 without keep-alive: answered, then closed.
    let (response, mut client) = raw(
        proxy.addr,
        b"GET /file.bin HTTP/1.0\r\nRange: bytes=0-3\r\n\r\n",
    );
    assert_eq!(response.status, 206, "{response:?}");
    assert_bytes_eq(&response.body, &data[..4]);
    assert!(client.closes_within(Duration::from_secs(2)));
}

#[test]
fn connections_beyond_the_limit_get_503() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let proxy = Running::start(ProxyConfig {
        max_connections: 2,
        ..config(&upstream.url(""))
    });
    let mut first = Client::connect(proxy.addr);
    let mut second = Client::connect(proxy.addr);
    for client in [&mut first, &mut second] {
        assert_eq!(
            client
                .request("GET", FILE, &[("Range", "bytes=0-0")])
                .status,
            206
        );
    }
    let mut third = Client::connect(proxy.addr);
    let response = third.request("GET", FILE, &[("Range", "bytes=0-0")]);
    assert_eq!(response.status, 503, "{response:?}");
    assert!(third.closes_within(Duration::from_secs(2)));
    // A freed slot is usable again (the count drops once the proxy sees the close).
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let status = get(proxy.addr, FILE, &[("Range", "bytes=0-0")]).status;
        if status == 206 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} after a client left"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// Not an open proxy.

#[test]
fn absolute_form_and_foreign_hosts_never_reach_another_server() {
    let (upstream, data) = fault_server(Mode::Ranges);
    let (decoy, _) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let decoy_host = decoy.addr().to_string();

    let absolute = format!("GET http://{decoy_host}/x HTTP/1.1\r\nHost: {decoy_host}\r\n\r\n");
    let (response, _) = raw(proxy.addr, absolute.as_bytes());
    assert_eq!(response.status, 400, "absolute form: {response:?}");
    let other = "GET http://other.example/ HTTP/1.1\r\nHost: other.example\r\n\r\n";
    let (response, _) = raw(proxy.addr, other.as_bytes());
    assert_eq!(response.status, 400, "absolute form: {response:?}");
    for odd in [
        format!("CONNECT {decoy_host} HTTP/1.1\r\nHost: {decoy_host}\r\n\r\n"),
        "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n".to_owned(),
        format!("GET {decoy_host}/x HTTP/1.1\r\nHost: x\r\n\r\n"),
    ] {
        let (response, _) = raw(proxy.addr, odd.as_bytes());
        assert!(
            response.status == 400 || response.status == 405,
            "{odd:?}: {response:?}"
        );
    }
    upstream.assert_requests(0, "upstream");

    // Targets that look like authorities once glued to BASE stay on BASE, or are refused.
    let mut passed = 0;
    for target in [format!("//{decoy_host}/x"), format!("/@{decoy_host}/x")] {
        let response = get(proxy.addr, &target, &[]);
        assert!(
            response.status == 400 || response.status == 200,
            "{target}: {response:?}"
        );
        passed += usize::from(response.status == 200);
    }
    // Each 200 came from BASE: one request there for each, on a path of BASE.
    upstream.assert_requests(passed, "authority-like targets");
    for seen in upstream.requests() {
        assert!(seen.path.starts_with('/'), "{seen:?}");
    }

    // A foreign Host goes to BASE all the same, with BASE's Host.
    let response = get(
        proxy.addr,
        "/y",
        &[("Host", &decoy_host), ("Range", "bytes=0-9")],
    );
    assert_eq!(response.status, 206, "{response:?}");
    assert_bytes_eq(&response.body, &data[..10]);
    let last = upstream.requests().pop().expect("the request reached BASE");
    assert_eq!(last.path, "/y");
    assert_eq!(
        last.header("host"),
        Some(upstream.addr().to_string().as_str()),
        "{last:?}"
    );

    decoy.assert_requests(0, "reached the decoy");
}

#[test]
fn paths_that_climb_out_of_the_base_are_refused() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url("/base/"));
    for target in [
        "/../secret",
        "/a/../../secret",
        "/./secret",
        "/%2e%2e/secret",
        "/%2E%2e/secret",
        "/.%2e/secret",
        "/..%2fsecret",
        "/a%2fb",
        "/a%2F..%2F..%2Fsecret",
        "/..%5csecret",
        "/..\\secret",
        "/a%00b",
        "/a/%2e%2e%2f%2e%2e%2fsecret",
    ] {
        let mut client = Client::connect(proxy.addr);
        let response = client.request("GET", target, &[]);
        assert_eq!(response.status, 400, "{target}: {response:?}");
    }
    upstream.assert_requests(0, "reached upstream");
}

#[test]
fn a_base_with_a_path_prefixes_every_request() {
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy = Spawned::start(&["-q", "--upstream", &upstream.url("/base/")]);
    for (target, want) in [
        ("/x", "/base/x"),
        (
            "/dir/file.bin?token=a%2Fb&x=..",
            "/base/dir/file.bin?token=a%2Fb&x=..",
        ),
        ("/", "/base/"),
        ("/a/..b/.c", "/base/a/..b/.c"),
        ("/a%20b/%7Euser", "/base/a%20b/%7Euser"),
    ] {
        let response = get(proxy.addr, target, &[("Range", "bytes=0-9")]);
        assert_eq!(response.status, 206, "{target}: {response:?}");
        assert_bytes_eq(&response.body, &data[..10]);
        let last = upstream.requests().pop().expect("a request upstream");
        assert_eq!(last.path, want, "{target}");
    }
}

// ---------------------------------------------------------------------------------------------
// Request limits and malformed requests.

/// What the proxy must refuse itself, before anything goes upstream: a name for the case, the
/// raw request, and the statuses it may answer with. Every one ends its connection.
fn refusals() -> Vec<(String, String, &'static [u16])> {
    let mut cases = vec![
        (
            "one 100 KB field".to_owned(),
            format!(
                "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "a".repeat(100_000)
            ),
            &[431][..],
        ),
        (
            "25 fields of 4 KB".to_owned(),
            format!(
                "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..25)
                    .map(|i| format!("X-Big-{i}: {}\r\n", "a".repeat(4000)))
                    .collect::<String>()
            ),
            &[431],
        ),
        (
            "200 header fields".to_owned(),
            format!(
                "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..200)
                    .map(|i| format!("X-Field-{i}: {i}\r\n"))
                    .collect::<String>()
            ),
            &[431],
        ),
    ];
    // Malformed requests, and requests with a body: 400.
    for request in [
        "GARBAGE\r\n\r\n",
        "GET /\r\n\r\n",
        "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\n folded: x\r\n\r\n",
        "GET /file.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        "GET /file.bin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "POST /file.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    ] {
        cases.push((format!("{request:?}"), request.to_owned(), &[400]));
    }
    cases
}

#[test]
fn oversized_malformed_and_bodied_requests_are_refused_and_closed() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    for (what, request, statuses) in refusals() {
        let (response, mut client) = raw(proxy.addr, request.as_bytes());
        assert!(statuses.contains(&response.status), "{what}: {response:?}");
        assert!(
            client.closes_within(Duration::from_secs(2)),
            "{what}: still open"
        );
        upstream.assert_requests(0, &what);
    }
}

/// The README's head limits, end to end through `rangecat serve` as a process: 8 KiB a line
/// (a longer request line is 414, a longer field 431), 100 fields and 64 KiB in all (431).
/// Right at each limit the request goes through to the upstream.
#[test]
fn serve_answers_414_and_431_exactly_at_the_readme_head_limits() {
    const LINE: usize = 8 * 1024;
    let (upstream, _) = fault_server(Mode::Ranges);
    let proxy = Spawned::start(&["-q", "--upstream", &upstream.url("")]);
    // A request line of `len` bytes, CRLF not counted.
    let request_line = |len: usize| {
        let target = format!("/{}", "a".repeat(len - "GET / HTTP/1.1".len()));
        let line = format!("GET {target} HTTP/1.1");
        assert_eq!(line.len(), len);
        line
    };
    // `Host` and `n - 1` more fields.
    let fields = |n: usize| -> String { (1..n).map(|i| format!("X-Field-{i}: {i}\r\n")).collect() };
    // A field line of `len` bytes, CRLF not counted.
    let field = |len: usize| format!("X-Long: {}", "b".repeat(len - "X-Long: ".len()));
    let cases: Vec<(&str, String, u16)> = vec![
        (
            "request line of 8 KiB",
            format!("{}\r\nHost: x\r\n\r\n", request_line(LINE)),
            200,
        ),
        (
            "request line of 8 KiB + 1",
            format!("{}\r\nHost: x\r\n\r\n", request_line(LINE + 1)),
            414,
        ),
        (
            "field of 8 KiB",
            format!("GET /f HTTP/1.1\r\nHost: x\r\n{}\r\n\r\n", field(LINE)),
            200,
        ),
        (
            "field of 8 KiB + 1",
            format!("GET /f HTTP/1.1\r\nHost: x\r\n{}\r\n\r\n", field(LINE + 1)),
            431,
        ),
        (
            "100 fields",
            format!("GET /f HTTP/1.1\r\nHost: x\r\n{}\r\n", fields(100)),
            200,
        ),
        (
            "101 fields",
            format!("GET /f HTTP/1.1\r\nHost: x\r\n{}\r\n", fields(101)),
            431,
        ),
        (
            "60,000 bytes of fields",
            format!(
                "GET /f HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..10)
                    .map(|i| format!("X-Big-{i}: {}\r\n", "c".repeat(6000 - 9)))
                    .collect::<String>()
            ),
            200,
        ),
        (
            "70,000 bytes of fields",
            format!(
                "GET /f HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..10)
                    .map(|i| format!("X-Big-{i}: {}\r\n", "c".repeat(7000 - 9)))
                    .collect::<String>()
            ),
            431,
        ),
    ];
    let mut forwarded = 0;
    for (what, request, status) in cases {
        let (response, mut client) = raw(proxy.addr, request.as_bytes());
        assert_eq!(response.status, status, "{what}: {response:?}");
        if status == 200 {
            forwarded += 1;
        } else {
            assert!(
                client.closes_within(Duration::from_secs(2)),
                "{what}: still open"
            );
        }
        upstream.assert_requests(forwarded, what);
    }
}

#[test]
fn methods_other_than_get_and_head_get_405() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let mut client = Client::connect(proxy.addr);
        let response = client.request(method, FILE, &[("Content-Length", "0")]);
        assert_eq!(response.status, 405, "{method}: {response:?}");
        let allow = response
            .header("allow")
            .unwrap_or_else(|| panic!("no Allow: {response:?}"));
        assert!(
            allow.contains("GET") && allow.contains("HEAD"),
            "{response:?}"
        );
    }
    upstream.assert_requests(0, "upstream");
}

// ---------------------------------------------------------------------------------------------
// Interop: curl as the client, nginx as the upstream.

#[test]
fn curl_through_the_proxy_gets_exact_ranges() {
    let Some(_) = curl() else { return };
    let (upstream, data) = fault_server(Mode::Ranges);
    let proxy = proxy(&upstream.url(""));
    let url = format!("http://{}{FILE}", proxy.addr);
    let run = |args: &[&str]| {
        let output = curl()
            .unwrap()
            .args(args)
            .arg(&url)
            .output()
            .expect("run curl");
        assert!(
            output.status.success(),
            "curl {args:?}: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    };
    assert_bytes_eq(&run(&["-r", "100-199"]), &data[100..200]);
    assert_bytes_eq(&run(&["-r", "-1000"]), &data[LEN - 1000..]);
    assert_bytes_eq(&run(&["--http1.0", "-r", "5-9"]), &data[5..10]);
    assert_bytes_eq(&run(&[]), &data);
    let head = String::from_utf8(run(&["-I"])).expect("headers are text");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-length: {LEN}\r\n")),
        "{head}"
    );
    let code = run(&["-r", "200000-", "-o", "/dev/null", "-w", "%{http_code}"]);
    assert_eq!(String::from_utf8_lossy(&code), "416");
}

#[test]
fn an_nginx_upstream_serves_exact_ranges_through_the_proxy() {
    let root = tempfile::tempdir().expect("temp dir");
    let len = 3 * 1024 * 1024 + 12_345;
    let data = util::random_bytes(len);
    fs::write(root.path().join("blob.bin"), &data).expect("write the served file");
    let Some(nginx) = Nginx::start(root.path()) else {
        eprintln!("skipping: nginx not found");
        return;
    };
    let proxy = proxy(&nginx.url(""));
    let mut client = Client::connect(proxy.addr);
    let path = "/blob.bin";
    let whole = client.request("GET", path, &[]);
    assert_eq!(whole.status, 200, "{whole:?}");
    assert_bytes_eq(&whole.body, &data);
    let ranges = [
        ("bytes=0-0", 0..1),
        ("bytes=1000-99999", 1000..100_000),
        ("bytes=-500", len - 500..len),
        ("bytes=3000000-", 3_000_000..len),
    ];
    for (range, want) in ranges.clone() {
        let response = client.request("GET", path, &[("Range", range)]);
        assert_eq!(response.status, 206, "{range}: {response:?}");
        response.assert_header(
            "content-range",
            &format!("bytes {}-{}/{len}", want.start, want.end - 1),
        );
        assert_bytes_eq(&response.body, &data[want]);
    }
    let past = client.request("GET", path, &[("Range", "bytes=99999999-")]);
    assert_eq!(past.status, 416, "{past:?}");
    past.assert_header("content-range", &format!("bytes */{len}"));

    let head = client.request("HEAD", path, &[]);
    assert_eq!(head.status, 200, "{head:?}");
    head.assert_header("content-length", &len.to_string());
    head.assert_header("accept-ranges", "bytes");
    assert!(head.header("last-modified").is_some(), "{head:?}");
    let etag = head.header("etag").expect("nginx sends an ETag").to_owned();

    let not_modified = client.request("GET", path, &[("If-None-Match", &etag)]);
    assert_eq!(not_modified.status, 304, "{not_modified:?}");

    // nginx answers several ranges with multipart/byteranges: passed through intact.
    let multi = "bytes=0-9,20-29,1000000-1000099";
    let response = client.request("GET", path, &[("Range", multi)]);
    assert_eq!(response.status, 206, "{response:?}");
    let content_type = response.header("content-type").expect("a Content-Type");
    assert!(
        content_type.starts_with("multipart/byteranges"),
        "{response:?}"
    );
    let parts = multipart_parts(content_type, &response.body);
    let spans: Vec<_> = parts.iter().map(|(span, _)| *span).collect();
    assert_eq!(
        spans,
        [(0, 9, len), (20, 29, len), (1_000_000, 1_000_099, len)]
    );
    for ((first, last, _), bytes) in &parts {
        assert_bytes_eq(bytes, &data[*first..=*last]);
    }

    // nginx ignoring Range: a 200 with everything.
    let ignored = client.request("GET", "/no-ranges/blob.bin", &[("Range", "bytes=0-9")]);
    assert_eq!(ignored.status, 200, "{ignored:?}");
    assert_bytes_eq(&ignored.body, &data);

    // nginx saw each Range exactly as the client sent it.
    let logged: Vec<Option<String>> = nginx
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == path && r.status == 206)
        .map(|r| r.range)
        .collect();
    let mut sent: Vec<Option<String>> = ranges.iter().map(|(r, _)| Some(r.to_string())).collect();
    sent.push(Some(multi.to_owned()));
    assert_eq!(logged, sent, "nginx error log:\n{}", nginx.error_log());
}

// ---------------------------------------------------------------------------------------------
// Lifecycle: signals and the access log.

#[test]
fn sigterm_and_sigint_stop_the_proxy_cleanly() {
    let (upstream, _) = fault_server(Mode::Ranges);
    for signal in ["TERM", "INT"] {
        let mut proxy = Spawned::start(&["-q", "--upstream", &upstream.url("")]);
        // An idle keep-alive client must not keep it alive.
        let mut idle = Client::connect(proxy.addr);
        assert_eq!(
            idle.request("GET", FILE, &[("Range", "bytes=0-0")]).status,
            206
        );
        proxy.signal(signal);
        let status = proxy.wait_for_exit(Duration::from_secs(2));
        let status = status.unwrap_or_else(|| panic!("still running 2 s after SIG{signal}"));
        assert_eq!(
            status.code(),
            Some(0),
            "SIG{signal}: {status}\n{}",
            proxy.stderr()
        );
        assert!(
            proxy.stderr().is_empty(),
            "SIG{signal} -q: {}",
            proxy.stderr()
        );
    }
}

#[test]
fn each_request_gets_one_access_log_line() {
    let (upstream, _) = fault_server(Mode::Ranges);
    let mut proxy = Spawned::start(&["--upstream", &upstream.url("")]);
    let mut client = Client::connect(proxy.addr);
    assert_eq!(
        client
            .request("GET", FILE, &[("Range", "bytes=0-9")])
            .status,
        206
    );
    assert_eq!(client.request("HEAD", "/other.bin", &[]).status, 200);
    drop(client);
    proxy.signal("TERM");
    assert!(
        proxy.wait_for_exit(Duration::from_secs(2)).is_some(),
        "still running"
    );
    let stderr = proxy.stderr();
    let lines = |needle: &str| {
        stderr
            .lines()
            .filter(|l| l.contains(needle))
            .collect::<Vec<_>>()
    };
    let get_lines = lines("GET /file.bin");
    assert_eq!(get_lines.len(), 1, "{stderr}");
    for part in ["range=bytes=0-9", " 206 ", " 10 ", "ms"] {
        assert!(
            get_lines[0].contains(part),
            "{part:?} missing: {}",
            get_lines[0]
        );
    }
    let head_lines = lines("HEAD /other.bin");
    assert_eq!(head_lines.len(), 1, "{stderr}");
    assert!(head_lines[0].contains(" 200 "), "{}", head_lines[0]);
}
