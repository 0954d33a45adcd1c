//! The commands, one module each; `run` resolves the command line once and dispatches it.

mod cat;
mod context;
mod extract;
mod fetch;
mod info;
mod listing;
mod ls;
mod resume;
mod serve;

use std::io::Write;

use rangecat::cache::Entry;
use rangecat::http::redact::redact_url;
use rangecat::source;
use rangecat::zip::Archive;

use crate::cli::{Cli, Command, InnerArgs};
use crate::error::Error;
use crate::generate;

pub use context::Context;
use context::Reuse;

/// Runs the command line.
pub fn run(cli: Cli) -> Result<(), Error> {
    let ctx = Context::new(&cli.net, &cli.report)?;
    // `serve` stops gracefully on its own; the others remove their temporaries and exit.
    if !matches!(cli.command, Some(Command::Serve(_))) {
        exit_on_signal();
    }
    if ctx.http.insecure && !ctx.quiet {
        eprintln!(
            "rangecat: warning: --insecure: https certificates are not verified; \
             anyone on the path can read and alter the transfer"
        );
    }
    match &cli.command {
        None => match fetch::run(&cli.fetch, &ctx, Reuse::Assume) {
            Err(err) if err.is_stale() => fetch::run(&cli.fetch, &ctx, Reuse::Never),
            done => done,
        },
        Some(Command::Info(args)) => info::run(args, &ctx),
        Some(Command::Ls(args)) => ls::run(args, &ctx),
        // A stale cached copy (README, "Cache"): dropped, and the command starts over, once.
        Some(Command::Cat(args)) => match cat::run(args, &ctx, Reuse::Assume) {
            Err(err) if err.is_stale() => cat::run(args, &ctx, Reuse::Never),
            done => done,
        },
        Some(Command::X(args)) => match extract::run(args, &ctx, Reuse::Assume) {
            Err(err) if err.is_stale() => extract::run(args, &ctx, Reuse::Never),
            done => done,
        },
        Some(Command::Serve(args)) => serve::run(args, &ctx),
        Some(Command::Completions(args)) => {
            let script = generate::completion(args.shell);
            std::io::stdout()
                .write_all(script.as_bytes())
                .map_err(Error::Write)
        }
    }
}

/// On SIGINT or SIGTERM, records the progress of a `-c` download, removes the temporary files
/// under way and exits 130 or 143 (128 + the signal), as the README promises.
fn exit_on_signal() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            rangecat::partial::checkpoint_all();
            rangecat::temporaries::remove_all();
            std::process::exit(128 + signal);
        }
    });
}

/// Opens the archive at `url` (at most two requests; none or one with a cached copy), then
/// each `--in` member inside the one before, in place (at most two more each).
fn open_archive(
    url: &str,
    ctx: &Context,
    inner: &InnerArgs,
    reuse: Reuse,
) -> Result<Archive, Error> {
    let shown = redact_url(url);
    let cache = ctx.cache.as_ref().filter(|_| source::is_http(url));
    let key = shown.to_string();
    let kept = match (cache, reuse) {
        (Some(cache), Reuse::Never) => {
            cache.remove(&key);
            None
        }
        (Some(cache), _) => cache.get(&key),
        (None, _) => None,
    };
    let mut source = source::open(url, &ctx.http)?;
    let used_kept = kept.is_some();
    let opened = match kept {
        Some(kept) if reuse == Reuse::Assume => {
            source.assume(kept.cached.clone());
            Archive::from_kept(source, kept.start, kept.bytes).map(|archive| (archive, true))
        }
        kept => Archive::revalidate(source, kept),
    };
    let (mut archive, reused) = match opened {
        Ok(opened) => opened,
        // A kept copy that does not read as an archive: gone, and the archive read afresh.
        // (An answer from the server, a 404 say, is no fault of the copy.)
        Err(err) if used_kept && !matches!(err, rangecat::zip::Error::Source(_)) => {
            return open_archive(url, ctx, inner, Reuse::Never);
        }
        Err(err) => {
            return Err(Error::from(err).context(format!("cannot read the zip archive {shown}")));
        }
    };
    if let (Some(cache), false) = (cache, reused)
        && let Some(cached) = archive.source_mut().cached()
        && let Ok((start, bytes)) = archive.kept()
    {
        cache.put(
            &key,
            &Entry {
                cached,
                start,
                bytes,
                lessons: archive.source_mut().lessons(),
            },
        );
    }
    let mut path = String::new();
    for name in &inner.within {
        archive = archive.open_inner(name).map_err(|err| {
            let hint = match &err {
                rangecat::zip::Error::CompressedInner { .. } => format!(
                    "; download it with `rangecat cat {shown}{path} {} > FILE`",
                    shell_quote(name)
                ),
                _ => String::new(),
            };
            let what = format!("cannot read {name} inside {shown}{path}");
            Error::Message(format!(
                "{}{hint}",
                rangecat::one_line(&Error::from(err).context(what))
            ))
        })?;
        path += &format!(" --in {}", shell_quote(name));
    }
    Ok(archive)
}

/// `name` as a shell word: as it is when that is safe, else in single quotes.
fn shell_quote(name: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=+:,@%".contains(c);
    if !name.is_empty() && name.chars().all(safe) {
        name.to_owned()
    } else {
        format!("'{}'", name.replace('\'', "'\\''"))
    }
}
