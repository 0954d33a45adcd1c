//! The temporary files a command has under way (an `x` member's `.part`, an `-o` download),
//! so that SIGINT and SIGTERM can remove them before the process exits.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Notes `path` before it is created; [`remove_all`] removes it until [`forget`] is called.
pub fn register(path: &Path) {
    if let Ok(mut live) = LIVE.lock() {
        live.push(path.to_owned());
    }
}

/// Forgets `path`: it was moved onto its destination or removed.
pub fn forget(path: &Path) {
    if let Ok(mut live) = LIVE.lock()
        && let Some(index) = live.iter().position(|p| p == path)
    {
        live.swap_remove(index);
    }
}

/// Removes every temporary file still registered (on a signal, just before exiting).
pub fn remove_all() {
    if let Ok(live) = LIVE.lock() {
        for path in live.iter() {
            let _ = fs::remove_file(path);
        }
    }
}
