//! `rangecat serve`: bind, report, serve until SIGINT or SIGTERM.

use std::net::SocketAddr;

use rangecat::http::redact_url;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use rangecat::proxy::limits::{default_max_connections, raise_open_file_limit, worker_count};
use rangecat::proxy::{Proxy, ProxyConfig};

use super::context::Context;
use super::context::stderr_log;
use crate::cli::ServeArgs;
use crate::error::Error;
use crate::terminal::eprint_line;

/// Runs `rangecat serve`.
pub fn run(args: &ServeArgs, ctx: &Context) -> Result<(), Error> {
    // As nginx's worker_rlimit_nofile: a proxy's connections are its descriptors.
    let open_files = raise_open_file_limit();
    let max_connections = args
        .max_connections
        .unwrap_or_else(|| default_max_connections(open_files.unwrap_or(1024), worker_count(0)));
    let config = ProxyConfig {
        upstream: args.upstream.clone(),
        chunk_size: ctx.chunk_size,
        transport: ctx.http.transport.clone(),
        keepalive_timeout: args.keepalive_timeout,
        max_connections: max_connections.max(1),
        log: (!ctx.quiet).then(stderr_log),
        s3: ctx.http.s3.clone(),
        workers: 0,
    };
    let proxy = Proxy::bind(&args.listen, config)?;
    let addr = proxy
        .local_addr()
        .map_err(Error::io("cannot read the listening address"))?;
    if !ctx.quiet {
        if let Some(warning) = exposure_warning(&addr, &args.upstream) {
            eprint_line(&warning);
        }
        let upstream = redact_url(&args.upstream);
        eprint_line(&format!("rangecat: serving {upstream} on http://{addr}"));
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

/// The warning for a listening address that other machines can reach; `None` on loopback.
fn exposure_warning(addr: &SocketAddr, upstream: &str) -> Option<String> {
    (!is_loopback(addr)).then(|| {
        format!(
            "rangecat: warning: listening on {addr}, reachable from other machines; \
             anyone who can connect can read {} through it",
            redact_url(upstream)
        )
    })
}

fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPSTREAM: &str = "http://127.0.0.1:9000/media";

    #[test]
    fn loopback_addresses_get_no_warning() {
        for addr in [
            "127.0.0.1:8080",
            "127.0.0.2:8080",
            "127.255.255.254:1",
            "[::1]:8080",
        ] {
            let parsed: SocketAddr = addr.parse().unwrap();
            assert_eq!(exposure_warning(&parsed, UPSTREAM), None, "{addr}");
        }
    }

    #[test]
    fn addresses_other_machines_reach_get_a_warning_naming_address_and_upstream() {
        for (addr, shown) in [
            ("0.0.0.0:8080", "0.0.0.0:8080"),
            ("192.0.2.1:80", "192.0.2.1:80"),
            ("10.0.0.7:8080", "10.0.0.7:8080"),
            ("[::]:8080", "[::]:8080"),
            ("[2001:db8::1]:443", "[2001:db8::1]:443"),
        ] {
            let parsed: SocketAddr = addr.parse().unwrap();
            let want = format!(
                "rangecat: warning: listening on {shown}, reachable from other machines; \
                 anyone who can connect can read {UPSTREAM} through it"
            );
            assert_eq!(
                exposure_warning(&parsed, UPSTREAM).as_deref(),
                Some(want.as_str()),
                "{addr}"
            );
        }
    }
}
