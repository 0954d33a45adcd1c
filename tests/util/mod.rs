//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test module uses a different subset

pub mod nginx;
pub mod server;
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

/// Deterministic test data: `len` bytes that differ at every offset modulo 251.
pub fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// The repository's root, for fixtures.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compares bytes, showing a short view of both sides on failure.
#[track_caller]
pub fn assert_bytes_eq(got: &[u8], want: &[u8]) {
    if got != want {
        let first_diff = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "bytes differ: got {} bytes, want {} bytes, first difference at {:?}\n got[..64]: {:?}\nwant[..64]: {:?}",
            got.len(),
            want.len(),
            first_diff,
            &got[..got.len().min(64)],
            &want[..want.len().min(64)]
        );
    }
}
