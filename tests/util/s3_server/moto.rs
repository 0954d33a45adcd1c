//! moto's S3 server (PyPI `moto`, in the virtualenv of [`crate::util::real_server::venv`]),
//! run by tests/data/servers/moto_app.py: moto.server's own WSGI app and request handler
//! under werkzeug, as `python -m moto.server` runs them, plus an access log with the query
//! string and the Range header, which werkzeug's own log (on stderr) lacks.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::{S3Request, encode_key, object_url, request_target};
use crate::util::fixtures::free_port;
use crate::util::raw_http;

/// How long moto may take to accept connections: it imports boto3 and its own models first
/// (about a second here, more on a loaded machine).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Attempts at starting the server: another process may take the free port picked first.
const START_ATTEMPTS: usize = 3;

/// The header that keeps a request out of the access log: the harness's own uploads.
const SETUP_HEADER: &str = "X-Rangecat-Setup";

/// Any SigV4 `Authorization` header: moto checks none, but refuses an anonymous GET or PUT
/// of a private object (403, empty body), as S3 does.
const ANY_SIGNATURE: &str = "AWS4-HMAC-SHA256 Credential=AKIDMOTO/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0000";

/// moto's S3 server on `127.0.0.1:PORT`; killed, and waited for, on drop.
pub struct Moto {
    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_S3` (path-style addressing).
    pub endpoint: String,
    /// The listening address, for raw clients.
    pub addr: SocketAddr,
    child: Child,
    /// The access log and moto's stderr.
    dir: tempfile::TempDir,
    /// How many bytes of the access log [`Moto::clear_requests`] has set aside.
    cleared: Mutex<usize>,
}

impl Moto {
    /// Starts moto's S3 server and waits, bounded, until it accepts connections. `Err` (after
    /// saying why on stderr) when the virtualenv cannot be had, unless `CI=true`: then it
    /// panics, as [`crate::util::real_server::RealServer::start`] does. Panics when moto is
    /// there but does not start.
    pub fn start() -> Result<Moto, String> {
        let python = match crate::util::real_server::venv() {
            Ok(venv) => venv.join("bin/python"),
            Err(why) => {
                assert!(
                    !std::env::var("CI").is_ok_and(|v| v == "true"),
                    "moto is required when CI=true (the tests make a virtualenv with python3 \
                     (python3-venv) and pip, from PyPI): {why}"
                );
                eprintln!("skipping: moto not available: {why}");
                return Err(why);
            }
        };
        let mut failures = String::new();
        for attempt in 1..=START_ATTEMPTS {
            match try_start(&python) {
                Ok(moto) => return Ok(moto),
                Err(why) => failures += &format!("attempt {attempt}: {why}\n"),
            }
        }
        panic!("moto did not start:\n{failures}");
    }

    /// Creates `bucket` if needed and stores `bytes` as `key`, over HTTP with any signature;
    /// these requests are not in [`Moto::requests`].
    pub fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        self.store(bucket, key, bytes, &[]);
    }

    /// [`Moto::put`] with the canned ACL `public-read`: moto then serves the object to
    /// unsigned requests too (`--no-sign-request`), as S3 does.
    pub fn put_public(&self, bucket: &str, key: &str, bytes: &[u8]) {
        self.store(bucket, key, bytes, &[("x-amz-acl", "public-read")]);
    }

    /// `ENDPOINT/BUCKET/KEY` with the key encoded as SigV4 encodes it (see [`object_url`]).
    pub fn url(&self, bucket: &str, key: &str) -> String {
        object_url(&self.endpoint, bucket, key)
    }

    /// Every request the server got since the last [`Moto::clear_requests`], in the order
    /// their answers started (the log line is written before the answer goes out).
    pub fn requests(&self) -> Vec<S3Request> {
        let cleared = *self.cleared.lock().unwrap();
        parse_log(&self.log_now()[cleared..])
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        *self.cleared.lock().unwrap() = self.log_now().len();
    }

    /// moto's own messages (werkzeug's access log, tracebacks), for failure messages.
    pub fn messages(&self) -> String {
        fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// The access log's whole lines.
    fn log_now(&self) -> String {
        let mut log = fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
        log.truncate(log.rfind('\n').map_or(0, |at| at + 1));
        log
    }

    /// Creates `bucket` if needed and PUTs the object with `extra` headers.
    fn store(&self, bucket: &str, key: &str, bytes: &[u8], extra: &[(&str, &str)]) {
        // Creating a bucket one already owns is a 200 in us-east-1.
        self.send_setup("PUT", &format!("/{}", encode_key(bucket)), b"", &[]);
        let url = self.url(bucket, key);
        self.send_setup("PUT", request_target(&url), bytes, extra);
    }

    /// One request of the harness's own, which must succeed with a 200.
    fn send_setup(&self, method: &str, target: &str, body: &[u8], extra: &[(&str, &str)]) {
        let length = body.len().to_string();
        let host = self.addr.to_string();
        let mut headers = vec![
            ("Host", host.as_str()),
            ("Authorization", ANY_SIGNATURE),
            // Not a form: werkzeug would read a form-encoded body away before moto sees it.
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", length.as_str()),
            (SETUP_HEADER, "1"),
        ];
        headers.extend_from_slice(extra);
        let mut request = raw_http::request_bytes(method, target, &headers);
        request.extend_from_slice(body);
        let (answer, _) = raw_http::raw(self.addr, &request);
        assert_eq!(
            answer.status,
            200,
            "moto: {method} {target}: {answer:?}\n{}",
            self.messages()
        );
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl crate::util::command::RequestLog for Moto {
    fn request_log(&self) -> String {
        super::log_lines(&self.requests())
    }
}

/// One attempt: pick a port, start moto_app.py, wait for it to accept connections.
fn try_start(python: &Path) -> Result<Moto, String> {
    let dir = tempfile::Builder::new()
        .prefix("rangecat-moto-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let port = free_port();
    let stderr =
        fs::File::create(dir.path().join("stderr.log")).map_err(|e| format!("stderr log: {e}"))?;
    let script: PathBuf = crate::util::repo_root().join("tests/data/servers/moto_app.py");
    let mut command = Command::new(python);
    command
        .arg(&script)
        .arg(port.to_string())
        .arg(dir.path().join("access.log"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    let child = command
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", python.display()))?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    // From here on, dropping `moto` kills the child, whatever happens.
    let mut moto = Moto {
        endpoint: format!("http://{addr}"),
        addr,
        child,
        dir,
        cleared: Mutex::new(0),
    };
    wait_until_ready(&mut moto)?;
    Ok(moto)
}

/// Ready when the port accepts connections; failed when moto exits or the deadline passes.
fn wait_until_ready(moto: &mut Moto) -> Result<(), String> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if let Ok(Some(status)) = moto.child.try_wait() {
            return Err(format!("moto exited ({status}):\n{}", moto.messages()));
        }
        if TcpStream::connect_timeout(&moto.addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "not accepting connections on {} after {STARTUP_TIMEOUT:?}:\n{}",
                moto.addr,
                moto.messages()
            ));
        }
        sleep(Duration::from_millis(50));
    }
}

/// moto_app.py's log: `METHOD\tPATH\tQUERY\tRANGE\tSTATUS` a line, `-` for no Range.
fn parse_log(log: &str) -> Vec<S3Request> {
    log.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 5, "unexpected moto log line: {line:?}");
            S3Request {
                method: fields[0].to_string(),
                path: fields[1].to_string(),
                query: fields[2].to_string(),
                range: (fields[3] != "-").then(|| fields[3].to_string()),
                status: fields[4].parse().unwrap_or(0),
            }
        })
        .collect()
}
