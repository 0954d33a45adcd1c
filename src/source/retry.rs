//! When a request is sent again, and after how long: the policy alone, without a clock or a
//! socket, so that a unit test can call it. [`Client`](super::http) does the sleeping.
//!
//! As object_store's `retry.rs` and `backoff.rs` do: overload and gateway answers (429, 502,
//! 503, 504) and connections that broke before any answer are retried; every other status is
//! an answer about the request and is not. The wait is the server's `Retry-After` (seconds or
//! an HTTP-date, RFC 9110 §10.2.3) when it sends one, as curl's `--retry` honours it, capped
//! at [`RETRY_AFTER_CAP`]; otherwise an exponential backoff with jitter from [`BASE`],
//! capped at [`BACKOFF_CAP`].

use std::io;
use std::time::Duration;

use crate::http::date::parse_http_date;

/// The wait before the first retry without `Retry-After` (plus up to as much again).
pub const BASE: Duration = Duration::from_millis(250);
/// The longest wait without `Retry-After`.
pub const BACKOFF_CAP: Duration = Duration::from_secs(10);
/// The longest wait a `Retry-After` can ask for; a longer one waits this long.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

/// Whether an answer with this status is worth sending the request again: too many requests
/// (429), and a gateway or server that is overloaded or cannot reach its origin (502, 503,
/// 504). Any other status is the server's answer to this request.
pub fn retries_status(code: u16) -> bool {
    matches!(code, 429 | 502 | 503 | 504)
}

/// Whether a request that failed before any answer is worth sending again: the connection
/// was refused, reset or closed before the response. Timeouts are not (the request already
/// waited its whole `--timeout`), nor names that do not resolve, TLS or protocol failures.
pub fn retries_transport(err: &ureq::Error) -> bool {
    match err {
        ureq::Error::Io(io) => retries_io(io.kind()),
        ureq::Error::ConnectionFailed => true,
        _ => false,
    }
}

/// The I/O failures of [`retries_transport`]: a connection that broke or never came up.
pub fn retries_io(kind: io::ErrorKind) -> bool {
    matches!(
        kind,
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::NotConnected
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

/// The wait a `Retry-After` value asks for, `now` being seconds since 1970: delta-seconds or
/// an IMF-fixdate (a date in the past is no wait). `None` when it is neither.
pub fn retry_after(value: &str, now: i64) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for a u64 is still "a long time".
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = parse_http_date(value)?;
    Some(Duration::from_secs(
        u64::try_from(at.saturating_sub(now)).unwrap_or(0),
    ))
}

/// The wait before retry number `retry` (0 for the first): the server's `Retry-After` up to
/// [`RETRY_AFTER_CAP`], else `BASE × 2^retry × (1 + jitter)` up to [`BACKOFF_CAP`], with
/// `jitter` in `[0, 1)`. The jitter spreads clients that failed together; it only ever
/// lengthens the wait, so the first retry waits at least [`BASE`].
pub fn delay(retry: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
    if let Some(wait) = retry_after {
        return wait.min(RETRY_AFTER_CAP);
    }
    let doubling = BASE.saturating_mul(1u32 << retry.min(16));
    doubling
        .mul_f64(1.0 + jitter.clamp(0.0, 1.0))
        .min(BACKOFF_CAP)
}

/// A number in `[0, 1)` that differs from call to call, from the standard library's
/// randomly keyed hasher (jitter needs spread, not cryptography).
pub fn jitter() -> f64 {
    use std::hash::BuildHasher;
    let bits = std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_overload_and_gateway_statuses_are_retried() {
        for code in [429, 502, 503, 504] {
            assert!(retries_status(code), "{code}");
        }
        for code in [
            200, 206, 400, 401, 403, 404, 405, 410, 412, 416, 500, 501, 505,
        ] {
            assert!(!retries_status(code), "{code}");
        }
    }

    #[test]
    fn only_connections_broken_before_the_answer_are_retried() {
        let io = |kind| ureq::Error::Io(io::Error::new(kind, "x"));
        assert!(retries_transport(&io(io::ErrorKind::ConnectionRefused)));
        assert!(retries_transport(&io(io::ErrorKind::ConnectionReset)));
        assert!(retries_transport(&io(io::ErrorKind::UnexpectedEof)));
        assert!(retries_transport(&ureq::Error::ConnectionFailed));
        assert!(!retries_transport(&io(io::ErrorKind::TimedOut)));
        assert!(!retries_transport(&io(io::ErrorKind::PermissionDenied)));
        assert!(!retries_transport(&ureq::Error::HostNotFound));
        assert!(!retries_transport(&ureq::Error::TooManyRedirects));
    }

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        // Sun, 06 Nov 1994 08:49:37 GMT
        let now = 784_111_777;
        assert_eq!(retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:40 GMT", now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in ["", "-1", "1.5", "soon", "Sunday, 06-Nov-94 08:49:37 GMT"] {
            assert_eq!(retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_its_cap() {
        let secs = Duration::from_secs;
        assert_eq!(delay(0, Some(secs(1)), 0.9), secs(1));
        assert_eq!(delay(5, Some(secs(1)), 0.0), secs(1));
        assert_eq!(delay(0, Some(Duration::ZERO), 0.5), Duration::ZERO);
        assert_eq!(delay(0, Some(secs(3600)), 0.0), RETRY_AFTER_CAP);
        assert_eq!(delay(0, Some(secs(u64::MAX)), 0.0), RETRY_AFTER_CAP);
    }

    #[test]
    fn backoff_doubles_from_the_base_with_jitter_up_to_its_cap() {
        let ms = Duration::from_millis;
        assert_eq!(delay(0, None, 0.0), BASE);
        assert_eq!(delay(0, None, 0.5), ms(375));
        assert_eq!(delay(1, None, 0.0), ms(500));
        assert_eq!(delay(2, None, 0.0), ms(1000));
        assert_eq!(delay(2, None, 0.999), ms(1999));
        assert_eq!(delay(5, None, 0.0), ms(8000));
        assert_eq!(delay(6, None, 0.0), BACKOFF_CAP);
        assert_eq!(delay(u32::MAX, None, 0.99), BACKOFF_CAP);
        // Out-of-range jitter is clamped, never a shorter wait than the base.
        assert_eq!(delay(0, None, -3.0), BASE);
        assert_eq!(delay(0, None, 7.0), ms(500));
    }

    #[test]
    fn jitter_is_in_the_unit_interval_and_varies() {
        let values: Vec<f64> = (0..64).map(|_| jitter()).collect();
        assert!(values.iter().all(|j| (0.0..1.0).contains(j)), "{values:?}");
        assert!(values.iter().any(|j| *j != values[0]), "{values:?}");
    }
}
