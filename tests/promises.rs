//! README promises that no other module tests: the default timeouts, a 206 whose body runs
//! past what it announced, a length that changes between responses, `x`'s defaults (`-C .`,
//! `-j 4`) and its progress bar, the special mode bits it drops, and an extraction cut short
//! by a signal.

use std::io::Write;
use std::ops::Range;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::util::command::TestCommand;
use crate::util::errors::assert_runtime_error;
use crate::util::memory::command;
use crate::util::server::{Mode, Server};
use crate::util::upstream::{Upstream, canned, head_header, read_head};
use crate::util::zips::{self, Item};
use crate::util::{self, assert_bytes_eq, assert_bytes_eq_in, handzip, pty};

const MIB: usize = 1024 * 1024;

/// Spawns `rangecat ARGS...` (clean environment) with stderr piped, for `util::wait_for`.
fn spawn<I, S>(args: I) -> Child
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rangecat")
}

/// Asserts `stdout` is a prefix of `want`: whatever was written before an error, no byte
/// outside the ranges asked for was spliced in.
#[track_caller]
fn assert_prefix_of(case: &str, stdout: &[u8], want: &[u8]) {
    assert!(
        stdout.len() <= want.len(),
        "{case}: wrote {} bytes, more than the {} asked for",
        stdout.len(),
        want.len()
    );
    assert_bytes_eq_in(case, stdout, &want[..stdout.len()]);
}

// ---- Default timeouts ----

#[test]
fn without_options_the_default_timeouts_end_a_stall_and_a_hung_connect() {
    // README: `--connect-timeout` (default 10 s) and `--timeout` (default 30 s); never
    // unbounded. Both run at once, so the test costs the longer one. `--retries 0` only
    // keeps a second attempt from doubling the wait.
    let stalled = Server::start(
        util::data(1000),
        Mode::StallAfterHeaders(Duration::from_secs(600)),
    );
    let (_listener, _queued, hung) = crate::util::fixtures::unanswered_connect();
    let started = Instant::now();
    let read = spawn(["--retries", "0", &stalled.url("/file.bin"), "0:100"]);
    let connect = spawn(["--retries", "0", &format!("http://{hung}/file.bin"), "0:10"]);

    let (status, stderr) = util::wait_for(connect, Duration::from_secs(15));
    let connect_took = started.elapsed();
    assert_eq!(status.code(), Some(1), "connect: {stderr}");
    assert!(stderr.contains("timed out"), "connect: {stderr}");
    assert!(
        connect_took >= Duration::from_secs(9),
        "connect gave up after {connect_took:?}, before the 10 s default"
    );

    let (status, stderr) = util::wait_for(read, Duration::from_secs(45));
    let read_took = started.elapsed();
    assert_eq!(status.code(), Some(1), "read: {stderr}");
    assert!(stderr.contains("timed out"), "read: {stderr}");
    assert!(
        stderr.contains("30s"),
        "read: names the 30 s default: {stderr}"
    );
    assert!(
        read_took >= Duration::from_secs(29),
        "the stall ended after {read_took:?}, before the 30 s default"
    );
}

// ---- A 206 body longer than announced ----

/// An origin that serves `data` and answers the request for `bytes=0-99` with `bad`.
fn over_long_origin(data: Vec<u8>, bad: Vec<u8>) -> Upstream {
    Upstream::answering(move |head| {
        let range = head_header(head, "range").unwrap_or("");
        if range == "bytes=0-99" {
            return bad.clone();
        }
        let (a, b) = range
            .strip_prefix("bytes=")
            .and_then(|r| r.split_once('-'))
            .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
            .expect("an explicit range");
        canned(
            "HTTP/1.1 206 Partial Content",
            &[
                &format!("Content-Range: bytes {a}-{b}/{}", data.len()),
                &format!("Content-Length: {}", b + 1 - a),
                "ETag: \"v1\"",
                "Connection: close",
            ],
            &data[a..=b],
        )
    })
}

#[test]
fn a_206_body_longer_than_its_content_range_is_never_spliced() {
    // README: every 206's body must have exactly as many bytes as its Content-Range says,
    // never more; a server that answers otherwise is not spliced in.
    let data = util::data(1000);
    let chunked: Vec<u8> = {
        let mut body = b"96\r\n".to_vec(); // 150 bytes in one chunk
        body.extend_from_slice(&data[..150]);
        body.extend_from_slice(b"\r\n0\r\n\r\n");
        body
    };
    let head = |extra: &str| {
        let mut lines = vec![
            "Content-Range: bytes 0-99/1000".to_string(),
            "ETag: \"v1\"".to_string(),
            "Connection: close".to_string(),
        ];
        lines.push(extra.to_string());
        lines
    };
    let cases: [(&str, Vec<String>, Vec<u8>); 3] = [
        (
            "Content-Length 150",
            head("Content-Length: 150"),
            data[..150].to_vec(),
        ),
        (
            "no length, 150 bytes until close",
            head("Accept-Ranges: bytes"),
            data[..150].to_vec(),
        ),
        (
            "chunked, 150 bytes",
            head("Transfer-Encoding: chunked"),
            chunked,
        ),
    ];
    let mut want = data[..100].to_vec();
    want.extend_from_slice(&data[500..600]);
    for (case, headers, body) in cases {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let bad = canned("HTTP/1.1 206 Partial Content", &headers, &body);
        let origin = over_long_origin(data.clone(), bad);
        let output = util::rangecat()
            .args([&origin.url("/file.bin"), "0:100", "500:600"])
            .output()
            .unwrap();
        assert_prefix_of(case, &output.stdout, &want);
        assert_eq!(output.status.code(), Some(1), "{case}: exit status");
        let message = assert_runtime_error(&output);
        assert!(
            message.contains("bytes=0-99"),
            "{case}: the message names the range: {message}\n{:?}",
            origin.heads()
        );
    }
}

// ---- A length that changes between responses ----

#[test]
fn a_length_that_changes_between_responses_stops_without_splicing() {
    // README: every response's total length is compared with the first one's; a mismatch
    // means the resource changed: an error (exit 1) rather than two versions spliced.
    let v1 = util::data(2000);
    let v2 = util::random_bytes(2000);
    let cases = [
        ("grows: 206 of 2000", 2000, 206),
        ("shrinks: 206 of 800", 800, 206),
        ("grows: 200 of 2000", 2000, 200),
    ];
    for (case, later_len, later_status) in cases {
        let served = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&served);
        let (first, later) = (v1.clone(), v2.clone());
        let origin = Upstream::answering(move |_head| {
            if count.fetch_add(1, Ordering::SeqCst) == 0 {
                return canned(
                    "HTTP/1.1 206 Partial Content",
                    &[
                        "Content-Range: bytes 0-9/1000",
                        "Content-Length: 10",
                        "ETag: \"v1\"",
                        "Connection: close",
                    ],
                    &first[..10],
                );
            }
            if later_status == 200 {
                let length = format!("Content-Length: {later_len}");
                let headers = ["ETag: \"v1\"", &length, "Connection: close"];
                return canned("HTTP/1.1 200 OK", &headers, &later[..later_len]);
            }
            let range = format!("Content-Range: bytes 500-509/{later_len}");
            let headers = [
                range.as_str(),
                "Content-Length: 10",
                "ETag: \"v1\"",
                "Connection: close",
            ];
            canned("HTTP/1.1 206 Partial Content", &headers, &later[500..510])
        });
        let output = util::rangecat()
            .args([&origin.url("/file.bin"), "0:10", "500:510"])
            .output()
            .unwrap();
        let message = assert_runtime_error(&output);
        assert!(message.contains("changed"), "{case}: {message}");
        assert!(
            served.load(Ordering::SeqCst) >= 2,
            "{case}: the second request was never sent"
        );
        assert_prefix_of(case, &output.stdout, &v1[..10]);
    }
}

// ---- x: defaults, progress, modes ----

/// `count` stored members `m0.bin`... of `size` distinct random bytes each, and the archive.
fn members(count: usize, size: usize) -> (Vec<(String, Vec<u8>)>, Vec<u8>) {
    let noise = util::random_bytes(count * size);
    let files: Vec<(String, Vec<u8>)> = (0..count)
        .map(|i| {
            (
                format!("m{i}.bin"),
                noise[i * size..(i + 1) * size].to_vec(),
            )
        })
        .collect();
    let items: Vec<Item<'_>> = files
        .iter()
        .map(|(name, data)| Item::stored(name, data))
        .collect();
    let archive = zips::archive(&items);
    (files, archive)
}

/// Asserts that `dir` holds each of `files` byte for byte.
#[track_caller]
fn assert_files(dir: &Path, files: &[(String, Vec<u8>)]) {
    for (name, data) in files {
        let got = std::fs::read(dir.join(name))
            .unwrap_or_else(|e| panic!("{name} in {}: {e}", dir.display()));
        assert_bytes_eq_in(name, &got, data);
    }
}

/// The local header offsets of `archive`'s entries, from the zip crate.
fn header_starts(archive: &[u8]) -> Vec<u64> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
    (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().header_start())
        .collect()
}

/// The span a `Range` header value asks of a resource of `len` bytes (single ranges only).
fn asked_span(range: &str, len: usize) -> Range<usize> {
    let (a, b) = range
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .unwrap_or_else(|| panic!("Range {range}"));
    match (a.parse::<usize>(), b.parse::<usize>()) {
        (Err(_), Ok(n)) => len.saturating_sub(n)..len,
        (Ok(a), Err(_)) => a..len,
        (Ok(a), Ok(b)) => a..(b + 1).min(len),
        _ => panic!("Range {range}"),
    }
}

/// A range server that counts the member requests (those starting at a local header) in
/// flight at once. The first holds the door for `hold`, so that all the requests a client
/// sends side by side arrive before any is answered; the most seen during that time is kept.
/// With a `pace`, member bodies go out 64 KiB per `pace`.
struct Origin {
    upstream: Upstream,
    most: Arc<AtomicUsize>,
}

fn range_origin(archive: Vec<u8>, hold: Duration, pace: Option<Duration>) -> Origin {
    let starts = header_starts(&archive);
    let now = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let door: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&most);
    let upstream = Upstream::start(move |mut conn| {
        let mut head = conn.head.take();
        let stream = &conn.stream;
        // Bounded: each pass answers one request; read_head gives up after 5 s of silence.
        while let Some(request) = head.take() {
            let range = head_header(&request, "range").unwrap_or("bytes=0-");
            let span = asked_span(range, archive.len());
            let member = starts.contains(&(span.start as u64));
            if member {
                let in_flight = now.fetch_add(1, Ordering::SeqCst) + 1;
                let until = *door
                    .lock()
                    .unwrap()
                    .get_or_insert_with(|| Instant::now() + hold);
                if Instant::now() < until {
                    seen.fetch_max(in_flight, Ordering::SeqCst);
                    thread::sleep(until.saturating_duration_since(Instant::now()));
                }
            }
            let answer = canned(
                "HTTP/1.1 206 Partial Content",
                &[
                    &format!(
                        "Content-Range: bytes {}-{}/{}",
                        span.start,
                        span.end - 1,
                        archive.len()
                    ),
                    &format!("Content-Length: {}", span.len()),
                    "ETag: \"v1\"",
                    "Accept-Ranges: bytes",
                ],
                &archive[span],
            );
            let ok = match pace.filter(|_| member) {
                None => (&*stream).write_all(&answer).is_ok(),
                // Bounded: the answer's pieces, each a write and a nap; ends when the server
                // stops or the client goes away.
                Some(pace) => answer.chunks(64 * 1024).all(|piece| {
                    thread::sleep(pace);
                    !conn.stopped() && (&*stream).write_all(piece).is_ok()
                }),
            };
            if member {
                now.fetch_sub(1, Ordering::SeqCst);
            }
            if !ok || conn.stopped() {
                return;
            }
            head = read_head(stream);
        }
    });
    Origin { upstream, most }
}

#[test]
fn x_extracts_into_the_current_directory_four_members_at_a_time_by_default() {
    // README: `x` extracts under `-C DIR` (default `.`), with `-j N` requests at once
    // (default 4), one per stretch of at least 8 MiB: four members of 9 MiB are four.
    let (files, archive) = members(4, 9 * MIB);
    let server = range_origin(archive, Duration::from_millis(1500), None);
    let cwd = tempfile::tempdir().unwrap();
    let output = util::rangecat()
        .current_dir(cwd.path())
        .args(["x", &server.upstream.url("/a.zip")])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}\nrequests:\n{:?}",
        String::from_utf8_lossy(&output.stderr),
        server.upstream.heads()
    );
    assert_files(cwd.path(), &files);
    assert_eq!(
        server.most.load(Ordering::SeqCst),
        4,
        "member requests in flight at once"
    );
}

#[test]
fn x_draws_a_progress_bar_on_a_terminal_and_not_with_quiet() {
    // README: x prints nothing on success and draws a progress bar over the total size on a
    // terminal. `script` runs it on a pseudo-terminal and copies what it shows.
    if !pty::have_script() {
        return;
    }
    let (files, archive) = members(4, 2 * MIB);
    let server = Server::start(archive, Mode::Ranges);
    let binary = assert_cmd::cargo::cargo_bin!("rangecat");
    let run = |args: &str| {
        let dir = tempfile::tempdir().unwrap();
        let line = format!(
            "{} x {} -C {} {args}",
            binary.display(),
            server.url("/a.zip"),
            dir.path().display()
        );
        let output = pty::on_terminal(&line);
        assert!(output.status.success(), "{args}: {output:?}");
        assert_files(dir.path(), &files);
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let shown = run("");
    assert!(shown.contains("MiB"), "a bar with byte counts: {shown:?}");
    assert_eq!(run("-q"), "", "-q silences it");
}

#[test]
fn x_drops_setuid_setgid_and_sticky_bits_and_keeps_the_permissions() {
    // README: permission bits are restored (`mode & 0777`); setuid, setgid and sticky bits
    // are dropped, as unzip does without -K.
    let cases = [
        ("setuid", 0o4755, 0o755),
        ("setgid", 0o2750, 0o750),
        ("sticky", 0o1777, 0o777),
        ("all-three", 0o7711, 0o711),
        ("plain", 0o640, 0o640),
    ];
    let entries: Vec<handzip::RawEntry> = cases
        .iter()
        .map(|(name, mode, _)| handzip::stored(name, name.as_bytes(), *mode))
        .collect();
    let (_src, archive) =
        crate::util::fixtures::local_file("modes.zip", &handzip::archive(&entries));
    let dir = tempfile::tempdir().unwrap();
    TestCommand::new()
        .arg("x")
        .arg(&archive)
        .arg("-C")
        .arg(dir.path())
        .success();
    for (name, mode, want) in cases {
        let path = dir.path().join(name);
        assert_bytes_eq(&std::fs::read(&path).unwrap(), name.as_bytes());
        let got = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(got, want, "{name}: archived {mode:o}, extracted {got:o}");
    }
}

// ---- An interrupted extraction ----

#[test]
fn an_interrupted_extraction_leaves_no_file_under_the_member_name() {
    // README: each member is written to a temporary `.NAME.rangecat-*.part` and moved onto
    // its name only once checked, so an interrupted extraction never leaves a truncated file
    // under a real name; SIGINT/SIGTERM remove temporary files and exit 130/143. After
    // SIGKILL nothing can clean up: the temporary may remain, still 0600.
    use std::os::unix::process::ExitStatusExt;
    let (files, archive) = members(1, 16 * MIB);
    let name = files[0].0.clone();
    let server = range_origin(archive, Duration::ZERO, Some(Duration::from_millis(20)));
    let is_temporary =
        |file: &str| file.starts_with(&format!(".{name}.rangecat-")) && file.ends_with(".part");
    for (signal, number, code) in [
        ("INT", 2, Some(130)),
        ("TERM", 15, Some(143)),
        ("KILL", 9, None),
    ] {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("out");
        let child = spawn([
            "x".as_ref(),
            server.upstream.url("/a.zip").as_ref(),
            "-C".as_ref(),
            dir.as_os_str(),
        ]);
        // Wait until the member is being written: its temporary holds some bytes.
        let deadline = Instant::now() + Duration::from_secs(20);
        let listing = || -> Vec<(String, u64, u32)> {
            std::fs::read_dir(&dir)
                .map(|entries| {
                    entries
                        .map(|e| {
                            let e = e.unwrap();
                            let meta = e.metadata().unwrap();
                            let name = e.file_name().to_string_lossy().into_owned();
                            (name, meta.len(), meta.permissions().mode() & 0o7777)
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        while !listing()
            .iter()
            .any(|(file, len, _)| is_temporary(file) && *len > 0)
        {
            assert!(
                Instant::now() < deadline,
                "SIG{signal}: no temporary appeared: {:?}",
                listing()
            );
            thread::sleep(Duration::from_millis(10));
        }
        let killed = std::process::Command::new("kill")
            .args(["-s", signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let (status, stderr) = util::wait_for(child, Duration::from_secs(15));
        assert!(!stderr.contains("panicked"), "SIG{signal}: {stderr}");
        let left = listing();
        assert!(
            !left.iter().any(|(file, _, _)| *file == name),
            "SIG{signal}: {name} exists after an interrupted extraction: {left:?}"
        );
        match code {
            Some(code) => {
                assert_eq!(
                    status.code(),
                    Some(code),
                    "SIG{signal}: {status}; stderr: {stderr}"
                );
                assert_eq!(left, [], "SIG{signal}: temporaries are removed");
            }
            None => {
                assert_eq!(status.signal(), Some(number), "SIG{signal}: {status}");
                for (file, _, mode) in &left {
                    assert!(is_temporary(file), "SIG{signal}: stray {file}");
                    assert_eq!(*mode, 0o600, "SIG{signal}: {file} is {mode:o}");
                }
            }
        }
    }
}

/// The `.NAME.rangecat-*.part` temporaries under `dir`, and how many files it holds in all.
fn temporaries_under(dir: &Path) -> (Vec<String>, usize) {
    let (mut found, mut files) = (Vec::new(), 0);
    let mut stack = vec![dir.to_owned()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else {
            continue;
        };
        for entry in entries {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
                continue;
            }
            files += 1;
            if name.contains(".rangecat-") {
                found.push(entry.path().display().to_string());
            }
        }
    }
    (found, files)
}

#[test]
fn an_extraction_interrupted_at_any_moment_leaves_no_temporary() {
    // README: SIGINT and SIGTERM remove every temporary, including one another worker is
    // creating at that instant. 70,000 tiny members (a temporary each, created, written and
    // renamed by four workers) from a local archive, on tmpfs where there is one, interrupted
    // at 50 random moments of the extraction (two at a time): no run leaves a temporary
    // behind.
    use std::time::SystemTime;
    const ENTRIES: usize = 70_000;
    const RUNS: usize = 50;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zips::options(zip::CompressionMethod::Stored);
    for i in 0..ENTRIES {
        writer
            .start_file(format!("d{}/f{i}", i / 1000), options)
            .unwrap();
        writer.write_all(i.to_string().as_bytes()).unwrap();
    }
    let bytes = writer.finish().unwrap().into_inner();
    let (_src, archive) = crate::util::fixtures::local_file("many.zip", &bytes);
    let shm = Path::new("/dev/shm");
    let scratch = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let x = |dir: &Path| {
        spawn([
            "x".as_ref(),
            archive.as_os_str(),
            "-C".as_ref(),
            dir.as_os_str(),
        ])
    };
    // How long a whole extraction takes, to pick moments inside it.
    let started = Instant::now();
    let whole = scratch.path().join("whole");
    let (status, stderr) = util::wait_for(x(&whole), Duration::from_secs(120));
    assert!(status.success(), "{stderr}");
    let full = started.elapsed();
    assert_eq!(temporaries_under(&whole), (vec![], ENTRIES));
    std::fs::remove_dir_all(&whole).unwrap();
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    // The moments, drawn up front, and the runs shared by two threads (half the wait).
    let mut state = seed;
    let moments: Vec<Duration> = (0..RUNS)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            full.mul_f64((state % 10_000) as f64 / 10_000.0)
        })
        .collect();
    let next = AtomicUsize::new(0);
    let interrupted = AtomicUsize::new(0);
    let one = |run: usize| {
        let moment = moments[run];
        let (signal, name, code) = if run % 2 == 0 {
            (rustix::process::Signal::INT, "INT", 130)
        } else {
            (rustix::process::Signal::TERM, "TERM", 143)
        };
        let dir = scratch.path().join(format!("run{run}"));
        let child = x(&dir);
        thread::sleep(moment);
        let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
        let _ = rustix::process::kill_process(pid, signal);
        let (status, stderr) = util::wait_for(child, Duration::from_secs(60));
        let what = format!("run {run} (seed {seed}), SIG{name} after {moment:?} of {full:?}");
        match status.code() {
            Some(0) => {}
            Some(got) if got == code => {
                interrupted.fetch_add(1, Ordering::SeqCst);
            }
            // A signal in the first milliseconds, before rangecat set its handler (and before
            // it could create any temporary), ends it as the signal does any process.
            None if std::os::unix::process::ExitStatusExt::signal(&status)
                == Some(signal.as_raw()) => {}
            other => panic!("{what}: exit {other:?}: {stderr}"),
        }
        let (left, _) = temporaries_under(&dir);
        assert_eq!(
            left,
            Vec::<String>::new(),
            "{what}: temporaries left behind"
        );
        std::fs::remove_dir_all(&dir).ok();
    };
    thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let run = next.fetch_add(1, Ordering::SeqCst);
                    if run >= RUNS {
                        return;
                    }
                    one(run);
                }
            });
        }
    });
    let interrupted = interrupted.into_inner();
    assert!(
        interrupted >= RUNS / 2,
        "only {interrupted} of {RUNS} runs were interrupted"
    );
}
