//! The command runner: `rangecat` with a clean environment (`util::rangecat`) that, when the
//! command fails, prints the test server's request log next to the command's stderr, as
//! ripgrep's `TestCommand` prints the command and its output.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

/// A server that can list the requests it received, one a line, for failure messages.
pub trait RequestLog {
    fn request_log(&self) -> String;
}

impl RequestLog for super::server::Server {
    fn request_log(&self) -> String {
        self.summary()
    }
}

impl RequestLog for super::nginx::Nginx {
    fn request_log(&self) -> String {
        // No barrier request: a failure message must not fail in its turn.
        self.access_log_now()
    }
}

/// `rangecat ARGS...`, run once; failures name the arguments, the exit status, stderr and,
/// given a server, the requests it received.
pub struct TestCommand<'a> {
    cmd: assert_cmd::Command,
    case: Option<String>,
    shown: Vec<String>,
    log: Option<&'a dyn RequestLog>,
}

impl<'a> TestCommand<'a> {
    /// A command with no server to report on (local files, usage errors).
    pub fn new() -> TestCommand<'a> {
        TestCommand {
            cmd: super::rangecat(),
            case: None,
            shown: Vec::new(),
            log: None,
        }
    }

    /// A command whose failures show what `server` received.
    pub fn against(server: &'a dyn RequestLog) -> TestCommand<'a> {
        TestCommand {
            log: Some(server),
            ..TestCommand::new()
        }
    }

    /// Names the case of a table the command runs for; failures start with it.
    pub fn case(&mut self, name: impl Into<String>) -> &mut Self {
        self.case = Some(name.into());
        self
    }

    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.shown.push(arg.as_ref().to_string_lossy().into_owned());
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self.arg(arg);
        }
        self
    }

    pub fn env(&mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.cmd.env(name, value);
        self
    }

    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.cmd.current_dir(dir);
        self
    }

    /// Runs the command, whatever its outcome.
    pub fn output(&mut self) -> Output {
        self.cmd.output().expect("run rangecat")
    }

    /// Runs the command and asserts that it succeeded; returns its output.
    #[track_caller]
    pub fn success(&mut self) -> Output {
        let output = self.output();
        assert!(output.status.success(), "{}", self.describe(&output));
        output
    }

    /// Runs the command, asserts that it succeeded, and returns stdout.
    #[track_caller]
    pub fn stdout(&mut self) -> Vec<u8> {
        self.success().stdout
    }

    /// The command, how it ended, its stderr, and the server's request log.
    pub fn describe(&self, output: &Output) -> String {
        let mut text = self
            .case
            .as_ref()
            .map_or(String::new(), |c| format!("{c}: "));
        let _ = write!(
            text,
            "rangecat {:?}: {}\nstderr:\n{}",
            self.shown,
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        if let Some(log) = self.log {
            let _ = write!(
                text,
                "\nrequests the server received:\n{}",
                log.request_log()
            );
        }
        text
    }
}
