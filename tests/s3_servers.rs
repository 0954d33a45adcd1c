//! The S3 servers of util::s3_server, checked on their own: what s3s-fs and moto answer to
//! presigned, expired, wrongly signed, unsigned, ranged and multi-range requests, as the
//! table in util/s3_server/mod.rs states. The s3:// tests build on these answers.
//!
//! URLs are signed here with rusty-s3, as rangecat signs them, and sent with the raw client,
//! so every status, header and body byte is the server's.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

use crate::util::raw_http::{self, Response};
use crate::util::s3_server::{Method, Moto, S3Fs, Signer, request_target};

const ACCESS_KEY: &str = "AKIDRANGECATTEST";
/// Like AWS's, with `/` and `+`, which a signer must not encode into the key.
const SECRET_KEY: &str = "wJalr/XUtnFEMI+K7MDENG/bPxRfiCYRANGECAT";
const BUCKET: &str = "bucket";
/// A space, a `+`, non-ASCII and slashes: every byte SigV4 encodes differently from a URL.
const KEY: &str = "dir one/ünï code/a b+c.bin";
const BODY: &[u8] = b"0123456789";
/// MD5 of BODY: s3s-fs and moto both give a single-part object's MD5 as its ETag, as S3 does.
const ETAG: &str = "\"781e5e245d69b566979b86e28d23f2c7\"";

fn signer() -> Signer<'static> {
    Signer::new(ACCESS_KEY, SECRET_KEY)
}

/// `method` on `url` on a fresh connection to `addr`, with `headers` after Host.
fn send(addr: SocketAddr, method: &str, url: &str, headers: &[(&str, &str)]) -> Response {
    let host = addr.to_string();
    let mut all = vec![("Host", host.as_str())];
    all.extend_from_slice(headers);
    raw_http::Client::connect(addr).request(method, request_target(url), &all)
}

/// The `<Code>` of an S3 error body, or `""` when there is none.
fn error_code(response: &Response) -> String {
    let body = String::from_utf8_lossy(&response.body);
    body.split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map_or(String::new(), |(code, _)| code.to_string())
}

/// s3s-fs holding BODY as KEY, and the object's URL.
fn s3fs_with_object() -> (S3Fs, String) {
    let server = S3Fs::start(ACCESS_KEY, SECRET_KEY);
    server.put(BUCKET, KEY, BODY);
    let url = server.url(BUCKET, KEY);
    (server, url)
}

#[test]
fn s3fs_serves_a_presigned_get_of_a_key_with_spaces_unicode_and_slashes() {
    let (server, url) = s3fs_with_object();
    let answer = send(
        server.addr,
        "GET",
        &signer().presign(Method::Get, &url),
        &[],
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, BODY);
    answer.assert_header("ETag", ETAG);
    assert!(answer.header("Last-Modified").is_some(), "{answer:?}");
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(
        requests[0].path,
        "/bucket/dir%20one/%C3%BCn%C3%AF%20code/a%20b%2Bc.bin"
    );
    let credential = requests[0]
        .query_param("X-Amz-Credential")
        .unwrap_or_default();
    assert!(
        credential.starts_with(&format!("{ACCESS_KEY}%2F"))
            && credential.ends_with("%2Fus-east-1%2Fs3%2Faws4_request"),
        "{credential}"
    );
    assert!(requests[0].query_param("X-Amz-Signature").is_some());
    assert_eq!(
        (requests[0].range.as_deref(), requests[0].status),
        (None, 200)
    );
}

#[test]
fn s3fs_answers_a_range_with_206_content_range_etag_and_last_modified() {
    let (server, url) = s3fs_with_object();
    for (range, content_range, body) in [
        ("bytes=2-4", "bytes 2-4/10", &b"234"[..]),
        ("bytes=-3", "bytes 7-9/10", b"789"),
        ("bytes=7-", "bytes 7-9/10", b"789"),
        ("bytes=0-99", "bytes 0-9/10", BODY),
    ] {
        let signed = signer().presign(Method::Get, &url);
        let answer = send(server.addr, "GET", &signed, &[("Range", range)]);
        assert_eq!(answer.status, 206, "{range}: {answer:?}");
        answer.assert_header("Content-Range", content_range);
        answer.assert_header("ETag", ETAG);
        assert!(
            answer.header("Last-Modified").is_some(),
            "{range}: {answer:?}"
        );
        assert_eq!(answer.body, body, "{range}");
    }
    let ranges: Vec<_> = server.requests().into_iter().map(|r| r.range).collect();
    assert_eq!(
        ranges,
        ["bytes=2-4", "bytes=-3", "bytes=7-", "bytes=0-99"].map(|r| Some(r.to_string()))
    );
}

#[test]
fn s3fs_answers_head_with_length_etag_and_last_modified() {
    let (server, url) = s3fs_with_object();
    let answer = send(
        server.addr,
        "HEAD",
        &signer().presign(Method::Head, &url),
        &[],
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.assert_header("Content-Length", "10");
    answer.assert_header("ETag", ETAG);
    assert!(answer.header("Last-Modified").is_some(), "{answer:?}");
}

/// Every way a signature can be wrong, and the control case that passes: each refusal is
/// 403 with an XML `<Error><Code>` (HEAD answers have no body, as S3's).
#[test]
fn s3fs_checks_signatures_and_presigned_expiry() {
    let (server, url) = s3fs_with_object();
    let two_hours_ago = Timestamp::now() - SignedDuration::from_hours(2);
    let in_two_hours = Timestamp::now() + SignedDuration::from_hours(2);
    let wrong_secret = Signer::new(ACCESS_KEY, "not-the-secret");
    let unknown_key = Signer::new("AKIDUNKNOWN", SECRET_KEY);
    let cases = [
        ("valid", "GET", signer().presign(Method::Get, &url), 200, ""),
        (
            "signed 2 h ago, valid 3 h",
            "GET",
            signer().presign_at(Method::Get, &url, two_hours_ago, 3 * 3600),
            200,
            "",
        ),
        (
            "signed 2 h ago, valid 1 h (expired)",
            "GET",
            signer().presign_at(Method::Get, &url, two_hours_ago, 3600),
            403,
            "AccessDenied",
        ),
        (
            "signed 2 h ahead",
            "GET",
            signer().presign_at(Method::Get, &url, in_two_hours, 3600),
            403,
            "RequestTimeTooSkewed",
        ),
        (
            "wrong secret",
            "GET",
            wrong_secret.presign(Method::Get, &url),
            403,
            "SignatureDoesNotMatch",
        ),
        (
            "unknown access key",
            "GET",
            unknown_key.presign(Method::Get, &url),
            403,
            "NotSignedUp",
        ),
        ("unsigned", "GET", url.clone(), 403, "AccessDenied"),
        (
            "HEAD with a URL signed for GET",
            "HEAD",
            signer().presign(Method::Get, &url),
            403,
            "",
        ),
        (
            "HEAD, wrong secret",
            "HEAD",
            wrong_secret.presign(Method::Head, &url),
            403,
            "",
        ),
    ];
    let count = cases.len();
    for (case, method, signed, status, code) in cases {
        let answer = send(server.addr, method, &signed, &[]);
        assert_eq!(answer.status, status, "{case}: {answer:?}");
        assert_eq!(error_code(&answer), code, "{case}: {answer:?}");
        if status == 403 && method == "GET" {
            answer.assert_header("Content-Type", "application/xml");
        }
    }
    assert_eq!(server.requests().len(), count, "{:#?}", server.requests());
}

#[test]
fn s3fs_says_expired_in_the_message() {
    let (server, url) = s3fs_with_object();
    let two_hours_ago = Timestamp::now() - SignedDuration::from_hours(2);
    let signed = signer().presign_at(Method::Get, &url, two_hours_ago, 3600);
    let answer = send(server.addr, "GET", &signed, &[]);
    assert!(
        String::from_utf8_lossy(&answer.body).contains("<Message>Request has expired</Message>"),
        "{answer:?}"
    );
}

#[test]
fn s3fs_accepts_a_session_token_without_checking_it() {
    let (server, url) = s3fs_with_object();
    let with_token = Signer {
        session_token: Some("any/token+value"),
        ..signer()
    };
    let answer = send(
        server.addr,
        "GET",
        &with_token.presign(Method::Get, &url),
        &[],
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        server.requests()[0].query_param("X-Amz-Security-Token"),
        Some("any%2Ftoken%2Bvalue")
    );
}

#[test]
fn s3fs_answers_a_missing_key_or_bucket_with_404_no_such_key() {
    let (server, _) = s3fs_with_object();
    for (bucket, key) in [(BUCKET, "missing"), ("no-such-bucket", "missing")] {
        let url = server.url(bucket, key);
        let answer = send(
            server.addr,
            "GET",
            &signer().presign(Method::Get, &url),
            &[],
        );
        assert_eq!(answer.status, 404, "{bucket}/{key}: {answer:?}");
        assert_eq!(
            error_code(&answer),
            "NoSuchKey",
            "{bucket}/{key}: {answer:?}"
        );
        let head = send(
            server.addr,
            "HEAD",
            &signer().presign(Method::Head, &url),
            &[],
        );
        assert_eq!(head.status, 404, "HEAD {bucket}/{key}: {head:?}");
    }
}

#[test]
fn s3fs_refuses_a_multi_range_request_with_400_invalid_argument() {
    let (server, url) = s3fs_with_object();
    let signed = signer().presign(Method::Get, &url);
    let answer = send(server.addr, "GET", &signed, &[("Range", "bytes=0-1,5-6")]);
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(error_code(&answer), "InvalidArgument", "{answer:?}");
}

#[test]
fn s3fs_answers_an_unsatisfiable_range_with_416_invalid_range_without_content_range() {
    let (server, url) = s3fs_with_object();
    let signed = signer().presign(Method::Get, &url);
    let answer = send(server.addr, "GET", &signed, &[("Range", "bytes=20-30")]);
    assert_eq!(answer.status, 416, "{answer:?}");
    assert_eq!(error_code(&answer), "InvalidRange", "{answer:?}");
    answer.assert_absent(&["Content-Range"]);
}

/// s3s-fs's GetObject looks at no precondition: a stale If-Range still gets the range, a
/// failed If-Match still gets the object. ETag validation cannot be tested against it.
#[test]
fn s3fs_ignores_if_range_and_if_match() {
    let (server, url) = s3fs_with_object();
    for (headers, status) in [
        (
            &[("Range", "bytes=2-4"), ("If-Range", "\"stale\"")][..],
            206,
        ),
        (
            &[
                ("Range", "bytes=2-4"),
                ("If-Range", "Mon, 01 Jan 2001 00:00:00 GMT"),
            ],
            206,
        ),
        (&[("If-Match", "\"stale\"")], 200),
    ] {
        let signed = signer().presign(Method::Get, &url);
        let answer = send(server.addr, "GET", &signed, headers);
        assert_eq!(answer.status, status, "{headers:?}: {answer:?}");
    }
}

#[test]
fn s3fs_put_replaces_an_object_and_its_etag() {
    let (server, url) = s3fs_with_object();
    server.put(BUCKET, KEY, b"another body");
    let answer = send(
        server.addr,
        "GET",
        &signer().presign(Method::Get, &url),
        &[],
    );
    assert_eq!(answer.body, b"another body");
    assert_ne!(answer.header("ETag"), Some(ETAG), "{answer:?}");
}

#[test]
fn s3fs_clear_requests_forgets_what_came_before() {
    let (server, url) = s3fs_with_object();
    send(
        server.addr,
        "GET",
        &signer().presign(Method::Get, &url),
        &[],
    );
    server.clear_requests();
    assert_eq!(server.requests(), []);
    send(
        server.addr,
        "HEAD",
        &signer().presign(Method::Head, &url),
        &[],
    );
    let methods: Vec<_> = server.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["HEAD"]);
}

/// A client that keeps its connection open must not hang the test that drops the server.
#[test]
fn s3fs_stops_on_drop_with_a_connection_open() {
    let (server, url) = s3fs_with_object();
    let addr = server.addr;
    let mut client = raw_http::Client::connect(addr);
    let host = addr.to_string();
    let signed = signer().presign(Method::Get, &url);
    let answer = client.request("GET", request_target(&signed), &[("Host", &host)]);
    assert_eq!(answer.status, 200, "{answer:?}");
    let started = Instant::now();
    drop(server);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "drop took {:?}",
        started.elapsed()
    );
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "still listening on {addr} after drop"
    );
}

/// moto holding BODY as KEY, and the object's URL; `None` when moto is not available
/// (outside CI).
fn moto_with_object() -> Option<(Moto, String)> {
    let moto = Moto::start().ok()?;
    moto.put(BUCKET, KEY, BODY);
    let url = moto.url(BUCKET, KEY);
    Some((moto, url))
}

/// As AWS S3 does: a multi-range request gets the whole object, not multipart/byteranges.
#[test]
fn moto_answers_a_multi_range_request_with_the_whole_object() {
    let Some((moto, url)) = moto_with_object() else {
        return;
    };
    let signed = signer().presign(Method::Get, &url);
    let answer = send(moto.addr, "GET", &signed, &[("Range", "bytes=0-1,5-6")]);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, BODY);
    answer.assert_absent(&["Content-Range"]);
    let requests = moto.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].range.as_deref(), Some("bytes=0-1,5-6"));
    assert_eq!(requests[0].status, 200);
}

#[test]
fn moto_answers_a_single_range_with_206() {
    let Some((moto, url)) = moto_with_object() else {
        return;
    };
    let signed = signer().presign(Method::Get, &url);
    let answer = send(moto.addr, "GET", &signed, &[("Range", "bytes=2-4")]);
    assert_eq!(answer.status, 206, "{answer:?}");
    answer.assert_header("Content-Range", "bytes 2-4/10");
    answer.assert_header("ETag", ETAG);
    assert_eq!(answer.body, b"234");
    let logged: Vec<_> = moto
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.range, r.status))
        .collect();
    assert_eq!(
        logged,
        [(
            "GET".to_string(),
            "/bucket/dir%20one/%C3%BCn%C3%AF%20code/a%20b%2Bc.bin".to_string(),
            Some("bytes=2-4".to_string()),
            206
        )]
    );
}

/// moto checks no signature and no expiry, but refuses an anonymous request (403, empty
/// body) as S3 does for a private object.
#[test]
fn moto_accepts_any_presigned_url_and_refuses_an_unsigned_one() {
    let Some((moto, url)) = moto_with_object() else {
        return;
    };
    let two_hours_ago = Timestamp::now() - SignedDuration::from_hours(2);
    for (case, signed, status) in [
        (
            "wrong secret",
            Signer::new("AKIDANY", "any").presign(Method::Get, &url),
            200,
        ),
        (
            "expired",
            signer().presign_at(Method::Get, &url, two_hours_ago, 3600),
            200,
        ),
        ("unsigned", url.clone(), 403),
    ] {
        let answer = send(moto.addr, "GET", &signed, &[]);
        assert_eq!(answer.status, status, "{case}: {answer:?}");
    }
    let statuses: Vec<_> = moto.requests().into_iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 403]);
    moto.clear_requests();
    assert_eq!(moto.requests(), []);
}

#[test]
fn moto_answers_a_missing_key_with_404_no_such_key_xml() {
    let Some((moto, _)) = moto_with_object() else {
        return;
    };
    let url = moto.url(BUCKET, "missing");
    let answer = send(moto.addr, "GET", &signer().presign(Method::Get, &url), &[]);
    assert_eq!(answer.status, 404, "{answer:?}");
    answer.assert_header("Content-Type", "application/xml");
    assert_eq!(error_code(&answer), "NoSuchKey", "{answer:?}");
}

#[test]
fn moto_answers_head_with_length_and_etag() {
    let Some((moto, url)) = moto_with_object() else {
        return;
    };
    let answer = send(
        moto.addr,
        "HEAD",
        &signer().presign(Method::Head, &url),
        &[],
    );
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.assert_header("Content-Length", "10");
    answer.assert_header("ETag", ETAG);
}

/// A stale If-Range still gets the range; an unsatisfiable range is a 416 InvalidRange.
#[test]
fn moto_ignores_if_range_and_refuses_a_range_past_the_end() {
    let Some((moto, url)) = moto_with_object() else {
        return;
    };
    for (headers, status, code) in [
        (
            &[("Range", "bytes=2-4"), ("If-Range", "\"stale\"")][..],
            206,
            "",
        ),
        (&[("Range", "bytes=20-30")], 416, "InvalidRange"),
    ] {
        let signed = signer().presign(Method::Get, &url);
        let answer = send(moto.addr, "GET", &signed, headers);
        assert_eq!(answer.status, status, "{headers:?}: {answer:?}");
        assert_eq!(error_code(&answer), code, "{headers:?}: {answer:?}");
    }
}

/// What `--no-sign-request` needs: an object stored `public-read` is served unsigned.
#[test]
fn moto_serves_a_public_read_object_to_unsigned_requests() {
    let Some((moto, _)) = moto_with_object() else {
        return;
    };
    moto.put_public(BUCKET, "public/obj.bin", BODY);
    let url = moto.url(BUCKET, "public/obj.bin");
    let answer = send(moto.addr, "GET", &url, &[]);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, BODY);
    let answer = send(moto.addr, "GET", &url, &[("Range", "bytes=2-4")]);
    assert_eq!(answer.status, 206, "{answer:?}");
    assert_eq!(answer.body, b"234");
    let queries: Vec<_> = moto.requests().into_iter().map(|r| r.query).collect();
    assert_eq!(queries, ["", ""]);
}
