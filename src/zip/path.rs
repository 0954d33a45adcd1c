//! Entry names and link targets that must stay inside the extraction directory: what `x`
//! checks before it writes anything.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The relative path an entry name stands for: its components, split at `/` and at `\` (as
/// unzip does for archives made on Windows), without empty and `.` components. An empty path
/// means the directory itself. Names that could reach outside the directory are refused with
/// the reason: `..` anywhere, absolute paths, drive letters (`C:`), UNC paths, NUL bytes.
pub fn safe_path(name: &str) -> Result<PathBuf, String> {
    if name.is_empty() {
        return Err("empty name".into());
    }
    if name.contains('\0') {
        return Err("the name contains a NUL byte".into());
    }
    if name.starts_with(['/', '\\']) {
        return Err("absolute path".into());
    }
    if has_drive(name) {
        return Err("the name starts with a drive letter".into());
    }
    let mut path = PathBuf::new();
    for part in name.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return Err("the name contains '..'".into()),
            part => path.push(part),
        }
    }
    Ok(path)
}

/// `C:`, `c:\x`, `C:x`: a Windows drive, absolute or relative to that drive's directory.
fn has_drive(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

/// Checks that a symbolic link at `link` (relative to `root`, already a [`safe_path`]) with
/// `target` resolves inside `root`. Rules, strict enough to hold whatever links are created
/// later: the target is relative; `..` components appear only at its start (after a name, `..`
/// would apply to wherever that name points, not to its lexical parent) and climb no higher
/// than `root`; and no component of it is an existing link that this extraction did not make
/// (`made`), since such a link (the user's own) may point anywhere.
pub fn check_link_target(
    root: &Path,
    link: &Path,
    target: &[u8],
    made: &HashSet<PathBuf>,
) -> Result<(), String> {
    let shown = String::from_utf8_lossy(target);
    if target.is_empty() {
        return Err("empty symbolic link target".into());
    }
    if target.contains(&0) {
        return Err("the link target contains a NUL byte".into());
    }
    if target.starts_with(b"/") || target.starts_with(b"\\") || has_drive(&shown) {
        return Err(format!("absolute link target {shown}"));
    }
    let mut at: Vec<&str> = link
        .parent()
        .into_iter()
        .flat_map(|parent| parent.iter())
        .map(|part| part.to_str().unwrap_or("?"))
        .collect();
    let mut named = false;
    for part in shown.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." if named => {
                return Err(format!("link target {shown} has '..' after a name"));
            }
            ".." => {
                if at.pop().is_none() {
                    return Err(format!("link target {shown} points outside the directory"));
                }
            }
            part => {
                named = true;
                at.push(part);
                let rel: PathBuf = at.iter().collect();
                let is_link = fs::symlink_metadata(root.join(&rel))
                    .is_ok_and(|meta| meta.file_type().is_symlink());
                if is_link && !made.contains(&rel) {
                    return Err(format!(
                        "link target {shown} goes through the existing symbolic link {}",
                        rel.display()
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_are_refused() {
        let cases: &[(&str, Option<&str>)] = &[
            ("ok/dir/file", Some("ok/dir/file")),
            ("./ok", Some("ok")),
            ("a/./b", Some("a/b")),
            ("a//b", Some("a/b")),
            ("dir/", Some("dir")),
            ("./", Some("")),
            ("a\\b.txt", Some("a/b.txt")),
            ("x/a:b", Some("x/a:b")),
            ("a:b", None),
            ("..x/y..", Some("..x/y..")),
            ("", None),
            ("../x", None),
            ("..", None),
            ("a/../../x", None),
            ("a/../b", None),
            ("a/..", None),
            ("/abs", None),
            ("//server/share/x", None),
            ("\\\\server\\share\\x", None),
            ("\\x", None),
            ("C:\\x", None),
            ("C:x", None),
            ("c:/x", None),
            ("a\\..\\..\\x", None),
            ("a\0b", None),
        ];
        for &(name, want) in cases {
            let got = safe_path(name);
            match want {
                Some(path) => assert_eq!(got, Ok(PathBuf::from(path)), "{name:?}"),
                None => assert!(got.is_err(), "{name:?} gave {got:?}"),
            }
        }
    }

    #[test]
    fn link_targets_must_stay_inside() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("/etc", root.path().join("mine")).unwrap();
        let none = HashSet::new();
        let cases: &[(&str, &str, bool)] = &[
            ("l", "x", true),
            ("l", "./x", true),
            ("l", ".", true),
            ("l", "sub/x", true),
            ("a/b/l", "../../x", true),
            ("a/b/l", "../x/y", true),
            ("l", "..", false),
            ("l", "../x", false),
            ("a/b/l", "../../../x", false),
            ("l", "/etc/passwd", false),
            ("l", "\\etc", false),
            ("l", "C:\\x", false),
            ("l", "sub/../x", false),
            ("l", "sub/../../x", false),
            ("l", "..\\x", false),
            ("l", "", false),
            ("l", "a\0b", false),
            ("l", "mine", false),
            ("l", "mine/passwd", false),
        ];
        for &(link, target, ok) in cases {
            let got = check_link_target(root.path(), Path::new(link), target.as_bytes(), &none);
            assert_eq!(got.is_ok(), ok, "{link} -> {target}: {got:?}");
        }
        // A link this extraction made (its own target checked) may be gone through.
        let made = HashSet::from([PathBuf::from("mine")]);
        assert!(check_link_target(root.path(), Path::new("l"), b"mine/x", &made).is_ok());
    }
}
