//! `s3://` against real S3 implementations on loopback (README, "Object stores"): s3s-fs,
//! which checks every SigV4 signature and its expiry, and moto's server, which answers a
//! multi-range request with the whole object as AWS S3 does. Expected bytes are the bytes
//! stored; request counts come from the stores' own logs.

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::util::command::TestCommand;
use crate::util::errors::assert_exit;
use crate::util::s3_server::{Moto, S3Fs, S3Request};
use crate::util::serve_process::Spawned;
use crate::util::{self, assert_bytes_eq};

const ACCESS_KEY: &str = "AKIDRANGECAT";
const SECRET: &str = "rangecat-secret/+KEY=";
const BUCKET: &str = "bucket";

/// `rangecat ARGS` with HOME `home`, the store's endpoint and `vars` (no other environment).
fn run(endpoint: &str, home: &Path, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = TestCommand::new();
    command
        .env("HOME", home)
        .env("AWS_ENDPOINT_URL_S3", endpoint)
        .args(args);
    for (name, value) in vars {
        command.env(name, value);
    }
    command.output()
}

fn env_keys(secret: &'static str) -> [(&'static str, &'static str); 2] {
    [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", secret),
    ]
}

#[track_caller]
fn success(out: &Output, context: &str) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{context}: exit {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout.clone()
}

fn log(requests: &[S3Request]) -> String {
    requests.iter().map(|r| format!("{r}\n")).collect()
}

/// A Python slice `[start:end]`.
type Slice = (i64, Option<i64>);

/// The object's bytes a Python slice `[start:end]` selects (negative counts from the end).
fn slice(data: &[u8], start: i64, end: Option<i64>) -> Vec<u8> {
    let len = data.len() as i64;
    let clip = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) } as usize;
    let (from, to) = (clip(start), end.map_or(data.len(), clip));
    if from >= to {
        Vec::new()
    } else {
        data[from..to].to_vec()
    }
}

#[test]
fn range_lists_are_byte_exact_on_a_store_that_checks_signatures() {
    let store = S3Fs::start(ACCESS_KEY, SECRET);
    let data = util::random_bytes(3 * 1024 * 1024 + 17);
    let keys = [
        "plain.bin",
        "dir/sub/with space.bin",
        "ünï cødé/ø+x=y&z?.bin",
    ];
    for key in keys {
        store.put(BUCKET, key, &data);
    }
    let home = tempfile::tempdir().unwrap();
    // (RANGE list, the slices it selects)
    let cases: [(&[&str], &[Slice]); 5] = [
        (&["0:100"], &[(0, Some(100))]),
        (&["-1KiB:"], &[(-1024, None)]),
        (
            &["10:20", "-5:", "1000+10"],
            &[(10, Some(20)), (-5, None), (1000, Some(1010))],
        ),
        (&[":"], &[(0, None)]),
        (
            &["5:1", "-10:-3", "100:200"],
            &[(5, Some(1)), (-10, Some(-3)), (100, Some(200))],
        ),
    ];
    for key in keys {
        let url = format!("s3://{BUCKET}/{key}");
        for (ranges, slices) in cases {
            let want: Vec<u8> = slices
                .iter()
                .flat_map(|&(s, e)| slice(&data, s, e))
                .collect();
            for options in [
                &[][..],
                &["-j", "3"],
                &["--multipart"],
                &["--multipart", "-j", "2"],
            ] {
                let args: Vec<&str> = options
                    .iter()
                    .copied()
                    .chain([url.as_str()])
                    .chain(ranges.iter().copied())
                    .collect();
                let context = format!("{args:?}");
                let out = run(&store.endpoint, home.path(), &env_keys(SECRET), &args);
                assert_bytes_eq(&success(&out, &context), &want);
            }
        }
    }
    // Every request was signed (s3s-fs refuses any other) and none was multi-range.
    let requests = store.requests();
    assert!(
        requests.iter().all(|r| r.status == 206 || r.status == 200),
        "{}",
        log(&requests)
    );
    assert!(
        requests
            .iter()
            .all(|r| !r.range.as_deref().unwrap_or("").contains(','))
    );
}

#[test]
fn one_range_is_one_request_and_info_reads_the_store() {
    let store = S3Fs::start(ACCESS_KEY, SECRET);
    let data = util::random_bytes(100_000);
    store.put(BUCKET, "k.bin", &data);
    let home = tempfile::tempdir().unwrap();
    for (range, want, header) in [
        ("0:100", &data[..100], "bytes=0-99"),
        ("-1KiB:", &data[data.len() - 1024..], "bytes=-1024"),
    ] {
        store.clear_requests();
        let out = run(
            &store.endpoint,
            home.path(),
            &env_keys(SECRET),
            &["s3://bucket/k.bin", range],
        );
        assert_bytes_eq(&success(&out, range), want);
        let requests = store.requests();
        assert_eq!(requests.len(), 1, "{}", log(&requests));
        assert_eq!(requests[0].range.as_deref(), Some(header));
        assert_eq!(requests[0].path, "/bucket/k.bin");
    }
    let out = run(
        &store.endpoint,
        home.path(),
        &env_keys(SECRET),
        &["info", "--json", "s3://bucket/k.bin"],
    );
    let info: serde_json::Value = serde_json::from_slice(&success(&out, "info")).unwrap();
    assert_eq!(info["url"], "s3://bucket/k.bin");
    assert_eq!(info["length"], 100_000);
    assert_eq!(info["ranges"], true);
    let etag = format!("\"{:x}\"", md5_of(&data));
    assert_eq!(info["etag"], etag.as_str(), "{info}");
}

/// The MD5 of `bytes`, as s3s-fs makes its ETags, from `md5sum`.
fn md5_of(bytes: &[u8]) -> u128 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("object");
    fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("md5sum")
        .arg(&path)
        .output()
        .unwrap();
    let hex = String::from_utf8(out.stdout).unwrap();
    u128::from_str_radix(&hex[..32], 16).unwrap()
}

#[test]
fn zip_archives_list_stream_and_extract_from_the_store() {
    use crate::util::zips::{Item, archive};
    let store = S3Fs::start(ACCESS_KEY, SECRET);
    let text = b"hello from a bucket\n".repeat(500);
    let noise = crate::util::zips::noise(200_000, 7);
    let zip = archive(&[
        Item::dir("docs/"),
        Item::deflated("docs/read me.txt", &text),
        Item::stored("data/ünï.bin", &noise),
    ]);
    let key = "archives/2024 dump.zip";
    store.put(BUCKET, key, &zip);
    let url = format!("s3://{BUCKET}/{key}");
    let home = tempfile::tempdir().unwrap();
    let vars = env_keys(SECRET);

    store.clear_requests();
    let out = run(
        &store.endpoint,
        home.path(),
        &vars,
        &["--no-cache", "ls", &url],
    );
    let listing = String::from_utf8(success(&out, "ls")).unwrap();
    assert_eq!(listing, "docs/\ndocs/read me.txt\ndata/ünï.bin\n");
    let requests = store.requests();
    assert_eq!(
        requests.len(),
        1,
        "a small archive's directory is in its tail: {}",
        log(&requests)
    );

    let out = run(
        &store.endpoint,
        home.path(),
        &vars,
        &["cat", &url, "docs/read me.txt"],
    );
    assert_bytes_eq(&success(&out, "cat"), &text);
    let out = run(
        &store.endpoint,
        home.path(),
        &vars,
        &["cat", &url, "data/*"],
    );
    assert_bytes_eq(&success(&out, "cat"), &noise);

    let dest = home.path().join("out");
    let out = run(
        &store.endpoint,
        home.path(),
        &vars,
        &["x", "-C", dest.to_str().unwrap(), &url],
    );
    success(&out, "x");
    assert_bytes_eq(&fs::read(dest.join("docs/read me.txt")).unwrap(), &text);
    assert_bytes_eq(&fs::read(dest.join("data/ünï.bin")).unwrap(), &noise);
}

#[test]
fn each_credential_source_signs_requests_the_store_accepts() {
    let store = S3Fs::start(ACCESS_KEY, SECRET);
    let data = util::data(5000);
    store.put(BUCKET, "k", &data);
    let home = tempfile::tempdir().unwrap();
    let aws = home.path().join(".aws");
    fs::create_dir(&aws).unwrap();
    let process = home.path().join("credentials process.sh");
    fs::write(
        &process,
        format!(
            "#!/bin/sh\nprintf '{{\"Version\": 1, \"AccessKeyId\": \"{ACCESS_KEY}\", \
             \"SecretAccessKey\": \"{SECRET}\", \"Expiration\": \"2999-01-01T00:00:00Z\"}}'\n"
        ),
    )
    .unwrap();
    util::make_executable(&process);
    fs::write(
        aws.join("credentials"),
        format!(
            "[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = wrong\n\
             [files]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET}\n"
        ),
    )
    .unwrap();
    // The endpoint and region of the `local` profile come from the config file.
    fs::write(
        aws.join("config"),
        format!(
            "[profile local]\nregion = eu-central-1\nendpoint_url = {}\n\
             aws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET}\n\
             [profile proc]\ncredential_process = \"{}\"\n",
            store.endpoint,
            process.display()
        ),
    )
    .unwrap();
    let endpoint = store.endpoint.as_str();
    let with_endpoint = |mut vars: Vec<(&'static str, &'static str)>| {
        vars.push(("AWS_ENDPOINT_URL", "ENDPOINT"));
        vars
    };
    let cases: [(&str, Vec<(&str, &str)>); 4] = [
        (
            "the environment, before the default profile's wrong secret",
            with_endpoint(env_keys(SECRET).to_vec()),
        ),
        (
            "the credentials file, AWS_PROFILE",
            with_endpoint(vec![("AWS_PROFILE", "files")]),
        ),
        (
            "the config file: keys, region, endpoint_url",
            vec![("AWS_PROFILE", "local")],
        ),
        (
            "credential_process",
            with_endpoint(vec![("AWS_PROFILE", "proc")]),
        ),
    ];
    for (case, vars) in cases {
        store.clear_requests();
        let vars: Vec<(&str, &str)> = vars
            .into_iter()
            .map(|(n, v)| (n, if v == "ENDPOINT" { endpoint } else { v }))
            .collect();
        let mut command = TestCommand::new();
        command
            .env("HOME", home.path())
            .args(["s3://bucket/k", "-100:"]);
        for (name, value) in &vars {
            command.env(name, value);
        }
        let out = command.output();
        assert_bytes_eq(&success(&out, case), &data[4900..]);
        let requests = store.requests();
        assert_eq!(requests.len(), 1, "{case}: {}", log(&requests));
        let credential = requests[0].query_param("X-Amz-Credential").unwrap();
        let region = if case.starts_with("the config file") {
            "eu-central-1"
        } else {
            "us-east-1"
        };
        assert!(
            credential.contains(&format!("%2F{region}%2Fs3%2F")),
            "{case}: {credential}"
        );
    }
    // The default profile's wrong secret, when nothing comes before it.
    let mut command = TestCommand::new();
    command
        .env("HOME", home.path())
        .env("AWS_ENDPOINT_URL", endpoint)
        .args(["s3://bucket/k", "0:1"]);
    let stderr = assert_exit(&command.output(), 1);
    assert_eq!(
        stderr.trim_end(),
        "rangecat: s3://bucket/k: 403 SignatureDoesNotMatch"
    );
}

#[test]
fn a_wrong_secret_or_a_missing_key_is_exit_1_and_no_secret_is_printed() {
    let store = S3Fs::start(ACCESS_KEY, SECRET);
    store.put(BUCKET, "k", &util::data(100));
    let home = tempfile::tempdir().unwrap();
    let wrong = "not-the-secret/123";
    for verbose in [false, true] {
        for (case, key, secret, want) in [
            (
                "a wrong secret",
                "k",
                wrong,
                "s3://bucket/k: 403 SignatureDoesNotMatch",
            ),
            (
                "a missing key",
                "nope",
                SECRET,
                "s3://bucket/nope: 404 NoSuchKey",
            ),
        ] {
            for command in [&[][..], &["info"], &["ls"], &["cat"]] {
                store.clear_requests();
                let url = format!("s3://bucket/{key}");
                let mut args: Vec<&str> = if verbose { vec!["-v"] } else { vec![] };
                args.extend_from_slice(command);
                args.push(&url);
                if command == ["cat"] {
                    args.push("member");
                }
                let vars = [
                    ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
                    ("AWS_SECRET_ACCESS_KEY", secret),
                ];
                let out = run(&store.endpoint, home.path(), &vars, &args);
                let stderr = assert_exit(&out, 1);
                // `ls`, `cat`: "rangecat: cannot read the zip archive URL: " comes first.
                let last = stderr.lines().last().unwrap_or("");
                assert!(last.starts_with("rangecat: "), "{case} {args:?}: {stderr}");
                assert!(last.ends_with(want), "{case} {args:?}: {last:?}");
                for secret in [SECRET, wrong] {
                    assert!(!stderr.contains(secret), "{case} {args:?}: {stderr}");
                }
                let requests = store.requests();
                assert!(!requests.is_empty(), "{case} {args:?}");
                for request in requests {
                    let signature = request.query_param("X-Amz-Signature").unwrap();
                    assert!(!stderr.contains(signature), "{case} {args:?}: {stderr}");
                    assert!(!stderr.contains(ACCESS_KEY), "{case} {args:?}: {stderr}");
                }
            }
        }
    }
}

#[test]
fn no_sign_request_reads_a_public_object_and_is_refused_a_private_one() {
    let Ok(moto) = Moto::start() else {
        return;
    };
    let data = util::data(3000);
    moto.put_public(BUCKET, "public/x.bin", &data);
    moto.put(BUCKET, "private/x.bin", &data);
    let home = tempfile::tempdir().unwrap();
    let out = run(
        &moto.endpoint,
        home.path(),
        &[],
        &[
            "--no-sign-request",
            "s3://bucket/public/x.bin",
            "-10:",
            "0:10",
        ],
    );
    let want = [&data[2990..], &data[..10]].concat();
    assert_bytes_eq(&success(&out, "--no-sign-request"), &want);
    let requests = moto.requests();
    assert!(
        requests.iter().all(|r| r.query.is_empty()),
        "{}",
        log(&requests)
    );
    let out = run(
        &moto.endpoint,
        home.path(),
        &[("AWS_NO_SIGN_REQUEST", "true")],
        &["s3://bucket/private/x.bin", "0:10"],
    );
    let stderr = assert_exit(&out, 1);
    assert!(
        stderr.starts_with("rangecat: s3://bucket/private/x.bin: 403"),
        "{stderr}"
    );
}

#[test]
fn multipart_on_a_store_that_answers_with_the_whole_object_goes_per_range() {
    let Ok(moto) = Moto::start() else {
        return;
    };
    let data = util::random_bytes(1_000_000);
    moto.put(BUCKET, "m.bin", &data);
    let home = tempfile::tempdir().unwrap();
    let ranges = ["0:10", "300000:300010", "600000:600010", "-10:"];
    for jobs in ["1", "4"] {
        moto.clear_requests();
        let mut args = vec!["--multipart", "-j", jobs, "s3://bucket/m.bin"];
        args.extend(ranges);
        let out = run(&moto.endpoint, home.path(), &env_keys(SECRET), &args);
        let want = [
            &data[..10],
            &data[300_000..300_010],
            &data[600_000..600_010],
            &data[999_990..],
        ]
        .concat();
        assert_bytes_eq(&success(&out, jobs), &want);
        let requests = moto.requests();
        assert_eq!(requests.len(), 4, "-j {jobs}: {}", log(&requests));
        assert!(
            requests.iter().all(|r| r.status == 206),
            "-j {jobs}: {}",
            log(&requests)
        );
        assert!(
            requests
                .iter()
                .all(|r| !r.range.as_deref().unwrap().contains(','))
        );
    }
}

#[test]
fn serve_puts_a_range_aware_front_on_a_private_bucket() {
    let Some(mut curl) = crate::util::curl::curl() else {
        return;
    };
    let store = S3Fs::start(ACCESS_KEY, SECRET);
    let data = util::random_bytes(500_000);
    store.put(BUCKET, "videos/2024/clip one.mp4", &data);
    let home = tempfile::tempdir().unwrap();
    let home_dir = home.path().display().to_string();
    let env = [
        ("HOME", home_dir.as_str()),
        ("AWS_ENDPOINT_URL", store.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
    ];
    let serve = Spawned::start_with_env(&env, &["--upstream", "s3://bucket/videos"]);
    let url = format!("http://{}/2024/clip%20one.mp4", serve.addr);
    let out = curl
        .args(["-r", "1000-1999", "-D", "-", "-o", "-"])
        .arg(&url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.starts_with("HTTP/1.1 206"), "{text}");
    assert!(
        text.contains("content-range: bytes 1000-1999/500000")
            || text.contains("Content-Range: bytes 1000-1999/500000"),
        "{text}"
    );
    assert!(out.stdout.ends_with(&data[1000..2000]));
    let head = crate::util::curl::curl()
        .unwrap()
        .args(["-I"])
        .arg(&url)
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).to_ascii_lowercase();
    assert!(
        head.starts_with("http/1.1 200") && head.contains("content-length: 500000"),
        "{head}"
    );
    let missing = crate::util::curl::curl()
        .unwrap()
        .args(["-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("http://{}/nope.mp4", serve.addr))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&missing.stdout), "404");
    let requests = store.requests();
    assert_eq!(requests.len(), 3, "{}", log(&requests));
    assert_eq!(requests[0].path, "/bucket/videos/2024/clip%20one.mp4");
    assert_eq!(requests[0].range.as_deref(), Some("bytes=1000-1999"));
    assert_eq!(requests[1].method, "HEAD");
    assert_eq!(requests[2].path, "/bucket/videos/nope.mp4");
}

/// The cache (README, "Cache") on `s3://`: what `ls` learned spares `cat` the archive's tail.
#[test]
fn the_cache_spares_cat_the_directory_that_ls_read() {
    use crate::util::zips::{Item, archive};
    let store = S3Fs::start(ACCESS_KEY, SECRET);
    let text = b"cached\n".repeat(1000);
    let zip = archive(&[
        Item::deflated("a.txt", &text),
        Item::stored("b.txt", b"bee"),
    ]);
    store.put(BUCKET, "c.zip", &zip);
    let home = tempfile::tempdir().unwrap();
    let vars = env_keys(SECRET);
    let out = run(
        &store.endpoint,
        home.path(),
        &vars,
        &["ls", "s3://bucket/c.zip"],
    );
    assert_eq!(success(&out, "ls"), b"a.txt\nb.txt\n");
    store.clear_requests();
    let out = run(
        &store.endpoint,
        home.path(),
        &vars,
        &["cat", "s3://bucket/c.zip", "a.txt"],
    );
    assert_bytes_eq(&success(&out, "cat"), &text);
    let requests = store.requests();
    assert_eq!(requests.len(), 1, "only the member: {}", log(&requests));
}
