//! Local fixtures: free loopback ports, URLs nothing answers, an address whose connect hangs,
//! and files in temporary directories.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

/// A port on 127.0.0.1 that was free a moment ago (and has nothing listening now). Another
/// process may take it meanwhile; callers that bind it retry.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// A URL nothing listens on; usage errors must be reported before any connection.
pub fn unused_url() -> String {
    format!("http://127.0.0.1:{}/x", free_port())
}

/// A temporary directory holding `bytes` as `name`, and the file's path.
pub fn local_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// `file://PATH`.
pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// A loopback address where connecting hangs: a listener with backlog 0 whose queue is full, so
/// the kernel drops further SYNs. Returns the listener and the queued sockets, to keep alive.
pub fn unanswered_connect() -> (
    socket2::Socket,
    Vec<std::net::TcpStream>,
    std::net::SocketAddr,
) {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut queued = Vec::new();
    // Fill the queue (a backlog of 0 still admits one or two); stop at the first that hangs.
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200)) {
            Ok(stream) => queued.push(stream),
            Err(_) => break,
        }
    }
    (listener, queued, addr)
}

/// The names in `dir`, sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Writes `bytes` to `path`, dated an hour back. Apache marks the ETag of a file modified
/// within the last second weak (`W/"..."`), and strong a second later: a client then sees the
/// ETag change between two answers, as it must when a resource might have changed. A file
/// dated an hour back has a strong ETag from the start.
pub fn write_settled(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write the served file");
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|file| file.set_modified(an_hour_ago))
        .expect("date the served file");
}
