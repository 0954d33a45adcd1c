//! `rangecat x`: extract zip members into a directory. The work is in `rangecat::zip::extract`;
//! this file picks the members, draws the progress bar and prints each failure on its line.

use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::ProgressBar;
use rangecat::zip::Entry;
use rangecat::zip::{ExtractConfig, Failure, Fetch, Reporter, extract};
use rangecat::zip::{any_matches, select_members};

use super::archive::open_archive;
use super::context::{Context, Reuse};
use crate::cli::ExtractArgs;
use crate::error::Error;
use crate::output::progress_bar;
use crate::terminal::eprint_line;

/// Runs `rangecat x`: nothing on stdout; one `rangecat: ...` line on stderr per entry not
/// extracted (one for all the files that exist), and then exit status 1.
pub fn run(args: &ExtractArgs, ctx: &Context, reuse: Reuse) -> Result<(), Error> {
    let mut archive = open_archive(&args.url, ctx, &args.inner, reuse)?;
    // Only the matching entries are held in memory, however large the archive.
    let (entries, spans) = archive.select(|entry| any_matches(&args.patterns, &entry.name))?;
    // README: a PATTERN that names an entry is that entry, else a glob.
    let names: Vec<&str> = entries.iter().map(|entry| entry.name.as_str()).collect();
    let selections = select_members(&args.patterns, &names);
    let mut chosen = vec![args.patterns.is_empty(); entries.len()];
    for &index in selections.iter().flatten() {
        chosen[index] = true;
    }
    let members: Vec<(&Entry, std::ops::Range<u64>)> = entries
        .iter()
        .zip(spans)
        .zip(&chosen)
        .filter(|(_, chosen)| **chosen)
        .map(|(member, _)| member)
        .collect();
    let unmatched: Vec<&String> = args
        .patterns
        .iter()
        .zip(&selections)
        .filter(|(_, selected)| selected.is_empty())
        .map(|(pattern, _)| pattern)
        .collect();

    let total = members
        .iter()
        .filter(|(entry, _)| !entry.is_dir)
        .map(|(entry, _)| entry.size)
        .fold(0u64, u64::saturating_add);
    let printer = Printer {
        bar: progress_bar(ctx.progress, total),
        existing: AtomicUsize::new(0),
    };
    let config = ExtractConfig {
        jobs: usize::from(args.jobs),
        overwrite: args.overwrite,
        skip_existing: args.skip_existing,
        chunk_size: ctx.chunk_size,
    };
    // Members lying in what opening the archive fetched are read from memory.
    let result = match archive.fetcher() {
        Some(fetcher) => extract(
            &members,
            &args.directory,
            Fetch::Concurrent(fetcher),
            &config,
            &printer,
        ),
        None => {
            let mut read = |span| archive.read_span(span);
            let fetch = Fetch::Sequential(&mut read);
            extract(&members, &args.directory, fetch, &config, &printer)
        }
    };
    if let Some(bar) = &printer.bar {
        bar.finish_and_clear();
    }
    let summary = result?;
    let mut problems = Vec::new();
    // Files that exist are one line for all (README: unzip asks once).
    let existing = printer.existing.into_inner();
    if existing > 0 {
        let (files, exist) = if existing == 1 {
            ("file", "exists")
        } else {
            ("files", "exist")
        };
        problems.push(format!(
            "{existing} {files} {exist} in {}, kept (use --overwrite)",
            args.directory.display()
        ));
    }
    let failed = summary.failed - existing;
    if failed > 0 {
        problems.push(format!(
            "{failed} of {} entries not extracted",
            members.len()
        ));
    }
    if !unmatched.is_empty() {
        let quoted: Vec<String> = unmatched.iter().map(|p| format!("'{p}'")).collect();
        problems.push(format!("no entry matches {}", quoted.join(", ")));
    }
    if !problems.is_empty() {
        return Err(Error::Message(problems.join("; ")));
    }
    Ok(())
}

/// Prints failures above the progress bar, if one is drawn; counts the files that exist,
/// for one line at the end.
struct Printer {
    bar: Option<ProgressBar>,
    existing: AtomicUsize,
}

impl Printer {
    fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprint_line(&format!("rangecat: {line}"))),
            None => eprint_line(&format!("rangecat: {line}")),
        }
    }
}

impl Reporter for Printer {
    fn progress(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    fn failure(&self, failure: &Failure) {
        if let Failure::Exists { .. } = failure {
            self.existing.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.say(&rangecat::one_line(failure));
    }
}
