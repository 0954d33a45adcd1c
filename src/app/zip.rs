//! What the zip commands share, and `rangecat cat`: members' decompressed bytes to stdout.

use std::collections::HashSet;
use std::ops::Range;

use anyhow::Context;

use crate::cli::{CatArgs, NetArgs, ReportArgs};
use crate::output::Output;
use crate::source;
use crate::source::parallel::read_ahead;
use crate::zip::member::{SpanIndex, check_span, check_supported, copy_member};
use crate::zip::{Archive, Entry};

/// Opens the archive at `url`: at most two requests.
pub fn open_archive(url: &str, net: &NetArgs, report: &ReportArgs) -> anyhow::Result<Archive> {
    let source = source::open(url, &super::http_options(net, report)?)?;
    Archive::open(source).with_context(|| format!("cannot read the zip archive {url}"))
}

/// `rangecat cat`: each member's decompressed bytes, in the order given.
pub fn cat(args: &CatArgs, net: &NetArgs, report: &ReportArgs) -> anyhow::Result<()> {
    let mut archive = open_archive(&args.url, net, report)?;
    let names: HashSet<&str> = args.members.iter().map(String::as_str).collect();
    let (found, spans) =
        select_with_spans(&mut archive, |entry| names.contains(entry.name.as_str()))?;
    let mut wanted = Vec::with_capacity(args.members.len());
    for name in &args.members {
        let index = found
            .iter()
            .position(|entry| &entry.name == name)
            .with_context(|| format!("{name}: no such member in {}", args.url))?;
        check_supported(&found[index])?;
        wanted.push(index);
    }
    let chunk_size = usize::try_from(net.chunk_size).unwrap_or(usize::MAX);
    let mut out = Output::create(None, None)?;
    for index in wanted {
        let (entry, span) = (&found[index], spans[index].clone());
        if entry.is_dir {
            continue;
        }
        check_span(entry, &span)?;
        let mut body = archive.source_mut().read_span(span)?;
        if entry.compressed_size >= READ_AHEAD_THRESHOLD {
            body = read_ahead(body, chunk_size, 4);
        }
        copy_member(body, entry, &mut out, chunk_size)?;
    }
    out.finish()
}

/// Members at least this large are read on a thread of their own while they decompress.
const READ_AHEAD_THRESHOLD: u64 = 1024 * 1024;

/// The entries `keep` selects, in central-directory order, and the span each one's bytes lie
/// in. Only the selected entries are held in memory, plus 8 bytes per entry.
pub fn select_with_spans(
    archive: &mut Archive,
    mut keep: impl FnMut(&Entry) -> bool,
) -> anyhow::Result<(Vec<Entry>, Vec<Range<u64>>)> {
    let mut starts = Vec::new();
    let mut selected = Vec::new();
    archive.for_each_entry(|entry| {
        starts.push(entry.header_start);
        if keep(&entry) {
            selected.push(entry);
        }
        Ok(())
    })?;
    let index = SpanIndex::new(starts, archive.layout());
    let spans = selected
        .iter()
        .map(|e| index.span(e.header_start))
        .collect();
    Ok((selected, spans))
}
