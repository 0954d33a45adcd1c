//! `-o FILE` (README, "Output"): `-` is stdout; a FILE that is not a regular file (a FIFO) is
//! written into and never replaced; a symbolic link keeps pointing where it did; a directory
//! is refused; SIGINT and SIGTERM remove the temporary file and exit 130 and 143.

use std::fs;
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::command::TestCommand;
use crate::util::errors::assert_runtime_error;
use crate::util::fixtures::{local_file, names_in};
use crate::util::server::{Mode, Server};
use crate::util::{self, assert_bytes_eq};

const LEN: usize = 5000;

/// Asserts that `dir` holds exactly `want` (sorted names): nothing replaced, nothing left.
#[track_caller]
fn assert_holds(dir: &std::path::Path, want: &[&str], what: &str) {
    assert_eq!(names_in(dir), want, "{what}");
}

#[test]
fn dash_is_stdout() {
    let data = util::data(LEN);
    let (dir, path) = local_file("in.bin", &data);
    let mut command = TestCommand::new();
    command.current_dir(dir.path());
    let got = command.arg(&path).args(["0:100", "-o", "-"]).stdout();
    assert_bytes_eq(&got, &data[..100]);
    assert_holds(dir.path(), &["in.bin"], "no file named '-' was made");
}

#[test]
fn a_fifo_is_written_into_and_stays_a_fifo() {
    let data = util::data(LEN);
    let (dir, path) = local_file("in.bin", &data);
    let fifo = dir.path().join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo");
    let want = [&data[10..20], &data[LEN - 5..]].concat();
    // Opened for reading and writing, the FIFO never blocks an open, ours or rangecat's; the
    // bytes are read on a thread so that a FIFO never written to fails the test, not hangs it.
    let mut end = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    let (sender, received) = std::sync::mpsc::channel();
    let expected = want.len();
    std::thread::spawn(move || {
        let mut got = vec![0u8; expected];
        let _ = sender.send(end.read_exact(&mut got).map(|()| got));
    });
    TestCommand::new()
        .arg(&path)
        .args(["10:20", "-5:"])
        .arg("-o")
        .arg(&fifo)
        .stdout();
    let got = received
        .recv_timeout(Duration::from_secs(10))
        .expect("nothing was written into the FIFO")
        .unwrap();
    assert_bytes_eq(&got, &want);
    assert!(
        fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(),
        "the FIFO was replaced"
    );
    assert_holds(dir.path(), &["in.bin", "pipe"], "no temporary left");
}

#[test]
fn a_symbolic_link_keeps_pointing_at_its_target() {
    let data = util::data(LEN);
    let (dir, path) = local_file("in.bin", &data);
    let target = dir.path().join("target.bin");
    fs::write(&target, b"old").unwrap();
    let link = dir.path().join("link.bin");
    std::os::unix::fs::symlink("target.bin", &link).unwrap();
    TestCommand::new()
        .arg(&path)
        .args(["0:50"])
        .arg("-o")
        .arg(&link)
        .stdout();
    let meta = fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_symlink(), "the link was replaced");
    assert_bytes_eq(&fs::read(&target).unwrap(), &data[..50]);
    assert_eq!(names_in(dir.path()), ["in.bin", "link.bin", "target.bin"]);
}

#[test]
fn a_directory_is_refused_before_any_request() {
    let server = Server::start(util::data(LEN), Mode::Ranges);
    let dir = tempfile::tempdir().unwrap();
    let output = util::rangecat()
        .arg(server.url("/f"))
        .arg("-o")
        .arg(dir.path())
        .output()
        .unwrap();
    let message = assert_runtime_error(&output);
    assert!(message.contains("is a directory"), "{message}");
    server.assert_requests(0, "a directory as -o");
    assert!(names_in(dir.path()).is_empty(), "nothing written into it");
}

/// Starts `rangecat URL -o DIR/out.bin` against a server that stalls after its headers, waits
/// for the temporary file, sends `signal`, and returns the exit code and what is left in DIR.
fn interrupt_with(signal: &str) -> (Option<i32>, Vec<String>) {
    let server = Server::start(
        util::data(LEN),
        Mode::StallAfterHeaders(Duration::from_secs(20)),
    );
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_rangecat"))
        .env_clear()
        .arg(server.url("/f"))
        .arg("-o")
        .arg(dir.path().join("out.bin"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while names_in(dir.path()).is_empty() {
        assert!(Instant::now() < deadline, "no temporary file appeared");
        std::thread::sleep(Duration::from_millis(10));
    }
    let sent = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{signal}");
    let (status, stderr) = util::wait_for(child, Duration::from_secs(10));
    assert!(!stderr.contains("panicked"), "{stderr}");
    (status.code(), names_in(dir.path()))
}

#[test]
fn sigterm_and_sigint_remove_the_temporary_file() {
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let (status, left) = interrupt_with(signal);
        assert_eq!(status, Some(code), "SIG{signal}");
        assert!(left.is_empty(), "SIG{signal} left {left:?}");
    }
}

#[test]
fn a_character_device_is_written_into_and_stays_a_device() {
    let data = util::data(LEN);
    let (dir, path) = local_file("in.bin", &data);
    // A device node of the test's own, the same as /dev/null (1, 3): mknod needs root.
    let device = dir.path().join("null");
    let made = Command::new("mknod")
        .arg(&device)
        .args(["c", "1", "3"])
        .stderr(Stdio::null())
        .status();
    if !made.is_ok_and(|status| status.success()) {
        eprintln!("SKIPPED: mknod needs root");
        return;
    }
    TestCommand::new()
        .arg(&path)
        .args(["0:100", "-o"])
        .arg(&device)
        .stdout();
    let meta = fs::symlink_metadata(&device).unwrap();
    assert!(meta.file_type().is_char_device(), "the device was replaced");
    assert_holds(dir.path(), &["in.bin", "null"], "no temporary left");
}
