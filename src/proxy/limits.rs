//! How many connections the proxy can hold: the open-file limit raised to its hard limit
//! at start (as nginx's `worker_rlimit_nofile`), and the default connection cap derived
//! from it, so that the proxy answers 503 before it runs out of descriptors.

/// Descriptors kept back from client connections with two workers: stdio, each worker's
/// listener, epoll, wake-up descriptor and pipes for splicing, and the short-lived sockets
/// of connections being refused with 503 (the headroom that keeps those answered rather
/// than left in the accept queue). Each further worker keeps back [`FDS_PER_WORKER`] more.
pub const RESERVED_FDS: u64 = 64;

/// A worker's own descriptors: its listening socket, its epoll, its wake-up descriptor,
/// and the two ends of each of its pipes for moving bodies without copying them.
pub const FDS_PER_WORKER: u64 = 3 + 2 * super::splice::PIPES_PER_WORKER as u64;

/// The descriptors kept back from client connections with `workers` workers.
pub fn reserved_fds(workers: usize) -> u64 {
    let further = u64::try_from(workers.saturating_sub(2)).unwrap_or(u64::MAX);
    RESERVED_FDS.saturating_add(further.saturating_mul(FDS_PER_WORKER))
}

/// The workers `serve` runs for a configured count: 0 means one per core.
pub fn worker_count(configured: usize) -> usize {
    match configured {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// The largest default cap, whatever the limit: each idle connection still costs memory
/// (hyper's 8 KiB read buffer and a task), and 65,536 of them fit in about 1 GiB.
pub const MAX_DEFAULT_CONNECTIONS: usize = 65_536;

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit; returns the soft limit in
/// force afterwards (`None` where it cannot be read).
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        if limit.current != limit.maximum {
            let raised = Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                return Some(limit.maximum.unwrap_or(u64::MAX));
            }
        }
        Some(limit.current.unwrap_or(u64::MAX))
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The default `--max-connections` for an open-file limit of `open_files` and `workers`
/// workers: each client connection takes one descriptor and, while a request is under way
/// or its upstream connection is kept for reuse, one more to the upstream, after
/// [`reserved_fds`]: `(open_files - 64 - 11 x (workers - 2)) / 2`, at least 1 and at most
/// [`MAX_DEFAULT_CONNECTIONS`]. 1,024 descriptors allow 480 connections on two cores, 458 on
/// six; 20,000 allow 9,968 on two.
pub fn default_max_connections(open_files: u64, workers: usize) -> usize {
    let pairs = open_files.saturating_sub(reserved_fds(workers)) / 2;
    usize::try_from(pairs)
        .unwrap_or(usize::MAX)
        .clamp(1, MAX_DEFAULT_CONNECTIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_two_descriptors_a_connection_and_a_reserve() {
        for (limit, cap) in [
            (0, 1),
            (64, 1),
            (256, 96),
            (1024, 480),
            (2112, 1024),
            (20_000, 9_968),
            (u64::MAX, MAX_DEFAULT_CONNECTIONS),
        ] {
            assert_eq!(default_max_connections(limit, 2), cap, "{limit}");
            assert_eq!(default_max_connections(limit, 1), cap, "{limit}");
        }
        // Each worker past two keeps back its listener, epoll and wake-up descriptor, and
        // its 4 pipes.
        assert_eq!(default_max_connections(1024, 6), 458);
        assert_eq!(default_max_connections(1024, 64), 139);
        assert_eq!(default_max_connections(100, 64), 1);
    }

    #[test]
    fn raising_leaves_the_soft_limit_at_the_hard_one() {
        let soft = raise_open_file_limit();
        #[cfg(target_os = "linux")]
        {
            let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
            assert_eq!(limit.current, limit.maximum);
            assert_eq!(soft, Some(limit.current.unwrap_or(u64::MAX)));
        }
        #[cfg(not(target_os = "linux"))]
        assert_eq!(soft, None);
    }
}
