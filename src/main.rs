//! The `rangecat` binary: parse the command line, run it, report an error in one line.

use std::process::ExitCode;

use rangecat::cli::Cli;
use rangecat::error::{exit_code, is_stdout_closed};

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    match rangecat::app::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_stdout_closed(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("rangecat: {err:#}");
            exit_code(&err)
        }
    }
}
