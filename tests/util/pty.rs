//! A command run on a pseudo-terminal through `script` (util-linux), for what rangecat draws
//! only when stderr is a terminal.

use std::process::{Command, Output, Stdio};

/// Whether `script` is installed; under CI=true its absence fails the test instead.
pub fn have_script() -> bool {
    if Command::new("script").arg("--version").output().is_ok() {
        return true;
    }
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "script is missing under CI"
    );
    eprintln!("skipping: script (util-linux) not found");
    false
}

/// Runs the shell command `line` on a pseudo-terminal (TERM=xterm, stdin closed); its stdout
/// is what the terminal showed.
pub fn on_terminal(line: &str) -> Output {
    Command::new("script")
        .args(["-qec", line, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .output()
        .expect("run script")
}
