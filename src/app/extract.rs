//! `rangecat x`: extract zip members into a directory. (Being written.)

use crate::cli::{ExtractArgs, NetArgs, ReportArgs};

/// Runs `rangecat x`.
pub fn run(_args: &ExtractArgs, _net: &NetArgs, _report: &ReportArgs) -> anyhow::Result<()> {
    anyhow::bail!("x is not implemented yet")
}
