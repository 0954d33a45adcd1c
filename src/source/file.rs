//! Local files and `file://` URLs, with exactly the semantics of the HTTP source.

use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::parallel::SpanFetcher;
use super::{Body, Error, Opened, Source};
use crate::http::content_range::served_span;
use crate::range::ByteRange;

/// A regular file read by range.
pub struct FileSource {
    file: Arc<File>,
    path: PathBuf,
    len: u64,
}

impl FileSource {
    /// Opens `path` and reads its length.
    pub fn open(path: &Path) -> Result<FileSource, Error> {
        let failed = |verb, source| Error::File {
            verb,
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(|e| failed("open", e))?;
        let meta = file.metadata().map_err(|e| failed("read", e))?;
        if meta.is_dir() {
            return Err(Error::IsADirectory {
                path: path.to_owned(),
            });
        }
        Ok(FileSource {
            file: Arc::new(file),
            path: path.to_owned(),
            len: meta.len(),
        })
    }

    /// A source over an open file (a temporary spool, say).
    pub fn from_file(file: File) -> Result<FileSource, Error> {
        let path = PathBuf::from("a temporary file");
        let len = match file.metadata() {
            Ok(meta) => meta.len(),
            Err(source) => {
                let verb = "read";
                return Err(Error::File { verb, path, source });
            }
        };
        Ok(FileSource {
            file: Arc::new(file),
            path,
            len,
        })
    }

    fn reader(&self, span: Range<u64>) -> Body {
        Box::new(SpanReader {
            file: self.file.clone(),
            pos: span.start,
            end: span.end,
        })
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
    fn fetch(&self, span: Range<u64>) -> Result<Body, Error> {
        Ok(self.0.reader(span))
    }
}

impl Source for FileSource {
    fn len(&self) -> Option<u64> {
        Some(self.len)
    }

    fn open(&mut self, range: &ByteRange) -> Result<Opened, Error> {
        Ok(match served_span(range, self.len) {
            Some(span) => Opened::Partial {
                body: self.reader(span.clone()),
                span,
            },
            None => Opened::Unsatisfiable,
        })
    }

    fn probe(&mut self) -> Result<u64, Error> {
        Ok(self.len)
    }

    fn fetcher(&self) -> Option<Arc<dyn SpanFetcher>> {
        Some(Arc::new(Fetcher(FileSource {
            file: self.file.clone(),
            path: self.path.clone(),
            len: self.len,
        })))
    }

    fn read_span(&mut self, span: Range<u64>) -> Result<Body, Error> {
        if span.end > self.len {
            return Err(Error::ResourceChanged {
                what: format!("{} is shorter than {} bytes", self.path.display(), span.end),
            });
        }
        Ok(self.reader(span))
    }
}

/// The path named by a `file://` URL (percent-decoded) or a plain path.
pub fn path_of(location: &str) -> Result<PathBuf, Error> {
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
            return Err(Error::UnsupportedScheme {
                location: location.to_owned(),
                scheme: scheme.to_owned(),
            });
        }
        return Ok(PathBuf::from(location));
    };
    // file:///path and file://localhost/path name local files; other hosts do not.
    let path = match rest.find('/') {
        Some(0) => rest,
        Some(at) if rest[..at].eq_ignore_ascii_case("localhost") => &rest[at..],
        _ => {
            return Err(Error::RemoteFileUrl {
                location: location.to_owned(),
            });
        }
    };
    Ok(PathBuf::from(percent_decode(path)?))
}

fn percent_decode(text: &str) -> Result<String, Error> {
    let bad = |reason| Error::BadFileUrl {
        path: text.to_owned(),
        reason,
    };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(byte) = hex else {
                return Err(bad("malformed percent-escape"));
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad("invalid UTF-8"))
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
