//! The metadata cache (README, "Cache"): request counts across invocations, and a cache that
//! is never trusted blind, never in the way, never torn.

use std::fs;
use std::path::Path;

use crate::util::assert_bytes_eq;
use crate::util::command::TestCommand;
use crate::util::server::{ETAG_V1, ETAG_V2, Mode, Server};
use crate::util::zips::{self, Item};

fn archive() -> Vec<u8> {
    zips::archive(&[
        Item::deflated("a.txt", b"member a"),
        Item::stored("b.bin", &zips::noise(20_000, 1)),
    ])
}

/// `rangecat ARGS...` with the cache in `dir`, expecting success; its stdout.
fn run(server: &Server, dir: &Path, args: &[&str]) -> Vec<u8> {
    TestCommand::against(server)
        .env("RANGECAT_CACHE_DIR", dir)
        .args(args)
        .stdout()
}

/// The requests from `from` on, as `range if-none-match if-match if-range` lines.
fn since(server: &Server, from: usize) -> Vec<String> {
    server.requests()[from..]
        .iter()
        .map(|r| {
            let h = |name| r.header(name).unwrap_or("-").to_owned();
            format!(
                "{} {} {} {}",
                h("range"),
                h("if-none-match"),
                h("if-match"),
                h("if-range")
            )
        })
        .collect()
}

/// A cache directory, a server in `mode` serving `archive()`, its URL, and one `ls` of it.
fn listed_once(mode: Mode) -> (tempfile::TempDir, Server, String) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(archive(), mode);
    let url = server.url("/a.zip");
    assert_eq!(run(&server, dir.path(), &["ls", &url]), b"a.txt\nb.bin\n");
    (dir, server, url)
}

/// The `if-none-match if-match if-range` part of a line of [`since`].
fn preconditions(line: &str) -> &str {
    line.split_once(' ').map_or(line, |(_, rest)| rest)
}

#[test]
fn a_second_ls_is_one_304_and_a_cat_after_ls_one_member_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(archive(), Mode::Ranges);
    let url = server.url("/a.zip");
    let first = run(&server, dir.path(), &["ls", &url]);
    assert_eq!(first, b"a.txt\nb.bin\n");
    assert_eq!(since(&server, 0), ["bytes=-66560 - - -"]);
    let second = run(&server, dir.path(), &["ls", &url]);
    assert_eq!(second, first);
    assert_eq!(since(&server, 1), [format!("bytes=-66560 {ETAG_V1} - -")]);
    let got = run(&server, dir.path(), &["cat", &url, "a.txt"]);
    assert_bytes_eq(&got, b"member a");
    let requests = since(&server, 2);
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(preconditions(&requests[0]), format!("- {ETAG_V1} -"));
    // --no-cache: neither asks nor relies.
    run(&server, dir.path(), &["--no-cache", "ls", &url]);
    assert_eq!(since(&server, 3), ["bytes=-66560 - - -"]);
}

#[test]
fn a_resource_replaced_since_it_was_cached_is_read_afresh() {
    // The server's validators change after the first answer: the cat that relies on the
    // kept copy gets 412 (or, from a server that ignores If-Match, the new version's ETag),
    // drops it, and starts over with a fresh tail.
    for mode in [Mode::ChangesAfterFirst, Mode::ChangesIgnoringIfMatch] {
        let name = format!("{mode:?}");
        let (dir, server, url) = listed_once(mode);
        let got = run(&server, dir.path(), &["cat", &url, "a.txt"]);
        assert_bytes_eq(&got, b"member a");
        let requests = since(&server, 1);
        let preconditions: Vec<&str> = requests.iter().map(|r| preconditions(r)).collect();
        // The member lies in the fresh tail: read from it, with no request of its own.
        let want = [format!("- {ETAG_V1} -"), "- - -".into()];
        assert_eq!(preconditions, want, "{name}: {requests:?}");
        assert_eq!(requests[1], "bytes=-66560 - - -");
        // The fresh copy replaced the stale one: the next ls revalidates the new version.
        run(&server, dir.path(), &["ls", &url]);
        assert_eq!(since(&server, 3), [format!("bytes=-66560 {ETAG_V2} - -")]);
    }
}

#[test]
fn a_damaged_entry_or_an_unusable_directory_is_no_error() {
    let (dir, server, url) = listed_once(Mode::Ranges);
    for entry in fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, bytes).unwrap();
    }
    assert_eq!(run(&server, dir.path(), &["ls", &url]), b"a.txt\nb.bin\n");
    assert_eq!(
        since(&server, 1),
        ["bytes=-66560 - - -"],
        "damaged: read afresh"
    );
    run(&server, dir.path(), &["ls", &url]);
    assert_eq!(
        since(&server, 2),
        [format!("bytes=-66560 {ETAG_V1} - -")],
        "and replaced"
    );

    // A cache directory that cannot exist (under a regular file): uncached, silently.
    let file = dir.path().join("a-file");
    fs::write(&file, b"").unwrap();
    let output = TestCommand::against(&server)
        .env("RANGECAT_CACHE_DIR", file.join("cache"))
        .args(["ls", &url])
        .success();
    assert_eq!(output.stdout, b"a.txt\nb.bin\n");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn two_invocations_filling_the_cache_at_once_leave_a_sound_entry() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(zips::many_files(3000), Mode::Ranges);
    let url = server.url("/many.zip");
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                crate::util::rangecat()
                    .env("RANGECAT_CACHE_DIR", dir.path())
                    .args(["ls", &url])
                    .assert()
                    .success();
            });
        }
    });
    let before = server.requests().len();
    let listed = run(&server, dir.path(), &["ls", &url]);
    assert_eq!(String::from_utf8_lossy(&listed).lines().count(), 3000);
    assert_eq!(since(&server, before).len(), 1, "one 304");
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_range_that_needs_the_length_takes_the_kept_one_instead_of_a_probe() {
    let data = archive();
    let len = data.len();
    let (dir, server, url) = listed_once(Mode::Ranges);
    let got = run(&server, dir.path(), &[&url, ":-100"]);
    assert_bytes_eq(&got, &data[..len - 100]);
    let want = format!("bytes=0-{} - {ETAG_V1} -", len - 101);
    assert_eq!(since(&server, 1), [want], "no probe, If-Match");
    // Without the cache: a probe first.
    run(&server, dir.path(), &["--no-cache", &url, ":-100"]);
    assert_eq!(since(&server, 2).len(), 2);

    // Changed since: 412, the entry dropped, and the fetch starts over with a probe.
    let (dir, server, url) = listed_once(Mode::ChangesAfterFirst);
    let got = run(&server, dir.path(), &[&url, ":-100"]);
    assert_bytes_eq(&got, &data[..len - 100]);
    let requests = since(&server, 1);
    assert_eq!(requests.len(), 3, "412, probe, range: {requests:?}");
    assert_eq!(preconditions(&requests[0]), format!("- {ETAG_V1} -"));
}

#[test]
fn a_server_with_only_a_weak_etag_is_never_cached() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(archive(), Mode::WeakOnly);
    let url = server.url("/a.zip");
    for _ in 0..2 {
        assert_eq!(run(&server, dir.path(), &["ls", &url]), b"a.txt\nb.bin\n");
    }
    assert_eq!(
        since(&server, 0),
        ["bytes=-66560 - - -", "bytes=-66560 - - -"]
    );
    assert_eq!(
        fs::read_dir(dir.path()).map_or(0, |d| d.count()),
        0,
        "nothing kept"
    );
}

#[test]
fn what_a_server_taught_a_fetch_is_not_paid_for_again() {
    // README "Cache": a refused multi-range request, a part limit, a refused HEAD are kept
    // with the server's strong validator; the next run sends none of those requests again.
    let data = crate::util::random_bytes(1024 * 1024);
    let ranges: Vec<String> = (0..40)
        .map(|i| format!("{}:{}", i * 20_000, i * 20_000 + 100))
        .collect();
    let want: Vec<u8> = (0..40)
        .flat_map(|i| data[i * 20_000..i * 20_000 + 100].to_vec())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(data.clone(), Mode::RefusesMultiRange(416));
    let url = server.url("/f");
    let mut args = vec![url.as_str(), "--multipart"];
    args.extend(ranges.iter().map(String::as_str));
    assert_bytes_eq(&run(&server, dir.path(), &args), &want);
    assert_eq!(
        server.requests().len(),
        41,
        "one refused batch, then one per range"
    );
    assert_bytes_eq(&run(&server, dir.path(), &args), &want);
    assert_eq!(
        server.requests().len(),
        41 + 40,
        "no refused batch the second time"
    );
    let mut uncached = vec!["--no-cache"];
    uncached.extend(&args);
    assert_bytes_eq(&run(&server, dir.path(), &uncached), &want);
    assert_eq!(
        server.requests().len(),
        81 + 41,
        "--no-cache: learned afresh"
    );

    // HEAD refused: the probe for `:-100` is HEAD, then GET bytes=0-0; next time only the GET.
    let server = Server::start(data.clone(), Mode::RefusesHead);
    let url = server.url("/f");
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let got = run(&server, dir.path(), &[&url, ":-100"]);
        assert_bytes_eq(&got, &data[..data.len() - 100]);
    }
    let methods: Vec<String> = server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.range().unwrap_or("-")))
        .collect();
    let body = format!("GET bytes=0-{}", data.len() - 101);
    assert_eq!(
        methods,
        ["HEAD -", "GET bytes=0-0", &body, "GET bytes=0-0", &body],
        "the second run sends no HEAD"
    );
}

#[test]
fn x_with_a_kept_copy_sends_no_tail_request_and_fetches_the_members_it_holds() {
    // README "Cache": x relies on the kept copy without a tail request. The members lie in
    // the kept bytes, but those are not read blind: the one stretch is asked for, with
    // If-Match, so the server confirms the version in the same round trip.
    let (dir, server, url) = listed_once(Mode::Ranges);
    let out = tempfile::tempdir().unwrap();
    let target = out.path().to_str().unwrap();
    run(&server, dir.path(), &["x", &url, "-C", target]);
    assert_eq!(fs::read(out.path().join("a.txt")).unwrap(), b"member a");
    let requests = since(&server, 1);
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(requests[0].starts_with("bytes=0-"), "{requests:?}");
    assert_eq!(preconditions(&requests[0]), format!("- {ETAG_V1} -"));
}
