//! One request, answered by the spec's policy: refusals first (framing that could smuggle, a
//! body, the head limits, methods, targets that leave the base), then the upstream's answer
//! with its end-to-end headers, the HEAD fallback, the inferred content type, and 502/504
//! in words when the upstream cannot be had.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Version};

use super::access_log::Entry;
use super::body::ProxyBody;
use super::bucket::{Bucket, KeyError};
use super::error::UpstreamError;
use super::forward::{RequestFields, content_type_for, persists};
use super::io::Activity;
use super::splice::Splice;
use super::target::{Refusal, check_head, check_no_body, check_target};
use super::upstream::{Response as UpstreamResponse, Upstream};
use crate::Log;
use crate::http::content_range::parse_content_range;
use crate::http::reason;
use crate::s3::Method as S3Method;

/// What the requests of one worker's connections share (each worker has its own).
pub(crate) struct Shared {
    pub(crate) upstream: Upstream,
    /// The upstream's base path, without a trailing `/`.
    pub(crate) base_path: String,
    /// For `--upstream s3://BUCKET[/PREFIX]`: the bucket, which every request is signed for.
    pub(crate) bucket: Option<Arc<Bucket>>,
    /// Longest wait between two frames of an upstream body.
    pub(crate) timeout: Duration,
    pub(crate) log: Option<Log>,
    /// Set for all the workers by [`Stopper::stop`](super::Stopper::stop).
    pub(crate) stopping: Arc<AtomicBool>,
}

/// One client connection, as its requests see it.
pub(crate) struct Connection {
    pub(crate) peer: String,
    pub(crate) activity: Arc<Activity>,
    /// Its pipe for bodies moved without copying (see `splice`).
    pub(crate) splice: Arc<Splice>,
}

/// Answers `request`.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    conn: Arc<Connection>,
    request: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    conn.activity.begin();
    // The log's words, only where there is a log to write them to.
    let logged = |words: &dyn Fn() -> String| match shared.log {
        Some(_) => words(),
        None => String::new(),
    };
    let target = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("");
    // Absolute-form (`GET http://other/`), authority-form and `*`: not an open proxy.
    let origin_form = request.uri().scheme().is_none() && request.uri().authority().is_none();
    // The request target as it came, for the log and its length: the path and query in
    // origin-form; the others, refused below, are written out again.
    let written;
    let request_target = match origin_form {
        true => target,
        false => {
            written = request.uri().to_string();
            &written
        }
    };
    let mut entry = Entry {
        peer: logged(&|| conn.peer.clone()),
        request: logged(&|| [request.method().as_str(), " ", request_target].concat()),
        range: logged(&|| {
            request
                .headers()
                .get(header::RANGE)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_else(|| "-".into())
        }),
        status: 0,
        bytes: 0,
        started: Instant::now(),
        note: None,
    };
    let keep_alive = wants_keep_alive(&request) && !shared.stopping.load(Ordering::Relaxed);
    let answer = Answer {
        shared: &shared,
        conn: &conn,
        keep_alive,
        http10: request.version() == Version::HTTP_10,
    };
    // Framing first: a request that could be read two ways is refused and its connection
    // closed, so that no byte after its head is ever taken for another request.
    let headers = request.headers();
    let framing = check_no_body(
        headers
            .get_all(header::TRANSFER_ENCODING)
            .iter()
            .map(HeaderValue::as_bytes),
        headers
            .get_all(header::CONTENT_LENGTH)
            .iter()
            .map(HeaderValue::as_bytes),
    );
    let limits = check_head(
        request.method().as_str(),
        request_target,
        headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())),
    );
    if let Err(refusal) = framing.and(limits) {
        return Ok(answer.refusal(refusal, true, entry));
    }
    let head = request.method() == Method::HEAD;
    if request.method() != Method::GET && !head {
        let mut response = answer.text(405, "only GET and HEAD are proxied", entry);
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Ok(response);
    }
    let target = if origin_form { target } else { "" };
    if let Err(refusal) = check_target(target) {
        return Ok(answer.refusal(refusal, false, entry));
    }
    let (first, get) = match upstream_targets(&shared, target, head) {
        Ok(targets) => targets,
        Err((refusal, note)) => {
            entry.note = note;
            return Ok(answer.refusal(refusal, false, entry));
        }
    };
    let headers = request.headers();
    let bucket = shared.bucket.is_some();
    let fields = RequestFields::new(headers);
    let forward = |name: &HeaderName| {
        // For a bucket the proxy signs; a client's own credentials go nowhere.
        fields.forwards(name) && !(bucket && name == header::AUTHORIZATION)
    };
    let upstream = if head {
        let get = get.as_deref().unwrap_or(&first);
        head_or_probe(&shared.upstream, &first, get, headers, &forward).await
    } else {
        shared
            .upstream
            .send(&Method::GET, &first, headers, &forward)
            .await
            .map(Upstreamed::Response)
    };
    match upstream {
        Ok(upstream) => Ok(answer.relay(upstream, target, head, entry)),
        Err(err) => {
            entry.note = Some(err.to_string());
            Ok(answer.text(err.status(), &err.words(), entry))
        }
    }
}

/// Where `target` goes on the upstream's host (path and query): for the request's method,
/// and, if another, for a `GET bytes=0-0` should a HEAD be refused. For a bucket, each is
/// presigned for this request alone. A refusal comes with what the log should say of it.
fn upstream_targets(
    shared: &Shared,
    target: &str,
    head: bool,
) -> Result<(String, Option<String>), (Refusal, Option<String>)> {
    let Some(bucket) = &shared.bucket else {
        return Ok(([shared.base_path.as_str(), target].concat(), None));
    };
    let refusal = |err| match err {
        KeyError::BadPath => {
            let reason = "the request target names no object key";
            (
                Refusal {
                    status: 400,
                    reason,
                },
                None,
            )
        }
        KeyError::Credentials(why) => {
            let reason = "no credentials to sign the request to the bucket with";
            (
                Refusal {
                    status: 502,
                    reason,
                },
                Some(why),
            )
        }
    };
    let key = bucket.key(target).map_err(refusal)?;
    let signed = |method| {
        let url = bucket.url(&key, method).map_err(refusal)?;
        Ok(url.path_and_query().map_or("/", |p| p.as_str()).to_owned())
    };
    match head {
        true => Ok((signed(S3Method::Head)?, Some(signed(S3Method::Get)?))),
        false => Ok((signed(S3Method::Get)?, None)),
    }
}

/// Whether the client asked to keep the connection (RFC 9112 §9.3).
fn wants_keep_alive(request: &Request<Incoming>) -> bool {
    persists(request.headers(), request.version() != Version::HTTP_10)
}

/// An upstream answer: as it came, or a one-byte GET standing in for a refused HEAD.
enum Upstreamed {
    Response(UpstreamResponse),
    Probed {
        response: UpstreamResponse,
        len: u64,
    },
}

/// `HEAD`, or where the upstream refuses it (405, 501), `GET bytes=0-0` turned into the
/// headers of the whole resource.
async fn head_or_probe(
    upstream: &Upstream,
    target: &str,
    probe_target: &str,
    headers: &HeaderMap,
    forward: &(dyn Fn(&HeaderName) -> bool + Sync),
) -> Result<Upstreamed, UpstreamError> {
    let response = upstream
        .send(&Method::HEAD, target, headers, forward)
        .await?;
    if !matches!(response.status.as_u16(), 405 | 501) {
        return Ok(Upstreamed::Response(response));
    }
    drop(response);
    let mut probe = headers.clone();
    probe.remove(header::IF_RANGE);
    probe.insert(header::RANGE, HeaderValue::from_static("bytes=0-0"));
    let response = upstream
        .send(&Method::GET, probe_target, &probe, forward)
        .await?;
    let total = response
        .headers
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_content_range)
        .and_then(|cr| cr.len);
    Ok(match (response.status.as_u16(), total) {
        (206, Some(len)) => Upstreamed::Probed { response, len },
        // An empty resource has no byte 0: its one-byte GET is a 416 of `bytes */0`.
        (416, Some(0)) => Upstreamed::Probed { response, len: 0 },
        _ => Upstreamed::Response(response),
    })
}

/// Builds the answers of one request.
struct Answer<'a> {
    shared: &'a Shared,
    conn: &'a Connection,
    keep_alive: bool,
    /// An HTTP/1.0 client: a body of unknown length can only end with the connection.
    http10: bool,
}

impl Answer<'_> {
    /// A short text answer: `STATUS Reason: message`.
    fn text(&self, status: u16, message: &str, mut entry: Entry) -> Response<ProxyBody> {
        entry.status = status;
        let body = Bytes::from(format!("{status} {}: {message}\n", reason(status)));
        entry.bytes = body.len() as u64;
        let len = body.len();
        let mut response = Response::new(ProxyBody::text(
            Some(body),
            entry,
            self.shared.log.clone(),
            self.conn.activity.clone(),
        ));
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        self.connection_header(headers, self.keep_alive);
        response
    }

    /// A refusal; with `close`, the connection ends after it.
    fn refusal(&self, refusal: Refusal, close: bool, entry: Entry) -> Response<ProxyBody> {
        let mut response = self.text(refusal.status, refusal.reason, entry);
        if close {
            self.connection_header(response.headers_mut(), false);
        }
        response
    }

    /// `Connection: keep-alive` or `close`; hyper closes after an answer that says `close`.
    fn connection_header(&self, headers: &mut HeaderMap, keep_alive: bool) {
        let value = if keep_alive { "keep-alive" } else { "close" };
        headers.insert(header::CONNECTION, HeaderValue::from_static(value));
    }

    /// The upstream's answer, streamed to the client.
    fn relay(
        &self,
        upstream: Upstreamed,
        target: &str,
        head: bool,
        mut entry: Entry,
    ) -> Response<ProxyBody> {
        let (response, probed_len) = match upstream {
            Upstreamed::Response(response) => (response, None),
            Upstreamed::Probed { response, len } => (response, Some(len)),
        };
        let UpstreamResponse {
            mut status,
            mut headers,
            length,
            body,
        } = response;
        let length = match probed_len {
            // A HEAD answered from `GET bytes=0-0`: the whole resource's headers.
            Some(len) => {
                status = StatusCode::OK;
                headers.remove(header::CONTENT_RANGE);
                Some(len)
            }
            None => length,
        };
        let no_content = status == StatusCode::NOT_MODIFIED || status == StatusCode::NO_CONTENT;
        if !headers.contains_key(header::CONTENT_TYPE) && status != StatusCode::NOT_MODIFIED {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type_for(target)),
            );
        }
        let bodyless = head || no_content || probed_len.is_some();
        // A body of known length tells hyper its length, which hyper writes itself; an
        // answer without a body (HEAD, or a probe) states the resource's.
        if let Some(len) = length.filter(|_| bodyless && !no_content) {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        }
        let delimited = bodyless || length.is_some() || !self.http10;
        self.connection_header(&mut headers, self.keep_alive && delimited);
        entry.status = status.as_u16();
        let log = self.shared.log.clone();
        let activity = self.conn.activity.clone();
        let body = if bodyless {
            ProxyBody::text(None, entry, log, activity)
        } else {
            let splice = self.conn.splice.clone();
            ProxyBody::upstream(body, self.shared.timeout, splice, entry, log, activity)
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        response
    }
}
