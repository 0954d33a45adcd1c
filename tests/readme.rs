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

/// The README's worked example of "Object stores", run as written against s3s-fs holding
/// `examples/sample.zip` (its endpoint in place of `127.0.0.1:9000`).
#[test]
fn the_object_store_example_runs_as_written() {
    use crate::util::s3_server::S3Fs;
    let readme = fs::read_to_string(repo_root().join("README.md")).unwrap();
    let (_, after) = readme
        .split_once("A worked example against a local store")
        .expect("the worked example");
    let block = after
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let mut lines = block.lines();
    let exports: Vec<(String, String)> = lines
        .next()
        .and_then(|l| l.strip_prefix("export "))
        .expect("an export line first")
        .split_whitespace()
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap();
            (name.to_owned(), value.to_owned())
        })
        .collect();
    let secret = &exports
        .iter()
        .find(|(n, _)| n == "AWS_SECRET_ACCESS_KEY")
        .unwrap()
        .1;
    let key = &exports
        .iter()
        .find(|(n, _)| n == "AWS_ACCESS_KEY_ID")
        .unwrap()
        .1;
    let store = S3Fs::start(key, secret);
    let zip = fs::read(repo_root().join("examples/sample.zip")).unwrap();
    store.put("samples", "sample.zip", &zip);
    let home = tempfile::tempdir().unwrap();
    let mut runs = 0;
    for line in lines {
        let command = line.split('#').next().unwrap();
        let words: Vec<&str> = command.split_whitespace().collect();
        assert_eq!(words[0], "rangecat", "{line}");
        let mut run = TestCommand::new();
        run.env("HOME", home.path()).args(&words[1..]);
        for (name, value) in &exports {
            run.env(
                name,
                value.replace("http://127.0.0.1:9000", &store.endpoint),
            );
        }
        let out = run.success();
        assert!(!out.stdout.is_empty(), "{line}");
        if words[1] == "-v" {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let shown = line.split("# ").nth(1).unwrap();
            let (before, after) = shown.split_once("&...&").unwrap();
            let before = before.replace("http://127.0.0.1:9000", &store.endpoint);
            assert!(stderr.contains(&before), "{stderr}");
            assert!(stderr.contains(after), "{stderr}");
            assert!(!stderr.contains(secret.as_str()));
        }
        runs += 1;
    }
    assert_eq!(runs, 4);
    let requests = store.requests();
    // Every request signed as the store wants. (s3s-fs answers a suffix range longer than
    // the object, `ls`'s first request here, with a 500 where S3 sends the whole object;
    // rangecat then asks for an explicit range.)
    let failed: Vec<String> = requests
        .iter()
        .filter(|r| (400..500).contains(&r.status))
        .map(|r| r.to_string())
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
}
