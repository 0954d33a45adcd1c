//! `rangecat serve` as its own process on a free 127.0.0.1 port (`Spawned`, killed on drop):
//! its stderr, signals, exit status and resident memory.

use std::fs;
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::fixtures::free_port;

/// `rangecat serve` as its own process on a free 127.0.0.1 port, stderr in a temp file;
/// killed on drop.
pub struct Spawned {
    child: Child,
    pub addr: SocketAddr,
    stderr: tempfile::NamedTempFile,
}

impl Spawned {
    /// Starts `rangecat serve --listen 127.0.0.1:PORT ARGS...` and waits until it accepts
    /// connections. Retries with another port if the one picked was taken meanwhile.
    pub fn start(args: &[&str]) -> Spawned {
        Spawned::start_with_open_files(None, args)
    }

    /// [`Spawned::start`] under `prlimit --nofile=N` (soft and hard limit N) when `nofile`
    /// is given.
    pub fn start_with_open_files(nofile: Option<u64>, args: &[&str]) -> Spawned {
        Spawned::start_in(nofile, &[], args)
    }

    /// [`Spawned::start`] with these environment variables (and `PATH`) only.
    pub fn start_with_env(env: &[(&str, &str)], args: &[&str]) -> Spawned {
        Spawned::start_in(None, env, args)
    }

    fn start_in(nofile: Option<u64>, env: &[(&str, &str)], args: &[&str]) -> Spawned {
        let mut failures = String::new();
        for attempt in 1..=3 {
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let listen = ["--listen".to_owned(), addr.to_string()];
            match Spawned::launch(nofile, env, &listen, args, addr) {
                Ok(spawned) => return spawned,
                Err(failure) => failures += &format!("attempt {attempt}: {failure}\n"),
            }
        }
        panic!("rangecat serve {args:?} did not start:\n{failures}");
    }

    /// Starts `rangecat serve ARGS...` with no `--listen` of its own and waits until `addr`
    /// (where it should listen by default) accepts connections; `Err` with its exit status
    /// and stderr when it exits first.
    pub fn start_without_listen(args: &[&str], addr: SocketAddr) -> Result<Spawned, String> {
        Spawned::launch(None, &[], &[], args, addr)
    }

    fn launch(
        nofile: Option<u64>,
        env: &[(&str, &str)],
        listen: &[String],
        args: &[&str],
        addr: SocketAddr,
    ) -> Result<Spawned, String> {
        let stderr = tempfile::NamedTempFile::new().expect("a temp file for stderr");
        let binary = assert_cmd::cargo::cargo_bin!("rangecat");
        // prlimit runs the command in its own process (exec): the pid stays rangecat's.
        let mut command = match nofile {
            Some(n) => {
                let mut prlimit = Command::new("prlimit");
                prlimit.arg(format!("--nofile={n}")).arg(binary);
                prlimit
            }
            None => Command::new(binary),
        };
        command.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        command.envs(env.iter().copied());
        let child = command
            .arg("serve")
            .args(listen)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr.reopen().expect("reopen the stderr file"))
            .spawn()
            .expect("spawn rangecat serve");
        // From here on, dropping `spawned` kills the child.
        let mut spawned = Spawned {
            child,
            addr,
            stderr,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = spawned.child.try_wait() {
                return Err(format!("{status}: {}", spawned.stderr()));
            }
            // Its own listening socket, not a connection that succeeds: a probe can reach
            // another test's server that took the port meanwhile, or connect to itself when
            // the kernel picks the port as the probe's own.
            if listens_on(spawned.pid(), addr.port()) {
                return Ok(spawned);
            }
            assert!(
                Instant::now() < deadline,
                "rangecat serve {args:?} is not listening on {addr} after 10 s; stderr:\n{}",
                spawned.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it wrote on stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    /// Whether its stderr comes to contain `needle` within `limit`.
    pub fn stderr_shows(&self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while !self.stderr().contains(needle) {
            if Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
        true
    }

    /// Sends it a signal with `kill -NAME PID`.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {}: {status}", self.pid());
    }

    /// Its exit status, if it exits within `limit`.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Its resident set size in KiB (`VmRSS` in `/proc/PID/status`).
    pub fn rss_kib(&self) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a VmRSS line")
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether process `pid` holds a socket listening on TCP port `port`: a `LISTEN` (0A) line of
/// `/proc/net/tcp` or `tcp6` for the port whose inode is one of `/proc/PID/fd`'s sockets.
fn listens_on(pid: u32, port: u16) -> bool {
    let local_port = format!(":{port:04X}");
    let inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| fs::read_to_string(table).ok())
        .flat_map(|table| {
            table
                .lines()
                .skip(1)
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let listening =
                        fields.get(1)?.ends_with(&local_port) && fields.get(3)? == &"0A";
                    let inode = fields.get(9)?;
                    listening.then(|| format!("socket:[{inode}]"))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(Result::ok)
        .filter_map(|fd| fs::read_link(fd.path()).ok())
        .any(|target| {
            inodes
                .iter()
                .any(|inode| target.as_os_str() == inode.as_str())
        })
}
