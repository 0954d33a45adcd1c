//! What is extracted, decided before any request is sent: every name checked, the
//! directories created, the last of same-named members kept, and each member checked (its
//! method, a link's size, its destination).

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;

use super::write::open_dirs;
use super::{Failure, Job, Kind, MAX_LINK_TARGET, Shared};
use crate::zip::dir::Kind as DirKind;
use crate::zip::entry::Entry;
use crate::zip::member::check_supported;
use crate::zip::path::safe_path;

/// Checks every name, creates the directories (the last entry for each is kept, to give it
/// its time later), keeps the last of same-named members, and checks each member before any
/// request is sent for it.
pub(super) fn plan<'a>(
    members: &[(&'a Entry, Range<u64>)],
    ctx: &Shared<'_>,
    fail: &dyn Fn(Failure),
) -> (HashMap<PathBuf, &'a Entry>, Vec<Job<'a>>) {
    let mut dirs = HashMap::new();
    let mut jobs: Vec<Option<Job<'a>>> = Vec::new();
    let mut by_path: HashMap<PathBuf, usize> = HashMap::new();
    for (index, (entry, span)) in members.iter().enumerate() {
        let entry: &'a Entry = entry;
        let path = match safe_path(&entry.name) {
            Ok(path) => path,
            Err(reason) => {
                fail(refused(entry, reason));
                continue;
            }
        };
        if entry.is_dir {
            if path.as_os_str().is_empty() {
                continue; // `./`: the directory itself
            }
            match open_dirs(ctx, &path, &entry.name) {
                Ok(_) => {
                    dirs.insert(path, entry);
                }
                Err(failure) => fail(failure),
            }
            continue;
        }
        if path.as_os_str().is_empty() {
            fail(refused(entry, "the name has no file name".into()));
            continue;
        }
        let kind = if entry.is_symlink {
            Kind::Link
        } else {
            Kind::File
        };
        if let Some(earlier) = by_path.insert(path.clone(), jobs.len())
            && let Some(job) = jobs[earlier].take()
        {
            fail(refused(
                job.entry,
                "a later entry has the same path and is extracted instead".into(),
            ));
        }
        jobs.push(Some(Job {
            index,
            entry,
            span: span.clone(),
            path,
            kind,
        }));
    }
    let jobs = jobs
        .into_iter()
        .flatten()
        .filter(|job| match prepare(job, ctx) {
            Ok(()) => true,
            Err(failure) => {
                fail(failure);
                false
            }
        })
        .collect();
    (dirs, jobs)
}

fn refused(entry: &Entry, reason: String) -> Failure {
    Failure::Refused {
        name: entry.name.clone(),
        reason,
    }
}

/// Checks a member before any request is sent for it: method supported, link small enough,
/// parent directories real (created), destination free unless `--overwrite`.
fn prepare(job: &Job<'_>, ctx: &Shared<'_>) -> Result<(), Failure> {
    check_supported(job.entry).map_err(Failure::Member)?;
    if job.kind == Kind::Link && job.entry.size > MAX_LINK_TARGET {
        return Err(refused(
            job.entry,
            format!(
                "a symbolic link target of {} bytes (at most {MAX_LINK_TARGET})",
                job.entry.size
            ),
        ));
    }
    let (parent, name) = job.parent_and_name();
    let dir = open_dirs(ctx, parent, &job.entry.name)?;
    let dest = ctx.root.join(&job.path);
    match dir.kind(name) {
        Ok(Some(_)) if !ctx.config.overwrite => Err(Failure::Exists { path: dest }),
        Ok(Some(DirKind::Directory)) => Err(Failure::IsADirectory {
            name: job.entry.name.clone(),
            path: dest,
        }),
        _ => Ok(()),
    }
}
