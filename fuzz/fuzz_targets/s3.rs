//! What `s3://` reads that it did not write: S3 error answers (`parse_error_body`), the AWS
//! config and credentials files (`parse_profiles`), a `credential_process`'s output and
//! `s3://` URLs (`S3Url::parse`). None may panic, on any bytes; and:
//! - an error body that parses has a code, trimmed;
//! - a profile's keys are lower case, trimmed, without `=`;
//! - a URL that parses is built back from its bucket and key to the same bucket and key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rangecat::fuzzing::{parse_process_output, parse_profiles};
use rangecat::s3::{S3Url, parse_error_body};

fuzz_target!(|data: &[u8]| {
    if let Some(error) = parse_error_body(data) {
        assert!(!error.code.is_empty());
        assert_eq!(error.code, error.code.trim());
    }
    let text = String::from_utf8_lossy(data);
    for config in [true, false] {
        for (_, profile) in parse_profiles(&text, config) {
            for (key, _) in profile {
                assert_eq!(key, key.trim().to_ascii_lowercase(), "{text:?}");
                assert!(!key.contains('='), "{text:?}");
            }
        }
    }
    let _ = parse_process_output(data);
    let url = format!("s3://{text}");
    if let Ok(parsed) = S3Url::parse(&url) {
        let again = S3Url::parse(&format!("s3://{}/{}", parsed.bucket, parsed.key)).unwrap();
        assert_eq!(again, parsed, "{url:?}");
    }
});
