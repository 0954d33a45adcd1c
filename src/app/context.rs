//! The command line resolved once into what every command needs: HTTP settings, sizes as
//! `usize`, the progress policy and where log lines go.

use rangecat::cache::Cache;
use std::sync::Arc;

use rangecat::Log;
use rangecat::http::CaBundle;
use rangecat::http::{Transport, parse_header_line};
use rangecat::s3::Access;
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
    /// The metadata cache (README, "Cache"); `None` with `--no-cache` or nowhere to put it.
    pub cache: Option<Cache>,
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
            .collect::<Result<Vec<_>, _>>()?;
        let headers = match &net.user {
            Some(user) => [basic_auth(user)].into_iter().chain(headers).collect(),
            None => headers,
        };
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
            transport: Transport {
                connect_timeout: net.connect_timeout,
                timeout: net.timeout,
                retries: net.retries,
                cacert,
                insecure: net.insecure,
            },
            buffer_size: chunk_size,
            log: report.verbose.then(stderr_log),
            location_trusted: net.location_trusted,
            allow_insecure_redirect: net.allow_insecure_redirect,
            s3: Access::from_environment(!net.no_sign_request),
        };
        let cache = if net.no_cache {
            None
        } else {
            Cache::from_env(|name| std::env::var(name).ok())
        };
        Ok(Context {
            http,
            chunk_size,
            progress,
            quiet: report.quiet,
            cache,
        })
    }
}

/// The `Authorization` header of `-u USER[:PASSWORD]` (RFC 7617 Basic).
fn basic_auth(user: &str) -> (String, String) {
    use base64::Engine;
    let credentials = if user.contains(':') {
        user.to_owned()
    } else {
        format!("{user}:")
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    ("Authorization".to_owned(), format!("Basic {encoded}"))
}

/// A log that writes each line to stderr (`-v`, `serve`'s access log).
pub fn stderr_log() -> Log {
    Arc::new(crate::terminal::eprint_line)
}

/// How a command may use what the cache kept of an archive (README, "Cache").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reuse {
    /// `ls`: the tail request asks whether it is current (`If-None-Match`).
    Revalidate,
    /// `cat`, `x`: relied on without asking; every member request carries `If-Match`.
    Assume,
    /// Not at all: it turned out stale. What is learned replaces it.
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_is_rfc_7617() {
        // RFC 7617 §2's example.
        assert_eq!(
            basic_auth("Aladdin:open sesame").1,
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(basic_auth("user").1, "Basic dXNlcjo=");
    }
}
