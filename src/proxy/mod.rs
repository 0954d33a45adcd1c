//! `rangecat serve`: a range-aware streaming HTTP proxy to one upstream, following the
//! Range And Streaming Spec: Range forwarded unchanged, 206/416/200 passed through, end-to-end
//! headers kept and hop-by-hop ones dropped, bodies streamed with backpressure.
//!
//! ```no_run
//! use std::time::Duration;
//! use rangecat::http::Transport;
//! use rangecat::proxy::{Proxy, ProxyConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ProxyConfig {
//!     upstream: "https://cdn.example.com/media".into(),
//!     chunk_size: 256 * 1024,
//!     // Timeouts of 10 s (connect) and 30 s (stalls), one retry, the platform's trust.
//!     transport: Transport::default(),
//!     keepalive_timeout: Duration::from_secs(15),
//!     max_connections: 256,
//!     log: None,
//!     // How an `s3://BUCKET/PREFIX` upstream is signed: from the environment.
//!     s3: Default::default(),
//!     // One worker (event loop) per core.
//!     workers: 0,
//! };
//! let proxy = Proxy::bind("127.0.0.1:8080", config)?;
//! let stopper = proxy.stopper()?; // stopper.stop() from another thread ends `run`
//! proxy.run();
//! # drop(stopper);
//! # Ok(())
//! # }
//! ```

mod access_log;
mod admission;
mod body;
mod bucket;
mod buffers;
mod error;
pub mod forward;
mod io;
pub mod limits;
mod listen;
pub mod server;
mod service;
mod splice;
pub mod target;
mod upstream;

/// The upstream answer's parsers, for the fuzz targets in `fuzz/`; not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::upstream::framing::{Decoder, Step};
    pub use super::upstream::head::{Framing, answer_framing};
}

pub use error::Error;
pub use server::{Proxy, ProxyConfig, Stopper};
