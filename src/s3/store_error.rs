//! An object store's error answer ([`StoreError`]) and the XML body it comes in:
//! `<Error><Code>NoSuchKey</Code><Message>…</Message></Error>`, with `<Region>` or
//! `<Endpoint>` when the bucket is elsewhere.

use std::fmt;

use quick_xml::Reader;
use quick_xml::events::Event;

/// What an S3 error answer says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// `Code`: `NoSuchKey`, `AccessDenied`, `SignatureDoesNotMatch`, …
    pub code: String,
    /// `Message`, in words.
    pub message: String,
    /// `Region`: where the bucket is, when the request went to the wrong one.
    pub region: Option<String>,
    /// `Endpoint`: where to address the bucket (`PermanentRedirect`).
    pub endpoint: Option<String>,
}

/// An object store's error answer, as rangecat shows it:
/// `s3://b/k: 404 NoSuchKey: The specified key does not exist.`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    /// The `s3://` URL.
    pub url: String,
    /// The status code.
    pub status: u16,
    /// The S3 error code (`NoSuchKey`), or the status's reason phrase when the answer has
    /// none (a `HEAD`'s).
    pub code: String,
    /// The store's message, if any.
    pub message: String,
    /// The region the store says the bucket is in, when it is not the one asked.
    pub region: Option<String>,
    /// The `Range` asked for, when an earlier response was fine.
    pub range: Option<String>,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} {}", self.url, self.status, self.code)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(range) = &self.range {
            write!(f, " (for {range})")?;
        }
        if let Some(region) = &self.region {
            write!(
                f,
                " (the bucket is in {region}: AWS_REGION={region} reaches it)"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for StoreError {}

/// Most characters of a field shown.
const MAX_FIELD: usize = 1000;

/// The error an S3 answer's body holds, if it is one (`<Error>` with a `<Code>`).
pub fn parse_error_body(body: &[u8]) -> Option<ErrorBody> {
    let mut reader = Reader::from_reader(body);
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut found = ErrorBody::default();
    let mut in_error = false;
    // Bounded: every event consumes input, and the input is bounded by the caller.
    loop {
        match reader.read_event().ok()? {
            Event::Start(start) => {
                let name = start.name().as_ref().to_vec();
                in_error |= path.is_empty() && name == b"Error";
                path.push(name);
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Text(text) if in_error && path.len() == 2 => {
                if let Some(field) = field_of(&mut found, &path[1]) {
                    field.push_str(&text.decode().ok()?);
                }
            }
            // `&amp;`, `&#38;`: entities arrive apart from the text around them.
            Event::GeneralRef(entity) if in_error && path.len() == 2 => {
                let name = entity.decode().ok()?;
                let resolved = match entity.resolve_char_ref().ok()? {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&name)?.to_owned(),
                };
                if let Some(field) = field_of(&mut found, &path[1]) {
                    field.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    // Trimmed, and at most MAX_FIELD characters: a message is shown on one line.
    let trim = |text: &mut String| {
        let trimmed = text.trim();
        *text = match trimmed.char_indices().nth(MAX_FIELD) {
            Some((cut, _)) => format!("{}...", &trimmed[..cut]),
            None => trimmed.to_owned(),
        };
    };
    trim(&mut found.code);
    trim(&mut found.message);
    found.region.as_mut().map(trim);
    found.endpoint.as_mut().map(trim);
    (in_error && !found.code.is_empty()).then_some(found)
}

/// The field an element of `<Error>` fills, if it is one rangecat shows.
fn field_of<'a>(found: &'a mut ErrorBody, element: &[u8]) -> Option<&'a mut String> {
    match element {
        b"Code" => Some(&mut found.code),
        b"Message" => Some(&mut found.message),
        b"Region" => Some(found.region.get_or_insert_default()),
        b"Endpoint" => Some(found.endpoint.get_or_insert_default()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_messages_and_regions_are_read() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint &amp; so on.</Message><Endpoint>b.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>b</Bucket><Region>eu-west-1</Region><RequestId>X</RequestId></Error>"#;
        let error = parse_error_body(body).unwrap();
        assert_eq!(error.code, "PermanentRedirect");
        assert!(
            error.message.ends_with("endpoint & so on."),
            "{}",
            error.message
        );
        assert_eq!(error.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            error.endpoint.as_deref(),
            Some("b.s3.eu-west-1.amazonaws.com")
        );
    }

    #[test]
    fn long_messages_are_cut() {
        let body = format!(
            "<Error><Code>X</Code><Message>{}</Message></Error>",
            "é".repeat(5000)
        );
        let error = parse_error_body(body.as_bytes()).unwrap();
        assert_eq!(error.message, format!("{}...", "é".repeat(1000)));
    }

    #[test]
    fn other_bodies_are_no_error() {
        for body in [
            &b"<html>nope</html>"[..],
            b"<Error><Message>no code</Message></Error>",
            b"<Other><Code>X</Code></Other>",
            b"not xml <<<",
            b"",
        ] {
            assert_eq!(parse_error_body(body), None, "{body:?}");
        }
    }
}
