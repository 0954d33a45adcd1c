//! Terminal safety: an entry name with escape sequences is shown escaped by `ls` on a terminal
//! (raw in a pipe, escaped in `--json`), and no line on stderr carries a control character
//! that came from an archive or a server.

use crate::util;
use crate::util::command::TestCommand;
use crate::util::errors::assert_exit;
use crate::util::fixtures::local_file;
use crate::util::pty;
use crate::util::zips::{self, Item};

/// A name that would turn the terminal red and clear it.
const HOSTILE: &str = "red\x1b[31m\x1b[2J.txt";
const ESCAPED: &str = "red\\x1b[31m\\x1b[2J.txt";

fn archive() -> (tempfile::TempDir, std::path::PathBuf) {
    local_file(
        "hostile.zip",
        &zips::archive(&[Item::stored(HOSTILE, b"x"), Item::stored("plain.txt", b"y")]),
    )
}

#[test]
fn ls_escapes_control_characters_on_a_terminal_only() {
    let (_dir, path) = archive();
    // In a pipe the name is as the archive has it.
    let piped = TestCommand::new().arg("ls").arg(&path).stdout();
    assert_eq!(
        String::from_utf8(piped).unwrap(),
        format!("{HOSTILE}\nplain.txt\n")
    );
    if !pty::have_script() {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_rangecat");
    for options in ["", "-l"] {
        let output = pty::on_terminal(&format!("{bin} ls {options} '{}'", path.display()));
        let shown = String::from_utf8_lossy(&output.stdout);
        assert!(shown.contains(ESCAPED), "ls {options}: {shown:?}");
        assert!(
            !shown.contains('\x1b'),
            "ls {options} let ESC through: {shown:?}"
        );
    }
}

#[test]
fn stderr_escapes_control_characters_from_an_archive() {
    let (dir, path) = archive();
    // `x` refuses nothing here, but a directory where the member goes makes it name the
    // member on stderr, even with --overwrite.
    let target = dir.path().join("out");
    std::fs::create_dir_all(target.join(HOSTILE)).unwrap();
    let output = util::rangecat()
        .arg("x")
        .arg("--overwrite")
        .arg(&path)
        .arg("-C")
        .arg(&target)
        .output()
        .unwrap();
    let stderr = assert_exit(&output, 1);
    assert!(stderr.contains(ESCAPED), "{stderr:?}");
    assert!(!stderr.contains('\x1b'), "ESC reached stderr: {stderr:?}");
}
