//! Directories as open handles, for `x` (README "Security"): every path below the extraction
//! directory is reached one component at a time with `openat(2)` and `O_NOFOLLOW`, and every
//! create, link, rename, removal and attribute change is made relative to an open handle. A
//! directory swapped for a symbolic link by someone else, at any moment, makes the operation
//! fail instead of reaching through the link.

use std::ffi::OsStr;
use std::fs::{File, Permissions};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

/// An open directory.
#[derive(Debug)]
pub struct Dir {
    file: File,
}

/// What stands at a name, seen without following a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Directory,
    /// A symbolic link.
    Link,
    /// Anything else: a file, a device, a socket.
    Other,
}

/// Why a directory below another could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// This component (relative to where the walk started) is a symbolic link.
    Link(PathBuf),
    /// This component is something other than a directory.
    NotADirectory(PathBuf),
    /// Opening or creating this component failed.
    Io(PathBuf, io::Error),
}

const DIRECTORY: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

impl Dir {
    /// Opens the directory at `path`, following links: this is the user's own choice of
    /// directory, as `unzip -d` follows it.
    pub fn open(path: &Path) -> io::Result<Dir> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Dir { file: fd.into() })
    }

    /// Opens the directory `rel` below this one, never following a link. With `create`,
    /// missing components are made (mode 0777 less the umask, as `mkdir`), and `made` hears
    /// of each one (its path relative to this directory). `rel` holds only normal components
    /// (a checked entry name).
    pub fn descend(
        &self,
        rel: &Path,
        create: bool,
        made: &mut dyn FnMut(&Path),
    ) -> Result<Dir, OpenError> {
        let mut at = PathBuf::new();
        let mut current: Option<Dir> = None;
        for part in rel.components() {
            let Component::Normal(name) = part else {
                continue;
            };
            at.push(name);
            let parent = current.as_ref().unwrap_or(self);
            current = Some(parent.child(name, create, &at, made)?);
        }
        match current {
            Some(dir) => Ok(dir),
            None => self.duplicate().map_err(|err| OpenError::Io(at, err)),
        }
    }

    /// Opens (or, with `create`, makes and opens) the directory `name` here.
    fn child(
        &self,
        name: &OsStr,
        create: bool,
        at: &Path,
        made: &mut dyn FnMut(&Path),
    ) -> Result<Dir, OpenError> {
        let mut created = false;
        loop {
            match rustix::fs::openat(&self.file, name, DIRECTORY, Mode::empty()) {
                Ok(fd) => return Ok(Dir { file: fd.into() }),
                Err(rustix::io::Errno::NOENT) if create && !created => {
                    match rustix::fs::mkdirat(&self.file, name, Mode::from_raw_mode(0o777)) {
                        Ok(()) => made(at),
                        // Another worker made it meanwhile: open it.
                        Err(rustix::io::Errno::EXIST) => {}
                        Err(err) => return Err(OpenError::Io(at.to_owned(), err.into())),
                    }
                    created = true;
                }
                Err(rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR) => {
                    return Err(match self.kind(name) {
                        Ok(Some(Kind::Link)) => OpenError::Link(at.to_owned()),
                        Ok(Some(Kind::Directory)) => OpenError::Io(
                            at.to_owned(),
                            io::Error::other("it changed while being opened"),
                        ),
                        _ => OpenError::NotADirectory(at.to_owned()),
                    });
                }
                Err(err) => return Err(OpenError::Io(at.to_owned(), err.into())),
            }
        }
    }

    fn duplicate(&self) -> io::Result<Dir> {
        Ok(Dir {
            file: self.file.try_clone()?,
        })
    }

    /// What `name` here is, without following a link; `None` if nothing is there.
    pub fn kind(&self, name: &OsStr) -> io::Result<Option<Kind>> {
        match rustix::fs::statat(&self.file, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Ok(Some(match FileType::from_raw_mode(stat.st_mode) {
                FileType::Directory => Kind::Directory,
                FileType::Symlink => Kind::Link,
                _ => Kind::Other,
            })),
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Creates the file `name` here for writing with `mode`: fails if anything, even a
    /// dangling link, is already there.
    pub fn create_new(&self, name: &OsStr, mode: u32) -> io::Result<File> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.file, name, flags, Mode::from_raw_mode(mode))?;
        Ok(fd.into())
    }

    /// Gives the file `from` here the second name `to` here; fails if `to` exists.
    pub fn hard_link(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::linkat(
            &self.file,
            from,
            &self.file,
            to,
            AtFlags::empty(),
        )?)
    }

    /// Renames `from` here to `to` here, unless `to` exists (`RENAME_NOREPLACE`): atomic
    /// "create unless it exists" in one call. `Unsupported` (or `InvalidInput`, from a file
    /// system without it) means the caller must do it another way.
    pub fn rename_new(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use rustix::fs::RenameFlags;
            let flags = RenameFlags::NOREPLACE;
            Ok(rustix::fs::renameat_with(
                &self.file, from, &self.file, to, flags,
            )?)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = (from, to);
            Err(io::ErrorKind::Unsupported.into())
        }
    }

    /// Renames `from` here onto `to` here, replacing a file or link (never a directory).
    pub fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::renameat(&self.file, from, &self.file, to)?)
    }

    /// Removes the file or link `name` here.
    pub fn remove(&self, name: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(&self.file, name, AtFlags::empty())?)
    }

    /// Creates the symbolic link `name` here, pointing to `target`; fails if `name` exists.
    pub fn symlink(&self, target: &OsStr, name: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::symlinkat(target, &self.file, name)?)
    }

    /// Sets this directory's modification time.
    pub fn set_modified(&self, time: SystemTime) -> io::Result<()> {
        self.file.set_modified(time)
    }

    /// Sets this directory's permission bits.
    pub fn set_permissions(&self, permissions: Permissions) -> io::Result<()> {
        self.file.set_permissions(permissions)
    }
}
