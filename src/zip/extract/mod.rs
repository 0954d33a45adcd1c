//! `x`: members extracted under a directory, safely and concurrently.
//!
//! - Entry names are checked before anything is written ([`safe_path`], in `zip::path`): `..`, absolute paths,
//!   drive letters, UNC paths and NUL bytes are refused, and backslashes count as separators.
//! - Nothing is written through a symbolic link: every directory on the way to a member is
//!   opened as a handle, one component at a time, without following links (and created when
//!   missing), and the member is created, renamed and given its attributes relative to that
//!   handle ([`Dir`]): a directory swapped for a link by someone else cannot redirect a write.
//! - Symbolic links are created last, as Info-ZIP unzip does, and only when their target stays
//!   inside the directory ([`check_link_target`]): no member is ever written through a link the
//!   archive itself made.
//! - Each file is written to a hidden temporary name beside its destination and renamed onto it
//!   only once [`copy_member`] has checked its size and CRC-32; on any error the temporary file
//!   is removed. The real name never holds a truncated or corrupt file.
//! - Neighbouring members are read from one forward request per stretch (`stretches`), at
//!   most `jobs` at once, and decompressed and written by `jobs` workers: a large archive costs
//!   about one request per worker, a small one a single request.
//!
//! The core never prints: refusals and failures go to a [`Reporter`] as they happen, and the
//! extraction carries on with the other members.
//!
//! What is extracted is decided in `plan`, which request brings each member and which worker
//! writes it in `schedule`, and the writing itself is `write`.
//!
//! [`safe_path`]: crate::zip::path::safe_path
//! [`check_link_target`]: crate::zip::path::check_link_target
//! [`copy_member`]: crate::zip::member::copy_member

mod plan;
mod schedule;
mod write;

use std::collections::HashMap;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::Error;
use super::dir::Dir;
use super::entry::Entry;
use crate::source::parallel::SpanFetcher;
use crate::source::{self, Body};
use plan::plan;
use schedule::{run_concurrently, run_job};
use write::{DirHandles, current_umask, finish_dir, make_link};

/// The longest symbolic link target accepted: Linux's `PATH_MAX`. A target is held in memory,
/// so a link member claiming more is refused before it is fetched.
pub const MAX_LINK_TARGET: u64 = 4096;

/// How to extract.
#[derive(Debug, Clone)]
pub struct ExtractConfig {
    /// Members fetched and written at once (at least 1).
    pub jobs: usize,
    /// Replace files that already exist (`--overwrite`).
    pub overwrite: bool,
    /// Keep files that already exist without reporting them (`-n`, as `unzip -n`): only
    /// what is missing is extracted.
    pub skip_existing: bool,
    /// Read and write in pieces of this many bytes.
    pub chunk_size: usize,
}

/// Why one entry was not extracted. The others still are.
#[derive(Debug)]
pub enum Failure {
    /// The entry would escape the directory, or write through a symbolic link.
    Refused {
        /// The entry name, as the archive spells it.
        name: String,
        /// Why.
        reason: String,
    },
    /// The destination exists and `--overwrite` was not given.
    Exists {
        /// The destination, under the directory.
        path: PathBuf,
    },
    /// Something other than a directory stands where the entry needs one.
    NotADirectory {
        /// The entry name.
        name: String,
        /// What stands there.
        path: PathBuf,
    },
    /// A directory stands where the entry's file would go.
    IsADirectory {
        /// The entry name.
        name: String,
        /// The directory.
        path: PathBuf,
    },
    /// A file system operation failed.
    Io {
        /// What was being done (`create`, `write`, `set the time of`, ...).
        verb: &'static str,
        /// On what.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The member could not be read or checked (its message names it).
    Member(Error),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Refused { name, reason } => write!(f, "refusing {name}: {reason}"),
            Failure::Exists { path } => write!(f, "{} exists (use --overwrite)", path.display()),
            Failure::NotADirectory { name, path } => write!(
                f,
                "cannot extract {name}: {} is not a directory",
                path.display()
            ),
            Failure::IsADirectory { name, path } => {
                write!(
                    f,
                    "cannot extract {name}: {} is a directory",
                    path.display()
                )
            }
            Failure::Io { verb, path, .. } => write!(f, "cannot {verb} {}", path.display()),
            Failure::Member(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Io { source, .. } => Some(source),
            // Its message is this one's: go on with what lies beneath it.
            Failure::Member(err) => std::error::Error::source(err),
            _ => None,
        }
    }
}

/// Where progress and failures go: the core never prints. Called from worker threads.
pub trait Reporter: Sync {
    /// `bytes` more decompressed bytes were written.
    fn progress(&self, bytes: u64);
    /// An entry was not extracted.
    fn failure(&self, failure: &Failure);
}

/// How members' spans are read.
pub enum Fetch<'a> {
    /// From several threads at once (`jobs` of them).
    Concurrent(Arc<dyn SpanFetcher>),
    /// One at a time, in the calling thread, for a source that offers no fetcher.
    Sequential(&'a mut dyn FnMut(Range<u64>) -> Result<Body, source::Error>),
}

/// What an extraction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Entries written (files, links and directories).
    pub extracted: usize,
    /// Entries not extracted, each reported to the [`Reporter`].
    pub failed: usize,
    /// Entries not extracted because their file exists, with `skip_existing` (not reported).
    pub skipped: usize,
}

/// What kind of thing an entry makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Link,
}

/// One member to fetch: a file, or a link whose target is its content.
struct Job<'a> {
    /// Its position among the selected entries: names temporary files uniquely.
    index: usize,
    entry: &'a Entry,
    span: Range<u64>,
    path: PathBuf,
    kind: Kind,
}

impl Job<'_> {
    /// The directory the member goes in (relative to the root) and its file name. Its path
    /// has a file name: [`plan`](fn@plan) refuses the others.
    fn parent_and_name(&self) -> (&Path, &OsStr) {
        let parent = self.path.parent().unwrap_or(Path::new(""));
        (parent, self.path.file_name().unwrap_or_default())
    }
}

/// What a fetched member became.
enum Done {
    Written,
    Link(Vec<u8>),
}

/// What a worker reports for one job.
enum Step {
    Done(Done),
    Failed(Failure),
    /// The source itself failed (HTTP status, changed resource, network): the other members
    /// would fail alike, so the extraction stops.
    Fatal(Error),
}

/// What the workers share.
struct Shared<'a> {
    /// The directory extracted into, as named (for messages) and as a handle (for all else).
    root: &'a Path,
    dir: Dir,
    config: &'a ExtractConfig,
    reporter: &'a dyn Reporter,
    /// The directories this extraction created: only they get the archive's permissions, and
    /// without `--overwrite` its times, as unzip does (an entry `.ssh/` must not open up an
    /// existing `~/.ssh`).
    /// Paths relative to the root.
    created_dirs: Mutex<HashSet<PathBuf>>,
    dirs: DirHandles,
    /// The file mode creation mask, for entries without a Unix mode (`write::permissions`).
    umask: u32,
}

/// Extracts `members` (entries with the span each one's bytes lie in) under `root`, which is
/// created if missing. Directories come first, then files (concurrently), then symbolic links,
/// then the directories' modification times and permissions, deepest first, so that writing
/// their contents does not change them again. Entries that are refused or fail are reported
/// and counted; the error is only for what stops the whole extraction: `root` cannot be made,
/// or the source fails.
pub fn extract(
    members: &[(&Entry, Range<u64>)],
    root: &Path,
    fetch: Fetch<'_>,
    config: &ExtractConfig,
    reporter: &dyn Reporter,
) -> Result<Summary, Error> {
    let dir = fs::create_dir_all(root)
        .and_then(|()| Dir::open(root))
        .map_err(|source| Error::CreateDirectory {
            path: root.to_owned(),
            source,
        })?;
    let ctx = Shared {
        root,
        dir,
        config,
        reporter,
        created_dirs: Mutex::new(HashSet::new()),
        dirs: Mutex::new(HashMap::new()),
        umask: current_umask(),
    };
    let summary = Tally::default();
    let fail = |failure: Failure| {
        if config.skip_existing && matches!(failure, Failure::Exists { .. }) {
            summary.skipped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        reporter.failure(&failure);
        summary.failed.fetch_add(1, Ordering::Relaxed);
    };

    let (dirs, jobs) = plan(members, &ctx, &fail);

    // Fetch and write.
    let links: Mutex<Vec<(usize, Vec<u8>)>> = Mutex::new(Vec::new());
    let record = |slot: usize, step: Step| -> Option<Error> {
        match step {
            Step::Done(Done::Written) => {
                summary.extracted.fetch_add(1, Ordering::Relaxed);
            }
            Step::Done(Done::Link(target)) => {
                links.lock().expect("links lock").push((slot, target));
            }
            Step::Failed(failure) => fail(failure),
            Step::Fatal(err) => return Some(err),
        }
        None
    };
    let fatal = match fetch {
        Fetch::Sequential(fetch) => jobs
            .iter()
            .enumerate()
            .find_map(|(slot, job)| record(slot, run_job(job, fetch, &ctx))),
        Fetch::Concurrent(fetcher) => run_concurrently(&jobs, fetcher, &ctx, &record),
    };
    if let Some(err) = fatal {
        return Err(err);
    }

    // Links, in archive order, now that no member is written any more.
    let mut links = links.into_inner().expect("links lock");
    links.sort_by_key(|(slot, _)| *slot);
    let mut made = HashSet::new();
    for (slot, target) in links {
        let job = &jobs[slot];
        match make_link(job, &target, &made, &ctx) {
            Ok(()) => {
                made.insert(job.path.clone());
                summary.extracted.fetch_add(1, Ordering::Relaxed);
            }
            Err(failure) => fail(failure),
        }
    }

    // Directories' times and permissions, deepest first.
    let mut dirs: Vec<(PathBuf, &Entry)> = dirs.into_iter().collect();
    dirs.sort_by_key(|(path, _)| std::cmp::Reverse(path.iter().count()));
    let created = std::mem::take(&mut *ctx.created_dirs.lock().unwrap_or_else(|e| e.into_inner()));
    for (path, entry) in dirs {
        let ours = created.contains(&path);
        if !ours && !config.overwrite {
            // It was there before: left as it was.
            summary.extracted.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        // With --overwrite an existing directory gets the archive's time, never its mode.
        match finish_dir(&ctx, &path, entry, ours) {
            Ok(()) => {
                summary.extracted.fetch_add(1, Ordering::Relaxed);
            }
            Err(failure) => fail(failure),
        }
    }
    Ok(Summary {
        extracted: summary.extracted.into_inner(),
        failed: summary.failed.into_inner(),
        skipped: summary.skipped.into_inner(),
    })
}

#[derive(Default)]
struct Tally {
    extracted: AtomicUsize,
    failed: AtomicUsize,
    skipped: AtomicUsize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::{Cursor, Read, Write};
    use std::os::unix::ffi::OsStringExt;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicBool, AtomicU64};
    use std::thread;
    use std::time::{Duration, SystemTime};

    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    use crate::source::Source;
    use crate::source::file::FileSource;
    use crate::zip::Archive;
    use crate::zip::member::spans;

    /// Records progress and failures.
    #[derive(Default)]
    struct Record {
        bytes: AtomicU64,
        failures: Mutex<Vec<String>>,
    }

    impl Reporter for Record {
        fn progress(&self, bytes: u64) {
            self.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        fn failure(&self, failure: &Failure) {
            self.failures.lock().unwrap().push(failure.to_string());
        }
    }

    fn build(add: impl FnOnce(&mut ZipWriter<Cursor<Vec<u8>>>)) -> Vec<u8> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        add(&mut writer);
        writer.finish().unwrap().into_inner()
    }

    fn opts(method: CompressionMethod) -> SimpleFileOptions {
        SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(zip::DateTime::from_date_and_time(2024, 5, 17, 13, 45, 30).unwrap())
            .unix_permissions(0o640)
    }

    /// Opens `bytes` as an archive: its source, entries and spans.
    fn open(bytes: &[u8]) -> (FileSource, Vec<Entry>, Vec<Range<u64>>) {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        let source = FileSource::from_file(file.try_clone().unwrap()).unwrap();
        let mut archive = Archive::open(Box::new(source)).unwrap();
        let mut entries = Vec::new();
        archive
            .for_each_entry(|e| {
                entries.push(e);
                Ok::<(), Error>(())
            })
            .unwrap();
        let spans = spans(&entries, archive.layout());
        (FileSource::from_file(file).unwrap(), entries, spans)
    }

    fn run(bytes: &[u8], root: &Path, jobs: Option<usize>, overwrite: bool) -> (Summary, Record) {
        let (mut source, entries, spans) = open(bytes);
        let members: Vec<(&Entry, Range<u64>)> = entries.iter().zip(spans).collect();
        let options = ExtractConfig {
            jobs: jobs.unwrap_or(1),
            overwrite,
            skip_existing: false,
            chunk_size: 1000,
        };
        let record = Record::default();
        let fetch = match jobs {
            Some(_) => Fetch::Concurrent(source.fetcher().unwrap()),
            None => Fetch::Sequential(&mut |span| source.read_span(span)),
        };
        let summary = extract(&members, root, fetch, &options, &record).unwrap();
        (summary, record)
    }

    fn sample() -> Vec<u8> {
        build(|w| {
            w.add_directory("d", opts(CompressionMethod::Stored))
                .unwrap();
            for (i, name) in ["a.txt", "d/b.bin", "d/e/c.txt", "last"].iter().enumerate() {
                let method = if i % 2 == 0 {
                    CompressionMethod::Deflated
                } else {
                    CompressionMethod::Stored
                };
                w.start_file(*name, opts(method)).unwrap();
                w.write_all(name.repeat(i * 300).as_bytes()).unwrap();
            }
            w.add_symlink("d/link", "e/c.txt", opts(CompressionMethod::Stored))
                .unwrap();
        })
    }

    fn read_tree(root: &Path) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for entry in walk(root) {
            let rel = entry.strip_prefix(root).unwrap().display().to_string();
            let meta = fs::symlink_metadata(&entry).unwrap();
            let data = if meta.file_type().is_symlink() {
                fs::read_link(&entry).unwrap().into_os_string().into_vec()
            } else if meta.is_dir() {
                b"<dir>".to_vec()
            } else {
                let mut data = Vec::new();
                File::open(&entry).unwrap().read_to_end(&mut data).unwrap();
                data
            };
            out.push((rel, data));
        }
        out.sort();
        out
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.clone());
            if fs::symlink_metadata(&path).unwrap().is_dir() {
                out.extend(walk(&path));
            }
        }
        out
    }

    #[test]
    fn extracts_the_same_tree_sequentially_and_concurrently() {
        let bytes = sample();
        let mut trees = Vec::new();
        for jobs in [None, Some(1), Some(3)] {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("new/root");
            let (summary, record) = run(&bytes, &root, jobs, false);
            assert_eq!(record.failures.lock().unwrap().len(), 0, "{jobs:?}");
            assert_eq!(
                summary,
                Summary {
                    extracted: 6,
                    failed: 0,
                    skipped: 0
                }
            );
            let want: u64 = (0..4)
                .map(|i| [5, 7, 9, 4][i] * 300 * i as u64)
                .sum::<u64>()
                + 7;
            assert_eq!(record.bytes.load(Ordering::Relaxed), want);
            let meta = fs::metadata(root.join("d/e/c.txt")).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, 0o640);
            let mtime = meta.modified().unwrap();
            assert_eq!(
                mtime.duration_since(SystemTime::UNIX_EPOCH).unwrap(),
                Duration::from_secs(1_715_953_530)
            );
            let dir_time = fs::metadata(root.join("d")).unwrap().modified().unwrap();
            assert_eq!(dir_time, mtime, "directory time set after its contents");
            trees.push(read_tree(&root));
        }
        assert_eq!(trees[0], trees[1]);
        assert_eq!(trees[0], trees[2]);
        let names: Vec<&str> = trees[0].iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "a.txt",
                "d",
                "d/b.bin",
                "d/e",
                "d/e/c.txt",
                "d/link",
                "last"
            ]
        );
        assert_eq!(trees[0][5].1, b"e/c.txt");
        assert_eq!(trees[0][4].1, "d/e/c.txt".repeat(600).as_bytes());
    }

    #[test]
    fn existing_files_are_kept_unless_overwrite() {
        let bytes = sample();
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), b"mine").unwrap();
        let (summary, record) = run(&bytes, dir.path(), Some(2), false);
        assert_eq!(summary.failed, 1);
        assert!(record.failures.lock().unwrap()[0].ends_with("a.txt exists (use --overwrite)"));
        assert_eq!(fs::read(dir.path().join("a.txt")).unwrap(), b"mine");
        let (summary, _) = run(&bytes, dir.path(), Some(2), true);
        assert_eq!(
            summary,
            Summary {
                extracted: 6,
                failed: 0,
                skipped: 0
            }
        );
        assert_eq!(fs::read(dir.path().join("a.txt")).unwrap(), b"");
        assert!(
            walk(dir.path())
                .iter()
                .all(|p| !p.to_string_lossy().ends_with(".part")),
            "no temporary file left"
        );
    }

    #[test]
    fn nothing_is_written_through_links() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().to_str().unwrap().to_owned();
        let bytes = build(|w| {
            let o = opts(CompressionMethod::Stored);
            w.add_symlink("out", &target, o).unwrap();
            w.add_symlink("up", "..", o).unwrap();
            w.add_symlink("here", ".", o).unwrap();
            w.start_file("out/evil", o).unwrap();
            w.write_all(b"evil").unwrap();
            w.add_symlink("here/x", "up/y", o).unwrap();
        });
        let parent = tempfile::tempdir().unwrap();
        let root = parent.path().join("root");
        let (summary, record) = run(&bytes, &root, Some(2), false);
        let failures = record.failures.lock().unwrap().clone();
        assert_eq!(summary.failed, 3, "{failures:?}");
        assert!(
            failures
                .iter()
                .any(|f| f.starts_with("refusing out: absolute"))
        );
        assert!(failures.iter().any(|f| f.starts_with("refusing up: ")));
        // Links come last: `here/x` made `here` a real directory first, so the link `here`
        // finds its name taken.
        assert!(
            failures
                .iter()
                .any(|f| f.ends_with("root/here exists (use --overwrite)")),
            "{failures:?}"
        );
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
        assert_eq!(fs::read_dir(parent.path()).unwrap().count(), 1);
        assert_eq!(fs::read(root.join("out/evil")).unwrap(), b"evil");
        assert!(fs::symlink_metadata(root.join("here")).unwrap().is_dir());
        assert_eq!(
            fs::read_link(root.join("here/x")).unwrap(),
            Path::new("up/y")
        );
    }

    #[test]
    fn a_pre_existing_link_in_the_directory_is_not_written_through() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("d")).unwrap();
        let (summary, record) = run(&sample(), root.path(), Some(2), true);
        let failures = record.failures.lock().unwrap().clone();
        // d/, d/b.bin, d/e/c.txt, d/link: all under the link.
        assert_eq!(summary.failed, 4, "{failures:?}");
        assert!(failures.iter().all(|f| f.ends_with("d is a symbolic link")));
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_directory_swapped_for_a_link_during_extraction_is_not_written_through() {
        // Another user of the directory swaps `sub` for a link to `outside` and back, as
        // fast as it can, while the members are written: every write goes through a handle
        // opened without following links, so none can land outside.
        const ROUNDS: u64 = 20;
        let bytes = build(|w| {
            let o = opts(CompressionMethod::Stored);
            for i in 0..400 {
                w.start_file(format!("sub/deeper/f{i}"), o).unwrap();
                w.write_all(&[b'x'; 64]).unwrap();
            }
        });
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("sub/deeper")).unwrap();
        // `alt` is the link; each swap exchanges it with `sub` atomically (renameat2
        // RENAME_EXCHANGE), so `sub` is always there, as a directory or as a link.
        std::os::unix::fs::symlink(outside.path(), root.path().join("alt")).unwrap();
        fs::create_dir(outside.path().join("deeper")).unwrap();
        let stop = AtomicBool::new(false);
        let (leaked, swaps) = thread::scope(|scope| {
            let swapper = scope.spawn(|| {
                let dir = File::open(root.path()).unwrap();
                let mut swaps = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let exchange = rustix::fs::RenameFlags::EXCHANGE;
                    rustix::fs::renameat_with(&dir, "sub", &dir, "alt", exchange).unwrap();
                    swaps += 1;
                }
                swaps
            });
            let leaked_in_some_round = (0..ROUNDS).find_map(|_| {
                let (summary, _) = run(&bytes, root.path(), Some(2), true);
                assert_eq!(summary.extracted + summary.failed, 400);
                let leaked: Vec<PathBuf> = walk(outside.path())
                    .into_iter()
                    .filter(|p| !p.ends_with("deeper"))
                    .collect();
                (!leaked.is_empty()).then_some(leaked)
            });
            stop.store(true, Ordering::SeqCst);
            (leaked_in_some_round, swapper.join().unwrap())
        });
        assert!(swaps > ROUNDS);
        assert_eq!(leaked, None, "written outside");
    }

    #[test]
    fn duplicate_names_extract_the_last() {
        let bytes = build(|w| {
            let o = opts(CompressionMethod::Stored);
            w.start_file("x", o).unwrap();
            w.write_all(b"first").unwrap();
            w.start_file("./x", o).unwrap();
            w.write_all(b"second").unwrap();
        });
        let dir = tempfile::tempdir().unwrap();
        let (summary, record) = run(&bytes, dir.path(), Some(2), false);
        assert_eq!(
            summary,
            Summary {
                extracted: 1,
                failed: 1,
                skipped: 0
            }
        );
        assert!(record.failures.lock().unwrap()[0].starts_with("refusing x: a later entry"));
        assert_eq!(fs::read(dir.path().join("x")).unwrap(), b"second");
    }
}
