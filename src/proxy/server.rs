//! The proxy's server: one worker per core, each a single-threaded tokio runtime on its own
//! thread with its own listening socket (see `listen`) and its own upstream connections, as
//! nginx's worker processes are; a request is read, forwarded and answered on the thread that
//! accepted its connection, so nothing wakes another core. Each accept loop counts its
//! connections against the one cap (503 past it, see `admission`), backs off when accepting
//! fails (out of descriptors: no busy loop), and on stop closes its handle on the listener and
//! lets its requests under way finish (hyper's graceful shutdown, at most ten seconds).

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::runtime::Runtime;
use tokio::sync::Notify;

use super::admission::Admission;
use super::bucket::Bucket;
use super::error::Error;
use super::io::{Activity, ClientIo};
use super::listen;
use super::service::{Connection, Shared, handle};
use super::splice::Splice;
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
    /// Most client connections served at once, by all the workers together; more get a 503.
    pub max_connections: usize,
    /// Where access-log lines go, if anywhere.
    pub log: Option<Log>,
    /// How requests to an `s3://` upstream are signed (README, "Object stores").
    pub s3: Access,
    /// Workers (event loops, each on a thread of its own); 0 for one per core.
    pub workers: usize,
}

/// How long stopping waits for the requests under way.
const DRAIN: Duration = Duration::from_secs(10);

/// A bound, not yet running proxy.
pub struct Proxy {
    workers: Vec<Worker>,
    local_addr: SocketAddr,
    stopper: Stopper,
}

/// One event loop: its runtime, its handle on the listener, its upstream connections.
struct Worker {
    runtime: Runtime,
    listener: TcpListener,
    shared: Arc<Shared>,
    admission: Arc<Admission>,
    stop: Arc<Notify>,
    config: ProxyConfig,
}

/// Stops a running proxy from another thread (a signal handler, a test).
#[derive(Clone)]
pub struct Stopper {
    stopping: Arc<AtomicBool>,
    workers: Vec<Arc<Notify>>,
}

impl Stopper {
    /// Stops accepting; requests under way finish (up to a bound), then `run` returns.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for worker in &self.workers {
            // A permit, should the accept loop not be waiting yet.
            worker.notify_one();
        }
    }
}

impl Proxy {
    /// Binds `listen` for the upstream `config.upstream`.
    pub fn bind(listen: &str, config: ProxyConfig) -> Result<Proxy, Error> {
        let bucket = match is_s3(&config.upstream) {
            true => Some(Arc::new(Bucket::new(&config.upstream, &config.s3)?)),
            false => None,
        };
        let base = bucket
            .as_ref()
            .map_or_else(|| config.upstream.clone(), |b| b.base_url());
        let (_, base_path) = split_base(&base)?;
        let count = super::limits::worker_count(config.workers);
        let (listeners, local_addr) =
            listen::bind(listen, count).map_err(|source| Error::Listen {
                address: listen.to_owned(),
                source,
            })?;
        let stopping = Arc::new(AtomicBool::new(false));
        let admission = Admission::new(config.max_connections);
        let mut workers = Vec::with_capacity(count);
        for listener in listeners {
            let upstream = Upstream::new(UpstreamConfig {
                base: &base,
                cacert: config.transport.cacert.as_ref(),
                insecure: config.transport.insecure,
                connect_timeout: config.transport.connect_timeout,
                timeout: config.transport.timeout,
                retries: config.transport.retries,
                chunk_size: config.chunk_size,
            })?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(Error::Runtime)?;
            workers.push(Worker {
                runtime,
                listener,
                shared: Arc::new(Shared {
                    upstream,
                    base_path: base_path.clone(),
                    bucket: bucket.clone(),
                    timeout: config.transport.timeout,
                    log: config.log.clone(),
                    stopping: stopping.clone(),
                }),
                admission: admission.clone(),
                stop: Arc::new(Notify::new()),
                config: config.clone(),
            });
        }
        let stopper = Stopper {
            stopping,
            workers: workers.iter().map(|w| w.stop.clone()).collect(),
        };
        Ok(Proxy {
            workers,
            local_addr,
            stopper,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local_addr)
    }

    /// A handle that stops it.
    pub fn stopper(&self) -> io::Result<Stopper> {
        Ok(self.stopper.clone())
    }

    /// Serves until stopped, then waits (at most ten seconds) for requests under way.
    pub fn run(self) {
        let mut workers = self.workers.into_iter();
        let Some(first) = workers.next() else {
            return;
        };
        let others: Vec<_> = workers
            .enumerate()
            .filter_map(|(i, worker)| {
                // A worker whose thread cannot start closes its handle on the listener; the
                // others accept its share.
                thread::Builder::new()
                    .name(format!("rangecat-serve-{}", i + 1))
                    .spawn(move || worker.run())
                    .ok()
            })
            .collect();
        first.run();
        for other in others {
            let _ = other.join();
        }
    }
}

impl Worker {
    fn run(self) {
        let Worker {
            runtime,
            listener,
            shared,
            admission,
            stop,
            config,
        } = self;
        runtime.block_on(serve(listener, shared, admission, stop, config));
        // Whatever is left (idle upstream connections, a request past the drain) ends here.
        runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

/// One worker's accept loop, then its drain.
async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    admission: Arc<Admission>,
    stop: Arc<Notify>,
    config: ProxyConfig,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        // The client socket's own deadlines bound heads and idle time (see `io`).
        .header_read_timeout(None)
        .max_headers(MAX_HEADERS)
        // Room for the largest head the README allows; `target::check_head` is exact.
        .max_buf_size(MAX_HEAD + MAX_LINE)
        // Frames are queued as they are, never copied into one buffer: the marker frames
        // of spliced bodies must reach the socket as themselves (see `splice`).
        .writev(true)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    let sweeper = tokio::spawn(close_expired(shared.clone()));
    let mut backoff = Duration::ZERO;
    loop {
        let next = async {
            admission.room_to_refuse().await;
            listener.accept().await
        };
        let accepted = tokio::select! {
            biased;
            () = stop.notified() => break,
            accepted = next => accepted,
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
        let Some((stream, slot)) = admission.admit(stream) else {
            continue;
        };
        let activity = Arc::new(Activity::default());
        let splice = Arc::new(Splice::default());
        let io = ClientIo::new(
            stream,
            activity.clone(),
            splice.clone(),
            config.keepalive_timeout,
            config.transport.timeout,
        );
        let conn = Arc::new(Connection {
            peer: peer.to_string(),
            activity,
            splice,
        });
        let shared = shared.clone();
        let service = service_fn(move |request| handle(shared.clone(), conn.clone(), request));
        let served = graceful.watch(http.serve_connection(TokioIo::new(io), service));
        tokio::spawn(async move {
            let _ = served.await;
            drop(slot);
        });
        // One connection per turn (nginx's `multi_accept off`): the connections already open
        // run before the next is accepted, so that a burst of new ones neither starves them
        // nor finds the slots of connections that have ended but not yet been seen to.
        tokio::task::yield_now().await;
    }
    sweeper.abort();
    drain(listener, graceful).await;
}

/// Closes idle upstream connections past their time, every few seconds.
async fn close_expired(shared: Arc<Shared>) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        every.tick().await;
        shared.upstream.close_expired();
    }
}

/// Closes this worker's handle on the listener (the socket closes with the last one, so that
/// a client connecting then is refused rather than left waiting in the accept queue), and
/// lets the requests under way finish.
async fn drain(listener: tokio::net::TcpListener, graceful: GracefulShutdown) {
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
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
