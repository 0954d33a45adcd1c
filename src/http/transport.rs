//! How requests travel: what to trust and how long to wait. One set of settings for the
//! client commands' requests and for `serve`'s upstream (README, "TLS" and "What goes on the
//! wire"), so that an option reaches both the same way.

use std::time::Duration;

use super::tls::CaBundle;

/// What to trust and how long to wait, for every request rangecat sends.
#[derive(Clone)]
pub struct Transport {
    /// Longest wait for a connection (`--connect-timeout`).
    pub connect_timeout: Duration,
    /// Longest stall of a read or a write (`--timeout`).
    pub timeout: Duration,
    /// Retries per request after a failure: a broken body resumed, a 429/502/503/504 or a
    /// connection that broke before the answer sent again.
    pub retries: u32,
    /// CAs trusted besides the trust store (`--cacert`).
    pub cacert: Option<CaBundle>,
    /// Skip certificate verification (`-k/--insecure`).
    pub insecure: bool,
}

impl Default for Transport {
    /// The command line's defaults: `--connect-timeout 10`, `--timeout 30`, `--retries 1`.
    fn default() -> Self {
        Transport {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            retries: 1,
            cacert: None,
            insecure: false,
        }
    }
}
