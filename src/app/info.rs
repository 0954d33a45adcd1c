//! `rangecat info URL`: length, whether ranges work and are advertised, type, validators,
//! as `key: value` lines or one JSON object. The probing is `rangecat::source::info`.

use std::io::Write;

use humansize::{BINARY, format_size};
use rangecat::http::redact_url;
use rangecat::source::{Info, info};

use super::context::Context;
use crate::cli::InfoArgs;
use crate::error::Error;

/// Runs the info command.
pub fn run(args: &InfoArgs, ctx: &Context) -> Result<(), Error> {
    let info = info(&args.url, &ctx.http)?;
    let text = if args.json {
        format!("{}\n", to_json(&info))
    } else {
        to_text(&info)
    };
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(Error::Write)
}

/// `key: value` lines, in a fixed order.
fn to_text(info: &Info) -> String {
    let none = || "none".to_owned();
    let length = match info.length {
        Some(len) => format!("{len} ({})", format_size(len, BINARY)),
        None => "unknown".into(),
    };
    let etag = match &info.etag {
        Some(etag) if etag.starts_with("W/") => format!("{etag} (weak)"),
        Some(etag) => format!("{etag} (strong)"),
        None => none(),
    };
    let lines = [
        ("url", redact_url(&info.url).into_owned()),
        ("length", length),
        ("ranges", if info.ranges { "yes" } else { "no" }.into()),
        (
            "accept-ranges",
            info.accept_ranges.clone().unwrap_or_else(none),
        ),
        (
            "content-type",
            info.content_type.clone().unwrap_or_else(none),
        ),
        ("etag", etag),
        (
            "last-modified",
            info.last_modified.clone().unwrap_or_else(none),
        ),
    ];
    lines
        .iter()
        .map(|(key, value)| format!("{key}: {value}\n"))
        .collect()
}

/// One JSON object.
fn to_json(info: &Info) -> String {
    serde_json::json!({
        "url": redact_url(&info.url),
        "length": info.length,
        "ranges": info.ranges,
        "accept_ranges": info.accept_ranges,
        "content_type": info.content_type,
        "etag": info.etag,
        "etag_weak": info.etag.as_ref().map(|etag| etag.starts_with("W/")),
        "last_modified": info.last_modified,
    })
    .to_string()
}
