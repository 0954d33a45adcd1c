//! An https server for the TLS tests: a CA and a server certificate for 127.0.0.1 (an IP
//! SAN) and localhost, made with rcgen when the server starts, and rustls over a std
//! `TcpStream` in a thread per connection, serving one byte buffer with single ranges
//! (RFC 9110 §14.2: `a-b`, `a-`, `-n`), HEAD and keep-alive, and a redirect to URL at
//! `/to/URL`. Loops are bounded and the server stops when dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use super::acceptor::Acceptor;

/// Requests served on one connection at most.
const MAX_REQUESTS: usize = 200;
/// A request head larger than this ends the connection (the tests never send one).
const MAX_HEAD: usize = 64 * 1024;
/// A read or write that stalls this long ends the connection.
const IO_LIMIT: Duration = Duration::from_secs(10);
/// The strong ETag of the buffer served.
pub const ETAG: &str = "\"tls-v1\"";

/// A test CA and the server certificate it signed, with the CA's PEM in a temporary file.
pub struct Pki {
    dir: tempfile::TempDir,
    chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
}

impl Pki {
    /// A new CA ("rangecat test CA") and a server certificate for 127.0.0.1 and localhost.
    pub fn generate() -> Pki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "rangecat test CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).expect("self-sign the CA");
        let issuer = Issuer::new(ca, ca_key);

        let leaf_key = KeyPair::generate().expect("server key");
        let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("server params");
        leaf.distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_cert = leaf
            .signed_by(&leaf_key, &issuer)
            .expect("sign the server cert");

        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).expect("write ca.pem");
        Pki {
            dir,
            chain: vec![leaf_cert.der().clone(), ca_cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
        }
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The directory holding `ca.pem` (for `SSL_CERT_DIR`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn server_config(&self) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                self.chain.clone(),
                PrivateKeyDer::Pkcs8(self.key.clone_key()),
            )
            .expect("server certificate and key");
        Arc::new(config)
    }
}

/// The https server; stops when dropped.
pub struct TlsServer {
    pub pki: Pki,
    served: Arc<AtomicUsize>,
    acceptor: Acceptor,
}

impl TlsServer {
    /// Serves `body` at every path over https on 127.0.0.1, with a new CA.
    pub fn start(body: Vec<u8>) -> TlsServer {
        let pki = Pki::generate();
        let config = pki.server_config();
        let body = Arc::new(body);
        let served = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&served);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let acceptor = Acceptor::start(stop, move |stream, _| {
            serve_connection(stream, &config, &body, &count, &stopped)
        });
        TlsServer {
            pki,
            served,
            acceptor,
        }
    }

    /// `https://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{}", self.acceptor.addr(), path)
    }

    /// Requests answered so far (a handshake the client refused answers none).
    pub fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }
}

fn serve_connection(
    stream: TcpStream,
    config: &Arc<ServerConfig>,
    body: &[u8],
    served: &AtomicUsize,
    stop: &AtomicBool,
) {
    let _ = stream.set_read_timeout(Some(IO_LIMIT));
    let _ = stream.set_write_timeout(Some(IO_LIMIT));
    let Ok(connection) = ServerConnection::new(Arc::clone(config)) else {
        return;
    };
    let mut tls = StreamOwned::new(connection, stream);
    let mut buf = Vec::new();
    for _ in 0..MAX_REQUESTS {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Some(head) = read_head(&mut tls, &mut buf) else {
            return;
        };
        if !respond(&mut tls, &head, body) {
            return;
        }
        served.fetch_add(1, Ordering::SeqCst);
        let _ = tls.flush();
    }
}

/// Reads one request head (up to the blank line); `None` when the client is gone.
fn read_head(tls: &mut impl Read, buf: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 4);
            return Some(head);
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let mut chunk = [0u8; 4096];
        match tls.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Answers one request; `false` when the connection should end.
fn respond(tls: &mut impl Write, head: &str, body: &[u8]) -> bool {
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let method = request_line.split(' ').next().unwrap_or("").to_owned();
    // `/to/URL` answers a redirect to URL, for the redirect tests.
    let target = request_line.split(' ').nth(1).unwrap_or("");
    if let Some(location) = target.strip_prefix("/to/") {
        let answer =
            format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n");
        return tls.write_all(answer.as_bytes()).is_ok() && tls.flush().is_ok();
    }
    let mut range = None;
    let mut close = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("range") {
            range = value.strip_prefix("bytes=").map(str::to_owned);
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            close = true;
        }
    }
    let len = body.len();
    let (status, span) = match range.as_deref().map(|r| parse_range(r, len)) {
        None => ("200 OK", Some(0..len)),
        Some(Some(span)) => ("206 Partial Content", Some(span)),
        Some(None) => ("416 Range Not Satisfiable", None),
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nAccept-Ranges: bytes\r\nETag: {ETAG}\r\n\
         Content-Type: application/octet-stream\r\n"
    );
    let payload = match &span {
        Some(span) => {
            if status.starts_with("206") {
                out += &format!(
                    "Content-Range: bytes {}-{}/{len}\r\n",
                    span.start,
                    span.end - 1
                );
            }
            &body[span.clone()]
        }
        None => {
            out += &format!("Content-Range: bytes */{len}\r\n");
            &[][..]
        }
    };
    out += &format!("Content-Length: {}\r\n\r\n", payload.len());
    let mut bytes = out.into_bytes();
    if method != "HEAD" {
        bytes.extend_from_slice(payload);
    }
    tls.write_all(&bytes).is_ok() && tls.flush().is_ok() && !close
}

/// One satisfiable range of a `bytes=` value, or `None` (416).
fn parse_range(value: &str, len: usize) -> Option<std::ops::Range<usize>> {
    let (first, last) = value.split_once('-')?;
    let span = if first.is_empty() {
        let n: usize = last.parse().ok()?;
        len.saturating_sub(n)..len
    } else {
        let start: usize = first.parse().ok()?;
        let end = if last.is_empty() {
            len
        } else {
            (last.parse::<usize>().ok()? + 1).min(len)
        };
        start..end
    };
    (span.start < span.end).then_some(span)
}
