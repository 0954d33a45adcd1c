//! TLS trust: an https server on 127.0.0.1 whose CA is made by the test, so it is in no trust
//! store. Untrusted by default; trusted with `--cacert`, `SSL_CERT_FILE` or `SSL_CERT_DIR`;
//! not checked with `-k`. The fetch, `info`, `ls`, `cat` and `serve`'s upstream alike.

use crate::util::errors::{assert_exit, assert_runtime_error};
use crate::util::raw_http;
use crate::util::serve_process::Spawned;
use crate::util::tls_server::{ETAG, TlsServer};
use crate::util::zips::{self, Item};
use crate::util::{self, assert_bytes_eq, command::TestCommand};

const WARNING: &str = "rangecat: warning: --insecure";

fn served(len: usize) -> (TlsServer, Vec<u8>) {
    let data = util::random_bytes(len);
    (TlsServer::start(data.clone()), data)
}

#[test]
fn an_unknown_ca_is_refused_naming_the_problem() {
    let (server, _) = served(1000);
    let output = TestCommand::new()
        .args([&server.url("/f.bin"), "0:10"])
        .output();
    let message = assert_runtime_error(&output);
    assert!(
        message.contains("UnknownIssuer"),
        "the message must name the certificate problem: {message}"
    );
    assert!(
        message.contains("--cacert"),
        "the message must say how to trust it: {message}"
    );
    assert!(
        output.stdout.is_empty(),
        "wrote {} bytes",
        output.stdout.len()
    );
    assert_eq!(
        server.served(),
        0,
        "a request went over an untrusted connection"
    );
}

#[test]
fn cacert_trusts_the_servers_ca() {
    let (server, data) = served(10_000);
    let ca = server.pki.ca_pem();
    let got = TestCommand::new()
        .arg("--cacert")
        .arg(&ca)
        .args([&server.url("/f.bin"), "100:200", "-50:"])
        .stdout();
    assert_bytes_eq(&got, &[&data[100..200], &data[10_000 - 50..]].concat());
}

#[test]
fn ssl_cert_file_and_ssl_cert_dir_are_honoured() {
    let (server, data) = served(4096);
    let cases = [
        ("SSL_CERT_FILE", server.pki.ca_pem(), "1000+24", 1000..1024),
        ("SSL_CERT_DIR", server.pki.dir().to_owned(), ":16", 0..16),
    ];
    for (variable, value, range, want) in cases {
        let got = TestCommand::new()
            .case(variable)
            .env(variable, value)
            .args([&server.url("/f.bin"), range])
            .stdout();
        assert_bytes_eq(&got, &data[want]);
    }
}

#[test]
fn an_ssl_cert_file_that_is_missing_is_an_error_naming_it() {
    let (server, _) = served(100);
    let output = TestCommand::new()
        .env("SSL_CERT_FILE", "/nonexistent/ca.pem")
        .arg(server.url("/f.bin"))
        .output();
    let message = assert_runtime_error(&output);
    assert!(
        message.contains("SSL_CERT_FILE") && message.contains("/nonexistent/ca.pem"),
        "{message}"
    );
}

#[test]
fn insecure_skips_verification_with_a_warning() {
    let (server, data) = served(3000);
    let output = TestCommand::new()
        .args(["-k", &server.url("/f.bin"), "10:20"])
        .success();
    assert_bytes_eq(&output.stdout, &data[10..20]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "one warning line:\n{stderr}");
    assert!(stderr.starts_with(WARNING), "no warning:\n{stderr}");
}

#[test]
fn quiet_insecure_prints_no_warning() {
    let (server, data) = served(3000);
    let output = TestCommand::new()
        .args(["-q", "--insecure", &server.url("/f.bin"), "-10:"])
        .success();
    assert_bytes_eq(&output.stdout, &data[3000 - 10..]);
    assert!(
        output.stderr.is_empty(),
        "-q must silence the warning:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_missing_cacert_file_is_a_usage_error() {
    let output = TestCommand::new()
        .args(["--cacert", "/nonexistent/ca.pem", "https://127.0.0.1:9/f"])
        .output();
    let stderr = assert_exit(&output, 2);
    assert!(
        stderr.starts_with("rangecat: cannot read --cacert /nonexistent/ca.pem"),
        "{stderr}"
    );
}

#[test]
fn a_cacert_file_without_certificates_is_a_usage_error() {
    let (_dir, path) = util::fixtures::local_file("ca.pem", b"no certificates here\n");
    let output = TestCommand::new()
        .args(["info", "https://127.0.0.1:9/f", "--cacert"])
        .arg(&path)
        .output();
    let stderr = assert_exit(&output, 2);
    assert!(stderr.contains("holds no PEM certificate"), "{stderr}");
}

#[test]
fn info_honours_cacert() {
    let (server, _) = served(12_345);
    let untrusted = TestCommand::new()
        .args(["info", "--json", &server.url("/f.bin")])
        .output();
    assert!(assert_runtime_error(&untrusted).contains("UnknownIssuer"));
    let out = TestCommand::new()
        .args(["info", "--json", &server.url("/f.bin"), "--cacert"])
        .arg(server.pki.ca_pem())
        .stdout();
    let json: serde_json::Value = serde_json::from_slice(&out).expect("info --json");
    assert_eq!(json["length"], 12_345, "{json}");
    assert_eq!(json["etag"], ETAG, "{json}");
}

fn zip_server() -> TlsServer {
    TlsServer::start(zips::archive(&[
        Item::stored("a.txt", b"hello over tls"),
        Item::deflated("dir/b.bin", &util::data(5000)),
    ]))
}

#[test]
fn ls_and_cat_honour_cacert() {
    let server = zip_server();
    let url = server.url("/a.zip");
    let untrusted = TestCommand::new().args(["ls", &url]).output();
    assert!(assert_runtime_error(&untrusted).contains("UnknownIssuer"));
    let listing = TestCommand::new()
        .args(["ls", &url, "--cacert"])
        .arg(server.pki.ca_pem())
        .stdout();
    assert_eq!(String::from_utf8_lossy(&listing), "a.txt\ndir/b.bin\n");
    let member = TestCommand::new()
        .args(["cat", "--cacert"])
        .arg(server.pki.ca_pem())
        .args([&url, "dir/b.bin"])
        .stdout();
    assert_bytes_eq(&member, &util::data(5000));
}

#[test]
fn x_honours_insecure() {
    let server = zip_server();
    let dir = tempfile::tempdir().unwrap();
    TestCommand::new()
        .args(["x", "-q", "-k", &server.url("/a.zip"), "a.txt", "-C"])
        .arg(dir.path())
        .success();
    let got = std::fs::read(dir.path().join("a.txt")).unwrap();
    assert_bytes_eq(&got, b"hello over tls");
}

#[test]
fn serve_upstream_over_https_honours_cacert() {
    let (server, data) = served(20_000);
    let base = server.url("");
    let ca = server.pki.ca_pem();
    let proxy = Spawned::start(&["--upstream", &base, "--cacert", ca.to_str().unwrap()]);
    let answer = raw_http::get(proxy.addr, "/f.bin", &[("Range", "bytes=100-199")]);
    assert_eq!(
        answer.status,
        206,
        "{answer:?}\nserve's stderr:\n{}",
        proxy.stderr()
    );
    assert_bytes_eq(&answer.body, &data[100..200]);
}

#[test]
fn serve_upstream_with_an_unknown_ca_is_a_502_naming_the_problem() {
    let (server, _) = served(1000);
    let proxy = Spawned::start(&["--upstream", &server.url("")]);
    let answer = raw_http::get(proxy.addr, "/f.bin", &[]);
    assert_eq!(answer.status, 502, "{answer:?}");
    let body = String::from_utf8_lossy(&answer.body);
    assert!(body.contains("UnknownIssuer"), "{body}");
    assert_eq!(server.served(), 0);
}
