//! Writing members safely: through directory handles that never follow a link, to a hidden
//! temporary name renamed onto the member's own once it checks, with the archive's time and
//! permissions; symbolic links last, once their target stays inside.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use super::{Done, Failure, Job, Kind, MAX_LINK_TARGET, Reporter, Shared, Step};
use crate::zip::dir::{Dir, OpenError};
use crate::zip::entry::Entry;
use crate::zip::member::{copy_member, read_member};
use crate::zip::path::check_link_target;
use crate::zip::times;

/// A temporary name keeps at most this many bytes of the member's own name, so that it stays
/// under the usual 255-byte limit on a file name with the suffix added.
const TEMP_NAME_KEEP: usize = 200;

/// The handles of the directories members go in, kept for the members after (at most
/// [`DIR_HANDLES`] open at once): a handle is the directory itself, checked when it was
/// opened, so whatever is renamed or swapped later, writes through it stay in that directory.
pub(super) type DirHandles = Mutex<HashMap<PathBuf, Arc<Dir>>>;

/// The most directory handles kept open at once (each is a file descriptor).
const DIR_HANDLES: usize = 64;

/// The handle of the directory `rel` under the root ([`descend_dirs`]), kept for the members
/// after.
pub(super) fn open_dirs(ctx: &Shared<'_>, rel: &Path, name: &str) -> Result<Arc<Dir>, Failure> {
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
pub(super) fn current_umask() -> u32 {
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

/// Writes a member from its bytes, or keeps a link's target for later.
pub(super) fn write_job(job: &Job<'_>, body: impl Read, ctx: &Shared<'_>) -> Step {
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
pub(super) fn make_link(
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
pub(super) fn finish_dir(
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

    use zip::CompressionMethod;

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
}
