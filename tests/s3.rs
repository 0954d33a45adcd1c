//! `s3://BUCKET/KEY` (README, "Object stores"): where the requests go and with which
//! credentials, read from what reached the server. Here the fault server stands in for a
//! store (it serves its bytes at any path and records every request target, so the
//! presigned query shows which key signed it); `s3_stores` runs the same against real S3
//! implementations.

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::util::command::TestCommand;
use crate::util::errors::assert_exit;
use crate::util::serve_process::Spawned;
use crate::util::server::{Mode, Recorded, Server};
use crate::util::{self, assert_bytes_eq};

const LEN: usize = 1000;
/// Environment variables a case sets.
type Vars = Vec<(&'static str, &'static str)>;
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// `rangecat ARGS` with the store at `server` and no other AWS setting than `vars`; HOME is
/// `home`.
fn run(server: &Server, home: &Path, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = TestCommand::against(server);
    command
        .env("HOME", home)
        .env("AWS_ENDPOINT_URL", server.url(""))
        .args(args);
    for (name, value) in vars {
        command.env(name, value);
    }
    command.output()
}

/// A query parameter of a recorded request target.
fn param<'a>(request: &'a Recorded, name: &str) -> Option<&'a str> {
    let (_, query) = request.path.split_once('?')?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// The access key a request was signed with (`X-Amz-Credential=KEY%2FDATE%2F...`).
fn signed_by(request: &Recorded) -> String {
    let credential = param(request, "X-Amz-Credential").expect("a presigned request");
    credential.split("%2F").next().unwrap().to_owned()
}

fn keys(access_key: &'static str) -> [(&'static str, &'static str); 2] {
    [
        ("AWS_ACCESS_KEY_ID", access_key),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
    ]
}

#[test]
fn every_request_is_presigned_path_style_and_retries_are_signed_anew() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(util::data(LEN), Mode::status_then(503, 1, Some("1")));
    let out = run(
        &server,
        home.path(),
        &keys("AKIDENV"),
        &[
            "--retries",
            "2",
            "s3://bucket/dir/a b+ü.bin",
            "0:100",
            "-100:",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = util::data(LEN);
    assert_bytes_eq(&out.stdout, &[&data[..100], &data[900..]].concat());
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "{}", server.summary());
    for request in &requests {
        let path = request.path.split('?').next().unwrap();
        assert_eq!(
            path,
            "/bucket/dir/a%20b%2B%C3%BC.bin",
            "{}",
            server.summary()
        );
        assert_eq!(param(request, "X-Amz-Algorithm"), Some("AWS4-HMAC-SHA256"));
        assert_eq!(param(request, "X-Amz-SignedHeaders"), Some("host"));
        assert_eq!(signed_by(request), "AKIDENV");
        assert!(request.header("authorization").is_none());
    }
    // The retry, a second later, carries a signature made for it.
    let (first, retry) = (&requests[0], &requests[1]);
    assert_eq!(first.range(), retry.range());
    assert_ne!(param(first, "X-Amz-Date"), param(retry, "X-Amz-Date"));
    assert_ne!(
        param(first, "X-Amz-Signature"),
        param(retry, "X-Amz-Signature")
    );
}

#[test]
fn credentials_come_from_the_first_source_that_has_them() {
    let home = tempfile::tempdir().unwrap();
    let aws = home.path().join(".aws");
    fs::create_dir(&aws).unwrap();
    fs::write(
        aws.join("credentials"),
        format!(
            "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = {SECRET}\n\
             [dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = {SECRET}\n"
        ),
    )
    .unwrap();
    let process = home.path().join("creds.sh");
    fs::write(
        &process,
        format!(
            "#!/bin/sh\necho '{{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \
             \"SecretAccessKey\": \"{SECRET}\", \"SessionToken\": \"TOKEN-SECRET\"}}'\n"
        ),
    )
    .unwrap();
    util::make_executable(&process);
    fs::write(
        aws.join("config"),
        format!(
            "[profile proc]\ncredential_process = '{}' --flag\n\
             [profile cfg]\naws_access_key_id = AKIDCFG\naws_secret_access_key = {SECRET}\n",
            process.display()
        ),
    )
    .unwrap();
    let cases: [(&str, Vars, &str); 5] = [
        ("the environment first", keys("AKIDENV").to_vec(), "AKIDENV"),
        ("else the default profile", vec![], "AKIDFILE"),
        ("AWS_PROFILE", vec![("AWS_PROFILE", "dev")], "AKIDDEV"),
        (
            "credential_process",
            vec![("AWS_PROFILE", "proc")],
            "AKIDPROC",
        ),
        (
            "keys in the config file",
            vec![("AWS_PROFILE", "cfg")],
            "AKIDCFG",
        ),
    ];
    for (case, vars, want) in cases {
        let server = Server::start(util::data(LEN), Mode::Ranges);
        let out = run(&server, home.path(), &vars, &["s3://bucket/k", "0:10"]);
        assert!(
            out.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let requests = server.requests();
        assert_eq!(requests.len(), 1, "{case}: {}", server.summary());
        assert_eq!(signed_by(&requests[0]), want, "{case}");
        let token = param(&requests[0], "X-Amz-Security-Token");
        assert_eq!(token.is_some(), want == "AKIDPROC", "{case}: {token:?}");
    }
}

#[test]
fn no_credentials_is_a_usage_error_before_any_request() {
    let home = tempfile::tempdir().unwrap();
    let cases: [(&str, Vars, &str); 3] = [
        ("nothing anywhere", vec![], "no AWS credentials"),
        (
            "half a pair",
            vec![("AWS_ACCESS_KEY_ID", "AKID")],
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
        ),
        (
            "a profile in neither file",
            vec![("AWS_PROFILE", "nope")],
            "AWS profile 'nope' is in neither",
        ),
    ];
    for (case, vars, message) in cases {
        let server = Server::start(util::data(LEN), Mode::Ranges);
        for args in [
            &["s3://bucket/k", "0:10"][..],
            &["info", "s3://bucket/k"],
            &["ls", "s3://bucket/k.zip"],
        ] {
            let out = run(&server, home.path(), &vars, args);
            assert_exit(&out, 2);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.starts_with("rangecat: ") && stderr.contains(message),
                "{case}: {stderr}"
            );
            assert_eq!(stderr.lines().count(), 1, "{case}: {stderr}");
        }
        assert!(server.requests().is_empty(), "{case}: {}", server.summary());
    }
    let stderr = {
        let server = Server::start(util::data(LEN), Mode::Ranges);
        let out = run(&server, home.path(), &[], &["s3://bucket/k"]);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let looked = home.path().join(".aws/credentials");
    assert!(stderr.contains(&looked.display().to_string()), "{stderr}");
}

#[test]
fn no_sign_request_sends_plain_urls() {
    let home = tempfile::tempdir().unwrap();
    for (case, args, vars) in [
        ("--no-sign-request", vec!["--no-sign-request"], vec![]),
        (
            "AWS_NO_SIGN_REQUEST",
            vec![],
            vec![("AWS_NO_SIGN_REQUEST", "true")],
        ),
    ] {
        let server = Server::start(util::data(LEN), Mode::Ranges);
        let mut all = vars.clone();
        all.extend(keys("AKIDENV"));
        let args: Vec<&str> = args.into_iter().chain(["s3://bucket/k", "-10:"]).collect();
        let out = run(&server, home.path(), &all, &args);
        assert!(
            out.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_bytes_eq(&out.stdout, &util::data(LEN)[990..]);
        let requests = server.requests();
        assert_eq!(requests.len(), 1, "{case}");
        assert_eq!(requests[0].path, "/bucket/k", "{case}");
        assert_eq!(requests[0].range(), Some("bytes=-10"), "{case}");
    }
}

#[test]
fn multipart_goes_per_range_without_a_multi_range_request() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(util::data(LEN), Mode::Ranges);
    let out = run(
        &server,
        home.path(),
        &keys("AKIDENV"),
        &[
            "--multipart",
            "-j",
            "2",
            "s3://bucket/k",
            "0:10",
            "500:510",
            "990:1000",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = util::data(LEN);
    assert_bytes_eq(
        &out.stdout,
        &[&data[..10], &data[500..510], &data[990..]].concat(),
    );
    let mut ranges: Vec<_> = server.ranges().into_iter().flatten().collect();
    ranges.sort();
    assert_eq!(
        ranges,
        ["bytes=0-9", "bytes=500-509", "bytes=990-999"],
        "{}",
        server.summary()
    );
}

#[test]
fn verbose_lines_show_no_key_signature_or_token() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(util::data(LEN), Mode::Ranges);
    let mut vars = keys("AKIDSECRETISH").to_vec();
    vars.push(("AWS_SESSION_TOKEN", "TOKEN-VALUE"));
    let out = run(
        &server,
        home.path(),
        &vars,
        &["-v", "-j", "2", "s3://bucket/k", "0:10", "-10:"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("X-Amz-Signature=REDACTED"), "{stderr}");
    let requests = server.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        let signature = param(request, "X-Amz-Signature").unwrap();
        assert!(!stderr.contains(signature), "{stderr}");
    }
    for secret in [SECRET, "AKIDSECRETISH", "TOKEN-VALUE"] {
        assert!(!stderr.contains(secret), "{secret} in {stderr}");
    }
}

#[test]
fn serve_signs_each_request_for_the_key_under_its_prefix() {
    let Some(mut curl) = crate::util::curl::curl() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(util::data(LEN), Mode::Ranges);
    let endpoint = server.url("");
    let home_dir = home.path().display().to_string();
    let mut env = keys("AKIDSERVE").to_vec();
    env.extend([
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("HOME", home_dir.as_str()),
    ]);
    let serve = Spawned::start_with_env(&env, &["--upstream", "s3://bucket/videos/"]);
    let out = curl
        .args(["-r", "10-19", "-H", "Authorization: Bearer client-token"])
        .arg(format!("http://{}/2024/a%20b.mp4?versionId=x", serve.addr))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_bytes_eq(&out.stdout, &util::data(LEN)[10..20]);
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{}", server.summary());
    let request = &requests[0];
    assert_eq!(
        request.path.split('?').next(),
        Some("/bucket/videos/2024/a%20b.mp4")
    );
    assert_eq!(signed_by(request), "AKIDSERVE");
    assert_eq!(
        param(request, "versionId"),
        None,
        "the client's query is no part of the key"
    );
    assert_eq!(request.range(), Some("bytes=10-19"));
    assert_eq!(
        request.header("authorization"),
        None,
        "{:?}",
        request.headers
    );
    // The access log shows what the client asked, never the signature.
    let signature = param(request, "X-Amz-Signature").unwrap();
    let log = serve.stderr();
    assert!(log.contains("GET /2024/a%20b.mp4"), "{log}");
    assert!(!log.contains(signature) && !log.contains(SECRET), "{log}");
}

#[test]
fn serve_without_credentials_does_not_start() {
    let home = tempfile::tempdir().unwrap();
    let out = crate::util::rangecat()
        .env("HOME", home.path())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "s3://bucket",
        ])
        .output()
        .unwrap();
    let stderr = assert_exit(&out, 2);
    assert!(stderr.contains("no AWS credentials"), "{stderr}");
}

/// The store's error answers, shown by status, code and message (exit 1).
#[test]
fn store_errors_show_their_code_message_and_region() {
    use httpmock::prelude::*;
    let home = tempfile::tempdir().unwrap();
    let xml = |code: &str, message: &str, extra: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{message}</Message>{extra}<RequestId>R1</RequestId></Error>"
        )
    };
    let cases = [
        (
            301,
            xml(
                "PermanentRedirect",
                "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.",
                "<Endpoint>b.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>b</Bucket>",
            ),
            Some("eu-west-1"),
            "rangecat: s3://b/k: 301 PermanentRedirect: The bucket you are attempting to access \
             must be addressed using the specified endpoint. Please send all future requests to \
             this endpoint. (the bucket is in eu-west-1: AWS_REGION=eu-west-1 reaches it)",
        ),
        (
            503,
            xml("SlowDown", "Please reduce your request rate.", ""),
            None,
            "rangecat: s3://b/k: 503 SlowDown: Please reduce your request rate.",
        ),
        (
            403,
            xml("AccessDenied", "Access Denied &amp; more", ""),
            Some("us-east-1"),
            "rangecat: s3://b/k: 403 AccessDenied: Access Denied & more",
        ),
    ];
    for (status, body, region, want) in cases {
        let server = MockServer::start();
        let mock = server.mock(|when, then| {
            when.method(GET).path("/b/k");
            let then = then
                .status(status)
                .header("content-type", "application/xml")
                .body(&body);
            if let Some(region) = region {
                then.header("x-amz-bucket-region", region);
            }
        });
        let out = crate::util::rangecat()
            .env("HOME", home.path())
            .env("AWS_ENDPOINT_URL", server.base_url())
            .envs(keys("AKIDENV"))
            .args(["--retries", "1", "s3://b/k", "0:10"])
            .output()
            .unwrap();
        let stderr = assert_exit(&out, 1);
        assert_eq!(stderr.trim_end(), want, "{status}");
        // 503 is retried (once here); the others are not.
        mock.assert_calls(if status == 503 { 2 } else { 1 });
    }
}

/// `-c` (README, "Output") on `s3://`: the kept bytes are not asked for again, the rest is
/// asked for under `If-Range`, with a signature made for the new run.
#[test]
fn an_interrupted_download_continues_with_a_new_signature() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    const MIB: usize = 1024 * 1024;
    let len = 32 * MIB;
    let data = util::random_bytes(len);
    let server = Server::start(data.clone(), Mode::Throttled(8 * MIB));
    let home = tempfile::tempdir().unwrap();
    let out_file = home.path().join("out.bin");
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_rangecat"))
            .env_clear()
            .env("HOME", home.path())
            .env("AWS_ENDPOINT_URL", server.url(""))
            .envs(keys("AKIDENV"))
            .args(["s3://bucket/big.iso", "-c", "-o"])
            .arg(&out_file)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let child = start();
    let part = home.path().join(".out.bin.rangecat.part");
    let deadline = Instant::now() + Duration::from_secs(30);
    while fs::metadata(&part).map_or(0, |m| m.len()) < (len / 4) as u64 {
        assert!(Instant::now() < deadline, "the partial file never grew");
        std::thread::sleep(Duration::from_millis(5));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    assert!(killed.unwrap().success());
    let (status, stderr) = util::wait_for(child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(130), "{stderr}");
    let kept = fs::metadata(&part).unwrap().len() as usize;
    let before = server.requests().len();
    let (status, stderr) = util::wait_for(start(), Duration::from_secs(60));
    assert!(status.success(), "{stderr}");
    assert_bytes_eq(&fs::read(&out_file).unwrap(), &data);
    let requests = server.requests();
    let again = &requests[before..];
    assert_eq!(again.len(), 1, "{}", server.summary());
    let want = format!("bytes={kept}-{}", len - 1);
    assert_eq!(again[0].range(), Some(want.as_str()));
    assert!(
        again[0].header("if-range").is_some(),
        "{:?}",
        again[0].headers
    );
    assert_eq!(signed_by(&again[0]), "AKIDENV");
    assert_ne!(
        param(&again[0], "X-Amz-Signature"),
        param(&requests[0], "X-Amz-Signature")
    );
}
