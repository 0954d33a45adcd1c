//! The proxy for a URL from the standard environment variables, chosen per scheme as curl
//! does: `http_proxy`/`HTTP_PROXY` for http, `https_proxy`/`HTTPS_PROXY` for https, then
//! `all_proxy`/`ALL_PROXY`; none for hosts that `no_proxy`/`NO_PROXY` lists.
//! (ureq's own lookup takes the first variable it finds for every scheme.)

use std::fmt;

/// The proxy URL to use for `url`, given a way to read the environment.
pub fn proxy_for(url: &str, env: impl Fn(&str) -> Option<String>) -> Option<(String, String)> {
    let scheme = if super::is_https(url) {
        "https"
    } else {
        "http"
    };
    let host = host_of(url)?;
    let var = |name: &str| {
        [name.to_owned(), name.to_ascii_uppercase()]
            .into_iter()
            .find_map(|n| env(&n).filter(|v| !v.trim().is_empty()).map(|v| (n, v)))
    };
    if let Some((_, list)) = var("no_proxy")
        && bypasses(&list, &host)
    {
        return None;
    }
    var(&format!("{scheme}_proxy")).or_else(|| var("all_proxy"))
}

/// A proxy variable whose value ureq cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidProxy {
    /// The variable (`HTTPS_PROXY`, say).
    pub variable: String,
    /// Its value.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for InvalidProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let InvalidProxy {
            variable,
            value,
            reason,
        } = self;
        let value = super::redact::redact_url(value);
        write!(f, "invalid proxy '{value}' in {variable}: {reason}")
    }
}

impl std::error::Error for InvalidProxy {}

/// The agent's proxy setting for `url` from the process environment.
pub fn from_env(url: &str) -> Result<Option<ureq::Proxy>, InvalidProxy> {
    let Some((variable, value)) = proxy_for(url, |name| std::env::var(name).ok()) else {
        return Ok(None);
    };
    ureq::Proxy::new(value.trim())
        .map(Some)
        .map_err(|e| InvalidProxy {
            variable,
            reason: e.to_string(),
            value,
        })
}

/// The host of an `http(s)://` URL, lower case, without port or IPv6 brackets.
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.split(':').next()?,
    };
    Some(host.to_ascii_lowercase())
}

/// Whether a `no_proxy` list names `host`: `*` names all; `example.com` or `.example.com`
/// name the domain and its subdomains; ports are ignored.
fn bypasses(list: &str, host: &str) -> bool {
    list.split(',').map(str::trim).any(|entry| {
        let entry = entry.to_ascii_lowercase();
        if entry == "*" {
            return true;
        }
        let entry = entry.trim_start_matches("*.").trim_start_matches('.');
        let entry = match entry.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None if entry.matches(':').count() == 1 => entry.split(':').next().unwrap_or(entry),
            None => entry,
        };
        !entry.is_empty()
            && (host == entry
                || host
                    .strip_suffix(entry)
                    .is_some_and(|prefix| prefix.ends_with('.')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(url: &str, vars: &[(&str, &str)]) -> Option<String> {
        let env = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        };
        proxy_for(url, env).map(|(_, value)| value)
    }

    #[test]
    fn the_proxy_follows_the_scheme() {
        let vars = [("HTTPS_PROXY", "http://s:1"), ("http_proxy", "http://p:2")];
        assert_eq!(pick("https://h/x", &vars).as_deref(), Some("http://s:1"));
        assert_eq!(pick("http://h/x", &vars).as_deref(), Some("http://p:2"));
        assert_eq!(pick("http://h/x", &[("HTTPS_PROXY", "http://s:1")]), None);
        assert_eq!(
            pick("http://h/x", &[("ALL_PROXY", "http://a:3")]).as_deref(),
            Some("http://a:3")
        );
        assert_eq!(pick("http://h/x", &[("HTTP_PROXY", "")]), None);
    }

    #[test]
    fn no_proxy_matches_hosts_and_domains() {
        let cases = [
            ("*", "anything", true),
            ("example.com", "example.com", true),
            ("example.com", "a.example.com", true),
            (".example.com", "a.example.com", true),
            ("example.com", "badexample.com", false),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1:8080", "127.0.0.1", true),
            ("localhost, 10.0.0.1", "10.0.0.1", true),
            ("[::1]", "::1", true),
            ("", "example.com", false),
        ];
        for (list, host, want) in cases {
            assert_eq!(bypasses(list, host), want, "{list:?} {host}");
        }
        let vars = [("HTTP_PROXY", "http://p:2"), ("no_proxy", "127.0.0.1")];
        assert_eq!(pick("http://127.0.0.1:8000/x", &vars), None);
        assert_eq!(
            pick("http://[::1]:8000/x", &vars).as_deref(),
            Some("http://p:2")
        );
    }

    #[test]
    fn hosts_come_out_of_urls() {
        assert_eq!(
            host_of("http://Example.COM:80/a").as_deref(),
            Some("example.com")
        );
        assert_eq!(host_of("https://u:p@h/x?q").as_deref(), Some("h"));
        assert_eq!(host_of("http://[::1]:8080/").as_deref(), Some("::1"));
    }
}
