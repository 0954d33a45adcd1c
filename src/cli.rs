//! The command line, defined once: `--help`, the man page and the shell completions all
//! come from these clap definitions.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand};
use clap_complete::Shell;

use rangecat::range::{RangeExpr, parse_size};

/// Read parts of remote files: byte ranges over HTTP, in the fewest requests.
///
/// RANGE is a half-open interval, as a Python slice: `A:B`, `A:`, `:B`, `-N:` (the last N
/// bytes), `:-N` (all but the last N), `A+N` (N bytes from A), `:` (everything). Numbers are
/// decimal or 0x hex with an optional unit: k M G T (powers of 1000) or Ki Mi Gi Ti (powers
/// of 1024), optionally followed by B. Several RANGEs are written in the order given.
#[derive(Debug, Parser)]
#[command(
    name = "rangecat",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  rangecat https://host/file.bin -4KiB: | xxd\n  rangecat https://host/file.bin 0:100 -100: -o ends.bin\n  rangecat info https://host/file.bin"
)]
pub struct Cli {
    /// The subcommand; without one, rangecat fetches ranges of URL.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Fetch options (the default command).
    #[command(flatten)]
    pub fetch: FetchArgs,

    /// Options shared by every command that talks to a server.
    #[command(flatten)]
    pub net: NetArgs,

    /// Output options shared by every command.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe URL: length, whether ranges work, type and validators
    Info(InfoArgs),
    /// List a zip archive's entries, reading only its central directory
    Ls(LsArgs),
    /// Write zip members' decompressed bytes to stdout, one request each
    Cat(CatArgs),
    /// Extract zip members into a directory
    X(ExtractArgs),
    /// Serve a range-aware streaming HTTP proxy to one upstream
    Serve(ServeArgs),
    /// Print a shell completion script to stdout
    Completions(CompletionsArgs),
}

/// Arguments of the default command: fetch byte ranges.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// http:// or https:// URL, file:// URL, or a local path
    #[arg(required = true, value_name = "URL")]
    pub url: Option<String>,

    /// Byte ranges to fetch, written in the order given; none means the whole resource
    #[arg(value_name = "RANGE")]
    pub ranges: Vec<RangeExpr>,

    /// Write to FILE instead of stdout (replaced only when the transfer succeeds)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// With -o FILE: keep what an interrupted download fetched, and fetch only the rest when
    /// run again with -c
    #[arg(short = 'c', long = "continue")]
    pub resume: bool,

    /// Fail (exit 1) if a RANGE is not wholly inside the resource, before writing anything
    #[arg(long)]
    pub strict: bool,

    /// Merge ranges separated by fewer than BYTES into one request
    #[arg(long, value_name = "BYTES", default_value = "0", value_parser = parse_size)]
    pub gap: u64,

    /// Keep at most BYTES of downloaded data for reuse by later ranges; past it, re-request
    #[arg(long, value_name = "BYTES", default_value = "64MiB", value_parser = parse_size)]
    pub max_buffer: u64,

    /// Send one request per RANGE as given: no merging, no reuse
    #[arg(long)]
    pub no_coalesce: bool,

    /// Keep up to N requests in flight at once (transfers over 8 MiB go in 4 MiB segments)
    #[arg(short, long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,

    /// Ask for many ranges in one request (multipart/byteranges), in batches
    #[arg(long)]
    pub multipart: bool,
}

/// Options for talking to servers, shared by all commands.
#[derive(Debug, Args)]
pub struct NetArgs {
    /// Add a request header, 'Name: value' (repeatable)
    #[arg(short = 'H', long = "header", value_name = "HEADER", global = true)]
    pub headers: Vec<String>,

    /// Basic authentication, USER:PASSWORD (USER alone: an empty password)
    #[arg(
        short = 'u',
        long = "user",
        value_name = "USER[:PASSWORD]",
        global = true
    )]
    pub user: Option<String>,

    /// Send Authorization, Cookie and Proxy-Authorization to other hosts that redirects lead to
    #[arg(long, global = true)]
    pub location_trusted: bool,

    /// Follow redirects from https to plain http
    #[arg(long, global = true)]
    pub allow_insecure_redirect: bool,

    /// Send s3:// requests unsigned, for public buckets (also AWS_NO_SIGN_REQUEST=true)
    #[arg(long, global = true)]
    pub no_sign_request: bool,

    /// Seconds to wait for a connection
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds, global = true)]
    pub connect_timeout: Duration,

    /// Seconds a read or write may stall before the transfer fails
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds, global = true)]
    pub timeout: Duration,

    /// Retries per request after a failure: a broken connection, a 429/502/503/504 answer
    #[arg(long, value_name = "N", default_value_t = 1, global = true)]
    pub retries: u32,

    /// Read and write in pieces of BYTES
    #[arg(long, value_name = "BYTES", default_value = "256KiB", value_parser = parse_chunk_size, global = true)]
    pub chunk_size: u64,

    /// Also trust the CA certificates in FILE (PEM) for https
    #[arg(long, value_name = "FILE", global = true)]
    pub cacert: Option<PathBuf>,

    /// Do not verify https certificates (anyone on the path can read and alter the transfer)
    #[arg(short = 'k', long, global = true)]
    pub insecure: bool,

    /// Neither use nor fill the metadata cache for this command
    #[arg(long, global = true)]
    pub no_cache: bool,
}

/// Options for what rangecat prints on stderr, shared by all commands.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Log each request and response on stderr
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// Print nothing on stderr but errors
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Draw the progress bar even when stderr is not a terminal
    #[arg(long, global = true, conflicts_with = "quiet")]
    pub progress: bool,
}

/// Arguments of `rangecat info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// http:// or https:// URL, file:// URL, or a local path
    #[arg(value_name = "URL")]
    pub url: String,

    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `rangecat ls`.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct LsArgs {
    /// The zip archive: http:// or https:// URL, file:// URL, or a local path
    #[arg(value_name = "URL")]
    pub url: String,

    #[command(flatten)]
    pub inner: InnerArgs,

    /// Shell globs matched against entry names (`*` also matches `/`); none lists all
    #[arg(value_name = "PATTERN")]
    pub patterns: Vec<String>,

    /// Long listing: size, compressed size, method, modified, CRC-32, name, and a total
    #[arg(short = 'l', long = "long")]
    pub long: bool,

    /// With -l, sizes in human-readable units (KiB, MiB, ...)
    #[arg(short = 'h', long = "human-readable")]
    pub human: bool,

    /// One JSON object per entry per line
    #[arg(long, conflicts_with = "long")]
    pub json: bool,

    /// Print help
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
}

/// `--in MEMBER`: a zip stored inside the archive (README, "Zip archives").
#[derive(Debug, Args)]
pub struct InnerArgs {
    /// Read the zip stored as MEMBER of the archive, in place (repeat for deeper levels)
    #[arg(long = "in", value_name = "MEMBER")]
    pub within: Vec<String>,
}

/// Arguments of `rangecat cat`.
#[derive(Debug, Args)]
pub struct CatArgs {
    /// The zip archive: http:// or https:// URL, file:// URL, or a local path
    #[arg(value_name = "URL")]
    pub url: String,

    #[command(flatten)]
    pub inner: InnerArgs,

    /// Entry names as `ls` prints them, or globs (a name that exists wins); in the order given
    #[arg(value_name = "MEMBER", required = true)]
    pub members: Vec<String>,
}

/// Arguments of `rangecat x`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// The zip archive: http:// or https:// URL, file:// URL, or a local path
    #[arg(value_name = "URL")]
    pub url: String,

    #[command(flatten)]
    pub inner: InnerArgs,

    /// Entry names, or shell globs (`*` also matches `/`; a name that exists wins); none: all
    #[arg(value_name = "PATTERN")]
    pub patterns: Vec<String>,

    /// Extract under DIR
    #[arg(
        short = 'C',
        long = "directory",
        value_name = "DIR",
        default_value = "."
    )]
    pub directory: PathBuf,

    /// Requests, and members being written, at once
    #[arg(short, long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,

    /// Replace files that already exist
    #[arg(long, conflicts_with = "skip_existing")]
    pub overwrite: bool,

    /// Extract only what does not exist yet; keep the rest quietly (as `unzip -n`)
    #[arg(short = 'n', long)]
    pub skip_existing: bool,
}

/// Arguments of `rangecat serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The upstream base URL: GET and HEAD /PATH are proxied to BASE/PATH, and nowhere else
    #[arg(long, value_name = "BASE")]
    pub upstream: String,

    /// Address to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// Most client connections served at once; more are answered 503 [default: (the
    /// open-file limit - 64) / 2, after raising the limit to its hard limit]
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,

    /// Seconds an idle keep-alive connection is kept open for its next request
    #[arg(long, value_name = "SECS", default_value = "15", value_parser = parse_seconds)]
    pub keepalive_timeout: Duration,
}

/// Arguments of `rangecat completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for
    #[arg(value_name = "SHELL")]
    pub shell: Shell,
}

impl Cli {
    /// Parses the process's arguments, letting RANGEs begin with `-` (`-1KiB:`).
    pub fn parse_args() -> Cli {
        Cli::parse_from(recognise_options_first(std::env::args_os().collect()))
    }
}

/// Moves rangecat's options in front of a `--` and every positional argument behind it, so
/// that `rangecat URL -1KiB: -q` reads `-1KiB:` as a RANGE and `-q` as the option, in the
/// given order. Only the default command takes RANGEs; subcommands are left to clap.
pub fn recognise_options_first(args: Vec<OsString>) -> Vec<OsString> {
    let command = Cli::command();
    let takes_value = |arg: &clap::Arg| {
        !matches!(
            arg.get_action(),
            ArgAction::SetTrue
                | ArgAction::SetFalse
                | ArgAction::Count
                | ArgAction::Help
                | ArgAction::Version
                | ArgAction::HelpShort
                | ArgAction::HelpLong
        )
    };
    let long_with_value = |name: &str| {
        command
            .get_arguments()
            .any(|arg| arg.get_long() == Some(name) && takes_value(arg))
    };
    let short_with_value = |c: char| {
        command
            .get_arguments()
            .any(|arg| arg.get_short() == Some(c) && takes_value(arg))
    };
    let Some((program, rest)) = args.split_first() else {
        return args;
    };
    let (mut options, mut positionals) = (vec![program.clone()], Vec::new());
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        let Some(text) = arg.to_str() else {
            positionals.push(arg.clone());
            continue;
        };
        if text == "--" {
            positionals.extend(rest.by_ref().cloned());
        } else if let Some(long) = text.strip_prefix("--") {
            options.push(arg.clone());
            if !long.contains('=') && long_with_value(long) {
                options.extend(rest.next().cloned());
            }
        } else if text.len() > 1 && text.starts_with('-') && !is_range_like(text) {
            options.push(arg.clone());
            // In a cluster like `-vo FILE`, a short option with a value takes the rest of
            // the cluster, or the next argument when the cluster ends with it.
            let shorts: Vec<char> = text[1..].chars().collect();
            if let Some(at) = shorts.iter().position(|c| short_with_value(*c))
                && at == shorts.len() - 1
            {
                options.extend(rest.next().cloned());
            }
        } else {
            if positionals.is_empty() && command.get_subcommands().any(|sub| sub.get_name() == text)
            {
                // A subcommand: the global options given before it go after it, where clap
                // takes them (before it they would make it the default command's URL).
                let mut reordered = vec![program.clone(), arg.clone()];
                reordered.extend(options.into_iter().skip(1));
                reordered.extend(rest.cloned());
                return reordered;
            }
            positionals.push(arg.clone());
        }
    }
    options.push("--".into());
    options.extend(positionals);
    options
}

/// A `-` followed by a digit starts a RANGE (`-100:`, `-0x10+4`); no option looks like that.
fn is_range_like(text: &str) -> bool {
    text.strip_prefix('-')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if !(secs > 0.0 && secs.is_finite() && secs <= 86_400.0 * 365.0) {
        return Err(format!("'{text}' must be a positive number of seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A chunk must be non-empty, and small enough that a handful of them stay cheap in memory.
fn parse_chunk_size(text: &str) -> Result<u64, String> {
    let size = parse_size(text).map_err(|e| e.to_string())?;
    match size {
        1..=0x1000_0000 => Ok(size),
        _ => Err(format!("'{text}' must be between 1 byte and 256MiB")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn normalised(args: &str) -> String {
        let args = args.split(' ').map(OsString::from).collect();
        let out: Vec<String> = recognise_options_first(args)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        out.join(" ")
    }

    #[test]
    fn options_are_recognised_before_ranges() {
        let cases = [
            ("rc URL -1KiB: -q", "rc -q -- URL -1KiB:"),
            ("rc URL 0:10 -10: 5:6", "rc -- URL 0:10 -10: 5:6"),
            (
                "rc -o out URL -5: --gap 10",
                "rc -o out --gap 10 -- URL -5:",
            ),
            (
                "rc URL --gap=10 -vo out -3:",
                "rc --gap=10 -vo out -- URL -3:",
            ),
            ("rc -H X:-1 URL", "rc -H X:-1 -- URL"),
            ("rc URL -- -x", "rc -- URL -x"),
            ("rc --frobnicate URL", "rc --frobnicate -- URL"),
            ("rc info URL -v", "rc info URL -v"),
            ("rc -v info URL", "rc info -v URL"),
            ("rc -q -H X:1 ls URL a*", "rc ls -q -H X:1 URL a*"),
            ("rc completions bash", "rc completions bash"),
        ];
        for (args, want) in cases {
            assert_eq!(normalised(args), want, "{args}");
        }
    }

    #[test]
    fn global_options_before_a_subcommand_belong_to_it() {
        let args = ["rangecat", "-q", "-H", "X: 1", "info", "http://h/f"];
        let cli = Cli::try_parse_from(recognise_options_first(args.map(OsString::from).to_vec()))
            .unwrap();
        assert!(cli.report.quiet);
        assert_eq!(cli.net.headers, ["X: 1"]);
        let Some(Command::Info(info)) = cli.command else {
            panic!("not info: {:?}", cli.command);
        };
        assert_eq!(info.url, "http://h/f");
    }

    #[test]
    fn a_leading_dash_range_parses_as_a_range() {
        let args = recognise_options_first(
            ["rangecat", "http://h/f", "-1KiB:", "-q", "0:10"]
                .map(OsString::from)
                .to_vec(),
        );
        let cli = Cli::try_parse_from(args).unwrap();
        assert!(cli.report.quiet);
        let ranges: Vec<String> = cli.fetch.ranges.iter().map(|r| r.to_string()).collect();
        assert_eq!(ranges, ["-1024:", "0:10"]);
    }
}
