//! What rangecat prints on stderr: `-v` request logs, the progress bar's rules, `-q`.

use crate::util::server::{Mode, Server};
use crate::util::{self, assert_bytes_eq};

const MIB: usize = 1024 * 1024;

fn run(server: &Server, args: &[&str]) -> (Vec<u8>, String) {
    let output = util::rangecat()
        .arg(server.url("/file.bin"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{args:?}: {stderr}");
    (output.stdout, stderr)
}

#[test]
fn verbose_logs_each_request_and_response() {
    let data = util::data(1000);
    let server = Server::start(data.clone(), Mode::Ranges);
    let (stdout, stderr) = run(&server, &["-v", "0:10", "-10:"]);
    let mut want = data[..10].to_vec();
    want.extend_from_slice(&data[990..]);
    assert_bytes_eq(&stdout, &want);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(lines[0].starts_with("> GET http://") && lines[0].ends_with("Range: bytes=0-9"));
    assert_eq!(
        lines[1],
        "< 206 Partial Content Content-Range: bytes 0-9/1000"
    );
    assert!(
        lines[2].contains("Range: bytes=990-999 If-Range: \""),
        "{}",
        lines[2]
    );
    assert_eq!(
        lines[3],
        "< 206 Partial Content Content-Range: bytes 990-999/1000"
    );
}

#[test]
fn verbose_logs_a_resume() {
    let data = util::data(100_000);
    let server = Server::start(data.clone(), Mode::drop_after(5000, 1));
    let (stdout, stderr) = run(&server, &["-v"]);
    assert_bytes_eq(&stdout, &data);
    assert!(stderr.contains("resuming at byte 5000"), "{stderr}");
}

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let data = util::data(6 * MIB);
    let server = Server::start(data.clone(), Mode::Ranges);
    let (stdout, stderr) = run(&server, &[]);
    assert_bytes_eq(&stdout, &data);
    assert_eq!(stderr, "");
}

#[test]
fn progress_forces_the_bar_on_stderr() {
    let data = util::data(6 * MIB);
    let server = Server::start(data.clone(), Mode::Ranges);
    let (stdout, stderr) = run(&server, &["--progress"]);
    assert_bytes_eq(&stdout, &data);
    assert!(stderr.contains("MiB"), "a bar with byte counts: {stderr:?}");
}

#[test]
fn quiet_silences_everything_but_errors() {
    let data = util::data(6 * MIB);
    let server = Server::start(data.clone(), Mode::drop_after(5000, 1));
    let (stdout, stderr) = run(&server, &["-q"]);
    assert_bytes_eq(&stdout, &data);
    assert_eq!(stderr, "");
    let failing = Server::start(data, Mode::Status(404));
    let output = util::rangecat()
        .args(["-q", &failing.url("/file.bin")])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("rangecat: HTTP 404"));
}

// `-q --progress` is a usage error: see errors::USAGE_ERRORS.

#[test]
fn a_progress_bar_is_drawn_when_stderr_is_a_terminal() {
    // `script` runs rangecat on a pseudo-terminal and copies what it shows to its stdout.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "script is missing under CI"
        );
        eprintln!("skipping: script (util-linux) not found");
        return;
    }
    let data = util::data(6 * MIB);
    let server = Server::start(data, Mode::Ranges);
    let binary = assert_cmd::cargo::cargo_bin!("rangecat");
    let run = |args: &str| {
        let line = format!(
            "{} {} {args} > /dev/null",
            binary.display(),
            server.url("/file.bin")
        );
        let output = std::process::Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env("TERM", "xterm")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(output.status.success(), "{args}: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let shown = run("");
    assert!(shown.contains("MiB"), "a bar on the terminal: {shown:?}");
    assert_eq!(run("-q"), "", "-q silences it");
    assert_eq!(run("0:1MiB"), "", "no bar for a small transfer");
}

#[test]
fn a_closed_stderr_under_jobs_neither_hangs_nor_cuts_the_output() {
    // `rangecat -v -j 4 ... 2>&1 | head -2`: the log lines go nowhere once stderr is closed;
    // every byte still reaches the output and rangecat ends.
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let data = util::random_bytes(40 * MIB);
    let server = Server::start(data.clone(), Mode::Ranges);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin!("rangecat"))
        .env_clear()
        .args(["-v", "-j", "4"])
        .arg(server.url("/file.bin"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.starts_with("> GET"), "{line}");
    drop(stderr);
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).map(|_| out)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rangecat hung after its stderr closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().unwrap().unwrap();
    assert!(status.success(), "{status}");
    assert_bytes_eq(&out, &data);
}
