//! `read_ranges` (the command line's fetch of many RANGEs, planned as it plans them) and
//! `list_zip` (the entries as `rangecat ls --json` shows them).

use std::io::{self, Write};
use std::ops::Range;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rangecat::plan::PlanConfig;
use rangecat::range::RangeExpr;
use rangecat::source::{self, Source};
use rangecat::transfer::{self, FetchConfig, Sink};
use rangecat::zip::Archive;

use crate::config::http_config;
use crate::errors::Failure;

/// The output of a fetch, and where each RANGE's bytes end once the length is known.
#[derive(Default)]
struct Split {
    out: Vec<u8>,
    lens: Option<Vec<u64>>,
}

impl Write for Split {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.out.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Sink for Split {
    fn resolved(
        &mut self,
        _source: &dyn Source,
        ranges: Vec<Range<u64>>,
    ) -> Result<Vec<Range<u64>>, transfer::Error> {
        self.lens = Some(ranges.iter().map(|r| r.end - r.start).collect());
        Ok(ranges)
    }
}

/// The bytes of each RANGE of `url` (strings in the command line's grammar; the Python side
/// turns tuples into them), fetched with the fewest requests, each byte once, as the command
/// line plans them (`--multipart`, `-j`, `--gap`).
#[pyfunction]
#[pyo3(signature = (url, ranges, *, multipart=false, jobs=1, gap=0, headers=None, timeout=None, connect_timeout=None, retries=1))]
#[allow(clippy::too_many_arguments)] // Python keyword arguments, one per command-line flag.
pub fn read_ranges<'py>(
    py: Python<'py>,
    url: &str,
    ranges: Vec<String>,
    multipart: bool,
    jobs: usize,
    gap: u64,
    headers: Option<Vec<(String, String)>>,
    timeout: Option<f64>,
    connect_timeout: Option<f64>,
    retries: u32,
) -> PyResult<Vec<Bound<'py, PyBytes>>> {
    let http = http_config(headers, timeout, connect_timeout, retries)?;
    let exprs = ranges
        .iter()
        .map(|text| text.parse::<RangeExpr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::from)?;
    let config = FetchConfig {
        plan: PlanConfig {
            gap,
            ..PlanConfig::default()
        },
        jobs: jobs.max(1),
        multipart,
        ..FetchConfig::default()
    };
    let split = py.detach(|| -> Result<Split, Failure> {
        let mut source = source::open(url, &http)?;
        let mut split = Split::default();
        let summary = transfer::fetch_into(&mut source, &exprs, &config, &mut split)?;
        if split.lens.is_none() {
            // No length before the fetch (a forward pass): resolve against the one it found.
            let len = summary.len.ok_or(source::Error::UnknownLength)?;
            let lens = exprs.iter().map(|e| {
                let r = e.resolve(len);
                r.end - r.start
            });
            split.lens = Some(lens.collect());
        }
        Ok(split)
    })?;
    let mut at = 0usize;
    let mut parts = Vec::new();
    for len in split.lens.unwrap_or_default() {
        let end = (at + len as usize).min(split.out.len());
        parts.push(PyBytes::new(py, &split.out[at..end]));
        at = end;
    }
    Ok(parts)
}

/// The entries of the zip archive at `url`, each as the JSON text of `rangecat ls --json`'s
/// line (the Python side parses them): the central directory in at most two requests.
#[pyfunction]
#[pyo3(signature = (url, *, headers=None, timeout=None, connect_timeout=None, retries=1))]
pub fn list_zip(
    py: Python<'_>,
    url: &str,
    headers: Option<Vec<(String, String)>>,
    timeout: Option<f64>,
    connect_timeout: Option<f64>,
    retries: u32,
) -> PyResult<Vec<String>> {
    let http = http_config(headers, timeout, connect_timeout, retries)?;
    let lines = py.detach(|| -> Result<Vec<String>, Failure> {
        let source = source::open(url, &http)?;
        let mut archive = Archive::open(source)?;
        let mut lines = Vec::new();
        archive.for_each_entry(|entry| {
            lines.push(entry.to_json().to_string());
            Ok::<(), rangecat::zip::Error>(())
        })?;
        Ok(lines)
    })?;
    Ok(lines)
}
