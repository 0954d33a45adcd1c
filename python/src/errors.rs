//! One place where the library's errors become Python exceptions: the classes are defined in
//! Python (`rangecat/_errors.py`, so that `RangeError` can also be a `ValueError` and
//! `TimeoutError` the built-in one) and looked up here when raised.

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rangecat::http::redact_url;
use rangecat::range::RangeError;
use rangecat::{one_line, source, transfer, zip};

/// Why a call failed, carried out of the GIL-free part of a call.
pub enum Failure {
    Source(source::Error),
    Transfer(transfer::Error),
    Zip(zip::Error),
    Range(RangeError),
}

impl From<source::Error> for Failure {
    fn from(err: source::Error) -> Self {
        Failure::Source(err)
    }
}

impl From<transfer::Error> for Failure {
    fn from(err: transfer::Error) -> Self {
        Failure::Transfer(err)
    }
}

impl From<zip::Error> for Failure {
    fn from(err: zip::Error) -> Self {
        Failure::Zip(err)
    }
}

impl From<RangeError> for Failure {
    fn from(err: RangeError) -> Self {
        Failure::Range(err)
    }
}

impl From<std::io::Error> for Failure {
    fn from(err: std::io::Error) -> Self {
        Failure::Source(err.into())
    }
}

/// The exception class, its message and any extra arguments (`status`, `url`).
struct Raised {
    class: &'static str,
    message: String,
    status: Option<u16>,
    url: Option<String>,
    /// A local file's failure: its errno, description and path, as an `OSError` carries
    /// them (its `str()` then reads as Python's own: `[Errno 2] No such file or directory:
    /// '/x'`).
    errno: Option<(i32, String, String)>,
}

fn raised(class: &'static str, message: String) -> Raised {
    Raised {
        class,
        message,
        status: None,
        url: None,
        errno: None,
    }
}

/// Which class a source error is raised as.
fn classify_source(err: &source::Error) -> Raised {
    let message = one_line(err);
    match err {
        source::Error::Status { code, url, .. } => Raised {
            class: "HTTPStatusError",
            message,
            status: Some(*code),
            url: Some(redact_url(url).into_owned()),
            errno: None,
        },
        // An object store's error answer: its status, and the `s3://` URL (no secret in it).
        source::Error::S3(err) => Raised {
            class: "HTTPStatusError",
            message,
            status: Some(err.status),
            url: Some(err.url.clone()),
            errno: None,
        },
        source::Error::File { path, source, .. } => Raised {
            errno: source.raw_os_error().map(|code| {
                let text = source.to_string();
                let strerror = text.rfind(" (os error").map_or(&*text, |at| &text[..at]);
                (code, strerror.to_owned(), path.display().to_string())
            }),
            ..raised("Error", message)
        },
        source::Error::ResourceChanged { .. } | source::Error::Stale => {
            raised("ChangedError", message)
        }
        err if err.is_timeout() => raised("TimeoutError", message),
        source::Error::Request { .. }
        | source::Error::Read { .. }
        | source::Error::Certificate { .. }
        | source::Error::Tls(_)
        | source::Error::Truncated { .. }
        | source::Error::EndedEarly { .. }
        | source::Error::ClosedWhileSkipping { .. } => raised("NetworkError", message),
        _ => raised("Error", message),
    }
}

impl Failure {
    fn raised(&self) -> Raised {
        match self {
            Failure::Source(err) => classify_source(err),
            Failure::Transfer(transfer::Error::Source(err)) => classify_source(err),
            Failure::Transfer(
                err @ (transfer::Error::Outside { .. }
                | transfer::Error::FromEndWithoutLength { .. }
                | transfer::Error::FromEndTooLarge { .. }),
            ) => raised("RangeError", one_line(err)),
            Failure::Transfer(err @ transfer::Error::AnswersChanged) => {
                raised("ChangedError", one_line(err))
            }
            Failure::Transfer(err) => raised("Error", one_line(err)),
            Failure::Zip(zip::Error::Source(err)) => classify_source(err),
            Failure::Zip(err) => raised("ZipError", one_line(err)),
            Failure::Range(err) => raised("RangeError", err.to_string()),
        }
    }
}

impl From<Failure> for PyErr {
    fn from(failure: Failure) -> PyErr {
        let raised = failure.raised();
        Python::attach(|py| match exception(py, &raised) {
            Ok(err) | Err(err) => err,
        })
    }
}

/// The exception instance for `raised`, or the error met while looking its class up.
fn exception(py: Python<'_>, raised: &Raised) -> PyResult<PyErr> {
    let class = py.import("rangecat._errors")?.getattr(raised.class)?;
    let args = PyTuple::new(py, [raised.message.as_str()])?;
    let instance = class.call1(args)?;
    if let Some(status) = raised.status {
        instance.setattr("status", status)?;
    }
    if let Some(url) = &raised.url {
        instance.setattr("url", url)?;
    }
    if let Some((errno, strerror, filename)) = &raised.errno {
        instance.setattr("errno", errno)?;
        instance.setattr("strerror", strerror)?;
        instance.setattr("filename", filename)?;
    }
    Ok(PyErr::from_value(instance))
}

/// `url` with any password and signed query parameters replaced (the `.url` of a file
/// object and of an `HTTPStatusError`).
#[pyfunction]
pub fn redact(url: &str) -> String {
    redact_url(url).into_owned()
}
