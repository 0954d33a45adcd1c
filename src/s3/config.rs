//! A [`Store`]: the region, the endpoint and the credentials of `s3://` requests, found as
//! the AWS CLI finds them (README, "Object stores"), before any request is made.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use url::Url;

use super::credentials::{Credentials, Keys};
use super::profile::{self, FileKind, Profile};

/// Where `s3://` requests go and what signs them.
#[derive(Debug)]
pub struct Store {
    pub(super) region: String,
    /// A custom endpoint (path-style addressing), or AWS's own (`None`, virtual-hosted).
    pub(super) endpoint: Option<Url>,
    /// `None`: requests go unsigned (`--no-sign-request`).
    pub(super) credentials: Option<Credentials>,
}

/// Why no [`Store`] could be made; nothing was sent.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// No credentials anywhere rangecat looks.
    NoCredentials {
        /// The profile looked for.
        profile: String,
        /// The credentials file and the config file.
        files: [PathBuf; 2],
    },
    /// One of an access key and its secret without the other.
    HalfKeys {
        /// The one given (`AWS_ACCESS_KEY_ID`, or `aws_access_key_id in FILE`).
        given: String,
        /// The one missing.
        missing: String,
    },
    /// `AWS_PROFILE` names a profile neither file has.
    ProfileNotFound {
        /// The profile.
        profile: String,
        /// The credentials file and the config file.
        files: [PathBuf; 2],
    },
    /// A config or credentials file exists but cannot be read.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The endpoint is not an `http://` or `https://` URL.
    BadEndpoint {
        /// Where it was set (`AWS_ENDPOINT_URL`, `endpoint_url in FILE`).
        from: String,
        /// Its value.
        value: String,
    },
    /// The region is not a region name (letters, digits and `-`).
    BadRegion {
        /// Its value.
        value: String,
    },
    /// A `credential_process` gave no keys.
    Process {
        /// The command line (never shown: it may carry a secret).
        command: String,
        /// What went wrong.
        what: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoCredentials { profile, files } => write!(
                f,
                "no AWS credentials: none in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, nor \
                 for profile '{profile}' in {} or {} (--no-sign-request reads a public bucket)",
                files[0].display(),
                files[1].display()
            ),
            ConfigError::HalfKeys { given, missing } => {
                write!(f, "{given} is set but {missing} is not")
            }
            ConfigError::ProfileNotFound { profile, files } => write!(
                f,
                "AWS profile '{profile}' is in neither {} nor {}",
                files[0].display(),
                files[1].display()
            ),
            ConfigError::Unreadable { path, .. } => write!(f, "cannot read {}", path.display()),
            ConfigError::BadEndpoint { from, value } => write!(
                f,
                "the S3 endpoint '{value}' ({from}) is not an http:// or https:// URL"
            ),
            ConfigError::BadRegion { value } => write!(f, "'{value}' is not an AWS region name"),
            ConfigError::Process { what, .. } => write!(f, "credential_process: {what}"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Unreadable { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The region when nothing names one, as the AWS CLI's S3 commands assume.
const DEFAULT_REGION: &str = "us-east-1";

impl Store {
    /// The store the process environment and the AWS files describe; signed unless `sign`
    /// is false or `AWS_NO_SIGN_REQUEST` is `true`.
    pub fn from_env(sign: bool) -> Result<Store, ConfigError> {
        Store::from_vars(|name| std::env::var(name).ok(), sign)
    }

    /// [`from_env`](Store::from_env) with the variables `var` gives (`HOME` among them).
    ///
    /// Region: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, `us-east-1`.
    /// Endpoint: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's `endpoint_url`, or
    /// AWS. Credentials, the first found: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`
    /// (with `AWS_SESSION_TOKEN`); the profile (`AWS_PROFILE`, else `default`) in the
    /// credentials file; its `credential_process`; its keys in the config file.
    pub fn from_vars(
        var: impl Fn(&str) -> Option<String>,
        sign: bool,
    ) -> Result<Store, ConfigError> {
        let var = |name: &str| var(name).filter(|value| !value.is_empty());
        let no_sign = var("AWS_NO_SIGN_REQUEST").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        // Without HOME, `~` stays as it is and names no file that is read.
        let home = var("HOME").map_or_else(|| PathBuf::from("~"), PathBuf::from);
        let file = |variable: &str, default: &str| match var(variable) {
            Some(path) => expand_home(&path, &home),
            None => home.join(".aws").join(default),
        };
        let files = [
            file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            file("AWS_CONFIG_FILE", "config"),
        ];
        let named = var("AWS_PROFILE");
        let profile = named.clone().unwrap_or_else(|| "default".to_owned());
        let in_credentials = read_profiles(&files[0], FileKind::Credentials)?.remove(&profile);
        let in_config = read_profiles(&files[1], FileKind::Config)?.remove(&profile);
        if named.is_some() && in_credentials.is_none() && in_config.is_none() {
            return Err(ConfigError::ProfileNotFound { profile, files });
        }
        let from_config = |key: &str| in_config.as_ref().and_then(|p| p.get(key)).cloned();
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .or_else(|| from_config("region").filter(|r| !r.is_empty()))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let region_name = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
        if !region.bytes().all(region_name) {
            return Err(ConfigError::BadRegion { value: region });
        }
        let endpoint = [
            ("AWS_ENDPOINT_URL_S3".to_owned(), var("AWS_ENDPOINT_URL_S3")),
            ("AWS_ENDPOINT_URL".to_owned(), var("AWS_ENDPOINT_URL")),
            (
                format!("endpoint_url in {}", files[1].display()),
                from_config("endpoint_url").filter(|e| !e.is_empty()),
            ),
        ]
        .into_iter()
        .find_map(|(from, value)| value.map(|value| (from, value)));
        let endpoint = match endpoint {
            Some((from, value)) => {
                Some(parse_endpoint(&value).ok_or(ConfigError::BadEndpoint { from, value })?)
            }
            None => None,
        };
        let credentials = if sign && !no_sign {
            let sources = Sources {
                var: &var,
                profile: &profile,
                files: &files,
                in_credentials: in_credentials.as_ref(),
                in_config: in_config.as_ref(),
            };
            Some(sources.credentials()?)
        } else {
            None
        };
        Ok(Store {
            region,
            endpoint,
            credentials,
        })
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The custom endpoint, if one was set.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_ref().map(Url::as_str)
    }

    /// Whether requests are signed.
    pub fn signs(&self) -> bool {
        self.credentials.is_some()
    }
}

/// Everything the credential chain looks at.
struct Sources<'a> {
    var: &'a dyn Fn(&str) -> Option<String>,
    profile: &'a str,
    files: &'a [PathBuf; 2],
    in_credentials: Option<&'a Profile>,
    in_config: Option<&'a Profile>,
}

impl Sources<'_> {
    /// The first credentials found, in the AWS CLI's order.
    fn credentials(&self) -> Result<Credentials, ConfigError> {
        let env = pair(
            (
                (self.var)("AWS_ACCESS_KEY_ID"),
                "AWS_ACCESS_KEY_ID".to_owned(),
            ),
            (
                (self.var)("AWS_SECRET_ACCESS_KEY"),
                "AWS_SECRET_ACCESS_KEY".to_owned(),
            ),
            (self.var)("AWS_SESSION_TOKEN"),
        )?;
        if let Some(keys) = env {
            return Ok(Credentials::Fixed(keys));
        }
        if let Some(keys) = profile_keys(self.in_credentials, &self.files[0])? {
            return Ok(Credentials::Fixed(keys));
        }
        let process = [self.in_credentials, self.in_config]
            .into_iter()
            .flatten()
            .find_map(|p| p.get("credential_process").filter(|c| !c.is_empty()));
        if let Some(command) = process {
            return Credentials::process(command);
        }
        if let Some(keys) = profile_keys(self.in_config, &self.files[1])? {
            return Ok(Credentials::Fixed(keys));
        }
        Err(ConfigError::NoCredentials {
            profile: self.profile.to_owned(),
            files: self.files.clone(),
        })
    }
}

/// An access key and its secret, both or neither.
fn pair(
    (key, key_name): (Option<String>, String),
    (secret, secret_name): (Option<String>, String),
    token: Option<String>,
) -> Result<Option<Keys>, ConfigError> {
    match (key, secret) {
        (Some(access_key), Some(secret)) => Ok(Some(Keys {
            access_key,
            secret,
            token,
            expires: None,
        })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError::HalfKeys {
            given: key_name,
            missing: secret_name,
        }),
        (None, Some(_)) => Err(ConfigError::HalfKeys {
            given: secret_name,
            missing: key_name,
        }),
    }
}

/// A profile's `aws_access_key_id` and `aws_secret_access_key` (with `aws_session_token`).
fn profile_keys(profile: Option<&Profile>, path: &Path) -> Result<Option<Keys>, ConfigError> {
    let Some(profile) = profile else {
        return Ok(None);
    };
    let get = |key: &str| profile.get(key).filter(|v| !v.is_empty()).cloned();
    let name = |key: &str| format!("{key} in {}", path.display());
    pair(
        (get("aws_access_key_id"), name("aws_access_key_id")),
        (get("aws_secret_access_key"), name("aws_secret_access_key")),
        get("aws_session_token"),
    )
}

/// The profiles of `path`; none when it does not exist (or is under a `~` that HOME did
/// not resolve).
fn read_profiles(path: &Path, kind: FileKind) -> Result<HashMap<String, Profile>, ConfigError> {
    if path.starts_with("~") {
        return Ok(HashMap::new());
    }
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(profile::parse(&text, kind)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(HashMap::new()),
        Err(source) => Err(ConfigError::Unreadable {
            path: path.to_owned(),
            source,
        }),
    }
}

/// `~/x` as `HOME/x`.
fn expand_home(path: &str, home: &Path) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => PathBuf::from(path),
    }
}

/// An endpoint URL: http or https, a host, no query or fragment.
fn parse_endpoint(value: &str) -> Option<Url> {
    let url = Url::parse(value).ok()?;
    let usable = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.query().is_none()
        && url.fragment().is_none();
    usable.then_some(url)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// A home directory with `.aws/credentials` and `.aws/config` as given.
    fn home(credentials: &str, config: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join(".aws")).unwrap();
        fs::write(dir.path().join(".aws/credentials"), credentials).unwrap();
        fs::write(dir.path().join(".aws/config"), config).unwrap();
        dir
    }

    fn store(home: &Path, vars: &[(&str, &str)]) -> Result<Store, ConfigError> {
        let home = home.display().to_string();
        Store::from_vars(
            |name| match name {
                "HOME" => Some(home.clone()),
                _ => vars
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string()),
            },
            true,
        )
    }

    fn access_key(store: &Store) -> String {
        store
            .credentials
            .as_ref()
            .unwrap()
            .keys()
            .unwrap()
            .access_key
    }

    const CREDENTIALS: &str = "[default]\naws_access_key_id = FILE\naws_secret_access_key = s\n\
                               [dev]\naws_access_key_id = DEVFILE\naws_secret_access_key = s\n";
    const CONFIG: &str = "[default]\nregion = eu-west-1\n\
                          [profile dev]\nregion = ap-south-1\nendpoint_url = http://127.0.0.1:9/\n\
                          [profile cfg]\naws_access_key_id = CONFIG\naws_secret_access_key = s\n";

    #[test]
    fn the_environment_comes_before_the_files() {
        let dir = home(CREDENTIALS, CONFIG);
        let env = [("AWS_ACCESS_KEY_ID", "ENV"), ("AWS_SECRET_ACCESS_KEY", "s")];
        assert_eq!(access_key(&store(dir.path(), &env).unwrap()), "ENV");
        let store = store(dir.path(), &[]).unwrap();
        assert_eq!(access_key(&store), "FILE");
        assert_eq!(store.region(), "eu-west-1");
        assert_eq!(store.endpoint(), None);
    }

    #[test]
    fn a_profile_brings_its_keys_region_and_endpoint() {
        let dir = home(CREDENTIALS, CONFIG);
        let dev = store(dir.path(), &[("AWS_PROFILE", "dev")]).unwrap();
        assert_eq!(access_key(&dev), "DEVFILE");
        assert_eq!(dev.region(), "ap-south-1");
        assert_eq!(dev.endpoint(), Some("http://127.0.0.1:9/"));
        let vars = [
            ("AWS_PROFILE", "dev"),
            ("AWS_DEFAULT_REGION", "us-west-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.2:8"),
        ];
        let overridden = store(dir.path(), &vars).unwrap();
        assert_eq!(overridden.region(), "us-west-1");
        assert_eq!(overridden.endpoint(), Some("http://127.0.0.2:8/"));
        let vars = [
            ("AWS_REGION", "us-west-2"),
            ("AWS_DEFAULT_REGION", "us-west-1"),
        ];
        assert_eq!(store(dir.path(), &vars).unwrap().region(), "us-west-2");
        let vars = [
            ("AWS_ENDPOINT_URL_S3", "http://a:1"),
            ("AWS_ENDPOINT_URL", "http://b:2"),
        ];
        assert_eq!(
            store(dir.path(), &vars).unwrap().endpoint(),
            Some("http://a:1/")
        );
        let cfg = store(dir.path(), &[("AWS_PROFILE", "cfg")]).unwrap();
        assert_eq!(access_key(&cfg), "CONFIG");
        assert_eq!(cfg.region(), "us-east-1");
    }

    #[test]
    fn what_is_missing_or_wrong_is_named() {
        let dir = home("", "");
        let err = store(dir.path(), &[]).unwrap_err();
        assert!(matches!(err, ConfigError::NoCredentials { .. }), "{err}");
        assert!(err.to_string().contains(".aws/credentials"), "{err}");
        let err = store(dir.path(), &[("AWS_PROFILE", "nope")]).unwrap_err();
        assert!(matches!(err, ConfigError::ProfileNotFound { .. }), "{err}");
        let err = store(dir.path(), &[("AWS_ACCESS_KEY_ID", "A")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
        );
        let err = store(dir.path(), &[("AWS_ENDPOINT_URL", "localhost:9000")]).unwrap_err();
        assert!(matches!(err, ConfigError::BadEndpoint { .. }), "{err}");
        let err = store(dir.path(), &[("AWS_REGION", "x.evil/")]).unwrap_err();
        assert!(matches!(err, ConfigError::BadRegion { .. }), "{err}");
        // Unsigned needs no credentials.
        let vars = [("AWS_NO_SIGN_REQUEST", "true")];
        assert!(!store(dir.path(), &vars).unwrap().signs());
    }

    #[test]
    fn aws_urls_are_virtual_hosted_custom_ones_path_style() {
        let dir = home(CREDENTIALS, "");
        let aws = store(dir.path(), &[("AWS_REGION", "eu-west-1")]).unwrap();
        assert_eq!(
            aws.object_url("my-bucket", "a b/ü+c.txt").as_str(),
            "https://my-bucket.s3.eu-west-1.amazonaws.com/a%20b/%C3%BC%2Bc.txt"
        );
        assert_eq!(
            aws.object_url("my.bucket", "k").as_str(),
            "https://s3.eu-west-1.amazonaws.com/my.bucket/k"
        );
        let custom = store(dir.path(), &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")]).unwrap();
        assert_eq!(
            custom.object_url("b", "/x").as_str(),
            "http://127.0.0.1:9000/b//x"
        );
        let signed = custom.presign(rusty_s3::Method::Get, "b", "k").unwrap();
        assert!(signed.starts_with("http://127.0.0.1:9000/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=FILE%2F"), "{signed}");
        assert!(signed.contains("&X-Amz-Signature="), "{signed}");
    }
}
