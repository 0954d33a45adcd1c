//! `-j N`: large transfers split into segments over several connections, written in order.

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
