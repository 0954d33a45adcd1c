//! `rangecat serve` under hostile or heavy use: request-smuggling shapes refused before
//! anything goes upstream, a client leaving while the upstream pauses, 1,000 idle
//! connections, a small open-file limit, an https upstream with `-k`, the access log's
//! escaping, 502 bodies in words, a graceful stop with requests under way, and the workers:
//! one connection cap across them all, and a stop that drains every one.
//!
//! Every server listens on 127.0.0.1 and is started here; every wait is bounded.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use rangecat::proxy::{Proxy, ProxyConfig};

use crate::serve::{Running, config};
use crate::serve_promises::open_file_limit;
use crate::util::fixtures::free_port;
use crate::util::raw_http::{self, Client, get, raw, request_bytes};
use crate::util::serve_process::Spawned;
use crate::util::server::{Mode, Server};
use crate::util::tls_server::TlsServer;
use crate::util::upstream::{Upstream, canned};
use crate::util::{self, assert_bytes_eq};

const FILE: &str = "/file.bin";

/// Whether `done` comes true within `limit`, polling every 10 ms.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(10));
    }
    true
}

/// A second request, hidden where a parser that frames the first one wrongly would read it.
const SMUGGLED: &str = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

/// Request heads that could be framed two ways, or carry a body, or break a field: each must
/// get a 400 and a closed connection, and nothing of it may reach the upstream.
fn smuggling_shapes() -> Vec<(&'static str, String)> {
    let n = SMUGGLED.len();
    let chunk = format!("{n:x}\r\n{SMUGGLED}\r\n0\r\n\r\n");
    let head = |fields: &str| format!("GET {FILE} HTTP/1.1\r\nHost: x\r\n{fields}\r\n");
    vec![
        (
            "Content-Length 0 then 5",
            head(&format!("Content-Length: 0\r\nContent-Length: {n}\r\n")) + SMUGGLED,
        ),
        (
            "Content-Length repeated",
            head(&format!("Content-Length: {n}\r\nContent-Length: {n}\r\n")) + SMUGGLED,
        ),
        (
            "Content-Length as a list",
            head(&format!("Content-Length: 0, {n}\r\n")) + SMUGGLED,
        ),
        (
            "Content-Length with a sign",
            head(&format!("Content-Length: +{n}\r\n")) + SMUGGLED,
        ),
        (
            "Transfer-Encoding chunked",
            head("Transfer-Encoding: chunked\r\n") + &chunk,
        ),
        (
            "Transfer-Encoding and Content-Length",
            head("Content-Length: 0\r\nTransfer-Encoding: chunked\r\n") + &chunk,
        ),
        (
            "Transfer-Encoding not ending in chunked",
            head("Transfer-Encoding: chunked, identity\r\n") + SMUGGLED,
        ),
        (
            "Transfer-Encoding with a space before the colon",
            head("Transfer-Encoding : chunked\r\n") + &chunk,
        ),
        (
            "a bare CR inside a field value",
            head("X-A: a\rTransfer-Encoding: chunked\r\n") + &chunk,
        ),
        (
            "a bare LF inside a field",
            head("X-A: a\nTransfer-Encoding chunked\r\n") + &chunk,
        ),
        (
            "a bare CR in the request line",
            format!("GET {FILE}\r HTTP/1.1\r\nHost: x\r\n\r\n{SMUGGLED}"),
        ),
        (
            "an obs-fold continuation line",
            head("X-A: a\r\n Transfer-Encoding: chunked\r\n") + &chunk,
        ),
        (
            "a body on a GET",
            head(&format!("Content-Length: {n}\r\n")) + SMUGGLED,
        ),
    ]
}

#[test]
fn smuggling_shapes_are_refused_with_400_closed_and_never_reach_the_upstream() {
    let upstream = Server::start(util::data(1000), Mode::Ranges);
    let proxy = Running::start(config(&upstream.url("")));
    for (what, request) in smuggling_shapes() {
        let (response, mut client) = raw(proxy.addr, request.as_bytes());
        assert_eq!(response.status, 400, "{what}: {response:?}");
        assert!(
            client.closes_within(Duration::from_secs(2)),
            "{what}: still open after the 400"
        );
        upstream.assert_requests(0, what);
    }
    // The same connection handling lets a well-formed request through.
    let response = get(proxy.addr, FILE, &[("Range", "bytes=0-9")]);
    assert_eq!(response.status, 206, "{response:?}");
    upstream.assert_requests(1, "a well-formed request");
}

/// An upstream that sends the head and 64 KiB of a 1 MiB body, then pauses up to 8 s; it
/// records when the proxy closes its connection (its read sees EOF or a reset).
fn pausing_upstream(closed: Arc<Mutex<Option<Instant>>>) -> Upstream {
    Upstream::start(move |mut conn| {
        if conn.head.is_none() {
            return;
        }
        let first = vec![7u8; 64 * 1024];
        let answer = canned(
            "HTTP/1.1 200 OK",
            &[
                "Content-Type: application/octet-stream",
                "Content-Length: 1048576",
            ],
            &first,
        );
        if conn.stream.write_all(&answer).is_err() {
            return;
        }
        let _ = conn
            .stream
            .set_read_timeout(Some(Duration::from_millis(20)));
        let until = Instant::now() + Duration::from_secs(8);
        let mut buf = [0u8; 64];
        while !conn.stopped() && Instant::now() < until {
            match conn.stream.read(&mut buf) {
                Ok(0) => break,
                Err(e) if raw_http::is_timeout(&e) || e.kind() == ErrorKind::Interrupted => {}
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if Instant::now() < until {
            *closed.lock().unwrap() = Some(Instant::now());
        }
    })
}

#[test]
fn a_client_leaving_while_the_upstream_pauses_mid_body_closes_the_upstream_within_a_second() {
    let closed = Arc::new(Mutex::new(None));
    let upstream = pausing_upstream(closed.clone());
    let proxy = Running::start(config(&upstream.url("")));
    let mut client = Client::connect(proxy.addr);
    client.send(&request_bytes("GET", FILE, &[]));
    let status = client
        .line()
        .expect("a status line")
        .expect("a status line");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    // Some of the body, so the upstream is now pausing mid-body.
    let mut buf = vec![0u8; 16 * 1024];
    client.reader.read_exact(&mut buf).expect("the first bytes");
    thread::sleep(Duration::from_millis(200));
    let _ = client.stream().shutdown(Shutdown::Both);
    drop(client);
    let left = Instant::now();
    eventually(Duration::from_secs(3), || closed.lock().unwrap().is_some());
    let after = closed
        .lock()
        .unwrap()
        .map(|at| at.saturating_duration_since(left));
    assert!(
        after.is_some_and(|after| after < Duration::from_secs(1)),
        "the upstream connection closed {after:?} after the client left (None: open after 3 s)"
    );
}

#[test]
fn a_fresh_client_is_answered_promptly_while_1000_idle_connections_are_held() {
    const IDLE: usize = 1000;
    if open_file_limit() < 4 * IDLE as u64 {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "this test needs `ulimit -n` of {} or more when CI=true",
            4 * IDLE
        );
        eprintln!("SKIPPED: `ulimit -n` is below {}", 4 * IDLE);
        return;
    }
    let data = util::data(300);
    let upstream = Server::start(data.clone(), Mode::Ranges);
    let proxy = Spawned::start(&["-q", "--upstream", &upstream.url("")]);
    // Half were answered once and wait for their next request; half never sent anything.
    let mut idle = Vec::with_capacity(IDLE);
    for i in 0..IDLE {
        let mut client = Client::connect(proxy.addr);
        if i % 2 == 0 {
            let response = client.request("GET", FILE, &[("Range", "bytes=0-0")]);
            assert_eq!(response.status, 206, "idle client {i}: {response:?}");
        }
        idle.push(client);
    }
    let started = Instant::now();
    let mut fresh = Client::connect(proxy.addr);
    let response = fresh.request("GET", FILE, &[("Range", "bytes=10-19")]);
    let took = started.elapsed();
    assert_eq!(response.status, 206, "{response:?}");
    assert_bytes_eq(&response.body, &data[10..20]);
    assert!(took < Duration::from_secs(1), "answered after {took:?}");
    drop(idle);
}

/// CPU time (user + system) of process `pid` so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    let fields: Vec<&str> = stat[stat.rfind(')').expect("a comm field") + 2..]
        .split(' ')
        .collect();
    // Fields 14 and 15 (utime, stime), counted from field 3 here; clock ticks of 1/100 s
    // (CLK_TCK is 100 on Linux).
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

/// The CPU time process `pid` spends in the next two seconds.
fn cpu_in_two_seconds(pid: u32) -> Duration {
    let before = cpu_time(pid);
    thread::sleep(Duration::from_secs(2));
    cpu_time(pid) - before
}

/// Connects `n` clients that each send one request; returns them unread.
fn clients_asking(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|i| {
            let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("client {i}: connect: {e}"));
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            stream
                .write_all(&request_bytes("GET", FILE, &[("Range", "bytes=0-0")]))
                .unwrap_or_else(|e| panic!("client {i}: send: {e}"));
            stream
        })
        .collect()
}

/// The status of the answer on `stream`, if one comes within its read timeout.
fn status_of(stream: &mut TcpStream) -> Option<u16> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    String::from_utf8_lossy(&head)
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
}

#[test]
fn under_256_open_files_300_clients_are_answered_or_refused_and_nothing_spins() {
    let upstream = Server::start(util::data(300), Mode::Ranges);
    let url = upstream.url("");
    // The default cap, (256 - 64) / 2 = 96: every client gets an answer.
    let proxy = Spawned::start_with_open_files(Some(256), &["-q", "--upstream", &url]);
    let mut clients = clients_asking(proxy.addr, 300);
    let mut statuses = std::collections::BTreeMap::new();
    for (i, client) in clients.iter_mut().enumerate() {
        let status = status_of(client)
            .unwrap_or_else(|| panic!("client {i} got no answer within 5 s ({statuses:?} so far)"));
        *statuses.entry(status).or_insert(0) += 1;
    }
    assert_eq!(statuses.get(&206), Some(&96), "{statuses:?}");
    assert_eq!(statuses.get(&503), Some(&204), "{statuses:?}");
    let spent = cpu_in_two_seconds(proxy.pid());
    assert!(
        spent < Duration::from_millis(200),
        "{spent:?} of CPU in 2 s, idle"
    );
    drop(clients);

    // A cap above what the descriptors allow: accepting fails with EMFILE, and the proxy
    // backs off rather than spin on it. (250 clients: those it cannot accept wait in the
    // listen queue of 128.)
    let proxy = Spawned::start_with_open_files(
        Some(256),
        &["-q", "--max-connections", "1000", "--upstream", &url],
    );
    let clients = clients_asking(proxy.addr, 250);
    thread::sleep(Duration::from_millis(500));
    let spent = cpu_in_two_seconds(proxy.pid());
    assert!(
        spent < Duration::from_millis(300),
        "{spent:?} of CPU in 2 s out of descriptors: a busy accept loop"
    );
    drop(clients);
    // Once descriptors are free again, it answers.
    let ok = eventually(Duration::from_secs(5), || {
        TcpStream::connect_timeout(&proxy.addr, Duration::from_secs(1))
            .ok()
            .and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
                s.write_all(&request_bytes("GET", FILE, &[])).ok()?;
                status_of(&mut s)
            })
            == Some(200)
    });
    assert!(ok, "no answer once the clients left");
}

#[test]
fn an_https_upstream_is_reached_with_insecure_and_refused_without() {
    let data = util::random_bytes(50_000);
    let server = TlsServer::start(data.clone());
    let base = server.url("");
    let mut insecure = config(&base);
    insecure.transport.insecure = true;
    let trusting = Running::start(insecure);
    let mut client = Client::connect(trusting.addr);
    for range in [(0, 99), (49_000, 49_999)] {
        let header = format!("bytes={}-{}", range.0, range.1);
        let response = client.request("GET", "/f.bin", &[("Range", &header)]);
        assert_eq!(response.status, 206, "{response:?}");
        assert_bytes_eq(&response.body, &data[range.0..=range.1]);
    }
    let strict = Running::start(config(&base));
    let response = get(strict.addr, "/f.bin", &[]);
    assert_eq!(response.status, 502, "{response:?}");
    assert_eq!(server.served(), 2);
}

#[test]
fn the_access_log_escapes_what_the_client_sent_as_nginx_does() {
    let upstream = Server::start(util::data(1000), Mode::Ranges);
    let (logged, log) = mpsc::channel::<String>();
    let proxy = Running::start(ProxyConfig {
        log: Some(Arc::new(move |line: &str| {
            let _ = logged.send(line.to_owned());
        })),
        ..config(&upstream.url(""))
    });
    // CSI (U+009B, a C1 control, in UTF-8), a quote and a backslash in a Range value; hyper
    // refuses C0 controls in a field outright.
    let mut request = format!("GET {FILE} HTTP/1.1\r\nHost: x\r\nRange: bytes=0-0").into_bytes();
    request.extend_from_slice(b"\xc2\x9b2J\"\\\r\n\r\n");
    let (response, _client) = raw(proxy.addr, &request);
    assert!(response.status < 500, "{response:?}");
    let line = log
        .recv_timeout(Duration::from_secs(5))
        .expect("an access-log line");
    assert!(
        line.contains(r#"range=bytes=0-0\xC2\x9B2J\x22\x5C "#),
        "not escaped: {line:?}"
    );
    assert!(line.is_ascii(), "{line:?}");
    // A target in absolute-form, refused, is logged as it was written.
    let request = b"GET http://other.example/x?a=1 HTTP/1.1\r\nHost: x\r\n\r\n";
    let (response, _client) = raw(proxy.addr, request);
    assert_eq!(response.status, 400, "{response:?}");
    let line = log
        .recv_timeout(Duration::from_secs(5))
        .expect("an access-log line");
    assert!(
        line.contains(r#" "GET http://other.example/x?a=1" "#),
        "{line:?}"
    );
}

#[test]
fn upstream_failures_are_told_in_words_and_logged_in_full() {
    let (logged, log) = mpsc::channel::<String>();
    let port = free_port();
    let proxy = Running::start(ProxyConfig {
        log: Some(Arc::new(move |line: &str| {
            let _ = logged.send(line.to_owned());
        })),
        ..config(&format!("http://127.0.0.1:{port}"))
    });
    let response = get(proxy.addr, FILE, &[]);
    assert_eq!(response.status, 502, "{response:?}");
    assert_eq!(
        String::from_utf8_lossy(&response.body),
        "502 Bad Gateway: the upstream could not be reached\n"
    );
    let line = log
        .recv_timeout(Duration::from_secs(5))
        .expect("an access-log line");
    assert!(
        line.contains(" 502 ") && line.to_lowercase().contains("connection refused"),
        "the log line should carry the cause: {line}"
    );
}

#[test]
fn a_stop_lets_requests_under_way_finish_closes_idle_ones_and_refuses_new_ones() {
    // Far more than the sockets' buffers hold, so most of it is still to be sent at the stop.
    const BODY: usize = 32 * 1024 * 1024;
    let data = util::random_bytes(BODY);
    let upstream = Server::start(data.clone(), Mode::Ranges);
    let proxy = Proxy::bind("127.0.0.1:0", config(&upstream.url(""))).expect("bind the proxy");
    let addr = proxy.local_addr().unwrap();
    let stopper = proxy.stopper().unwrap();
    let (ran, finished) = mpsc::channel::<Instant>();
    thread::spawn(move || {
        proxy.run();
        let _ = ran.send(Instant::now());
    });
    // Two downloads under way, read slowly; one idle keep-alive connection.
    let done = Arc::new(AtomicUsize::new(0));
    let downloads: Vec<_> = (0..2)
        .map(|i| {
            let mut client = Client::connect(addr);
            socket2::SockRef::from(client.stream())
                .set_recv_buffer_size(64 * 1024)
                .unwrap();
            client.send(&request_bytes("GET", FILE, &[]));
            let status = client.line().unwrap().unwrap();
            assert!(status.starts_with("HTTP/1.1 200"), "{status}");
            while !client.line().unwrap().unwrap().is_empty() {}
            let (data, done) = (data.clone(), done.clone());
            // Each slower than the one before (0.6 to 2.4 s): a worker that ends early, or a
            // `run()` that returns with the first worker, shows.
            let pause = Duration::from_millis(10 + 4 * i as u64);
            thread::spawn(move || {
                let mut body = vec![0u8; BODY];
                for piece in body.chunks_mut(256 * 1024) {
                    client
                        .reader
                        .read_exact(piece)
                        .expect("the rest of the body");
                    thread::sleep(pause);
                }
                assert_bytes_eq(&body, &data);
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    let mut idle = Client::connect(addr);
    assert_eq!(
        idle.request("GET", FILE, &[("Range", "bytes=0-0")]).status,
        206
    );
    thread::sleep(Duration::from_millis(100));
    stopper.stop();
    let stopped = Instant::now();
    let refused = eventually(Duration::from_secs(2), || {
        matches!(TcpStream::connect_timeout(&addr, Duration::from_millis(200)),
            Err(e) if e.kind() == ErrorKind::ConnectionRefused)
    });
    assert!(refused, "still accepting 2 s after the stop");
    assert!(
        idle.closes_within(Duration::from_secs(2)),
        "an idle connection kept open"
    );
    for download in downloads {
        download.join().expect("a download under way was cut off");
    }
    assert_eq!(done.load(Ordering::SeqCst), 2);
    let ended = finished
        .recv_timeout(Duration::from_secs(5))
        .expect("run() still going 5 s after the downloads ended");
    // The proxy hands the last bytes to the kernel a little before the client has read them.
    assert!(
        ended.duration_since(stopped) > Duration::from_millis(500),
        "run() returned {:?} after the stop, long before the downloads under way were done",
        ended.duration_since(stopped)
    );
}

/// The proxy in-process with `workers` event loops; its address, stopper, and a channel that
/// gets the moment `run()` returned.
fn with_workers(
    workers: usize,
    max_connections: usize,
    upstream: &str,
) -> (
    SocketAddr,
    rangecat::proxy::Stopper,
    mpsc::Receiver<Instant>,
) {
    let proxy = Proxy::bind(
        "127.0.0.1:0",
        ProxyConfig {
            workers,
            max_connections,
            ..config(upstream)
        },
    )
    .expect("bind the proxy");
    let addr = proxy.local_addr().unwrap();
    let stopper = proxy.stopper().unwrap();
    let (ran, finished) = mpsc::channel::<Instant>();
    thread::spawn(move || {
        proxy.run();
        let _ = ran.send(Instant::now());
    });
    (addr, stopper, finished)
}

#[test]
fn four_workers_refuse_past_max_connections_in_total() {
    let upstream = Server::start(util::data(300), Mode::Ranges);
    let (addr, stopper, _) = with_workers(4, 6, &upstream.url(""));
    // 30 clients held open, over 4 accept loops: a cap counted per worker would let up to 24
    // through.
    let mut clients = clients_asking(addr, 30);
    let mut statuses = std::collections::BTreeMap::new();
    for (i, client) in clients.iter_mut().enumerate() {
        let status = status_of(client)
            .unwrap_or_else(|| panic!("client {i} got no answer within 5 s ({statuses:?} so far)"));
        *statuses.entry(status).or_insert(0) += 1;
    }
    assert_eq!(statuses.get(&206), Some(&6), "{statuses:?}");
    assert_eq!(statuses.get(&503), Some(&24), "{statuses:?}");
    stopper.stop();
}

/// An upstream that trickles a 1 MiB body in 16 pieces, each connection slower than the one
/// before (0.3 s for the first, 0.3 s more for each next): the proxy's last write to a client
/// follows the upstream's last piece closely, whatever the sockets buffer.
fn trickling_upstream(body: Arc<Vec<u8>>) -> Upstream {
    let connections = AtomicUsize::new(0);
    Upstream::start(move |mut conn| {
        if conn.head.is_none() {
            return;
        }
        let i = connections.fetch_add(1, Ordering::SeqCst) as u64;
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
        if conn.stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        for piece in body.chunks(body.len() / 16) {
            thread::sleep(Duration::from_millis(20 + 20 * i));
            if conn.stream.write_all(piece).is_err() {
                return;
            }
        }
    })
}

#[test]
fn a_stop_lets_every_workers_downloads_finish_and_closes_the_listener() {
    // 8 downloads under way over 4 workers; each worker stops on its own, and none may cut
    // off what it accepted, keep the listener open, or let `run()` return before it is done.
    const DOWNLOADS: usize = 8;
    let data = Arc::new(util::random_bytes(1024 * 1024));
    let upstream = trickling_upstream(data.clone());
    let (addr, stopper, finished) = with_workers(4, 1024, &upstream.url(""));
    let downloads: Vec<_> = (0..DOWNLOADS)
        .map(|_| {
            let mut client = Client::connect(addr);
            client.send(&request_bytes("GET", FILE, &[]));
            let status = client.line().unwrap().unwrap();
            assert!(status.starts_with("HTTP/1.1 200"), "{status}");
            while !client.line().unwrap().unwrap().is_empty() {}
            let data = data.clone();
            thread::spawn(move || {
                let mut body = vec![0u8; data.len()];
                client
                    .reader
                    .read_exact(&mut body)
                    .expect("the rest of the body");
                assert_bytes_eq(&body, &data);
                Instant::now()
            })
        })
        .collect();
    stopper.stop();
    let refused = eventually(Duration::from_secs(2), || {
        matches!(TcpStream::connect_timeout(&addr, Duration::from_millis(200)),
            Err(e) if e.kind() == ErrorKind::ConnectionRefused)
    });
    assert!(refused, "still accepting 2 s after the stop");
    let last = downloads
        .into_iter()
        .map(|d| d.join().expect("a download under way was cut off"))
        .max()
        .unwrap();
    let ended = finished
        .recv_timeout(Duration::from_secs(5))
        .expect("run() still going 5 s after the downloads ended");
    // The slowest download takes 2.6 s; `run()` ends with it, not with the first worker done.
    assert!(
        ended + Duration::from_millis(150) > last,
        "run() ended {:?} before the last download",
        last - ended
    );
}
