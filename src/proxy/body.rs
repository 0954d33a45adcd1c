//! The body of an answer to the client: the upstream's body passed through frame by frame
//! (hyper asks for the next frame only once it has written the last, so a slow client slows
//! the upstream read and memory stays around one chunk), or a short text. Either way the
//! request's access-log line is written, and the connection's [`Activity`] told, when hyper
//! is done with it: sent in full, or dropped because either side went away.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::access_log::Entry;
use super::io::Activity;
use super::splice::{Fill, Splice};
use super::upstream;
use crate::Log;

/// Why the body ended early; hyper then closes the client connection (no way to say it in
/// HTTP/1.1 but to cut the framing short).
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The upstream's body broke off.
    Upstream(std::io::Error),
    /// The upstream sent nothing for the timeout.
    Stalled,
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::Upstream(err) => write!(f, "the upstream's body broke off: {err}"),
            BodyError::Stalled => write!(f, "the upstream's body stalled for the timeout"),
        }
    }
}

impl std::error::Error for BodyError {}

/// An answer's body.
pub(crate) struct ProxyBody {
    kind: Kind,
    done: Done,
}

enum Kind {
    Upstream {
        body: upstream::Body,
        timeout: Duration,
        /// Armed when the upstream first keeps the body waiting (most answers never do).
        stall: Option<Pin<Box<Sleep>>>,
        /// The client connection's pipe, for identity bodies from a plain socket.
        splice: Arc<Splice>,
        /// The upstream's failure, told once the frames before it have been flushed.
        failed: Option<BodyError>,
    },
    Text(Option<Bytes>),
}

/// Written once the body is done with.
struct Done {
    entry: Entry,
    log: Option<Log>,
    activity: Arc<Activity>,
}

impl Drop for Done {
    fn drop(&mut self) {
        self.activity.end();
        if let Some(log) = &self.log {
            self.entry.write(log);
        }
    }
}

impl ProxyBody {
    /// The upstream's body, each frame due within `timeout` of the one before.
    pub(crate) fn upstream(
        body: upstream::Body,
        timeout: Duration,
        splice: Arc<Splice>,
        entry: Entry,
        log: Option<Log>,
        activity: Arc<Activity>,
    ) -> ProxyBody {
        ProxyBody {
            kind: Kind::Upstream {
                body,
                timeout,
                stall: None,
                splice,
                failed: None,
            },
            done: Done {
                entry,
                log,
                activity,
            },
        }
    }

    /// A short complete body (or none).
    pub(crate) fn text(
        text: Option<Bytes>,
        entry: Entry,
        log: Option<Log>,
        activity: Arc<Activity>,
    ) -> ProxyBody {
        ProxyBody {
            kind: Kind::Text(text),
            done: Done {
                entry,
                log,
                activity,
            },
        }
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        match &mut this.kind {
            Kind::Text(text) => Poll::Ready(text.take().map(|t| Ok(Frame::data(t)))),
            Kind::Upstream {
                body,
                timeout,
                stall,
                splice,
                failed,
            } => {
                // hyper drops what it has not written yet when a body fails, and writes it
                // when the body is pending: a failure waits for one turn, so that the client
                // gets every byte that came before the break.
                if let Some(err) = failed.take() {
                    return Poll::Ready(Some(Err(err)));
                }
                let spliced = match body.splice_source() {
                    Some((source, left)) => splice.poll_fill(cx, source, left),
                    None => Ok(Fill::NoPipe),
                };
                let frame = match spliced {
                    Ok(Fill::Moved(marker)) if marker.is_empty() => {
                        Poll::Ready(Some(Err(body.cut_short())))
                    }
                    Ok(Fill::Moved(marker)) => {
                        body.spliced(marker.len());
                        Poll::Ready(Some(Ok(marker)))
                    }
                    // The client has yet to take the last piece: its own deadline applies.
                    Ok(Fill::ClientBusy) => return Poll::Pending,
                    Ok(Fill::UpstreamBusy) => Poll::Pending,
                    Ok(Fill::NoPipe) => body.poll_frame(cx),
                    Err(err) => Poll::Ready(Some(Err(err))),
                };
                match frame {
                    Poll::Ready(Some(Ok(data))) => {
                        this.done.entry.bytes += data.len() as u64;
                        if let Some(stall) = stall {
                            stall.as_mut().reset(Instant::now() + *timeout);
                        }
                        Poll::Ready(Some(Ok(Frame::data(data))))
                    }
                    Poll::Ready(Some(Err(err))) => {
                        *failed = Some(BodyError::Upstream(err));
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                    Poll::Ready(None) => Poll::Ready(None),
                    Poll::Pending => {
                        let stall =
                            stall.get_or_insert_with(|| Box::pin(tokio::time::sleep(*timeout)));
                        ready!(stall.as_mut().poll(cx));
                        Poll::Ready(Some(Err(BodyError::Stalled)))
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Text(text) => text.is_none(),
            Kind::Upstream { body, .. } => body.is_end(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Text(Some(text)) => SizeHint::with_exact(text.len() as u64),
            Kind::Text(None) => SizeHint::with_exact(0),
            Kind::Upstream { body, .. } => match body.remaining() {
                Some(left) => SizeHint::with_exact(left),
                None => SizeHint::default(),
            },
        }
    }
}
