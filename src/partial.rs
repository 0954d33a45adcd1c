//! Downloads that survive an interruption (`-c/--continue`, README "Output"): the output
//! written so far is kept in a hidden partial file beside the destination, and a state file
//! beside it says how many of its bytes are done and for which version of the resource (a
//! strong validator and the length) and which output (the resolved ranges). A later run
//! with the same version and output writes only what is missing and renames the partial
//! file onto the destination when it is complete.
//!
//! The output is written strictly in order (even under `-j`), so what is done is always a
//! prefix of it: the state is one number. It is recorded only after the bytes it counts are
//! synced (at most every [`CHECKPOINT_EVERY`], when the run ends, and on SIGINT/SIGTERM
//! through [`checkpoint_all`]), and replaced atomically (a new file renamed over the old),
//! so whatever kills the process, what the state says is done is on disk. Nothing is sized
//! by the state's numbers: it is read from a file of at most [`STATE_LIMIT`] bytes, and
//! the partial file is only truncated to what it already holds.
//!
//! ```
//! use rangecat::partial::{Layout, PartialFile, Validator, Version};
//! use std::io::Write;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let dest = dir.path().join("big.iso");
//! let version = Version { validator: Validator::ETag("\"v1\"".into()), len: 10 };
//! let layout = Layout::of(&[0..10]);
//! let mut partial = PartialFile::open(&dest)?;
//! assert_eq!(partial.begin(Some(version.clone()), layout)?, 0);
//! partial.write_all(b"01234")?;
//! drop(partial); // interrupted: the five bytes are kept
//! let mut partial = PartialFile::open(&dest)?;
//! assert_eq!(partial.saved_version(), Some(&version));
//! assert_eq!(partial.begin(Some(version), layout)?, 5);
//! partial.write_all(b"56789")?;
//! partial.finish()?;
//! assert_eq!(std::fs::read(&dest)?, b"0123456789");
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::source::Identity;

/// The longest a state file may be; a longer one is not a state file of ours.
pub const STATE_LIMIT: u64 = 4096;

/// The longest validator kept (an ETag or an HTTP-date is far shorter).
const VALIDATOR_LIMIT: usize = 1024;

/// How often progress is recorded while bytes come in: what a SIGKILL can lose.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// The first line of a state file, with the format's version.
const MAGIC: &str = "rangecat partial download 1";

/// Why a partial download could not be opened or kept.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Another process holds the partial file (it is continuing the same download).
    Busy {
        /// The partial file.
        path: PathBuf,
    },
    /// A file operation failed.
    Io {
        /// What was being done.
        what: String,
        /// The failure.
        source: io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Busy { path } => write!(
                f,
                "{} is in use by another rangecat continuing the same download",
                path.display()
            ),
            Error::Io { what, .. } => f.write_str(what),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Busy { .. } => None,
            Error::Io { source, .. } => Some(source),
        }
    }
}

fn io_error(what: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

/// A strong validator (RFC 9110 §8.8.1): what `If-Range` may carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validator {
    /// A strong `ETag`, quotes included.
    ETag(String),
    /// A strong `Last-Modified`.
    LastModified(String),
}

/// One version of a resource, as a partial download is kept for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Its strong validator.
    pub validator: Validator,
    /// Its length.
    pub len: u64,
}

impl Version {
    /// The version `identity` names, when it has a strong validator (a strong ETag, else a
    /// strong Last-Modified) and a length: without them a later run could not tell whether
    /// the resource is still the same.
    pub fn of(identity: &Identity) -> Option<Version> {
        let len = identity.len?;
        let validator = match &identity.etag {
            Some(etag) if !etag.starts_with("W/") => Validator::ETag(etag.clone()),
            _ if identity.last_modified_is_strong => {
                Validator::LastModified(identity.last_modified.clone()?)
            }
            _ => return None,
        };
        let value = match &validator {
            Validator::ETag(value) | Validator::LastModified(value) => value,
        };
        storable(value).then_some(Version { validator, len })
    }

    /// The identity a source takes as its first response's, so that every request carries
    /// `If-Range` with this validator and every answer is checked against it.
    pub fn identity(&self) -> Identity {
        let (etag, last_modified) = match &self.validator {
            Validator::ETag(value) => (Some(value.clone()), None),
            Validator::LastModified(value) => (None, Some(value.clone())),
        };
        Identity {
            etag,
            last_modified_is_strong: last_modified.is_some(),
            last_modified,
            len: Some(self.len),
            no_store: false,
        }
    }
}

/// Whether a validator can be written on one line of a state file and read back as it was.
fn storable(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= VALIDATOR_LIMIT
        && value.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// What a run writes: its resolved ranges, in order, as a count, a total and a checksum. A
/// partial download continues only into the same output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    count: u64,
    total: u64,
    crc: u32,
}

impl Layout {
    /// The layout of an output made of `ranges`' bytes, in order.
    pub fn of(ranges: &[Range<u64>]) -> Layout {
        let mut crc = crc32fast::Hasher::new();
        let mut total = 0u64;
        for range in ranges {
            crc.update(&range.start.to_le_bytes());
            crc.update(&range.end.to_le_bytes());
            total = total.saturating_add(range.end.saturating_sub(range.start));
        }
        Layout {
            count: ranges.len() as u64,
            total,
            crc: crc.finalize(),
        }
    }

    /// How many bytes the output holds.
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// What the state file says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    version: Version,
    layout: Layout,
    /// Bytes of the output at the start of the partial file that are done.
    done: u64,
}

impl State {
    fn encode(&self) -> String {
        let validator = match &self.version.validator {
            Validator::ETag(value) => format!("etag {value}"),
            Validator::LastModified(value) => format!("last-modified {value}"),
        };
        let Layout { count, total, crc } = self.layout;
        let body = format!(
            "{MAGIC}\nlength {}\n{validator}\nlayout {count} {total} {crc:08x}\ndone {}\n",
            self.version.len, self.done
        );
        let check = crc32fast::hash(body.as_bytes());
        format!("{body}check {check:08x}\n")
    }

    /// The state `text` holds, exactly as [`encode`](State::encode) writes it; anything else
    /// (a torn write, another program's file, a number past its bounds) is `None`.
    fn decode(text: &[u8]) -> Option<State> {
        let text = std::str::from_utf8(text).ok()?;
        let (body, check) = text.strip_suffix('\n')?.rsplit_once('\n')?;
        let body = format!("{body}\n");
        let check = u32::from_str_radix(check.strip_prefix("check ")?, 16).ok()?;
        if check != crc32fast::hash(body.as_bytes()) {
            return None;
        }
        let mut lines = body.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let len = number(lines.next()?.strip_prefix("length ")?)?;
        let line = lines.next()?;
        let validator = if let Some(value) = line.strip_prefix("etag ") {
            Validator::ETag(value.to_owned())
        } else {
            Validator::LastModified(line.strip_prefix("last-modified ")?.to_owned())
        };
        let mut layout = lines.next()?.strip_prefix("layout ")?.split(' ');
        let count = number(layout.next()?)?;
        let total = number(layout.next()?)?;
        let crc = u32::from_str_radix(layout.next()?, 16).ok()?;
        let done = number(lines.next()?.strip_prefix("done ")?)?;
        let value = match &validator {
            Validator::ETag(value) | Validator::LastModified(value) => value,
        };
        let whole = layout.next().is_none() && lines.next().is_none();
        (whole && storable(value) && done <= total).then_some(State {
            version: Version { validator, len },
            layout: Layout { count, total, crc },
            done,
        })
    }
}

/// A decimal number as [`State::encode`] writes it (no sign, no leading zeros).
fn number(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// `ranges` without their first `done` bytes of output: what is still missing when the
/// output's first `done` bytes are written.
///
/// ```
/// assert_eq!(rangecat::partial::skip(&[0..10, 20..30], 13), vec![23..30]);
/// ```
pub fn skip(ranges: &[Range<u64>], done: u64) -> Vec<Range<u64>> {
    let mut left = done;
    let mut missing = Vec::new();
    for range in ranges {
        let len = range.end.saturating_sub(range.start);
        if left >= len {
            left -= len;
            continue;
        }
        missing.push(range.start + left..range.end);
        left = 0;
    }
    missing
}

/// `dir/.NAME.rangecat.part` and `dir/.NAME.rangecat.state`: the partial file and its state,
/// hidden, beside `dest` so that the final rename is atomic.
pub fn paths(dest: &Path) -> (PathBuf, PathBuf) {
    let name = dest
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    (
        dest.with_file_name(format!(".{name}.rangecat.part")),
        dest.with_file_name(format!(".{name}.rangecat.state")),
    )
}

/// The partial downloads of this process, for [`checkpoint_all`].
static ACTIVE: Mutex<Vec<Weak<Mutex<Inner>>>> = Mutex::new(Vec::new());

/// Records the progress of every partial download under way (on SIGINT or SIGTERM, just
/// before exiting): each one's bytes written so far are synced and counted as done. A write
/// under way finishes first, and none starts after: the caller is expected to exit.
pub fn checkpoint_all() {
    let active: Vec<_> = lock(&ACTIVE).iter().filter_map(Weak::upgrade).collect();
    for inner in active {
        let mut inner = lock(&inner);
        let _ = inner.checkpoint();
        // Held until the process exits: nothing more is written.
        std::mem::forget(inner);
    }
}

/// Takes the lock that keeps two processes from continuing the same download; a holder that
/// lets go within half a second is waited for (a child forked by another thread holds a
/// copy of the descriptor until it execs).
fn lock_exclusive(file: &File) -> io::Result<()> {
    let mut tries = 0;
    loop {
        match rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(()),
            Err(err) if err == rustix::io::Errno::WOULDBLOCK && tries < 25 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(err) => return Err(err.into()),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every change under these locks leaves the data consistent.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A download kept in a partial file beside its destination until it is complete.
///
/// Made by [`open`](PartialFile::open) before the first request; [`begin`](PartialFile::begin)
/// tells it the version and the output once they are known, and returns how much of the
/// output is already done. It is written in order ([`Write`]); [`finish`](PartialFile::finish)
/// renames it onto the destination. Dropped unfinished, it keeps what it holds when the
/// version can be continued, and removes itself otherwise.
pub struct PartialFile {
    inner: Arc<Mutex<Inner>>,
    /// What the state file said when opened, if it is ours and consistent with the data.
    saved: Option<State>,
    /// `begin` found bytes kept by an earlier run (of the same version and output or not).
    found: bool,
}

struct Inner {
    dest: PathBuf,
    data: PathBuf,
    state: PathBuf,
    file: File,
    /// The data file did not exist before: it is removed when nothing is kept.
    created: bool,
    /// The data file is registered as a temporary that SIGINT and SIGTERM remove: no state
    /// counts any of its bytes.
    temporary: bool,
    /// Set by `begin`: the state being written (`None`: a version that cannot be continued,
    /// so the file is a plain temporary).
    begun: Option<Option<State>>,
    /// Bytes of the output in the data file.
    written: u64,
    /// `written` at the last checkpoint.
    recorded: u64,
    last: Instant,
    finished: bool,
}

impl PartialFile {
    /// Opens (or creates) the partial file for `dest` and reads its state; nothing is
    /// changed yet. A partial file that another process holds is [`Error::Busy`].
    pub fn open(dest: &Path) -> Result<PartialFile, Error> {
        let (data, state) = paths(dest);
        let created = fs::symlink_metadata(&data).is_err();
        let cannot = || format!("cannot create {}", data.display());
        // Created and registered in one step: a signal at any moment removes it.
        let file = if created {
            crate::temporaries::create(&data, || open_regular(&data, true))
        } else {
            open_regular(&data, true)
        };
        let file = file.and_then(|file| lock_exclusive(&file).map(|()| file));
        let file = match file {
            Ok(file) => file,
            Err(err) => {
                crate::temporaries::forget(&data);
                if err.kind() == io::ErrorKind::WouldBlock {
                    return Err(Error::Busy { path: data });
                }
                return Err(io_error(cannot())(err));
            }
        };
        let on_disk = file.metadata().map(|meta| meta.len()).unwrap_or(0);
        let saved = read_state(&state).filter(|saved| saved.done <= on_disk);
        let inner = Arc::new(Mutex::new(Inner {
            dest: dest.to_owned(),
            data,
            state,
            file,
            created,
            temporary: created,
            begun: None,
            written: 0,
            recorded: 0,
            last: Instant::now(),
            finished: false,
        }));
        lock(&ACTIVE).push(Arc::downgrade(&inner));
        Ok(PartialFile {
            inner,
            saved,
            found: false,
        })
    }

    /// The version the kept bytes were fetched under, when some are kept.
    pub fn saved_version(&self) -> Option<&Version> {
        self.saved
            .as_ref()
            .filter(|saved| saved.done > 0)
            .map(|saved| &saved.version)
    }

    /// Starts writing the output of `layout` for `version` (`None`: one that cannot be
    /// continued, such as a resource without a strong validator or length). When the kept
    /// bytes are of the same version and output, they stay and their count is returned: the
    /// output goes on from there. Otherwise they are dropped and this returns 0.
    pub fn begin(&mut self, version: Option<Version>, layout: Layout) -> Result<u64, Error> {
        let mut inner = lock(&self.inner);
        self.found = self.saved_version().is_some();
        let kept = self
            .saved
            .take()
            .filter(|saved| Some(&saved.version) == version.as_ref() && saved.layout == layout)
            .map_or(0, |saved| saved.done);
        inner.start(version.map(|version| State {
            version,
            layout,
            done: kept,
        }))?;
        Ok(kept)
    }

    /// Whether [`begin`](PartialFile::begin) found bytes kept by an earlier run, whether it
    /// kept them or not: their version is the one [`saved_version`](PartialFile::saved_version)
    /// offered before it.
    pub fn found(&self) -> bool {
        self.found
    }

    /// Drops the kept bytes and their state: the resource is not the version they were
    /// fetched under. The partial file is empty afterwards, as a new one.
    pub fn discard(&mut self) -> Result<(), Error> {
        (self.saved, self.found) = (None, false);
        lock(&self.inner).start(None)
    }

    /// Completes the download: the partial file is synced, renamed onto the destination,
    /// and its state removed.
    pub fn finish(self) -> Result<(), Error> {
        let mut inner = lock(&self.inner);
        if inner.begun.is_none() {
            inner.start(None)?;
        }
        let written = format!("cannot write {}", inner.dest.display());
        inner.file.sync_all().map_err(io_error(written))?;
        fs::rename(&inner.data, &inner.dest).map_err(io_error(format!(
            "cannot move the download onto {}",
            inner.dest.display()
        )))?;
        inner.finished = true;
        inner.set_temporary(false);
        inner.remove_state();
        Ok(())
    }
}

impl Write for PartialFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut inner = lock(&self.inner);
        if inner.begun.is_none() {
            // Written before the output was known (a length the server did not tell): the
            // file is a plain temporary.
            inner.start(None).map_err(io::Error::other)?;
        }
        let n = inner.file.write(data)?;
        inner.written += n as u64;
        if inner.last.elapsed() >= CHECKPOINT_EVERY {
            inner.checkpoint()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        let mut inner = lock(&self.inner);
        if inner.finished {
            return;
        }
        match inner.begun {
            // Kept; should this last checkpoint fail, the one before still stands (the data
            // file only grew past what it counts).
            Some(Some(_)) if inner.written > 0 => {
                if inner.checkpoint().is_err() && inner.recorded == 0 {
                    let _ = fs::remove_file(&inner.data);
                    inner.remove_state();
                }
            }
            // Untouched: what an earlier run kept stays as it was.
            None if !inner.created => {}
            _ => {
                let _ = fs::remove_file(&inner.data);
                inner.remove_state();
            }
        }
        inner.set_temporary(false);
    }
}

impl Inner {
    /// Starts the output anew after `state.done` bytes (none without a state): the data file
    /// is cut there, and the state file removed until the first checkpoint. Until a state
    /// counts some of its bytes, the data file is a temporary that SIGINT and SIGTERM remove.
    fn start(&mut self, state: Option<State>) -> Result<(), Error> {
        let kept = state.as_ref().map_or(0, |state| state.done);
        let cannot = format!("cannot write {}", self.data.display());
        self.file.set_len(kept).map_err(io_error(&cannot))?;
        self.file
            .seek(SeekFrom::Start(kept))
            .map_err(io_error(&cannot))?;
        if kept == 0 {
            self.remove_state();
        }
        self.set_temporary(kept == 0);
        (self.written, self.recorded) = (kept, kept);
        self.begun = Some(state);
        self.last = Instant::now();
        Ok(())
    }

    /// Records the bytes written so far as done: synced first, then the state replaced by a
    /// new file renamed over it. Nothing to do for a temporary, or with nothing new.
    fn checkpoint(&mut self) -> io::Result<()> {
        self.last = Instant::now();
        let Some(Some(state)) = &mut self.begun else {
            return Ok(());
        };
        if self.written == self.recorded || self.finished {
            return Ok(());
        }
        self.file.sync_data()?;
        state.done = self.written.min(state.layout.total);
        let text = state.encode();
        let new = self.state.with_extension("state.new");
        // Made anew (O_EXCL): a link planted under its name is not followed.
        let _ = fs::remove_file(&new);
        let mut file = OpenOptions::new().write(true).create_new(true).open(&new)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&new, &self.state)?;
        self.recorded = self.written;
        self.set_temporary(false);
        Ok(())
    }

    fn set_temporary(&mut self, temporary: bool) {
        match (self.temporary, temporary) {
            (false, true) => crate::temporaries::register(&self.data),
            (true, false) => crate::temporaries::forget(&self.data),
            _ => {}
        }
        self.temporary = temporary;
    }

    fn remove_state(&self) {
        let _ = fs::remove_file(&self.state);
        let _ = fs::remove_file(self.state.with_extension("state.new"));
    }
}

/// Opens `path` if it is a regular file, never following a symbolic link nor waiting on a
/// FIFO (the partial files lie in a directory others may write to); `write` also creates it.
fn open_regular(path: &Path, write: bool) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let file = OpenOptions::new()
        .read(true)
        .write(write)
        .create(write)
        .truncate(false)
        .custom_flags(flags.bits() as i32)
        .open(path)?;
    if !file.metadata()?.is_file() {
        let what = format!("{} is not a regular file", path.display());
        return Err(io::Error::new(io::ErrorKind::InvalidInput, what));
    }
    Ok(file)
}

/// The state in `path`, if it is a state file of ours (at most [`STATE_LIMIT`] bytes).
fn read_state(path: &Path) -> Option<State> {
    let file = open_regular(path, false).ok()?;
    let mut text = Vec::new();
    file.take(STATE_LIMIT + 1).read_to_end(&mut text).ok()?;
    if text.len() as u64 > STATE_LIMIT {
        return None;
    }
    State::decode(&text)
}

#[cfg(test)]
// An output of one range is `&[0..8]`, as meant.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    fn version(tag: &str, len: u64) -> Version {
        Version {
            validator: Validator::ETag(tag.into()),
            len,
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn states_read_back_exactly_and_nothing_else_does() {
        let state = State {
            version: Version {
                validator: Validator::LastModified("Mon, 01 Jan 2024 00:00:00 GMT".into()),
                len: 1 << 40,
            },
            layout: Layout::of(&[5..10, 0..1 << 40]),
            done: 12345,
        };
        let text = state.encode();
        assert_eq!(State::decode(text.as_bytes()), Some(state.clone()));
        // Any one byte changed, or the text cut anywhere, is refused.
        for at in 0..text.len() {
            let mut bytes = text.clone().into_bytes();
            bytes[at] ^= 0x01;
            assert_eq!(State::decode(&bytes), None, "byte {at} flipped");
            assert_eq!(State::decode(&text.as_bytes()[..at]), None, "cut at {at}");
        }
        // A done count past the output is refused even with a right checksum.
        let past = State {
            done: 1 << 41,
            ..state
        };
        assert_eq!(State::decode(past.encode().as_bytes()), None);
    }

    #[test]
    fn only_a_strong_validator_with_a_length_makes_a_version() {
        let date = "Mon, 01 Jan 2024 00:00:00 GMT";
        let identity = |etag: Option<&str>, strong_date: bool, len: Option<u64>| Identity {
            etag: etag.map(str::to_owned),
            last_modified: Some(date.to_owned()),
            last_modified_is_strong: strong_date,
            len,
            no_store: true,
        };
        let etag = Validator::ETag("\"a\"".into());
        let modified = Validator::LastModified(date.into());
        let of = |etag, strong, len| Version::of(&identity(etag, strong, len));
        assert_eq!(of(Some("\"a\""), true, Some(5)).unwrap().validator, etag);
        assert_eq!(
            of(Some("W/\"a\""), true, Some(5)).unwrap().validator,
            modified
        );
        assert_eq!(of(Some("W/\"a\""), false, Some(5)), None);
        assert_eq!(of(None, false, Some(5)), None);
        assert_eq!(of(Some("\"a\""), true, None), None);
        assert_eq!(of(Some("\"a\nb\""), false, Some(5)), None, "not one line");
        let version = of(None, true, Some(5)).unwrap();
        assert_eq!(Version::of(&version.identity()), Some(version));
    }

    #[test]
    fn skip_drops_the_output_s_first_bytes() {
        let ranges = [10..20, 0..5, 30..40];
        assert_eq!(skip(&ranges, 0), ranges.to_vec());
        assert_eq!(skip(&ranges, 4), vec![14..20, 0..5, 30..40]);
        assert_eq!(skip(&ranges, 10), vec![0..5, 30..40]);
        assert_eq!(skip(&ranges, 12), vec![2..5, 30..40]);
        assert_eq!(skip(&ranges, 25), Vec::<Range<u64>>::new());
        assert_eq!(skip(&ranges, u64::MAX), Vec::<Range<u64>>::new());
    }

    #[test]
    fn a_download_continues_only_for_the_same_version_and_output() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        let layout = Layout::of(&[0..8]);
        let mut partial = PartialFile::open(&dest).unwrap();
        assert_eq!(partial.saved_version(), None);
        assert_eq!(partial.begin(Some(version("\"a\"", 8)), layout).unwrap(), 0);
        partial.write_all(b"abcd").unwrap();
        drop(partial);
        assert_eq!(
            names(dir.path()),
            [".out.bin.rangecat.part", ".out.bin.rangecat.state"]
        );
        // Another output of the same version: started over.
        let mut partial = PartialFile::open(&dest).unwrap();
        assert_eq!(partial.saved_version(), Some(&version("\"a\"", 8)));
        let other = Layout::of(&[0..4, 4..8]);
        assert_eq!(partial.begin(Some(version("\"a\"", 8)), other).unwrap(), 0);
        partial.write_all(b"ABC").unwrap();
        drop(partial);
        // Another version: started over.
        let mut partial = PartialFile::open(&dest).unwrap();
        assert_eq!(partial.begin(Some(version("\"b\"", 8)), other).unwrap(), 0);
        partial.write_all(b"xy").unwrap();
        drop(partial);
        let mut partial = PartialFile::open(&dest).unwrap();
        assert_eq!(partial.begin(Some(version("\"b\"", 8)), other).unwrap(), 2);
        partial.write_all(b"z12345").unwrap();
        partial.finish().unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"xyz12345");
        assert_eq!(names(dir.path()), ["out.bin"]);
    }

    #[test]
    fn a_version_that_cannot_be_continued_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        let mut partial = PartialFile::open(&dest).unwrap();
        assert_eq!(partial.begin(None, Layout::of(&[0..8])).unwrap(), 0);
        partial.write_all(b"abcd").unwrap();
        drop(partial);
        assert_eq!(names(dir.path()), Vec::<String>::new());
        // Opened and dropped untouched: an earlier run's partial file stays as it was.
        let mut partial = PartialFile::open(&dest).unwrap();
        partial
            .begin(Some(version("\"a\"", 8)), Layout::of(&[0..8]))
            .unwrap();
        partial.write_all(b"abcd").unwrap();
        drop(partial);
        drop(PartialFile::open(&dest).unwrap());
        assert_eq!(names(dir.path()).len(), 2);
    }

    #[test]
    fn links_and_fifos_planted_under_the_partial_names_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        let (data, state) = paths(&dest);
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, &data).unwrap();
        assert!(matches!(PartialFile::open(&dest), Err(Error::Io { .. })));
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        fs::remove_file(&data).unwrap();
        // A FIFO as the state: not waited on, not a state.
        let made = std::process::Command::new("mkfifo").arg(&state).status();
        assert!(made.unwrap().success());
        let mut partial = PartialFile::open(&dest).unwrap();
        assert_eq!(partial.saved_version(), None);
        // A link as the new state's name: replaced, not followed.
        fs::remove_file(&state).unwrap();
        std::os::unix::fs::symlink(&victim, state.with_extension("state.new")).unwrap();
        partial
            .begin(Some(version("\"a\"", 8)), Layout::of(&[0..8]))
            .unwrap();
        partial.write_all(b"abc").unwrap();
        drop(partial);
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        let mut partial = PartialFile::open(&dest).unwrap();
        assert_eq!(
            partial
                .begin(Some(version("\"a\"", 8)), Layout::of(&[0..8]))
                .unwrap(),
            3
        );
    }

    #[test]
    fn a_partial_file_in_use_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        let _held = PartialFile::open(&dest).unwrap();
        assert!(matches!(PartialFile::open(&dest), Err(Error::Busy { .. })));
    }
}
