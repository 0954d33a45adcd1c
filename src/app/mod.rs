//! The commands, one module each; `run` resolves the command line once and dispatches it.

mod cat;
mod context;
mod extract;
mod fetch;
mod info;
mod listing;
mod ls;
mod serve;

use std::io::Write;

use rangecat::http::redact::redact_url;
use rangecat::source::{self, HttpConfig};
use rangecat::zip::Archive;

use crate::cli::{Cli, Command};
use crate::error::Error;
use crate::generate;

pub use context::Context;

/// Runs the command line.
pub fn run(cli: Cli) -> Result<(), Error> {
    let ctx = Context::new(&cli.net, &cli.report)?;
    if ctx.http.insecure && !ctx.quiet {
        eprintln!(
            "rangecat: warning: --insecure: https certificates are not verified; \
             anyone on the path can read and alter the transfer"
        );
    }
    match &cli.command {
        None => fetch::run(&cli.fetch, &ctx),
        Some(Command::Info(args)) => info::run(args, &ctx),
        Some(Command::Ls(args)) => ls::run(args, &ctx),
        Some(Command::Cat(args)) => cat::run(args, &ctx),
        Some(Command::X(args)) => extract::run(args, &ctx),
        Some(Command::Serve(args)) => serve::run(args, &ctx),
        Some(Command::Completions(args)) => {
            let script = generate::completion(args.shell);
            std::io::stdout()
                .write_all(script.as_bytes())
                .map_err(Error::Write)
        }
    }
}

/// Opens the archive at `url`: at most two requests.
fn open_archive(url: &str, http: &HttpConfig) -> Result<Archive, Error> {
    let source = source::open(url, http)?;
    Archive::open(source).map_err(|err| {
        let url = redact_url(url);
        Error::from(err).context(format!("cannot read the zip archive {url}"))
    })
}
