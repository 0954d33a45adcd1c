//! `rangecat serve`: bind, report, serve until SIGINT or SIGTERM.

use std::net::SocketAddr;

use rangecat::http::redact::redact_url;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use rangecat::proxy::{Proxy, ProxyConfig};

use super::Context;
use super::context::stderr_log;
use crate::cli::ServeArgs;
use crate::error::Error;

/// Runs `rangecat serve`.
pub fn run(args: &ServeArgs, ctx: &Context) -> Result<(), Error> {
    let config = ProxyConfig {
        upstream: args.upstream.clone(),
        chunk_size: ctx.chunk_size,
        connect_timeout: ctx.http.connect_timeout,
        timeout: ctx.http.timeout,
        retries: ctx.http.retries,
        max_connections: args.max_connections.max(1),
        log: (!ctx.quiet).then(stderr_log),
    };
    let proxy = Proxy::bind(&args.listen, config)?;
    let addr = proxy
        .local_addr()
        .map_err(Error::io("cannot read the listening address"))?;
    if !ctx.quiet {
        if !is_loopback(&addr) {
            eprintln!(
                "rangecat: warning: listening on {addr}, reachable from other machines; \
                 anyone who can connect can read {} through it",
                redact_url(&args.upstream)
            );
        }
        let upstream = redact_url(&args.upstream);
        eprintln!("rangecat: serving {upstream} on http://{addr}");
    }
    let stopper = proxy
        .stopper()
        .map_err(Error::io("cannot read the listening address"))?;
    let mut signals =
        Signals::new([SIGINT, SIGTERM]).map_err(Error::io("cannot handle SIGINT and SIGTERM"))?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            stopper.stop();
        }
    });
    proxy.run();
    Ok(())
}

fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}
