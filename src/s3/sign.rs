//! Object URLs and their presigned form (AWS Signature Version 4, query-string auth; the
//! signing itself is rusty-s3's).

use std::time::Duration;

use jiff::Timestamp;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rusty_s3::Method;
use url::Url;

use super::{ConfigError, Store};

/// How long a presigned URL is good for. Each request is signed as it is sent, so this only
/// has to outlast the request's way to the store (and some clock skew).
const EXPIRES: Duration = Duration::from_secs(15 * 60);

/// What a key's bytes are written as in a URL path: everything but the unreserved
/// characters (RFC 3986 §2.3) and `/` is percent-encoded, as SigV4's canonical URI wants.
const KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

impl Store {
    /// The unsigned URL of `key` in `bucket`: `ENDPOINT/BUCKET/KEY` on a custom endpoint
    /// (path-style), `https://BUCKET.s3.REGION.amazonaws.com/KEY` on AWS (virtual-hosted), or
    /// path-style on AWS for a bucket whose name cannot be a host name under TLS (a `.`).
    pub fn object_url(&self, bucket: &str, key: &str) -> Url {
        let key = utf8_percent_encode(key, KEY);
        let bucket_part = utf8_percent_encode(bucket, KEY);
        let url = match &self.endpoint {
            Some(endpoint) => {
                let base = endpoint.as_str().trim_end_matches('/');
                format!("{base}/{bucket_part}/{key}")
            }
            None => {
                let domain = aws_domain(&self.region);
                if virtual_hostable(bucket) {
                    format!("https://{bucket}.s3.{}.{domain}/{key}", self.region)
                } else {
                    format!("https://s3.{}.{domain}/{bucket_part}/{key}", self.region)
                }
            }
        };
        // Every part is either checked (the endpoint, the region's characters) or encoded.
        Url::parse(&url).unwrap_or_else(|_| Url::parse("https://invalid.invalid/").expect("valid"))
    }

    /// The URL to send `method` to for `key` in `bucket`: signed now with the current keys
    /// (run the `credential_process` again if they are about to expire), or unsigned.
    pub fn presign(&self, method: Method, bucket: &str, key: &str) -> Result<String, ConfigError> {
        let url = self.object_url(bucket, key);
        let Some(credentials) = &self.credentials else {
            return Ok(url.into());
        };
        let keys = credentials.keys()?;
        let none = std::iter::empty::<(&str, &str)>();
        let signed = rusty_s3::signing::sign(
            &Timestamp::now(),
            method,
            url,
            &keys.access_key,
            &keys.secret,
            keys.token.as_deref(),
            &self.region,
            EXPIRES.as_secs(),
            none.clone(),
            none,
        );
        Ok(signed.into())
    }
}

/// AWS's domain for `region` (China's regions have their own).
fn aws_domain(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// Whether `bucket` can be the first label of a host name with a wildcard certificate: 3 to
/// 63 lower-case letters, digits and `-`, starting and ending with a letter or digit.
fn virtual_hostable(bucket: &str) -> bool {
    let bytes = bucket.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}
