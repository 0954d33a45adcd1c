//! How a fetch plans and reads.

use crate::plan::PlanConfig;
use crate::source::parallel::SEGMENT;

/// How a fetch plans and reads: the command line's `--gap`, `--max-buffer`,
/// `--no-coalesce`, `--chunk-size`, `-j`, `--multipart` and `--strict`.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// How RANGEs become requests.
    pub plan: PlanConfig,
    /// Bytes per read and write (`--chunk-size`); the forward passes read this much at once.
    pub chunk_size: usize,
    /// Requests in flight at once (`-j`).
    pub jobs: usize,
    /// Send the plan's requests as multi-range requests (`--multipart`).
    pub multipart: bool,
    /// A RANGE outside the resource is an error ([`Error::Outside`](super::Error::Outside)), not clipped as Python
    /// clips a slice (`--strict`).
    pub strict: bool,
}

impl Default for FetchConfig {
    /// The command line's defaults: `--chunk-size 256KiB`, one request at a time.
    fn default() -> Self {
        FetchConfig {
            plan: PlanConfig::default(),
            chunk_size: 256 * 1024,
            jobs: 1,
            multipart: false,
            strict: false,
        }
    }
}

impl FetchConfig {
    /// How the plan is executed.
    pub fn transfer(&self) -> TransferConfig {
        TransferConfig {
            chunk_size: self.chunk_size,
            jobs: self.jobs,
            multipart: self.multipart,
        }
    }

    /// The most bytes the first request may ask for: one segment under `-j`, so that the
    /// rest is split over the connections.
    pub fn first_limit(&self) -> u64 {
        if self.jobs > 1 { SEGMENT } else { u64::MAX }
    }
}

/// How a transfer reads.
#[derive(Debug, Clone, Copy)]
pub struct TransferConfig {
    /// Bytes per read and write (`--chunk-size`).
    pub chunk_size: usize,
    /// Requests in flight at once (`-j`): the plan's requests, and the segments large ones
    /// are cut into, fetched ahead by this many connections and written in order.
    pub jobs: usize,
    /// Send the plan's requests as multi-range requests (`--multipart`), in batches.
    pub multipart: bool,
}
