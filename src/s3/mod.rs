//! `s3://BUCKET/KEY` URLs (README, "Object stores"): where a bucket is (region, endpoint,
//! addressing style), the credentials that sign its requests, read as the AWS CLI reads
//! them, and each request a presigned URL (AWS Signature Version 4, query-string auth) made
//! anew, so that no run outlives its signature.
//!
//! ```
//! use rangecat::s3::{S3Url, Store};
//!
//! let vars = |name: &str| match name {
//!     "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".to_owned()),
//!     "AWS_SECRET_ACCESS_KEY" => Some("secret".to_owned()),
//!     "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:9000".to_owned()),
//!     _ => None,
//! };
//! let store = Store::from_vars(vars, true).unwrap();
//! let object = S3Url::parse("s3://photos/2024/a b.jpg").unwrap();
//! assert_eq!(store.object_url(&object.bucket, &object.key).as_str(),
//!            "http://127.0.0.1:9000/photos/2024/a%20b.jpg");
//! let signed = store.presign(rangecat::s3::Method::Get, &object.bucket, &object.key).unwrap();
//! assert!(signed.contains("X-Amz-Signature="));
//! ```

mod config;
mod credentials;
mod profile;
mod sign;

/// The parsers of the AWS files and a `credential_process`'s output, for the fuzz targets.
#[doc(hidden)]
pub mod fuzzing {
    /// The profiles of an AWS config file (`config: true`) or credentials file, as
    /// `(name, [(key, value)])`.
    pub fn parse_profiles(text: &str, config: bool) -> Vec<(String, Vec<(String, String)>)> {
        let kind = match config {
            true => super::profile::FileKind::Config,
            false => super::profile::FileKind::Credentials,
        };
        super::profile::parse(text, kind)
            .into_iter()
            .map(|(name, profile)| (name, profile.into_iter().collect()))
            .collect()
    }

    /// Whether a `credential_process`'s output gives keys.
    pub fn parse_process_output(output: &[u8]) -> bool {
        super::credentials::parse_process_output(output).is_ok()
    }
}
mod store_error;

use std::fmt;
use std::sync::{Arc, OnceLock};

pub use config::{ConfigError, Store};
pub use rusty_s3::Method;
pub use store_error::{ErrorBody, StoreError, parse_error_body};

/// Whether `location` is an `s3://` URL (the scheme in any case).
pub fn is_s3(location: &str) -> bool {
    location
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("s3://"))
}

/// An `s3://BUCKET/KEY` URL, split. The key is everything after the bucket's `/`, taken as
/// it is written (no percent-decoding), as the AWS CLI takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    /// The bucket.
    pub bucket: String,
    /// The key; empty for `s3://BUCKET` and `s3://BUCKET/`.
    pub key: String,
}

/// Why an `s3://` URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3UrlError {
    /// The URL as given.
    pub url: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for S3UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid S3 URL '{}': {}", self.url, self.reason)
    }
}

impl std::error::Error for S3UrlError {}

impl S3Url {
    /// Splits `s3://BUCKET[/KEY]`. A key may hold any character but control characters, and
    /// no `.` or `..` segment (a URL cannot carry one: it would be resolved away).
    pub fn parse(location: &str) -> Result<S3Url, S3UrlError> {
        let error = |reason| S3UrlError {
            url: location.to_owned(),
            reason,
        };
        if !is_s3(location) {
            return Err(error("it does not start with s3://"));
        }
        let rest = &location[5..];
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(error("no bucket"));
        }
        if !bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(error(
                "a bucket name holds only letters, digits, '.', '-' and '_'",
            ));
        }
        if key.chars().any(char::is_control) {
            return Err(error("the key holds a control character"));
        }
        if key
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        {
            return Err(error(
                "a key with a '.' or '..' segment cannot be addressed by URL",
            ));
        }
        Ok(S3Url {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        })
    }
}

/// How `s3://` URLs are signed: with the credentials the environment names (the default),
/// unsigned (`--no-sign-request`), or with a [`Store`] made by the caller. Clones share the
/// store, found once: a `credential_process` runs once for all the sources of a run.
#[derive(Clone)]
pub struct Access {
    sign: bool,
    store: Arc<OnceLock<Arc<Store>>>,
}

impl Default for Access {
    fn default() -> Self {
        Access::from_environment(true)
    }
}

impl Access {
    /// The store of [`Store::from_env`], found at its first use: signed unless `sign` is
    /// false or `AWS_NO_SIGN_REQUEST=true`.
    pub fn from_environment(sign: bool) -> Access {
        Access {
            sign,
            store: Arc::new(OnceLock::new()),
        }
    }

    /// This store.
    pub fn with_store(store: Store) -> Access {
        Access {
            sign: store.signs(),
            store: Arc::new(OnceLock::from(Arc::new(store))),
        }
    }

    /// The store: the one given, or the environment's, read at the first call.
    pub fn store(&self) -> Result<Arc<Store>, ConfigError> {
        if let Some(store) = self.store.get() {
            return Ok(store.clone());
        }
        let store = Arc::new(Store::from_env(self.sign)?);
        Ok(self.store.get_or_init(|| store).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_bucket_and_key_as_written() {
        let url = S3Url::parse("s3://b/dir/a b%20é.zip").unwrap();
        assert_eq!(
            (url.bucket.as_str(), url.key.as_str()),
            ("b", "dir/a b%20é.zip")
        );
        let url = S3Url::parse("S3://my.bucket").unwrap();
        assert_eq!((url.bucket.as_str(), url.key.as_str()), ("my.bucket", ""));
        assert_eq!(S3Url::parse("s3://b//x").unwrap().key, "/x");
        for bad in [
            "s3://",
            "s3:///k",
            "s3://b/a/../c",
            "s3://b/./c",
            "s3://b/..",
            "s3://b c/k",
            "s3://b/a\nb",
            "http://b/k",
        ] {
            assert!(S3Url::parse(bad).is_err(), "{bad}");
        }
    }
}
