//! The listening sockets, one per worker. On Linux each worker has a socket of its own on
//! the one address (`SO_REUSEPORT`), and the kernel spreads new connections over their accept
//! queues, as nginx's `listen ... reuseport` does: a queue shared by several event loops goes
//! to whichever loop is awake first, and under load that is the one already running (one
//! worker took every connection of a `wrk` run). Elsewhere the workers share one socket.

use std::io;
use std::net::{SocketAddr, TcpListener};

/// The accept queue of each socket: nginx's default backlog on Linux.
#[cfg(target_os = "linux")]
const BACKLOG: i32 = 511;

/// `count` listening sockets on `listen`, non-blocking, and the address they listen on.
///
/// The address is bound first as `TcpListener::bind` binds it (without `SO_REUSEPORT`), so
/// that an address in use, also by another `rangecat serve`, fails as it always has rather
/// than sharing its connections; that socket then makes way for the workers' own.
pub(crate) fn bind(listen: &str, count: usize) -> io::Result<(Vec<TcpListener>, SocketAddr)> {
    let first = TcpListener::bind(listen)?;
    let addr = first.local_addr()?;
    #[cfg(target_os = "linux")]
    let listeners = {
        drop(first);
        (0..count.max(1))
            .map(|_| reuse_port(addr))
            .collect::<io::Result<Vec<_>>>()?
    };
    #[cfg(not(target_os = "linux"))]
    let listeners = {
        let mut listeners = (1..count.max(1))
            .map(|_| first.try_clone())
            .collect::<io::Result<Vec<_>>>()?;
        listeners.push(first);
        listeners
    };
    for listener in &listeners {
        listener.set_nonblocking(true)?;
    }
    Ok((listeners, addr))
}

/// A socket listening on `addr` beside others with `SO_REUSEPORT` (and `SO_REUSEADDR`, as the
/// standard library sets, so that a restart is not refused while old connections linger).
#[cfg(target_os = "linux")]
fn reuse_port(addr: SocketAddr) -> io::Result<TcpListener> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType, sockopt};
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let socket = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    sockopt::set_socket_reuseaddr(&socket, true)?;
    sockopt::set_socket_reuseport(&socket, true)?;
    rustix::net::bind(&socket, &addr)?;
    rustix::net::listen(&socket, BACKLOG)?;
    Ok(TcpListener::from(socket))
}
