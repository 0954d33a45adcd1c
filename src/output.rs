//! Where the bytes go: stdout, or `-o FILE` through a temporary file renamed only on
//! success; and the progress bar on stderr, drawn under the interface's rules.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Error;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use rangecat::partial::PartialFile;

/// Transfers at least this large get a progress bar on a terminal: smaller ones finish
/// before a bar would be worth reading.
pub const PROGRESS_THRESHOLD: u64 = 4 * 1024 * 1024;

/// When to draw a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressPolicy {
    /// When stderr is a terminal and the transfer is large (the default).
    Auto,
    /// Always (`--progress`).
    Always,
    /// Never (`-q`).
    Never,
}

/// A progress bar over `total` bytes, or `None` when the policy says not to draw one.
pub fn progress_bar(policy: ProgressPolicy, total: u64) -> Option<ProgressBar> {
    let target = match policy {
        ProgressPolicy::Never => return None,
        ProgressPolicy::Auto if total < PROGRESS_THRESHOLD || !io::stderr().is_terminal() => {
            return None;
        }
        ProgressPolicy::Auto => ProgressDrawTarget::stderr(),
        // indicatif hides itself off a terminal; a forced bar draws on stderr regardless.
        ProgressPolicy::Always => ProgressDrawTarget::term_like_with_hz(Box::new(PlainStderr), 4),
    };
    let style = ProgressStyle::with_template(
        "{bytes:>10} / {total_bytes} {wide_bar} {binary_bytes_per_sec:>12} ETA {eta}",
    )
    .expect("valid template");
    let bar = ProgressBar::with_draw_target(Some(total), target).with_style(style);
    bar.enable_steady_tick(Duration::from_millis(250));
    Some(bar)
}

/// Writes every line of a forced progress bar as a carriage-return update.
#[derive(Debug)]
struct PlainStderr;

impl TermLike for PlainStderr {
    fn width(&self) -> u16 {
        80
    }
    fn move_cursor_up(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn write_line(&self, line: &str) -> io::Result<()> {
        write!(io::stderr(), "\r{line}")
    }
    fn write_str(&self, text: &str) -> io::Result<()> {
        io::stderr().write_all(text.as_bytes())
    }
    fn clear_line(&self) -> io::Result<()> {
        io::stderr().write_all(b"\r")
    }
    fn flush(&self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// The destination of a transfer.
pub struct Output {
    sink: Sink,
    bar: Option<ProgressBar>,
    written: u64,
}

enum Sink {
    /// Written as it is: stdout (a duplicate of fd 1, unbuffered: each write is already a
    /// large chunk), or a FILE that is not a regular file (`/dev/null`, a FIFO).
    Direct(File),
    /// A temporary file beside `dest`, renamed onto it by `finish`.
    Temp {
        file: File,
        temp: PathBuf,
        dest: PathBuf,
    },
    /// `-c`: a partial file beside the destination, kept when the transfer is interrupted.
    Partial(PartialFile),
    /// A partial file moved onto its destination: nothing more is written.
    Moved,
}

impl Output {
    /// Output to stdout (no path, or `-`), or to `path`: a regular file (or a new one) through
    /// a temporary file beside it, anything else (a device, a FIFO) directly, never replaced.
    /// Made before the first request, so that a destination that cannot be written costs none.
    pub fn create(path: Option<&Path>) -> Result<Output, Error> {
        let sink = match path {
            None => Sink::Direct(stdout()?),
            Some(dest) if dest.as_os_str() == "-" => Sink::Direct(stdout()?),
            Some(dest) => to_path(dest)?,
        };
        Ok(Output {
            sink,
            bar: None,
            written: 0,
        })
    }

    /// `-c -o dest` (README, "Output"): through a partial file beside `dest` that an
    /// interrupted transfer keeps and a later one continues. A `dest` that exists and is not a
    /// regular file (a directory, a device, a FIFO) is a usage error: it is never replaced,
    /// so a partial download could never end on it.
    pub fn continuing(dest: &Path) -> Result<Output, Error> {
        let dest = follow_link(dest);
        if let Ok(meta) = fs::metadata(&dest)
            && !meta.is_file()
        {
            return Err(Error::Usage(format!(
                "--continue needs -o FILE to be a regular file, and {} is not one",
                dest.display()
            )));
        }
        let partial =
            PartialFile::open(&dest).map_err(|err| Error::Message(rangecat::one_line(&err)))?;
        Ok(Output {
            sink: Sink::Partial(partial),
            bar: None,
            written: 0,
        })
    }

    /// The partial file of `-c`, if this output is one.
    pub fn partial(&mut self) -> Option<&mut PartialFile> {
        match &mut self.sink {
            Sink::Partial(partial) => Some(partial),
            _ => None,
        }
    }

    /// How many bytes were written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Counts what is written on `bar` from now on, once the total is known.
    pub fn show_progress(&mut self, bar: Option<ProgressBar>) {
        self.bar = bar;
    }

    /// Completes the output: a file is synced and renamed onto its destination.
    pub fn finish(mut self) -> Result<(), Error> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if let Sink::Temp { file, temp, dest } = &self.sink {
            let written = format!("cannot write {}", dest.display());
            file.sync_all().map_err(Error::io(&written))?;
            fs::rename(temp, dest).map_err(Error::io(format!(
                "cannot move the download onto {}",
                dest.display()
            )))?;
            rangecat::temporaries::forget(temp);
            // Nothing is left to clean up.
            self.sink = Sink::Direct(file.try_clone().map_err(Error::io(written))?);
        }
        if let Sink::Partial(_) = &self.sink
            && let Sink::Partial(partial) = std::mem::replace(&mut self.sink, Sink::Moved)
        {
            partial
                .finish()
                .map_err(|err| Error::Message(rangecat::one_line(&err)))?;
        }
        Ok(())
    }
}

/// A duplicate of fd 1 as a File: Rust's `Stdout` is line-buffered, which splits binary data
/// at newlines and copies it once more.
fn stdout() -> Result<File, Error> {
    let fd = io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map_err(Error::io("cannot use stdout"))?;
    enlarge_pipe(&fd);
    Ok(File::from(fd))
}

/// The sink for `-o dest` (README, "Output"): what is not a regular file is written into and
/// never replaced; a symbolic link keeps pointing where it did, and its target is replaced.
fn to_path(dest: &Path) -> Result<Sink, Error> {
    let cannot_create = || format!("cannot create {}", dest.display());
    let dest = follow_link(dest);
    match fs::metadata(&dest) {
        Ok(meta) if meta.is_dir() => {
            return Err(Error::Message(format!("{} is a directory", dest.display())));
        }
        Ok(meta) if !meta.is_file() => {
            let file = OpenOptions::new()
                .write(true)
                .open(&dest)
                .map_err(Error::io(cannot_create()))?;
            return Ok(Sink::Direct(file));
        }
        _ => {}
    }
    let temp = temp_path(&dest);
    // Created and registered in one step: a signal at any moment removes it (README,
    // "Output").
    let created = rangecat::temporaries::create(&temp, || {
        OpenOptions::new().write(true).create_new(true).open(&temp)
    });
    match created {
        Ok(file) => Ok(Sink::Temp { file, temp, dest }),
        Err(err) => Err(Error::io(cannot_create())(err)),
    }
}

/// The file `dest` names: a symbolic link's target (a dangling link names itself).
fn follow_link(dest: &Path) -> PathBuf {
    match fs::symlink_metadata(dest) {
        Ok(meta) if meta.file_type().is_symlink() => match fs::canonicalize(dest) {
            Ok(target) => target,
            // A dangling link: the file it names is created.
            Err(_) => dest.to_owned(),
        },
        _ => dest.to_owned(),
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
        if let Sink::Temp { temp, .. } = &self.sink {
            let _ = fs::remove_file(temp);
            rangecat::temporaries::forget(temp);
        }
    }
}

impl Write for Output {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = match &mut self.sink {
            Sink::Direct(file) | Sink::Temp { file, .. } => file.write(data)?,
            Sink::Partial(partial) => partial.write(data)?,
            Sink::Moved => return Err(io::Error::other("the output is complete")),
        };
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
        }
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// When stdout is a pipe, asks for a larger pipe buffer, so a write rarely waits for the
/// reader and the socket keeps being read meanwhile. Anything else is left as it is.
fn enlarge_pipe(fd: &impl AsFd) {
    /// The default maximum for an unprivileged process (`/proc/sys/fs/pipe-max-size`).
    #[cfg(target_os = "linux")]
    const PIPE_SIZE: usize = 1024 * 1024;
    #[cfg(target_os = "linux")]
    if let Ok(size) = rustix::pipe::fcntl_getpipe_size(fd)
        && size < PIPE_SIZE
    {
        let _ = rustix::pipe::fcntl_setpipe_size(fd, PIPE_SIZE);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = fd;
}

/// `dir/.name.rangecat-PID.part`: hidden, beside the destination so the rename is atomic.
fn temp_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    dest.with_file_name(format!(".{name}.rangecat-{}.part", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        let mut output = Output::create(Some(&dest)).unwrap();
        output.write_all(b"hello").unwrap();
        assert!(!dest.exists());
        output.finish().unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"hello");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn an_unfinished_file_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.bin");
        fs::write(&dest, b"precious").unwrap();
        let mut output = Output::create(Some(&dest)).unwrap();
        output.write_all(b"partial").unwrap();
        drop(output);
        assert_eq!(fs::read(&dest).unwrap(), b"precious");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
