//! The commands, one module each; `run` resolves the command line once and dispatches it.

mod archive;
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

use crate::cli::{Cli, Command};
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
    if ctx.http.transport.insecure && !ctx.quiet {
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
