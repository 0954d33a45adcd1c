//! `-c/--continue` (README, "Output"): an interrupted `-o` download keeps what it fetched in a
//! hidden partial file beside FILE, and the same command with `-c` fetches only the rest
//! (with `If-Range`), starts over when the resource changed, and renames the partial file onto
//! FILE only when it is complete. Interrupted by SIGINT, by SIGKILL under `-j 4`, and by a
//! server that breaks every connection; with a RANGE list; `-c` without a regular FILE.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::command::TestCommand;
use crate::util::errors::{assert_exit, assert_runtime_error};
use crate::util::fixtures::{names_in, unused_url};
use crate::util::server::{ETAG_V1, Mode, Server};
use crate::util::{self, assert_bytes_eq};

const MIB: usize = 1024 * 1024;

/// The partial file and its state, as the README names them.
fn partial_paths(dir: &Path) -> (PathBuf, PathBuf) {
    (
        dir.join(".out.bin.rangecat.part"),
        dir.join(".out.bin.rangecat.state"),
    )
}

/// The bytes the state file counts as done.
fn done(dir: &Path) -> usize {
    let state = fs::read_to_string(partial_paths(dir).1).expect("a state file");
    let line = state.lines().find_map(|line| line.strip_prefix("done "));
    line.and_then(|n| n.parse().ok()).expect("a done line")
}

/// `rangecat URL -c -o DIR/out.bin ARGS...`, started in the background.
fn spawn(url: &str, dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rangecat"))
        .env_clear()
        .arg(url)
        .args(["-c", "-o"])
        .arg(dir.join("out.bin"))
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends `signal` (`INT`, `TERM`) to `child` and waits for it to exit with `code`.
fn interrupt(child: Child, signal: &str, code: i32) {
    let sent = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let (status, stderr) = util::wait_for(child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(code), "{stderr}");
}

/// Waits until the partial file in `dir` holds at least `bytes`.
fn wait_for_partial(dir: &Path, bytes: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let part = partial_paths(dir).0;
    while fs::metadata(&part).map_or(0, |meta| meta.len()) < bytes as u64 {
        assert!(
            Instant::now() < deadline,
            "the partial file never held {bytes}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn sigint_keeps_what_was_fetched_and_c_fetches_only_the_rest() {
    let len = 64 * MIB;
    let data = util::random_bytes(len);
    let server = Server::start(data.clone(), Mode::Throttled(16 * MIB));
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("/big.iso");
    let child = spawn(&url, dir.path(), &[]);
    wait_for_partial(dir.path(), len / 3);
    interrupt(child, "INT", 130);
    assert_eq!(
        names_in(dir.path()),
        [".out.bin.rangecat.part", ".out.bin.rangecat.state"],
        "FILE appears only when complete"
    );
    let kept = fs::metadata(partial_paths(dir.path()).0).unwrap().len() as usize;
    assert_eq!(done(dir.path()), kept, "every byte written is counted");
    assert!((len / 3..len).contains(&kept), "kept {kept}");
    assert_bytes_eq(
        &fs::read(partial_paths(dir.path()).0).unwrap(),
        &data[..kept],
    );

    let (before, sent_before) = (server.requests().len(), server.body_bytes_sent());
    TestCommand::against(&server)
        .arg(&url)
        .args(["-c", "-o"])
        .arg(dir.path().join("out.bin"))
        .success();
    assert_bytes_eq(&fs::read(dir.path().join("out.bin")).unwrap(), &data);
    assert_eq!(
        names_in(dir.path()),
        ["out.bin"],
        "the partial file is gone"
    );
    let again = &server.requests()[before..];
    assert_eq!(again.len(), 1, "{}", server.summary());
    let want = format!("bytes={kept}-{}", len - 1);
    assert_eq!(again[0].range(), Some(want.as_str()));
    assert_eq!(again[0].header("if-range"), Some(ETAG_V1));
    let fetched = server.body_bytes_sent() - sent_before;
    let missing = len - kept;
    assert!(
        fetched <= missing + MIB,
        "the second run fetched {fetched} bytes for {missing} missing"
    );
    eprintln!("resumed: {fetched} bytes fetched for {missing} missing");
}

#[test]
fn sigterm_keeps_what_was_fetched_and_exits_143() {
    let len = 16 * MIB;
    let data = util::random_bytes(len);
    let server = Server::start(data.clone(), Mode::Throttled(8 * MIB));
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("/f");
    let child = spawn(&url, dir.path(), &[]);
    wait_for_partial(dir.path(), len / 2);
    interrupt(child, "TERM", 143);
    let kept = fs::metadata(partial_paths(dir.path()).0).unwrap().len() as usize;
    assert_eq!(done(dir.path()), kept);
    TestCommand::against(&server)
        .arg(&url)
        .args(["-c", "-o"])
        .arg(dir.path().join("out.bin"))
        .success();
    assert_bytes_eq(&fs::read(dir.path().join("out.bin")).unwrap(), &data);
    assert_eq!(names_in(dir.path()), ["out.bin"]);
}

#[test]
fn an_interruption_before_any_byte_leaves_nothing() {
    let server = Server::start(
        util::data(MIB),
        Mode::StallAfterHeaders(Duration::from_secs(20)),
    );
    let dir = tempfile::tempdir().unwrap();
    let child = spawn(&server.url("/f"), dir.path(), &[]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.requests().is_empty() {
        assert!(Instant::now() < deadline, "no request came");
        std::thread::sleep(Duration::from_millis(10));
    }
    // The answer's head is in: the output has begun, its body stalls.
    std::thread::sleep(Duration::from_millis(300));
    interrupt(child, "INT", 130);
    assert_eq!(
        names_in(dir.path()),
        Vec::<String>::new(),
        "nothing to keep"
    );
}

#[test]
fn resources_without_a_version_are_fetched_as_without_c() {
    let data = util::data(3 * MIB);
    for mode in [Mode::WeakOnly, Mode::ChunkedNoLength] {
        let server = Server::start(data.clone(), mode.clone());
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        TestCommand::against(&server)
            .case(format!("{mode:?}"))
            .arg(server.url("/f"))
            .args(["1:-1", "-c", "-o"])
            .arg(&dest)
            .success();
        assert_bytes_eq(&fs::read(&dest).unwrap(), &data[1..data.len() - 1]);
        assert_eq!(names_in(dir.path()), ["out.bin"], "{mode:?}");
    }
}

#[test]
fn a_server_that_ignores_range_sends_the_kept_bytes_again_and_they_are_skipped() {
    let data = util::random_bytes(3 * MIB);
    let cut = Server::start(data.clone(), Mode::drop_after(MIB, 1));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.bin");
    let output = util::rangecat()
        .arg(cut.url("/f"))
        .args(["--retries", "0", "-c", "-o"])
        .arg(&dest)
        .output()
        .unwrap();
    assert_runtime_error(&output);
    assert_eq!(done(dir.path()), MIB);
    // The same version (ETag "v1", same length) from a server that answers every GET with 200.
    let whole = Server::start(data.clone(), Mode::IgnoresRange);
    TestCommand::against(&whole)
        .arg(whole.url("/f"))
        .args(["-c", "-o"])
        .arg(&dest)
        .success();
    assert_bytes_eq(&fs::read(&dest).unwrap(), &data);
    let asked = whole.requests();
    assert_eq!(asked.len(), 1, "{}", whole.summary());
    assert_eq!(asked[0].header("if-range"), Some(ETAG_V1));
}

#[test]
fn sigkill_under_j4_then_c_completes_byte_exact() {
    let len = 64 * MIB;
    let data = util::random_bytes(len);
    let server = Server::start(data.clone(), Mode::Throttled(4 * MIB));
    let dir = tempfile::tempdir().unwrap();
    let url = server.url("/big.iso");
    let mut child = spawn(&url, dir.path(), &["-j", "4"]);
    wait_for_partial(dir.path(), 24 * MIB);
    child.kill().unwrap();
    let _ = child.wait();
    assert!(!dir.path().join("out.bin").exists());
    // Progress is recorded at least every second; 24 MiB take longer than that.
    let kept = done(dir.path());
    assert!(kept >= 4 * MIB, "kept {kept}");
    let part = fs::read(partial_paths(dir.path()).0).unwrap();
    assert_bytes_eq(&part[..kept], &data[..kept]);

    let (before, sent_before) = (server.requests().len(), server.body_bytes_sent());
    TestCommand::against(&server)
        .arg(&url)
        .args(["-j", "4", "-c", "-o"])
        .arg(dir.path().join("out.bin"))
        .success();
    assert_bytes_eq(&fs::read(dir.path().join("out.bin")).unwrap(), &data);
    assert_eq!(names_in(dir.path()), ["out.bin"]);
    let again = &server.requests()[before..];
    for request in again {
        let start: usize = request.range().unwrap()["bytes=".len()..]
            .split('-')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            start >= kept,
            "{} asks again for kept bytes",
            server.summary()
        );
        assert_eq!(request.header("if-range"), Some(ETAG_V1));
    }
    let fetched = server.body_bytes_sent() - sent_before;
    let missing = len - kept;
    assert!(fetched <= missing + MIB, "fetched {fetched}, kept {kept}");
    eprintln!("resumed under -j 4: {fetched} bytes fetched for {missing} missing");
}

#[test]
fn a_resource_replaced_between_the_runs_is_fetched_anew() {
    let len = 16 * MIB;
    let old = util::random_bytes(len);
    let new: Vec<u8> = old.iter().map(|b| b ^ 0x5a).collect();
    let dir = tempfile::tempdir().unwrap();
    let first = Server::start(old, Mode::drop_after(5 * MIB, 1));
    let output = util::rangecat()
        .arg(first.url("/f"))
        .args(["--retries", "0", "-c", "-o"])
        .arg(dir.path().join("out.bin"))
        .output()
        .unwrap();
    assert_runtime_error(&output);
    let kept = done(dir.path());
    assert_eq!(kept, 5 * MIB);

    // Same length, another version (ETag "v2"): the If-Range request gets all of it.
    let second = Server::start(new.clone(), Mode::Replaced);
    let output = TestCommand::against(&second)
        .arg(second.url("/f"))
        .args(["-v", "-c", "-o"])
        .arg(dir.path().join("out.bin"))
        .success();
    assert_bytes_eq(&fs::read(dir.path().join("out.bin")).unwrap(), &new);
    assert_eq!(names_in(dir.path()), ["out.bin"]);
    let asked: Vec<(Option<String>, Option<String>)> = second
        .requests()
        .iter()
        .map(|r| {
            let if_range = r.header("if-range").map(str::to_owned);
            (r.range().map(str::to_owned), if_range)
        })
        .collect();
    let resumed = format!("bytes={kept}-{}", len - 1);
    let want = [
        (Some(resumed), Some(ETAG_V1.to_owned())),
        (Some("bytes=0-".to_owned()), None),
    ];
    assert_eq!(asked, want, "{}", second.summary());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("starting over"), "{stderr}");
}

#[test]
fn another_range_list_of_a_replaced_resource_starts_over_too() {
    let len = 16 * MIB;
    let old = util::random_bytes(len);
    let new: Vec<u8> = old.iter().map(|b| b ^ 0x5a).collect();
    let dir = tempfile::tempdir().unwrap();
    let first = Server::start(old, Mode::drop_after(5 * MIB, 1));
    let output = util::rangecat()
        .arg(first.url("/f"))
        .args(["0:8MiB", "--retries", "0", "-c", "-o"])
        .arg(dir.path().join("out.bin"))
        .output()
        .unwrap();
    assert_runtime_error(&output);
    assert_eq!(done(dir.path()), 5 * MIB);
    let second = Server::start(new.clone(), Mode::Replaced);
    TestCommand::against(&second)
        .arg(second.url("/f"))
        .args(["0:4MiB", "-c", "-o"])
        .arg(dir.path().join("out.bin"))
        .success();
    assert_bytes_eq(
        &fs::read(dir.path().join("out.bin")).unwrap(),
        &new[..4 * MIB],
    );
    assert_eq!(names_in(dir.path()), ["out.bin"]);
    second.assert_requests(2, "the If-Range request, then the new version's");
}

#[test]
fn reruns_make_progress_against_a_server_that_breaks_every_connection() {
    let len = 64 * MIB;
    let data = util::random_bytes(len);
    let server = Server::start(data.clone(), Mode::drop_after(20 * MIB, usize::MAX));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.bin");
    fs::write(&dest, b"precious").unwrap();
    let mut kept = 0;
    let mut runs = 0;
    // Bounded: 20 MiB a run makes 4 runs.
    for run in 1..=6 {
        runs = run;
        let before = server.requests().len();
        let output = util::rangecat()
            .arg(server.url("/f"))
            .args(["--retries", "0", "-c", "-o"])
            .arg(&dest)
            .output()
            .unwrap();
        let first = &server.requests()[before];
        let want = format!("bytes={kept}-{}", len - 1);
        let want = if kept == 0 { "bytes=0-" } else { want.as_str() };
        assert_eq!(first.range(), Some(want), "run {run}");
        let if_range = (kept > 0).then_some(ETAG_V1);
        assert_eq!(first.header("if-range"), if_range, "run {run}");
        if output.status.success() {
            break;
        }
        assert_runtime_error(&output);
        assert_eq!(fs::read(&dest).unwrap(), b"precious", "run {run}");
        let now = done(dir.path());
        assert_eq!(now, kept + 20 * MIB, "run {run} kept what it fetched");
        kept = now;
    }
    assert_eq!(runs, 4);
    assert_bytes_eq(&fs::read(&dest).unwrap(), &data);
    assert_eq!(names_in(dir.path()), ["out.bin"]);
}

#[test]
fn a_range_list_continues_where_its_output_stopped() {
    let len = 32 * MIB;
    let data = util::random_bytes(len);
    let server = Server::start(data.clone(), Mode::drop_after(8 * MIB, 1));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.bin");
    let ranges = ["5MiB+20MiB", "0:1MiB", "-3MiB:"];
    let output = util::rangecat()
        .arg(server.url("/f"))
        .args(ranges)
        .args(["--retries", "0", "-c", "-o"])
        .arg(&dest)
        .output()
        .unwrap();
    assert_runtime_error(&output);
    assert_eq!(done(dir.path()), 8 * MIB);
    let before = server.requests().len();
    TestCommand::against(&server)
        .arg(server.url("/f"))
        .args(ranges)
        .args(["-c", "-o"])
        .arg(&dest)
        .success();
    let mut want = data[5 * MIB..25 * MIB].to_vec();
    want.extend_from_slice(&data[..MIB]);
    want.extend_from_slice(&data[len - 3 * MIB..]);
    assert_bytes_eq(&fs::read(&dest).unwrap(), &want);
    let again = server.ranges()[before..].to_vec();
    let want = [
        format!("bytes={}-{}", 13 * MIB, 25 * MIB - 1),
        format!("bytes=0-{}", MIB - 1),
        format!("bytes={}-{}", len - 3 * MIB, len - 1),
    ];
    assert_eq!(again, want.map(Some), "{}", server.summary());

    // Another RANGE list into the same FILE is another output: it starts over.
    let output = util::rangecat()
        .arg(server.url("/f"))
        .args(["0:10MiB", "--retries", "0", "-c", "-o"])
        .arg(&dest)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_bytes_eq(&fs::read(&dest).unwrap(), &data[..10 * MIB]);
}

#[test]
fn continue_needs_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let url = unused_url();
    let cases: [(&str, Vec<&std::ffi::OsStr>); 4] = [
        ("no -o", vec![]),
        ("-o -", vec!["-o".as_ref(), "-".as_ref()]),
        ("a directory", vec!["-o".as_ref(), dir.path().as_os_str()]),
        ("a FIFO", vec!["-o".as_ref(), fifo.as_os_str()]),
    ];
    for (case, args) in cases {
        let output = util::rangecat()
            .arg(&url)
            .arg("-c")
            .args(args)
            .output()
            .unwrap();
        let stderr = assert_exit(&output, 2);
        assert!(
            stderr.starts_with("rangecat: --continue needs -o FILE"),
            "{case}: {stderr}"
        );
        assert!(stderr.lines().count() == 1, "{case}: {stderr}");
    }
    assert_eq!(names_in(dir.path()), ["fifo"], "nothing was created");
}
