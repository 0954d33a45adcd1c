//! The keys that sign requests: given once (the environment, a profile's static keys), or
//! from a `credential_process`, run again when the keys it gave are about to expire.

use std::fmt;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::ConfigError;

/// An access key, its secret and a session token. Never shown: `Debug` names the access key
/// only.
#[derive(Clone)]
pub(crate) struct Keys {
    pub(crate) access_key: String,
    pub(crate) secret: String,
    pub(crate) token: Option<String>,
    /// When a `credential_process` said they expire.
    pub(crate) expires: Option<Timestamp>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// Where the keys come from.
#[derive(Debug)]
pub(crate) enum Credentials {
    Fixed(Keys),
    /// A `credential_process` command line and the keys it gave last.
    Process {
        command: String,
        current: Mutex<Keys>,
    },
}

/// Keys this close to their expiry are fetched again before signing.
const REFRESH_BEFORE: Duration = Duration::from_secs(60);
/// Longest a `credential_process` may run.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);
/// Most bytes of its output read.
const MAX_PROCESS_OUTPUT: u64 = 64 * 1024;

impl Credentials {
    /// Runs `command` for the first keys.
    pub(crate) fn process(command: &str) -> Result<Credentials, ConfigError> {
        let keys = run_process(command)?;
        Ok(Credentials::Process {
            command: command.to_owned(),
            current: Mutex::new(keys),
        })
    }

    /// The keys to sign with now.
    pub(crate) fn keys(&self) -> Result<Keys, ConfigError> {
        match self {
            Credentials::Fixed(keys) => Ok(keys.clone()),
            Credentials::Process { command, current } => {
                let mut current = current.lock().unwrap_or_else(|e| e.into_inner());
                let expiring = current.expires.is_some_and(|at| {
                    let left = at.duration_since(Timestamp::now());
                    left < jiff::SignedDuration::try_from(REFRESH_BEFORE).unwrap_or_default()
                });
                if expiring {
                    *current = run_process(command)?;
                }
                Ok(current.clone())
            }
        }
    }
}

/// Runs a `credential_process` (split into words as a POSIX shell would, not run by one)
/// and reads the keys from its JSON: `{"Version": 1, "AccessKeyId", "SecretAccessKey",
/// "SessionToken"?, "Expiration"?}`. Its stderr is the user's terminal's.
fn run_process(command: &str) -> Result<Keys, ConfigError> {
    let failed = |what: String| ConfigError::Process {
        command: command.to_owned(),
        what,
    };
    let words = shlex::split(command)
        .filter(|w| !w.is_empty())
        .ok_or_else(|| failed("it cannot be split into words".into()))?;
    let mut child = Command::new(&words[0])
        .args(&words[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| failed(format!("cannot run it: {e}")))?;
    let mut stdout = child.stdout.take().expect("piped above");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        (&mut stdout)
            .take(MAX_PROCESS_OUTPUT)
            .read_to_end(&mut out)?;
        // The rest is dropped, so that the process never blocks on a full pipe.
        std::io::copy(&mut stdout, &mut std::io::sink())?;
        Ok::<_, std::io::Error>(out)
    });
    let deadline = Instant::now() + PROCESS_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(failed(format!(
                    "it did not finish within {} s",
                    PROCESS_TIMEOUT.as_secs()
                )));
            }
            Err(e) => return Err(failed(format!("cannot wait for it: {e}"))),
        }
    };
    let output = reader
        .join()
        .map_err(|_| failed("its output could not be read".into()))?
        .map_err(|e| failed(format!("reading its output: {e}")))?;
    if !status.success() {
        return Err(failed(format!("it failed ({status})")));
    }
    parse_process_output(&output).map_err(|what| failed(what.into()))
}

/// The keys in a `credential_process`'s output.
pub(super) fn parse_process_output(output: &[u8]) -> Result<Keys, &'static str> {
    let json: serde_json::Value =
        serde_json::from_slice(output).map_err(|_| "its output is not JSON")?;
    if json.get("Version").and_then(|v| v.as_u64()) != Some(1) {
        return Err("its output does not say \"Version\": 1");
    }
    let text = |name: &str| json.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let (Some(access_key), Some(secret)) = (text("AccessKeyId"), text("SecretAccessKey")) else {
        return Err("its output lacks AccessKeyId or SecretAccessKey");
    };
    let expires = match text("Expiration") {
        Some(at) => Some(
            at.parse::<Timestamp>()
                .map_err(|_| "its Expiration is not an ISO 8601 time")?,
        ),
        None => None,
    };
    Ok(Keys {
        access_key,
        secret,
        token: text("SessionToken"),
        expires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_output_gives_keys_and_their_expiry() {
        let keys = parse_process_output(
            br#"{"Version": 1, "AccessKeyId": "AK", "SecretAccessKey": "S", "SessionToken": "T", "Expiration": "2026-12-06T10:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(
            (keys.access_key.as_str(), keys.secret.as_str()),
            ("AK", "S")
        );
        assert_eq!(keys.token.as_deref(), Some("T"));
        assert_eq!(keys.expires.unwrap().as_second(), 1_796_551_200);
        for bad in [
            &b"not json"[..],
            br#"{"Version": 2, "AccessKeyId": "AK", "SecretAccessKey": "S"}"#,
            br#"{"Version": 1, "AccessKeyId": "AK"}"#,
            br#"{"Version": 1, "AccessKeyId": "AK", "SecretAccessKey": "S", "Expiration": "soon"}"#,
        ] {
            assert!(parse_process_output(bad).is_err());
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let keys = Keys {
            access_key: "AK".into(),
            secret: "very-secret".into(),
            token: Some("tok".into()),
            expires: None,
        };
        let shown = format!("{:?}", Credentials::Fixed(keys));
        assert!(shown.contains("AK") && !shown.contains("very-secret") && !shown.contains("tok"));
    }
}
