//! `-j N`: large transfers split into segments over several connections, written in order.

use std::time::Duration;

use crate::util::command::TestCommand;
use crate::util::server::{Mode, Server};
use crate::util::{self, assert_bytes_eq};

const MIB: usize = 1024 * 1024;
const SEGMENT: usize = 4 * MIB;

/// `rangecat URL ARGS...` against `server`, asserting success; returns stdout.
#[track_caller]
fn fetch(server: &Server, args: &[&str]) -> Vec<u8> {
    TestCommand::against(server)
        .arg(server.url("/big.bin"))
        .args(args)
        .stdout()
}

fn ranges_sent(server: &Server) -> Vec<String> {
    let mut ranges: Vec<String> = server
        .requests()
        .iter()
        .filter_map(|r| r.range().map(str::to_owned))
        .collect();
    ranges.sort_by_key(|r| {
        let digits: String = r[6..].chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u64>().unwrap_or(0)
    });
    ranges
}

#[test]
fn jobs_fetch_the_whole_resource_in_segments_in_order() {
    let data = util::data(18 * MIB + 123);
    let server = Server::start(data.clone(), Mode::Ranges);
    let got = fetch(&server, &["-j", "4"]);
    assert_bytes_eq(&got, &data);
    // The first request takes one segment and teaches the length; the rest is segmented.
    let want: Vec<String> = (0..data.len())
        .step_by(SEGMENT)
        .map(|start| format!("bytes={start}-{}", (start + SEGMENT).min(data.len()) - 1))
        .collect();
    assert_eq!(ranges_sent(&server), want);
}

#[test]
fn a_transfer_just_over_8_mib_is_segmented_after_its_first_segment() {
    // README: -j splits a transfer over 8 MiB into 4 MiB segments, the first request taking
    // one; what follows it (5 MiB here) is still that transfer's segments, not one request.
    let data = util::data(9 * MIB);
    let server = Server::start(data.clone(), Mode::Ranges);
    let got = fetch(&server, &["-j", "4"]);
    assert_bytes_eq(&got, &data);
    assert_eq!(
        ranges_sent(&server),
        [
            "bytes=0-4194303",
            "bytes=4194304-8388607",
            "bytes=8388608-9437183"
        ]
    );
}

#[test]
fn jobs_fetch_a_large_range_in_segments() {
    let data = util::data(30 * MIB);
    let server = Server::start(data.clone(), Mode::Ranges);
    let got = fetch(&server, &["-j", "3", "1MiB:21MiB", "-10:"]);
    let mut want = data[MIB..21 * MIB].to_vec();
    want.extend_from_slice(&data[data.len() - 10..]);
    assert_bytes_eq(&got, &want);
    assert_eq!(
        ranges_sent(&server),
        [
            "bytes=1048576-5242879",
            "bytes=5242880-9437183",
            "bytes=9437184-13631487",
            "bytes=13631488-17825791",
            "bytes=17825792-22020095",
            "bytes=31457270-31457279",
        ]
    );
}

#[test]
fn small_transfers_ignore_jobs() {
    let data = util::data(MIB);
    let server = Server::start(data.clone(), Mode::Ranges);
    let got = fetch(&server, &["-j", "4"]);
    assert_bytes_eq(&got, &data);
    // The first request asks for one segment, which is the whole resource.
    assert_eq!(ranges_sent(&server), ["bytes=0-4194303"]);
}

#[test]
fn a_segment_cut_mid_body_is_resumed() {
    let data = util::data(12 * MIB);
    let server = Server::start(data.clone(), Mode::drop_after(1000, 1));
    let got = fetch(&server, &["-j", "2"]);
    assert_bytes_eq(&got, &data);
}

#[test]
fn jobs_on_a_server_ignoring_range_make_one_pass() {
    let data = util::data(12 * MIB);
    let server = Server::start(data.clone(), Mode::IgnoresRange);
    let got = fetch(&server, &["-j", "4", "8MiB:", "0:10"]);
    let mut want = data[8 * MIB..].to_vec();
    want.extend_from_slice(&data[..10]);
    assert_bytes_eq(&got, &want);
    server.assert_requests(1, "server");
}

// `-j 0` is a usage error: see errors::USAGE_ERRORS.

/// A seeded xorshift64 sequence: the same ranges on every run.
struct Seeded(u64);

impl Seeded {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// `count` ranges over `len` bytes, scattered and out of order, some overlapping or repeated,
/// as `A:B` arguments and as the byte spans they select (the expected output's model).
fn scattered(seed: u64, count: usize, len: u64) -> (Vec<String>, Vec<std::ops::Range<usize>>) {
    let mut rng = Seeded(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut spans: Vec<std::ops::Range<u64>> = Vec::new();
    for _ in 0..count {
        let span = match rng.below(10) {
            // A repeat of an earlier range.
            0 if !spans.is_empty() => spans[rng.below(spans.len() as u64) as usize].clone(),
            // Overlapping an earlier one.
            1 if !spans.is_empty() => {
                let earlier = spans[rng.below(spans.len() as u64) as usize].clone();
                let start = earlier.start + rng.below(earlier.end - earlier.start);
                start..(start + 1 + rng.below(20_000)).min(len)
            }
            _ => {
                let start = rng.below(len - 1);
                start..(start + 1 + rng.below(8000)).min(len)
            }
        };
        spans.push(span);
    }
    let args = spans
        .iter()
        .map(|s| format!("{}:{}", s.start, s.end))
        .collect();
    let model = spans
        .iter()
        .map(|s| s.start as usize..s.end as usize)
        .collect();
    (args, model)
}

#[test]
fn many_ranges_are_byte_exact_whatever_the_jobs_and_buffer() {
    // README: -j fetches the planned requests over N connections and writes them in order.
    let data = util::random_bytes(3 * MIB);
    let server = Server::start(data.clone(), Mode::Ranges);
    for seed in 1..=8u64 {
        let (ranges, model) = scattered(seed, 12 + seed as usize * 5, data.len() as u64);
        let want: Vec<u8> = model
            .iter()
            .flat_map(|s| data[s.clone()].to_vec())
            .collect();
        for (jobs, max_buffer) in [("1", "64MiB"), ("3", "64MiB"), ("8", "16KiB"), ("4", "0")] {
            let mut args: Vec<&str> = vec!["-j", jobs, "--max-buffer", max_buffer];
            args.extend(ranges.iter().map(String::as_str));
            let got = fetch(&server, &args);
            assert!(
                got == want,
                "seed {seed}, -j {jobs}, --max-buffer {max_buffer}: {} bytes, want {}",
                got.len(),
                want.len()
            );
        }
    }
}

#[test]
fn scattered_ranges_go_out_in_parallel_never_more_than_jobs_at_once() {
    // 120 disjoint ranges, each a request: -j 6 keeps six in flight, each byte asked once.
    let data = util::random_bytes(MIB);
    let server = Server::start(data.clone(), Mode::Delayed(Duration::from_millis(20)));
    let ranges: Vec<String> = (0..120)
        .map(|i| (i * 7919 % 120) * 8000)
        .map(|start| format!("{start}:{}", start + 4096))
        .collect();
    let mut args = vec!["-j", "6"];
    args.extend(ranges.iter().map(String::as_str));
    let got = fetch(&server, &args);
    let want: Vec<u8> = (0..120)
        .map(|i| (i * 7919 % 120) * 8000)
        .flat_map(|start| data[start..start + 4096].to_vec())
        .collect();
    assert_bytes_eq(&got, &want);
    server.assert_requests(120, "one request per range");
    let mut sent = ranges_sent(&server);
    sent.dedup();
    assert_eq!(sent.len(), 120, "no range asked twice");
    assert_eq!(server.most_in_flight(), 6, "requests in flight at once");

    let server = Server::start(data.clone(), Mode::Delayed(Duration::from_millis(1)));
    let got = fetch(
        &server,
        &ranges.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_bytes_eq(&got, &want);
    assert_eq!(server.most_in_flight(), 1, "without -j, one at a time");
}

#[test]
fn a_range_cut_mid_body_among_many_is_resumed_under_jobs() {
    // Three of the 40 responses break after 1,000 bytes: each resumes from its first
    // missing byte, the others are untouched, and the output is exact.
    let data = util::random_bytes(2 * MIB);
    let server = Server::start(data.clone(), Mode::drop_after(1000, 3));
    let starts: Vec<usize> = (0..40).map(|i| i * 50_000 + 7).collect();
    let ranges: Vec<String> = starts
        .iter()
        .map(|s| format!("{s}:{}", s + 20_000))
        .collect();
    // A resumption may be among the three broken responses too: retries for each.
    let mut args = vec!["-j", "4", "--retries", "3"];
    args.extend(ranges.iter().map(String::as_str));
    let got = fetch(&server, &args);
    let want: Vec<u8> = starts
        .iter()
        .flat_map(|&s| data[s..s + 20_000].to_vec())
        .collect();
    assert_bytes_eq(&got, &want);
    server.assert_requests(40 + 3, "40 ranges and 3 resumptions");
}

#[test]
fn a_resource_changing_among_many_ranges_stops_with_nothing_more_written() {
    let data = util::random_bytes(MIB);
    let server = Server::start(data.clone(), Mode::ChangesAfterFirst);
    let ranges: Vec<String> = (0..20)
        .map(|i| format!("{}:{}", i * 40_000, i * 40_000 + 1000))
        .collect();
    let mut args = vec!["-j", "4"];
    args.extend(ranges.iter().map(String::as_str));
    let output = TestCommand::against(&server)
        .arg(server.url("/big.bin"))
        .args(&args)
        .output();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("rangecat: the resource changed during the transfer"),
        "{stderr}"
    );
    // At most the first range, from the first version, was written (the first four
    // requests leave together: the change may be seen before any byte is written).
    if !output.stdout.is_empty() {
        assert_bytes_eq(&output.stdout, &data[..1000]);
    }
}

#[test]
fn absolute_ranges_under_jobs_leave_together_in_one_round_trip() {
    // README: with every RANGE absolute, the first N requests do not wait for an answer to
    // teach the length: three ranges under -j 3 are three requests in flight at once.
    let data = util::random_bytes(MIB);
    let server = Server::start(data.clone(), Mode::Delayed(Duration::from_millis(300)));
    let got = fetch(&server, &["-j", "3", "0:10", "200000:264000", "5000:6000"]);
    let want = [&data[0..10], &data[200_000..264_000], &data[5000..6000]].concat();
    assert_bytes_eq(&got, &want);
    server.assert_requests(3, "one request per range");
    assert_eq!(server.most_in_flight(), 3, "all three at once");
    let mut sent = ranges_sent(&server);
    sent.dedup();
    assert_eq!(
        sent,
        ["bytes=0-9", "bytes=5000-5999", "bytes=200000-263999"],
        "each asked once"
    );
}

#[test]
fn a_range_past_the_end_among_those_sent_together_selects_what_a_slice_would() {
    let data = util::random_bytes(MIB);
    for (ranges, want) in [
        (
            ["0:10", "2000:3000", "5MiB:6MiB"],
            [0..10, 2000..3000, 0..0],
        ),
        (
            ["1048566:2MiB", "0:10", "100:200"],
            [MIB - 10..MIB, 0..10, 100..200],
        ),
    ] {
        let server = Server::start(data.clone(), Mode::Ranges);
        let mut args = vec!["-j", "3"];
        args.extend(ranges);
        let got = fetch(&server, &args);
        let want: Vec<u8> = want.iter().flat_map(|r| data[r.clone()].to_vec()).collect();
        assert_bytes_eq(&got, &want);
        let output = TestCommand::against(&server)
            .arg(server.url("/big.bin"))
            .args(["--strict"])
            .args(&args)
            .output();
        assert_eq!(output.status.code(), Some(1), "{ranges:?} with --strict");
    }
}
