//! `rangecat serve`: README promises about the process as a whole that `serve.rs` left
//! untested: the default listen address, 504 for an upstream that never answers the TCP
//! handshake, no warning on loopback, the default `--max-connections` (from the open-file limit), and a shutdown that lets
//! the request under way finish while refusing new connections.
//!
//! Every test spawns the binary (`util::serve_process`) against a server of its own on
//! 127.0.0.1. The proxies listen on loopback only: 127.0.0.1, once 127.0.0.2, and the default
//! 127.0.0.1:8080. Which addresses get the warning is decided by a unit test in
//! `src/app/serve.rs`, so no test binds a non-loopback address.

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::util::fixtures::{free_port, unanswered_connect};
use crate::util::raw_http::{Client, get, request_bytes};
use crate::util::serve_process::Spawned;
use crate::util::server::{Mode, Server};
use crate::util::{self, assert_bytes_eq};

/// The path requested where the path does not matter.
const FILE: &str = "/file.bin";

/// The listen address the README gives as the default of `--listen`.
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The default of `--max-connections` the README gives for an open-file limit of
/// `OPEN_FILES`: (limit - 64) / 2.
const DEFAULT_MAX_CONNECTIONS: usize = 1024;
const OPEN_FILES: u64 = 2 * DEFAULT_MAX_CONNECTIONS as u64 + 64;

/// Longest wait for the startup line on stderr.
const STARTUP: Duration = Duration::from_secs(5);

#[test]
fn without_listen_it_serves_on_127_0_0_1_port_8080() {
    let addr: SocketAddr = DEFAULT_LISTEN.parse().unwrap();
    let data = util::data(1000);
    let upstream = Server::start(data.clone(), Mode::Ranges);
    let base = upstream.url("");
    let taken = || {
        TcpListener::bind(addr)
            .err()
            .filter(|e| e.kind() == ErrorKind::AddrInUse)
    };
    if let Some(e) = taken() {
        eprintln!("SKIPPED: {DEFAULT_LISTEN} is taken by another program ({e}); cannot test it");
        return;
    }
    let proxy = match Spawned::start_without_listen(&["--upstream", &base], addr) {
        Ok(proxy) => proxy,
        Err(failure) => match taken() {
            // Another program took the port between the check and rangecat's bind.
            Some(_) => {
                eprintln!("SKIPPED: {DEFAULT_LISTEN} was taken meanwhile: {failure}");
                return;
            }
            _ => panic!("rangecat serve without --listen did not start: {failure}"),
        },
    };
    let startup = format!("rangecat: serving {base} on http://{DEFAULT_LISTEN}\n");
    assert!(
        proxy.stderr_shows(&startup, STARTUP),
        "no startup line {startup:?}: {:?}",
        proxy.stderr()
    );
    let response = get(addr, FILE, &[("Range", "bytes=10-19")]);
    assert_eq!(response.status, 206, "{response:?}");
    assert_bytes_eq(&response.body, &data[10..20]);
    // It was this proxy that answered: the request reached this test's upstream.
    assert_eq!(upstream.ranges(), [Some("bytes=10-19".to_owned())]);
    assert!(
        !proxy.stderr().contains("warning"),
        "the default address is loopback: {}",
        proxy.stderr()
    );
}

#[test]
fn listening_on_loopback_prints_no_warning() {
    let upstream = Server::start(util::data(10), Mode::Ranges);
    let base = upstream.url("");
    // 127.0.0.1, and 127.0.0.2: all of 127.0.0.0/8 is loopback.
    let second = SocketAddr::from(([127, 0, 0, 2], free_port()));
    let listen = second.to_string();
    let proxies = [
        Spawned::start(&["--upstream", &base]),
        Spawned::start_without_listen(&["--listen", &listen, "--upstream", &base], second)
            .unwrap_or_else(|failure| panic!("rangecat serve --listen {listen}: {failure}")),
    ];
    for proxy in proxies {
        let startup = format!("rangecat: serving {base} on http://{}\n", proxy.addr);
        assert!(
            proxy.stderr_shows(&startup, STARTUP),
            "no startup line {startup:?}: {:?}",
            proxy.stderr()
        );
        // The warning would come before the startup line.
        assert_eq!(proxy.stderr(), startup);
    }
}

#[test]
fn an_upstream_that_never_answers_the_handshake_gives_504_after_the_connect_timeout() {
    let (_listener, _queued, upstream) = unanswered_connect();
    let proxy = Spawned::start(&[
        "-q",
        "--connect-timeout",
        "1",
        "--upstream",
        &format!("http://{upstream}"),
    ]);
    let mut client = Client::connect(proxy.addr);
    // Well below the default --connect-timeout (10 s) and the 30 s --timeout.
    client
        .stream()
        .set_read_timeout(Some(Duration::from_secs(8)))
        .unwrap();
    let started = Instant::now();
    let response = client.request("GET", FILE, &[("Range", "bytes=0-9")]);
    let elapsed = started.elapsed();
    assert_eq!(response.status, 504, "{response:?}");
    let body = String::from_utf8_lossy(&response.body).to_lowercase();
    assert!(body.contains("timeout"), "{response:?}");
    // At least the one --connect-timeout, and far less than the defaults: the option is used.
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(6),
        "504 after {elapsed:?} with --connect-timeout 1"
    );
}

/// The soft limit on open files of this process (`Max open files` in `/proc/self/limits`).
pub(crate) fn open_file_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("read /proc/self/limits");
    limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .map(|soft| soft.parse().unwrap_or(u64::MAX))
        .expect("a Max open files line")
}

#[test]
fn by_default_1024_idle_keep_alive_connections_are_served_and_the_next_gets_503_under_2112_open_files()
 {
    // The clients, the upstream's side of the proxy's connections and the other tests running
    // meanwhile all hold descriptors in this process.
    let needed = 4 * DEFAULT_MAX_CONNECTIONS as u64;
    let limit = open_file_limit();
    if limit < needed {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "this test needs `ulimit -n` of {needed} or more, not {limit}, when CI=true"
        );
        eprintln!("SKIPPED: `ulimit -n` is {limit}; this test needs {needed}");
        return;
    }
    let data = util::data(300);
    let upstream = Server::start(data.clone(), Mode::Ranges);
    let proxy =
        Spawned::start_with_open_files(Some(OPEN_FILES), &["-q", "--upstream", &upstream.url("")]);
    let range = |i: usize| format!("bytes={}-{}", i % 250, i % 250 + 4);
    let check = |client: &mut Client, i: usize, context: &str| {
        let response = client.request("GET", FILE, &[("Range", &range(i))]);
        assert_eq!(response.status, 206, "{context}, client {i}: {response:?}");
        assert_bytes_eq(&response.body, &data[i % 250..i % 250 + 5]);
        assert_eq!(response.header("connection"), Some("keep-alive"));
    };
    // Each connection is served once, then left idle and open.
    let mut clients: Vec<Client> = (0..DEFAULT_MAX_CONNECTIONS)
        .map(|i| {
            let mut client = Client::connect(proxy.addr);
            check(&mut client, i, "first request");
            client
        })
        .collect();
    let mut extra = Client::connect(proxy.addr);
    let response = extra.request("GET", FILE, &[("Range", "bytes=0-0")]);
    assert_eq!(
        response.status,
        503,
        "connection {} of a limit of {DEFAULT_MAX_CONNECTIONS}: {response:?}",
        DEFAULT_MAX_CONNECTIONS + 1
    );
    assert!(extra.closes_within(Duration::from_secs(2)));
    // Every connection under the limit is still served on the same connection.
    for (i, client) in clients.iter_mut().enumerate() {
        check(client, i, "after the 503");
    }
}

/// Reads exactly `len` bytes from `client` in `piece`-sized reads, pausing `pause` after each.
fn read_slowly(client: &mut Client, len: usize, piece: usize, pause: Duration) -> Vec<u8> {
    let mut got = Vec::with_capacity(len);
    let mut buf = vec![0u8; piece];
    while got.len() < len {
        let want = (len - got.len()).min(piece);
        match client.reader.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("after {} of {len} bytes: {e}", got.len()),
        }
        thread::sleep(pause);
    }
    got
}

#[test]
fn sigterm_and_sigint_let_the_download_under_way_finish_refuse_new_connections_and_exit_0() {
    const BODY: usize = 24 * 1024 * 1024;
    let data = util::random_bytes(BODY);
    let upstream = Server::start(data.clone(), Mode::Ranges);
    for signal in ["TERM", "INT"] {
        let mut proxy = Spawned::start(&["-q", "--upstream", &upstream.url("")]);
        let mut client = Client::connect(proxy.addr);
        // A small receive buffer, so that most of the body is still to be sent at the signal.
        socket2::SockRef::from(client.stream())
            .set_recv_buffer_size(128 * 1024)
            .unwrap();
        client.send(&request_bytes("GET", FILE, &[]));
        let line = client
            .line()
            .expect("a status line")
            .expect("a status line");
        assert_eq!(line, "HTTP/1.1 200 OK", "SIG{signal}");
        let mut length = None;
        loop {
            let line = client
                .line()
                .expect("a header line")
                .expect("a header line");
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                }
            }
        }
        assert_eq!(length, Some(BODY), "SIG{signal}");
        // The download is under way: the first MiB has arrived, 23 are still to come.
        let mut body = read_slowly(&mut client, 1024 * 1024, 64 * 1024, Duration::ZERO);
        proxy.signal(signal);
        let signalled = Instant::now();
        // New connections are refused soon after the signal (the accept loop wakes at once).
        let refused = loop {
            match TcpStream::connect_timeout(&proxy.addr, Duration::from_millis(200)) {
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => break true,
                _ if signalled.elapsed() > Duration::from_secs(2) => break false,
                _ => thread::sleep(Duration::from_millis(10)),
            }
        };
        assert!(
            refused,
            "SIG{signal}: {} still takes connections 2 s after the signal",
            proxy.addr
        );
        // The rest, read slowly (about a second in all): the proxy waits for it.
        body.extend(read_slowly(
            &mut client,
            BODY - body.len(),
            256 * 1024,
            Duration::from_millis(10),
        ));
        assert_bytes_eq(&body, &data);
        let status = proxy
            .wait_for_exit(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("still running 5 s after the download under way ended"));
        assert_eq!(
            status.code(),
            Some(0),
            "SIG{signal}: {status}\n{}",
            proxy.stderr()
        );
    }
}
