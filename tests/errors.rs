//! Bad input and failures: every one exits with the right code (1 runtime, 2 usage) and a
//! short message, never a panic; `-o FILE` is replaced only on success; a closed stdout is
//! not an error.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::command::TestCommand;
use crate::util::errors::{
    assert_exit, assert_runtime_error, assert_strict_refuses, assert_usage_error,
};
use crate::util::fixtures::{names_in, unanswered_connect, unused_url};
use crate::util::server::{Mode, Server};
use crate::util::{self, assert_bytes_eq};

const LEN: usize = 1000;

/// Usage errors: the arguments (`URL` stands for a URL nothing listens on, since a usage
/// error must come before any connection) and what the message must quote.
const USAGE_ERRORS: &[(&[&str], &str)] = &[
    // Malformed RANGEs are quoted.
    (&["URL", "abc"], "abc"),
    (&["URL", "1.5M"], "1.5M"),
    (&["URL", "10:abc"], "10:abc"),
    (&["URL", "5-"], "5-"),
    (&["URL", "0x:10"], "0x:10"),
    // A curl-style range gets the equivalent.
    (&["URL", "0-99"], "0:100"),
    // An unknown option is named.
    (&["--frobnicate", "URL"], "--frobnicate"),
    // Options that conflict, and a value out of its range, are named.
    (&["-q", "--progress", "URL"], "--progress"),
    (&["URL", "-j", "0"], "--jobs"),
];

#[test]
fn bad_arguments_are_usage_errors_quoting_them() {
    for (args, quoted) in USAGE_ERRORS {
        let url = unused_url();
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "URL" { url.as_str() } else { a })
            .collect();
        let output = util::rangecat().args(&args).output().unwrap();
        let stderr = assert_usage_error(&output);
        assert!(
            stderr.contains(quoted),
            "{args:?}: the message does not quote {quoted:?}:\n{stderr}"
        );
    }
}

/// A usage error that only rangecat, not clap, can see.
struct LateUsage {
    /// The arguments; `URL` stands for a URL nothing listens on: none may reach the network.
    args: &'static [&'static str],
    /// Environment variables to set.
    env: &'static [(&'static str, &'static str)],
    /// What the message must quote.
    quoted: &'static str,
}

const LATE_USAGE_ERRORS: &[LateUsage] = &[
    LateUsage {
        args: &["http://[::1"],
        env: &[],
        quoted: "invalid URL 'http://[::1'",
    },
    LateUsage {
        args: &["ftp://host/x"],
        env: &[],
        quoted: "unsupported URL scheme 'ftp://'",
    },
    LateUsage {
        args: &["ls", "gopher://host/a.zip"],
        env: &[],
        quoted: "'gopher://'",
    },
    LateUsage {
        args: &["file://elsewhere/x"],
        env: &[],
        quoted: "names a file on another host",
    },
    LateUsage {
        args: &["-H", "no colon", "URL"],
        env: &[],
        quoted: "invalid header 'no colon'",
    },
    LateUsage {
        args: &["info", "-H", "Bad Name: x", "URL"],
        env: &[],
        quoted: "'Bad Name: x'",
    },
    LateUsage {
        args: &["URL"],
        env: &[("HTTP_PROXY", "http://[bad")],
        quoted: "invalid proxy 'http://[bad' in HTTP_PROXY",
    },
];

#[test]
fn bad_urls_headers_and_proxies_are_usage_errors_naming_them() {
    for LateUsage { args, env, quoted } in LATE_USAGE_ERRORS {
        let url = unused_url();
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "URL" { url.as_str() } else { a })
            .collect();
        let mut command = util::rangecat();
        command.args(&args).envs(env.iter().copied());
        let output = command.output().unwrap();
        let stderr = assert_exit(&output, 2);
        assert!(
            stderr.starts_with("rangecat: ") && stderr.lines().count() == 1,
            "{args:?}: want one 'rangecat: ' line:\n{stderr}"
        );
        assert!(
            stderr.contains(quoted),
            "{args:?}: the message does not quote {quoted:?}:\n{stderr}"
        );
    }
}

#[test]
fn missing_url_is_a_usage_error() {
    // clap may print an error or the help here; either way it is a usage error.
    let output = util::rangecat().output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn http_404_is_a_runtime_error_naming_the_status() {
    let server = Server::start(util::data(LEN), Mode::Status(404));
    let output = util::rangecat()
        .arg(server.url("/missing.bin"))
        .arg("0:10")
        .output()
        .unwrap();
    let message = assert_runtime_error(&output);
    assert!(message.contains("404"), "{message}");
    assert!(output.stdout.is_empty());
}

#[test]
fn http_500_is_a_runtime_error_naming_the_status() {
    let server = Server::start(util::data(LEN), Mode::Status(500));
    let output = util::rangecat()
        .arg(server.url("/file.bin"))
        .output()
        .unwrap();
    let message = assert_runtime_error(&output);
    assert!(message.contains("500"), "{message}");
}

#[test]
fn refused_connection_is_a_runtime_error() {
    let output = util::rangecat()
        .arg(unused_url())
        .arg("0:10")
        .output()
        .unwrap();
    assert_runtime_error(&output);
}

#[test]
fn strict_range_past_the_end_is_an_error_before_any_byte() {
    let server = Server::start(util::data(LEN), Mode::Ranges);
    let ranges = ["2000:3000", "0:2000", "-2000:"];
    assert_strict_refuses(server.url("/file.bin"), &ranges, LEN);
}

#[test]
fn output_into_a_missing_directory_is_an_error() {
    let server = Server::start(util::data(LEN), Mode::Ranges);
    let output = util::rangecat()
        .args(["-o", "/nonexistent-dir/x/out.bin"])
        .arg(server.url("/file.bin"))
        .output()
        .unwrap();
    assert_runtime_error(&output);
}

#[test]
fn output_file_is_written_on_success() {
    let data = util::data(LEN);
    let server = Server::start(data.clone(), Mode::Ranges);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin");
    let output = TestCommand::against(&server)
        .arg("-o")
        .arg(&out)
        .arg(server.url("/file.bin"))
        .args(["0:10", "-10:"])
        .success();
    assert!(output.stdout.is_empty(), "-o must leave stdout empty");
    let want: Vec<u8> = [&data[..10], &data[990..]].concat();
    assert_bytes_eq(&std::fs::read(&out).unwrap(), &want);
    assert_eq!(
        names_in(dir.path()),
        ["out.bin"],
        "temporary files left behind"
    );
}

#[test]
fn failed_transfer_creates_no_output_file_and_leaves_no_temporary() {
    // Cut mid-body more often than --retries allows: some bytes arrive before the failure.
    let server = Server::start(util::data(LEN), Mode::drop_after(300, 10));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin");
    let output = util::rangecat()
        .arg("-o")
        .arg(&out)
        .args(["--retries", "1"])
        .arg(server.url("/file.bin"))
        .output()
        .unwrap();
    assert_runtime_error(&output);
    assert!(
        names_in(dir.path()).is_empty(),
        "left behind: {:?}",
        names_in(dir.path())
    );
}

#[test]
fn failed_transfer_leaves_an_existing_output_file_untouched() {
    let server = Server::start(util::data(LEN), Mode::Status(404));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin");
    std::fs::write(&out, b"old contents").unwrap();
    let output = util::rangecat()
        .arg("-o")
        .arg(&out)
        .arg(server.url("/file.bin"))
        .output()
        .unwrap();
    assert_runtime_error(&output);
    assert_eq!(std::fs::read(&out).unwrap(), b"old contents");
    assert_eq!(
        names_in(dir.path()),
        ["out.bin"],
        "temporary files left behind"
    );
}

#[test]
fn closed_stdout_ends_quietly_with_success() {
    let server = Server::start(util::data(4 << 20), Mode::Ranges);
    let mut child = Command::new(env!("CARGO_BIN_EXE_rangecat"))
        .env_clear()
        .arg(server.url("/file.bin"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read 10 bytes and close the pipe, as `| head -c 10` does; in a thread, so that a
    // rangecat that never writes cannot hang the test.
    let mut stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut first = [0u8; 10];
        let read = stdout.read_exact(&mut first).map(|()| first);
        drop(stdout);
        let _ = sender.send(read);
    });
    let first = match receiver.recv_timeout(Duration::from_secs(30)) {
        Ok(read) => read,
        Err(_) => {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("rangecat wrote nothing in 30 s");
        }
    };
    assert_eq!(first.unwrap().as_slice(), &util::data(10)[..]);

    let (status, stderr) = util::wait_for(child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(stderr, "", "a closed stdout must end quietly");
}

#[test]
fn connect_timeout_bounds_a_connection_that_is_never_answered() {
    let (_listener, _queued, addr) = unanswered_connect();
    let started = std::time::Instant::now();
    let output = util::rangecat()
        .args(["--connect-timeout", "1", "--retries", "0"])
        .arg(format!("http://{addr}/file.bin"))
        .arg("0:10")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let message = assert_runtime_error(&output);
    assert!(message.contains("timed out"), "{message}");
    util::assert_took_about(
        elapsed,
        std::time::Duration::from_secs(1),
        "--connect-timeout 1",
    );
}
