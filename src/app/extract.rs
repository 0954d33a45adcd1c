//! `rangecat x`: extract zip members into a directory. The work is in [`crate::zip::extract`];
//! this file picks the members, draws the progress bar and prints each failure on its line.

use anyhow::bail;
use indicatif::ProgressBar;

use crate::cli::{ExtractArgs, NetArgs, ReportArgs};
use crate::output::progress_bar;
use crate::zip::Entry;
use crate::zip::extract::{Failure, Fetch, Options, Reporter, extract};
use crate::zip::glob::{any_matches, matches};

use super::zip::{open_archive, select_with_spans};

/// Runs `rangecat x`: nothing on stdout; one `rangecat: ...` line on stderr per entry not
/// extracted, and then exit status 1.
pub fn run(args: &ExtractArgs, net: &NetArgs, report: &ReportArgs) -> anyhow::Result<()> {
    let mut archive = open_archive(&args.url, net, report)?;
    // Only the matching entries are held in memory, however large the archive.
    let (entries, spans) = select_with_spans(&mut archive, |entry| {
        any_matches(&args.patterns, &entry.name)
    })?;
    let members: Vec<(&Entry, std::ops::Range<u64>)> = entries.iter().zip(spans).collect();
    let unmatched: Vec<&String> = args
        .patterns
        .iter()
        .filter(|pattern| !entries.iter().any(|entry| matches(pattern, &entry.name)))
        .collect();

    let total = members
        .iter()
        .filter(|(entry, _)| !entry.is_dir)
        .map(|(entry, _)| entry.size)
        .fold(0u64, u64::saturating_add);
    let printer = Printer {
        bar: progress_bar(super::progress_policy(report), total),
    };
    let options = Options {
        jobs: usize::from(args.jobs),
        overwrite: args.overwrite,
        chunk_size: usize::try_from(net.chunk_size).unwrap_or(usize::MAX),
    };
    let source = archive.source_mut();
    let fetch = match source.fetcher() {
        Some(fetcher) => Fetch::Concurrent(fetcher),
        None => Fetch::Sequential(source),
    };
    let result = extract(&members, &args.directory, fetch, &options, &printer);
    if let Some(bar) = &printer.bar {
        bar.finish_and_clear();
    }
    let summary = result?;
    let mut problems = Vec::new();
    if summary.failed > 0 {
        problems.push(format!(
            "{} of {} entries not extracted",
            summary.failed,
            members.len()
        ));
    }
    if !unmatched.is_empty() {
        let quoted: Vec<String> = unmatched.iter().map(|p| format!("'{p}'")).collect();
        problems.push(format!("no entry matches {}", quoted.join(", ")));
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    Ok(())
}

/// Prints failures above the progress bar, if one is drawn.
struct Printer {
    bar: Option<ProgressBar>,
}

impl Printer {
    fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("rangecat: {line}")),
            None => eprintln!("rangecat: {line}"),
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
        self.say(&failure.to_string());
    }
}
