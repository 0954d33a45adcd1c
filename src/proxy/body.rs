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
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

use super::access_log::Entry;
use super::io::Activity;
use crate::Log;

/// Why the body ended early; hyper then closes the client connection (no way to say it in
/// HTTP/1.1 but to cut the framing short).
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The upstream's body broke off.
    Upstream(hyper::Error),
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
        body: Incoming,
        timeout: Duration,
        stall: Pin<Box<Sleep>>,
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
        body: Incoming,
        timeout: Duration,
        entry: Entry,
        log: Option<Log>,
        activity: Arc<Activity>,
    ) -> ProxyBody {
        ProxyBody {
            kind: Kind::Upstream {
                body,
                timeout,
                stall: Box::pin(tokio::time::sleep(timeout)),
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
            } => loop {
                match Pin::new(&mut *body).poll_frame(cx) {
                    Poll::Ready(Some(Ok(frame))) => {
                        // Trailers are hop-by-hop here (the answer is re-framed): dropped.
                        let Ok(data) = frame.into_data() else {
                            continue;
                        };
                        this.done.entry.bytes += data.len() as u64;
                        stall.as_mut().reset(Instant::now() + *timeout);
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    Poll::Ready(Some(Err(err))) => {
                        return Poll::Ready(Some(Err(BodyError::Upstream(err))));
                    }
                    Poll::Ready(None) => return Poll::Ready(None),
                    Poll::Pending => {
                        ready!(stall.as_mut().poll(cx));
                        return Poll::Ready(Some(Err(BodyError::Stalled)));
                    }
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Text(text) => text.is_none(),
            Kind::Upstream { body, .. } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Text(Some(text)) => SizeHint::with_exact(text.len() as u64),
            Kind::Text(None) => SizeHint::with_exact(0),
            Kind::Upstream { body, .. } => body.size_hint(),
        }
    }
}
