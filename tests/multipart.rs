//! `--multipart`: the planned requests as multi-range requests, the `multipart/byteranges`
//! answers read as streams (README, "What goes on the wire"), and the fallback to one request
//! per range when a server answers otherwise.

use std::fs;
use std::ops::Range;
use std::time::Duration;

use crate::util::command::{RequestLog, TestCommand};
use crate::util::nginx::Nginx;
use crate::util::server::{Mode, Server, Shape};
use crate::util::{self, assert_bytes_eq};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// `count` disjoint 4 KiB ranges, scattered over `len` bytes in ascending order.
fn scattered(count: usize, len: usize) -> Vec<Range<usize>> {
    let step = len / count;
    (0..count)
        .map(|i| i * step + i % 7 * 100)
        .map(|start| start..start + 4 * KIB)
        .collect()
}

fn args(ranges: &[Range<usize>]) -> Vec<String> {
    ranges
        .iter()
        .map(|r| format!("{}:{}", r.start, r.end))
        .collect()
}

/// `rangecat --multipart URL RANGES...`, expecting success; its stdout.
fn multipart(log: &dyn RequestLog, case: &str, url: &str, ranges: &[Range<usize>]) -> Vec<u8> {
    TestCommand::against(log)
        .case(case)
        .arg(url)
        .arg("--multipart")
        .args(args(ranges))
        .stdout()
}

fn slices(data: &[u8], ranges: &[Range<usize>]) -> Vec<u8> {
    ranges
        .iter()
        .flat_map(|r| data[r.clone()].to_vec())
        .collect()
}

#[test]
fn five_hundred_ranges_take_three_requests_from_nginx() {
    let root = tempfile::tempdir().unwrap();
    let data = util::random_bytes(8 * MIB);
    fs::write(root.path().join("blob.bin"), &data).unwrap();
    let Some(nginx) = Nginx::start(root.path()) else {
        eprintln!("skipping: nginx not found");
        return;
    };
    let ranges = scattered(500, data.len() - 8 * KIB);
    let got = multipart(&nginx, "nginx", &nginx.url("blob.bin"), &ranges);
    assert_bytes_eq(&got, &slices(&data, &ranges));
    let requests = nginx.requests();
    // No range needs the length: the first batch teaches it. All 500 go in batches whose
    // Range header stays under 6,000 bytes (nginx refuses a header line over 8 KiB).
    let multi: Vec<&str> = requests
        .iter()
        .filter_map(|r| r.range.as_deref())
        .filter(|r| r.contains(','))
        .collect();
    assert_eq!(requests.len(), multi.len(), "{requests:?}");
    assert!((2..=3).contains(&multi.len()), "{} batches", multi.len());
    assert!(
        multi.iter().all(|r| r.len() <= 6000),
        "a Range header over 6,000 bytes"
    );
    let asked: usize = multi.iter().map(|r| r.split(',').count()).sum();
    assert_eq!(asked, 500, "every range once");
}

#[test]
fn parts_in_any_order_or_coalesced_give_the_ranges_in_the_order_asked() {
    let data = util::random_bytes(2 * MIB);
    // Out of order on the command line: the planner asks in order of need, batches ascend.
    let ranges = [
        0..100,
        5000..6000,
        7000..7100,
        20_000..30_000,
        40_000..40_001,
    ];
    let ranges: Vec<Range<usize>> = ranges.into_iter().collect();
    for shape in [
        Shape::InOrder,
        Shape::Reversed,
        Shape::Coalesced,
        Shape::OnePart,
    ] {
        let server = Server::start(data.clone(), Mode::Multipart(shape));
        let got = multipart(&server, &format!("{shape:?}"), &server.url("/f"), &ranges);
        assert_bytes_eq(&got, &slices(&data, &ranges));
        // One request: the first batch is the first request, and teaches the length.
        let sent = server.ranges();
        assert_eq!(
            sent,
            [Some(
                "bytes=0-99,5000-5999,7000-7099,20000-29999,40000-40000".to_owned()
            )],
            "{shape:?}"
        );
    }
}

#[test]
fn a_first_batch_with_a_range_past_the_end_is_asked_again_without_it() {
    // README "--multipart": the first batch is planned as if the resource held every RANGE.
    // Here the last one lies past the end of 1 MiB: the answer teaches the length, is
    // dropped, and the plan made with the length (the last range selects nothing, as a
    // Python slice) is asked for again.
    let data = util::random_bytes(MIB);
    let server = Server::start(data.clone(), Mode::Multipart(Shape::InOrder));
    let got = multipart(
        &server,
        "past the end",
        &server.url("/f"),
        &[0..10, 1000..2000, 5 * MIB..5 * MIB + 10],
    );
    assert_bytes_eq(&got, &slices(&data, &[0..10, 1000..2000]));
    assert_eq!(
        server.ranges(),
        [
            Some("bytes=0-9,1000-1999,5242880-5242889".to_owned()),
            Some("bytes=0-9,1000-1999".to_owned()),
        ]
    );
}

#[test]
fn a_part_far_larger_than_its_ranges_gives_way_to_one_request_per_range() {
    // Coalescing 300..400 with 200,000..210,000 would send 200 KB nobody asked for: the
    // parts read so far stand, the rest is asked for range by range.
    let data = util::random_bytes(2 * MIB);
    let server = Server::start(data.clone(), Mode::Multipart(Shape::Coalesced));
    let ranges = [
        0..10,
        100..200,
        300..400,
        200_000..210_000,
        1_000_000..1_000_001,
    ];
    let output = TestCommand::against(&server)
        .arg(server.url("/f"))
        .args(["--multipart", "-v"])
        .args(args(&ranges))
        .success();
    assert_bytes_eq(&output.stdout, &slices(&data, &ranges));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("holds far more than was asked: the rest of"),
        "{stderr}"
    );
    assert_eq!(
        server.ranges(),
        [
            Some("bytes=0-9,100-199,300-399,200000-209999,1000000-1000000".to_owned()),
            // The first part (0-9 and 100-199 with the 90 bytes between) stands; the second
            // (300-399 through 200,000-209,999) is refused.
            Some("bytes=300-399".to_owned()),
            Some("bytes=200000-209999".to_owned()),
            Some("bytes=1000000-1000000".to_owned()),
        ]
    );
}

#[test]
fn a_part_that_was_not_asked_for_is_an_error_with_nothing_spliced() {
    let data = util::random_bytes(MIB);
    let server = Server::start(data.clone(), Mode::Multipart(Shape::ExtraPart));
    let output = TestCommand::against(&server)
        .arg(server.url("/f"))
        .args(["--multipart", "0:10", "1000:2000", "3000:4000"])
        .output();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim_end(),
        "rangecat: server answered bytes=0-9,1000-1999,... (3 ranges) with a bad multipart \
         body: a part for bytes 1-9, which was not asked for"
    );
    // The first part came before the extra one; nothing after it.
    assert_bytes_eq(&output.stdout, &slices(&data, &[0..10]));
    server.assert_requests(1, "one multi-range request");
}

#[test]
fn a_server_answering_with_the_whole_object_gets_one_request_per_range() {
    // 64 MiB answered with 200 to the multi-range request (as S3 does): recognised from its
    // head and dropped with its connection, then one request per range, in parallel.
    let data = util::random_bytes(64 * MIB);
    for (shape, what) in [
        (None, "the whole resource"),
        (Some(Shape::FirstOnly), "one other range"),
    ] {
        let mode = shape.map_or(Mode::Ranges, Mode::Multipart);
        let server = Server::start(data.clone(), mode);
        let ranges: Vec<Range<usize>> = (0..9).map(|i| i * MIB + 17..i * MIB + 5000).collect();
        let output = TestCommand::against(&server)
            .arg(server.url("/f"))
            .args(["--multipart", "-v", "-j", "4"])
            .args(args(&ranges))
            .success();
        assert_bytes_eq(&output.stdout, &slices(&data, &ranges));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said = format!(
            "* the multi-range request was answered with {what}: one request per range from now on"
        );
        assert!(stderr.contains(&said), "{stderr}");
        // Three batches of three sent at once, all refused, then the 9 ranges one by one.
        server.assert_requests(3 + 9, "fallback");
        let sent = server.body_bytes_sent();
        assert!(
            sent < data.len() / 2,
            "{sent} body bytes sent: the whole object was read"
        );
    }
}

#[test]
fn without_multipart_a_local_file_and_a_server_give_the_same_bytes() {
    // --multipart changes requests, never bytes: a file source has no multi-range request.
    let dir = tempfile::tempdir().unwrap();
    let data = util::random_bytes(MIB);
    let path = dir.path().join("f.bin");
    fs::write(&path, &data).unwrap();
    let ranges = ["-10:", "0:10", "500:400", "100:200", "150:250", "0:10"];
    let local = TestCommand::new()
        .arg(&path)
        .arg("--multipart")
        .args(ranges)
        .stdout();
    let server = Server::start(data.clone(), Mode::Multipart(Shape::Reversed));
    let remote = TestCommand::against(&server)
        .arg(server.url("/f"))
        .arg("--multipart")
        .args(ranges)
        .stdout();
    let len = data.len();
    let want = slices(&data, &[len - 10..len, 0..10, 100..200, 150..250, 0..10]);
    assert_bytes_eq(&local, &want);
    assert_bytes_eq(&remote, &want);
}

/// How many of `ranges` (the Range headers a server received) asked for several ranges, and
/// how many ranges each asked for.
fn batch_sizes(ranges: &[Option<String>]) -> Vec<usize> {
    ranges
        .iter()
        .map(|r| r.as_deref().map_or(0, |r| r.split(',').count()))
        .collect()
}

#[test]
fn three_hundred_ranges_go_in_batches_of_two_hundred() {
    // README: at most 200 ranges a request (Apache's default MaxRanges), so a server that
    // answers more with the whole resource never sees more.
    let data = util::random_bytes(16 * MIB);
    let server = Server::start(data.clone(), Mode::Multipart(Shape::WholeOver(200)));
    let ranges = scattered(300, data.len() - 8 * KIB);
    let got = multipart(&server, "apache", &server.url("/f"), &ranges);
    assert_bytes_eq(&got, &slices(&data, &ranges));
    assert_eq!(batch_sizes(&server.ranges()), [200, 100]);
}

/// `rangecat --multipart -v` with 300 scattered ranges of `data` from `server`: the right
/// bytes, and `said` among the `-v` lines.
fn three_hundred_verbose(server: &Server, data: &[u8], said: &str) {
    let ranges = scattered(300, data.len() - 8 * KIB);
    let output = TestCommand::against(server)
        .arg(server.url("/f"))
        .args(["--multipart", "-v"])
        .args(args(&ranges))
        .success();
    assert_bytes_eq(&output.stdout, &slices(data, &ranges));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(said), "{stderr}");
}

#[test]
fn a_whole_resource_to_many_ranges_is_asked_again_with_fewer() {
    // A server configured with MaxRanges 20: the 200-range batch is answered with the whole
    // file (dropped unread), then the ranges are asked for 100 at a time, then 16, never
    // one per range.
    let data = util::random_bytes(64 * MIB);
    let server = Server::start(data.clone(), Mode::Multipart(Shape::WholeOver(20)));
    three_hundred_verbose(
        &server,
        &data,
        "* the multi-range request for 200 ranges was answered with the whole resource: \
         at most 100 ranges a request from now on",
    );
    let sizes = batch_sizes(&server.ranges());
    assert_eq!(sizes[..2], [200, 100], "{sizes:?}");
    // Then the 300 ranges 16 at a time (the two batches' requests may interleave, and the
    // second's first may leave before the limit fell), with nothing answered twice.
    let refused: usize = sizes.iter().filter(|&&n| n > 20).sum();
    let served: usize = sizes.iter().filter(|&&n| n <= 20).sum();
    assert_eq!(served, 300, "{sizes:?}");
    assert!(refused <= 200 + 100 + 100, "{sizes:?}");
    assert!(sizes.len() <= 2 + 1 + 20 + 2, "{sizes:?}");
    // The whole file's answers were dropped after their heads: together less than one file,
    // what socket buffers took.
    assert!(
        server.body_bytes_sent() < data.len(),
        "the whole file was read: {}",
        server.body_bytes_sent()
    );
}

#[test]
fn an_answer_with_the_first_parts_only_is_used_and_the_rest_asked_for() {
    // lighttpd sends the parts of the first ten ranges: they are used, the rest is asked
    // for ten at a time from then on.
    let data = util::random_bytes(16 * MIB);
    let server = Server::start(data.clone(), Mode::Multipart(Shape::FirstParts(10)));
    three_hundred_verbose(
        &server,
        &data,
        "* the multi-range answer held 10 of 200 parts: at most 10 ranges a request from now on",
    );
    let sizes = batch_sizes(&server.ranges());
    assert_eq!(sizes[0], 200);
    // Then the other 190 of the first batch ten at a time, and the second batch of 100 (its
    // first request may leave before the first answer taught the limit), the same way.
    let hundred = sizes.iter().filter(|&&n| n == 100).count();
    assert!(hundred <= 1, "{sizes:?}");
    let tens = sizes.iter().filter(|&&n| n == 10).count();
    assert_eq!(tens, 19 + 10 - hundred, "{sizes:?}");
    assert_eq!(sizes.len(), 1 + hundred + tens, "{sizes:?}");
}

#[test]
fn a_body_ending_right_after_the_closing_delimiter_is_complete() {
    // uvicorn with Starlette: no CRLF after `--boundary--`; the next request reuses the
    // connection.
    let data = util::random_bytes(16 * MIB);
    let server = Server::start(data.clone(), Mode::Multipart(Shape::Unterminated));
    let ranges = scattered(300, data.len() - 8 * KIB);
    let got = multipart(&server, "starlette", &server.url("/f"), &ranges);
    assert_bytes_eq(&got, &slices(&data, &ranges));
    assert_eq!(batch_sizes(&server.ranges()), [200, 100]);
}

#[test]
fn a_refused_multi_range_request_falls_back_to_one_request_per_range() {
    // Werkzeug answers every multi-range request with 416 `bytes */LEN` although each range
    // is inside; s3s-fs with 400. Either is a refusal of the form: one request per range.
    let data = util::random_bytes(4 * MIB);
    let ranges = scattered(40, data.len() - 8 * KIB);
    for status in [416, 400, 501] {
        let server = Server::start(data.clone(), Mode::RefusesMultiRange(status));
        let output = TestCommand::against(&server)
            .case(format!("{status}"))
            .arg(server.url("/f"))
            .args(["--multipart", "-v"])
            .args(args(&ranges))
            .success();
        assert_bytes_eq(&output.stdout, &slices(&data, &ranges));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "* the multi-range request was refused with {status} "
            )),
            "{stderr}"
        );
        let sizes = batch_sizes(&server.ranges());
        assert_eq!(sizes[0], 40, "{status}");
        assert_eq!(sizes[1..], [1; 40], "{status}");
    }
    // Under -j the ranges go in parallel.
    let server = Server::start(data.clone(), Mode::RefusesMultiRange(416));
    let got = TestCommand::against(&server)
        .arg(server.url("/f"))
        .args(["--multipart", "-j", "4"])
        .args(args(&ranges))
        .stdout();
    assert_bytes_eq(&got, &slices(&data, &ranges));
    // Four batches of ten sent at once, each refused, then one request per range.
    let sizes = batch_sizes(&server.ranges());
    assert_eq!(sizes[..4], [10; 4]);
    assert_eq!(sizes[4..], [1; 40]);
}

#[test]
fn a_missing_resource_to_a_multi_range_request_is_no_refusal_of_the_form() {
    let server = Server::start(util::random_bytes(MIB), Mode::Status(404));
    let output = TestCommand::against(&server)
        .arg(server.url("/f"))
        .args(["--multipart", "0:10", "100:200", "300:400"])
        .output();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("404"), "{stderr}");
    server.assert_requests(1, "no fallback after a 404");
}

#[test]
fn absolute_ranges_in_any_order_are_one_request() {
    // Asked for in ascending order, written in the order given.
    let data = util::random_bytes(MIB);
    let ranges = [0..10, 100_000..101_000, 500..600, 50_000..50_001, 20..30];
    let ranges: Vec<Range<usize>> = ranges.into_iter().collect();
    for shape in [Shape::InOrder, Shape::Reversed] {
        let server = Server::start(data.clone(), Mode::Multipart(shape));
        let got = multipart(&server, &format!("{shape:?}"), &server.url("/f"), &ranges);
        assert_bytes_eq(&got, &slices(&data, &ranges));
        assert_eq!(
            server.ranges(),
            [Some(
                "bytes=0-9,20-29,500-599,50000-50000,100000-100999".to_owned()
            )],
            "{shape:?}"
        );
    }
}

#[test]
fn under_jobs_the_first_batches_leave_together() {
    // README: with every RANGE absolute, `--multipart -j 4` sends its first four batches at
    // once, not the first alone to learn the length: one round trip for 300 ranges.
    let data = util::random_bytes(4 * MIB);
    let server = Server::start(data.clone(), Mode::Delayed(Duration::from_millis(300)));
    let ranges = scattered(300, data.len() - 8 * KIB);
    let got = TestCommand::against(&server)
        .arg(server.url("/f"))
        .args(["--multipart", "-j", "4"])
        .args(args(&ranges))
        .stdout();
    assert_bytes_eq(&got, &slices(&data, &ranges));
    assert_eq!(batch_sizes(&server.ranges()), [75; 4]);
    assert_eq!(server.most_in_flight(), 4, "all four at once");
}
