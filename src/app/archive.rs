//! Opening the archive a zip command names (`ls`, `cat`, `x`): through what the cache kept
//! of it (README, "Cache"), then each `--in` member inside the one before.

use rangecat::cache::Entry;
use rangecat::http::redact_url;
use rangecat::source;
use rangecat::zip::Archive;

use super::context::{Context, Reuse};
use crate::cli::InnerArgs;
use crate::error::Error;

/// Opens the archive at `url` (at most two requests; none or one with a cached copy), then
/// each `--in` member inside the one before, in place (at most two more each).
pub(super) fn open_archive(
    url: &str,
    ctx: &Context,
    inner: &InnerArgs,
    reuse: Reuse,
) -> Result<Archive, Error> {
    let shown = redact_url(url);
    let cache = ctx.cache.as_ref();
    let kept = match (cache, reuse) {
        (Some(cache), Reuse::Never) => {
            cache.forget(url);
            None
        }
        (Some(cache), _) => cache.entry_for(url),
        (None, _) => None,
    };
    let mut source = source::open(url, &ctx.http)?;
    let used_kept = kept.is_some();
    let opened = match kept {
        Some(kept) if reuse == Reuse::Assume => {
            source.assume(kept.cached.clone());
            Archive::from_kept(source, kept.start, kept.bytes).map(|archive| (archive, true))
        }
        kept => Archive::revalidate(source, kept),
    };
    let (mut archive, reused) = match opened {
        Ok(opened) => opened,
        // A kept copy that does not read as an archive: gone, and the archive read afresh.
        // (An answer from the server, a 404 say, is no fault of the copy.)
        Err(err) if used_kept && !matches!(err, rangecat::zip::Error::Source(_)) => {
            return open_archive(url, ctx, inner, Reuse::Never);
        }
        Err(err) => {
            return Err(Error::from(err).context(format!("cannot read the zip archive {shown}")));
        }
    };
    if let (Some(cache), false) = (cache, reused)
        && let Some(cached) = archive.source_mut().cached()
        && let Ok((start, bytes)) = archive.kept()
    {
        cache.keep_for(
            url,
            &Entry {
                cached,
                start,
                bytes,
                lessons: archive.source_mut().lessons(),
            },
        );
    }
    let mut path = String::new();
    for name in &inner.within {
        archive = archive.open_inner(name).map_err(|err| {
            let hint = match &err {
                rangecat::zip::Error::CompressedInner { .. } => format!(
                    "; download it with `rangecat cat {shown}{path} {} > FILE`",
                    shell_quote(name)
                ),
                _ => String::new(),
            };
            let what = format!("cannot read {name} inside {shown}{path}");
            Error::Message(format!(
                "{}{hint}",
                rangecat::one_line(&Error::from(err).context(what))
            ))
        })?;
        path += &format!(" --in {}", shell_quote(name));
    }
    Ok(archive)
}

/// `name` as a shell word: as it is when that is safe, else in single quotes.
fn shell_quote(name: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=+:,@%".contains(c);
    if !name.is_empty() && name.chars().all(safe) {
        name.to_owned()
    } else {
        format!("'{}'", name.replace('\'', "'\\''"))
    }
}
