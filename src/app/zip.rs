//! What the zip commands share, and `rangecat cat`: members' decompressed bytes to stdout.

use anyhow::Context;

use crate::cli::{CatArgs, NetArgs, ReportArgs};
use crate::source;
use crate::zip::member::{copy_member, spans};
use crate::zip::{Archive, Entry};

/// Opens the archive at `url`: at most two requests.
pub fn open_archive(url: &str, net: &NetArgs, report: &ReportArgs) -> anyhow::Result<Archive> {
    let source = source::open(url, &super::http_options(net, report)?)?;
    Archive::open(source).with_context(|| format!("cannot read the zip archive {url}"))
}

/// `rangecat cat`: each member's decompressed bytes, in the order given.
pub fn cat(args: &CatArgs, net: &NetArgs, report: &ReportArgs) -> anyhow::Result<()> {
    let mut archive = open_archive(&args.url, net, report)?;
    let (all, spans) = entries_and_spans(&mut archive)?;
    let mut wanted = Vec::with_capacity(args.members.len());
    for name in &args.members {
        let index = all
            .iter()
            .position(|entry| &entry.name == name)
            .with_context(|| format!("{name}: no such member in {}", args.url))?;
        crate::zip::member::check_supported(&all[index])?;
        wanted.push(index);
    }
    let chunk_size = usize::try_from(net.chunk_size).unwrap_or(usize::MAX);
    let mut out = crate::output::Output::create(None, None)?;
    for index in wanted {
        let (entry, span) = (&all[index], spans[index].clone());
        if entry.is_dir {
            continue;
        }
        let body = archive.source_mut().read_span(span)?;
        copy_member(body, entry, &mut out, chunk_size)?;
    }
    out.finish()
}

/// Every entry, and the span each one's bytes lie in.
pub fn entries_and_spans(
    archive: &mut Archive,
) -> anyhow::Result<(Vec<Entry>, Vec<std::ops::Range<u64>>)> {
    let mut entries = Vec::new();
    archive.for_each_entry(|entry| {
        entries.push(entry);
        Ok(())
    })?;
    let spans = spans(&entries, archive.layout());
    Ok((entries, spans))
}
