//! Real web servers other than nginx (util::nginx), each started by a test in the foreground
//! with its own configuration, serving a directory on a free 127.0.0.1 port, and killed on
//! drop: Apache httpd 2.4, lighttpd 1.4, busybox httpd (Debian packages), uvicorn with
//! Starlette's `FileResponse` and gunicorn with Flask/Werkzeug's `send_file` (PyPI, in a
//! virtualenv this module makes on first use, see [`venv`]).
//!
//! Everything a server writes (configuration, pid file, logs) lives in a private temp dir.
//! Outside CI, a machine without the server skips the test ([`RealServer::start`] returns
//! `None`); with `CI=true` a missing server is a failure, so CI cannot pass by testing nothing.
//!
//! Each server logs every request it answered, in its own log, as one tab-separated line
//! `METHOD PATH RANGE STATUS BYTES` (see [`Request`]); busybox httpd has no access log, and
//! its `-vv` lines on stderr (one `url:` line per connection, and it closes every connection
//! after one request) give the path of each request but not its Range header.

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::fixtures::free_port;

/// How long a test waits for a line in a server's log. lighttpd writes its access log about
/// once a second.
const LOG_TIMEOUT: Duration = Duration::from_secs(5);

/// After a barrier's line shows up: how long threaded servers (Apache's event MPM, gunicorn's
/// threads) may still take to log a request whose last byte went out before the barrier came.
const LOG_SETTLE: Duration = Duration::from_millis(100);

/// How long a server may take to accept connections once started (the Python ones import a
/// framework first).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);

/// Attempts at starting a server: another process may take the free port we picked first.
const START_ATTEMPTS: usize = 3;

/// The servers of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Apache httpd 2.4 (Debian `apache2`), event MPM, default `MaxRanges 200`.
    Apache,
    /// lighttpd 1.4 (Debian `lighttpd`).
    Lighttpd,
    /// busybox httpd (Debian `busybox`).
    Busybox,
    /// uvicorn serving Starlette's `FileResponse` (tests/data/servers/starlette_app.py).
    Starlette,
    /// gunicorn serving Flask's `send_file` (Werkzeug; tests/data/servers/flask_app.py).
    Werkzeug,
}

impl Kind {
    /// The server's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Apache => "Apache httpd",
            Kind::Lighttpd => "lighttpd",
            Kind::Busybox => "busybox httpd",
            Kind::Starlette => "uvicorn + Starlette",
            Kind::Werkzeug => "gunicorn + Werkzeug",
        }
    }

    /// Whether the log shows each request's Range header (busybox's does not).
    pub fn logs_ranges(self) -> bool {
        self != Kind::Busybox
    }

    /// Where to get it, for the message of a missing server under CI.
    fn install_hint(self) -> &'static str {
        match self {
            Kind::Apache => ".ci/run installs apache2",
            Kind::Lighttpd => ".ci/run installs lighttpd",
            Kind::Busybox => ".ci/run installs busybox",
            Kind::Starlette | Kind::Werkzeug => {
                "the tests make a virtualenv with python3 (python3-venv) and pip, from PyPI"
            }
        }
    }
}

/// One request as the server logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `HEAD`, ...; `None` where the log does not say (busybox).
    pub method: Option<String>,
    /// The path, without the query string.
    pub path: String,
    /// The `Range` header; `None` when absent or not logged (busybox).
    pub range: Option<String>,
    /// The response status; `None` where the log does not say.
    pub status: Option<u16>,
}

/// A running server; killed, and waited for, on drop.
pub struct RealServer {
    kind: Kind,
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    /// Log barriers sent so far, to name each one uniquely.
    barriers: AtomicUsize,
}

impl RealServer {
    /// Starts `kind` serving `root` on a free loopback port and waits until it accepts
    /// connections. `None` when the server is not installed, unless `CI=true`: then it panics.
    /// Panics when the server is there but fails to start.
    ///
    /// Apache running as root serves as `www-data`, so `root` is made readable by all.
    pub fn start(kind: Kind, root: &Path) -> Option<RealServer> {
        let program = match find_program(kind) {
            Ok(program) => program,
            Err(why) => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!(
                        "{} is required when CI=true ({}): {why}",
                        kind.name(),
                        kind.install_hint()
                    );
                }
                eprintln!("skipping: {} not available: {why}", kind.name());
                return None;
            }
        };
        let root = fs::canonicalize(root)
            .unwrap_or_else(|e| panic!("{} root {}: {e}", kind.name(), root.display()));
        if kind == Kind::Apache {
            readable_by_all(&root);
        }
        let mut failures = String::new();
        for attempt in 1..=START_ATTEMPTS {
            match try_start(kind, &program, &root) {
                Ok(server) => return Some(server),
                Err(why) => {
                    let _ = writeln!(failures, "attempt {attempt}: {why}");
                }
            }
        }
        panic!(
            "{} ({}) did not start:\n{failures}",
            kind.name(),
            program.display()
        );
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The port the server listens on, on 127.0.0.1.
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

    /// Every request the server finished so far, oldest first, barriers left out.
    ///
    /// A server logs a request once it has answered it, so a client can exit before the
    /// line is written (and lighttpd buffers its log for about a second). This sends a
    /// request of its own (a barrier) and waits, bounded, for its line, then a little longer
    /// for the threaded servers. busybox writes its `url:` line before answering, so a
    /// client that got its answer has been logged: no barrier there.
    pub fn requests(&self) -> Vec<Request> {
        let log = if self.kind == Kind::Busybox {
            self.log_now()
        } else {
            let barrier = format!(
                "/.rangecat-barrier-{}",
                self.barriers.fetch_add(1, Ordering::SeqCst)
            );
            self.send_barrier(&barrier);
            self.log_until(|log| parse_log(self.kind, log).iter().any(|r| r.path == barrier));
            sleep(LOG_SETTLE);
            self.log_now()
        };
        parse_log(self.kind, &log)
            .into_iter()
            .filter(|r| !r.path.starts_with("/.rangecat-barrier-"))
            .collect()
    }

    /// The log as it is now, whole lines only, without waiting: for failure messages.
    pub fn log_now(&self) -> String {
        let mut log = fs::read_to_string(self.log_path()).unwrap_or_default();
        log.truncate(log.rfind('\n').map_or(0, |at| at + 1));
        log
    }

    /// The server's own messages (error log, stderr), for failure messages.
    pub fn messages(&self) -> String {
        let mut text = String::new();
        for name in ["stderr.log", "error.log"] {
            if let Ok(content) = fs::read_to_string(self.dir.path().join(name)) {
                let _ = write!(text, "{name}:\n{content}");
            }
        }
        text
    }

    fn log_path(&self) -> PathBuf {
        let name = if self.kind == Kind::Busybox {
            "stderr.log"
        } else {
            "access.log"
        };
        self.dir.path().join(name)
    }

    fn send_barrier(&self, path: &str) {
        let mut stream = TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)),
            LOG_TIMEOUT,
        )
        .unwrap_or_else(|e| panic!("connect to {} for a log barrier: {e}", self.kind.name()));
        stream.set_read_timeout(Some(LOG_TIMEOUT)).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .expect("send the log barrier");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }

    /// Waits, bounded, until `done` holds for the log; panics after `LOG_TIMEOUT`.
    fn log_until(&self, done: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + LOG_TIMEOUT;
        loop {
            let log = self.log_now();
            if done(&log) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}'s log did not get the awaited line within {LOG_TIMEOUT:?}:\n{log}\n{}",
                self.kind.name(),
                self.messages()
            );
            sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl super::command::RequestLog for RealServer {
    fn request_log(&self) -> String {
        // No barrier request: a failure message must not fail in its turn.
        self.log_now()
    }
}

/// The program that runs `kind`, or why there is none.
fn find_program(kind: Kind) -> Result<PathBuf, String> {
    match kind {
        Kind::Apache => find_binary("apache2"),
        Kind::Lighttpd => find_binary("lighttpd"),
        Kind::Busybox => find_binary("busybox"),
        Kind::Starlette => Ok(venv()?.join("bin/uvicorn")),
        Kind::Werkzeug => Ok(venv()?.join("bin/gunicorn")),
    }
}

/// `/usr/sbin/NAME` (Debian, not on a normal user's PATH), else `NAME` on PATH.
fn find_binary(name: &str) -> Result<PathBuf, String> {
    let standard = Path::new("/usr/sbin").join(name);
    if standard.is_file() {
        return Ok(standard);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| format!("{name} not found in /usr/sbin or on PATH"))
}

/// The Python packages of the virtualenv, pinned: the dialects the tests expect are these
/// versions' (README "Development").
const REQUIREMENTS: &str = "tests/data/servers/requirements.txt";

/// The virtualenv with uvicorn, Starlette, gunicorn, Flask and moto (for
/// util::s3_server): made on first use in
/// `CARGO_TARGET_TMPDIR/test-venv` with `python3 -m venv` and pip, from
/// [`REQUIREMENTS`], and made again when those change. A lock file keeps parallel tests (and
/// test processes) from making it twice; a marker file written last holds the requirements
/// it was made from, so a half-made virtualenv is never used.
pub fn venv() -> Result<PathBuf, String> {
    // One test process makes it at a time (the lock file below is for other processes).
    static MADE: Mutex<Option<Result<PathBuf, String>>> = Mutex::new(None);
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(result) = made.as_ref() {
        return result.clone();
    }
    let result = make_venv();
    *made = Some(result.clone());
    result
}

fn make_venv() -> Result<PathBuf, String> {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.join("test-venv");
    let marker = dir.join(".rangecat-requirements");
    let requirements_path = super::repo_root().join(REQUIREMENTS);
    let requirements = fs::read_to_string(&requirements_path)
        .map_err(|e| format!("{}: {e}", requirements_path.display()))?;
    fs::create_dir_all(tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let lock =
        fs::File::create(tmp.join("test-venv.lock")).map_err(|e| format!("test-venv.lock: {e}"))?;
    // Held until `lock` is dropped, at the end of this function.
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| format!("lock test-venv.lock: {e}"))?;
    if fs::read_to_string(&marker).is_ok_and(|made_from| made_from == requirements) {
        return Ok(dir);
    }
    eprintln!("making the test virtualenv {} (once)", dir.display());
    let _ = fs::remove_dir_all(&dir);
    run(Command::new("python3").arg("-m").arg("venv").arg(&dir))?;
    run(Command::new(dir.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements_path))?;
    fs::write(&marker, &requirements).map_err(|e| format!("{}: {e}", marker.display()))?;
    Ok(dir)
}

/// Runs `cmd` to its end; its output only in the error.
fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{shown}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{shown}: {}\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// Whether this process runs as root (the owner of its own /proc entry).
fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

/// Makes `root` and what it holds readable (and its directories searchable) by all.
fn readable_by_all(root: &Path) {
    let meta = fs::metadata(root).expect("served root");
    let mode = meta.permissions().mode();
    let wanted = if meta.is_dir() {
        mode | 0o555
    } else {
        mode | 0o444
    };
    fs::set_permissions(root, fs::Permissions::from_mode(wanted)).expect("chmod served root");
    if meta.is_dir() {
        for entry in fs::read_dir(root).expect("read served root") {
            readable_by_all(&entry.expect("served root entry").path());
        }
    }
}

/// One attempt: pick a port, write the configuration, start the server, wait for it.
fn try_start(kind: Kind, program: &Path, root: &Path) -> Result<RealServer, String> {
    let dir = tempfile::Builder::new()
        .prefix("rangecat-server-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let port = free_port();
    let stderr =
        fs::File::create(dir.path().join("stderr.log")).map_err(|e| format!("stderr log: {e}"))?;
    let mut cmd = command(kind, program, dir.path(), root, port)?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", program.display()))?;
    // From here on, dropping `server` kills the child, whatever happens.
    let mut server = RealServer {
        kind,
        child,
        port,
        dir,
        barriers: AtomicUsize::new(0),
    };
    wait_until_ready(&mut server)?;
    Ok(server)
}

/// The command line, with its configuration written into `dir`.
fn command(
    kind: Kind,
    program: &Path,
    dir: &Path,
    root: &Path,
    port: u16,
) -> Result<Command, String> {
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        fs::write(&path, text).map_err(|e| format!("{name}: {e}"))?;
        Ok::<PathBuf, String>(path)
    };
    let access_log = dir.join("access.log");
    let apps = super::repo_root().join("tests/data/servers");
    let mut cmd = Command::new(program);
    match kind {
        Kind::Apache => {
            let conf = write("apache.conf", apache_config(dir, root, port))?;
            // -X: one process in the foreground (its threads serve the connections).
            cmd.arg("-X").arg("-f").arg(conf);
        }
        Kind::Lighttpd => {
            let conf = write("lighttpd.conf", lighttpd_config(dir, root, port))?;
            cmd.arg("-D").arg("-f").arg(conf);
        }
        Kind::Busybox => {
            // -f: foreground; -vv: a `url:` and a `response:` line per request on stderr.
            cmd.args(["httpd", "-f", "-vv", "-p"])
                .arg(format!("127.0.0.1:{port}"))
                .arg("-h")
                .arg(root);
        }
        Kind::Starlette => {
            cmd.args(["--no-access-log", "--host", "127.0.0.1", "--port"])
                .arg(port.to_string())
                .arg("--app-dir")
                .arg(&apps)
                .arg("starlette_app:app")
                .env("RANGECAT_ROOT", root)
                .env("RANGECAT_LOG", &access_log);
        }
        Kind::Werkzeug => {
            // gthread workers keep connections alive, as Starlette's uvicorn does.
            cmd.arg("--bind")
                .arg(format!("127.0.0.1:{port}"))
                .args(["--workers", "1", "--threads", "4", "--no-control-socket"])
                .arg("--chdir")
                .arg(&apps)
                .arg("--access-logfile")
                .arg(&access_log)
                .args([
                    "--access-logformat",
                    "%(m)s\t%(U)s\t%({range}i)s\t%(s)s\t%(B)s",
                ])
                .arg("flask_app:app")
                .env("RANGECAT_ROOT", root);
        }
    }
    Ok(cmd)
}

/// A self-contained Apache configuration: the event MPM (with `-X`, one process), the
/// modules a static file needs, every path inside `dir`, and Apache's defaults otherwise
/// (`MaxRanges 200` above all).
fn apache_config(dir: &Path, root: &Path, port: u16) -> String {
    let d = dir.display();
    let root = root.display();
    // Apache refuses to serve as root; as root it switches to www-data after opening its logs.
    let user = if running_as_root() {
        "User www-data\nGroup www-data"
    } else {
        ""
    };
    format!(
        r#"ServerRoot {d}
DefaultRuntimeDir {d}
PidFile {d}/apache.pid
Listen 127.0.0.1:{port}
ServerName localhost
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
{user}
ErrorLog {d}/error.log
LogFormat "%m\t%U\t%{{Range}}i\t%>s\t%B" rangecat
CustomLog {d}/access.log rangecat
DocumentRoot {root}
<Directory {root}>
    Require all granted
</Directory>
"#
    )
}

/// A self-contained lighttpd configuration, every path inside `dir`.
fn lighttpd_config(dir: &Path, root: &Path, port: u16) -> String {
    let d = dir.display();
    let root = root.display();
    format!(
        r#"server.document-root = "{root}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{d}/error.log"
server.pid-file = "{d}/lighttpd.pid"
server.modules = ("mod_accesslog")
accesslog.filename = "{d}/access.log"
accesslog.format = "%m\t%U\t%{{Range}}i\t%>s\t%b"
mimetype.assign = ("" => "application/octet-stream")
"#
    )
}

/// Ready when the port accepts connections; failed when the server exits or the deadline
/// passes.
fn wait_until_ready(server: &mut RealServer) -> Result<(), String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, server.port));
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!(
                "{} exited ({status}):\n{}",
                server.kind.name(),
                server.messages()
            ));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "not accepting connections on {addr} after {STARTUP_TIMEOUT:?}:\n{}",
                server.messages()
            ));
        }
        sleep(Duration::from_millis(20));
    }
}

/// The requests in `log`, in [`RealServer::log_path`]'s format for `kind`.
fn parse_log(kind: Kind, log: &str) -> Vec<Request> {
    if kind == Kind::Busybox {
        // `127.0.0.1:PORT: url:/PATH`, one per connection, one request per connection.
        return log
            .lines()
            .filter_map(|line| line.split_once(": url:"))
            .map(|(_, path)| Request {
                method: None,
                path: path.to_string(),
                range: None,
                status: None,
            })
            .collect();
    }
    log.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(
                fields.len(),
                5,
                "unexpected {} log line: {line:?}",
                kind.name()
            );
            Request {
                method: Some(fields[0].to_string()),
                path: fields[1].to_string(),
                range: (fields[2] != "-").then(|| fields[2].to_string()),
                status: fields[3].parse().ok(),
            }
        })
        .collect()
}
