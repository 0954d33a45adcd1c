//! The checked-in completions and man page match what the clap definitions render.
//! On a mismatch: run `RANGECAT_BLESS=1 cargo test generated` and commit the files.

use std::fs;
use std::path::Path;

use generate::{COMPLETION_FILES, MAN_PAGE_FILE, completion, man_page, subcommand_man_pages};

use crate::util::repo_root;

// The command line belongs to the binary, not the library: its definitions are compiled here
// once more, so the rendered files are compared with what the binary itself would print.
#[allow(dead_code)] // the test renders the definitions; it runs no command
#[path = "../src/cli.rs"]
mod cli;
#[path = "../src/generate.rs"]
mod generate;

/// Whether stale files may be rewritten: RANGECAT_BLESS is set, and this is not CI, which
/// must only ever compare (a CI that blessed would pass on any drift).
fn may_bless(bless: Option<&str>, ci: Option<&str>) -> bool {
    bless.is_some() && !ci.is_some_and(|ci| !ci.is_empty() && ci != "false" && ci != "0")
}

#[test]
fn ci_never_blesses() {
    assert!(may_bless(Some("1"), None));
    assert!(may_bless(Some("1"), Some("false")));
    assert!(!may_bless(Some("1"), Some("true")));
    assert!(!may_bless(None, None));
}

/// Fails when `path` differs from `want`, or rewrites it when RANGECAT_BLESS is set (never
/// under CI=true).
fn ensure_file_contents(path: &Path, want: &str) {
    let have = fs::read_to_string(path).unwrap_or_default();
    if have == want {
        return;
    }
    let env = |name| std::env::var(name).ok();
    if may_bless(env("RANGECAT_BLESS").as_deref(), env("CI").as_deref()) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, want).unwrap();
        return;
    }
    panic!(
        "{} is stale: run `RANGECAT_BLESS=1 cargo test generated` and commit",
        path.display()
    );
}

#[test]
fn completions_are_current() {
    for (shell, file) in COMPLETION_FILES {
        let script = completion(shell);
        assert!(
            script.contains("rangecat"),
            "{shell} script names the command"
        );
        ensure_file_contents(&repo_root().join(file), &script);
    }
}

#[test]
fn man_page_is_current() {
    let page = man_page();
    assert!(page.contains(".TH rangecat"), "a roff man page");
    assert!(page.contains("\\-\\-max\\-buffer"), "documents the options");
    ensure_file_contents(&repo_root().join(MAN_PAGE_FILE), &page);
    let pages = subcommand_man_pages();
    let names: Vec<&str> = pages.iter().map(|(file, _)| file.as_str()).collect();
    assert_eq!(
        names,
        [
            "man/rangecat-info.1",
            "man/rangecat-ls.1",
            "man/rangecat-cat.1",
            "man/rangecat-x.1",
            "man/rangecat-serve.1"
        ]
    );
    for (file, page) in pages {
        assert!(page.contains(".SH SYNOPSIS"), "{file} is a man page");
        ensure_file_contents(&repo_root().join(file), &page);
    }
}

#[test]
fn completions_subcommand_prints_the_checked_in_script() {
    let out = crate::util::rangecat()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let checked_in = fs::read(repo_root().join("completions/rangecat.bash")).unwrap();
    assert_eq!(out.stdout, checked_in);
}
