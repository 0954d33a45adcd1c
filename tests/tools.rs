//! Zip archives made at test time by the real tools: Info-ZIP's `zip` (directory entries,
//! extended timestamps, a symbolic link), `fastjar` (a jar without Unix modes, DOS times
//! only) and 7-Zip (NTFS times), served over HTTP. `x`'s tree is compared with `unzip -d`'s
//! (names, bytes, link targets, modes under umask 027, mtimes to the second), `ls --json`
//! shows the times `x` sets, and the requests of `x` and `cat` are counted from the server's
//! log (README, "Zip archives"). A missing tool skips its test, unless `CI=true`: `.ci/run`
//! installs them.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use crate::util::server::{Mode, Server};
use crate::util::zips::noise;

/// The umask every extraction here runs under: group keeps read, others nothing.
const UMASK: &str = "027";

/// The first of `names` on PATH; `None` (the test skips) when there is none, unless
/// `CI=true`: then the test fails, so CI cannot pass by testing nothing.
fn tool(names: &[&str], package: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{names:?} is required when CI=true: .ci/run installs {package}"
        );
        eprintln!("skipped: none of {names:?} is installed (Debian package {package})");
    }
    found
}

/// `program ARGS...` under umask 027 and TZ=UTC (unzip reads DOS times as local time), in
/// `dir`, with a clean environment; its output, asserting success.
#[track_caller]
fn run(dir: &Path, program: &Path, args: &[&std::ffi::OsStr]) -> Output {
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("umask {UMASK} && exec \"$0\" \"$@\""))
        .arg(program)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{} {args:?}: {}\n{}",
        program.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn rangecat() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rangecat"))
}

/// Seconds since 1970 as a `SystemTime`.
fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

/// Sets the modification time of the file or directory `path`.
fn touch(path: &Path, seconds: u64) {
    let file = fs::File::open(path).unwrap();
    file.set_modified(at(seconds)).unwrap();
}

/// The tree to archive under `root`: directories (one empty), files with odd-second times
/// (DOS times have two-second steps), an empty file, modes 0755 and 0444; with `classes`,
/// 36 incompressible files of 8 KB in 12 directories (a jar's shape: directory entries
/// between the files, about 300 KB); with `link`, a symbolic link.
fn make_tree(root: &Path, classes: bool, link: bool) {
    let file = |name: &str, data: &[u8], mode: u32, time: u64| {
        let path = root.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, data).unwrap();
        touch(&path, time);
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    };
    file("pkg/a.txt", b"hello\n", 0o644, 1_700_000_001);
    file("pkg/run.sh", b"#!/bin/sh\necho hi\n", 0o755, 1_700_000_003);
    file("pkg/ro.txt", b"read only\n", 0o444, 1_700_000_005);
    file("pkg/empty.txt", b"", 0o644, 1_700_000_007);
    file("pkg/sub/b.bin", &noise(5000, 1), 0o600, 1_700_000_009);
    file("top.txt", b"top\n", 0o640, 1_700_000_011);
    if classes {
        for k in 0..12 {
            for j in 0..3 {
                let name = format!("lib/d{k:02}/c{j}.class");
                file(&name, &noise(8000, k * 3 + j), 0o644, 1_700_000_101 + 2 * k);
            }
        }
    }
    if link {
        std::os::unix::fs::symlink("a.txt", root.join("pkg/link")).unwrap();
    }
    fs::create_dir_all(root.join("empty")).unwrap();
    // Directories last, deepest first: writing their contents changed their times.
    let mut dirs = vec!["pkg/sub", "pkg", "empty"];
    let lib: Vec<String> = (0..12).map(|k| format!("lib/d{k:02}")).collect();
    if classes {
        dirs.extend(lib.iter().map(String::as_str));
        dirs.push("lib");
    }
    for (i, dir) in dirs.iter().enumerate() {
        touch(&root.join(dir), 1_700_000_201 + 2 * i as u64);
    }
}

/// What `x` and `unzip` make of one path: its kind, mode, modification time (not for a
/// link) and contents or target.
#[derive(Debug, PartialEq, Eq)]
struct Node {
    path: String,
    kind: &'static str,
    mode: u32,
    mtime: i64,
    data: Vec<u8>,
}

/// Every path under `root`, sorted.
fn nodes(root: &Path) -> Vec<Node> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let (kind, mode, mtime, data) = if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap();
                ("link", 0, 0, target.into_os_string().into_encoded_bytes())
            } else if meta.is_dir() {
                stack.push(path.clone());
                ("dir", meta.mode() & 0o7777, meta.mtime(), Vec::new())
            } else {
                let data = fs::read(&path).unwrap();
                ("file", meta.mode() & 0o7777, meta.mtime(), data)
            };
            out.push(Node {
                path: rel,
                kind,
                mode,
                mtime,
                data,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// An archive made by a tool in `work`, from the tree in `work/src`.
struct Made {
    _work: tempfile::TempDir,
    file: PathBuf,
    bytes: Vec<u8>,
}

/// Makes the tree, then runs `make(src dir, archive path)`.
fn made(classes: bool, link: bool, name: &str, make: impl FnOnce(&Path, &Path)) -> Made {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    fs::create_dir(&src).unwrap();
    make_tree(&src, classes, link);
    let file = work.path().join(name);
    make(&src, &file);
    let bytes = fs::read(&file).unwrap();
    Made {
        _work: work,
        file,
        bytes,
    }
}

/// Extracts `made` with `x` over HTTP and with `unzip -d` from the file, under the same
/// umask, and compares the trees (times too, with `times`); returns `x`'s tree and the
/// server, for its log.
#[track_caller]
fn x_as_unzip(made: &Made, unzip: &Path, times: bool) -> (Vec<Node>, Server) {
    let out = tempfile::tempdir().unwrap();
    let server = Server::start(made.bytes.clone(), Mode::Ranges);
    let url = server.url("/archive.zip");
    let ours = out.path().join("x");
    run(
        out.path(),
        &rangecat(),
        &["x".as_ref(), url.as_ref(), "-C".as_ref(), ours.as_os_str()],
    );
    let theirs = out.path().join("unzip");
    run(
        out.path(),
        unzip,
        &[
            "-q".as_ref(),
            made.file.as_os_str(),
            "-d".as_ref(),
            theirs.as_os_str(),
        ],
    );
    let (ours, mut theirs) = (nodes(&ours), nodes(&theirs));
    assert!(ours.len() >= 8, "{ours:?}");
    for (a, b) in ours.iter().zip(&mut theirs) {
        if !times {
            b.mtime = a.mtime;
        }
        assert_eq!(a, b, "x against unzip -d");
    }
    assert_eq!(ours.len(), theirs.len(), "x: {ours:#?}\nunzip: {theirs:#?}");
    (ours, server)
}

fn node<'a>(tree: &'a [Node], path: &str) -> &'a Node {
    tree.iter()
        .find(|n| n.path == path)
        .unwrap_or_else(|| panic!("{path} not extracted: {tree:#?}"))
}

/// The source tree's times came through to the second (not the DOS time's two-second steps).
#[track_caller]
fn assert_exact_times(tree: &[Node]) {
    assert_eq!(node(tree, "pkg/a.txt").mtime, 1_700_000_001);
    assert_eq!(node(tree, "pkg/ro.txt").mtime, 1_700_000_005);
    assert_eq!(node(tree, "pkg/sub").mtime, 1_700_000_201);
}

/// The archive's modes came through, not the umask's.
#[track_caller]
fn assert_unix_modes(tree: &[Node]) {
    assert_eq!(node(tree, "pkg/run.sh").mode, 0o755);
    assert_eq!(node(tree, "pkg/ro.txt").mode, 0o444);
    assert_eq!(node(tree, "pkg/sub/b.bin").mode, 0o600);
}

#[test]
fn x_of_an_info_zip_archive_is_unzips_tree_in_two_requests() {
    // Info-ZIP writes directory entries between the files and an extended timestamp
    // (0x5455) for every entry; -y keeps the link as a link.
    let (Some(zip), Some(unzip)) = (tool(&["zip"], "zip"), tool(&["unzip"], "unzip")) else {
        return;
    };
    let made = made(true, true, "infozip.zip", |src, file| {
        let args = ["-qry".as_ref(), file.as_os_str(), "pkg".as_ref()];
        let rest = ["empty", "top.txt", "lib"].map(std::ffi::OsStr::new);
        run(src, &zip, &[&args[..], &rest[..]].concat());
    });
    assert!(made.bytes.len() > 300_000);
    let (tree, server) = x_as_unzip(&made, &unzip, true);
    assert_exact_times(&tree);
    assert_unix_modes(&tree);
    assert_eq!(node(&tree, "pkg/link").data, b"a.txt");
    // README: directory entries never split a stretch. The tail, then one request (under
    // 16 MiB) up to where the tail starts.
    let ranges = server.ranges();
    assert_eq!(ranges.len(), 2, "{}", server.summary());
    let tail_start = made.bytes.len() - 66_560;
    let stretch = ranges[1].clone().unwrap_or_default();
    assert!(
        stretch.starts_with("bytes=") && stretch.ends_with(&format!("-{}", tail_start - 1)),
        "{stretch}"
    );
    // A selection: the directory entries it leaves out between the classes are read and
    // skipped, not a request per directory.
    let out = tempfile::tempdir().unwrap();
    let before = server.requests().len();
    let url = server.url("/archive.zip");
    let args = ["x", &url, "-C", out.path().to_str().unwrap(), "*.class"];
    run(out.path(), &rangecat(), &args.map(std::ffi::OsStr::new));
    assert_eq!(
        nodes(out.path()).len(),
        12 * 3 + 12 + 1,
        "lib, its 12 dirs, 36 classes"
    );
    assert_eq!(server.requests().len() - before, 2, "{}", server.summary());
    // ls shows the times x sets.
    let listed = run(
        Path::new("/"),
        &rangecat(),
        &["ls".as_ref(), "--json".as_ref(), made.file.as_os_str()],
    );
    let listed = String::from_utf8(listed.stdout).unwrap();
    let line = listed
        .lines()
        .find(|l| l.contains("\"pkg/a.txt\""))
        .unwrap();
    assert!(
        line.contains("\"modified\":\"2023-11-14T22:13:21\""),
        "{line}"
    );
}

#[test]
fn x_of_a_jar_without_unix_modes_gives_0666_less_the_umask_in_two_requests() {
    // fastjar writes entries "made by" FAT with no attributes and no extra field: unzip
    // gives files 0666 and directories 0777, less the umask, and DOS times.
    let (Some(jar), Some(unzip)) = (tool(&["fastjar"], "fastjar"), tool(&["unzip"], "unzip"))
    else {
        return;
    };
    let made = made(true, false, "fastjar.jar", |src, file| {
        let args = ["-cf".as_ref(), file.as_os_str()];
        let rest = ["pkg", "empty", "top.txt", "lib"].map(std::ffi::OsStr::new);
        run(src, &jar, &[&args[..], &rest[..]].concat());
    });
    let (tree, server) = x_as_unzip(&made, &unzip, true);
    assert_eq!(node(&tree, "pkg/run.sh").mode, 0o640, "0666 & ~027");
    assert_eq!(node(&tree, "pkg/sub").mode, 0o750, "0777 & ~027");
    server.assert_requests(2, "the tail and one stretch");
}

#[test]
fn x_of_a_7_zip_archive_takes_its_ntfs_times() {
    // 7-Zip writes the NTFS extra field (0x000a) in the central directory, to the 100 ns.
    let (Some(seven), Some(unzip)) = (
        tool(&["7zz", "7z", "7za"], "7zip"),
        tool(&["unzip"], "unzip"),
    ) else {
        return;
    };
    let made = made(false, false, "7z.zip", |src, file| {
        let args = [
            "a".as_ref(),
            "-tzip".as_ref(),
            "-bso0".as_ref(),
            file.as_os_str(),
        ];
        let rest = ["pkg", "empty", "top.txt"].map(std::ffi::OsStr::new);
        run(src, &seven, &[&args[..], &rest[..]].concat());
    });
    assert!(
        made.bytes.windows(4).any(|w| w == [0x0a, 0, 32, 0]),
        "an NTFS extra field"
    );
    // unzip reads no NTFS field (it takes the DOS time, which 7-Zip rounds up to even
    // seconds): the source tree's times are the reference for those.
    let (tree, server) = x_as_unzip(&made, &unzip, false);
    assert_exact_times(&tree);
    assert_unix_modes(&tree);
    // README: an archive under 65 KiB costs one request in all.
    assert!(made.bytes.len() < 66_560);
    server.assert_requests(1, "the tail holds it all");
}

#[test]
fn cat_of_a_wheels_metadata_is_one_request() {
    // A wheel's .dist-info/ comes last, just before the central directory: inside the tail
    // fetched for it (README: `rangecat cat pip.whl '*.dist-info/METADATA'`).
    let Some(zip) = tool(&["zip"], "zip") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let src = work.path();
    fs::create_dir_all(src.join("pkg")).unwrap();
    fs::create_dir_all(src.join("pkg-1.0.dist-info")).unwrap();
    for i in 0..10 {
        fs::write(src.join(format!("pkg/m{i}.so")), noise(20_000, i)).unwrap();
    }
    let metadata = b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n";
    fs::write(src.join("pkg-1.0.dist-info/METADATA"), metadata).unwrap();
    fs::write(src.join("pkg-1.0.dist-info/RECORD"), b"pkg/m0.so,,\n").unwrap();
    run(
        src,
        &zip,
        &["-qr", "w.whl", "pkg", "pkg-1.0.dist-info"].map(std::ffi::OsStr::new),
    );
    let bytes = fs::read(src.join("w.whl")).unwrap();
    assert!(bytes.len() > 200_000);
    let server = Server::start(bytes, Mode::Ranges);
    let url = server.url("/pkg-1.0-py3-none-any.whl");
    let got = run(
        src,
        &rangecat(),
        &["cat", &url, "*.dist-info/METADATA"].map(std::ffi::OsStr::new),
    );
    assert_eq!(got.stdout, metadata);
    server.assert_requests(1, "the tail only");
}

#[test]
fn x_n_keeps_what_exists_as_unzip_n_does() {
    // README: -n extracts only what is missing, as unzip -n, and exits 0.
    let (Some(zip), Some(unzip)) = (tool(&["zip"], "zip"), tool(&["unzip"], "unzip")) else {
        return;
    };
    let made = made(false, false, "infozip.zip", |src, file| {
        let args = [
            "-qr".as_ref(),
            file.as_os_str(),
            "pkg".as_ref(),
            "top.txt".as_ref(),
        ];
        run(src, &zip, &args);
    });
    let server = Server::start(made.bytes.clone(), Mode::Ranges);
    let url = server.url("/archive.zip");
    let out = tempfile::tempdir().unwrap();
    let mut trees = Vec::new();
    for (who, name) in [("x", "ours"), ("unzip", "theirs")] {
        let dir = out.path().join(name);
        // What was there: one file of mine, one stale, the rest missing.
        fs::create_dir_all(dir.join("pkg")).unwrap();
        fs::write(dir.join("pkg/a.txt"), b"mine\n").unwrap();
        touch(&dir.join("pkg/a.txt"), 1_600_000_000);
        fs::write(dir.join("top.txt"), b"stale\n").unwrap();
        touch(&dir.join("top.txt"), 1_600_000_000);
        let dir_arg = dir.as_os_str();
        if who == "x" {
            let args = [
                "x".as_ref(),
                "-n".as_ref(),
                url.as_ref(),
                "-C".as_ref(),
                dir_arg,
            ];
            let output = run(out.path(), &rangecat(), &args);
            assert!(output.stderr.is_empty(), "{output:?}");
        } else {
            let args = [
                "-q".as_ref(),
                "-n".as_ref(),
                made.file.as_os_str(),
                "-d".as_ref(),
                dir_arg,
            ];
            run(out.path(), &unzip, &args);
        }
        trees.push(nodes(&dir));
    }
    // pkg/ existed before: its time is the test's, and unzip -n leaves it too.
    let (mut ours, theirs) = (trees.remove(0), trees.remove(0));
    for (a, b) in ours.iter_mut().zip(&theirs) {
        if a.path == "pkg" {
            a.mtime = b.mtime;
        }
    }
    assert_eq!(ours, theirs);
    assert_eq!(node(&ours, "pkg/a.txt").data, b"mine\n");
    assert_eq!(node(&ours, "top.txt").data, b"stale\n");
    assert_eq!(node(&ours, "pkg/sub/b.bin").mtime, 1_700_000_009);
}
