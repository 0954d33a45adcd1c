//! The `rangecat` binary: parse the command line, run it, report an error in one line.
//!
//! The command line and its output live here ([`cli`], [`app`], [`output`], [`generate`],
//! [`error`]); everything else is the `rangecat` library.
#![forbid(unsafe_code)]

mod app;
mod cli;
mod error;
// The man pages and the files' names serve tests/generated.rs, which compiles this module too.
#[allow(dead_code)]
mod generate;
mod output;
mod terminal;

use std::process::ExitCode;

use cli::Cli;
use error::{exit_code, is_quiet};

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    match app::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_quiet(&err) => ExitCode::SUCCESS,
        Err(err) => {
            terminal::eprint_line(&format!("rangecat: {}", rangecat::one_line(&err)));
            exit_code(&err)
        }
    }
}
