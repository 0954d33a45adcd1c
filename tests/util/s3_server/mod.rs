//! Two real S3 implementations on loopback for the `s3://` tests, and what a test needs to
//! talk to them itself: path-style object URLs and presigned URLs signed with rusty-s3.
//!
//! - [`S3Fs`]: the `s3s` crate over `s3s-fs`'s file-system store, in-process. It checks
//!   SigV4 signatures against one key pair, as AWS does: presigned query strings, expiry
//!   included (checked below), and the `Authorization` header (s3s's code, untested here).
//! - [`Moto`]: moto's S3 server (PyPI `moto`, in the tests' virtualenv), which takes any
//!   signature and, as AWS S3 does, answers a multi-range request with the whole object.
//!
//! Both log every request (method, path as sent, query string, Range, status), in the order
//! their answers started; a request is in the log before its answer's body goes out.
//!
//! What they answer (s3s 0.14.1 with s3s-fs 0.14.1, moto 5.2.5), each row checked by
//! tests/s3_servers.rs; "AWS:" where AWS S3 answers otherwise:
//!
//! | request                                   | s3s-fs                                   | moto                          |
//! |-------------------------------------------|------------------------------------------|-------------------------------|
//! | presigned GET                             | 200, ETag (MD5), Last-Modified           | 200, ETag, Last-Modified      |
//! | `Range: bytes=2-4`, `-3`, `7-`, `0-99`    | 206, Content-Range, ETag, Last-Modified  | 206, Content-Range, ETag      |
//! | `Range: bytes=0-1,5-6`                    | 400 InvalidArgument (AWS: 200, whole)    | 200, the whole object         |
//! | `Range: bytes=20-30` on 10 bytes          | 416 InvalidRange, no Content-Range       | 416 InvalidRange              |
//! | stale `If-Range` (ETag or date)           | ignored: 206                             | ignored: 206                  |
//! | stale `If-Match`                          | ignored: 200 (AWS: 412)                  | not checked                   |
//! | HEAD                                      | 200, Content-Length, ETag, Last-Modified | 200, Content-Length, ETag     |
//! | expired (`X-Amz-Date` + `X-Amz-Expires`)  | 403 AccessDenied "Request has expired"   | 200: no check                 |
//! | `X-Amz-Date` 2 h ahead                    | 403 RequestTimeTooSkewed                 | not checked                   |
//! | wrong secret                              | 403 SignatureDoesNotMatch                | 200: no check                 |
//! | unknown access key                        | 403 NotSignedUp (AWS: InvalidAccessKeyId)| 200: no check                 |
//! | signed for GET, sent as HEAD              | 403                                      | not checked                   |
//! | unsigned                                  | 403 AccessDenied                         | 403, empty body, not XML      |
//! | unsigned, object stored `public-read`     | not checked (put() sets no ACL)          | 200; a range 206              |
//! | `X-Amz-Security-Token`                    | signed along, its value not checked      | not checked                   |
//! | missing key                               | 404 NoSuchKey                            | 404 NoSuchKey                 |
//! | missing bucket                            | 404 NoSuchKey (AWS: NoSuchBucket)        | not checked                   |
//!
//! Errors are `application/xml` `<Error><Code>…</Code>[<Message>…</Message>]</Error>`;
//! s3s-fs sends no Message with SignatureDoesNotMatch or NoSuchKey. A HEAD error has no body
//! on either. s3s-fs sends neither Accept-Ranges nor, for an object stored by [`S3Fs::put`],
//! Content-Type. So: expiry and signatures (a fresh one per request) are tested against
//! s3s-fs; `--multipart` on `s3://` against moto; If-Range validation against neither.

mod moto;
mod s3fs;

pub use moto::Moto;
pub use s3fs::S3Fs;

use std::fmt;

use jiff::Timestamp;
pub use rusty_s3::Method;

/// The region the tests sign for. s3s-fs computes the signature with whatever region the
/// credential scope names; moto checks nothing.
pub const REGION: &str = "us-east-1";

/// How long a presigned URL of [`Signer::presign`] stays valid.
const EXPIRES_SECONDS: u64 = 3600;

/// One request as a server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Request {
    /// `GET`, `HEAD`, `PUT`, ...
    pub method: String,
    /// The path as sent, still percent-encoded, without the query string.
    pub path: String,
    /// The query string as sent, without `?`; empty when there was none.
    pub query: String,
    /// The `Range` header, when sent.
    pub range: Option<String>,
    /// The answer's status; 0 when the server gave none.
    pub status: u16,
}

impl S3Request {
    /// The raw (still percent-encoded) value of query parameter `name`, if present.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }
}

impl fmt::Display for S3Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if !self.query.is_empty() {
            write!(f, "?{}", self.query)?;
        }
        write!(
            f,
            " Range: {} -> {}",
            self.range.as_deref().unwrap_or("-"),
            self.status
        )
    }
}

/// The requests one a line, for failure messages.
fn log_lines(requests: &[S3Request]) -> String {
    requests.iter().map(|r| format!("{r}\n")).collect()
}

/// `ENDPOINT/BUCKET/KEY`, path-style, the key URI-encoded as SigV4's canonical request wants
/// it for S3 (every byte but `A-Za-z0-9-._~` and `/` as `%XX`), so the URL's path is the
/// canonical URI as is.
pub fn object_url(endpoint: &str, bucket: &str, key: &str) -> String {
    format!(
        "{}/{}/{}",
        endpoint.trim_end_matches('/'),
        encode_key(bucket),
        encode_key(key)
    )
}

/// SigV4's `UriEncode` of an object key, slashes kept.
pub fn encode_key(key: &str) -> String {
    let mut encoded = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The request target of `url` (`/PATH?QUERY`), for a raw HTTP client.
pub fn request_target(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme.find('/').map_or("/", |at| &after_scheme[at..])
}

/// Credentials that sign presigned URLs (SigV4 query-string auth) as rangecat does, with
/// rusty-s3's `signing::sign`, for [`REGION`] and the `host` header only.
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    /// Sent as `X-Amz-Security-Token` (and signed) when given.
    pub session_token: Option<&'a str>,
}

impl<'a> Signer<'a> {
    /// A key pair without a session token.
    pub fn new(access_key: &'a str, secret_key: &'a str) -> Signer<'a> {
        Signer {
            access_key,
            secret_key,
            session_token: None,
        }
    }

    /// `url` (from [`object_url`]) presigned for `method`, now, valid for an hour.
    pub fn presign(&self, method: Method, url: &str) -> String {
        self.presign_at(method, url, Timestamp::now(), EXPIRES_SECONDS)
    }

    /// `url` presigned for `method` as of `date`, valid `expires_seconds` from then.
    pub fn presign_at(
        &self,
        method: Method,
        url: &str,
        date: Timestamp,
        expires_seconds: u64,
    ) -> String {
        let url = url::Url::parse(url).unwrap_or_else(|e| panic!("presign {url}: {e}"));
        rusty_s3::signing::sign(
            &date,
            method,
            url,
            self.access_key,
            self.secret_key,
            self.session_token,
            REGION,
            expires_seconds,
            std::iter::empty(),
            std::iter::empty(),
        )
        .to_string()
    }
}
