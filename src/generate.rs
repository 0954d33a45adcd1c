//! Shell completions and the man page, rendered from the clap definitions in `cli.rs`.
//! The rendered files are checked in (`completions/`, `man/`) and kept current by a test.

use clap::CommandFactory;
use clap_complete::Shell;

use super::cli::Cli;

/// The shells completions are generated for, with the file each is kept in.
pub const COMPLETION_FILES: [(Shell, &str); 5] = [
    (Shell::Bash, "completions/rangecat.bash"),
    (Shell::Zsh, "completions/_rangecat"),
    (Shell::Fish, "completions/rangecat.fish"),
    (Shell::Elvish, "completions/rangecat.elv"),
    (Shell::PowerShell, "completions/_rangecat.ps1"),
];

/// Where the main man page is kept; each subcommand has `man/rangecat-NAME.1` beside it.
pub const MAN_PAGE_FILE: &str = "man/rangecat.1";

/// The completion script for `shell`.
pub fn completion(shell: Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "rangecat", &mut out);
    String::from_utf8(out).expect("completion scripts are UTF-8")
}

/// The man page, in roff.
pub fn man_page() -> String {
    render(Cli::command())
}

/// A page for each subcommand (`completions` and `help` aside): file name and roff.
pub fn subcommand_man_pages() -> Vec<(String, String)> {
    let command = Cli::command();
    command
        .get_subcommands()
        .filter(|sub| !matches!(sub.get_name(), "completions" | "help"))
        .map(|sub| {
            let name = format!("rangecat-{}", sub.get_name());
            let page = render(sub.clone().display_name(&name).bin_name(&name));
            (format!("man/{name}.1"), page)
        })
        .collect()
}

fn render(command: clap::Command) -> String {
    let mut out = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut out)
        .expect("rendering to memory cannot fail");
    String::from_utf8(out).expect("the man page is UTF-8")
}
