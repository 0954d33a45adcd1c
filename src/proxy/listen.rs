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
/// On Linux the address is first bound by a socket without `SO_REUSEPORT`, so that an address
/// in use, also by another `rangecat serve`, fails as it always has rather than sharing its
/// connections. That socket never listens: a client connecting while the workers' sockets are
/// being made is refused (and may retry), never accepted into a queue that is then closed.
pub(crate) fn bind(listen: &str, count: usize) -> io::Result<(Vec<TcpListener>, SocketAddr)> {
    #[cfg(target_os = "linux")]
    let (listeners, addr) = {
        let addr = claim(listen)?;
        let listeners = (0..count.max(1))
            .map(|_| reuse_port(addr))
            .collect::<io::Result<Vec<_>>>()?;
        (listeners, addr)
    };
    #[cfg(not(target_os = "linux"))]
    let (listeners, addr) = {
        let first = TcpListener::bind(listen)?;
        let addr = first.local_addr()?;
        let mut listeners = (1..count.max(1))
            .map(|_| first.try_clone())
            .collect::<io::Result<Vec<_>>>()?;
        listeners.push(first);
        (listeners, addr)
    };
    for listener in &listeners {
        listener.set_nonblocking(true)?;
    }
    Ok((listeners, addr))
}

/// The first of `listen`'s addresses that can be bound (as `TcpListener::bind` tries them),
/// with its port chosen when `listen` asked for port 0; the socket that bound it is closed
/// again without having listened.
#[cfg(target_os = "linux")]
fn claim(listen: &str) -> io::Result<SocketAddr> {
    use std::net::ToSocketAddrs;
    let mut last = None;
    for addr in listen.to_socket_addrs()? {
        match socket_on(addr, false) {
            Ok(socket) => {
                return rustix::net::getsockname(&socket)?
                    .try_into()
                    .map_err(io::Error::other);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}

/// A socket listening on `addr` beside others with `SO_REUSEPORT` (and `SO_REUSEADDR`, as the
/// standard library sets, so that a restart is not refused while old connections linger).
#[cfg(target_os = "linux")]
fn reuse_port(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = socket_on(addr, true)?;
    rustix::net::listen(&socket, BACKLOG)?;
    Ok(TcpListener::from(socket))
}

/// A TCP socket bound to `addr` with `SO_REUSEADDR`, and `SO_REUSEPORT` when `share`.
#[cfg(target_os = "linux")]
fn socket_on(addr: SocketAddr, share: bool) -> io::Result<rustix::fd::OwnedFd> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType, sockopt};
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let socket = rustix::net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    sockopt::set_socket_reuseaddr(&socket, true)?;
    if share {
        sockopt::set_socket_reuseport(&socket, true)?;
    }
    rustix::net::bind(&socket, &addr)?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind;
    use std::net::TcpStream;

    #[test]
    fn port_0_gives_every_worker_a_socket_on_one_chosen_port() {
        let (listeners, addr) = bind("127.0.0.1:0", 2).unwrap();
        assert_ne!(addr.port(), 0);
        assert_eq!(listeners.len(), 2);
        for listener in &listeners {
            assert_eq!(listener.local_addr().unwrap(), addr);
        }
        TcpStream::connect(addr).expect("one of them accepts");
    }

    #[test]
    fn an_address_another_program_listens_on_is_refused() {
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = other.local_addr().unwrap().to_string();
        let error = bind(&taken, 2).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
    }

    #[test]
    fn an_address_another_rangecat_serve_listens_on_is_refused() {
        let (_first, addr) = bind("127.0.0.1:0", 2).unwrap();
        let error = bind(&addr.to_string(), 2).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
    }
}
