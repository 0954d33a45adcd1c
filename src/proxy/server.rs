//! The proxy's server: hyper's HTTP/1 server on a tokio runtime with one worker per core.
//! The accept loop holds the connection cap (503 past it), backs off when accepting fails
//! (out of descriptors: no busy loop), and on stop closes the listener and lets the requests
//! under way finish (hyper's graceful shutdown, at most ten seconds).

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;
use tokio::sync::Notify;

use super::bucket::Bucket;
use super::error::Error;
use super::io::{Activity, ClientIo};
use super::service::{Connection, Shared, handle};
use super::target::{MAX_HEAD, MAX_HEADERS, MAX_LINE};
use super::upstream::{Upstream, UpstreamConfig};
use crate::Log;
use crate::http::Transport;
use crate::s3::{Access, is_s3};

/// How the proxy runs.
#[derive(Clone)]
pub struct ProxyConfig {
    /// The upstream base URL: every request path is appended to it.
    pub upstream: String,
    /// Most bytes read from the upstream at once (the body passes in pieces of this size or
    /// less).
    pub chunk_size: usize,
    /// The upstream's trust (`--cacert`, `-k`), connect timeout and retries (extra attempts
    /// when connecting fails), the same settings as the client commands'; its `timeout` is
    /// the longest stall of any read or write, upstream or client, and the longest time to
    /// read a request head from its first byte.
    pub transport: Transport,
    /// How long a connection may wait for its next request once one has been answered.
    pub keepalive_timeout: Duration,
    /// Most client connections served at once; more get a 503.
    pub max_connections: usize,
    /// Where access-log lines go, if anywhere.
    pub log: Option<Log>,
    /// How requests to an `s3://` upstream are signed (README, "Object stores").
    pub s3: Access,
}

/// How long stopping waits for the requests under way.
const DRAIN: Duration = Duration::from_secs(10);

/// Connections being refused with 503 at once, at most: each holds a descriptor while its
/// answer goes out, and they must not take the ones the upstream connections need (half of
/// `limits::RESERVED_FDS`). Past it the accept loop waits for one to finish.
const MAX_REFUSING: usize = 32;

/// How long a refused connection is read after its 503, so that closing it does not reset
/// the connection under the answer.
const REFUSAL_DRAIN: Duration = Duration::from_millis(100);

/// A bound, not yet running proxy.
pub struct Proxy {
    listener: TcpListener,
    runtime: Runtime,
    shared: Arc<Shared>,
    stop: Arc<Notify>,
    config: ProxyConfig,
}

/// Stops a running proxy from another thread (a signal handler, a test).
#[derive(Clone)]
pub struct Stopper {
    shared: Arc<Shared>,
    stop: Arc<Notify>,
}

impl Stopper {
    /// Stops accepting; requests under way finish (up to a bound), then `run` returns.
    pub fn stop(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // A permit, should the accept loop not be waiting yet.
        self.stop.notify_one();
    }
}

impl Proxy {
    /// Binds `listen` for the upstream `config.upstream`.
    pub fn bind(listen: &str, config: ProxyConfig) -> Result<Proxy, Error> {
        let bucket = match is_s3(&config.upstream) {
            true => Some(Bucket::new(&config.upstream, &config.s3)?),
            false => None,
        };
        let base = bucket
            .as_ref()
            .map_or_else(|| config.upstream.clone(), Bucket::base_url);
        let (origin, base_path) = split_base(&base)?;
        let upstream = Upstream::new(UpstreamConfig {
            base: &base,
            cacert: config.transport.cacert.as_ref(),
            insecure: config.transport.insecure,
            connect_timeout: config.transport.connect_timeout,
            timeout: config.transport.timeout,
            retries: config.transport.retries,
            chunk_size: config.chunk_size,
        })?;
        let listener = TcpListener::bind(listen).map_err(|source| Error::Listen {
            address: listen.to_owned(),
            source,
        })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(std::thread::available_parallelism().map_or(1, |n| n.get()))
            .thread_name("rangecat-serve")
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        Ok(Proxy {
            listener,
            runtime,
            shared: Arc::new(Shared {
                upstream,
                origin,
                base_path,
                bucket,
                timeout: config.transport.timeout,
                log: config.log.clone(),
                stopping: AtomicBool::new(false),
            }),
            stop: Arc::new(Notify::new()),
            config,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A handle that stops it.
    pub fn stopper(&self) -> io::Result<Stopper> {
        Ok(Stopper {
            shared: self.shared.clone(),
            stop: self.stop.clone(),
        })
    }

    /// Serves until stopped, then waits (at most ten seconds) for requests under way.
    pub fn run(self) {
        let Proxy {
            listener,
            runtime,
            shared,
            stop,
            config,
        } = self;
        runtime.block_on(serve(listener, shared, stop, config));
        // Whatever is left (idle upstream connections, a request past the drain) ends here.
        runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

/// The accept loop, then the drain.
async fn serve(listener: TcpListener, shared: Arc<Shared>, stop: Arc<Notify>, config: ProxyConfig) {
    let listener = match listener
        .set_nonblocking(true)
        .and_then(|()| tokio::net::TcpListener::from_std(listener))
    {
        Ok(listener) => listener,
        Err(_) => return,
    };
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        // The client socket's own deadlines bound heads and idle time (see `io`).
        .header_read_timeout(None)
        .max_headers(MAX_HEADERS)
        // Room for the largest head the README allows; `target::check_head` is exact.
        .max_buf_size(MAX_HEAD + MAX_LINE)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(AtomicUsize::new(0));
    let refusing = Arc::new(Refusing::default());
    let mut backoff = Duration::ZERO;
    loop {
        while refusing.count.load(Ordering::SeqCst) >= MAX_REFUSING {
            tokio::select! {
                () = stop.notified() => return drain(listener, graceful).await,
                () = refusing.done.notified() => {}
            }
        }
        let accepted = tokio::select! {
            biased;
            () = stop.notified() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff = Duration::ZERO;
                accepted
            }
            Err(_) => {
                // Out of descriptors (EMFILE, ENFILE) or memory: the connection stays in the
                // accept queue, and retrying at once would spin. 10 ms, doubling to 100 ms.
                backoff =
                    (backoff * 2).clamp(Duration::from_millis(10), Duration::from_millis(100));
                tokio::select! {
                    () = stop.notified() => break,
                    () = tokio::time::sleep(backoff) => continue,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let slot = Slot::take(&connections);
        if slot.count > config.max_connections {
            refusing.count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(refuse_busy(stream, slot, refusing.clone()));
            continue;
        }
        let activity = Arc::new(Activity::default());
        let io = ClientIo::new(
            stream,
            activity.clone(),
            config.keepalive_timeout,
            config.transport.timeout,
        );
        let conn = Arc::new(Connection {
            peer: peer.to_string(),
            activity,
        });
        let shared = shared.clone();
        let service = service_fn(move |request| handle(shared.clone(), conn.clone(), request));
        let served = graceful.watch(http.serve_connection(TokioIo::new(io), service));
        tokio::spawn(async move {
            let _ = served.await;
            drop(slot);
        });
    }
    drain(listener, graceful).await;
}

/// Closes the listener, so that a client connecting now is refused rather than left waiting
/// in the accept queue, and lets the requests under way finish.
async fn drain(listener: tokio::net::TcpListener, graceful: GracefulShutdown) {
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
}

/// The connections being refused, and a wake-up when one is done.
#[derive(Default)]
struct Refusing {
    count: AtomicUsize,
    done: Notify,
}

/// One connection counted against the cap, until dropped.
struct Slot {
    connections: Arc<AtomicUsize>,
    /// Connections open with this one.
    count: usize,
}

impl Slot {
    fn take(connections: &Arc<AtomicUsize>) -> Slot {
        let count = connections.fetch_add(1, Ordering::SeqCst) + 1;
        Slot {
            connections: connections.clone(),
            count,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Answers a connection past the cap with 503 and closes it. What the client sent is read
/// briefly first, so that closing does not reset the connection under the answer.
async fn refuse_busy(mut stream: tokio::net::TcpStream, slot: Slot, refusing: Arc<Refusing>) {
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
        Content-Type: text/plain; charset=utf-8\r\nContent-Length: 50\r\n\
        Connection: close\r\n\r\n503 Service Unavailable: too many connections now\n";
    let answer = async {
        stream.write_all(BUSY).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        io::Result::Ok(())
    };
    let _ = tokio::time::timeout(REFUSAL_DRAIN, answer).await;
    drop(stream);
    drop(slot);
    refusing.count.fetch_sub(1, Ordering::SeqCst);
    refusing.done.notify_one();
}

/// Splits the upstream base into its origin and its path.
fn split_base(base: &str) -> Result<(String, String), Error> {
    let invalid = |reason: String| Error::InvalidUpstream {
        base: base.to_owned(),
        reason,
    };
    let uri: hyper::Uri = base.parse().map_err(|e| invalid(format!("{e}")))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(invalid(
            "expected http://host[:port][/path] or s3://BUCKET[/PREFIX]".into(),
        ));
    };
    if scheme != "http" && scheme != "https" {
        return Err(invalid(
            "only http, https and s3 upstreams are proxied".into(),
        ));
    }
    if uri.query().is_some() {
        return Err(invalid("a base URL takes no query".into()));
    }
    let path = uri.path().trim_end_matches('/').to_owned();
    Ok((format!("{scheme}://{authority}"), path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_splits_into_origin_and_path() {
        assert_eq!(
            split_base("http://127.0.0.1:9000/media/").unwrap(),
            ("http://127.0.0.1:9000".to_owned(), "/media".to_owned())
        );
        assert_eq!(
            split_base("https://cdn.example").unwrap(),
            ("https://cdn.example".to_owned(), String::new())
        );
        for bad in ["ftp://x/", "/just/a/path", "http://x/?q=1", "not a url"] {
            assert!(split_base(bad).is_err(), "{bad}");
        }
    }
}
