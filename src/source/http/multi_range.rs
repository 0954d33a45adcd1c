//! Multi-range requests (`--multipart`; RFC 9110 §14.2, §14.6): as many ranges a request as
//! the server answers with their parts, fewer after it answers many with the whole resource
//! or with fewer parts, one request per range once it refuses the form (README, "What goes
//! on the wire").

use std::io::{self, Read};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use ureq::BodyReader;
use ureq::http::StatusCode;

use super::client::Client;
use super::{Fetcher, stale, stated_len};
use crate::http::content_length;
use crate::http::content_range::parse_content_range;
use crate::http::header;
use crate::source::multipart::{self, MultipartError, PartsReader};
use crate::source::parallel::{SpanFetcher, one_by_one, reordered};
use crate::source::{Body, Error};

impl Client {
    /// One multi-range request for `wanted` as a first request
    /// ([`Source::open_many`](crate::source::Source::open_many)): a reader of their bytes in
    /// the order wanted when the answer brings exactly those spans, all inside the resource;
    /// `None` for any other answer, dropped having taught what its head could.
    pub(super) fn open_batch(
        client: &Arc<Client>,
        wanted: &[Range<u64>],
    ) -> Result<Option<Body>, Error> {
        // Asked for in ascending order (RFC 9110 §14.2), yielded in the order wanted; no more
        // at once than the server was seen to answer (the rest follow as the reader needs).
        let all = ascending(wanted);
        let limit = client.part_limit.load(Ordering::SeqCst).max(1);
        let spans = &all[..all.len().min(limit)];
        let value = multi_range_header(spans);
        let mut budget = client.config.transport.retries;
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
                let len = stated_len(&response);
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
            _ => return Err(client.status_error_for(response, &value)),
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

    /// Multi-range requests for `spans` (disjoint, in any order; `--multipart`), asked for in
    /// ascending order, as a reader of their bytes in the order given: at most the part limit a request, the next one sent when the
    /// reader gets to it. `None` when the server does not send parts (a 200 with the whole
    /// resource, as S3 sends, a single part that is not what was asked, a refusal): its
    /// answer is recognised from its head and dropped unread with its connection, and this
    /// server gets one request per range from then on.
    pub(super) fn fetch_many(
        client: &Arc<Client>,
        spans: &[Range<u64>],
    ) -> Result<Option<Body>, Error> {
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
            let mut budget = client.config.transport.retries;
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
                        client.check(&response, stated_len(&response))?;
                    }
                    client.refuse_multipart(&refused_with(status));
                    return Ok(Answer::Refused);
                }
                _ => return Err(client.status_error_for(response, &value)),
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
            budget: client.config.transport.retries,
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
