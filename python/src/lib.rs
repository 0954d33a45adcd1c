//! `rangecat._rangecat`: the Python package's engine, rangecat's library behind a small
//! PyO3 surface. The Python side (`python/rangecat/__init__.py`) builds the public API on
//! it: `open` wraps [`Reader`] in an `io.RawIOBase`, `RangeStream` is range-streams' class
//! over a `Reader`, and the exceptions are Python classes that [`errors`] raises.
//!
//! Every call that may touch the network releases the GIL (`Python::detach`); a `Reader`'s
//! state sits behind a mutex, so one may be shared between threads.

mod config;
mod errors;
mod ranges;
mod reader;

use pyo3::prelude::*;

/// The module: the `Reader` class and the functions `read_ranges` and `list_zip`.
#[pymodule]
fn _rangecat(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<reader::Reader>()?;
    m.add_function(wrap_pyfunction!(ranges::read_ranges, m)?)?;
    m.add_function(wrap_pyfunction!(ranges::list_zip, m)?)?;
    m.add_function(wrap_pyfunction!(errors::redact, m)?)?;
    Ok(())
}
