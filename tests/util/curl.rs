//! `curl` as a client, when it is installed.

use std::process::{Command, Stdio};

/// `curl` with a clean environment and no proxy, or `None` (after saying so) when it is not
/// installed; under `CI=true` a missing curl fails the test.
pub fn curl() -> Option<Command> {
    let found = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "curl is required when CI=true"
        );
        eprintln!("skipping: curl not found");
        return None;
    }
    let mut command = Command::new("curl");
    command.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command.args([
        "--silent",
        "--show-error",
        "--noproxy",
        "*",
        "--max-time",
        "20",
    ]);
    Some(command)
}
