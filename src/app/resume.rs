//! `-c/--continue` (README, "Output"): the fetch command's hooks into a partial download
//! ([`rangecat::partial`]) kept beside `-o FILE`.

use std::ops::Range;

use rangecat::partial::{self, Layout, Version};
use rangecat::source::{self, Source};
use rangecat::transfer;

use super::context::Context;
use crate::cli::FetchArgs;
use crate::error::Error;
use crate::output::Output;

/// Where the fetch writes: stdout, `-o FILE`, or with `-c` a partial file beside FILE.
/// `-c` without a FILE to write to is a usage error.
pub fn output(args: &FetchArgs) -> Result<Output, Error> {
    let path = args.output.as_deref();
    if !args.resume {
        return Output::create(path);
    }
    match path {
        Some(dest) if dest.as_os_str() != "-" => Output::continuing(dest),
        _ => Err(Error::Usage(
            "--continue needs -o FILE: a download to stdout cannot be continued".into(),
        )),
    }
}

/// Before the first request: a source continuing a partial download takes the version it
/// was fetched under, so that no request goes out before the missing bytes' (which carry
/// `If-Range`). Whether it does.
pub fn prepare(source: &mut dyn Source, output: &mut Output) -> bool {
    let Some(version) = output.partial().and_then(|p| p.saved_version()) else {
        return false;
    };
    source.resume(version.identity());
    true
}

/// Once the output is known (`resolved`, against the length): the ranges still to fetch.
/// With `-c` these are what the partial file lacks when it holds bytes of the same version
/// and output, else all of them.
pub fn missing(
    source: &dyn Source,
    output: &mut Output,
    resolved: Vec<Range<u64>>,
) -> Result<Vec<Range<u64>>, transfer::Error> {
    let Some(partial) = output.partial() else {
        return Ok(resolved);
    };
    let version = source.version().and_then(|identity| Version::of(&identity));
    let done = partial
        .begin(version, Layout::of(&resolved))
        .map_err(|err| transfer::Error::Sink(Box::new(err)))?;
    Ok(partial::skip(&resolved, done))
}

/// Whether `done`, the transfer of a download that took the version of kept bytes
/// ([`prepare`]), found the resource changed before writing anything: the kept bytes are then
/// dropped, and the fetch is to start over (once: nothing is kept any more).
pub fn outdated(
    done: &Result<transfer::Summary, transfer::Error>,
    output: &mut Output,
    ctx: &Context,
) -> bool {
    let Err(transfer::Error::Source(source::Error::ResourceChanged { what })) = done else {
        return false;
    };
    if output.written() > 0 {
        return false;
    }
    let Some(partial) = output.partial().filter(|p| p.found()) else {
        return false;
    };
    if partial.discard().is_err() {
        return false;
    }
    if let Some(log) = &ctx.http.log {
        log(&format!(
            "* the partial download is of another version ({what}): starting over"
        ));
    }
    true
}
