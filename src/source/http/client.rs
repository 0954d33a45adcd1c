//! The client behind an [`HttpSource`](super::HttpSource): it sends a request (credentials
//! only to the origin they were given for), follows redirects, retries after a broken
//! connection or a 429/502/503/504, and checks every answer against the first (RFC 9110
//! §13.1.5 If-Range, §14.4 Content-Range).

use std::io::{self, Read};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use ureq::Agent;
use ureq::http::{HeaderMap, Response};

use super::{HttpConfig, Identity};
use crate::http::content_range::{ContentRange, parse_content_range, range_header, show_span};
use crate::http::redact::redact_url;
use crate::http::tls::{certificate_problem, tls_config};
use crate::http::{
    content_length, header, is_downgrade, is_https, proxy_env, resolve_location, same_origin,
};
use crate::range::ByteRange;
use crate::s3::{Method, Store, StoreError, parse_error_body};
use crate::source::{Body, Error, retry};

/// What is shared between the source and the readers it hands out.
pub(super) struct Client {
    /// The agent for http URLs and the one for https, each made for its first request: the
    /// trust store (hundreds of files) is read only when an https URL is asked for.
    pub(super) plain: OnceLock<Agent>,
    pub(super) secure: OnceLock<Agent>,
    pub(super) url: String,
    /// The URL after redirects, learned from the first response, so later requests skip them.
    pub(super) final_url: OnceLock<String>,
    pub(super) config: HttpConfig,
    /// The first response's validators and length; every later response must match.
    pub(super) first: OnceLock<Identity>,
    /// The length, when the first response did not give it (`bytes a-b/*`) and a later
    /// one did; every later response must match it too.
    pub(super) learned: OnceLock<u64>,
    /// A multi-range request was answered with something else than its parts: the server
    /// gets one request per range from then on.
    pub(super) multipart_refused: AtomicBool,
    /// Most ranges one multi-range request asks for:
    /// [`multipart::MAX_PARTS`](crate::source::multipart::MAX_PARTS), or fewer where the
    /// server answered more with the whole resource or with fewer parts.
    pub(super) part_limit: AtomicUsize,
    /// A cached copy is relied on: every request carries this precondition (`If-Match` or
    /// `If-Unmodified-Since`) instead of `If-Range`, and a 412 says the copy is stale.
    pub(super) matching: OnceLock<(&'static str, String)>,
    /// The answers of the multi-range first requests
    /// ([`Source::open_many`](crate::source::Source::open_many)), for the `fetch_many` of the
    /// same spans.
    pub(super) prefetched: Mutex<Vec<(Vec<Range<u64>>, Body)>>,
    /// Suffix ranges were refused ([`Source::learn`](crate::source::Source::learn)).
    pub(super) suffix_refused: AtomicBool,
    /// HEAD was refused, or gave no length: the probe is `GET bytes=0-0`.
    pub(super) head_refused: AtomicBool,
    /// The answers of the first requests sent together
    /// ([`Source::open_spans`](crate::source::Source::open_spans)), for the `fetch_span` of
    /// the same spans.
    pub(super) opened: Mutex<Vec<(Range<u64>, Body)>>,
    /// For an `s3://` URL: the object, whose every request is presigned as it is sent.
    pub(super) s3: Option<S3Object>,
}

/// An object in a store: `url` (the client's) is its `s3://` URL, and requests go to
/// `object_url`, each signed anew (README, "Object stores").
pub(super) struct S3Object {
    pub(super) store: Arc<Store>,
    pub(super) bucket: String,
    pub(super) key: String,
    /// The unsigned URL the requests go to.
    pub(super) object_url: String,
}

/// Most bytes of an error answer read for the S3 error it holds.
const MAX_ERROR_BODY: u64 = 64 * 1024;

/// At most this many redirects are followed for one request (README, "What goes on the wire").
pub const MAX_REDIRECTS: usize = 10;

/// Where a redirect answer points (301, 302, 303, 307, 308 with a `Location`), resolved
/// against `url`.
fn redirect_target(response: &Response<ureq::Body>, url: &str) -> Option<String> {
    let redirects = matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308);
    let location = header(response.headers(), "location").filter(|_| redirects)?;
    resolve_location(url, &location)
}

/// Request headers that carry credentials: sent to other origins only when trusted.
fn is_credential(name: &str) -> bool {
    ["authorization", "cookie", "proxy-authorization"]
        .iter()
        .any(|credential| name.eq_ignore_ascii_case(credential))
}

/// An agent for requests to `url` (the proxy its scheme calls for; for https, the trust
/// store and `--cacert`, or none with `-k`).
fn build_agent(url: &str, config: &HttpConfig, https: bool) -> Result<Agent, Error> {
    let buffer = config.buffer_size.clamp(16 * 1024, 4 * 1024 * 1024);
    let mut builder = Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(config.transport.connect_timeout))
        .timeout_recv_response(Some(config.transport.timeout))
        .timeout_per_read(Some(config.transport.timeout))
        .timeout_per_write(Some(config.transport.timeout))
        // Redirects are followed by `send`, which decides what crosses origins.
        .max_redirects(0)
        .accept_encoding("identity")
        .user_agent(concat!("rangecat/", env!("CARGO_PKG_VERSION")))
        .input_buffer_size(buffer)
        // -j and `x -j` keep up to 64 connections busy; the default pool of 3 per host
        // would reopen the rest for every segment or member.
        .max_idle_connections_per_host(64)
        .proxy(proxy_from_env(url)?);
    if https {
        builder = builder.tls_config(tls_config(
            config.transport.cacert.as_ref(),
            config.transport.insecure,
        )?);
    }
    Ok(builder.build().into())
}

/// The failure to send a request or receive its response.
fn transport_error(method: &str, url: &str, err: ureq::Error) -> Error {
    let (method, url) = (method.to_owned(), url.to_owned());
    if let Some(problem) = certificate_problem(&err) {
        return Error::Certificate {
            method,
            url,
            problem,
        };
    }
    match err {
        ureq::Error::Timeout(what) => Error::Timeout {
            method,
            url,
            what: what.to_string(),
        },
        ureq::Error::Io(io) => Error::Request {
            method,
            url,
            source: Box::new(io),
        },
        other => Error::Request {
            method,
            url,
            source: Box::new(other),
        },
    }
}

/// The agent's proxy for `url`, from the process environment.
pub(super) fn proxy_from_env(url: &str) -> Result<Option<ureq::Proxy>, Error> {
    proxy_env::from_env(url).map_err(|invalid| Error::InvalidProxy {
        variable: invalid.variable,
        value: invalid.value,
        reason: invalid.reason,
    })
}

impl Client {
    /// The agent for `url`'s scheme, made at its first use.
    fn agent_for(&self, url: &str) -> Result<&Agent, Error> {
        let https = is_https(url);
        let slot = if https { &self.secure } else { &self.plain };
        if let Some(agent) = slot.get() {
            return Ok(agent);
        }
        let agent = build_agent(url, &self.config, https)?;
        Ok(slot.get_or_init(|| agent))
    }

    pub(super) fn url(&self) -> &str {
        self.final_url.get().unwrap_or(&self.url)
    }

    pub(super) fn log(&self, line: impl FnOnce() -> String) {
        if let Some(log) = &self.config.log {
            log(&line());
        }
    }

    /// Sends one request, following redirects (at most [`MAX_REDIRECTS`]); `If-Range` once the
    /// first response is known. The first answer that is not a redirect fixes the final URL.
    pub(super) fn send(
        &self,
        method: &str,
        range: Option<&ByteRange>,
        budget: &mut u32,
    ) -> Result<Response<ureq::Body>, Error> {
        self.send_range(method, range.map(range_header), budget)
    }

    /// [`send`](Client::send) with the `Range` header's value as it goes on the wire.
    pub(super) fn send_range(
        &self,
        method: &str,
        range_value: Option<String>,
        budget: &mut u32,
    ) -> Result<Response<ureq::Body>, Error> {
        // `If-Match` where a cached copy is relied on, else `If-Range` (README, "Cache").
        let condition = match self.matching.get() {
            Some((name, value)) => Some((*name, value.as_str())),
            None => self
                .first
                .get()
                .and_then(|first| first.if_range())
                .map(|value| ("If-Range", value)),
        };
        let condition = condition.filter(|_| range_value.is_some());
        self.send_conditional(method, range_value, condition, budget)
    }

    /// [`send_range`](Client::send_range) with the precondition header given.
    pub(super) fn send_conditional(
        &self,
        method: &str,
        range_value: Option<String>,
        condition: Option<(&str, &str)>,
        budget: &mut u32,
    ) -> Result<Response<ureq::Body>, Error> {
        if let Some(object) = &self.s3 {
            // A store's redirect names another region or endpoint: shown, not followed
            // (its signature would not hold there).
            let url = &object.object_url;
            return self.send_retrying(url, method, range_value.as_deref(), condition, budget);
        }
        let mut url = self.url().to_owned();
        for hops in 0.. {
            let response =
                self.send_retrying(&url, method, range_value.as_deref(), condition, budget)?;
            let Some(next) = redirect_target(&response, &url) else {
                let _ = self.final_url.set(url);
                return Ok(response);
            };
            if hops == MAX_REDIRECTS {
                let url = self.url.clone();
                return Err(Error::TooManyRedirects { url, limit: hops });
            }
            if is_downgrade(&url, &next) && !self.config.allow_insecure_redirect {
                return Err(Error::InsecureRedirect {
                    from: url,
                    to: next,
                });
            }
            url = next;
        }
        unreachable!("the loop returns")
    }

    /// One request to `url`, logged under `-v`. Credentials (`Authorization`, `Cookie`,
    /// `Proxy-Authorization`) go only to the origin they were given for, unless
    /// `--location-trusted`, as curl does.
    fn send_to(
        &self,
        url: &str,
        method: &str,
        range: Option<&str>,
        condition: Option<(&str, &str)>,
    ) -> Result<Result<Response<ureq::Body>, ureq::Error>, Error> {
        let signed;
        let url = match &self.s3 {
            Some(object) => {
                let method = if method == "HEAD" {
                    Method::Head
                } else {
                    Method::Get
                };
                signed = object
                    .store
                    .presign(method, &object.bucket, &object.key)
                    .map_err(Error::S3Credentials)?;
                signed.as_str()
            }
            None => url,
        };
        self.log(|| {
            let mut line = format!("> {method} {}", redact_url(url));
            if let Some(value) = range {
                line += &format!(" Range: {value}");
            }
            if let Some((name, value)) = condition {
                line += &format!(" {name}: {value}");
            }
            line
        });
        let trusted =
            self.config.location_trusted || self.s3.is_some() || same_origin(&self.url, url);
        let mut request = ureq::http::Request::builder().method(method).uri(url);
        for (name, value) in &self.config.headers {
            if trusted || !is_credential(name) {
                request = request.header(name, value);
            }
        }
        if let Some(value) = range {
            request = request.header("Range", value);
        }
        if let Some((name, value)) = condition {
            request = request.header(name, value);
        }
        let request = request.body(()).map_err(|e| Error::InvalidHeader {
            reason: e.to_string(),
        })?;
        let response = match self.agent_for(url)?.run(request) {
            Ok(response) => response,
            Err(err) => return Ok(Err(err)),
        };
        self.log(|| {
            let status = response.status();
            let mut line = format!(
                "< {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            );
            if let Some(value) = header(response.headers(), "content-range") {
                line += &format!(" Content-Range: {value}");
            } else if let Some(len) = content_length(response.headers()) {
                line += &format!(" Content-Length: {len}");
            } else if let Some(location) = header(response.headers(), "location") {
                line += &format!(" Location: {}", redact_url(&location));
            }
            line
        });
        Ok(Ok(response))
    }

    /// Sends a request to `url`, and sends it again after a 429/502/503/504 answer or a
    /// connection that broke before any answer, while `budget` (retries left) lasts: after the
    /// server's `Retry-After` or a backoff ([`retry::delay`]), each retry logged under `-v`.
    /// Any other answer, and the last one, is returned as it is.
    fn send_retrying(
        &self,
        url: &str,
        method: &str,
        range: Option<&str>,
        condition: Option<(&str, &str)>,
        budget: &mut u32,
    ) -> Result<Response<ureq::Body>, Error> {
        let mut retry = 0;
        // Bounded: every iteration returns or spends one of `budget`.
        loop {
            let (what, retry_after) = match self.send_to(url, method, range, condition)? {
                Ok(response)
                    if *budget > 0 && retry::retries_status(response.status().as_u16()) =>
                {
                    let status = response.status();
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                    let retry_after = header(response.headers(), "retry-after")
                        .and_then(|value| retry::retry_after(&value, now));
                    discard(response);
                    let what = format!(
                        "{} {}",
                        status.as_u16(),
                        status.canonical_reason().unwrap_or("")
                    );
                    (what, retry_after)
                }
                Ok(response) => return Ok(response),
                Err(err) if *budget > 0 && retry::retries_transport(&err) => {
                    (err.to_string(), None)
                }
                Err(err) => return Err(transport_error(method, url, err)),
            };
            let wait = retry::delay(retry, retry_after, retry::jitter());
            *budget -= 1;
            retry += 1;
            let total = self.config.transport.retries;
            let nth = total - *budget;
            self.log(|| {
                format!(
                    "* {what}; retrying in {:.1} s ({nth} of {total})",
                    wait.as_secs_f64()
                )
            });
            std::thread::sleep(wait);
        }
    }

    /// Records the first response's identity, or checks a later one against it.
    pub(super) fn check(
        &self,
        response: &Response<ureq::Body>,
        len: Option<u64>,
    ) -> Result<(), Error> {
        self.check_headers(response.headers(), len)
    }

    /// [`check`](Client::check) of a response's headers.
    pub(super) fn check_headers(&self, headers: &HeaderMap, len: Option<u64>) -> Result<(), Error> {
        let now = Identity::of(headers, len);
        let first = self.first.get_or_init(|| now.clone());
        if let Some(what) = first.difference(&now) {
            // Relying on a cached copy, a server that ignored If-Match has said the same as
            // a 412: the copy is stale.
            if self.matching.get().is_some() {
                return Err(Error::Stale);
            }
            return Err(Error::ResourceChanged { what });
        }
        if let (None, Some(len)) = (first.len, len) {
            let learned = *self.learned.get_or_init(|| len);
            if learned != len {
                let what = format!("length {learned} became {len}");
                return Err(Error::ResourceChanged { what });
            }
        }
        Ok(())
    }

    pub(super) fn content_range(
        &self,
        response: &Response<ureq::Body>,
        asked: &ByteRange,
    ) -> Result<ContentRange, Error> {
        header(response.headers(), "content-range")
            .and_then(|value| parse_content_range(&value))
            .ok_or_else(|| self.bad_content_range(asked, response))
    }

    pub(super) fn bad_content_range(
        &self,
        asked: &ByteRange,
        response: &Response<ureq::Body>,
    ) -> Error {
        Error::BadContentRange {
            asked: range_header(asked),
            got: header(response.headers(), "content-range").unwrap_or_else(|| "(none)".into()),
        }
    }

    /// The error for an answer that is no success; it names the range asked for when an
    /// earlier response was fine (a presigned URL that expired between two requests), so
    /// that the first request's failure reads as it always did.
    pub(super) fn status_error(
        &self,
        response: Response<ureq::Body>,
        range: Option<&ByteRange>,
    ) -> Error {
        let range = range
            .filter(|_| self.first.get().is_some())
            .map(range_header);
        self.error_for(response, range)
    }

    /// [`status_error`](Client::status_error) for a multi-range request.
    pub(super) fn status_error_for(
        &self,
        response: Response<ureq::Body>,
        range_value: &str,
    ) -> Error {
        self.error_for(response, Some(range_value.to_owned()))
    }

    /// The error for `response`: for an object store, the S3 error its body holds.
    fn error_for(&self, response: Response<ureq::Body>, range: Option<String>) -> Error {
        let status = response.status();
        let reason = status.canonical_reason().unwrap_or("").to_owned();
        let Some(object) = &self.s3 else {
            return Error::Status {
                code: status.as_u16(),
                reason,
                range,
                url: self.url().to_owned(),
            };
        };
        let region_header = header(response.headers(), "x-amz-bucket-region");
        let mut body = Vec::new();
        let mut reader = response.into_body().into_reader().take(MAX_ERROR_BODY);
        let _ = reader.read_to_end(&mut body);
        let said = parse_error_body(&body).unwrap_or_default();
        let region = said
            .region
            .or(region_header)
            .filter(|region| region != object.store.region());
        Error::S3(Box::new(StoreError {
            url: self.url.clone(),
            status: status.as_u16(),
            code: if said.code.is_empty() {
                reason
            } else {
                said.code
            },
            message: said.message,
            region,
            range,
        }))
    }

    /// A 206 whose `Content-Length` is longer than its `Content-Range`'s span is refused
    /// before its body is read.
    pub(super) fn check_not_too_long(
        &self,
        response: &Response<ureq::Body>,
        asked: &ByteRange,
        span: &Range<u64>,
    ) -> Result<(), Error> {
        match content_length(response.headers()) {
            Some(len) if len > span.end - span.start => Err(Error::BodyTooLong {
                asked: range_header(asked),
            }),
            _ => Ok(()),
        }
    }

    /// Whether a 206 for `got` runs past `asked`, which it starts with: its bytes past it are
    /// dropped with its connection (said under `-v`).
    pub(super) fn runs_past(&self, asked: &Range<u64>, got: &Range<u64>) -> bool {
        let past = got.end > asked.end;
        if past {
            self.log(|| {
                format!(
                    "* the answer runs on past {}, to {}: the rest is dropped",
                    show_span(asked),
                    show_span(got)
                )
            });
        }
        past
    }

    /// The length the first response (or a later one) gave, if any.
    pub(super) fn known_len(&self) -> Option<u64> {
        let first = self.first.get().and_then(|first| first.len);
        first.or_else(|| self.learned.get().copied())
    }
}

/// Reads what is left of an answer that will be retried, up to a few KiB, so that its
/// connection can serve the retry; a longer or broken body just closes it.
pub(super) fn discard(response: Response<ureq::Body>) {
    let mut body = response.into_body().into_reader();
    let _ = io::copy(&mut (&mut body).take(16 * 1024), &mut io::sink());
}
