//! The keyword arguments every call shares (`headers`, `timeout`, `connect_timeout`,
//! `retries`) as the library's [`HttpConfig`].

use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rangecat::source::HttpConfig;

/// `headers` (name, value pairs; the Python side turns a dict into them), `timeout` and
/// `connect_timeout` in seconds, `retries` per request: the command line's `-H`,
/// `--timeout`, `--connect-timeout` and `--retries`.
pub fn http_config(
    headers: Option<Vec<(String, String)>>,
    timeout: Option<f64>,
    connect_timeout: Option<f64>,
    retries: u32,
) -> PyResult<HttpConfig> {
    let mut config = HttpConfig {
        headers: headers.unwrap_or_default(),
        ..HttpConfig::default()
    };
    config.transport.retries = retries;
    if let Some(seconds) = timeout {
        config.transport.timeout = seconds_to_duration("timeout", seconds)?;
    }
    if let Some(seconds) = connect_timeout {
        config.transport.connect_timeout = seconds_to_duration("connect_timeout", seconds)?;
    }
    Ok(config)
}

fn seconds_to_duration(name: &str, seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            PyValueError::new_err(format!("{name} must be a positive number of seconds"))
        })
}
