//! `rangecat serve`'s own exchange with the upstream (README, serve): its keep-alive pool
//! (read from nginx's own log, `$connection`), interim answers, a kept connection the
//! upstream closed meanwhile (nginx's `keepalive_timeout` as the witness, and a hand-made
//! upstream), chunked bodies with extensions and trailers (nginx's gzip with `add_trailer`,
//! and hand-made ones for what nginx never sends), bytes past a body,
//! and bodies spliced from socket to socket through a worker's few pipes, with more slow
//! clients than pipes. Every server listens on 127.0.0.1 and every wait is bounded.

use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use crate::serve::{Running, config};
use crate::util::nginx::Nginx;
use crate::util::raw_http::{Client, request_bytes};
use crate::util::serve_process::Spawned;
use crate::util::upstream::{Upstream, canned};
use crate::util::{self, assert_bytes_eq};

/// An nginx serving `len` random bytes as `/blob.bin`, the bytes, and its root (kept alive).
fn nginx_with_blob(len: usize) -> Option<(Nginx, Vec<u8>, tempfile::TempDir)> {
    let root = tempfile::tempdir().expect("temp dir");
    let data = util::random_bytes(len);
    fs::write(root.path().join("blob.bin"), &data).expect("write the served file");
    let Some(nginx) = Nginx::start(root.path()) else {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "nginx is missing; CI installs it"
        );
        eprintln!("SKIPPED: nginx not found");
        return None;
    };
    Some((nginx, data, root))
}

#[test]
fn one_kept_upstream_connection_carries_every_request_and_each_body_is_exact() {
    let len = 9 * 1024 * 1024 + 4321;
    let Some((nginx, data, _root)) = nginx_with_blob(len) else {
        return;
    };
    let mut config = config(&nginx.url(""));
    // One worker, so one pool: every request, from any client, can take the one connection.
    config.workers = 1;
    let proxy = Running::start(config);
    let ranges: [(Option<&str>, std::ops::Range<usize>); 8] = [
        (None, 0..len),
        (Some("bytes=0-65535"), 0..65_536),
        (Some("bytes=0-0"), 0..1),
        (Some("bytes=1000-1999"), 1000..2000),
        (Some("bytes=-70000"), len - 70_000..len),
        (Some("bytes=4000000-"), 4_000_000..len),
        (Some("bytes=123-300122"), 123..300_123),
        (Some("bytes=262144-524287"), 262_144..524_288),
    ];
    let mut sent = 0;
    for client_number in 0..2 {
        let mut client = Client::connect(proxy.addr);
        for (range, want) in &ranges {
            let headers: Vec<(&str, &str)> = range.iter().map(|r| ("Range", *r)).collect();
            let response = client.request("GET", "/blob.bin", &headers);
            let status = if range.is_some() { 206 } else { 200 };
            assert_eq!(response.status, status, "client {client_number}, {range:?}");
            assert_bytes_eq(&response.body, &data[want.clone()]);
            sent += 1;
        }
        // Answers without a body, whatever their Content-Length says: the connection
        // carries the next request as it was.
        let head = client.request("HEAD", "/blob.bin", &[]);
        assert_eq!(head.status, 200, "{head:?}");
        head.assert_header("content-length", &len.to_string());
        let etag = head.header("etag").expect("nginx's ETag").to_owned();
        let unchanged = client.request("GET", "/blob.bin", &[("If-None-Match", &etag)]);
        assert_eq!(unchanged.status, 304, "{unchanged:?}");
        sent += 2;
    }
    let logged = nginx.wait_for_requests(sent);
    assert_eq!(logged.len(), sent, "{logged:?}");
    let connections: std::collections::BTreeSet<u64> =
        logged.iter().map(|r| r.connection).collect();
    assert_eq!(
        connections.len(),
        1,
        "{sent} requests one after another, from two clients, on {connections:?}"
    );
}

#[test]
fn interim_answers_from_the_upstream_are_not_passed_on() {
    let upstream = Upstream::answering(|_| {
        let mut answer = canned("HTTP/1.1 100 Continue", &[], b"");
        answer.extend(canned("HTTP/1.1 103 Early Hints", &["Link: </a.css>"], b""));
        answer.extend(canned(
            "HTTP/1.1 206 Partial Content",
            &[
                "Content-Range: bytes 0-4/10",
                "Content-Length: 5",
                "Connection: close",
            ],
            b"hello",
        ));
        answer
    });
    let proxy = Running::start(config(&upstream.url("")));
    let mut client = Client::connect(proxy.addr);
    let response = client.request("GET", "/a", &[("Range", "bytes=0-4")]);
    assert_eq!(response.status, 206, "{response:?}");
    assert_eq!(response.body, b"hello");
    response.assert_absent(&["link"]);
    // Nothing else came on the connection: the next answer is the next request's.
    let again = client.request("GET", "/a", &[("Range", "bytes=0-4")]);
    assert_eq!(again.status, 206, "{again:?}");
}

#[test]
fn a_kept_connection_the_upstream_closed_meanwhile_is_replaced_without_a_retry() {
    // HTTP/1.1 without `Connection: close`, so the proxy keeps the connection, which the
    // upstream then closes; `--retries 0`, so only a fresh connection can answer the next.
    let upstream = Upstream::answering(|_| {
        canned(
            "HTTP/1.1 200 OK",
            &["Content-Length: 6", "Content-Type: text/plain"],
            b"fresh\n",
        )
    });
    let mut config = config(&upstream.url(""));
    config.workers = 1;
    config.transport.retries = 0;
    let proxy = Running::start(config);
    let mut client = Client::connect(proxy.addr);
    for i in 0..3 {
        let response = client.request("GET", "/a", &[]);
        assert_eq!(response.status, 200, "request {i}: {response:?}");
        assert_eq!(response.body, b"fresh\n", "request {i}");
        // Time for the upstream's close to reach the kept connection.
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(upstream.accepted(), 3);
}

#[test]
fn a_kept_connection_nginx_closed_after_its_keepalive_timeout_is_replaced_without_a_retry() {
    let Some((nginx, data, _root)) = nginx_with_blob(300_000) else {
        return;
    };
    let mut config = config(&nginx.url("/short-keepalive"));
    config.workers = 1;
    config.transport.retries = 0;
    let proxy = Running::start(config);
    let mut client = Client::connect(proxy.addr);
    for (i, range) in ["bytes=0-65535", "bytes=100000-199999"].iter().enumerate() {
        if i > 0 {
            // Past nginx's 1 s: it has closed the connection the proxy kept.
            thread::sleep(Duration::from_millis(1500));
        }
        let response = client.request("GET", "/blob.bin", &[("Range", range)]);
        assert_eq!(response.status, 206, "request {i}: {response:?}");
        let want = if i == 0 { 0..65_536 } else { 100_000..200_000 };
        assert_bytes_eq(&response.body, &data[want]);
    }
    let logged = nginx.wait_for_requests(2);
    assert_eq!(logged.len(), 2, "{logged:?}");
    assert_ne!(
        logged[0].connection, logged[1].connection,
        "the second request came on a new connection: {logged:?}"
    );
}

#[test]
fn nginxs_chunked_body_with_a_trailer_arrives_whole_and_without_the_trailer() {
    let Some((nginx, _data, _root)) = nginx_with_blob(200_000) else {
        return;
    };
    let gzip = [("Accept-Encoding", "gzip")];
    // The witness: nginx itself sends this body chunked, with the trailer.
    let at_nginx = SocketAddr::from(([127, 0, 0, 1], nginx.port()));
    let raw_direct = last_answer_raw(
        &mut Client::connect(at_nginx),
        "/trailers/blob.bin",
        gzip[0],
    );
    assert!(
        raw_direct.contains("Transfer-Encoding: chunked")
            && raw_direct.contains("X-Rangecat-Trailer: sent"),
        "nginx no longer sends this body chunked with a trailer: {}",
        &raw_direct[..raw_direct.len().min(400)]
    );
    let want = Client::connect(at_nginx).request("GET", "/trailers/blob.bin", &gzip);
    assert!(
        want.complete && want.body.starts_with(&[0x1f, 0x8b]),
        "{want:?}"
    );

    let proxy = Running::start(config(&nginx.url("/trailers")));
    let mut client = Client::connect(proxy.addr);
    let response = client.request("GET", "/blob.bin", &gzip);
    assert_eq!(response.status, 200, "{response:?}");
    assert!(response.complete, "{response:?}");
    assert_bytes_eq(&response.body, &want.body);
    // The same again, read as bytes to the end: no trailer anywhere.
    let raw = last_answer_raw(&mut client, "/blob.bin", gzip[0]);
    assert!(
        raw.starts_with("HTTP/1.1 200"),
        "{}",
        &raw[..raw.len().min(400)]
    );
    assert!(
        !raw.to_ascii_lowercase().contains("x-rangecat-trailer"),
        "a trailer passed on"
    );
}

#[test]
fn a_chunked_body_with_extensions_and_trailers_arrives_as_its_data_alone() {
    let upstream = Upstream::answering(|_| {
        canned(
            "HTTP/1.1 200 OK",
            &["Transfer-Encoding: chunked", "Trailer: X-Sum"],
            b"5;name=value\r\nhello\r\n7 ; x=\"y\"\r\n, world\r\n0\r\nX-Sum: 12\r\n\r\n",
        )
    });
    let proxy = Running::start(config(&upstream.url("")));
    let mut client = Client::connect(proxy.addr);
    let response = client.request("GET", "/a", &[]);
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body, b"hello, world");
    assert!(response.complete, "{response:?}");
    response.assert_absent(&["x-sum", "trailer"]);
}

#[test]
fn a_malformed_chunk_cuts_the_answer_short() {
    let upstream = Upstream::answering(|_| {
        canned(
            "HTTP/1.1 200 OK",
            &["Transfer-Encoding: chunked"],
            b"5\r\nhello\r\nzz\r\nworld\r\n0\r\n\r\n",
        )
    });
    let proxy = Running::start(config(&upstream.url("")));
    let mut client = Client::connect(proxy.addr);
    let response = client.request("GET", "/a", &[]);
    assert_eq!(response.status, 200, "{response:?}");
    assert!(!response.complete, "{response:?}");
    assert_eq!(response.body, b"hello");
    assert!(client.closes_within(Duration::from_secs(2)));
}

#[test]
fn an_upstream_connection_with_bytes_past_the_body_is_not_reused() {
    // Each connection answers one request, with two stray bytes after its body, and then
    // waits for a second request that would find them first.
    let upstream = Upstream::start(|mut conn| {
        let answer = canned("HTTP/1.1 200 OK", &["Content-Length: 2"], b"okXX");
        let _ = conn.stream.write_all(&answer);
        let mut rest = [0u8; 1024];
        let _ = conn.stream.set_read_timeout(Some(Duration::from_secs(5)));
        if let Ok(n) = conn.stream.read(&mut rest) {
            if n > 0 {
                let _ = conn.stream.write_all(&canned(
                    "HTTP/1.1 200 OK",
                    &["Content-Length: 5"],
                    b"wrong",
                ));
            }
        }
        let _ = conn.stream.shutdown(Shutdown::Both);
    });
    let mut config = config(&upstream.url(""));
    config.workers = 1;
    let proxy = Running::start(config);
    let mut client = Client::connect(proxy.addr);
    for i in 0..2 {
        let response = client.request("GET", "/a", &[]);
        assert_eq!(response.status, 200, "request {i}: {response:?}");
        assert_eq!(response.body, b"ok", "request {i}");
    }
    assert_eq!(upstream.accepted(), 2);
}

/// The pipes among `pid`'s open descriptors.
fn pipes_of(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.filter_map(|fd| fs::read_link(fd.ok()?.path()).ok())
                .filter(|target| target.to_string_lossy().starts_with("pipe:"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn more_stalled_clients_than_pipes_each_get_their_bytes_and_the_pipes_stay_few() {
    if !cfg!(target_os = "linux") {
        return;
    }
    const CLIENTS: usize = 12;
    // More than the sockets' buffers hold, so that a client not reading leaves bytes in
    // the proxy (a pipe, or a chunk read the copy way once the pipes are out).
    let len = 16 * 1024 * 1024;
    let Some((nginx, data, _root)) = nginx_with_blob(len) else {
        return;
    };
    let proxy = Spawned::start(&["-q", "--upstream", &nginx.url("")]);
    let before = pipes_of(proxy.pid());
    let mut clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let mut stream = TcpStream::connect(proxy.addr).expect("connect");
            stream
                .set_read_timeout(Some(Duration::from_secs(15)))
                .unwrap();
            let range = format!("bytes={}-", i * 1000);
            let headers = [("Range", range.as_str()), ("Connection", "close")];
            let request = request_bytes("GET", "/blob.bin", &headers);
            stream.write_all(&request).expect("send");
            stream
        })
        .collect();
    // Nobody reads for a while: every answer is under way at once, held up by its client.
    let mut most = 0;
    for _ in 0..30 {
        most = most.max(pipes_of(proxy.pid()).saturating_sub(before));
        thread::sleep(Duration::from_millis(10));
    }
    for (i, stream) in clients.iter_mut().enumerate() {
        let mut got = Vec::new();
        stream
            .read_to_end(&mut got)
            .unwrap_or_else(|e| panic!("client {i}: {e}"));
        let at = got
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("client {i}: no head"));
        let head = String::from_utf8_lossy(&got[..at]);
        assert!(head.starts_with("HTTP/1.1 206"), "client {i}: {head}");
        assert_bytes_eq(&got[at + 4..], &data[i * 1000..]);
    }
    // Two ends per pipe, at most four pipes per worker, one worker per core.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(
        most <= 2 * 4 * cores,
        "{most} pipe ends open beside {before} at the start, for {cores} cores"
    );
    assert!(most > 0, "no pipe was used: bodies were not spliced");
}

/// The answer to `GET target` with `field` and `Connection: close`, the last on `client`'s
/// connection, as the bytes came (lossily as text), up to the close.
fn last_answer_raw(client: &mut Client, target: &str, field: (&str, &str)) -> String {
    client.send(&request_bytes(
        "GET",
        target,
        &[field, ("Connection", "close")],
    ));
    let mut raw = Vec::new();
    client
        .reader
        .read_to_end(&mut raw)
        .expect("read the answer to the close");
    String::from_utf8_lossy(&raw).into_owned()
}
