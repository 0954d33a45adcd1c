//! Local fixtures: free loopback ports, URLs nothing answers, and files in temporary
//! directories.

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
