//! A rendezvous of threads that gives up after a timeout.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// A rendezvous of `n` threads that gives up after a timeout (std's `Barrier` would wait
/// forever for a thread that panicked).
pub struct Gate {
    pub arrived: Mutex<usize>,
    pub all: Condvar,
    pub n: usize,
}

impl Gate {
    pub fn new(n: usize) -> Gate {
        Gate {
            arrived: Mutex::new(0),
            all: Condvar::new(),
            n,
        }
    }

    /// Arrives and waits for the others; whether all came within `limit`.
    pub fn arrive(&self, limit: Duration) -> bool {
        let mut arrived = self.arrived.lock().unwrap();
        *arrived += 1;
        self.all.notify_all();
        let (arrived, _) = self
            .all
            .wait_timeout_while(arrived, limit, |a| *a < self.n)
            .unwrap();
        *arrived >= self.n
    }
}
