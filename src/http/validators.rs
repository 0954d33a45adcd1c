//! What identifies one version of a resource: its validators (RFC 9110 §8.8: `ETag`, and
//! `Last-Modified`, strong only when `Date` is at least a second later), its length, and
//! `no-store`; the preconditions made of them (`If-Range`, `If-Match`, `If-None-Match`) and
//! how two versions differ.

use ureq::http::HeaderMap;

use super::date::parse_http_date;
use super::header;

/// What identifies one version of the resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `ETag`, as sent (weak ones keep their `W/`).
    pub etag: Option<String>,
    /// `Last-Modified`, as sent.
    pub last_modified: Option<String>,
    /// Whether `Last-Modified` is a strong validator (RFC 9110 §8.8.2.2: `Date` is at least
    /// one second later).
    pub last_modified_is_strong: bool,
    /// The complete length.
    pub len: Option<u64>,
    /// The answer said `Cache-Control: no-store`: nothing of it may be kept.
    pub no_store: bool,
}

impl Identity {
    pub(crate) fn of(headers: &HeaderMap, len: Option<u64>) -> Identity {
        let last_modified = header(headers, "last-modified");
        let last_modified_is_strong = match (&last_modified, header(headers, "date")) {
            (Some(modified), Some(date)) => {
                match (parse_http_date(modified), parse_http_date(&date)) {
                    (Some(modified), Some(date)) => date > modified,
                    _ => false,
                }
            }
            _ => false,
        };
        let no_store = header(headers, "cache-control").is_some_and(|value| {
            value
                .split(',')
                .any(|directive| directive.trim().eq_ignore_ascii_case("no-store"))
        });
        Identity {
            etag: header(headers, "etag"),
            last_modified,
            last_modified_is_strong,
            len,
            no_store,
        }
    }

    /// Whether a copy of what the resource said may be kept and revalidated later: a strong
    /// validator, a length, and no `no-store`.
    pub fn is_cacheable(&self) -> bool {
        self.if_range().is_some() && self.len.is_some() && !self.no_store
    }

    /// The precondition that holds while the resource is this version: `If-Match` with a
    /// strong ETag, else `If-Unmodified-Since` with a strong Last-Modified.
    pub(crate) fn if_match(&self) -> Option<(&'static str, String)> {
        match &self.etag {
            Some(etag) if !etag.starts_with("W/") => Some(("If-Match", etag.clone())),
            _ if self.last_modified_is_strong => self
                .last_modified
                .clone()
                .map(|value| ("If-Unmodified-Since", value)),
            _ => None,
        }
    }

    /// The precondition that fails (304) while the resource is this version: `If-None-Match`
    /// with a strong ETag, else `If-Modified-Since` with a strong Last-Modified.
    pub(crate) fn if_none_match(&self) -> Option<(&'static str, String)> {
        match self.if_match()? {
            ("If-Match", etag) => Some(("If-None-Match", etag)),
            (_, modified) => Some(("If-Modified-Since", modified)),
        }
    }

    /// The `If-Range` value for later requests: a strong ETag, else a strong Last-Modified
    /// (RFC 9110 §13.1.5: never a weak ETag).
    pub fn if_range(&self) -> Option<&str> {
        match &self.etag {
            Some(etag) if !etag.starts_with("W/") => Some(etag),
            _ if self.last_modified_is_strong => self.last_modified.as_deref(),
            _ => None,
        }
    }

    /// Describes how `later` differs from this version, if it does.
    pub(crate) fn difference(&self, later: &Identity) -> Option<String> {
        // The opaque tags are compared: Apache marks the ETag of a file changed within the
        // last second weak (`W/"x"`), and the same tag strong a second later (`"x"`).
        let opaque = |tag: &str| tag.strip_prefix("W/").unwrap_or(tag).to_owned();
        if let (Some(a), Some(b)) = (&self.etag, &later.etag)
            && opaque(a) != opaque(b)
        {
            return Some(format!("ETag {a} became {b}"));
        }
        if let (Some(a), Some(b)) = (&self.last_modified, &later.last_modified)
            && a != b
        {
            return Some(format!("Last-Modified '{a}' became '{b}'"));
        }
        if let (Some(a), Some(b)) = (self.len, later.len)
            && a != b
        {
            return Some(format!("length {a} became {b}"));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(etag: Option<&str>, modified: Option<&str>, strong: bool) -> Identity {
        Identity {
            etag: etag.map(str::to_owned),
            last_modified: modified.map(str::to_owned),
            last_modified_is_strong: strong,
            len: Some(10),
            no_store: false,
        }
    }

    #[test]
    fn only_a_strong_validator_with_a_length_and_no_no_store_may_be_cached() {
        assert!(identity(Some("\"v1\""), None, false).is_cacheable());
        assert!(identity(None, Some("Mon, 01 Jan 2024 00:00:00 GMT"), true).is_cacheable());
        assert!(!identity(Some("W/\"v1\""), None, false).is_cacheable());
        assert!(!identity(None, Some("Mon, 01 Jan 2024 00:00:00 GMT"), false).is_cacheable());
        let mut no_store = identity(Some("\"v1\""), None, false);
        no_store.no_store = true;
        assert!(!no_store.is_cacheable());
        let mut no_length = identity(Some("\"v1\""), None, false);
        no_length.len = None;
        assert!(!no_length.is_cacheable());
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, value.parse().unwrap());
            }
            map
        };
        let marked = headers(&[("etag", "\"v1\""), ("cache-control", "private, no-store")]);
        assert!(Identity::of(&marked, Some(1)).no_store);
        let unmarked = headers(&[("etag", "\"v1\""), ("cache-control", "max-age=60")]);
        assert!(Identity::of(&unmarked, Some(1)).is_cacheable());
    }

    #[test]
    fn if_range_uses_only_strong_validators() {
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(
            identity(Some("\"a\""), Some(date), true).if_range(),
            Some("\"a\"")
        );
        assert_eq!(
            identity(Some("W/\"a\""), Some(date), true).if_range(),
            Some(date)
        );
        assert_eq!(
            identity(Some("W/\"a\""), Some(date), false).if_range(),
            None
        );
        assert_eq!(identity(None, Some(date), false).if_range(), None);
        assert_eq!(identity(None, None, false).if_range(), None);
    }

    #[test]
    fn an_etag_that_turns_strong_is_the_same_version() {
        let weak = identity(Some("W/\"2dc6-5f3\""), None, false);
        let strong = identity(Some("\"2dc6-5f3\""), None, false);
        assert_eq!(weak.difference(&strong), None);
        assert_eq!(strong.difference(&weak), None);
        let other = identity(Some("\"2dc6-5f4\""), None, false);
        assert!(weak.difference(&other).is_some());
    }

    #[test]
    fn identities_differ_by_validators_or_length() {
        let a = identity(Some("\"a\""), None, false);
        assert_eq!(a.difference(&a), None);
        assert!(
            a.difference(&identity(Some("\"b\""), None, false))
                .is_some()
        );
        let longer = Identity {
            len: Some(11),
            ..a.clone()
        };
        assert!(a.difference(&longer).is_some());
        // A response without validators cannot be compared on them.
        assert_eq!(a.difference(&identity(None, None, false)), None);
    }
}
