//! s3s-fs in-process: the `s3s` crate's S3 protocol layer (routing, SigV4 checks, XML errors)
//! over `s3s-fs`'s file-system store, served with hyper on its own thread and tokio runtime.
//! What it answers, case by case, is in the table of [`super`].

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{HttpError, HttpResponse};
use tokio::sync::oneshot;

use super::{S3Request, object_url};

/// How long dropping the server waits for connections still open: a client that stalls
/// must not hang the test that drops the server.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// The requests a server received, shared with its connection tasks.
type Log = Arc<Mutex<Vec<S3Request>>>;

/// s3s-fs over a fresh temp dir on `127.0.0.1:PORT`, checking every request's SigV4
/// signature (header or presigned) against one key pair; stopped on drop.
pub struct S3Fs {
    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_S3` (path-style addressing).
    pub endpoint: String,
    /// The listening address, for raw clients.
    pub addr: SocketAddr,
    /// Holds `data/` (the store: `data/BUCKET/KEY`) and `staging/` (see [`S3Fs::put`]).
    dir: tempfile::TempDir,
    log: Log,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl S3Fs {
    /// s3s-fs over a fresh temp dir, checking SigV4 (header and presigned/query auth) against
    /// this one key pair. Panics when it cannot start.
    pub fn start(access_key: &str, secret_key: &str) -> S3Fs {
        let dir = tempfile::Builder::new()
            .prefix("rangecat-s3s-")
            .tempdir()
            .expect("s3s-fs temp dir");
        let data = dir.path().join("data");
        fs::create_dir(&data).expect("s3s-fs data dir");
        fs::create_dir(dir.path().join("staging")).expect("s3s-fs staging dir");
        let store = s3s_fs::FileSystem::new(&data).expect("s3s-fs store");
        let mut builder = S3ServiceBuilder::new(store);
        builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
        let service = builder.build();

        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local_addr");
        let log = Log::default();
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("s3s-fs".into())
            .spawn({
                let log = log.clone();
                move || run(listener, service, log, stopped)
            })
            .expect("spawn the s3s-fs thread");
        S3Fs {
            endpoint: format!("http://{addr}"),
            addr,
            dir,
            log,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Stores `bytes` as `key` in `bucket`, creating the bucket if needed, through the
    /// store's layout (`BUCKET/KEY` under its root, a slash in a key being a directory), not
    /// through the API: nothing shows in [`S3Fs::requests`]. The file is written aside and
    /// renamed into place, so a reader never sees half an object; its ETag is the MD5 of its
    /// bytes, and its Last-Modified the file's mtime.
    pub fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let path = self.object_path(bucket, key);
        fs::create_dir_all(path.parent().expect("an object has a parent"))
            .unwrap_or_else(|e| panic!("s3s-fs: create {bucket}/{key}'s directory: {e}"));
        let staged = tempfile::NamedTempFile::new_in(self.dir.path().join("staging"))
            .expect("s3s-fs staging file");
        fs::write(staged.path(), bytes).expect("s3s-fs: write the object");
        staged
            .persist(&path)
            .unwrap_or_else(|e| panic!("s3s-fs: store {bucket}/{key}: {e}"));
    }

    /// `ENDPOINT/BUCKET/KEY` with the key encoded as SigV4 encodes it (see [`object_url`]).
    pub fn url(&self, bucket: &str, key: &str) -> String {
        object_url(&self.endpoint, bucket, key)
    }

    /// Every request the server got so far, in the order their answers started.
    pub fn requests(&self) -> Vec<S3Request> {
        self.log.lock().unwrap().clone()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.log.lock().unwrap().clear();
    }

    /// Where the store keeps `bucket`/`key`; a key that would leave the bucket fails the test.
    fn object_path(&self, bucket: &str, key: &str) -> PathBuf {
        let escapes = |name: &str| {
            name.is_empty()
                || name.starts_with('/')
                || name.split('/').any(|part| part == "." || part == "..")
        };
        assert!(
            !escapes(bucket) && !bucket.contains('/') && !escapes(key) && !key.ends_with('/'),
            "s3s-fs stores no object {bucket:?}/{key:?}"
        );
        self.dir.path().join("data").join(bucket).join(key)
    }
}

impl Drop for S3Fs {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // Bounded: the thread waits at most SHUTDOWN_TIMEOUT for open connections.
            let _ = thread.join();
        }
    }
}

impl crate::util::command::RequestLog for S3Fs {
    fn request_log(&self) -> String {
        super::log_lines(&self.requests())
    }
}

/// The server thread: accepts until `stopped`, then gives open connections
/// [`SHUTDOWN_TIMEOUT`] to finish.
fn run(listener: TcpListener, service: S3Service, log: Log, stopped: oneshot::Receiver<()>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("s3s-fs runtime");
    runtime.block_on(accept(listener, service, log, stopped));
    runtime.shutdown_timeout(SHUTDOWN_TIMEOUT);
}

async fn accept(
    listener: TcpListener,
    service: S3Service,
    log: Log,
    mut stopped: oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = &mut stopped => return,
        };
        let service = service.clone();
        let log = log.clone();
        tokio::spawn(async move {
            let handler = service_fn(move |request| logged(service.clone(), log.clone(), request));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), handler)
                .await;
        });
    }
}

/// Forwards `request` to s3s and logs it with the status of its answer (0 when s3s gave
/// none and hyper closes the connection), before the body goes out.
async fn logged(
    service: S3Service,
    log: Log,
    request: hyper::Request<Incoming>,
) -> Result<HttpResponse, HttpError> {
    let mut entry = S3Request {
        method: request.method().to_string(),
        path: request.uri().path().to_string(),
        query: request.uri().query().unwrap_or_default().to_string(),
        range: request
            .headers()
            .get(hyper::header::RANGE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        status: 0,
    };
    let answer = service.call(request.map(s3s::Body::from)).await;
    entry.status = answer.as_ref().map_or(0, |r| r.status().as_u16());
    log.lock().unwrap().push(entry);
    answer
}
