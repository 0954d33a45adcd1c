//! The HTTP source: range requests over one keep-alive ureq `Agent`, with every response
//! checked against the first (RFC 9110 §13.1.5 If-Range, §14.4 Content-Range, §15.3.7 206,
//! §15.5.17 416) and broken bodies resumed from the first missing byte.

use std::io::{self, Read};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ureq::http::{HeaderMap, Response, StatusCode};
use ureq::{Agent, BodyReader};

use super::multipart::{self, MultipartError, PartsReader};
use super::parallel::{SpanFetcher, one_by_one, reordered};
use super::retry;
use super::{Body, Error, Opened, Source};
use crate::Log;
use crate::http::content_range::{
    ContentRange, parse_content_range, range_header, served_span, show_span,
};
use crate::http::date::parse_http_date;
use crate::http::redact::redact_url;
use crate::http::tls::{CaBundle, certificate_problem, tls_config};
use crate::http::{
    content_length, header, is_downgrade, is_https, proxy_env, resolve_location, same_origin,
};
use crate::range::ByteRange;

/// How to talk to servers.
#[derive(Clone)]
pub struct HttpConfig {
    /// Extra request headers (`-H`), name and value.
    pub headers: Vec<(String, String)>,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Longest stall of a read or a write.
    pub timeout: Duration,
    /// Retries per request after a failure: a broken body resumed, a 429/502/503/504 or a
    /// connection that broke before the answer sent again ([`retry`](super::retry)).
    pub retries: u32,
    /// Size of the socket read buffer.
    pub buffer_size: usize,
    /// Where `-v` lines go, if anywhere.
    pub log: Option<Log>,
    /// Send credentials (`Authorization`, `Cookie`, `Proxy-Authorization`) to the origins that
    /// redirects lead to, too (`--location-trusted`).
    pub location_trusted: bool,
    /// Follow a redirect from https to plain http (`--allow-insecure-redirect`).
    pub allow_insecure_redirect: bool,
    /// CAs trusted besides the trust store (`--cacert`).
    pub cacert: Option<CaBundle>,
    /// Skip certificate verification (`-k/--insecure`).
    pub insecure: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            headers: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            retries: 1,
            buffer_size: 256 * 1024,
            log: None,
            location_trusted: false,
            allow_insecure_redirect: false,
            cacert: None,
            insecure: false,
        }
    }
}

/// A resource on an HTTP server.
pub struct HttpSource {
    client: Arc<Client>,
    ignores_ranges: bool,
    /// A cached copy to revalidate with the next `open` (`If-None-Match`).
    revalidate: Option<Cached>,
}

/// What is shared between the source and the readers it hands out.
struct Client {
    /// The agent for http URLs and the one for https, each made for its first request: the
    /// trust store (hundreds of files) is read only when an https URL is asked for.
    plain: OnceLock<Agent>,
    secure: OnceLock<Agent>,
    url: String,
    /// The URL after redirects, learned from the first response, so later requests skip them.
    final_url: OnceLock<String>,
    config: HttpConfig,
    /// The first response's validators and length; every later response must match.
    first: OnceLock<Identity>,
    /// The length, when the first response did not give it (`bytes a-b/*`) and a later
    /// one did; every later response must match it too.
    learned: OnceLock<u64>,
    /// A multi-range request was answered with something else than its parts: the server
    /// gets one request per range from then on.
    multipart_refused: AtomicBool,
    /// Most ranges one multi-range request asks for: [`multipart::MAX_PARTS`], or fewer where
    /// the server answered more with the whole resource or with fewer parts.
    part_limit: AtomicUsize,
    /// A cached copy is relied on: every request carries this precondition (`If-Match` or
    /// `If-Unmodified-Since`) instead of `If-Range`, and a 412 says the copy is stale.
    matching: OnceLock<(&'static str, String)>,
    /// The answers of the multi-range first requests ([`Source::open_many`]), for the
    /// `fetch_many` of the same spans.
    prefetched: Mutex<Vec<(Vec<Range<u64>>, Body)>>,
    /// Suffix ranges were refused ([`Source::learn`]).
    suffix_refused: AtomicBool,
    /// HEAD was refused, or gave no length: the probe is `GET bytes=0-0`.
    head_refused: AtomicBool,
    /// The answers of the first requests sent together ([`Source::open_spans`]), for the
    /// `fetch_span` of the same spans.
    opened: Mutex<Vec<(Range<u64>, Body)>>,
}

/// What a server taught about the requests it takes, so that the next run does not pay for
/// the lesson again (README, "Cache").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lessons {
    /// It does not answer multi-range requests with their parts.
    pub multipart_refused: bool,
    /// It answers at most this many ranges of a multi-range request.
    pub part_limit: Option<usize>,
    /// It refuses suffix ranges (`bytes=-N`).
    pub suffix_refused: bool,
    /// It refuses HEAD (or gives no length to it).
    pub head_refused: bool,
}

/// What a cache kept about a resource: its version, and the URL it was found at after
/// redirects (README, "Cache").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    /// The version.
    pub identity: Identity,
    /// The URL that answered.
    pub final_url: String,
}

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
    fn of(headers: &HeaderMap, len: Option<u64>) -> Identity {
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
    fn if_match(&self) -> Option<(&'static str, String)> {
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
    fn if_none_match(&self) -> Option<(&'static str, String)> {
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
    fn difference(&self, later: &Identity) -> Option<String> {
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

impl HttpSource {
    /// A source for `url`; nothing is sent until the first read.
    pub fn new(url: &str, config: &HttpConfig) -> Result<HttpSource, Error> {
        url.parse::<ureq::http::Uri>()
            .map_err(|e| Error::InvalidUrl {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        // The proxy variables are checked now, before any request (a usage error).
        proxy_from_env(url)?;
        Ok(HttpSource {
            client: Arc::new(Client {
                plain: OnceLock::new(),
                secure: OnceLock::new(),
                url: url.to_owned(),
                final_url: OnceLock::new(),
                config: config.clone(),
                first: OnceLock::new(),
                learned: OnceLock::new(),
                multipart_refused: AtomicBool::new(false),
                part_limit: AtomicUsize::new(multipart::MAX_PARTS),
                matching: OnceLock::new(),
                prefetched: Mutex::new(Vec::new()),
                opened: Mutex::new(Vec::new()),
                suffix_refused: AtomicBool::new(false),
                head_refused: AtomicBool::new(false),
            }),
            ignores_ranges: false,
            revalidate: None,
        })
    }

    /// The first response's validators and length, once there was one.
    pub fn identity(&self) -> Option<&Identity> {
        self.client.first.get()
    }

    /// The URL after redirects (the given URL before the first response).
    pub fn final_url(&self) -> &str {
        self.client.url()
    }

    /// Sends `GET` with `Range: bytes=0-0` and returns the raw response, for `info`.
    pub(crate) fn get_first_byte(&mut self) -> Result<Response<ureq::Body>, Error> {
        let mut budget = self.client.config.retries;
        let response = self
            .client
            .send("GET", Some(&ByteRange::Span(0..1)), &mut budget)?;
        Ok(response)
    }

    /// Sends `HEAD` and returns the raw response, for `info`.
    pub(crate) fn head(&mut self) -> Result<Response<ureq::Body>, Error> {
        let mut budget = self.client.config.retries;
        let response = self.client.send("HEAD", None, &mut budget)?;
        Ok(response)
    }

    /// The error for a response whose status is not a success for the request.
    pub(crate) fn status_error(&self, response: &Response<ureq::Body>) -> Error {
        self.client.status_error(response, None)
    }
}

impl Source for HttpSource {
    fn len(&self) -> Option<u64> {
        self.client.known_len()
    }

    fn serves_ranges(&self) -> bool {
        !self.ignores_ranges
    }

    fn open(&mut self, range: &ByteRange) -> Result<Opened, Error> {
        let client = &self.client;
        let mut budget = client.config.retries;
        let revalidate = self.revalidate.take();
        let condition = revalidate.as_ref().and_then(|c| c.identity.if_none_match());
        let condition = condition
            .as_ref()
            .map(|(name, value)| (*name, value.as_str()));
        let response = match condition {
            Some(_) => {
                client.send_conditional("GET", Some(range_header(range)), condition, &mut budget)?
            }
            None => client.send("GET", Some(range), &mut budget)?,
        };
        match response.status() {
            // The cached copy is current: the answer is its version.
            StatusCode::NOT_MODIFIED if revalidate.is_some() => {
                let cached = revalidate.expect("checked above");
                let _ = client.first.set(cached.identity);
                Err(Error::NotModified)
            }
            StatusCode::PRECONDITION_FAILED => Err(stale()),
            StatusCode::PARTIAL_CONTENT => {
                let content_range = client.content_range(&response, range)?;
                let Some(got) = content_range.span else {
                    return Err(client.bad_content_range(range, &response));
                };
                client.check(&response, content_range.len)?;
                // What the request selects: with the length known it is fully determined;
                // without it (`bytes a-b/*`), an open-ended request runs to wherever the
                // resource ends (`u64::MAX` until then).
                let asked = match (content_range.len, range) {
                    (Some(len), _) => served_span(range, len),
                    (None, ByteRange::Span(asked)) => Some(asked.clone()),
                    (None, ByteRange::From(start)) => Some(*start..u64::MAX),
                    (None, ByteRange::Suffix(_)) => Some(got.clone()),
                };
                // It must start where asked; it may end early (CDNs and media servers cap
                // large ranges: the reader asks for the rest) or run past what was asked
                // (busybox httpd answers `bytes=0-0` with the whole file: the asked bytes
                // are taken and the connection dropped).
                let Some(span) = asked.filter(|a| a.start == got.start) else {
                    return Err(client.bad_content_range(range, &response));
                };
                client.check_not_too_long(&response, range, &got)?;
                let runs_past = client.runs_past(&span, &got);
                let body = response.into_body().into_reader();
                let mut reader =
                    SpanReader::new(client.clone(), span.clone(), body, !runs_past, budget);
                reader.body_end = got.end.min(span.end);
                reader.open_ended = matches!(range, ByteRange::From(_));
                Ok(Opened::Partial {
                    body: Box::new(reader),
                    span,
                })
            }
            StatusCode::OK => {
                let len = content_length(response.headers());
                client.check(&response, len)?;
                self.ignores_ranges = true;
                let body = response.into_body().into_reader();
                let body: Body = match len {
                    Some(len) => {
                        Box::new(SpanReader::new(client.clone(), 0..len, body, true, budget))
                    }
                    None => Box::new(body),
                };
                Ok(Opened::Whole { body })
            }
            StatusCode::RANGE_NOT_SATISFIABLE => {
                match header(response.headers(), "content-range")
                    .and_then(|v| parse_content_range(&v))
                {
                    Some(ContentRange { len: Some(len), .. }) => {
                        client.check(&response, Some(len))?
                    }
                    // A resource that tells no length anywhere still has nothing there.
                    _ => match self.probe() {
                        Ok(_) | Err(Error::UnknownLength) => {}
                        Err(err) => return Err(err),
                    },
                }
                Ok(Opened::Unsatisfiable)
            }
            _ => Err(client.status_error(&response, Some(range))),
        }
    }

    fn probe(&mut self) -> Result<u64, Error> {
        let client = &self.client;
        let mut budget = client.config.retries;
        if !client.head_refused.load(Ordering::SeqCst) {
            let head = client.send("HEAD", None, &mut budget)?;
            if head.status().is_success()
                && let Some(len) = content_length(head.headers())
            {
                client.check(&head, Some(len))?;
                return Ok(len);
            }
            client.head_refused.store(true, Ordering::SeqCst);
        }
        // HEAD refused (presigned S3 URLs answer 403) or without a length: ask for one byte.
        let response = client.send("GET", Some(&ByteRange::Span(0..1)), &mut budget)?;
        let len = match response.status() {
            StatusCode::PARTIAL_CONTENT | StatusCode::RANGE_NOT_SATISFIABLE => client
                .content_range(&response, &ByteRange::Span(0..1))?
                .len
                .ok_or(Error::UnknownLength)?,
            StatusCode::OK => {
                self.ignores_ranges = true;
                content_length(response.headers()).ok_or(Error::UnknownLength)?
            }
            _ => return Err(client.status_error(&response, Some(&ByteRange::Span(0..1)))),
        };
        client.check(&response, Some(len))?;
        Ok(len)
    }

    fn read_span(&mut self, span: Range<u64>) -> Result<Body, Error> {
        Client::fetch_span(&self.client, span)
    }

    fn fetcher(&self) -> Option<Arc<dyn SpanFetcher>> {
        (!self.ignores_ranges).then(|| Arc::new(Fetcher(self.client.clone())) as _)
    }

    fn cached(&self) -> Option<Cached> {
        let identity = self.client.first.get()?.clone();
        let cached = Cached {
            identity,
            final_url: self.client.url().to_owned(),
        };
        cached.identity.is_cacheable().then_some(cached)
    }

    fn revalidate(&mut self, cached: Cached) {
        let _ = self.client.final_url.set(cached.final_url.clone());
        self.revalidate = Some(cached);
    }

    fn assume(&mut self, cached: Cached) {
        let _ = self.client.final_url.set(cached.final_url);
        if let Some(condition) = cached.identity.if_match() {
            let _ = self.client.matching.set(condition);
        }
        let _ = self.client.first.set(cached.identity);
    }

    fn resume(&mut self, identity: Identity) {
        let _ = self.client.first.set(identity);
    }

    fn version(&self) -> Option<Identity> {
        self.client.first.get().cloned()
    }

    fn open_spans(&mut self, spans: &[Range<u64>]) -> Result<bool, Error> {
        self.open_together(spans)
    }

    fn lessons(&self) -> Lessons {
        let client = &self.client;
        let limit = client.part_limit.load(Ordering::SeqCst);
        Lessons {
            multipart_refused: client.multipart_refused.load(Ordering::SeqCst),
            part_limit: (limit < multipart::MAX_PARTS).then_some(limit),
            suffix_refused: client.suffix_refused.load(Ordering::SeqCst),
            head_refused: client.head_refused.load(Ordering::SeqCst),
        }
    }

    fn learn(&mut self, lessons: Lessons) {
        let client = &self.client;
        if lessons.multipart_refused {
            client.multipart_refused.store(true, Ordering::SeqCst);
        }
        if let Some(limit) = lessons.part_limit {
            client.part_limit.fetch_min(limit.max(1), Ordering::SeqCst);
        }
        if lessons.suffix_refused {
            client.suffix_refused.store(true, Ordering::SeqCst);
            // A 200 to a suffix range refuses that form, not Range: the next range says.
            self.ignores_ranges = false;
        }
        if lessons.head_refused {
            client.head_refused.store(true, Ordering::SeqCst);
        }
    }

    fn open_many(&mut self, batches: &[Vec<Range<u64>>]) -> Result<bool, Error> {
        let client = &self.client;
        let refused = client.multipart_refused.load(Ordering::SeqCst);
        let unbatched = batches.is_empty() || batches.iter().any(|batch| batch.len() < 2);
        if unbatched || client.first.get().is_some() || self.revalidate.is_some() || refused {
            return Ok(false);
        }
        // Each batch on a thread of its own (`-j N`: they leave together), judged here.
        let answers: Vec<Result<Option<Body>, Error>> = match batches {
            [batch] => vec![Client::open_batch(client, batch)],
            _ => std::thread::scope(|scope| {
                let sent: Vec<_> = batches
                    .iter()
                    .map(|batch| scope.spawn(move || Client::open_batch(client, batch)))
                    .collect();
                sent.into_iter()
                    .map(|thread| {
                        thread
                            .join()
                            .unwrap_or_else(|p| std::panic::resume_unwind(p))
                    })
                    .collect()
            }),
        };
        let mut bodies = Vec::new();
        for (batch, answer) in batches.iter().zip(answers) {
            if let Some(body) = answer? {
                bodies.push((batch.clone(), body));
            }
        }
        if bodies.len() < batches.len() {
            return Ok(false);
        }
        *client.prefetched.lock().unwrap_or_else(|e| e.into_inner()) = bodies;
        Ok(true)
    }
}

impl Client {
    /// One multi-range request for `wanted` as a first request ([`Source::open_many`]): a
    /// reader of their bytes in the order wanted when the answer brings exactly those spans,
    /// all inside the resource; `None` for any other answer, dropped having taught what its
    /// head could.
    fn open_batch(client: &Arc<Client>, wanted: &[Range<u64>]) -> Result<Option<Body>, Error> {
        // Asked for in ascending order (RFC 9110 §14.2), yielded in the order wanted; no more
        // at once than the server was seen to answer (the rest follow as the reader needs).
        let all = ascending(wanted);
        let limit = client.part_limit.load(Ordering::SeqCst).max(1);
        let spans = &all[..all.len().min(limit)];
        let value = multi_range_header(spans);
        let mut budget = client.config.retries;
        let response = client.send_range("GET", Some(value.clone()), &mut budget)?;
        // Every span lies inside the resource: the parts are then exactly what the plan
        // asks for (a span past the end would come back cut short, or not at all).
        let inside =
            |len: Option<u64>| len.is_some_and(|len| all.last().is_some_and(|s| s.end <= len));
        let parts = match response.status() {
            StatusCode::PARTIAL_CONTENT => {
                let content_type = header(response.headers(), "content-type").unwrap_or_default();
                if let Some(boundary) = multipart::boundary(&content_type) {
                    // The length is in the parts' heads: the first one is read for it.
                    let (head, body) = response.into_parts();
                    let mut parts =
                        PartsReader::new(body.into_reader(), &boundary, spans.to_vec(), None);
                    let len = parts.first_len().ok().flatten();
                    client.check_headers(&head.headers, len)?;
                    Some(parts).filter(|_| inside(len))
                } else {
                    let content_range = header(response.headers(), "content-range")
                        .and_then(|value| parse_content_range(&value));
                    let len = content_range.as_ref().and_then(|cr| cr.len);
                    client.check(&response, len)?;
                    let part = content_range.and_then(|cr| cr.span);
                    let body = response.into_body().into_reader();
                    let single = part
                        .filter(|_| inside(len))
                        .and_then(|part| PartsReader::single(body, part, spans.to_vec(), len));
                    if single.is_none() && inside(len) {
                        client.refuse_multipart("answered with one other range");
                    }
                    single
                }
            }
            StatusCode::OK => {
                client.check(&response, content_length(response.headers()))?;
                client.whole_resource_for(spans.len());
                None
            }
            StatusCode::RANGE_NOT_SATISFIABLE => {
                let len = header(response.headers(), "content-range")
                    .and_then(|value| parse_content_range(&value))
                    .and_then(|cr| cr.len);
                // Every range inside the resource: the form is what was refused (Werkzeug),
                // by an answer that carries none of the resource's validators, so the next
                // request is the first response; else a range lies past the end, and the
                // plan made with the length says.
                if inside(len) {
                    client.refuse_multipart(&refused_with(response.status()));
                } else {
                    client.check(&response, len)?;
                }
                None
            }
            StatusCode::PRECONDITION_FAILED => return Err(stale()),
            status if refuses_the_form(status) => {
                client.refuse_multipart(&refused_with(status));
                None
            }
            _ => return Err(client.status_error_for(&response, &value)),
        };
        let Some(parts) = parts else {
            return Ok(None);
        };
        let mut body: Body = Box::new(Multipart::new(client, parts, show_ranges(spans)));
        if spans.len() < all.len() {
            body = Box::new(Batched {
                client: client.clone(),
                next: spans.len(),
                spans: all.clone(),
                current: Some(body),
            });
        }
        if all != wanted {
            body = reordered(body, wanted.to_vec(), multipart::MAX_HELD);
        }
        Ok(Some(body))
    }
}

impl HttpSource {
    /// [`Source::open_spans`]: each span's request sent on a thread of its own, the answers
    /// judged here once all have come.
    fn open_together(&mut self, spans: &[Range<u64>]) -> Result<bool, Error> {
        let client = &self.client;
        if spans.len() < 2 || client.first.get().is_some() || self.revalidate.is_some() {
            return Ok(false);
        }
        let retries = client.config.retries;
        let answers: Vec<Result<(Response<ureq::Body>, u32), Error>> =
            std::thread::scope(|scope| {
                let sent: Vec<_> = spans
                    .iter()
                    .map(|span| {
                        scope.spawn(move || {
                            let mut budget = retries;
                            let asked = ByteRange::Span(span.clone());
                            let response = client.send("GET", Some(&asked), &mut budget)?;
                            Ok((response, budget))
                        })
                    })
                    .collect();
                sent.into_iter()
                    .map(|thread| {
                        thread
                            .join()
                            .unwrap_or_else(|p| std::panic::resume_unwind(p))
                    })
                    .collect()
            });
        let mut bodies = Vec::new();
        for (span, answer) in spans.iter().zip(answers) {
            let (response, budget) = answer?;
            match response.status() {
                StatusCode::OK => {
                    // Range ignored: every read is a forward pass from byte 0.
                    client.check(&response, content_length(response.headers()))?;
                    self.ignores_ranges = true;
                    continue;
                }
                // Past the end: the length, where it says one, is taught all the same.
                StatusCode::RANGE_NOT_SATISFIABLE => {
                    let len = header(response.headers(), "content-range")
                        .and_then(|value| parse_content_range(&value))
                        .and_then(|cr| cr.len);
                    if len.is_some() {
                        client.check(&response, len)?;
                    }
                    continue;
                }
                _ => {}
            }
            match client.connected(response, span.start, Some(span.end))? {
                Connected::Body {
                    body,
                    exact,
                    end,
                    len,
                } => {
                    let mut reader =
                        SpanReader::new(client.clone(), span.clone(), body, exact, budget);
                    reader.body_end = end;
                    reader.learn(len);
                    bodies.push((span.clone(), Box::new(reader) as Body));
                }
                Connected::Ended => {}
            }
        }
        let inside = client
            .known_len()
            .is_some_and(|len| spans.iter().all(|span| span.end <= len));
        if !inside || self.ignores_ranges || bodies.len() < spans.len() {
            // A span past the end (or no span served): the plan made with the length asks.
            return Ok(false);
        }
        *client.opened.lock().unwrap_or_else(|e| e.into_inner()) = bodies;
        Ok(true)
    }
}

/// A 412 to `If-Match`: the copy a cache kept is not the resource's version any more.
fn stale() -> Error {
    Error::Stale
}

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
        .timeout_connect(Some(config.connect_timeout))
        .timeout_recv_response(Some(config.timeout))
        .timeout_per_read(Some(config.timeout))
        .timeout_per_write(Some(config.timeout))
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
        builder = builder.tls_config(tls_config(config.cacert.as_ref(), config.insecure)?);
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
fn proxy_from_env(url: &str) -> Result<Option<ureq::Proxy>, Error> {
    proxy_env::from_env(url).map_err(|invalid| Error::InvalidProxy {
        variable: invalid.variable,
        value: invalid.value,
        reason: invalid.reason,
    })
}

/// The client, shared with `-j` threads.
struct Fetcher(Arc<Client>);

impl SpanFetcher for Fetcher {
    fn fetch(&self, span: Range<u64>) -> Result<Body, Error> {
        Client::fetch_span(&self.0, span)
    }

    fn fetch_many(&self, spans: &[Range<u64>]) -> Result<Option<Body>, Error> {
        Client::fetch_many(&self.0, spans)
    }
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

    fn url(&self) -> &str {
        self.final_url.get().unwrap_or(&self.url)
    }

    fn log(&self, line: impl FnOnce() -> String) {
        if let Some(log) = &self.config.log {
            log(&line());
        }
    }

    /// Sends one request, following redirects (at most [`MAX_REDIRECTS`]); `If-Range` once the
    /// first response is known. The first answer that is not a redirect fixes the final URL.
    fn send(
        &self,
        method: &str,
        range: Option<&ByteRange>,
        budget: &mut u32,
    ) -> Result<Response<ureq::Body>, Error> {
        self.send_range(method, range.map(range_header), budget)
    }

    /// [`send`](Client::send) with the `Range` header's value as it goes on the wire.
    fn send_range(
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
    fn send_conditional(
        &self,
        method: &str,
        range_value: Option<String>,
        condition: Option<(&str, &str)>,
        budget: &mut u32,
    ) -> Result<Response<ureq::Body>, Error> {
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
        let trusted = self.config.location_trusted || same_origin(&self.url, url);
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
            let total = self.config.retries;
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
    fn check(&self, response: &Response<ureq::Body>, len: Option<u64>) -> Result<(), Error> {
        self.check_headers(response.headers(), len)
    }

    /// [`check`](Client::check) of a response's headers.
    fn check_headers(&self, headers: &HeaderMap, len: Option<u64>) -> Result<(), Error> {
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

    fn content_range(
        &self,
        response: &Response<ureq::Body>,
        asked: &ByteRange,
    ) -> Result<ContentRange, Error> {
        header(response.headers(), "content-range")
            .and_then(|value| parse_content_range(&value))
            .ok_or_else(|| self.bad_content_range(asked, response))
    }

    fn bad_content_range(&self, asked: &ByteRange, response: &Response<ureq::Body>) -> Error {
        Error::BadContentRange {
            asked: range_header(asked),
            got: header(response.headers(), "content-range").unwrap_or_else(|| "(none)".into()),
        }
    }

    /// The error for an answer that is no success; it names the range asked for when an
    /// earlier response was fine (a presigned URL that expired between two requests), so
    /// that the first request's failure reads as it always did.
    fn status_error(&self, response: &Response<ureq::Body>, range: Option<&ByteRange>) -> Error {
        let status = response.status();
        Error::Status {
            code: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_owned(),
            range: range
                .filter(|_| self.first.get().is_some())
                .map(range_header),
            url: self.url().to_owned(),
        }
    }

    /// [`status_error`](Client::status_error) for a multi-range request.
    fn status_error_for(&self, response: &Response<ureq::Body>, range_value: &str) -> Error {
        let status = response.status();
        Error::Status {
            code: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_owned(),
            range: Some(range_value.to_owned()),
            url: self.url().to_owned(),
        }
    }

    /// A resumable reader of exactly `span`; an empty span costs no request (and is never
    /// sent: `bytes=5-4` is not a range). A span that ends at `u64::MAX` runs to the end of a
    /// resource whose length is unknown, asked for as `bytes=N-`.
    fn fetch_span(client: &Arc<Client>, span: Range<u64>) -> Result<Body, Error> {
        if span.is_empty() {
            return Ok(Box::new(io::empty()));
        }
        {
            let mut opened = client.opened.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(at) = opened.iter().position(|(asked, _)| *asked == span) {
                return Ok(opened.swap_remove(at).1);
            }
        }
        let mut budget = client.config.retries;
        let open_ended = span.end == u64::MAX;
        let to = (!open_ended).then_some(span.end);
        let Connected::Body {
            body,
            exact,
            end,
            len,
        } = client.connect(span.start, to, &mut budget)?
        else {
            return Ok(Box::new(io::empty()));
        };
        let mut reader = SpanReader::new(client.clone(), span, body, exact, budget);
        reader.body_end = end;
        reader.open_ended = open_ended;
        reader.learn(len);
        Ok(Box::new(reader))
    }

    /// Multi-range requests for `spans` (disjoint, in any order; `--multipart`), asked for in
    /// ascending order, as a reader of their bytes in the order given: at most the part limit a request, the next one sent when the
    /// reader gets to it. `None` when the server does not send parts (a 200 with the whole
    /// resource, as S3 sends, a single part that is not what was asked, a refusal): its
    /// answer is recognised from its head and dropped unread with its connection, and this
    /// server gets one request per range from then on.
    fn fetch_many(client: &Arc<Client>, spans: &[Range<u64>]) -> Result<Option<Body>, Error> {
        // A first request's answer, when it was for these spans.
        {
            let mut prefetched = client.prefetched.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(at) = prefetched.iter().position(|(asked, _)| asked == spans) {
                return Ok(Some(prefetched.swap_remove(at).1));
            }
        }
        if let [span] = spans {
            return Client::fetch_span(client, span.clone()).map(Some);
        }
        if spans.is_empty() {
            return Ok(None);
        }
        let sorted = ascending(spans);
        if sorted != spans {
            let body = Client::fetch_many(client, &sorted)?;
            return Ok(body.map(|body| reordered(body, spans.to_vec(), multipart::MAX_HELD)));
        }
        Ok(match Client::request_parts(client, spans)? {
            Answer::Parts(body, asked) if asked == spans.len() => Some(body),
            Answer::Parts(body, asked) => Some(Box::new(Batched {
                client: client.clone(),
                spans: spans.to_vec(),
                next: asked,
                current: Some(body),
            })),
            Answer::Refused => None,
        })
    }

    /// Sends one multi-range request for the first spans of `spans` (at most the part limit),
    /// and again for fewer after a whole-resource answer to many (README, "What goes on the
    /// wire": Apache's `MaxRanges`). A single span gets a request of its own.
    fn request_parts(client: &Arc<Client>, spans: &[Range<u64>]) -> Result<Answer, Error> {
        // Bounded: each turn returns, or lowers the limit (to 100, then `FEWER_PARTS`), which
        // a turn with `FEWER_PARTS` spans or fewer never does.
        loop {
            if client.multipart_refused.load(Ordering::SeqCst) {
                return Ok(Answer::Refused);
            }
            let limit = client.part_limit.load(Ordering::SeqCst).max(1);
            let batch = &spans[..spans.len().min(limit)];
            if let [span] = batch {
                return Ok(Answer::Parts(Client::fetch_span(client, span.clone())?, 1));
            }
            let value = multi_range_header(batch);
            let mut budget = client.config.retries;
            let response = client.send_range("GET", Some(value.clone()), &mut budget)?;
            let len = client.known_len();
            let shown = show_ranges(batch);
            let parts =
                |body| Answer::Parts(Box::new(Multipart::new(client, body, shown)), batch.len());
            match response.status() {
                StatusCode::PARTIAL_CONTENT => {
                    let content_type =
                        header(response.headers(), "content-type").unwrap_or_default();
                    if let Some(boundary) = multipart::boundary(&content_type) {
                        client.check(&response, len)?;
                        let body = response.into_body().into_reader();
                        let reader = PartsReader::new(body, &boundary, batch.to_vec(), len);
                        return Ok(parts(reader));
                    }
                    // One part: fine if it covers the spans as a server may coalesce them.
                    let part = header(response.headers(), "content-range")
                        .and_then(|value| parse_content_range(&value))
                        .filter(|cr| cr.len.is_none() || cr.len == len)
                        .and_then(|cr| cr.span);
                    client.check(&response, len)?;
                    let body = response.into_body().into_reader();
                    let single =
                        part.and_then(|part| PartsReader::single(body, part, batch.to_vec(), len));
                    return Ok(match single {
                        Some(reader) => parts(reader),
                        None => {
                            client.refuse_multipart("answered with one other range");
                            Answer::Refused
                        }
                    });
                }
                StatusCode::OK => {
                    client.check(&response, content_length(response.headers()))?;
                    client.whole_resource_for(batch.len());
                }
                StatusCode::PRECONDITION_FAILED => return Err(stale()),
                status if refuses_the_form(status) => {
                    // A 416 must not say another length (every span is inside this one).
                    if status == StatusCode::RANGE_NOT_SATISFIABLE {
                        let len = header(response.headers(), "content-range")
                            .and_then(|value| parse_content_range(&value))
                            .and_then(|cr| cr.len);
                        client.check(&response, len)?;
                    }
                    client.refuse_multipart(&refused_with(status));
                    return Ok(Answer::Refused);
                }
                _ => return Err(client.status_error_for(&response, &value)),
            }
        }
    }

    /// A multi-range request for `asked` ranges was answered with the whole resource: with
    /// many ranges, the server may only refuse that many (Apache's `MaxRanges` of 200,
    /// Starlette's 100), and they are asked for 100 at a time, then
    /// [`multipart::FEWER_PARTS`]; with that many or fewer, it does not send parts (S3,
    /// busybox httpd).
    fn whole_resource_for(&self, asked: usize) {
        if asked <= multipart::FEWER_PARTS {
            self.refuse_multipart("answered with the whole resource");
            return;
        }
        let fewer = if asked > STARLETTE_PARTS {
            STARLETTE_PARTS
        } else {
            multipart::FEWER_PARTS
        };
        self.log(|| {
            format!(
                "* the multi-range request for {asked} ranges was answered with the whole \
                 resource: at most {fewer} ranges a request from now on"
            )
        });
        self.part_limit.fetch_min(fewer, Ordering::SeqCst);
    }

    /// A multi-range answer held the parts of only the first `given` ranges of `asked`
    /// (lighttpd sends at most ten): the rest are asked for again, and from now on at most
    /// `given` ranges a request.
    fn fewer_parts_given(&self, given: usize, asked: usize) {
        self.log(|| {
            format!(
                "* the multi-range answer held {given} of {asked} parts: at most {given} \
                 ranges a request from now on"
            )
        });
        self.part_limit.fetch_min(given.max(1), Ordering::SeqCst);
    }

    /// A multi-range request was answered with something else than its parts: this server
    /// gets one request per range from then on (said under `-v`).
    fn refuse_multipart(&self, what: &str) {
        self.log(|| {
            format!("* the multi-range request was {what}: one request per range from now on")
        });
        self.multipart_refused.store(true, Ordering::SeqCst);
    }

    /// A 206 whose `Content-Length` is longer than its `Content-Range`'s span is refused
    /// before its body is read.
    fn check_not_too_long(
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

    /// Requests the bytes from `from` up to `to` (`None`: to the end, `bytes=N-`) and returns
    /// a body positioned at `from`. A 206 must start at `from` and lie inside what was asked;
    /// it may end early (a capped answer), and says where. Retries come out of `budget`.
    fn connect(&self, from: u64, to: Option<u64>, budget: &mut u32) -> Result<Connected, Error> {
        let response = self.send("GET", Some(&asked_range(from, to)), budget)?;
        self.connected(response, from, to)
    }

    /// [`connect`](Client::connect)'s judgement of the answer to its request.
    fn connected(
        &self,
        response: Response<ureq::Body>,
        from: u64,
        to: Option<u64>,
    ) -> Result<Connected, Error> {
        let asked = asked_range(from, to);
        match response.status() {
            StatusCode::PARTIAL_CONTENT => {
                let content_range = self.content_range(&response, &asked)?;
                self.check(&response, content_range.len)?;
                // It must start where asked; it may end early or run past (as above).
                let Some(got) = content_range.span.filter(|got| got.start == from) else {
                    return Err(self.bad_content_range(&asked, &response));
                };
                self.check_not_too_long(&response, &asked, &got)?;
                let end = to.map_or(got.end, |to| got.end.min(to));
                let runs_past = self.runs_past(&(from..end), &got);
                Ok(Connected::Body {
                    body: response.into_body().into_reader(),
                    exact: !runs_past,
                    end,
                    len: content_range.len,
                })
            }
            StatusCode::OK => {
                // With the same validators, a 200 to If-Range means Range was ignored.
                let len = content_length(response.headers());
                self.check(&response, len)?;
                let mut body = response.into_body().into_reader();
                let skipped = io::copy(&mut (&mut body).take(from), &mut io::sink())?;
                if skipped < from {
                    return Err(Error::ClosedWhileSkipping { to: from });
                }
                Ok(Connected::Body {
                    body,
                    exact: false,
                    end: u64::MAX,
                    len,
                })
            }
            // Without a known length, a 416 is how the server says the resource ends here
            // (RFC 9110 §15.5.17); with one, the range was inside it before.
            StatusCode::RANGE_NOT_SATISFIABLE if self.known_len().is_none() => {
                discard(response);
                Ok(Connected::Ended)
            }
            StatusCode::PRECONDITION_FAILED => Err(stale()),
            StatusCode::RANGE_NOT_SATISFIABLE => Err(Error::ResourceChanged {
                what: format!(
                    "{} is no longer satisfiable",
                    show_span(&(from..to.unwrap_or(u64::MAX)))
                ),
            }),
            _ => Err(self.status_error(&response, Some(&asked))),
        }
    }

    /// Whether a 206 for `got` runs past `asked`, which it starts with: its bytes past it are
    /// dropped with its connection (said under `-v`).
    fn runs_past(&self, asked: &Range<u64>, got: &Range<u64>) -> bool {
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
    fn known_len(&self) -> Option<u64> {
        let first = self.first.get().and_then(|first| first.len);
        first.or_else(|| self.learned.get().copied())
    }
}

/// What a request for the rest of a span brought back.
enum Connected {
    /// A body positioned at the start asked for.
    Body {
        /// The bytes.
        body: BodyReader<'static>,
        /// A 206's: it must end exactly at `end` (not one that runs past what was asked).
        exact: bool,
        /// Where its bytes end (`u64::MAX` for a 200's, which goes on to the end).
        end: u64,
        /// The complete length, when the answer gave it.
        len: Option<u64>,
    },
    /// A 416 to a resource of unknown length: it ends where the request started.
    Ended,
}

/// The request for the bytes from `from` up to `to` (`None`: to the end).
fn asked_range(from: u64, to: Option<u64>) -> ByteRange {
    match to {
        Some(end) => ByteRange::Span(from..end),
        None => ByteRange::From(from),
    }
}

/// `spans` in ascending order.
fn ascending(spans: &[Range<u64>]) -> Vec<Range<u64>> {
    let mut sorted = spans.to_vec();
    sorted.sort_by_key(|span| span.start);
    sorted
}

/// `bytes=0-99,200-299`: the value of a multi-range request's `Range` header.
fn multi_range_header(spans: &[Range<u64>]) -> String {
    let items: Vec<String> = spans
        .iter()
        .map(|span| format!("{}-{}", span.start, span.end - 1))
        .collect();
    format!("bytes={}", items.join(","))
}

/// A multi-range request as messages name it: its first ranges and how many there were.
fn show_ranges(spans: &[Range<u64>]) -> String {
    match spans {
        [a, b] => multi_range_header(&[a.clone(), b.clone()]),
        [a, b, ..] => format!(
            "{},... ({} ranges)",
            multi_range_header(&[a.clone(), b.clone()]),
            spans.len()
        ),
        _ => multi_range_header(spans),
    }
}

/// Starlette's most ranges in one request (`FileResponse.max_ranges`): the first step down
/// after a whole-resource answer to more.
const STARLETTE_PARTS: usize = 100;

/// Whether `status`, answering a multi-range request whose ranges a single-range request
/// could ask for, refuses the multi-range form (README, "What goes on the wire"): any error
/// but those that would meet a single range too (credentials, a missing resource, a limit
/// on requests, a changed resource).
fn refuses_the_form(status: StatusCode) -> bool {
    (status.is_client_error() || status.is_server_error())
        && !matches!(status.as_u16(), 401 | 403 | 404 | 407 | 410 | 412 | 429)
}

/// How `-v` names a refusal: `refused with 416 Range Not Satisfiable`.
fn refused_with(status: StatusCode) -> String {
    let reason = status.canonical_reason().unwrap_or("");
    format!("refused with {} {reason}", status.as_u16())
}

/// What a multi-range request for the first spans of a batch brought.
enum Answer {
    /// A reader of the first `.1` spans' bytes.
    Parts(Body, usize),
    /// The server does not send parts: one request per range from now on.
    Refused,
}

/// Every span's bytes in order, from multi-range requests of at most the part limit each,
/// each sent when the reader gets to its spans; one request per span once the server
/// refuses the form.
struct Batched {
    client: Arc<Client>,
    spans: Vec<Range<u64>>,
    /// The first span no request has asked for yet.
    next: usize,
    /// The answer being read.
    current: Option<Body>,
}

impl Read for Batched {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Bounded: each turn yields bytes, or asks for at least one more span.
        loop {
            if let Some(body) = &mut self.current {
                let n = body.read(buf)?;
                if n > 0 {
                    return Ok(n);
                }
                self.current = None;
            }
            let Some(rest) = self.spans.get(self.next..).filter(|rest| !rest.is_empty()) else {
                return Ok(0);
            };
            match Client::request_parts(&self.client, rest).map_err(io::Error::from)? {
                Answer::Parts(body, asked) => {
                    self.current = Some(body);
                    self.next += asked;
                }
                Answer::Refused => {
                    let fetcher: Arc<dyn SpanFetcher> = Arc::new(Fetcher(self.client.clone()));
                    self.current = Some(one_by_one(fetcher, rest.to_vec()));
                    self.next = self.spans.len();
                }
            }
        }
    }
}

/// The parts of a multipart answer. A malformed one fails the read with
/// [`Error::BadMultipart`]; when the connection breaks (while retries last) or a part covers
/// far more than was asked, the spans not yet read are asked for one by one.
struct Multipart {
    client: Arc<Client>,
    parts: PartsReader<BodyReader<'static>>,
    shown: String,
    /// The requests for what is left, once the parts gave up.
    rest: Option<Body>,
    budget: u32,
}

impl Multipart {
    fn new(
        client: &Arc<Client>,
        parts: PartsReader<BodyReader<'static>>,
        shown: String,
    ) -> Multipart {
        Multipart {
            client: client.clone(),
            parts,
            shown,
            rest: None,
            budget: client.config.retries,
        }
    }

    /// What to do about a failed read: go on one range at a time, or fail.
    fn recover(&mut self, err: io::Error) -> io::Result<()> {
        let bad_part = err
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<MultipartError>())
            .cloned();
        let broken = bad_part.is_none() && !err.get_ref().is_some_and(|e| e.is::<Error>());
        let generous = PartsReader::<BodyReader<'static>>::is_too_generous(&err);
        let given = self.parts.delivered();
        if PartsReader::<BodyReader<'static>>::is_incomplete(&err) && given > 0 {
            let remaining = self.parts.remaining();
            self.client
                .fewer_parts_given(given, given + remaining.len());
            self.rest = Some(Box::new(Batched {
                client: self.client.clone(),
                spans: remaining,
                next: 0,
                current: None,
            }));
            return Ok(());
        }
        if generous || (broken && self.budget > 0) {
            if broken {
                self.budget -= 1;
            }
            let shown = &self.shown;
            self.client
                .log(|| format!("* {err}: the rest of {shown} one range at a time"));
            let fetcher: Arc<dyn SpanFetcher> = Arc::new(Fetcher(self.client.clone()));
            self.rest = Some(one_by_one(fetcher, self.parts.remaining()));
            return Ok(());
        }
        Err(match bad_part {
            Some(MultipartError(what)) => io::Error::from(Error::BadMultipart {
                asked: self.shown.clone(),
                what,
            }),
            None => err,
        })
    }
}

impl Read for Multipart {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(rest) = &mut self.rest {
                return rest.read(buf);
            }
            match self.parts.read(buf) {
                Ok(n) => return Ok(n),
                Err(err) => self.recover(err)?,
            }
        }
    }
}

/// Reads what is left of an answer that will be retried, up to a few KiB, so that its
/// connection can serve the retry; a longer or broken body just closes it.
fn discard(response: Response<ureq::Body>) {
    let mut body = response.into_body().into_reader();
    let _ = io::copy(&mut (&mut body).take(16 * 1024), &mut io::sink());
}

/// Yields exactly the bytes of `span`, resuming from the first missing byte when the
/// connection breaks, while the request's retries last, and asking for the rest, without
/// spending a retry, when a 206 ends early where its `Content-Range` said (a capped answer).
struct SpanReader {
    client: Arc<Client>,
    /// Ends at `u64::MAX` while the length is unknown and the span runs to the end.
    span: Range<u64>,
    pos: u64,
    body: Option<BodyReader<'static>>,
    /// Where the current body's bytes end: a 206's `Content-Range` end, which may come
    /// before `span.end`; `u64::MAX` for a 200's.
    body_end: u64,
    /// The body must end at `body_end` (a 206's); a 200's goes on past it.
    exact: bool,
    /// The rest is asked for as `bytes=N-` (the request was open-ended), else `bytes=N-M`.
    open_ended: bool,
    retries_left: u32,
}

impl SpanReader {
    /// A reader of `span` from `body`, which holds all of it, with the retries its request
    /// left.
    fn new(
        client: Arc<Client>,
        span: Range<u64>,
        body: BodyReader<'static>,
        exact: bool,
        retries_left: u32,
    ) -> SpanReader {
        SpanReader {
            retries_left,
            pos: span.start,
            body_end: span.end,
            client,
            span,
            body: Some(body),
            exact,
            open_ended: false,
        }
    }

    /// Takes a length an answer gave: a span that ran to an unknown end now ends there.
    fn learn(&mut self, len: Option<u64>) {
        if let Some(len) = len
            && self.span.end == u64::MAX
        {
            self.span.end = len.max(self.pos);
        }
    }

    /// Requests the rest of the span, from `pos`; false when the resource ended there.
    fn connect_rest(&mut self) -> Result<bool, Error> {
        let to = (!self.open_ended).then_some(self.span.end);
        match self.client.connect(self.pos, to, &mut self.retries_left)? {
            Connected::Body {
                body,
                exact,
                end,
                len,
            } => {
                self.body = Some(body);
                self.exact = exact;
                self.body_end = end;
                self.learn(len);
                Ok(true)
            }
            Connected::Ended => {
                self.span.end = self.pos;
                Ok(false)
            }
        }
    }

    /// Reads once from the current connection; `Err` when it broke or ended early.
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(body) = self.body.as_mut() else {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "no connection"));
        };
        loop {
            match body.read(buf) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed early",
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }

    /// Ends the current body, which has given all it announced. Reading its end hands the
    /// connection back to the pool for the next request; a 206's must end there.
    fn finish_body(&mut self) -> Result<(), Error> {
        if let Some(mut body) = self.body.take()
            && matches!(body.read(&mut [0u8; 1]), Ok(1..))
            && self.exact
        {
            let asked = range_header(&ByteRange::Span(self.span.start..self.body_end));
            return Err(Error::BodyTooLong { asked });
        }
        Ok(())
    }

    fn give_up(&self, cause: io::Error) -> io::Error {
        let got = self.pos - self.span.start;
        let expected = self.span.end - self.span.start;
        let url = self.client.url().to_owned();
        // A read timeout comes out of ureq's body reader as a TimedOut (or WouldBlock) I/O
        // error, or as its own Timeout carried inside one: `io::Error` is all `Read` allows.
        let timed_out = matches!(
            cause.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        ) || matches!(
            cause
                .get_ref()
                .and_then(|e| e.downcast_ref::<ureq::Error>()),
            Some(ureq::Error::Timeout(_))
        );
        let err = match cause.kind() {
            io::ErrorKind::UnexpectedEof => Error::Truncated { got, expected },
            _ if timed_out => Error::Stalled {
                secs: self.client.config.timeout.as_secs_f64(),
                got,
                expected,
                url,
            },
            _ => Error::Read { url, source: cause },
        };
        err.into()
    }
}

impl Read for SpanReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Bounded: each iteration returns, or spends a retry, or (a capped 206 that ended
        // where it said) sends a request that must bring at least one new byte.
        loop {
            let left = self.span.end - self.pos;
            if left == 0 {
                return Ok(0);
            }
            if self.body.is_none() && self.pos == self.body_end {
                self.client.log(|| {
                    format!(
                        "* the answer ended at byte {}; asking for the rest",
                        self.pos
                    )
                });
                if !self.connect_rest()? {
                    return Ok(0);
                }
                continue;
            }
            let left = left.min(self.body_end - self.pos);
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let cause = match self.read_some(&mut buf[..want]) {
                Ok(n) => {
                    self.pos += n as u64;
                    if self.pos == self.span.end || self.pos == self.body_end {
                        self.finish_body()?;
                    }
                    return Ok(n);
                }
                Err(cause) => cause,
            };
            self.body = None;
            if self.retries_left == 0 {
                return Err(self.give_up(cause));
            }
            self.retries_left -= 1;
            self.client
                .log(|| format!("* {cause}; resuming at byte {}", self.pos));
            match self.connect_rest() {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(err) if self.retries_left == 0 => return Err(err.into()),
                Err(_) => {}
            }
        }
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
