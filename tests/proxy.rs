//! The standard proxy variables: chosen per scheme, bypassed for NO_PROXY hosts.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::util::command::TestCommand;
use crate::util::fixtures::free_port;
use crate::util::server::{Mode, Server};
use crate::util::{self, assert_bytes_eq};

/// A CONNECT proxy on loopback that tunnels every CONNECT to `upstream`, whatever host it
/// names, and records the targets it was asked for. One thread per connection; all end when
/// their sockets close.
struct ConnectProxy {
    addr: SocketAddr,
    targets: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    fn start(upstream: SocketAddr) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let recorded = targets.clone();
        thread::spawn(move || {
            // Bounded: a test makes a handful of connections.
            for client in listener.incoming().take(16).flatten() {
                let recorded = recorded.clone();
                thread::spawn(move || tunnel(client, upstream, &recorded));
            }
        });
        ConnectProxy { addr, targets }
    }
}

fn tunnel(mut client: TcpStream, upstream: SocketAddr, recorded: &Mutex<Vec<String>>) {
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        if client.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut words = head.split_whitespace();
    if words.next() != Some("CONNECT") {
        let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n");
        return;
    }
    recorded
        .lock()
        .unwrap()
        .push(words.next().unwrap_or("").to_owned());
    let server = TcpStream::connect(upstream).unwrap();
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .unwrap();
    let (mut client_read, mut server_write) =
        (client.try_clone().unwrap(), server.try_clone().unwrap());
    let upload = thread::spawn(move || {
        let _ = io::copy(&mut client_read, &mut server_write);
        let _ = server_write.shutdown(Shutdown::Write);
    });
    let (mut server_read, mut client_write) = (server, client);
    let _ = io::copy(&mut server_read, &mut client_write);
    let _ = client_write.shutdown(Shutdown::Write);
    let _ = upload.join();
}

#[test]
fn http_proxy_carries_the_requests() {
    let data = util::data(1000);
    let server = Server::start(data.clone(), Mode::Ranges);
    let proxy = ConnectProxy::start(server.addr());
    let output = TestCommand::against(&server)
        .env("HTTP_PROXY", format!("http://{}", proxy.addr))
        // Resolvable by nobody: only the proxy can reach it.
        .args(["http://rangecat-test.invalid/file.bin", "0:10", "-10:"])
        .success();
    let mut want = data[..10].to_vec();
    want.extend_from_slice(&data[990..]);
    assert_bytes_eq(&output.stdout, &want);
    server.assert_requests(2, "server");
    let targets = proxy.targets.lock().unwrap().clone();
    // One tunnel per connection, and no more connections than requests.
    assert!((1..=2).contains(&targets.len()), "{targets:?}");
    assert!(
        targets.iter().all(|t| t == "rangecat-test.invalid:80"),
        "{targets:?}"
    );
}

#[test]
fn no_proxy_hosts_are_reached_directly() {
    let data = util::data(1000);
    let server = Server::start(data.clone(), Mode::Ranges);
    for no_proxy in ["127.0.0.1", "*", "localhost,127.0.0.1"] {
        let output = util::rangecat()
            .env("HTTP_PROXY", format!("http://127.0.0.1:{}", free_port()))
            .env("NO_PROXY", no_proxy)
            .args([&server.url("/file.bin"), "-10:"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "NO_PROXY={no_proxy}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_bytes_eq(&output.stdout, &data[990..]);
    }
}

#[test]
fn https_proxy_is_not_used_for_plain_http() {
    let data = util::data(1000);
    let server = Server::start(data.clone(), Mode::Ranges);
    let output = TestCommand::against(&server)
        .env("HTTPS_PROXY", format!("http://127.0.0.1:{}", free_port()))
        .args([&server.url("/file.bin"), "0:5"])
        .success();
    assert_bytes_eq(&output.stdout, &data[..5]);
}

#[test]
fn a_dead_proxy_is_a_runtime_error() {
    let output = util::rangecat()
        .env("http_proxy", format!("http://127.0.0.1:{}", free_port()))
        .args(["http://rangecat-test.invalid/file.bin", "0:5"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("rangecat: ") && stderr.lines().count() == 1,
        "{stderr}"
    );
}
