//! URLs as rangecat shows them: a userinfo password and the signature and credential
//! parameters of presigned URLs (S3, GCS, Azure SAS, CloudFront) become `REDACTED`, so that
//! no error message, `-v` line or log line carries a secret.

use std::borrow::Cow;

/// What stands in for a secret.
pub const REDACTED: &str = "REDACTED";

/// Query parameters whose values are secrets (compared without regard to case).
const SECRET_PARAMETERS: [&str; 12] = [
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
    "sig",
    "signature",
    "token",
    "access_token",
    "api_key",
    "apikey",
    "password",
];

/// `url` with its secrets replaced by `REDACTED`; borrowed when there are none.
///
/// ```
/// use rangecat::http::redact_url;
///
/// assert_eq!(redact_url("https://u:pw@host/a?X-Amz-Signature=abc&x=1"),
///            "https://u:REDACTED@host/a?X-Amz-Signature=REDACTED&x=1");
/// ```
pub fn redact_url(url: &str) -> Cow<'_, str> {
    let (before_fragment, fragment) = match url.find('#') {
        Some(at) => url.split_at(at),
        None => (url, ""),
    };
    let (before_query, query) = match before_fragment.find('?') {
        Some(at) => (&before_fragment[..at], Some(&before_fragment[at + 1..])),
        None => (before_fragment, None),
    };
    let authority_password = password_span(before_query);
    let query_secrets = query.is_some_and(|q| q.split('&').any(is_secret_pair));
    if authority_password.is_none() && !query_secrets {
        return Cow::Borrowed(url);
    }
    let mut out = String::with_capacity(url.len());
    match authority_password {
        Some((from, to)) => {
            out.push_str(&before_query[..from]);
            out.push_str(REDACTED);
            out.push_str(&before_query[to..]);
        }
        None => out.push_str(before_query),
    }
    if let Some(query) = query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((name, _)) if is_secret_pair(pair) => {
                    out.push_str(name);
                    out.push('=');
                    out.push_str(REDACTED);
                }
                _ => out.push_str(pair),
            }
        }
    }
    out.push_str(fragment);
    Cow::Owned(out)
}

/// Where the password of `scheme://user:password@host` lies in `text` (no query or fragment).
fn password_span(text: &str) -> Option<(usize, usize)> {
    let start = text.find("://")? + 3;
    let authority_end = text[start..].find('/').map_or(text.len(), |at| start + at);
    let at = text[start..authority_end].rfind('@')? + start;
    let colon = text[start..at].find(':')? + start;
    Some((colon + 1, at))
}

fn is_secret_pair(pair: &str) -> bool {
    pair.split_once('=').is_some_and(|(name, value)| {
        !value.is_empty()
            && SECRET_PARAMETERS
                .iter()
                .any(|secret| name.eq_ignore_ascii_case(secret))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_the_rest_kept() {
        let cases = [
            ("http://host/a.zip", "http://host/a.zip"),
            ("http://user@host/a", "http://user@host/a"),
            (
                "http://user:pw@host:8080/a",
                "http://user:REDACTED@host:8080/a",
            ),
            ("http://u:p%40ss@h/a@b", "http://u:REDACTED@h/a@b"),
            (
                "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F&\
                 X-Amz-Signature=f00d&X-Amz-Security-Token=t0k",
                "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=REDACTED&\
                 X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED",
            ),
            (
                "https://storage.googleapis.com/b/o?x-goog-signature=ab&x-goog-credential=c",
                "https://storage.googleapis.com/b/o?x-goog-signature=REDACTED&\
                 x-goog-credential=REDACTED",
            ),
            (
                "https://a.blob.core.windows.net/c/b?sv=2020&sig=abc%3D&se=x",
                "https://a.blob.core.windows.net/c/b?sv=2020&sig=REDACTED&se=x",
            ),
            (
                "https://d.cloudfront.net/f?Signature=s&Key-Pair-Id=K#part",
                "https://d.cloudfront.net/f?Signature=REDACTED&Key-Pair-Id=K#part",
            ),
            ("http://host/a?sig=&b=1", "http://host/a?sig=&b=1"),
            ("http://host/p:q@r", "http://host/p:q@r"),
            ("not a url", "not a url"),
        ];
        for (url, want) in cases {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }
}
