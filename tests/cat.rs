//! `rangecat cat`: members decompressed and CRC-checked, one request each beyond `ls`.

use std::io::{Cursor, Write};
use std::process::Output;

use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::util::command::TestCommand;
use crate::util::server::{Mode, Server};
use crate::util::zips::{self, Item, noise, options};
use crate::util::{self, assert_bytes_eq};

/// `rangecat cat URL MEMBERS...` against `server`.
fn command<'a>(server: &'a Server, members: &[&str]) -> TestCommand<'a> {
    let mut command = TestCommand::against(server);
    command.arg("cat").arg(server.url("/a.zip")).args(members);
    command
}

fn run(server: &Server, members: &[&str]) -> Output {
    command(server, members).output()
}

/// `cat`, asserting success; returns stdout.
#[track_caller]
fn cat(server: &Server, members: &[&str]) -> Vec<u8> {
    command(server, members).stdout()
}

#[track_caller]
fn failure(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout {} bytes",
        output.stdout.len()
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        stderr.starts_with("rangecat: ") && stderr.lines().count() == 1,
        "{stderr}"
    );
    stderr
}

/// The span `[local header, next local header or central directory)` of `name`, computed
/// with the zip crate, independently of rangecat.
fn member_span(bytes: &[u8], name: &str) -> (u64, u64) {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut starts: Vec<u64> = (0..archive.len())
        .map(|i| archive.by_index_raw(i).unwrap().header_start())
        .collect();
    starts.sort_unstable();
    let start = archive.by_name(name).unwrap().header_start();
    let end = starts
        .into_iter()
        .find(|&s| s > start)
        .unwrap_or(archive.central_directory_start());
    (start, end)
}

/// An archive whose first members lie before the 65 KiB tail that `ls` fetches (a member
/// inside it costs no request: `a_member_inside_the_tail_costs_no_request`).
fn sample() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let a = noise(30_000, 1);
    let b = b"hello, zip\n".repeat(500);
    let pad = noise(70_000, 2);
    let bytes = zips::archive(&[
        Item::dir("dir/"),
        Item::stored("dir/a.bin", &a),
        Item::deflated("dir/b.txt", &b),
        Item::deflated("empty.txt", b""),
        Item::stored("pad.bin", &pad),
    ]);
    (bytes, a, b)
}

#[test]
fn a_member_inside_the_tail_costs_no_request() {
    // README: a member lying in the 65 KiB tail fetched for the central directory (a small
    // archive's, a wheel's .dist-info files) is read from it; one that starts before it costs
    // a request for the part before only.
    let a = noise(50_000, 1);
    let b = noise(40_000, 3);
    let bytes = zips::archive(&[
        Item::stored("a.bin", &a),
        Item::stored("b.bin", &b),
        Item::deflated("METADATA", b"Metadata-Version: 2.1\n"),
    ]);
    let server = Server::start(bytes.clone(), Mode::Ranges);
    assert_eq!(cat(&server, &["METADATA"]), b"Metadata-Version: 2.1\n");
    server.assert_requests(1, "the tail only");
    let tail_start = bytes.len() as u64 - 66_560;
    let (start, end) = member_span(&bytes, "a.bin");
    assert!(start < tail_start && tail_start < end);
    assert_bytes_eq(&cat(&server, &["a.bin", "b.bin"]), &[a, b].concat());
    let ranges = server.ranges();
    assert_eq!(
        ranges[2..],
        [Some(format!("bytes={start}-{}", tail_start - 1))],
        "{ranges:?}"
    );
}

#[test]
fn one_member_costs_one_request_beyond_ls() {
    let (bytes, a, _) = sample();
    let server = Server::start(bytes.clone(), Mode::Ranges);
    assert_bytes_eq(&cat(&server, &["dir/a.bin"]), &a);
    let ranges: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.range().unwrap_or("-").to_owned())
        .collect();
    let (start, end) = member_span(&bytes, "dir/a.bin");
    assert_eq!(
        ranges,
        [
            "bytes=-66560".to_owned(),
            format!("bytes={start}-{}", end - 1)
        ]
    );
}

#[test]
fn several_members_are_written_in_the_order_given() {
    let (bytes, a, b) = sample();
    let server = Server::start(bytes, Mode::Ranges);
    let got = cat(
        &server,
        &["dir/b.txt", "empty.txt", "dir/a.bin", "dir/b.txt"],
    );
    let want = [b.as_slice(), b"", &a, &b].concat();
    assert_bytes_eq(&got, &want);
    server.assert_requests(1 + 4, "server");
}

#[test]
fn members_by_glob_come_in_archive_order_and_a_name_that_exists_wins() {
    // README: a MEMBER that names an entry exactly is that entry; otherwise it is a glob.
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("pkg-1.0.dist-info/RECORD", b"record".to_vec()),
        ("pkg/[x].txt", b"literal brackets".to_vec()),
        ("pkg-1.0.dist-info/METADATA", b"Name: pkg".to_vec()),
        ("pkg/x.txt", b"x".to_vec()),
        ("other.dist-info/METADATA", b"Name: other".to_vec()),
    ];
    let items: Vec<Item<'_>> = files.iter().map(|(n, d)| Item::deflated(n, d)).collect();
    let server = Server::start(zips::archive(&items), Mode::Ranges);
    let got = cat(&server, &["*.dist-info/METADATA"]);
    assert_bytes_eq(&got, b"Name: pkgName: other");
    // `pkg/[x].txt` exists, so it is that member and not the glob matching pkg/x.txt.
    let got = cat(&server, &["pkg/[x].txt", "pkg/?.txt", "*/RECORD"]);
    assert_bytes_eq(&got, b"literal bracketsxrecord");
    let stderr = failure(&run(&server, &["pkg/*.txt", "*.whl"]));
    assert!(
        stderr.starts_with("rangecat: *.whl: no such member in"),
        "{stderr}"
    );
}

#[test]
fn a_missing_member_is_named_and_costs_no_member_request() {
    let (bytes, _, _) = sample();
    let server = Server::start(bytes, Mode::Ranges);
    let stderr = failure(&run(&server, &["dir/a.bin", "no/such.txt"]));
    assert!(stderr.contains("no/such.txt"), "{stderr}");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn every_method_the_writer_can_write_round_trips() {
    // The zip crate's writer compresses these; it cannot write deflate64 or lzma, which
    // tests/archives.rs decompresses from 7-Zip's and zipfile's archives (with every other
    // method: `fixtures_hold_a_nonempty_member_of_every_supported_method`).
    let text = b"the quick brown fox jumps over the lazy dog\n".repeat(2000);
    let mixed = [noise(5000, 7), text.clone()].concat();
    let methods = [
        CompressionMethod::Stored,
        CompressionMethod::Deflated,
        CompressionMethod::Bzip2,
        CompressionMethod::Zstd,
        CompressionMethod::Xz,
        CompressionMethod::Ppmd,
    ];
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let mut written = Vec::new();
    for method in methods {
        let name = format!("{method:?}.bin").to_lowercase();
        writer
            .start_file(name.as_str(), options(method))
            .unwrap_or_else(|e| panic!("the writer cannot write {method:?}: {e}"));
        writer.write_all(&mixed).unwrap();
        written.push(name);
    }
    let bytes = writer.finish().unwrap().into_inner();
    let server = Server::start(bytes, Mode::Ranges);
    for name in &written {
        assert_bytes_eq(&cat(&server, &[name.as_str()]), &mixed);
    }
}

/// Flips a byte of a stored member's data in `archive`, found by the 64 bytes of `data` at
/// `offset`.
fn corrupt(archive: &mut [u8], data: &[u8], offset: usize) {
    let at = archive
        .windows(64)
        .position(|w| w == &data[offset..offset + 64])
        .unwrap();
    archive[at + 10] ^= 0xff;
}

#[test]
fn a_crc_mismatch_is_an_error_that_says_so() {
    let (mut bytes, a, _) = sample();
    // Flip a byte in the middle of the stored member's data.
    corrupt(&mut bytes, &a, 15_000);
    let server = Server::start(bytes, Mode::Ranges);
    let stderr = failure(&run(&server, &["dir/a.bin"]));
    assert!(stderr.contains("CRC"), "{stderr}");
}

#[test]
fn a_small_member_that_fails_its_crc_writes_nothing_and_a_large_one_streams() {
    // README: members up to 1 MiB are held until their CRC-32 checks out.
    let small = noise(30_000, 5);
    let large = noise(1_500_000, 6);
    let mut bytes = zips::archive(&[
        Item::stored("small.bin", &small),
        Item::stored("large.bin", &large),
    ]);
    for data in [&small, &large] {
        corrupt(&mut bytes, data, 20_000);
    }
    let server = Server::start(bytes, Mode::Ranges);
    let output = run(&server, &["small.bin"]);
    let stderr = failure(&output);
    assert!(stderr.contains("CRC"), "{stderr}");
    assert!(
        output.stdout.is_empty(),
        "wrote {} bytes",
        output.stdout.len()
    );
    let output = run(&server, &["large.bin"]);
    let stderr = failure(&output);
    assert!(stderr.contains("CRC"), "{stderr}");
    assert_eq!(output.stdout.len(), large.len(), "a large member streams");
}

#[test]
fn an_encrypted_member_is_refused_clearly() {
    use zip::unstable::write::FileOptionsExt;
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let secret = options(CompressionMethod::Stored)
        .with_deprecated_encryption(b"password")
        .unwrap();
    writer.start_file("secret.txt", secret).unwrap();
    writer.write_all(b"top secret").unwrap();
    let bytes = writer.finish().unwrap().into_inner();
    let server = Server::start(bytes, Mode::Ranges);
    let stderr = failure(&run(&server, &["secret.txt"]));
    assert!(stderr.contains("encrypted"), "{stderr}");
    assert_eq!(
        server.requests().len(),
        1,
        "nothing fetched for a member it cannot read"
    );
}

#[test]
fn members_with_data_descriptors_are_read() {
    // A writer on an unseekable stream cannot go back to the local header: sizes and CRC
    // follow the data in data descriptors.
    struct Unseekable(Vec<u8>);
    impl Write for Unseekable {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let one = noise(20_000, 3);
    let two = b"streamed\n".repeat(100);
    let mut writer = ZipWriter::new_stream(Unseekable(Vec::new()));
    writer
        .start_file("one.bin", options(CompressionMethod::Deflated))
        .unwrap();
    writer.write_all(&one).unwrap();
    writer
        .start_file("two.txt", options(CompressionMethod::Deflated))
        .unwrap();
    writer.write_all(&two).unwrap();
    let bytes = writer.finish().unwrap().get_ref().0.clone();
    let server = Server::start(bytes, Mode::Ranges);
    assert_bytes_eq(&cat(&server, &["one.bin", "two.txt"]), &[one, two].concat());
}

#[test]
fn a_member_cut_mid_transfer_is_resumed() {
    let big = noise(400_000, 9);
    let bytes = zips::archive(&[Item::stored("big.bin", &big), Item::deflated("x.txt", b"x")]);
    // The first response is the tail; the second (the member) breaks after 100,000 bytes.
    let server = Server::start(bytes, Mode::drop_after(100_000, 2));
    let output = TestCommand::against(&server)
        .args(["cat", "--retries", "2"])
        .arg(server.url("/a.zip"))
        .arg("big.bin")
        .success();
    assert_bytes_eq(&output.stdout, &big);
}

#[test]
fn a_zip_bomb_is_streamed() {
    let zeros = vec![0u8; 64 * 1024 * 1024];
    let bytes = zips::archive(&[Item::deflated("zeros.bin", &zeros)]);
    assert!(bytes.len() < 200_000, "compresses to {} bytes", bytes.len());
    let server = Server::start(bytes, Mode::Ranges);
    let got = cat(&server, &["zeros.bin"]);
    assert_eq!(got.len(), zeros.len());
    assert!(got.iter().all(|&b| b == 0));
}

#[test]
fn a_server_ignoring_range_still_serves_members() {
    let (bytes, a, b) = sample();
    let server = Server::start(bytes, Mode::IgnoresRange);
    assert_bytes_eq(&cat(&server, &["dir/a.bin", "dir/b.txt"]), &[a, b].concat());
    server.assert_requests(1, "spooled once");
}

#[test]
fn a_local_archive_works_the_same() {
    let (bytes, a, _) = sample();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.zip");
    std::fs::write(&path, &bytes).unwrap();
    let output = util::rangecat()
        .args(["cat", path.to_str().unwrap(), "dir/a.bin"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_bytes_eq(&output.stdout, &a);
}
