//! `rangecat serve`: a range-aware streaming HTTP proxy to one upstream, following the
//! Range And Streaming Spec: Range forwarded unchanged, 206/416/200 passed through, end-to-end
//! headers kept and hop-by-hop ones dropped, bodies streamed with backpressure.

pub mod forward;
pub mod request;
pub mod server;

pub use server::{Proxy, ProxyConfig, Stopper};
