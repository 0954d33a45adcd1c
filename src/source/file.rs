//! Local files and `file://` URLs, with exactly the semantics of the HTTP source.

use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};

use super::content_range::served_span;
use super::parallel::SpanFetcher;
use super::{Body, Opened, Source};
use crate::error::Error;
use crate::range::ByteRange;

/// A regular file read by range.
pub struct FileSource {
    file: Arc<File>,
    path: PathBuf,
    len: u64,
}

impl FileSource {
    /// Opens `path` and reads its length.
    pub fn open(path: &Path) -> anyhow::Result<FileSource> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let meta = file
            .metadata()
            .with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            bail!("{} is a directory", path.display());
        }
        Ok(FileSource {
            file: Arc::new(file),
            path: path.to_owned(),
            len: meta.len(),
        })
    }

    /// A source over an open file (a temporary spool, say).
    pub fn from_file(file: File) -> anyhow::Result<FileSource> {
        let len = file
            .metadata()
            .context("cannot read a temporary file")?
            .len();
        Ok(FileSource {
            file: Arc::new(file),
            path: PathBuf::from("(temporary file)"),
            len,
        })
    }

    fn reader(&self, span: Range<u64>) -> anyhow::Result<Body> {
        Ok(Box::new(SpanReader {
            file: self.file.clone(),
            pos: span.start,
            end: span.end,
        }))
    }
}

/// Reads a span with positional reads, so several readers share one open file.
struct SpanReader {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl Read for SpanReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end - self.pos).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file got shorter",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Reads spans of one file from several threads.
struct Fetcher(FileSource);

impl SpanFetcher for Fetcher {
    fn fetch(&self, span: Range<u64>) -> anyhow::Result<Body> {
        self.0.reader(span)
    }
}

impl Source for FileSource {
    fn len(&self) -> Option<u64> {
        Some(self.len)
    }

    fn open(&mut self, range: &ByteRange) -> anyhow::Result<Opened> {
        Ok(match served_span(range, self.len) {
            Some(span) => Opened::Partial {
                body: self.reader(span.clone())?,
                span,
            },
            None => Opened::Unsatisfiable,
        })
    }

    fn probe(&mut self) -> anyhow::Result<u64> {
        Ok(self.len)
    }

    fn fetcher(&self) -> Option<Arc<dyn SpanFetcher>> {
        Some(Arc::new(Fetcher(FileSource {
            file: self.file.clone(),
            path: self.path.clone(),
            len: self.len,
        })))
    }

    fn read_span(&mut self, span: Range<u64>) -> anyhow::Result<Body> {
        if span.end > self.len {
            return Err(Error::ResourceChanged {
                what: format!("{} is shorter than {} bytes", self.path.display(), span.end),
            }
            .into());
        }
        self.reader(span)
    }
}

/// The path named by a `file://` URL (percent-decoded) or a plain path.
pub fn path_of(location: &str) -> anyhow::Result<PathBuf> {
    let Some(rest) = location
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("file://"))
        .map(|_| &location[7..])
    else {
        if let Some((scheme, _)) = location.split_once("://")
            && !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(Error::Usage(format!(
                "unsupported URL scheme '{scheme}://' in '{location}' (use http://, https://, file:// or a path)"
            ))
            .into());
        }
        return Ok(PathBuf::from(location));
    };
    // file:///path and file://localhost/path name local files; other hosts do not.
    let path = match rest.find('/') {
        Some(0) => rest,
        Some(at) if rest[..at].eq_ignore_ascii_case("localhost") => &rest[at..],
        _ => {
            return Err(Error::Usage(format!(
                "'{location}' names a file on another host; only local file:// URLs are supported"
            ))
            .into());
        }
    };
    Ok(PathBuf::from(percent_decode(path)?))
}

fn percent_decode(text: &str) -> anyhow::Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(byte) = hex else {
                bail!("malformed percent-escape in file URL '{text}'");
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).with_context(|| format!("file URL '{text}' is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_and_paths() {
        let cases = [
            ("/tmp/a.bin", "/tmp/a.bin"),
            ("rel/a.bin", "rel/a.bin"),
            ("file:///tmp/a.bin", "/tmp/a.bin"),
            ("FILE:///tmp/a%20b.zip", "/tmp/a b.zip"),
            ("file://localhost/tmp/x", "/tmp/x"),
        ];
        for (location, want) in cases {
            assert_eq!(
                path_of(location).unwrap(),
                PathBuf::from(want),
                "{location}"
            );
        }
        for bad in ["file://host/x", "ftp://host/x", "file:///a%zz"] {
            assert!(path_of(bad).is_err(), "{bad}");
        }
    }
}
