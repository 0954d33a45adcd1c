//! Peak memory of a rangecat child, sampled from `/proc/PID/status` while it runs.

use std::io::Read;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How a sampled run ended.
pub struct Sampled<T> {
    pub status: ExitStatus,
    pub stderr: String,
    /// The largest VmHWM (or VmRSS) seen while the child ran, in KiB.
    pub peak_kib: u64,
    /// What `consume` returned.
    pub out: T,
}

impl<T> Sampled<T> {
    /// Asserts exit 0, naming stderr otherwise.
    #[track_caller]
    pub fn assert_success(&self, what: &str) {
        assert!(
            self.status.success(),
            "{what}: {}\nstderr:\n{}",
            self.status,
            self.stderr
        );
    }
}

/// `VmHWM` (the peak so far) of process `pid`, else `VmRSS`, in KiB; `None` once it is gone,
/// and before it has become rangecat (between fork and exec it shares the test's memory).
fn resident_kib(pid: u32) -> Option<u64> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    if comm.trim_end() != "rangecat" {
        return None;
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
    };
    field("VmHWM:").or_else(|| field("VmRSS:"))
}

/// Runs `cmd` with stdout piped to `consume` (on another thread) and stderr captured, sampling
/// its resident memory every few milliseconds; kills it and fails after `limit`.
pub fn sample<T: Send>(
    mut cmd: Command,
    limit: Duration,
    consume: impl FnOnce(ChildStdout) -> T + Send,
) -> Sampled<T> {
    let mut child: Child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rangecat");
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || consume(stdout));
        let stderr = scope.spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            text
        });
        let deadline = Instant::now() + limit;
        let mut peak_kib = 0;
        // Bounded by the deadline.
        let status = loop {
            if let Some(kib) = resident_kib(pid) {
                peak_kib = peak_kib.max(kib);
            }
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("rangecat did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Sampled {
            status,
            stderr: stderr.join().unwrap(),
            peak_kib,
            out: reader.join().unwrap(),
        }
    })
}

/// `rangecat ARGS...` as a `std::process::Command` with the clean environment of
/// `util::rangecat()`.
pub fn command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("rangecat"));
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.args(args);
    cmd
}

/// Reads `stdout` to its end, comparing it with `want` piece by piece without holding it;
/// returns how many bytes came and the offset of the first difference, if any.
pub fn compare_stream(mut stdout: ChildStdout, want: &[u8]) -> (usize, Option<usize>) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut at = 0usize;
    let mut first_diff = None;
    loop {
        let n = match stdout.read(&mut buf) {
            Ok(0) | Err(_) => return (at, first_diff),
            Ok(n) => n,
        };
        if first_diff.is_none() {
            let end = (at + n).min(want.len());
            let expected = &want[at.min(end)..end];
            if expected != &buf[..expected.len()] || expected.len() < n {
                first_diff = Some(at);
            }
        }
        at += n;
    }
}

/// What a run that does next to nothing holds (the debug binary's libraries, its buffers):
/// bounds are set above this, generously.
pub const BASELINE_KIB: u64 = 16 * 1024;
