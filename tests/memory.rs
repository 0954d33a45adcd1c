//! The README's memory bounds, measured: the peak resident memory of the rangecat process
//! (`/proc/PID/status`, `util::memory`) while it moves far more bytes than the bound, so that
//! holding them would blow it. Bounds are generous (a debug build, allocator slack) but well
//! below what buffering would take.

use std::io::Read;
use std::time::Duration;

use crate::util::handzip;
use crate::util::memory::{BASELINE_KIB, Sampled, command, compare_stream, sample};
use crate::util::server::{Mode, Server};
use crate::util::{self, assert_bytes_eq};

const MIB: usize = 1024 * 1024;
const KIB_PER_MIB: u64 = 1024;
const LIMIT: Duration = Duration::from_secs(60);

/// Asserts `peak_kib` is at most BASELINE_KIB + `budget_mib`.
#[track_caller]
fn assert_peak_within(what: &str, peak_kib: u64, budget_mib: u64) {
    let bound = BASELINE_KIB + budget_mib * KIB_PER_MIB;
    eprintln!("{what}: peak RSS {peak_kib} KiB, bound {bound} KiB");
    assert!(peak_kib > 0, "{what}: no memory sample was taken");
    assert!(
        peak_kib <= bound,
        "{what}: peak RSS {} KiB, bound {bound} KiB",
        peak_kib
    );
}

/// Reads stdout to its end, counting bytes and checking that every one is zero.
fn count_zeros(mut stdout: std::process::ChildStdout) -> (u64, bool) {
    let mut buf = vec![0u8; 256 * 1024];
    let (mut total, mut all_zero) = (0u64, true);
    loop {
        match stdout.read(&mut buf) {
            Ok(0) | Err(_) => return (total, all_zero),
            Ok(n) => {
                all_zero &= buf[..n].iter().all(|&b| b == 0);
                total += n as u64;
            }
        }
    }
}

/// Fetches 200 MiB with `options` and asserts the bytes, and a peak within `budget_mib`.
#[track_caller]
fn assert_200_mib_within(options: &[&str], budget_mib: u64) {
    let data = util::random_bytes(200 * MIB);
    let server = Server::start(data.clone(), Mode::Ranges);
    let url = server.url("/big.bin");
    let args = options.iter().copied().chain([url.as_str()]);
    let run = sample(command(args), LIMIT, |out| compare_stream(out, &data));
    let what = format!("{options:?}, 200 MiB");
    run.assert_success(&what);
    assert_eq!(run.out, (data.len(), None), "bytes and first difference");
    assert_peak_within(&what, run.peak_kib, budget_mib);
}

#[test]
fn jobs_hold_about_four_mib_per_connection() {
    // README: `-j N` keeps memory bounded by N segments (4 MiB each) plus --max-buffer.
    // 4 x 4 MiB of segments, and as much again for chunks and slack: far below 200 MiB.
    assert_200_mib_within(&["-j", "4"], 32);
}

#[test]
fn one_connection_holds_a_few_chunks_whatever_the_size() {
    // README: memory stays bounded by --chunk-size times a small constant.
    assert_200_mib_within(&["--chunk-size", "1MiB"], 16);
}

#[test]
fn a_range_needed_again_past_max_buffer_is_requested_again_not_held() {
    // README: bytes needed again are kept up to --max-buffer; past that, requested again.
    let data = util::random_bytes(100 * MIB);
    let server = Server::start(data.clone(), Mode::Ranges);
    let mut want = data[..96 * MIB].to_vec();
    want.extend_from_slice(&data[..96 * MIB]);
    let run = sample(
        command([
            "--max-buffer",
            "8MiB",
            &server.url("/big.bin"),
            "0:96MiB",
            "0:96MiB",
        ]),
        LIMIT,
        |out| compare_stream(out, &want),
    );
    run.assert_success("a repeated 96 MiB range");
    assert_eq!(run.out, (want.len(), None), "bytes and first difference");
    // The second use is served from at most --max-buffer kept bytes and a new request for
    // the rest: two requests, the second for the range's end from 8 MiB or earlier.
    let ranges = server.ranges();
    assert_eq!(ranges.len(), 2, "requests:\n{}", server.summary());
    assert_eq!(ranges[0].as_deref(), Some("bytes=0-100663295"));
    let again = ranges[1].as_deref().unwrap_or("");
    let start: u64 = again
        .strip_prefix("bytes=")
        .and_then(|r| r.strip_suffix("-100663295"))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("second request {again}"));
    assert!(
        start <= 8 * MIB as u64,
        "kept more than --max-buffer: {again}"
    );
    // Holding the range for its second use would take 96 MiB.
    assert_peak_within("--max-buffer 8MiB, 2 x 96 MiB", run.peak_kib, 8 + 24);
}

#[test]
fn an_archive_from_a_server_ignoring_range_is_spooled_to_disk_not_memory() {
    // README: ls/cat work on a server that ignores Range; the archive is spooled to a
    // temporary file, never held in memory.
    let note = b"a small member after a large one\n";
    let bytes = handzip::archive(&[
        handzip::stored_zeros("big.bin", 200 * MIB),
        handzip::stored("note.txt", note, 0o644),
    ]);
    let server = Server::start(bytes, Mode::IgnoresRange);
    let tmp = tempfile::tempdir().unwrap();
    for (args, want) in [
        (vec!["ls"], b"big.bin\nnote.txt\n".to_vec()),
        (vec!["cat"], note.to_vec()),
    ] {
        let mut cmd = command(args.iter().copied().chain([server.url("/a.zip").as_str()]));
        if args[0] == "cat" {
            cmd.arg("note.txt");
        }
        cmd.env("TMPDIR", tmp.path());
        let run = sample(cmd, LIMIT, |mut out| {
            let mut got = Vec::new();
            out.read_to_end(&mut got).unwrap();
            got
        });
        run.assert_success(args[0]);
        assert_bytes_eq(&run.out, &want);
        assert_peak_within(args[0], run.peak_kib, 24);
    }
}

/// `rangecat x URL -C DIR ARGS...`, its memory sampled; its stdout must be empty zeros.
fn extract(url: &str, dir: &std::path::Path, args: &[&str]) -> Sampled<(u64, bool)> {
    let mut argv: Vec<&std::ffi::OsStr> = vec!["x".as_ref(), url.as_ref(), "-C".as_ref()];
    argv.push(dir.as_os_str());
    argv.extend(args.iter().map(std::ffi::OsStr::new));
    sample(command(argv), LIMIT, count_zeros)
}

#[test]
fn a_zip_bomb_decompresses_with_flat_memory_in_cat_and_x() {
    // 192 MiB of zeros in a 1.2 MiB member. README: cat streams each member; x writes it to
    // a temporary file; only members of up to 1 MiB are held back for their CRC.
    let matches = 780_000;
    let size = 1 + 258 * matches as u64;
    let bytes = handzip::archive(&[handzip::deflated_zeros("bomb.bin", matches)]);
    assert!(bytes.len() < 2 * MIB);
    let server = Server::start(bytes, Mode::Ranges);

    let run = sample(
        command(["cat", &server.url("/bomb.zip"), "bomb.bin"]),
        LIMIT,
        count_zeros,
    );
    run.assert_success("cat");
    assert_eq!(run.out, (size, true), "cat: bytes, all zero");
    assert_peak_within("cat of a 192 MiB bomb", run.peak_kib, 24);

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = extract(&server.url("/bomb.zip"), &out, &[]);
    run.assert_success("x");
    assert_eq!(run.out, (0, true), "x writes nothing on stdout");
    let file = std::fs::File::open(out.join("bomb.bin")).unwrap();
    assert_eq!(file.metadata().unwrap().len(), size);
    let (len, all_zero) = {
        let mut reader = std::io::BufReader::with_capacity(MIB, file);
        let mut buf = vec![0u8; MIB];
        let (mut total, mut zero) = (0u64, true);
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break (total, zero);
            }
            zero &= buf[..n].iter().all(|&b| b == 0);
            total += n as u64;
        }
    };
    assert_eq!((len, all_zero), (size, true), "x: the file's bytes");
    assert_peak_within("x of a 192 MiB bomb", run.peak_kib, 24);
}

#[test]
fn a_claimed_length_of_four_exbibytes_does_not_inflate_memory_under_j() {
    use httpmock::prelude::*;
    // The first -j request takes one 4 MiB segment; the server claims 2^62 bytes in all and
    // answers nothing else (404), so rangecat writes 4 MiB and fails on the next segment.
    let claimed: u64 = 1 << 62;
    let segment = util::data(4 * MIB);
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET)
            .path("/huge")
            .header("range", "bytes=0-4194303");
        then.status(206)
            .header("content-range", format!("bytes 0-4194303/{claimed}"))
            .body(&segment);
    });
    let run = sample(
        command(["-j", "4", "--retries", "0", &server.url("/huge")]),
        LIMIT,
        count_zeros,
    );
    assert_eq!(run.status.code(), Some(1), "stderr: {}", run.stderr);
    assert!(run.stderr.contains("404"), "{}", run.stderr);
    assert!(run.out.0 <= 4 * MIB as u64, "wrote {} bytes", run.out.0);
    // README: -j holds at most N segments, whatever length a server claims.
    assert_peak_within("-j 4 against a 2^62-byte claim", run.peak_kib, 48);
}

#[test]
fn many_ranges_under_jobs_and_multipart_hold_n_segments_for_a_slow_reader() {
    // 400 ranges of 256 KiB (100 MiB) read by a slow consumer: the workers run ahead by at
    // most N requests of at most one segment each (README: N x 4 MiB), whether the ranges
    // go one per request or in multi-range batches.
    let data = util::random_bytes(120 * MIB);
    let server = Server::start(
        data.clone(),
        Mode::Multipart(crate::util::server::Shape::InOrder),
    );
    let url = server.url("/big.bin");
    let starts: Vec<usize> = (0..400).map(|i| i * 300 * 1024).collect();
    let ranges: Vec<String> = starts
        .iter()
        .map(|s| format!("{s}:{}", s + 256 * 1024))
        .collect();
    let want: Vec<u8> = starts
        .iter()
        .flat_map(|&s| data[s..s + 256 * 1024].to_vec())
        .collect();
    for extra in [&[][..], &["--multipart"][..]] {
        let mut args: Vec<&str> = vec!["-j", "8", &url];
        args.extend_from_slice(extra);
        args.extend(ranges.iter().map(String::as_str));
        let run = sample(command(&args), LIMIT, |out| slow_compare(out, &want));
        let what = format!("-j 8 {extra:?}, 400 ranges to a slow reader");
        run.assert_success(&what);
        assert_eq!(
            run.out,
            (want.len(), None),
            "{what}: bytes and first difference"
        );
        assert_peak_within(&what, run.peak_kib, 8 * 4);
    }
}

/// As `compare_stream`, pausing a millisecond after each 64 KiB read (about 64 MB/s).
fn slow_compare(mut stdout: std::process::ChildStdout, want: &[u8]) -> (usize, Option<usize>) {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut at, mut first_diff) = (0usize, None);
    loop {
        let n = match stdout.read(&mut buf) {
            Ok(0) | Err(_) => return (at, first_diff),
            Ok(n) => n,
        };
        let end = (at + n).min(want.len());
        if first_diff.is_none()
            && (want[at.min(end)..end] != buf[..end - at.min(end)] || end - at < n)
        {
            first_diff = Some(at);
        }
        at += n;
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn x_of_many_large_members_on_eight_workers_keeps_memory_flat() {
    // README "Zip archives": with -j 8, at most a few pieces of 256 KiB per worker are held,
    // whatever the archive. Twenty stored members of 4 MiB (80 MiB in eight stretches, eight
    // workers): holding a stretch, or a member per worker, would take 32 MiB and more.
    let data: Vec<Vec<u8>> = (0..20).map(|i| util::zips::noise(4 * MIB, i)).collect();
    let names: Vec<String> = (0..20).map(|i| format!("m{i:02}.bin")).collect();
    let entries: Vec<handzip::RawEntry> = names
        .iter()
        .zip(&data)
        .map(|(name, data)| handzip::stored(name, data, 0o644))
        .collect();
    let server = Server::start(handzip::archive(&entries), Mode::Ranges);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = extract(&server.url("/a.zip"), &out, &["-j", "8"]);
    run.assert_success("x -j 8");
    for (name, want) in names.iter().zip(&data) {
        util::assert_bytes_eq_in(name, &std::fs::read(out.join(name)).unwrap(), want);
    }
    assert_peak_within("x -j 8 of 80 MiB", run.peak_kib, 24);
}
