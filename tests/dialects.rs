//! The real-server matrix (issue 18): on each of nginx, Apache httpd, lighttpd, busybox httpd,
//! uvicorn + Starlette and gunicorn + Werkzeug, rangecat's bytes are compared with slices of
//! the file served, and the server's own log gives the requests it took.
//!
//! Each server speaks its own dialect of ranges (what each one answers, seen with curl, is
//! tabled in README "Development"): Apache answers more than 200 ranges (or more
//! than 20 overlapping ones) with the whole file; lighttpd answers at most 10 parts, the
//! first ten; Starlette takes at most 100 ranges, sorts and merges them, and ends its body
//! right after the closing delimiter; Werkzeug refuses every multi-range request with a 416;
//! busybox answers `bytes=0-0` with the whole file in a 206, and several ranges or a suffix
//! range with a 200.
//!
//! A test is skipped (with a message) when its server is not installed, except under
//! `CI=true`, where the server's start fails the test instead.

use std::ops::Range;

use crate::util::command::TestCommand;
use crate::util::fixtures::write_settled;
use crate::util::nginx::Nginx;
use crate::util::real_server::{Kind, RealServer, Request};
use crate::util::{self, assert_bytes_eq_in};

/// The served file's length: 3 MiB and a bit, so that 300 scattered 4 KiB ranges are
/// scattered, and a multiple of nothing in particular.
const LEN: usize = 3 * 1024 * 1024 + 12_345;

/// The served file's name under the root.
pub(crate) const NAME: &str = "blob.bin";

/// The servers of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Server {
    Nginx,
    Real(Kind),
}

/// A running server of either helper.
enum Running {
    Nginx(Nginx),
    Real(RealServer),
}

/// A server serving a file of `LEN` pseudo-random bytes as `NAME`.
pub(crate) struct Site {
    server: Running,
    pub(crate) data: Vec<u8>,
    _root: tempfile::TempDir,
}

/// A running site, or `None` when the server is not installed (outside CI).
pub(crate) fn site(server: Server) -> Option<Site> {
    let root = tempfile::tempdir().expect("temp dir");
    let data = util::random_bytes(LEN);
    let path = root.path().join(NAME);
    // Its ETag strong and the same in every answer (Apache's, too).
    write_settled(&path, &data);
    let server = match server {
        Server::Nginx => match Nginx::start(root.path()) {
            Some(nginx) => Running::Nginx(nginx),
            None => {
                eprintln!("skipping: nginx not found");
                return None;
            }
        },
        Server::Real(kind) => Running::Real(RealServer::start(kind, root.path())?),
    };
    Some(Site {
        server,
        data,
        _root: root,
    })
}

impl Server {
    /// Whether the server's log names each request's method and Range (busybox's does not).
    fn logs_methods(self) -> bool {
        match self {
            Server::Nginx => true,
            Server::Real(kind) => kind.logs_ranges(),
        }
    }
}

impl Site {
    fn url(&self) -> String {
        match &self.server {
            Running::Nginx(nginx) => nginx.url(NAME),
            Running::Real(server) => server.url(NAME),
        }
    }

    /// `http://127.0.0.1:PORT/`: the server's root.
    pub(crate) fn base(&self) -> String {
        match &self.server {
            Running::Nginx(nginx) => nginx.url(""),
            Running::Real(server) => server.url(""),
        }
    }

    /// The address the server listens on.
    pub(crate) fn addr(&self) -> std::net::SocketAddr {
        let port = match &self.server {
            Running::Nginx(nginx) => nginx.port(),
            Running::Real(server) => server.port(),
        };
        std::net::SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// `rangecat ARGS...`, whose failures show the server's log.
    fn command(&self) -> TestCommand<'_> {
        match &self.server {
            Running::Nginx(nginx) => TestCommand::against(nginx),
            Running::Real(server) => TestCommand::against(server),
        }
    }

    /// The requests for the served file the server logged so far, oldest first.
    fn requests(&self) -> Vec<Request> {
        let all = match &self.server {
            Running::Nginx(nginx) => nginx
                .requests()
                .into_iter()
                .map(|r| Request {
                    method: Some(r.method),
                    path: r.path,
                    range: r.range,
                    status: Some(r.status),
                })
                .collect(),
            Running::Real(server) => server.requests(),
        };
        all.into_iter()
            .filter(|r| r.path == format!("/{NAME}"))
            .collect()
    }

    /// The concatenation of the given slices of the served file.
    fn slices(&self, ranges: &[Range<usize>]) -> Vec<u8> {
        ranges
            .iter()
            .flat_map(|r| &self.data[r.clone()])
            .copied()
            .collect()
    }
}

/// One RANGE argument and the slice of a `LEN`-byte file it selects.
#[derive(Debug, Clone)]
struct Spec {
    arg: String,
    want: Range<usize>,
}

/// A RANGE with the slice it selects, computed as README "RANGE" says: bounds relative to
/// the end when negative, then clipped as Python clips a slice.
fn spec(arg: String, start: i64, end: i64) -> Spec {
    let len = LEN as i64;
    let clip = |x: i64| x.clamp(0, len) as usize;
    let (start, end) = (clip(start), clip(end));
    Spec {
        arg,
        want: start..end.max(start),
    }
}

/// A small seeded generator (xorshift64*), so the lists are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

/// One RANGE of a random form: absolute (`A:B`, `A+N`, `A:`, sometimes running past the
/// end), end-relative (`-N:`, `:-N`, `-A:-B`, `-A+N`) or from the start (`:B`).
fn random_spec(rng: &mut Rng) -> Spec {
    let len = LEN as i64;
    let n = 1 + rng.below(200_000);
    match rng.below(8) {
        0 => {
            let a = rng.below(LEN as u64);
            spec(format!("{a}:{}", a + n), a, a + n)
        }
        1 => {
            let a = rng.below(LEN as u64);
            spec(format!("{a}+{n}"), a, a + n)
        }
        2 => {
            let a = len - n;
            spec(format!("{a}:"), a, len)
        }
        3 => spec(format!("-{n}:"), len - n, len),
        4 => {
            // All but the last few bytes: nearly the whole file.
            let n = 1 + rng.below(5);
            spec(format!(":-{n}"), 0, len - n)
        }
        5 => {
            let b = 1 + rng.below(100_000);
            spec(format!("-{}:-{b}", b + n), len - b - n, len - b)
        }
        6 => {
            let a = 1 + rng.below(300_000);
            spec(format!("-{a}+{n}"), len - a, len - a + n)
        }
        _ => spec(format!(":{n}"), 0, n),
    }
}

/// The RANGE lists every server is asked: seeded random ones (with a range repeated or
/// overlapping now and then, in no particular order), and a few fixed shapes that servers
/// treat specially.
fn range_lists() -> Vec<Vec<Spec>> {
    let abs = |a: i64, b: i64| spec(format!("{a}:{b}"), a, b);
    let mut lists = vec![
        // Absolute and out of order (issue 18: 2 requests with --multipart today).
        vec![abs(0, 10), abs(1000, 2000), abs(500, 600)],
        // Overlapping: Apache, lighttpd and Starlette merge these into one part.
        vec![abs(0, 100), abs(50, 150), abs(100, 200), abs(100, 200)],
        // Three ranges a few bytes apart: lighttpd answers one part covering all three.
        vec![abs(0, 10), abs(5, 21), abs(100, 110)],
        // 25 ascending ranges: more than lighttpd's 10 parts.
        (0..25)
            .map(|i| abs(i * 20_000 + 7, i * 20_000 + 1007))
            .collect(),
        // The same in descending order.
        (0..25)
            .rev()
            .map(|i| abs(i * 20_000, i * 20_000 + 1000))
            .collect(),
        // 25 ranges each overlapping the next: more than Apache's MaxRangeOverlaps (20).
        (0..25).map(|i| abs(i * 10, i * 10 + 100)).collect(),
        // The first byte, and the last.
        vec![abs(0, 1), spec("-1:".into(), LEN as i64 - 1, LEN as i64)],
    ];
    let mut rng = Rng(0x1851_8EED);
    for _ in 0..6 {
        let count = 2 + rng.below(6) as usize;
        let mut list: Vec<Spec> = (0..count).map(|_| random_spec(&mut rng)).collect();
        // Now and then a range again, or one overlapping another.
        if rng.below(2) == 0 {
            let again = list[rng.below(list.len() as u64) as usize].clone();
            list.push(again);
        }
        if rng.below(2) == 0 {
            let a = rng.below(LEN as u64 - 10_000);
            list.push(abs(a, a + 5000));
            list.push(abs(a + 2500, a + 7500));
        }
        lists.push(list);
    }
    lists
}

/// Every list of [`range_lists`] with `options`: rangecat exits 0 and writes exactly the
/// slices asked, in the order asked. All failures are reported together.
fn range_lists_are_byte_exact(server: Server, options: &[&str]) {
    let Some(site) = site(server) else { return };
    let url = site.url();
    let mut failures = Vec::new();
    for list in range_lists() {
        let args: Vec<&str> = list.iter().map(|s| s.arg.as_str()).collect();
        let want = site.slices(&list.iter().map(|s| s.want.clone()).collect::<Vec<_>>());
        let words: Vec<&str> = options
            .iter()
            .copied()
            .chain(["URL"])
            .chain(args.iter().copied())
            .collect();
        let case = format!("{server:?}: rangecat {}", words.join(" "));
        let output = site
            .command()
            .case(case.clone())
            .args(options)
            .arg(&url)
            .args(&args)
            .output();
        if !output.status.success() {
            failures.push(format!(
                "{case}: {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        } else if output.stdout != want {
            let got = &output.stdout;
            let first_diff = got.iter().zip(&want).position(|(a, b)| a != b);
            failures.push(format!(
                "{case}: wrong bytes: got {} bytes, want {}, first difference at {first_diff:?}",
                got.len(),
                want.len()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} RANGE lists failed on {server:?}:\n{}",
        failures.len(),
        range_lists().len(),
        failures.join("\n")
    );
}

/// What 300 scattered 4 KiB ranges with `--multipart` may cost on each server (issue 18).
#[derive(Debug)]
enum Budget {
    /// At most this many requests.
    AtMost(usize),
    /// The multi-range form refused (Werkzeug's 416) or ignored (busybox's 200): one
    /// request per range, after at most two multi-range requests (the batch of 200, and
    /// possibly one smaller batch before rangecat concludes that the server does not do
    /// multi-range).
    OnePerRange,
}

/// The budget of each server for 300 ranges (issue 18, point 1).
fn budget(server: Server) -> Budget {
    match server {
        // nginx takes them all (2 batches under the header size limit); Apache takes 200.
        Server::Nginx | Server::Real(Kind::Apache) => Budget::AtMost(4),
        // 10 parts an answer: 30 requests, and a couple for the lesson.
        Server::Real(Kind::Lighttpd) => Budget::AtMost(32),
        // Starlette takes at most 100 ranges, and answers more with the whole file: the batch
        // of 200 is refused, then the same ranges go 100 at a time (README): 1 + 3.
        Server::Real(Kind::Starlette) => Budget::AtMost(4),
        Server::Real(Kind::Werkzeug | Kind::Busybox) => Budget::OnePerRange,
    }
}

/// 300 scattered 4 KiB ranges, ascending, as `A+4096` RANGEs.
fn scattered_ranges() -> Vec<Range<usize>> {
    let mut rng = Rng(0x300_4096);
    let stride = LEN / 300;
    (0..300)
        .map(|i| {
            let start = i * stride + rng.below((stride - 4096) as u64) as usize;
            start..start + 4096
        })
        .collect()
}

/// 300 scattered 4 KiB ranges with `--multipart`: the right bytes, within the server's
/// request budget.
fn many_ranges_within_budget(server: Server) {
    let Some(site) = site(server) else { return };
    let ranges = scattered_ranges();
    let args: Vec<String> = ranges.iter().map(|r| format!("{}+4096", r.start)).collect();
    let got = site
        .command()
        .case(format!("{server:?}: 300 ranges with --multipart"))
        .arg("--multipart")
        .arg(site.url())
        .args(&args)
        .stdout();
    assert_bytes_eq_in("300 ranges with --multipart", &got, &site.slices(&ranges));
    let requests = site.requests();
    let shown = || show(&requests);
    match budget(server) {
        Budget::AtMost(limit) => assert!(
            requests.len() <= limit,
            "{server:?}: 300 ranges with --multipart took {} requests, want at most {limit}:\n{}",
            requests.len(),
            shown()
        ),
        Budget::OnePerRange => {
            assert!(
                (300..=303).contains(&requests.len()),
                "{server:?}: 300 ranges with --multipart took {} requests, want one per range \
                 after at most three multi-range requests (300..=303; README: 200, 100, then \
                 16 ranges before the form is given up):\n{}",
                requests.len(),
                shown()
            );
            if server != Server::Real(Kind::Busybox) {
                let multi = requests
                    .iter()
                    .filter(|r| r.range.as_ref().is_some_and(|range| range.contains(',')))
                    .count();
                assert!(
                    multi <= 2 && requests.len() - multi == 300,
                    "{server:?}: want 300 single-range requests after at most 2 refused \
                     batches, got {multi} multi-range requests of {}:\n{}",
                    requests.len(),
                    shown()
                );
            }
        }
    }
}

/// The requests, one a line, long Range headers cut, at most 12 of them: for failures.
fn show(requests: &[Request]) -> String {
    let mut lines: Vec<String> = requests
        .iter()
        .take(12)
        .map(|r| {
            let range = r.range.as_deref().unwrap_or("-");
            let cut = match range.char_indices().nth(72) {
                Some((at, _)) => {
                    format!("{}... ({} ranges)", &range[..at], range.split(',').count())
                }
                None => range.to_string(),
            };
            // busybox logs neither method nor Range nor status: its path then.
            let method = r.method.as_deref().unwrap_or(&r.path);
            let status = r.status.map_or("?".into(), |s| s.to_string());
            format!("{method} {cut} {status}")
        })
        .collect();
    if requests.len() > 12 {
        lines.push(format!("... and {} more", requests.len() - 12));
    }
    lines.join("\n")
}

/// What three absolute RANGEs out of order (`0:10 1000:2000 500:600`) with `--multipart`
/// may cost: one request where the server does multi-range (issue 18, point 4), else one
/// per range after at most two refused or ignored multi-range requests.
fn out_of_order_budget(server: Server) -> usize {
    match server {
        Server::Real(Kind::Werkzeug | Kind::Busybox) => 5,
        _ => 1,
    }
}

/// `--multipart 0:10 1000:2000 500:600`: the right bytes, in the order asked, within the
/// server's budget.
fn out_of_order_multipart(server: Server) {
    let Some(site) = site(server) else { return };
    let got = site
        .command()
        .case(format!("{server:?}: --multipart 0:10 1000:2000 500:600"))
        .arg("--multipart")
        .arg(site.url())
        .args(["0:10", "1000:2000", "500:600"])
        .stdout();
    assert_bytes_eq_in(
        "0:10 1000:2000 500:600",
        &got,
        &site.slices(&[0..10, 1000..2000, 500..600]),
    );
    let requests = site.requests();
    let limit = out_of_order_budget(server);
    assert!(
        requests.len() <= limit,
        "{server:?}: --multipart 0:10 1000:2000 500:600 took {} requests, want at most {limit}:\n{}",
        requests.len(),
        show(&requests)
    );
}

/// What a server taught is remembered (issue 18, point 5): with a metadata cache, a second
/// run of 300 ranges with `--multipart` does not pay for the lesson again. Werkzeug: no
/// multi-range request, one GET per range. lighttpd: no request for more than its 10 parts,
/// 30 GETs. busybox (whose log shows no Range): 300 requests, one per range.
fn lesson_remembered(server: Server) {
    let Some(site) = site(server) else { return };
    let cache = tempfile::tempdir().expect("cache dir");
    let ranges = scattered_ranges();
    let args: Vec<String> = ranges.iter().map(|r| format!("{}+4096", r.start)).collect();
    let want = site.slices(&ranges);
    let run = |which: &str| {
        let got = site
            .command()
            .case(format!(
                "{server:?}: 300 ranges with --multipart, {which} run"
            ))
            .env("RANGECAT_CACHE_DIR", cache.path())
            .arg("--multipart")
            .arg(site.url())
            .args(&args)
            .stdout();
        assert_bytes_eq_in(which, &got, &want);
    };
    run("first");
    let first = site.requests().len();
    run("second");
    let requests = site.requests();
    let second = &requests[first..];
    let (want_gets, most_ranges) = match server {
        Server::Real(Kind::Lighttpd) => (30, 10),
        _ => (300, 1),
    };
    let gets = if server.logs_methods() {
        second
            .iter()
            .filter(|r| r.method.as_deref() == Some("GET"))
            .count()
    } else {
        second.len()
    };
    let widest = second
        .iter()
        .filter_map(|r| r.range.as_ref())
        .map(|range| range.split(',').count())
        .max()
        .unwrap_or(0);
    assert!(
        gets == want_gets && widest <= most_ranges,
        "{server:?}: the second run took {gets} GETs of at most {widest} ranges, want \
         {want_gets} of at most {most_ranges} (the first run took {first} requests):\n{}",
        show(second)
    );
}

/// `rangecat URL 0:1` writes the first byte.
fn first_byte(server: Server) {
    let Some(site) = site(server) else { return };
    let got = site
        .command()
        .case(format!("{server:?}: rangecat URL 0:1"))
        .arg(site.url())
        .arg("0:1")
        .stdout();
    assert_bytes_eq_in("0:1", &got, &site.data[..1]);
}

/// `rangecat info URL` reports the length and that ranges work.
fn info(server: Server) {
    let Some(site) = site(server) else { return };
    let out = site
        .command()
        .case(format!("{server:?}: rangecat info URL"))
        .arg("info")
        .arg(site.url())
        .stdout();
    let out = String::from_utf8(out).expect("info prints UTF-8");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("length: {LEN} "))),
        "{server:?}: info does not report the length {LEN}:\n{out}"
    );
    assert!(
        lines.contains(&"ranges: yes"),
        "{server:?}: info does not report `ranges: yes`:\n{out}"
    );
}

/// The tests of one server, in a module named after it: `dialects::apache::info`, ...
macro_rules! matrix {
    ($($module:ident => $server:expr;)*) => {$(
        mod $module {
            use super::*;

            #[test]
            fn range_lists_plain() {
                range_lists_are_byte_exact($server, &[]);
            }

            #[test]
            fn range_lists_multipart() {
                range_lists_are_byte_exact($server, &["--multipart"]);
            }

            #[test]
            fn range_lists_j4() {
                range_lists_are_byte_exact($server, &["-j", "4"]);
            }

            #[test]
            fn range_lists_multipart_j4() {
                range_lists_are_byte_exact($server, &["--multipart", "-j", "4"]);
            }

            #[test]
            fn many_ranges_multipart() {
                many_ranges_within_budget($server);
            }

            #[test]
            fn out_of_order_multipart() {
                super::out_of_order_multipart($server);
            }

            #[test]
            fn first_byte() {
                super::first_byte($server);
            }

            #[test]
            fn info() {
                super::info($server);
            }
        }
    )*};
}

/// The servers that teach rangecat something about their dialect, each a test of its own:
/// `dialects::lessons::werkzeug`, ...
mod lessons {
    use super::*;

    #[test]
    fn werkzeug() {
        lesson_remembered(Server::Real(Kind::Werkzeug));
    }

    #[test]
    fn lighttpd() {
        lesson_remembered(Server::Real(Kind::Lighttpd));
    }

    #[test]
    fn busybox() {
        lesson_remembered(Server::Real(Kind::Busybox));
    }
}

matrix! {
    nginx => Server::Nginx;
    apache => Server::Real(Kind::Apache);
    lighttpd => Server::Real(Kind::Lighttpd);
    busybox => Server::Real(Kind::Busybox);
    starlette => Server::Real(Kind::Starlette);
    werkzeug => Server::Real(Kind::Werkzeug);
}
