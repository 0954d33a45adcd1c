//! Helpers shared by the integration tests, one module per kind of helper; this file holds
//! the command, test data and byte comparison every module uses.
#![allow(dead_code)] // each test module uses a different subset

// The accept loop of the hand-written servers below.
pub mod acceptor;
// TestCommand: rangecat, and on failure the server's request log next to stderr.
pub mod command;
// `curl` as a client, when installed.
pub mod curl;
// Exit codes and error messages.
pub mod errors;
// Free ports, unused URLs, files in temporary directories.
pub mod fixtures;
// A rendezvous of threads with a timeout.
pub mod gate;
// A gzip member by hand, and CRC-32.
pub mod gzip;
// Zip archives byte by byte: special mode bits, zip bombs.
pub mod handzip;
// Peak memory of a child from /proc/PID/status.
pub mod memory;
// An httpmock server that logs the requests it received.
pub mod mock_log;
// The fault matrix's server: resets, garbage status lines, lying 206s, on a schedule.
pub mod matrix_server;
// A real nginx serving a directory, with its access log.
pub mod nginx;
// A command on a pseudo-terminal (`script`).
pub mod pty;
// Real servers other than nginx (Apache, lighttpd, busybox, Starlette, Werkzeug) with their logs.
pub mod real_server;
// Two real S3 servers for s3:// (s3s-fs in-process, moto from PyPI) and presigned URLs.
pub mod s3_server;
// A raw HTTP/1.1 client.
pub mod raw_http;
// `rangecat serve` as its own process.
pub mod serve_process;
// The fault-injecting server (`Mode`).
pub mod server;
// An https server with a CA made at run time (rcgen, rustls).
pub mod tls_server;
// Hand-written upstreams for `rangecat serve`.
pub mod upstream;
// Zip archives built with the zip crate's writer.
pub mod zips;

use std::path::PathBuf;

/// The rangecat binary under test, with a clean environment: no proxy variables, no
/// terminal-dependent behaviour leaking in from the developer's shell.
pub fn rangecat() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("rangecat"));
    cmd.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.timeout(std::time::Duration::from_secs(60));
    cmd
}

/// Makes `path` executable (0755): a script a test runs, or has rangecat run.
pub fn make_executable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Deterministic test data: `len` bytes that differ at every offset modulo 251.
pub fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Deterministic bytes with no short period (xorshift64*). `data` repeats every 251 bytes, so
/// an offset error by a multiple of 251 would go unseen in a large body.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Waits for `child` to end, killing it and failing the test after `limit`; returns its
/// status and what it wrote on stderr (which must be piped).
pub fn wait_for(
    mut child: std::process::Child,
    limit: std::time::Duration,
) -> (std::process::ExitStatus, String) {
    use std::io::Read;
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("rangecat did not exit within {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stderr)
}

/// The repository's root, for fixtures.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compares bytes, showing a short view of both sides on failure.
#[track_caller]
pub fn assert_bytes_eq(got: &[u8], want: &[u8]) {
    assert_bytes_eq_in("bytes differ", got, want);
}

/// `assert_bytes_eq` for one case of a table: the failure starts with `case`.
#[track_caller]
pub fn assert_bytes_eq_in(case: &str, got: &[u8], want: &[u8]) {
    if got != want {
        let first_diff = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{case}: got {} bytes, want {} bytes, first difference at {:?}\n got[..64]: {:?}\nwant[..64]: {:?}",
            got.len(),
            want.len(),
            first_diff,
            &got[..got.len().min(64)],
            &want[..want.len().min(64)]
        );
    }
}

/// Asserts that `elapsed` is what a time option of `limit` makes it: at least 90% of
/// `limit` (the wait happened) and at most `limit` + 1.5 s (the option bounded it).
#[track_caller]
pub fn assert_took_about(elapsed: std::time::Duration, limit: std::time::Duration, what: &str) {
    let low = limit.mul_f64(0.9);
    let high = limit + std::time::Duration::from_millis(1500);
    assert!(
        low <= elapsed && elapsed <= high,
        "{what}: took {elapsed:?}, want {low:?}..={high:?}"
    );
}
