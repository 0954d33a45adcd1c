//! The HTTP source: range requests over one keep-alive ureq `Agent`, with every response
//! checked against the first (RFC 9110 §13.1.5 If-Range, §14.4 Content-Range, §15.3.7 206,
//! §15.5.17 416) and broken bodies resumed from the first missing byte.
//!
//! The client that sends requests, follows redirects, retries and checks the answers is in
//! `client`, the multi-range requests in `multi_range`, the resumable reader in `reader`, and
//! the validators that identify a version in `crate::http::validators`.

mod client;
mod multi_range;
mod reader;

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use ureq::http::{Response, StatusCode};

use super::multipart;
use super::parallel::SpanFetcher;
use super::{Body, Error, Opened, Source};
use crate::Log;
use crate::http::content_range::{ContentRange, parse_content_range, range_header, served_span};
use crate::http::{Transport, content_length, header};
use crate::range::ByteRange;
use crate::s3::{Access, S3Url, is_s3};
use client::{Client, S3Object, proxy_from_env};
use reader::SpanReader;

pub use crate::http::validators::Identity;
pub use client::MAX_REDIRECTS;

/// How to talk to servers.
#[derive(Clone)]
pub struct HttpConfig {
    /// Extra request headers (`-H`), name and value.
    pub headers: Vec<(String, String)>,
    /// What to trust and how long to wait: timeouts, retries, `--cacert`, `-k` (the same
    /// settings as `serve`'s upstream).
    pub transport: Transport,
    /// Size of the socket read buffer.
    pub buffer_size: usize,
    /// Where `-v` lines go, if anywhere.
    pub log: Option<Log>,
    /// Send credentials (`Authorization`, `Cookie`, `Proxy-Authorization`) to the origins that
    /// redirects lead to, too (`--location-trusted`).
    pub location_trusted: bool,
    /// Follow a redirect from https to plain http (`--allow-insecure-redirect`).
    pub allow_insecure_redirect: bool,
    /// How `s3://` URLs are signed (`--no-sign-request`; README, "Object stores").
    pub s3: Access,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            headers: Vec::new(),
            transport: Transport::default(),
            buffer_size: 256 * 1024,
            log: None,
            location_trusted: false,
            allow_insecure_redirect: false,
            s3: Access::default(),
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

impl HttpSource {
    /// A source for `url` (`http://`, `https://` or `s3://`); nothing is sent until the
    /// first read. An `s3://` URL's store is found now ([`Access::store`]): its settings are
    /// checked before any request.
    pub fn new(url: &str, config: &HttpConfig) -> Result<HttpSource, Error> {
        let s3 = match is_s3(url) {
            true => Some(s3_object(url, config)?),
            false => None,
        };
        let request_url = s3.as_ref().map_or(url, |object| object.object_url.as_str());
        request_url
            .parse::<ureq::http::Uri>()
            .map_err(|e| Error::InvalidUrl {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        // The proxy variables are checked now, before any request (a usage error).
        proxy_from_env(request_url)?;
        Ok(HttpSource {
            client: Arc::new(Client {
                plain: OnceLock::new(),
                secure: OnceLock::new(),
                url: url.to_owned(),
                final_url: OnceLock::new(),
                config: config.clone(),
                first: OnceLock::new(),
                learned: OnceLock::new(),
                // A store answers a multi-range request with the whole object (README,
                // "Object stores"): one request per range from the start.
                multipart_refused: AtomicBool::new(s3.is_some()),
                part_limit: AtomicUsize::new(multipart::MAX_PARTS),
                matching: OnceLock::new(),
                prefetched: Mutex::new(Vec::new()),
                opened: Mutex::new(Vec::new()),
                suffix_refused: AtomicBool::new(false),
                head_refused: AtomicBool::new(false),
                s3,
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
        let mut budget = self.client.config.transport.retries;
        let response = self
            .client
            .send("GET", Some(&ByteRange::Span(0..1)), &mut budget)?;
        Ok(response)
    }

    /// Sends `HEAD` and returns the raw response, for `info`.
    pub(crate) fn head(&mut self) -> Result<Response<ureq::Body>, Error> {
        let mut budget = self.client.config.transport.retries;
        let response = self.client.send("HEAD", None, &mut budget)?;
        Ok(response)
    }

    /// The error for a response whose status is not a success for the request.
    pub(crate) fn status_error(&self, response: Response<ureq::Body>) -> Error {
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
        let mut budget = client.config.transport.retries;
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
            _ => Err(client.status_error(response, Some(range))),
        }
    }

    fn probe(&mut self) -> Result<u64, Error> {
        let client = &self.client;
        let mut budget = client.config.transport.retries;
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
            _ => return Err(client.status_error(response, Some(&ByteRange::Span(0..1)))),
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
        let answers = all_at_once(batches, |batch| Client::open_batch(client, batch));
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

/// `each` of `items`, all at once, each on a thread of its own (one alone on this one); the
/// results in the order of `items`.
fn all_at_once<T: Sync, R: Send>(items: &[T], each: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if let [item] = items {
        return vec![each(item)];
    }
    std::thread::scope(|scope| {
        let each = &each;
        let started: Vec<_> = items
            .iter()
            .map(|item| scope.spawn(move || each(item)))
            .collect();
        started
            .into_iter()
            .map(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

impl HttpSource {
    /// [`Source::open_spans`]: each span's request sent on a thread of its own, the answers
    /// judged here once all have come.
    fn open_together(&mut self, spans: &[Range<u64>]) -> Result<bool, Error> {
        let client = &self.client;
        if spans.len() < 2 || client.first.get().is_some() || self.revalidate.is_some() {
            return Ok(false);
        }
        let retries = client.config.transport.retries;
        let answers = all_at_once(spans, |span| {
            let mut budget = retries;
            let asked = ByteRange::Span(span.clone());
            let response = client.send("GET", Some(&asked), &mut budget)?;
            Ok::<_, Error>((response, budget))
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
                    if let Some(len) = stated_len(&response) {
                        client.check(&response, Some(len))?;
                    }
                    continue;
                }
                _ => {}
            }
            let connected = client.connected(response, span.start, Some(span.end))?;
            if let Some(reader) = SpanReader::opened(client, span.clone(), connected, budget) {
                bodies.push((span.clone(), Box::new(reader) as Body));
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

/// The complete length a response's `Content-Range` states (a 416's `bytes */LEN` too).
fn stated_len(response: &Response<ureq::Body>) -> Option<u64> {
    header(response.headers(), "content-range")
        .and_then(|value| parse_content_range(&value))
        .and_then(|cr| cr.len)
}

/// A 412 to `If-Match`: the copy a cache kept is not the resource's version any more.
fn stale() -> Error {
    Error::Stale
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

/// The object an `s3://` URL names, in the store `config` gives.
fn s3_object(url: &str, config: &HttpConfig) -> Result<S3Object, Error> {
    let invalid = |reason: &str| Error::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let S3Url { bucket, key } = S3Url::parse(url).map_err(|e| invalid(e.reason))?;
    if key.is_empty() {
        return Err(invalid(
            "it names a bucket, not an object (s3://BUCKET/KEY)",
        ));
    }
    let store = config.s3.store().map_err(Error::S3Config)?;
    let object_url = store.object_url(&bucket, &key).into();
    Ok(S3Object {
        store,
        bucket,
        key,
        object_url,
    })
}
