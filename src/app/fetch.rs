//! `rangecat URL [RANGE]...`: open the source with what the cache knows of it, open the
//! output, and hand both to [`transfer::fetch_into`], which learns the length, resolves the
//! ranges, plans the requests and streams the bytes.

use std::io::{self, Write};
use std::ops::Range;

use rangecat::plan::{PlanConfig, first_request};
use rangecat::range::RangeExpr;
use rangecat::source::{self, Lessons, Source};
use rangecat::transfer::{self, FetchConfig, Sink};

use super::context::{Context, Reuse};
use super::resume;
use crate::cli::FetchArgs;
use crate::error::Error;
use crate::output::{Output, ProgressPolicy, progress_bar};

/// Runs the fetch command.
pub fn run(args: &FetchArgs, ctx: &Context, reuse: Reuse) -> Result<(), Error> {
    let url = args.url.as_deref().expect("clap requires URL");
    let ranges = if args.ranges.is_empty() {
        vec![RangeExpr::whole()]
    } else {
        args.ranges.clone()
    };
    let config = FetchConfig {
        plan: PlanConfig {
            gap: args.gap,
            max_buffer: args.max_buffer,
            coalesce: !args.no_coalesce,
        },
        chunk_size: ctx.chunk_size,
        jobs: usize::from(args.jobs),
        multipart: args.multipart,
        strict: args.strict,
    };
    let mut source = source::open(url, &ctx.http)?;
    // README, "Cache": what the server taught an earlier fetch is not paid for again.
    let taught = ctx
        .cache
        .as_ref()
        .map_or_else(Lessons::default, |cache| cache.lessons_for(url));
    source.learn(taught);
    let mut output = resume::output(args)?;
    let resuming = resume::prepare(source.as_mut(), &mut output);
    // README, "Cache": a first RANGE that needs the length takes a kept one instead of a
    // probe; every request then carries If-Match.
    if first_request(&ranges, &config.plan, config.first_limit()).is_none()
        && !resuming
        && let Some(kept) = kept_version(url, ctx, reuse)
    {
        source.assume(kept);
    }
    let mut destination = Destination {
        output: &mut output,
        progress: ctx.progress,
    };
    let done = transfer::fetch_into(source.as_mut(), &ranges, &config, &mut destination);
    if let Some(cache) = &ctx.cache {
        cache.keep_lessons(url, source.as_ref(), taught);
    }
    if resume::outdated(&done, &mut output, ctx) {
        // A partial download (`-c`) turned out to be of another version before anything was
        // written: it is dropped, and the fetch starts over (README, "Output").
        drop(output);
        return run(args, ctx, reuse);
    }
    done?;
    output.finish()
}

/// The output as the fetch sees it: `-c` cuts the resolved ranges to what the partial
/// download lacks, and the progress bar starts once the total is known.
struct Destination<'a> {
    output: &'a mut Output,
    progress: ProgressPolicy,
}

impl Write for Destination<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.output.write(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.output.flush()
    }
}

impl Sink for Destination<'_> {
    fn resolved(
        &mut self,
        source: &dyn Source,
        ranges: Vec<Range<u64>>,
    ) -> Result<Vec<Range<u64>>, transfer::Error> {
        resume::missing(source, self.output, ranges)
    }

    fn total(&mut self, bytes: u64) {
        self.output
            .show_progress(progress_bar(self.progress, bytes));
    }
}

/// The version the cache kept for `url` (a zip command's entry holds its length), unless
/// `reuse` forbids it; with [`Reuse::Never`] the entry is dropped.
fn kept_version(url: &str, ctx: &Context, reuse: Reuse) -> Option<rangecat::source::Cached> {
    let cache = ctx.cache.as_ref()?;
    if reuse == Reuse::Never {
        cache.forget(url);
        return None;
    }
    cache.entry_for(url).map(|entry| entry.cached)
}
