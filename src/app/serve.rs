//! `rangecat serve`: bind, report, serve until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::cli::{NetArgs, ReportArgs, ServeArgs};
use crate::proxy::{Proxy, ProxyConfig};
use crate::source::Log;

/// Runs `rangecat serve`.
pub fn run(args: &ServeArgs, net: &NetArgs, report: &ReportArgs) -> anyhow::Result<()> {
    let log: Option<Log> =
        (!report.quiet).then(|| Arc::new(|line: &str| eprintln!("{line}")) as Log);
    let config = ProxyConfig {
        upstream: args.upstream.clone(),
        chunk_size: usize::try_from(net.chunk_size).unwrap_or(usize::MAX),
        connect_timeout: net.connect_timeout,
        timeout: net.timeout,
        retries: net.retries,
        max_connections: args.max_connections.max(1),
        log,
    };
    let proxy = Proxy::bind(&args.listen, config)?;
    let addr = proxy.local_addr()?;
    if !report.quiet {
        if !is_loopback(&addr) {
            eprintln!(
                "rangecat: warning: listening on {addr}, reachable from other machines; \
                 anyone who can connect can read {} through it",
                args.upstream
            );
        }
        eprintln!("rangecat: serving {} on http://{addr}", args.upstream);
    }
    let stopper = proxy.stopper()?;
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            stopper.stop();
        }
    });
    proxy.run()
}

fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}
