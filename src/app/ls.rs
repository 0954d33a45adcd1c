//! `rangecat ls`: a zip archive's entries from its central directory, as names, an `-l`
//! table or `--json` lines, written as the entries are parsed.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

use rangecat::http::redact_url;
use rangecat::zip::Entry;
use rangecat::zip::any_matches;

use super::archive::open_archive;
use super::context::{Context, Reuse};
use super::listing::{Table, json_line};
use crate::cli::LsArgs;
use crate::error::Error;
use crate::terminal::escape_controls;

/// How each entry is shown.
enum Format {
    Names,
    Long(Table),
    Json,
}

/// Runs `rangecat ls`.
pub fn run(args: &LsArgs, ctx: &Context) -> Result<(), Error> {
    let mut archive = open_archive(&args.url, ctx, &args.inner, Reuse::Revalidate)?;
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut format = if args.json {
        Format::Json
    } else if args.long {
        Format::Long(Table::new(args.human))
    } else {
        Format::Names
    };
    // On a terminal a name's control characters are shown escaped, as GNU ls does; in a
    // pipe names stay as they are, and --json always escapes.
    let escape = !args.json && std::io::stdout().is_terminal();
    let mut shown = 0u64;
    archive.for_each_entry(|mut entry| {
        if !any_matches(&args.patterns, &entry.name) {
            return Ok(());
        }
        if escape && let Cow::Owned(name) = escape_controls(&entry.name) {
            entry.name = name;
        }
        // The header waits for the first match, so a listing that matches nothing writes
        // nothing to stdout before its error.
        if shown == 0
            && let Format::Long(table) = &format
        {
            writeln!(out, "{}", table.header()).map_err(Error::Write)?;
        }
        shown += 1;
        write_entry(&mut out, &mut format, &entry)
    })?;
    if shown == 0 && !args.patterns.is_empty() {
        // As unzip does: asking for entries that are not there is an error.
        return Err(Error::Message(format!(
            "no entries match {} in {}",
            quoted(&args.patterns),
            redact_url(&args.url)
        )));
    }
    if let Format::Long(table) = &format {
        if shown == 0 {
            writeln!(out, "{}", table.header()).map_err(Error::Write)?;
        }
        writeln!(out, "{}", table.total()).map_err(Error::Write)?;
    }
    out.flush().map_err(Error::Write)
}

/// Writes one entry's line in `format`.
fn write_entry(out: &mut impl Write, format: &mut Format, entry: &Entry) -> Result<(), Error> {
    match format {
        Format::Names => writeln!(out, "{}", entry.name),
        Format::Long(table) => writeln!(out, "{}", table.row(entry)),
        Format::Json => writeln!(out, "{}", json_line(entry)),
    }
    .map_err(Error::Write)
}

/// The patterns as a message quotes them: `'*.txt', 'a/*'`.
fn quoted(patterns: &[String]) -> String {
    patterns
        .iter()
        .map(|p| format!("'{p}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
