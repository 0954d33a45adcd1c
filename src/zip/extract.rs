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
//! - Neighbouring members are read from one forward request per stretch ([`stretches`]), at
//!   most `jobs` at once, and decompressed and written by `jobs` workers: a large archive costs
//!   about one request per worker, a small one a single request.
//!
//! The core never prints: refusals and failures go to a [`Reporter`] as they happen, and the
//! extraction carries on with the other members.

use std::collections::HashMap;
use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, SystemTime};

use super::Error;
use super::dir::{Dir, Kind as DirKind, OpenError};
use super::entry::Entry;
use super::member::{check_supported, copy_member, read_member};
use super::path::{check_link_target, safe_path};
use super::times;
use crate::source::parallel::{self, SpanFetcher};
use crate::source::{self, Body};

/// The longest symbolic link target accepted: Linux's `PATH_MAX`. A target is held in memory,
/// so a link member claiming more is refused before it is fetched.
pub const MAX_LINK_TARGET: u64 = 4096;

/// A temporary name keeps at most this many bytes of the member's own name, so that it stays
/// under the usual 255-byte limit on a file name with the suffix added.
const TEMP_NAME_KEEP: usize = 200;

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

/// The handles of the directories members go in, kept for the members after (at most
/// [`DIR_HANDLES`] open at once): a handle is the directory itself, checked when it was
/// opened, so whatever is renamed or swapped later, writes through it stay in that directory.
type DirHandles = Mutex<HashMap<PathBuf, Arc<Dir>>>;

/// The most directory handles kept open at once (each is a file descriptor).
const DIR_HANDLES: usize = 64;

/// The handle of the directory `rel` under the root ([`descend_dirs`]), kept for the members
/// after.
fn open_dirs(ctx: &Shared<'_>, rel: &Path, name: &str) -> Result<Arc<Dir>, Failure> {
    if let Some(dir) = ctx.dirs.lock().unwrap_or_else(|e| e.into_inner()).get(rel) {
        return Ok(dir.clone());
    }
    let dir = Arc::new(descend_dirs(ctx, rel, name)?);
    let mut dirs = ctx.dirs.lock().unwrap_or_else(|e| e.into_inner());
    if dirs.len() >= DIR_HANDLES {
        dirs.clear();
    }
    dirs.insert(rel.to_owned(), dir.clone());
    Ok(dir)
}

/// Opens the directory `rel` under the root through handles, creating the missing
/// components. A component that is a symbolic link refuses the entry `name`: nothing is
/// written through a link, wherever it points.
fn descend_dirs(ctx: &Shared<'_>, rel: &Path, name: &str) -> Result<Dir, Failure> {
    let mut made = |at: &Path| {
        ctx.created_dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(at.to_owned());
    };
    ctx.dir
        .descend(rel, true, &mut made)
        .map_err(|err| dir_failure(ctx, err, name, "create"))
}

fn dir_failure(ctx: &Shared<'_>, err: OpenError, name: &str, verb: &'static str) -> Failure {
    match err {
        OpenError::Link(at) => Failure::Refused {
            name: name.to_owned(),
            reason: format!("{} is a symbolic link", at.display()),
        },
        OpenError::NotADirectory(at) => Failure::NotADirectory {
            name: name.to_owned(),
            path: ctx.root.join(at),
        },
        OpenError::Io(at, source) => io_failure(source, verb, &ctx.root.join(at)),
    }
}

fn io_failure(source: io::Error, verb: &'static str, path: &Path) -> Failure {
    Failure::Io {
        verb,
        path: path.to_owned(),
        source,
    }
}

/// The entry's modification time ([`Entry::modified`]: its extended-timestamp or NTFS extra
/// field, else its DOS date and time read as UTC). (A DOS time carries no zone; unzip reads
/// it as local time, which needs the zone database: UTC keeps extraction reproducible on
/// every machine.)
pub fn modified_time(entry: &Entry) -> Option<SystemTime> {
    let seconds = times::parse(entry.modified.as_deref()?)?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).ok()?))
}

/// The permission bits to give an extracted file or directory, as unzip does: the archive's
/// Unix mode without set-user-ID, set-group-ID and sticky bits (as without `-K`); for an
/// entry without one (an archiver on Windows, a jar), `0666` for a file and `0777` for a
/// directory, without the write bits when the DOS read-only attribute is set, less `umask`.
/// An all-zero mode is an archiver that did not fill it in, and counts as none.
fn permissions(entry: &Entry, umask: u32) -> fs::Permissions {
    let bits = entry.unix_mode.map_or(0, |mode| mode & 0o777);
    if bits != 0 {
        return fs::Permissions::from_mode(bits);
    }
    let mut bits = if entry.is_dir { 0o777 } else { 0o666 };
    if entry.read_only {
        bits &= !0o222;
    }
    fs::Permissions::from_mode(bits & !umask)
}

/// The process's file mode creation mask: from `/proc/self/status` where there is one (it
/// leaves the mask as it is), else set and set back.
fn current_umask() -> u32 {
    let from_proc = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("Umask:"))?;
            u32::from_str_radix(line["Umask:".len()..].trim(), 8).ok()
        });
    from_proc.unwrap_or_else(|| {
        let mask = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
        rustix::process::umask(mask);
        mask.as_raw_mode()
    }) & 0o777
}

/// `.name.rangecat-PID-N.part`: hidden, beside the destination so the rename is atomic,
/// and distinct per member and per process.
fn temp_name(name: &OsStr, index: usize) -> OsString {
    let name = name.to_string_lossy();
    let mut end = name.len().min(TEMP_NAME_KEEP);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    static PID: OnceLock<u32> = OnceLock::new();
    let pid = PID.get_or_init(std::process::id);
    format!(".{}.rangecat-{pid}-{index}.part", &name[..end]).into()
}

/// A temporary file in `dir`, removed when dropped unless committed.
struct TempFile<'d> {
    dir: &'d Dir,
    name: OsString,
    /// Its path, for messages and for removal on a signal.
    path: PathBuf,
    committed: bool,
}

impl<'d> TempFile<'d> {
    /// The temporary `name` in `dir` (at `dir_path`), made by `make` and registered for
    /// removal on a signal in one step (`crate::temporaries::create`: a signal during the
    /// creation waits for it, and removes what it made).
    fn create<T>(
        dir: &'d Dir,
        dir_path: &Path,
        name: OsString,
        make: impl FnOnce(&Dir, &OsStr) -> io::Result<T>,
    ) -> Result<(TempFile<'d>, T), Failure> {
        let path = dir_path.join(&name);
        let made = crate::temporaries::create(&path, || make(dir, &name))
            .map_err(|err| io_failure(err, "create", &path))?;
        let temp = TempFile {
            dir,
            name,
            path,
            committed: false,
        };
        Ok((temp, made))
    }
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        crate::temporaries::forget(&self.path);
        if !self.committed {
            let _ = self.dir.remove(&self.name);
        }
    }
}

/// Moves `temp` onto `dest`: replacing it with `overwrite`, else only if it does not exist.
/// Without `--overwrite`, a rename that refuses to replace, or where the file system has
/// none a hard link, is the atomic "create unless it exists" (a plain rename would replace
/// whatever appeared since the check); file systems with neither get the check-then-rename.
fn commit(temp: &mut TempFile, name: &OsStr, dest: &Path, overwrite: bool) -> Result<(), Failure> {
    if !overwrite {
        match temp.dir.rename_new(&temp.name, name) {
            Ok(()) => {
                temp.committed = true;
                return Ok(());
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                return Err(Failure::Exists {
                    path: dest.to_owned(),
                });
            }
            Err(_) => {}
        }
        match temp.dir.hard_link(&temp.name, name) {
            Ok(()) => {
                // The member is in place; the temporary name goes with the guard.
                return Ok(());
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                return Err(Failure::Exists {
                    path: dest.to_owned(),
                });
            }
            Err(_) if temp.dir.kind(name).is_ok_and(|kind| kind.is_some()) => {
                return Err(Failure::Exists {
                    path: dest.to_owned(),
                });
            }
            Err(_) => {}
        }
    }
    temp.dir
        .rename(&temp.name, name)
        .map_err(|err| io_failure(err, "write", dest))?;
    temp.committed = true;
    Ok(())
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
    /// has a file name: [`plan`] refuses the others.
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
    /// The file mode creation mask, for entries without a Unix mode ([`permissions`]).
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

/// Checks every name, creates the directories (the last entry for each is kept, to give it
/// its time later), keeps the last of same-named members, and checks each member before any
/// request is sent for it.
fn plan<'a>(
    members: &[(&'a Entry, Range<u64>)],
    ctx: &Shared<'_>,
    fail: &dyn Fn(Failure),
) -> (HashMap<PathBuf, &'a Entry>, Vec<Job<'a>>) {
    let mut dirs = HashMap::new();
    let mut jobs: Vec<Option<Job<'a>>> = Vec::new();
    let mut by_path: HashMap<PathBuf, usize> = HashMap::new();
    for (index, (entry, span)) in members.iter().enumerate() {
        let entry: &'a Entry = entry;
        let path = match safe_path(&entry.name) {
            Ok(path) => path,
            Err(reason) => {
                fail(refused(entry, reason));
                continue;
            }
        };
        if entry.is_dir {
            if path.as_os_str().is_empty() {
                continue; // `./`: the directory itself
            }
            match open_dirs(ctx, &path, &entry.name) {
                Ok(_) => {
                    dirs.insert(path, entry);
                }
                Err(failure) => fail(failure),
            }
            continue;
        }
        if path.as_os_str().is_empty() {
            fail(refused(entry, "the name has no file name".into()));
            continue;
        }
        let kind = if entry.is_symlink {
            Kind::Link
        } else {
            Kind::File
        };
        if let Some(earlier) = by_path.insert(path.clone(), jobs.len())
            && let Some(job) = jobs[earlier].take()
        {
            fail(refused(
                job.entry,
                "a later entry has the same path and is extracted instead".into(),
            ));
        }
        jobs.push(Some(Job {
            index,
            entry,
            span: span.clone(),
            path,
            kind,
        }));
    }
    let jobs = jobs
        .into_iter()
        .flatten()
        .filter(|job| match prepare(job, ctx) {
            Ok(()) => true,
            Err(failure) => {
                fail(failure);
                false
            }
        })
        .collect();
    (dirs, jobs)
}

#[derive(Default)]
struct Tally {
    extracted: AtomicUsize,
    failed: AtomicUsize,
    skipped: AtomicUsize,
}

fn refused(entry: &Entry, reason: String) -> Failure {
    Failure::Refused {
        name: entry.name.clone(),
        reason,
    }
}

/// Checks a member before any request is sent for it: method supported, link small enough,
/// parent directories real (created), destination free unless `--overwrite`.
fn prepare(job: &Job<'_>, ctx: &Shared<'_>) -> Result<(), Failure> {
    check_supported(job.entry).map_err(Failure::Member)?;
    if job.kind == Kind::Link && job.entry.size > MAX_LINK_TARGET {
        return Err(refused(
            job.entry,
            format!(
                "a symbolic link target of {} bytes (at most {MAX_LINK_TARGET})",
                job.entry.size
            ),
        ));
    }
    let (parent, name) = job.parent_and_name();
    let dir = open_dirs(ctx, parent, &job.entry.name)?;
    let dest = ctx.root.join(&job.path);
    match dir.kind(name) {
        Ok(Some(_)) if !ctx.config.overwrite => Err(Failure::Exists { path: dest }),
        Ok(Some(DirKind::Directory)) => Err(Failure::IsADirectory {
            name: job.entry.name.clone(),
            path: dest,
        }),
        _ => Ok(()),
    }
}

/// Runs `jobs` with `ctx.config.jobs` workers, as ripunzip does: stretches of neighbouring
/// members ([`stretches`]) are each read with one forward request by a reader thread, at
/// most `jobs` requests at once, and every member's bytes go to the next free worker, which
/// decompresses and writes it. A request never waits for a decompressor it does not need,
/// so few requests keep every worker busy. Stops after a fatal error, which is returned.
fn run_concurrently(
    jobs: &[Job<'_>],
    fetcher: Arc<dyn SpanFetcher>,
    ctx: &Shared<'_>,
    record: &(dyn Fn(usize, Step) -> Option<Error> + Sync),
) -> Option<Error> {
    let workers = ctx.config.jobs.clamp(1, jobs.len().max(1));
    let batches = stretches(jobs, workers);
    let readers = workers.min(batches.len());
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let fatal = Mutex::new(None);
    let finish = |slot: usize, step: Step| {
        if let Some(err) = record(slot, step) {
            stop.store(true, Ordering::SeqCst);
            fatal.lock().expect("fatal lock").get_or_insert(err);
        }
    };
    // Each queued item holds at most `WHOLE` bytes and a longer member at most
    // `PIPE_DEPTH + 2` pieces of it, so memory stays within a few `WHOLE` per worker and
    // reader however large the archive.
    let (queue, work) = sync_channel::<Work>(workers);
    let work = Mutex::new(work);
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let Ok(item) = work.lock().unwrap_or_else(|e| e.into_inner()).recv() else {
                        return;
                    };
                    match item {
                        // Dropped after a stop: the readers see it and end.
                        _ if stop.load(Ordering::SeqCst) => {}
                        Work::Whole { slots, bytes } => {
                            let mut rest = &bytes[..];
                            for slot in slots {
                                let len = (jobs[slot].span.end - jobs[slot].span.start) as usize;
                                let (member, after) = rest.split_at(len.min(rest.len()));
                                rest = after;
                                finish(slot, write_job(&jobs[slot], member, ctx));
                            }
                        }
                        Work::Piped {
                            slot,
                            pieces,
                            broken,
                        } => {
                            let body = Pipe {
                                pieces,
                                piece: io::Cursor::new(Vec::new()),
                            };
                            match write_job(&jobs[slot], body, ctx) {
                                // Its request failed inside it: the reader reports that.
                                Step::Failed(_) if broken.load(Ordering::SeqCst) => {}
                                step => finish(slot, step),
                            }
                        }
                    }
                }
            });
        }
        for _ in 0..readers {
            let queue = queue.clone();
            let (next, stop, finish) = (&next, &stop, &finish);
            let (batches, fetcher) = (&batches, &*fetcher);
            scope.spawn(move || {
                while let Some(batch) = batches.get(next.fetch_add(1, Ordering::SeqCst)) {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Err((slot, source)) = read_stretch(jobs, batch, fetcher, &queue, stop) {
                        let name = jobs[slot].entry.name.clone();
                        finish(slot, Step::Fatal(Error::Fetch { name, source }));
                        return;
                    }
                }
            });
        }
        drop(queue);
    });
    fatal.into_inner().expect("fatal lock")
}

/// A stretch of its own covers at least this much: another connection pays for its round
/// trip (and its slow start) only when it moves this many bytes. The size from which `-j`
/// splits a transfer ([`parallel::THRESHOLD`]).
const STRETCH_MIN: u64 = parallel::THRESHOLD;

/// Groups the members into stretches, each fetched with one forward request and read member
/// after member, as ripunzip does: about one stretch per worker when most of a large archive
/// is extracted (a thousand members cost a few requests, not a thousand round trips). The
/// members are taken in the order of their bytes in the archive, whatever the central
/// directory's order (an archive updated in place lists them otherwise). The selected bytes
/// make `k = clamp(total / STRETCH_MIN, 1, workers)` stretches: member `i` goes to stretch
/// `offset_i / ceil(total / k)`, `offset_i` being the selected bytes before it; members that
/// are not neighbours (more than [`GAP`] bytes apart) never share a request. Each stretch is
/// its members' slots, in the order of their bytes.
fn stretches(jobs: &[Job<'_>], workers: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&slot| jobs[slot].span.start);
    let total: u64 = jobs.iter().map(|j| j.span.end - j.span.start).sum();
    let count = (total / STRETCH_MIN).clamp(1, workers.max(1) as u64);
    let size = total.div_ceil(count).max(1);
    let mut stretches: Vec<(Vec<usize>, u64)> = Vec::new();
    let mut offset = 0u64;
    for slot in order {
        let job = &jobs[slot];
        let index = offset / size;
        offset += job.span.end - job.span.start;
        if let Some((last, last_index)) = stretches.last_mut() {
            let neighbour = last.last().is_some_and(|&prev| {
                let gap = job.span.start.checked_sub(jobs[prev].span.end);
                gap.is_some_and(|gap| gap <= GAP)
            });
            if neighbour && *last_index == index {
                last.push(slot);
                continue;
            }
        }
        stretches.push((vec![slot], index));
    }
    stretches.into_iter().map(|(stretch, _)| stretch).collect()
}

/// Members at most this far apart are neighbours, read from the same request: what lies
/// between them (directory entries, members the selection leaves out) costs less to read and
/// skip than a request of its own.
const GAP: u64 = 64 * 1024;

/// Members of at most this many bytes are read whole before they go to a worker, neighbours
/// together up to this much (a thousand small members are a hundred hand-overs, not a
/// thousand); a longer member is passed on in pieces of this size while the worker writes it.
const WHOLE: usize = 256 * 1024;

/// Pieces of a longer member on their way to its worker.
const PIPE_DEPTH: usize = 2;

/// Members' bytes for a worker.
enum Work {
    /// Neighbouring members, whole, their spans back to back.
    Whole { slots: Vec<usize>, bytes: Vec<u8> },
    /// The pieces of a longer member, as its reader gets them; `broken` once the request
    /// failed inside it.
    Piped {
        slot: usize,
        pieces: Receiver<Vec<u8>>,
        broken: Arc<AtomicBool>,
    },
}

/// The reading end of a longer member's pieces; it ends where its reader stopped sending.
struct Pipe {
    pieces: Receiver<Vec<u8>>,
    piece: io::Cursor<Vec<u8>>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.piece.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            match self.pieces.recv() {
                Ok(piece) => self.piece = io::Cursor::new(piece),
                Err(_) => return Ok(0),
            }
        }
    }
}

/// Reads the members of `batch` from one request and hands each one to the workers; the
/// error is the member whose bytes the request failed to bring, and why.
fn read_stretch(
    jobs: &[Job<'_>],
    batch: &[usize],
    fetcher: &dyn SpanFetcher,
    queue: &SyncSender<Work>,
    stop: &AtomicBool,
) -> Result<(), (usize, source::Error)> {
    let (Some(&first), Some(&last)) = (batch.first(), batch.last()) else {
        return Ok(());
    };
    let span = jobs[first].span.start..jobs[last].span.end;
    let mut body = fetcher.fetch(span.clone()).map_err(|err| (first, err))?;
    let len = |slot: usize| jobs[slot].span.end - jobs[slot].span.start;
    // Where the body is, in the archive: the bytes between members are skipped.
    let mut pos = span.start;
    let mut skip_to = |body: &mut Body, slot: usize| -> Result<(), (usize, source::Error)> {
        let gap = jobs[slot].span.start - pos;
        let skipped = io::copy(&mut body.take(gap), &mut io::sink())
            .map_err(|err| (slot, source::Error::from(err)))?;
        if skipped < gap {
            let missing = gap - skipped;
            return Err((slot, source::Error::EndedEarly { missing }));
        }
        pos = jobs[slot].span.end;
        Ok(())
    };
    let mut at = 0;
    while at < batch.len() {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let slot = batch[at];
        if len(slot) <= WHOLE as u64 {
            // This member and the small ones after it, up to WHOLE bytes in all.
            let (from, mut total) = (at, 0);
            while at < batch.len() && total + len(batch[at]) <= WHOLE as u64 {
                total += len(batch[at]);
                at += 1;
            }
            let slots = batch[from..at].to_vec();
            let mut bytes = Vec::with_capacity(total as usize);
            for &member in &slots {
                skip_to(&mut body, member)?;
                read_exactly(&mut body, &mut bytes, len(member) as usize)
                    .map_err(|err| (member, err))?;
            }
            if queue.send(Work::Whole { slots, bytes }).is_err() {
                return Ok(());
            }
            continue;
        }
        skip_to(&mut body, slot)?;
        let (sender, pieces) = sync_channel(PIPE_DEPTH);
        let broken = Arc::new(AtomicBool::new(false));
        let work = Work::Piped {
            slot,
            pieces,
            broken: broken.clone(),
        };
        if queue.send(work).is_err() {
            return Ok(());
        }
        let mut left = len(slot);
        let mut wanted = true;
        while left > 0 {
            let want = WHOLE.min(usize::try_from(left).unwrap_or(WHOLE));
            let mut piece = Vec::with_capacity(want);
            if let Err(err) = read_exactly(&mut body, &mut piece, want) {
                broken.store(true, Ordering::SeqCst);
                return Err((slot, err));
            }
            left -= want as u64;
            // A worker that stopped reading (the member failed its check) leaves the rest
            // of its bytes to be skipped, so that the next member starts where it should.
            wanted = wanted && sender.send(piece).is_ok();
            if !wanted && stop.load(Ordering::SeqCst) {
                return Ok(());
            }
        }
        at += 1;
    }
    Ok(())
}

/// Appends exactly `len` bytes of `body` to `buf`: a body that ends first is a request that
/// ended early.
fn read_exactly(body: &mut Body, buf: &mut Vec<u8>, len: usize) -> Result<(), source::Error> {
    let got = body
        .take(len as u64)
        .read_to_end(buf)
        .map_err(source::Error::from)?;
    if got < len {
        let missing = (len - got) as u64;
        return Err(source::Error::EndedEarly { missing });
    }
    Ok(())
}

/// Fetches one member (one request) and writes it, or keeps a link's target for later.
fn run_job(
    job: &Job<'_>,
    fetch: &mut dyn FnMut(Range<u64>) -> Result<Body, source::Error>,
    ctx: &Shared<'_>,
) -> Step {
    match fetch(job.span.clone()) {
        Ok(body) => write_job(job, body, ctx),
        Err(source) => {
            let name = job.entry.name.clone();
            Step::Fatal(Error::Fetch { name, source })
        }
    }
}

/// Writes a member from its bytes, or keeps a link's target for later.
fn write_job(job: &Job<'_>, body: impl Read, ctx: &Shared<'_>) -> Step {
    let result = match job.kind {
        Kind::File => write_file(job, body, ctx).map(|()| Done::Written),
        Kind::Link => read_link(job, body, ctx).map(Done::Link),
    };
    match result {
        Ok(done) => Step::Done(done),
        Err(failure) => Step::Failed(failure),
    }
}

/// Writes a file member to a temporary name, sets its time and permissions, and moves it onto
/// its name once its size and CRC-32 have checked.
fn write_file(job: &Job<'_>, body: impl Read, ctx: &Shared<'_>) -> Result<(), Failure> {
    let entry = job.entry;
    // Everything below goes through the directory's handle.
    let (parent, name) = job.parent_and_name();
    let dir = open_dirs(ctx, parent, &entry.name)?;
    let dest = ctx.root.join(&job.path);
    // 0600 until complete: the member's own permissions are set once it checks out.
    let (mut temp, mut file) = TempFile::create(
        &dir,
        &ctx.root.join(parent),
        temp_name(name, job.index),
        |dir, temp| dir.create_new(temp, 0o600),
    )?;
    let mut out = Counting {
        file: &mut file,
        reporter: ctx.reporter,
    };
    copy_member(body, entry, &mut out, ctx.config.chunk_size).map_err(Failure::Member)?;
    if let Some(time) = modified_time(entry) {
        file.set_modified(time)
            .map_err(|err| io_failure(err, "set the time of", &dest))?;
    }
    // Never the temporary's 0600.
    file.set_permissions(permissions(entry, ctx.umask))
        .map_err(|err| io_failure(err, "set the permissions of", &dest))?;
    drop(file);
    commit(&mut temp, name, &dest, ctx.config.overwrite)
}

/// A link member's target, held in memory (at most [`MAX_LINK_TARGET`] bytes).
fn read_link(job: &Job<'_>, body: impl Read, ctx: &Shared<'_>) -> Result<Vec<u8>, Failure> {
    let target = read_member(body, job.entry, MAX_LINK_TARGET, ctx.config.chunk_size)
        .map_err(Failure::Member)?;
    ctx.reporter.progress(target.len() as u64);
    Ok(target)
}

/// Creates a symbolic link whose target checked out: directly at its name (which fails if
/// the name exists), or, with `--overwrite`, at a temporary name renamed onto it.
fn make_link(
    job: &Job<'_>,
    target: &[u8],
    made: &HashSet<PathBuf>,
    ctx: &Shared<'_>,
) -> Result<(), Failure> {
    let name = &job.entry.name;
    check_link_target(ctx.root, &job.path, target, made).map_err(|reason| Failure::Refused {
        name: name.clone(),
        reason,
    })?;
    // Links made earlier in this loop may sit on the way: the handles refuse them.
    let (parent, file_name) = job.parent_and_name();
    let dir = descend_dirs(ctx, parent, name)?;
    let dest = ctx.root.join(&job.path);
    let target = OsStr::from_bytes(target);
    if !ctx.config.overwrite {
        return dir.symlink(target, file_name).map_err(|err| {
            if err.kind() == io::ErrorKind::AlreadyExists {
                Failure::Exists { path: dest.clone() }
            } else {
                io_failure(err, "create", &dest)
            }
        });
    }
    let (mut temp, ()) = TempFile::create(
        &dir,
        &ctx.root.join(parent),
        temp_name(file_name, job.index),
        |dir, temp| dir.symlink(target, temp),
    )?;
    // Renaming a link onto a directory fails: a directory is never replaced.
    dir.rename(&temp.name, file_name)
        .map_err(|err| io_failure(err, "create", &dest))?;
    temp.committed = true;
    Ok(())
}

/// Sets the modification time and permissions of the extracted directory `rel`, through a
/// handle opened without following links.
fn finish_dir(
    ctx: &Shared<'_>,
    rel: &Path,
    entry: &Entry,
    with_permissions: bool,
) -> Result<(), Failure> {
    let verb = "set the time of";
    let dir = ctx
        .dir
        .descend(rel, false, &mut |_| {})
        .map_err(|err| dir_failure(ctx, err, &entry.name, verb))?;
    let path = ctx.root.join(rel);
    if let Some(time) = modified_time(entry) {
        dir.set_modified(time)
            .map_err(|err| io_failure(err, verb, &path))?;
    }
    if with_permissions {
        dir.set_permissions(permissions(entry, ctx.umask))
            .map_err(|err| io_failure(err, "set the permissions of", &path))?;
    }
    Ok(())
}

/// A file that counts the bytes written to it.
struct Counting<'a> {
    file: &'a mut File,
    reporter: &'a dyn Reporter,
}

impl Write for Counting<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.file.write(data)?;
        self.reporter.progress(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Read};
    use std::os::unix::ffi::OsStringExt;
    use std::sync::atomic::AtomicU64;

    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    use crate::source::Source;
    use crate::source::file::FileSource;
    use crate::zip::Archive;
    use crate::zip::member::spans;

    #[test]
    fn dos_times_are_read_as_utc() {
        let mut entry = entry("x", 0);
        entry.modified = Some("2024-05-17T13:45:30".into());
        let time = modified_time(&entry).unwrap();
        let secs = time.duration_since(SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(secs.as_secs(), 1_715_953_530);
        entry.modified = Some("1980-01-01T00:00:00".into());
        let secs = modified_time(&entry).unwrap();
        assert_eq!(
            secs.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
            315_532_800
        );
        entry.modified = None;
        assert_eq!(modified_time(&entry), None);
    }

    #[test]
    fn entries_without_a_unix_mode_get_0666_or_0777_less_the_umask() {
        let mode = |entry: &Entry| permissions(entry, 0o027).mode() & 0o7777;
        let mut file = entry("f", 1);
        assert_eq!(mode(&file), 0o640);
        file.read_only = true;
        assert_eq!(mode(&file), 0o440);
        file.unix_mode = Some(0o100000);
        assert_eq!(mode(&file), 0o440, "an all-zero mode is none");
        file.unix_mode = Some(0o104755);
        assert_eq!(
            mode(&file),
            0o755,
            "the archive's, without setuid, not masked"
        );
        let mut dir = entry("d/", 0);
        assert_eq!(mode(&dir), 0o750);
        dir.read_only = true;
        assert_eq!(mode(&dir), 0o550);
    }

    #[test]
    fn temp_names_are_hidden_distinct_and_short() {
        let long = "é".repeat(150);
        let name = temp_name(OsStr::new(&long), 7);
        let name = name.to_str().unwrap();
        assert!(name.starts_with('.') && name.ends_with("-7.part"), "{name}");
        assert!(name.len() <= 255, "{}", name.len());
        assert_ne!(name, temp_name(OsStr::new(&long), 8).to_str().unwrap());
    }

    fn entry(name: &str, size: u64) -> Entry {
        Entry {
            name: name.into(),
            size,
            compressed_size: size,
            method: CompressionMethod::Stored,
            crc32: 0,
            modified: None,
            is_dir: name.ends_with('/'),
            is_symlink: false,
            unix_mode: None,
            read_only: false,
            encrypted: false,
            header_start: 0,
        }
    }

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
    fn commit_never_replaces_without_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let handle = Dir::open(dir.path()).unwrap();
        let dest = dir.path().join("x");
        fs::write(&dest, b"mine").unwrap();
        let name = OsStr::new("x");
        let new = |dir: &Dir, temp: &OsStr| {
            dir.create_new(temp, 0o600)
                .and_then(|mut file| file.write_all(b"new"))
        };
        let (mut temp, ()) = TempFile::create(&handle, dir.path(), temp_name(name, 0), new)
            .map_err(|f| f.to_string())
            .unwrap();
        let result = commit(&mut temp, name, &dest, false);
        assert!(matches!(result, Err(Failure::Exists { .. })));
        drop(temp);
        assert_eq!(fs::read(&dest).unwrap(), b"mine");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temporary removed"
        );

        let (mut temp, ()) = TempFile::create(&handle, dir.path(), temp_name(name, 1), new)
            .map_err(|f| f.to_string())
            .unwrap();
        assert!(commit(&mut temp, name, &dest, true).is_ok());
        drop(temp);
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
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
