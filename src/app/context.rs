//! The command line resolved once into what every command needs: HTTP settings, sizes as
//! `usize`, the progress policy and where log lines go.

use std::sync::Arc;

use rangecat::Log;
use rangecat::http::parse_header_line;
use rangecat::http::tls::CaBundle;
use rangecat::source::HttpConfig;

use crate::cli::{NetArgs, ReportArgs};
use crate::error::Error;
use crate::output::ProgressPolicy;

/// What the shared options (`NetArgs`, `ReportArgs`) resolve to.
#[derive(Clone)]
pub struct Context {
    /// How to talk to servers (`-H`, timeouts, retries, `--chunk-size`, `-v`).
    pub http: HttpConfig,
    /// Bytes per read and write (`--chunk-size`).
    pub chunk_size: usize,
    /// When to draw a progress bar (`--progress`, `-q`).
    pub progress: ProgressPolicy,
    /// `-q`: print nothing on stderr but errors.
    pub quiet: bool,
}

impl Context {
    /// Resolves the shared options; a malformed `-H` and an unreadable `--cacert` are usage
    /// errors.
    pub fn new(net: &NetArgs, report: &ReportArgs) -> Result<Context, Error> {
        let headers = net
            .headers
            .iter()
            .map(|line| {
                parse_header_line(line).map_err(|_| {
                    Error::Usage(format!(
                        "invalid header '{line}' for '--header': expected 'Name: value'"
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        let cacert = net
            .cacert
            .as_deref()
            .map(CaBundle::load)
            .transpose()
            .map_err(|err| Error::Usage(rangecat::one_line(&err)))?;
        let chunk_size = usize::try_from(net.chunk_size).unwrap_or(usize::MAX);
        let progress = if report.quiet {
            ProgressPolicy::Never
        } else if report.progress {
            ProgressPolicy::Always
        } else {
            ProgressPolicy::Auto
        };
        let http = HttpConfig {
            headers,
            connect_timeout: net.connect_timeout,
            timeout: net.timeout,
            retries: net.retries,
            buffer_size: chunk_size,
            log: report.verbose.then(stderr_log),
            cacert,
            insecure: net.insecure,
        };
        Ok(Context {
            http,
            chunk_size,
            progress,
            quiet: report.quiet,
        })
    }
}

/// A log that writes each line to stderr (`-v`, `serve`'s access log).
pub fn stderr_log() -> Log {
    Arc::new(|line: &str| eprintln!("{line}"))
}
