//! The AWS shared config and credentials files (`~/.aws/config`, `~/.aws/credentials`), read
//! as the AWS CLI reads them: `[NAME]` sections in the credentials file, `[default]` and
//! `[profile NAME]` in the config file, `key = value` lines with keys in any case, whole-line
//! `#` and `;` comments. An indented line under a key with no value belongs to that key
//! (`s3 =` then `  addressing_style = path`) and is kept as `s3.addressing_style`, so that it
//! is never taken for a setting of the profile itself. This is not INI as INI crates read
//! it, hence the few lines here.

use std::collections::HashMap;

/// One profile's settings, keys in lower case.
pub(crate) type Profile = HashMap<String, String>;

/// Which of the two files the text comes from (they name sections differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Config,
    Credentials,
}

/// The profiles of a file, by name.
pub(crate) fn parse(text: &str, kind: FileKind) -> HashMap<String, Profile> {
    let mut profiles: HashMap<String, Profile> = HashMap::new();
    // The section being read, if it is a profile; and the key whose indented lines follow.
    let mut section: Option<String> = None;
    let mut parent: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = profile_name(name.trim(), kind);
            if let Some(name) = &section {
                profiles.entry(name.clone()).or_default();
            }
            parent = None;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
        let Some(profile) = section.as_ref().and_then(|s| profiles.get_mut(s)) else {
            continue;
        };
        let indented = raw.starts_with([' ', '\t']);
        match &parent {
            Some(parent) if indented => {
                profile.insert(format!("{parent}.{key}"), value.to_owned());
            }
            _ => {
                parent = value.is_empty().then(|| key.clone());
                profile.insert(key, value.to_owned());
            }
        }
    }
    profiles
}

/// The profile a section header names: in the config file `default` or `profile NAME`
/// (other sections, `sso-session` or `services`, name none); in the credentials file any.
fn profile_name(header: &str, kind: FileKind) -> Option<String> {
    match kind {
        FileKind::Credentials => Some(header.to_owned()),
        FileKind::Config if header == "default" => Some(header.to_owned()),
        FileKind::Config => header
            .strip_prefix("profile")
            .filter(|rest| rest.starts_with([' ', '\t']))
            .map(|rest| rest.trim().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_sections_are_profiles_by_their_aws_names() {
        let text = "\
# comment
[default]
region = eu-west-1
[profile dev]
Region=us-west-2
endpoint_url = http://127.0.0.1:9000
s3 =
  addressing_style = path
  endpoint_url = http://elsewhere
credential_process = /bin/tool --profile \"a b\"
[sso-session corp]
region = ap-south-1
[services local]
s3 =
  endpoint_url = http://127.0.0.1:1
";
        let profiles = parse(text, FileKind::Config);
        assert_eq!(profiles.len(), 2, "{profiles:?}");
        assert_eq!(profiles["default"]["region"], "eu-west-1");
        let dev = &profiles["dev"];
        assert_eq!(dev["region"], "us-west-2");
        assert_eq!(dev["endpoint_url"], "http://127.0.0.1:9000");
        assert_eq!(dev["s3.endpoint_url"], "http://elsewhere");
        assert_eq!(dev["s3.addressing_style"], "path");
        assert_eq!(dev["credential_process"], "/bin/tool --profile \"a b\"");
    }

    #[test]
    fn credentials_sections_are_profiles_by_name() {
        let text = "[default]\naws_access_key_id = AK\naws_secret_access_key = S/k=\n\n; x\n[profile dev]\naws_access_key_id=B\n";
        let profiles = parse(text, FileKind::Credentials);
        assert_eq!(profiles["default"]["aws_secret_access_key"], "S/k=");
        assert_eq!(profiles["profile dev"]["aws_access_key_id"], "B");
        assert!(!profiles.contains_key("dev"));
    }
}
