//! `rangecat ls`: a zip archive's entries from its central directory.

use std::io::Write;

use crate::cli::{LsArgs, NetArgs, ReportArgs};
use crate::transfer::write_error;
use crate::zip::glob::any_matches;

use super::zip::open_archive;

/// Runs `rangecat ls`.
pub fn run(args: &LsArgs, net: &NetArgs, report: &ReportArgs) -> anyhow::Result<()> {
    let mut archive = open_archive(&args.url, net, report)?;
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    archive.for_each_entry(|entry| {
        if any_matches(&args.patterns, &entry.name) {
            writeln!(out, "{}", entry.name).map_err(write_error)?;
        }
        Ok(())
    })?;
    out.flush().map_err(write_error)
}
