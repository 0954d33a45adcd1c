//! `--upstream s3://BUCKET[/PREFIX]`: a client's `GET /a/b.mp4` is the object
//! `PREFIX/a/b.mp4`, asked for with a URL presigned for that request alone (README, "Object
//! stores").

use std::sync::Arc;

use hyper::Uri;
use percent_encoding::percent_decode_str;

use super::error::Error;
use crate::s3::{Access, Method, S3Url, Store};

/// The bucket and key prefix requests go to.
pub(crate) struct Bucket {
    store: Arc<Store>,
    bucket: String,
    /// Prepended to every key: empty, or ending in `/`.
    prefix: String,
}

/// Why a request cannot go to the bucket.
pub(crate) enum KeyError {
    /// Its path does not decode to a key (400).
    BadPath,
    /// No keys to sign with (502).
    Credentials(String),
}

impl Bucket {
    /// The bucket of `upstream` (`s3://BUCKET[/PREFIX]`), in the store `access` gives.
    pub(crate) fn new(upstream: &str, access: &Access) -> Result<Bucket, Error> {
        let invalid = |reason: String| Error::InvalidUpstream {
            base: upstream.to_owned(),
            reason,
        };
        let S3Url { bucket, key } = S3Url::parse(upstream).map_err(|e| invalid(e.reason.into()))?;
        let store = access.store().map_err(|e| invalid(crate::one_line(&e)))?;
        let prefix = key.trim_end_matches('/');
        let prefix = match prefix.is_empty() {
            true => String::new(),
            false => format!("{prefix}/"),
        };
        Ok(Bucket {
            store,
            bucket,
            prefix,
        })
    }

    /// The unsigned URL of the bucket's prefix: what the connection's trust is made for.
    pub(crate) fn base_url(&self) -> String {
        self.store.object_url(&self.bucket, &self.prefix).into()
    }

    /// The key that `target` (an origin-form target that
    /// [`check_target`](super::target::check_target) passed) names: its path, decoded, after
    /// the prefix; its query is not part of it.
    pub(crate) fn key(&self, target: &str) -> Result<String, KeyError> {
        let path = target.split_once('?').map_or(target, |(path, _)| path);
        let path = path.strip_prefix('/').unwrap_or(path);
        let decoded = percent_decode_str(path)
            .decode_utf8()
            .map_err(|_| KeyError::BadPath)?;
        Ok(format!("{}{decoded}", self.prefix))
    }

    /// The URL of `key` presigned for `method`, for one request.
    pub(crate) fn url(&self, key: &str, method: Method) -> Result<Uri, KeyError> {
        let url = self
            .store
            .presign(method, &self.bucket, key)
            .map_err(|e| KeyError::Credentials(crate::one_line(&e)))?;
        url.parse::<Uri>().map_err(|_| KeyError::BadPath)
    }
}
