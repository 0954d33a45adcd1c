//! A real nginx, started by a test in the foreground with its own configuration, serving a
//! directory on a free 127.0.0.1 port, and killed on drop.
//!
//! Everything nginx writes (configuration, pid file, error and access logs, temp paths) lives
//! in a private temp dir, so tests neither need nor touch `/etc/nginx` or `/var/log/nginx`.
//! Outside CI, a machine without nginx skips these tests (`start` returns `None`); with
//! `CI=true` a missing nginx is a failure, so CI cannot pass by testing nothing.
//!
//! Besides `/PATH` (the directory as is), the same files are served under two prefixes that
//! change how nginx answers:
//! - `/no-ranges/PATH`: `max_ranges 0`, so every request gets a `200` with the whole file,
//!   as from a server that ignores `Range`.
//! - `/gzip/PATH`: gzip on for every type, so a client that asks for gzip gets a compressed
//!   body (and nginx then ignores `Range`); a client that asks for identity gets the bytes.
//! - `/trailers/PATH`: as `/gzip/`, and a compressed body (chunked) ends with the trailer
//!   field `X-Rangecat-Trailer: sent`.
//! - `/short-keepalive/PATH`: nginx closes the connection once it has been idle for 1 s
//!   after an answer (`keepalive_timeout 1s`).

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::fixtures::free_port;

/// How long a test waits for lines in the access log (and for a barrier's answer).
const LOG_TIMEOUT: Duration = Duration::from_secs(5);

/// How long nginx may take to accept connections once started.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Attempts at starting nginx: another process may take the free port we picked before nginx
/// binds it.
const START_ATTEMPTS: usize = 3;

/// One access-log line per request, tab-separated, `-` for an absent header. Parsed by
/// [`Nginx::requests`].
const LOG_FORMAT: &str = r#"'$request_method\t$uri\t$http_range\t$http_if_range\t$http_accept_encoding\t$status\t$body_bytes_sent\t$connection'"#;

/// A running nginx; killed, and waited for, on drop.
pub struct Nginx {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    /// Log barriers sent so far, to name each one uniquely.
    barriers: AtomicUsize,
}

/// One request as nginx logged it. Header fields are `None` when the request lacked them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `HEAD`, ...
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The `Range` header.
    pub range: Option<String>,
    /// The `If-Range` header.
    pub if_range: Option<String>,
    /// The `Accept-Encoding` header.
    pub accept_encoding: Option<String>,
    /// The response status.
    pub status: u16,
    /// Body bytes sent in the response.
    pub body_bytes: u64,
    /// nginx's serial number of the connection the request came on.
    pub connection: u64,
}

impl Nginx {
    /// Starts nginx serving `root` on a free loopback port and waits until it accepts
    /// connections. `None` when nginx is not installed, unless `CI=true`: then it panics.
    /// Panics when nginx is there but fails to start.
    pub fn start(root: &Path) -> Option<Nginx> {
        let Some(binary) = find_binary() else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("nginx is required when CI=true: .ci/run installs nginx-light");
            }
            return None;
        };
        let root =
            fs::canonicalize(root).unwrap_or_else(|e| panic!("nginx root {}: {e}", root.display()));
        let mut failures = String::new();
        for attempt in 1..=START_ATTEMPTS {
            match try_start(&binary, &root) {
                Ok(nginx) => return Some(nginx),
                Err(why) => {
                    let _ = writeln!(failures, "attempt {attempt}: {why}");
                }
            }
        }
        panic!("nginx ({}) did not start:\n{failures}", binary.display());
    }

    /// The port nginx listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT/` followed by `path` (with or without a leading `/`).
    pub fn url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/{}",
            self.port,
            path.trim_start_matches('/')
        )
    }

    /// The access log of every request finished so far, one line each in [`LOG_FORMAT`],
    /// oldest first.
    ///
    /// nginx logs a request just after sending its last byte, so a client can exit before
    /// the line is written. This sends a request of its own (a barrier) and waits, bounded,
    /// for its line: nginx runs one single-threaded worker, so every request whose last byte
    /// went out before the barrier arrived is logged before it. Barrier lines are left out.
    /// (A request whose client hung up before nginx sent everything is logged only when nginx
    /// notices; wait for those with [`Nginx::wait_for_requests`].)
    pub fn access_log(&self) -> String {
        let barrier = format!(
            "/.rangecat-barrier-{}",
            self.barriers.fetch_add(1, Ordering::SeqCst)
        );
        let mut stream = TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)),
            LOG_TIMEOUT,
        )
        .expect("connect to nginx for a log barrier");
        stream.set_read_timeout(Some(LOG_TIMEOUT)).unwrap();
        write!(
            stream,
            "GET {barrier} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .expect("send the log barrier");
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .expect("read the log barrier's answer");
        let mine = format!("GET\t{barrier}\t");
        let log = self.log_until(|log| log.lines().any(|line| line.starts_with(&mine)));
        without_barriers(&log)
    }

    /// The access log as it is now, without waiting for anything: for failure messages.
    pub fn access_log_now(&self) -> String {
        fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    /// The requests in the access log so far (see [`Nginx::access_log`]), oldest first.
    pub fn requests(&self) -> Vec<Request> {
        self.access_log().lines().map(parse_log_line).collect()
    }

    /// Waits, bounded, until the access log holds at least `count` requests (barriers left
    /// out) and returns them all, oldest first; for requests that a client ended early.
    pub fn wait_for_requests(&self, count: usize) -> Vec<Request> {
        let log = self.log_until(|log| without_barriers(log).lines().count() >= count);
        without_barriers(&log).lines().map(parse_log_line).collect()
    }

    /// The access log once `done` holds for it (only whole lines); panics after
    /// `LOG_TIMEOUT`, showing the log.
    fn log_until(&self, done: impl Fn(&str) -> bool) -> String {
        let path = self.dir.path().join("access.log");
        let deadline = Instant::now() + LOG_TIMEOUT;
        loop {
            let mut log = fs::read_to_string(&path).unwrap_or_default();
            // A line being written is not there yet.
            log.truncate(log.rfind('\n').map_or(0, |at| at + 1));
            if done(&log) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "nginx's access log did not get the awaited lines within {LOG_TIMEOUT:?}:\n{log}"
            );
            sleep(Duration::from_millis(5));
        }
    }

    /// nginx's error log, for failure messages.
    pub fn error_log(&self) -> String {
        fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `/usr/sbin/nginx` (Debian, not on a normal user's PATH), else `nginx` on PATH.
fn find_binary() -> Option<PathBuf> {
    let standard = PathBuf::from("/usr/sbin/nginx");
    if standard.is_file() {
        return Some(standard);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

/// One attempt: pick a port, write the configuration, start nginx, wait for it.
fn try_start(binary: &Path, root: &Path) -> Result<Nginx, String> {
    let dir = tempfile::Builder::new()
        .prefix("rangecat-nginx-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    // Another process may take the port before nginx binds it; `Nginx::start` retries then.
    let port = free_port();
    let conf = dir.path().join("nginx.conf");
    fs::write(&conf, config(dir.path(), root, port)).map_err(|e| format!("config: {e}"))?;
    let stderr =
        fs::File::create(dir.path().join("stderr.log")).map_err(|e| format!("stderr log: {e}"))?;
    let child = Command::new(binary)
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", binary.display()))?;
    // From here on, dropping `nginx` kills the child, whatever happens.
    let mut nginx = Nginx {
        child,
        port,
        dir,
        barriers: AtomicUsize::new(0),
    };
    wait_until_ready(&mut nginx)?;
    Ok(nginx)
}

/// Ready when nginx has written its pid file (it does so after binding its sockets) and the
/// port accepts connections; failed when nginx exits or the deadline passes.
fn wait_until_ready(nginx: &mut Nginx) -> Result<(), String> {
    let pid_file = nginx.dir.path().join("nginx.pid");
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, nginx.port));
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if let Ok(Some(status)) = nginx.child.try_wait() {
            return Err(format!("nginx exited ({status}):\n{}", logs(nginx)));
        }
        let pid_written = fs::read_to_string(&pid_file)
            .is_ok_and(|pid| pid.trim() == nginx.child.id().to_string());
        if pid_written && TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "not accepting connections on {addr} after {STARTUP_TIMEOUT:?}:\n{}",
                logs(nginx)
            ));
        }
        sleep(Duration::from_millis(10));
    }
}

fn logs(nginx: &Nginx) -> String {
    let stderr = fs::read_to_string(nginx.dir.path().join("stderr.log")).unwrap_or_default();
    format!("stderr: {stderr}\nerror.log: {}", nginx.error_log())
}

/// Whether this process runs as root (the owner of its own /proc entry).
fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// A self-contained configuration: one process in the foreground (`master_process off`, so
/// killing the child stops everything and no worker switches to `nobody`, who could not read
/// a 0700 temp dir), every path inside `prefix`.
fn config(prefix: &Path, root: &Path, port: u16) -> String {
    let p = |name: &str| prefix.join(name).display().to_string();
    let root = root.display();
    // Only the super-user may name a user; others get a warning for it. With a master
    // process its workers would otherwise become `nobody`.
    let user = if running_as_root() { "user root;" } else { "" };
    format!(
        r#"{user}
daemon off;
master_process off;
worker_processes 1;
pid {pid};
lock_file {lock};
error_log {error_log} warn;
events {{
    worker_connections 128;
}}
http {{
    log_format rangecat {LOG_FORMAT};
    access_log {access_log} rangecat;
    client_body_temp_path {body};
    proxy_temp_path {proxy};
    fastcgi_temp_path {fastcgi};
    uwsgi_temp_path {uwsgi};
    scgi_temp_path {scgi};
    types {{ }}
    default_type application/octet-stream;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root {root};
        location /no-ranges/ {{
            alias {root}/;
            max_ranges 0;
        }}
        location /gzip/ {{
            alias {root}/;
            gzip on;
            gzip_types *;
            gzip_min_length 1;
        }}
        location /trailers/ {{
            alias {root}/;
            gzip on;
            gzip_types *;
            gzip_min_length 1;
            add_trailer X-Rangecat-Trailer sent;
        }}
        location /short-keepalive/ {{
            alias {root}/;
            keepalive_timeout 1s;
        }}
    }}
}}
"#,
        pid = p("nginx.pid"),
        lock = p("nginx.lock"),
        error_log = p("error.log"),
        access_log = p("access.log"),
        body = p("client_body_temp"),
        proxy = p("proxy_temp"),
        fastcgi = p("fastcgi_temp"),
        uwsgi = p("uwsgi_temp"),
        scgi = p("scgi_temp"),
    )
}

/// `log` without the lines of [`Nginx::access_log`]'s barriers.
fn without_barriers(log: &str) -> String {
    log.lines()
        .filter(|line| !line.starts_with("GET\t/.rangecat-barrier-"))
        .map(|line| format!("{line}\n"))
        .collect()
}

fn parse_log_line(line: &str) -> Request {
    let fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(fields.len(), 8, "unexpected access log line: {line:?}");
    let header = |value: &str| (value != "-").then(|| value.to_string());
    Request {
        method: fields[0].to_string(),
        path: fields[1].to_string(),
        range: header(fields[2]),
        if_range: header(fields[3]),
        accept_encoding: header(fields[4]),
        status: fields[5].parse().expect("status in access log"),
        body_bytes: fields[6].parse().expect("body bytes in access log"),
        connection: fields[7].parse().expect("connection number in access log"),
    }
}
