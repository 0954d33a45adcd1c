//! The README's first command, the one a new user runs first, keeps working.

use std::fs;

use crate::util::command::TestCommand;
use crate::util::repo_root;

/// The arguments of the `rangecat` runs in the README's first command line.
fn first_command() -> Vec<Vec<String>> {
    let readme = fs::read_to_string(repo_root().join("README.md")).unwrap();
    let block = readme.split("```sh\n").nth(1).expect("a sh block");
    let line = block.lines().next().unwrap();
    line.split("&&")
        .map(|run| {
            let words: Vec<String> = run.split_whitespace().map(str::to_owned).collect();
            // `cargo run --release -- ARGS` or `target/release/rangecat ARGS`
            match words.iter().position(|w| w == "--") {
                Some(at) if words[0] == "cargo" => words[at + 1..].to_vec(),
                _ => words[1..].to_vec(),
            }
        })
        .collect()
}

#[test]
fn the_first_command_prints_the_sample_ranges_and_lists_the_sample_archive() {
    let runs = first_command();
    assert_eq!(runs.len(), 2, "{runs:?}");
    let sample = fs::read(repo_root().join("examples/sample.txt")).unwrap();

    let fetch = TestCommand::new()
        .current_dir(repo_root())
        .args(&runs[0])
        .success();
    assert_eq!(runs[0][1..], ["0:64", "-128:"], "the README's ranges");
    let want = [&sample[..64], &sample[sample.len() - 128..]].concat();
    assert_eq!(fetch.stdout, want);

    let list = TestCommand::new()
        .current_dir(repo_root())
        .args(&runs[1])
        .success();
    let text = String::from_utf8(list.stdout).unwrap();
    for name in [
        "sample/sample.txt",
        "sample/README.txt",
        "sample/numbers.csv",
        "4 entries",
    ] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
}
