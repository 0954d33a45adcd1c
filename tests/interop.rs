//! Byte-exact ranges against a real nginx: what rangecat writes is compared with slices of
//! the file nginx serves, and nginx's access log shows the requests it took.
//!
//! Skipped (with a message) when nginx is not installed, except under `CI=true`, where
//! `Nginx::start` fails the test instead.

use std::fs;
use std::ops::Range;

use crate::util::command::TestCommand;
use crate::util::{self, nginx::Nginx, nginx::Request};

/// The served file's length: more than 3 MiB, so that `3MiB:` is a short tail and `5MiB:`
/// is past the end, and a multiple of nothing in particular.
const LEN: usize = 3 * 1024 * 1024 + 12_345;

/// The served file's name under the root.
const NAME: &str = "blob.bin";

/// nginx serving a file of `LEN` pseudo-random bytes.
struct Site {
    nginx: Nginx,
    data: Vec<u8>,
    _root: tempfile::TempDir,
}

/// A running site, or `None` after printing why the test is skipped.
fn site() -> Option<Site> {
    let root = tempfile::tempdir().expect("temp dir");
    let data = util::random_bytes(LEN);
    fs::write(root.path().join(NAME), &data).expect("write the served file");
    let Some(nginx) = Nginx::start(root.path()) else {
        eprintln!("skipping: nginx not found");
        return None;
    };
    Some(Site {
        nginx,
        data,
        _root: root,
    })
}

impl Site {
    /// Runs `rangecat URL ARGS...` for `path`, expects exit 0 and returns stdout.
    fn fetch_path(&self, path: &str, args: &[&str]) -> Vec<u8> {
        TestCommand::against(&self.nginx)
            .arg(self.nginx.url(path))
            .args(args)
            .stdout()
    }

    /// Runs `rangecat URL ARGS...` for the served file, expects exit 0 and returns stdout.
    fn fetch(&self, args: &[&str]) -> Vec<u8> {
        self.fetch_path(NAME, args)
    }

    /// The concatenation of the given slices of the served file.
    fn slices(&self, ranges: &[Range<usize>]) -> Vec<u8> {
        ranges
            .iter()
            .flat_map(|r| &self.data[r.clone()])
            .copied()
            .collect()
    }

    /// The requests nginx has logged, after checking that there are `count` of them and
    /// what every request must satisfy.
    #[track_caller]
    fn requests(&self, count: usize) -> Vec<Request> {
        let requests = self.logged();
        assert_eq!(requests.len(), count, "{requests:#?}");
        requests
    }

    /// The requests nginx has logged, each checked as every request must be.
    fn logged(&self) -> Vec<Request> {
        let requests = self.nginx.requests();
        for request in &requests {
            assert_well_formed(request);
        }
        requests
    }

    /// The `Range` headers of the GETs logged so far, in order.
    fn get_ranges(&self) -> Vec<String> {
        self.logged()
            .iter()
            .filter(|r| r.method == "GET")
            .map(|r| r.range.clone().unwrap_or_else(|| "(none)".into()))
            .collect()
    }
}

/// Every request asks for identity bytes; every Range is a single, non-inverted span
/// (rangecat sends multi-range requests only with `--multipart`).
#[track_caller]
fn assert_well_formed(request: &Request) {
    if let Some(encoding) = &request.accept_encoding {
        assert!(
            !encoding.contains("gzip") && !encoding.contains("br"),
            "asked for a compressed body: {request:?}"
        );
    }
    if let Some(range) = &request.range {
        let spec = range
            .strip_prefix("bytes=")
            .unwrap_or_else(|| panic!("not a byte range: {request:?}"));
        assert!(!spec.contains(','), "multi-range request: {request:?}");
        let (first, last) = spec
            .split_once('-')
            .unwrap_or_else(|| panic!("malformed range: {request:?}"));
        match (first.parse::<u64>(), last.parse::<u64>()) {
            (Ok(first), Ok(last)) => assert!(first <= last, "inverted range: {request:?}"),
            (Ok(_), Err(_)) => assert!(last.is_empty(), "malformed range: {request:?}"),
            (Err(_), Ok(n)) => assert!(first.is_empty() && n > 0, "bad suffix: {request:?}"),
            (Err(_), Err(_)) => panic!("malformed range: {request:?}"),
        }
    }
}

/// Single RANGEs of every form select exactly the bytes of the same Python slice.
#[test]
fn single_ranges_are_byte_exact() {
    let Some(site) = site() else { return };
    const MIB: usize = 1024 * 1024;
    let cases: &[(&str, Range<usize>)] = &[
        ("0:100", 0..100),
        ("-100:", LEN - 100..LEN),
        (":-100", 0..LEN - 100),
        ("1000+5000", 1000..6000),
        (":", 0..LEN),
        ("-0x10:", LEN - 16..LEN),
        ("-1KiB:", LEN - 1024..LEN),
        ("-1KiB+100", LEN - 1024..LEN - 924),
        ("-100:-50", LEN - 100..LEN - 50),
        (":0x10", 0..16),
        ("1M:1000005", 1_000_000..1_000_005),
        ("3MiB:", 3 * MIB..LEN),
        ("-5MiB:100", 0..100),
        ("100:10MiB", 100..LEN),
        ("5MiB:", 0..0),
        ("2KiB:1KiB", 0..0),
    ];
    for (expr, want) in cases {
        let got = site.fetch(&[expr]);
        assert!(
            got == site.data[want.clone()],
            "rangecat URL {expr}: got {} bytes, want data[{want:?}] ({} bytes){}",
            got.len(),
            want.len(),
            match got
                .iter()
                .zip(&site.data[want.clone()])
                .position(|(a, b)| a != b)
            {
                Some(i) => format!(", first difference at output byte {i}"),
                None => String::new(),
            }
        );
    }
}

#[test]
fn no_range_is_the_whole_file_in_one_request() {
    let Some(site) = site() else { return };
    util::assert_bytes_eq(&site.fetch(&[]), &site.data);
    util::assert_bytes_eq(&site.fetch(&[":"]), &site.data);
    let requests = site.requests(2);
    assert!(
        requests
            .iter()
            .all(|r| r.method == "GET" && r.status == 206),
        "{requests:#?}"
    );
}

#[test]
fn prefix_range_is_one_get() {
    let Some(site) = site() else { return };
    util::assert_bytes_eq(&site.fetch(&["0:100"]), &site.data[..100]);
    assert_eq!(site.get_ranges(), ["bytes=0-99"]);
    site.requests(1);
}

#[test]
fn suffix_range_is_one_get_without_head() {
    let Some(site) = site() else { return };
    util::assert_bytes_eq(&site.fetch(&["-100:"]), &site.data[LEN - 100..]);
    let requests = site.requests(1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].range.as_deref(), Some("bytes=-100"));
    assert_eq!(requests[0].status, 206);
}

#[test]
fn all_but_the_last_bytes_probes_the_length_first() {
    let Some(site) = site() else { return };
    util::assert_bytes_eq(&site.fetch(&[":-100"]), &site.data[..LEN - 100]);
    let requests = site.requests(2);
    let methods: Vec<&str> = requests.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["HEAD", "GET"], "{requests:#?}");
    assert_eq!(
        requests[1].range.as_deref(),
        Some(format!("bytes=0-{}", LEN - 101).as_str())
    );
}

#[test]
fn count_range_is_one_get() {
    let Some(site) = site() else { return };
    util::assert_bytes_eq(&site.fetch(&["1000+5000"]), &site.data[1000..6000]);
    assert_eq!(site.get_ranges(), ["bytes=1000-5999"]);
    site.requests(1);
}

/// Out-of-order and repeated ranges: each byte is downloaded once and written as often as
/// asked; the second request carries an If-Range that nginx accepts (206, not 200).
#[test]
fn repeated_out_of_order_ranges_download_each_byte_once() {
    let Some(site) = site() else { return };
    let got = site.fetch(&["100:200", "0:50", "100:200"]);
    util::assert_bytes_eq(&got, &site.slices(&[100..200, 0..50, 100..200]));
    let requests = site.requests(2);
    assert_eq!(site.get_ranges(), ["bytes=100-199", "bytes=0-49"]);
    assert!(requests[1].if_range.is_some(), "{requests:#?}");
    assert!(requests.iter().all(|r| r.status == 206), "{requests:#?}");
}

#[test]
fn overlapping_and_touching_ranges_share_a_request() {
    let Some(site) = site() else { return };
    let got = site.fetch(&["0:100", "50:150", "150:200"]);
    util::assert_bytes_eq(&got, &site.slices(&[0..100, 50..150, 150..200]));
    assert_eq!(site.get_ranges(), ["bytes=0-199"]);
    site.requests(1);
}

#[test]
fn gap_merges_ranges_closer_than_it() {
    let Some(site) = site() else { return };
    let args = ["--gap", "1Ki", "0:100", "600:700", "5000:5100"];
    let got = site.fetch(&args);
    util::assert_bytes_eq(&got, &site.slices(&[0..100, 600..700, 5000..5100]));
    assert_eq!(site.get_ranges(), ["bytes=0-699", "bytes=5000-5099"]);
    let requests = site.requests(2);
    assert!(requests.iter().all(|r| r.status == 206), "{requests:#?}");
}

#[test]
fn without_gap_separate_ranges_are_separate_requests() {
    let Some(site) = site() else { return };
    let got = site.fetch(&["0:100", "600:700", "5000:5100"]);
    util::assert_bytes_eq(&got, &site.slices(&[0..100, 600..700, 5000..5100]));
    assert_eq!(
        site.get_ranges(),
        ["bytes=0-99", "bytes=600-699", "bytes=5000-5099"]
    );
    site.requests(3);
}

#[test]
fn no_coalesce_sends_one_request_per_range() {
    let Some(site) = site() else { return };
    let got = site.fetch(&["--no-coalesce", "0:100", "50:150", "0:100"]);
    util::assert_bytes_eq(&got, &site.slices(&[0..100, 50..150, 0..100]));
    assert_eq!(
        site.get_ranges(),
        ["bytes=0-99", "bytes=50-149", "bytes=0-99"]
    );
    let requests = site.requests(3);
    assert!(requests.iter().all(|r| r.status == 206), "{requests:#?}");
}

/// nginx answers a range that starts past the end with 416; as with a Python slice, that is
/// no bytes and success.
#[test]
fn range_past_the_end_is_empty() {
    let Some(site) = site() else { return };
    assert!(site.fetch(&["5MiB:"]).is_empty());
    // One request, answered 416: its Content-Range gives the length, and nothing is left.
    let requests = site.requests(1);
    assert_eq!(requests[0].range.as_deref(), Some("bytes=5242880-"));
    assert_eq!(requests[0].status, 416, "{requests:#?}");
}

#[test]
fn strict_range_past_the_end_fails_naming_the_length() {
    let Some(site) = site() else { return };
    let output = util::rangecat()
        .args(["--strict", &site.nginx.url(NAME), "5MiB:"])
        .output()
        .expect("run rangecat");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        output.stdout.is_empty(),
        "wrote {} bytes",
        output.stdout.len()
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("rangecat: "), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&LEN.to_string()),
        "length not named: {stderr}"
    );
}

/// An inverted range selects nothing and is never sent.
#[test]
fn inverted_range_is_empty() {
    let Some(site) = site() else { return };
    assert!(site.fetch(&["2KiB:1KiB"]).is_empty());
    let got = site.fetch(&["0:10", "2KiB:1KiB", "-10:"]);
    util::assert_bytes_eq(&got, &site.slices(&[0..10, LEN - 10..LEN]));
    // The first run has no byte request to send, so it probes (a HEAD); the second sends
    // only the two ranges that select something, no inverted one (its first answer taught
    // the length, so `-10:` goes out as an explicit range).
    let tail = format!("bytes={}-{}", LEN - 10, LEN - 1);
    assert_eq!(site.get_ranges(), ["bytes=0-9", tail.as_str()]);
    let requests = site.requests(3);
    assert_eq!(requests[0].method, "HEAD", "{requests:#?}");
}

/// A server that ignores Range (200 with the whole file) still yields the exact bytes.
#[test]
fn server_ignoring_ranges_yields_the_same_bytes() {
    let Some(site) = site() else { return };
    let path = format!("no-ranges/{NAME}");
    for (args, want) in [
        (&["1000+5000"][..], site.data[1000..6000].to_vec()),
        (&["-100:"][..], site.data[LEN - 100..].to_vec()),
        (
            &["100:200", "0:50", "100:200"][..],
            site.slices(&[100..200, 0..50, 100..200]),
        ),
        (&[][..], site.data.clone()),
    ] {
        let got = site.fetch_path(&path, args);
        assert!(
            got == want,
            "{args:?}: got {} bytes, want {}",
            got.len(),
            want.len()
        );
    }
    // One request a run, each answered 200 with everything (README: one forward pass), but
    // for the suffix range: its 200 is dropped after its head and the explicit range asked
    // for (a server may refuse only the suffix form). A run that stops reading early is
    // logged once nginx notices: wait for all five.
    site.nginx.wait_for_requests(5);
    let requests = site.requests(5);
    assert!(requests.iter().all(|r| r.status == 200), "{requests:#?}");
    let suffixes = requests
        .iter()
        .filter(|r| r.range.as_deref() == Some("bytes=-100"))
        .count();
    assert_eq!(suffixes, 1, "{requests:#?}");
}

/// With gzip on, nginx compresses for clients that ask for it; rangecat asks for identity
/// and so gets the file's bytes.
#[test]
fn gzip_enabled_server_yields_the_raw_bytes() {
    let Some(site) = site() else { return };
    let path = format!("gzip/{NAME}");
    util::assert_bytes_eq(&site.fetch_path(&path, &["0:100"]), &site.data[..100]);
    util::assert_bytes_eq(&site.fetch_path(&path, &["-100:"]), &site.data[LEN - 100..]);
    let requests = site.requests(2);
    assert!(requests.iter().all(|r| r.status == 206), "{requests:#?}");
}
