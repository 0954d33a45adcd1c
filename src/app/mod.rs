//! The commands, one module each; `run` dispatches a parsed command line.

pub mod extract;
pub mod fetch;
pub mod info;
pub mod ls;
pub mod serve;
pub mod zip;

use std::io::Write;
use std::sync::Arc;

use crate::cli::{Cli, Command, NetArgs, ReportArgs};
use crate::error::Error;
use crate::generate;
use crate::output::ProgressPolicy;
use crate::proxy::request::is_token_char;
use crate::source::Log;
use crate::source::http::HttpOptions;

/// Runs the command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        None => fetch::run(&cli.fetch, &cli.net, &cli.report),
        Some(Command::Info(args)) => info::run(args, &cli.net, &cli.report),
        Some(Command::Ls(args)) => ls::run(args, &cli.net, &cli.report),
        Some(Command::Cat(args)) => zip::cat(args, &cli.net, &cli.report),
        Some(Command::X(args)) => extract::run(args, &cli.net, &cli.report),
        Some(Command::Serve(args)) => serve::run(args, &cli.net, &cli.report),
        Some(Command::Completions(args)) => {
            let script = generate::completion(args.shell);
            std::io::stdout()
                .write_all(script.as_bytes())
                .map_err(crate::transfer::write_error)
        }
    }
}

/// The HTTP options the command line asks for.
pub fn http_options(net: &NetArgs, report: &ReportArgs) -> anyhow::Result<HttpOptions> {
    let headers = net
        .headers
        .iter()
        .map(|header| parse_header(header))
        .collect::<Result<_, _>>()?;
    let log: Option<Log> = report
        .verbose
        .then(|| Arc::new(|line: &str| eprintln!("{line}")) as Log);
    Ok(HttpOptions {
        headers,
        connect_timeout: net.connect_timeout,
        timeout: net.timeout,
        retries: net.retries,
        buffer_size: usize::try_from(net.chunk_size).unwrap_or(usize::MAX),
        log,
    })
}

/// The progress policy of `--progress` and `-q`.
pub fn progress_policy(report: &ReportArgs) -> ProgressPolicy {
    if report.quiet {
        ProgressPolicy::Never
    } else if report.progress {
        ProgressPolicy::Always
    } else {
        ProgressPolicy::Auto
    }
}

/// `Name: value` from `-H`.
fn parse_header(text: &str) -> Result<(String, String), Error> {
    match text.split_once(':') {
        Some((name, value))
            if !name.trim().is_empty() && name.trim().bytes().all(is_token_char) =>
        {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(Error::Usage(format!(
            "invalid header '{text}' for '--header': expected 'Name: value'"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_as_name_and_value() {
        assert_eq!(
            parse_header("Authorization: Bearer a:b").unwrap(),
            ("Authorization".into(), "Bearer a:b".into())
        );
        assert_eq!(
            parse_header("X-Empty:").unwrap(),
            ("X-Empty".into(), "".into())
        );
        for bad in ["no colon", ": value", "Bad Name: x"] {
            assert!(parse_header(bad).is_err(), "{bad}");
        }
    }
}
