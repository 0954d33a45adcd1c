//! The temporary files a command has under way (an `x` member's `.part`, an `-o` download),
//! so that SIGINT and SIGTERM can remove them before the process exits.
//!
//! [`create`] makes a temporary and registers it under one lock, and [`remove_all`] takes
//! that lock and keeps it until the process exits: a signal that comes while another thread
//! creates a temporary waits for the creation and removes what it made, and no temporary is
//! created or registered after the removal.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The list, whatever a thread that panicked holding it left: paths are still paths.
fn live() -> MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Creates the temporary `path` with `make` and registers it, as one step for
/// [`remove_all`]: [`remove_all`] removes it until [`forget`] is called. After
/// [`remove_all`] has run, this waits for the process to exit.
pub fn create<T>(path: &Path, make: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    let mut live = live();
    let made = make()?;
    live.push(path.to_owned());
    Ok(made)
}

/// Notes `path` before it is created; [`remove_all`] removes it until [`forget`] is called.
/// (A temporary created after this call and after [`remove_all`] ran would stay: prefer
/// [`create`].)
pub fn register(path: &Path) {
    live().push(path.to_owned());
}

/// Forgets `path`: it was moved onto its destination or removed.
pub fn forget(path: &Path) {
    let mut live = live();
    if let Some(index) = live.iter().position(|p| p == path) {
        live.swap_remove(index);
    }
}

/// Removes every temporary file still registered (on a signal, just before exiting), and
/// holds the list until the process exits, so that no other thread creates one after.
pub fn remove_all() {
    let live = live();
    for path in live.iter() {
        let _ = fs::remove_file(path);
    }
    // Never released: a thread about to create a temporary waits here for the exit.
    std::mem::forget(live);
}
