//! Opening a zip archive through ranges: one suffix request for the tail (end-of-central-
//! directory record, a maximal comment, the Zip64 locator and record), and at most one more
//! for the central directory when it does not lie inside the tail.

use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::Arc;

use zip::read::{ArchiveOffset, Config};
use zip::unstable::read::ZipIterable;

use super::Error;
use super::entry::Entry;
use super::held::{Held, HeldFetcher, HeldSource};
use super::member::SpanIndex;
use crate::range::ByteRange;
use crate::source::file::FileSource;
use crate::source::parallel::SpanFetcher;
use crate::source::window::Window;
use crate::source::{self, Body, Opened, RangeStream, Source};

/// The tail asked for first: the end-of-central-directory record (22 bytes) with a maximal
/// comment (65,535), the Zip64 locator (20) and the Zip64 record (56), rounded up.
pub const TAIL: u64 = 65 * 1024;

const EOCD_SIGNATURE: [u8; 4] = *b"PK\x05\x06";
const ZIP64_LOCATOR_SIGNATURE: [u8; 4] = *b"PK\x06\x07";
const ZIP64_EOCD_SIGNATURE: [u8; 4] = *b"PK\x06\x06";
const EOCD_LEN: usize = 22;
/// The largest central directory header: 46 fixed bytes and a name, an extra field and a
/// comment of at most 65,535 bytes each.
const MAX_ENTRY_HEADER: u64 = 46 + 3 * 65_535;
/// The largest central directory rangecat holds in memory: 1 GiB, over ten million entries
/// of typical names (100,000 entries take about 7.6 MB).
pub const MAX_CENTRAL_DIRECTORY: u64 = 1 << 30;
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_EOCD_LEN: u64 = 56;

/// Where an archive's central directory is, read from its end records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The central directory's bytes, as offsets in the file.
    pub central_directory: Range<u64>,
    /// Bytes in front of the archive proper (a self-extracting stub), which every offset
    /// recorded in the archive leaves out.
    pub prefix: u64,
    /// The number of entries the end record announces.
    pub entries: u64,
    /// Where the end records start (the Zip64 record if there is one).
    pub end_records: u64,
}

/// A zip archive whose central directory is held in memory.
pub struct Archive {
    source: Box<dyn Source>,
    layout: Layout,
    /// The archive's last bytes, from where its central directory or its tail starts,
    /// whichever is first: end records and central directory.
    end: Held,
    /// Whether `end` was fetched or confirmed by this command, so that members lying in it
    /// can be read from it (a copy kept by the cache and taken on trust is not: README,
    /// "Cache").
    fresh: bool,
    requests: usize,
}

impl Archive {
    /// Opens the archive behind `source`, whose length need not be known yet: one suffix
    /// request, and one more only when the central directory starts before the tail. A
    /// server that refuses suffix ranges costs a probe and an explicit request for the tail;
    /// one that ignores Range streams the archive once into a temporary file.
    pub fn open(source: Box<dyn Source>) -> Result<Archive, Error> {
        Archive::revalidate(source, None).map(|(archive, _)| archive)
    }

    /// [`open`](Archive::open), with bytes kept earlier (README, "Cache"): the tail request
    /// asks whether they are still the archive's (`If-None-Match`); when the server says so
    /// (304), they are used and that is the only request. `true` when they were.
    pub fn revalidate(
        mut source: Box<dyn Source>,
        kept: Option<crate::cache::Entry>,
    ) -> Result<(Archive, bool), Error> {
        let opened = match source.len() {
            Some(_) => None,
            None => {
                if let Some(kept) = &kept {
                    source.revalidate(kept.cached.clone());
                }
                match source.open(&ByteRange::Suffix(TAIL)) {
                    Err(source::Error::NotModified) => {
                        let kept = kept.expect("only a revalidation answers 304");
                        let mut archive = Archive::from_kept(source, kept.start, kept.bytes)?;
                        // The server said they are its bytes.
                        archive.fresh = true;
                        return Ok((archive, true));
                    }
                    // Some CDNs refuse suffix ranges: probe, then ask for the tail explicitly.
                    Err(err) if err.refuses_the_range() => {
                        source.probe()?;
                        None
                    }
                    other => Some(other?),
                }
            }
        };
        let tail = match (opened, source.len()) {
            (None, Some(len)) => {
                let span = len.saturating_sub(TAIL)..len;
                let body = source.read_span(span.clone())?;
                Some((span.start, read_all(body, span.end - span.start)?))
            }
            (None, None) => return Err(source::Error::UnknownLength.into()),
            (Some(Opened::Partial { span, body }), _) => {
                Some((span.start, read_all(body, span.end - span.start)?))
            }
            (Some(Opened::Whole { body }), _) => {
                source = spool(body)?;
                None
            }
            (Some(Opened::Unsatisfiable), _) => None,
        };
        let mut stream = RangeStream::new(source)?;
        // Every byte the zip reader needs is fetched on purpose below: no read-ahead.
        stream.set_read_ahead(0);
        if let Some((start, bytes)) = tail {
            stream.insert(start, bytes);
        } else {
            let len = stream.len();
            stream.prefetch(len.saturating_sub(TAIL)..len)?;
        }
        let len = stream.len();
        let tail_start = len.saturating_sub(TAIL);
        let tail_bytes = read_cached(&mut stream, tail_start..len)?;
        let layout = locate(&tail_bytes, tail_start, len)?;
        stream.prefetch(layout.central_directory.start..len)?;
        Ok((Archive::from_stream(stream, layout, true)?, false))
    }

    /// The archive whose end records and central directory `stream` holds, found at `layout`.
    fn from_stream(
        mut stream: RangeStream<Box<dyn Source>>,
        layout: Layout,
        fresh: bool,
    ) -> Result<Archive, Error> {
        let len = stream.len();
        let start = layout.central_directory.start.min(len.saturating_sub(TAIL));
        let end = Held::new(start, read_cached(&mut stream, start..len)?.into());
        let requests = stream.requests();
        Ok(Archive {
            source: stream.into_source(),
            layout,
            end,
            fresh,
            requests,
        })
    }

    /// The archive behind `source` from bytes kept earlier (README, "Cache"): `bytes` are
    /// the resource's last bytes from `start`, holding its end records and central directory,
    /// and the source already knows its length. Costs no request.
    pub fn from_kept(
        source: Box<dyn Source>,
        start: u64,
        bytes: Vec<u8>,
    ) -> Result<Archive, Error> {
        let mut stream = RangeStream::new(source)?;
        stream.set_read_ahead(0);
        let len = stream.len();
        let tail_start = len.saturating_sub(TAIL);
        if start.checked_add(bytes.len() as u64) != Some(len) || start > tail_start {
            return Err(Error::Damaged(
                "the kept bytes are not the archive's end".into(),
            ));
        }
        stream.insert(start, bytes);
        let tail_bytes = read_cached(&mut stream, tail_start..len)?;
        let layout = locate(&tail_bytes, tail_start, len)?;
        if layout.central_directory.start < start {
            return Err(Error::Damaged(
                "the kept bytes miss the central directory".into(),
            ));
        }
        Archive::from_stream(stream, layout, false)
    }

    /// The archive's last bytes, from where its central directory or its tail starts,
    /// whichever is first: what [`from_kept`](Archive::from_kept) needs. Already fetched.
    pub fn kept(&mut self) -> Result<(u64, Vec<u8>), Error> {
        Ok((self.end.span().start, self.end.bytes().to_vec()))
    }

    /// Where the central directory is.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Calls `visit` with every entry, in central-directory order, as it is parsed: memory
    /// stays flat however many entries there are. `visit`'s own error stops the walk.
    pub fn for_each_entry<E: From<Error>>(
        &mut self,
        mut visit: impl FnMut(Entry) -> Result<(), E>,
    ) -> Result<(), E> {
        let config = Config {
            archive_offset: ArchiveOffset::Known(self.layout.prefix),
        };
        let len = self.source.len().unwrap_or(0);
        let view = View {
            end: &self.end,
            len,
            at: 0,
        };
        let mut iterable = ZipIterable::try_new(view, config).map_err(Error::CentralDirectory)?;
        for file in iterable.files().map_err(Error::CentralDirectory)? {
            let file = file.map_err(Error::BadEntry)?;
            let extra = central_extra(&self.end, file.central_header_start());
            visit(Entry::from_zip(&file, extra))?;
        }
        Ok(())
    }

    /// The entries `keep` selects, in central-directory order, and the span each one's bytes
    /// lie in. Only the selected entries are held in memory, plus 8 bytes per entry.
    pub fn select(
        &mut self,
        mut keep: impl FnMut(&Entry) -> bool,
    ) -> Result<(Vec<Entry>, Vec<Range<u64>>), Error> {
        let mut starts = Vec::new();
        let mut selected = Vec::new();
        self.for_each_entry(|entry| {
            starts.push(entry.header_start);
            if keep(&entry) {
                selected.push(entry);
            }
            Ok::<(), Error>(())
        })?;
        let index = SpanIndex::new(starts, &self.layout);
        let spans = selected
            .iter()
            .map(|e| index.span(e.header_start))
            .collect();
        Ok((selected, spans))
    }

    /// The source, for fetching members.
    pub fn source_mut(&mut self) -> &mut dyn Source {
        &mut *self.source
    }

    /// The archive's bytes held in memory that members may be read from: its end, unless it
    /// came from the cache on trust (then every member costs a request that carries the
    /// validator: README, "Cache").
    pub fn held(&self) -> Held {
        if self.fresh {
            self.end.clone()
        } else {
            Held::default()
        }
    }

    /// A reader of `span` (a member's, say): from memory where [`held`](Archive::held) has
    /// it, else one request.
    pub fn read_span(&mut self, span: Range<u64>) -> Result<Body, source::Error> {
        let held = self.held();
        held.serve(span, |span| self.source.read_span(span))
    }

    /// Reads spans from several threads at once, the held bytes from memory; `None` for a
    /// source that reads one span at a time.
    pub fn fetcher(&self) -> Option<Arc<dyn SpanFetcher>> {
        let inner = self.source.fetcher()?;
        Some(Arc::new(HeldFetcher::new(inner, self.held())))
    }

    /// The archive stored as member `name` of this one, read in place through a window of
    /// this archive's source (README, "Zip archives", `--in`): its end records and central
    /// directory cost one or two requests, its members one each (none for what lies in this
    /// archive's [`held`](Archive::held) bytes), and nothing is copied. The
    /// window runs from the member's local header (bytes in front, as a self-extracting stub
    /// has) to the next member. A compressed member cannot be read so: an error says what it is.
    pub fn open_inner(mut self, name: &str) -> Result<Archive, Error> {
        let (entries, spans) = self.select(|entry| entry.name == name)?;
        let Some((entry, span)) = entries.into_iter().zip(spans).next_back() else {
            return Err(Error::NoSuchInner { name: name.into() });
        };
        if entry.encrypted {
            return Err(Error::Encrypted { name: entry.name });
        }
        if entry.method != zip::CompressionMethod::Stored {
            return Err(Error::CompressedInner {
                method: entry.method_name(),
                name: entry.name,
                compressed_size: entry.compressed_size,
            });
        }
        // What this archive's fetched bytes hold of it is read from them.
        let held = self.held();
        let window = Window::new(Box::new(HeldSource::new(self.source, held)), span)?;
        Archive::open(Box::new(window))
    }

    /// How many requests the archive has cost so far (through its stream).
    pub fn requests(&self) -> usize {
        self.requests
    }
}

/// Finds the central directory from the archive's last bytes (`tail`, starting at file
/// offset `tail_start`, of a file of `len` bytes).
pub fn locate(tail: &[u8], tail_start: u64, len: u64) -> Result<Layout, Error> {
    let damaged = |what: &str| Error::Damaged(what.to_owned());
    let eocd_at = find_eocd(tail).ok_or(Error::NotAZip)?;
    let locator_at = eocd_at
        .checked_sub(ZIP64_LOCATOR_LEN)
        .filter(|&at| tail[at..at + 4] == ZIP64_LOCATOR_SIGNATURE);
    // What the end records declare, where they start in the file (the central directory ends
    // there), and the prefix: how far the archive sits from where its offsets say.
    let (entries, cd_size, cd_offset, end_records, prefix) = match locator_at {
        Some(at) => {
            let declared = u64_at(&tail[at..], 8);
            // The Zip64 record normally ends where the locator starts; with a prefix, its
            // declared offset is off by the prefix's length.
            let locator_pos = tail_start + at as u64;
            let record_pos = locator_pos
                .checked_sub(ZIP64_EOCD_LEN)
                .filter(|pos| read_sig(tail, tail_start, *pos) == Some(ZIP64_EOCD_SIGNATURE))
                .or_else(|| {
                    (read_sig(tail, tail_start, declared) == Some(ZIP64_EOCD_SIGNATURE))
                        .then_some(declared)
                })
                .ok_or_else(|| damaged("Zip64 locator points to no Zip64 end record"))?;
            let record = &tail[(record_pos - tail_start) as usize..];
            if record.len() < ZIP64_EOCD_LEN as usize {
                return Err(damaged("truncated Zip64 end record"));
            }
            let prefix = record_pos
                .checked_sub(declared)
                .ok_or_else(|| damaged("Zip64 end record lies before its declared offset"))?;
            let (entries, size, offset) =
                (u64_at(record, 32), u64_at(record, 40), u64_at(record, 48));
            (entries, size, offset, record_pos, prefix)
        }
        None => {
            let eocd = &tail[eocd_at..];
            let eocd_pos = tail_start + eocd_at as u64;
            let size = u64::from(u32_at(eocd, 12));
            let offset = u64::from(u32_at(eocd, 16));
            // The central directory ends where the end record starts: its real start, against
            // its declared offset, gives the prefix.
            let cd_start = eocd_pos
                .checked_sub(size)
                .ok_or_else(|| damaged("central directory is larger than the archive"))?;
            let prefix = cd_start
                .checked_sub(offset)
                .ok_or_else(|| damaged("central directory lies before its declared offset"))?;
            (u64::from(u16_at(eocd, 10)), size, offset, eocd_pos, prefix)
        }
    };
    let start = cd_offset
        .checked_add(prefix)
        .ok_or_else(|| damaged("central directory offset overflows"))?;
    let end = start
        .checked_add(cd_size)
        .ok_or_else(|| damaged("central directory size overflows"))?;
    if end > end_records || end > len {
        return Err(Error::Damaged(format!(
            "central directory ({start}..{end}) runs past its end record or the file ({len} bytes)"
        )));
    }
    // The central directory is held in memory, so its claimed size is checked before a byte
    // of it is asked for: a header takes 46 to 46 + 3 x 65,535 bytes (name, extra field and
    // comment of at most 65,535 each), and no directory may exceed MAX_CENTRAL_DIRECTORY.
    if cd_size > entries.saturating_mul(MAX_ENTRY_HEADER) || cd_size > MAX_CENTRAL_DIRECTORY {
        return Err(Error::Damaged(format!(
            "the archive claims a {cd_size}-byte central directory for {entries} entries \
             (at most {} bytes an entry, {MAX_CENTRAL_DIRECTORY} in all)",
            MAX_ENTRY_HEADER
        )));
    }
    // A central directory header takes at least 46 bytes: a larger count is a lie.
    if entries > cd_size / 46 + 1 {
        return Err(Error::Damaged(format!(
            "the archive claims {entries} entries in a {cd_size}-byte central directory"
        )));
    }
    Ok(Layout {
        central_directory: start..end,
        prefix,
        entries,
        end_records,
    })
}

/// The offset in `tail` of the end-of-central-directory record: the last signature whose
/// comment ends exactly at the end of the file, else the last signature at all.
fn find_eocd(tail: &[u8]) -> Option<usize> {
    let candidates = (0..=tail.len().checked_sub(EOCD_LEN)?)
        .rev()
        .filter(|&at| tail[at..at + 4] == EOCD_SIGNATURE);
    let mut fallback = None;
    for at in candidates {
        let comment_len = usize::from(u16_at(&tail[at..], 20));
        if at + EOCD_LEN + comment_len == tail.len() {
            return Some(at);
        }
        fallback.get_or_insert(at);
    }
    fallback
}

fn read_sig(tail: &[u8], tail_start: u64, pos: u64) -> Option<[u8; 4]> {
    let at = usize::try_from(pos.checked_sub(tail_start)?).ok()?;
    tail.get(at..at.checked_add(4)?)?.try_into().ok()
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// The end of the archive as a `Read + Seek` of the whole file, for the zip crate's reader of
/// the central directory: it reads nothing else, and a read outside is an error (a damaged
/// archive), never a request.
struct View<'a> {
    end: &'a Held,
    len: u64,
    at: u64,
}

impl Read for View<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let held = self.end.span();
        if self.at >= self.len || buf.is_empty() {
            return Ok(0);
        }
        if !held.contains(&self.at) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("offset {} lies before the central directory", self.at),
            ));
        }
        let bytes = &self.end.bytes()[(self.at - held.start) as usize..];
        let n = buf.len().min(bytes.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        self.at += n as u64;
        Ok(n)
    }
}

impl Seek for View<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let to = match pos {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.at.checked_add_signed(delta),
        };
        self.at = to.ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        Ok(self.at)
    }
}

/// The extra field of the central directory header at `at` (empty when it does not lie in
/// `end`, which a parsed header always does).
fn central_extra(end: &Held, at: u64) -> &[u8] {
    let field = || {
        let header = end
            .bytes()
            .get(usize::try_from(at.checked_sub(end.span().start)?).ok()?..)?;
        let name_len = usize::from(u16::from_le_bytes(header.get(28..30)?.try_into().ok()?));
        let extra_len = usize::from(u16::from_le_bytes(header.get(30..32)?.try_into().ok()?));
        header.get(46 + name_len..46 + name_len + extra_len)
    };
    field().unwrap_or_default()
}

fn read_all(mut body: impl Read, len: u64) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::with_capacity(usize::try_from(len.min(TAIL)).unwrap_or(0));
    body.read_to_end(&mut bytes)
        .map_err(|e| Error::Source(e.into()))?;
    Ok(bytes)
}

fn read_cached(
    stream: &mut RangeStream<Box<dyn Source>>,
    span: Range<u64>,
) -> Result<Vec<u8>, Error> {
    let mut bytes = vec![0u8; (span.end - span.start) as usize];
    stream
        .seek(SeekFrom::Start(span.start))
        .and_then(|_| stream.read_exact(&mut bytes))
        .map_err(|e| Error::Source(e.into()))?;
    Ok(bytes)
}

/// Streams an archive from a server that ignores Range into a temporary file, which then
/// serves every range; the archive is never held in memory.
fn spool(mut body: Box<dyn Read + Send>) -> Result<Box<dyn Source>, Error> {
    let spool_error = |what| move |source| Error::Spool { what, source };
    let mut file = tempfile::tempfile().map_err(spool_error("cannot create a temporary file"))?;
    io::copy(&mut body, &mut file).map_err(spool_error("cannot download the archive"))?;
    Ok(Box::new(FileSource::from_file(file)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An end record for an archive of no entries, after `before`.
    fn end_records(before: &[u8]) -> Vec<u8> {
        let mut tail = before.to_vec();
        tail.extend_from_slice(&EOCD_SIGNATURE);
        tail.extend_from_slice(&[0; 18]);
        tail
    }

    #[test]
    fn a_zip64_locator_pointing_past_the_end_of_memory_is_damage() {
        // Found by fuzz/fuzz_targets/zip.rs: a declared offset of 2^64 - 4 overflowed the
        // end of the signature it was to be compared with.
        let mut locator = ZIP64_LOCATOR_SIGNATURE.to_vec();
        locator.extend_from_slice(&0u32.to_le_bytes());
        locator.extend_from_slice(&(u64::MAX - 3).to_le_bytes());
        locator.extend_from_slice(&1u32.to_le_bytes());
        let tail = end_records(&locator);
        let err = locate(&tail, 0, tail.len() as u64).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Zip64 locator points to no Zip64 end record"
        );
    }

    #[test]
    fn an_empty_archive_has_an_empty_central_directory() {
        let tail = end_records(b"");
        let layout = locate(&tail, 0, 22).unwrap();
        assert_eq!(layout.central_directory, 0..0);
        assert_eq!(
            (layout.prefix, layout.entries, layout.end_records),
            (0, 0, 0)
        );
    }
}
