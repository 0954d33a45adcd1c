//! `rangecat cat`: members' decompressed bytes to stdout (named, or by glob), one request each.

use std::io::Write;

use rangecat::http::redact_url;
use rangecat::source::read_ahead;
use rangecat::transfer;
use rangecat::zip::{any_matches, select_members};
use rangecat::zip::{check_span, check_supported, copy_member, read_member};

use super::archive::open_archive;
use super::context::{Context, Reuse};
use crate::cli::CatArgs;
use crate::error::Error;
use crate::output::Output;

/// Members at least this large are read on a thread of their own while they decompress.
const READ_AHEAD_THRESHOLD: u64 = 1024 * 1024;

/// Runs `rangecat cat`: each member's decompressed bytes, in the order given.
pub fn run(args: &CatArgs, ctx: &Context, reuse: Reuse) -> Result<(), Error> {
    let mut archive = open_archive(&args.url, ctx, &args.inner, reuse)?;
    // README: a MEMBER that names an entry is that entry, else a glob; matches in archive order.
    let (found, spans) = archive.select(|entry| any_matches(&args.members, &entry.name))?;
    let names: Vec<&str> = found.iter().map(|entry| entry.name.as_str()).collect();
    let mut wanted = Vec::new();
    for (name, selected) in args
        .members
        .iter()
        .zip(select_members(&args.members, &names))
    {
        if selected.is_empty() {
            let url = redact_url(&args.url);
            return Err(Error::Message(format!("{name}: no such member in {url}")));
        }
        for &index in &selected {
            check_supported(&found[index])?;
        }
        wanted.extend(selected);
    }
    let mut out = Output::create(None)?;
    for index in wanted {
        let (entry, span) = (&found[index], spans[index].clone());
        if entry.is_dir {
            continue;
        }
        check_span(entry, &span)?;
        // A member lying in what opening the archive fetched costs no request.
        let mut body = archive
            .read_span(span)
            .map_err(|err| transfer::after_writing(err, out.written(), "a member was"))?;
        if entry.compressed_size >= READ_AHEAD_THRESHOLD {
            body = read_ahead(body, ctx.chunk_size, 4);
        }
        if entry.size <= HOLD_BACK {
            // Small members are checked before a byte of them is written: a corrupt one
            // writes nothing (larger ones stream, and a mismatch is reported at the end).
            let checked = read_member(body, entry, HOLD_BACK, ctx.chunk_size)?;
            out.write_all(&checked).map_err(Error::Write)?;
        } else {
            copy_member(body, entry, &mut out, ctx.chunk_size)?;
        }
    }
    out.finish()
}

/// Members up to this size (uncompressed, as the central directory says; the decompressor
/// stops there) are held in memory until their CRC-32 checks out.
const HOLD_BACK: u64 = 1024 * 1024;
