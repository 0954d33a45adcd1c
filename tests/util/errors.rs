//! Error assertions: the exit code (1 runtime, 2 usage), no panic, and the shape of the
//! message on stderr.

use std::ffi::OsStr;
use std::process::Output;

/// Asserts exit `code` and no panic; returns stderr.
#[track_caller]
pub fn assert_exit(output: &Output, code: i32) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(code),
        "want exit {code}; stderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "panicked:\n{stderr}");
    stderr
}

/// Asserts a runtime error: exit 1, stderr exactly one line starting `rangecat: `, no panic.
/// Returns that line.
#[track_caller]
pub fn assert_runtime_error(output: &Output) -> String {
    let stderr = assert_exit(output, 1);
    assert!(
        stderr.starts_with("rangecat: "),
        "stderr must start with 'rangecat: ':\n{stderr}"
    );
    assert!(
        stderr.ends_with('\n') && stderr.lines().count() == 1,
        "stderr must be exactly one line:\n{stderr}"
    );
    stderr.trim_end().to_string()
}

/// Asserts a usage error: exit 2, clap's `error:` message, no panic. Returns stderr.
#[track_caller]
pub fn assert_usage_error(output: &Output) -> String {
    let stderr = assert_exit(output, 2);
    assert!(
        stderr.contains("error:"),
        "no 'error:' in stderr:\n{stderr}"
    );
    assert!(output.stdout.is_empty(), "usage error wrote to stdout");
    stderr
}

/// Runs `rangecat --strict SOURCE 0:10 RANGE` for each of `ranges`, all past the end of a
/// resource of `len` bytes: each must be a runtime error naming the length, before any byte.
#[track_caller]
pub fn assert_strict_refuses(source: impl AsRef<OsStr>, ranges: &[&str], len: usize) {
    for range in ranges {
        let output = super::rangecat()
            .arg("--strict")
            .arg(source.as_ref())
            .args(["0:10", range])
            .output()
            .unwrap();
        let message = assert_runtime_error(&output);
        assert!(
            message.contains(&len.to_string()),
            "{range}: message does not name the length: {message}"
        );
        assert!(
            output.stdout.is_empty(),
            "{range}: wrote {} bytes",
            output.stdout.len()
        );
    }
}
