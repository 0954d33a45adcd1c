//! `rangecat info`: the text lines and the `--json` object, what they say about servers with
//! and without working ranges and about local files, and how many requests they cost.

use httpmock::Method::HEAD;
use httpmock::prelude::*;

use crate::util;
use crate::util::errors::assert_runtime_error;
use crate::util::server::{CONTENT_TYPE, ETAG_V1, LAST_MODIFIED_V1, Mode, Server};

const LEN: usize = 1000;

/// `rangecat info [args]`, asserting success; returns stdout as text.
#[track_caller]
fn info(args: &[&str]) -> String {
    let output = util::rangecat().arg("info").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "rangecat info {args:?}: exit {:?}, stderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("info prints UTF-8")
}

/// The `key: value` lines of the text output, in order.
#[track_caller]
fn fields(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|line| {
            let (key, value) = line
                .split_once(": ")
                .unwrap_or_else(|| panic!("not 'key: value': {line:?}"));
            (key.to_string(), value.to_string())
        })
        .collect()
}

const KEYS: [&str; 7] = [
    "url",
    "length",
    "ranges",
    "accept-ranges",
    "content-type",
    "etag",
    "last-modified",
];

#[track_caller]
fn assert_keys_in_order(fields: &[(String, String)]) {
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, KEYS);
}

#[test]
fn info_on_a_range_server_says_yes_with_length_and_strong_etag() {
    let server = Server::start(util::data(LEN), Mode::Ranges);
    let url = server.url("/file.bin");
    let text = info(&[&url]);
    let fields = fields(&text);
    assert_keys_in_order(&fields);
    let value = |i: usize| fields[i].1.as_str();
    assert_eq!(value(0), url);
    assert!(
        value(1).starts_with("1000 (") && value(1).ends_with(')'),
        "length: {}",
        value(1)
    );
    assert_eq!(value(2), "yes");
    assert_eq!(value(3), "bytes");
    assert_eq!(value(4), CONTENT_TYPE);
    assert_eq!(value(5), format!("{ETAG_V1} (strong)"));
    assert_eq!(value(6), LAST_MODIFIED_V1);

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "requests:\n{}", server.summary());
    assert_eq!(
        (requests[0].method.as_str(), requests[0].range()),
        ("GET", Some("bytes=0-0"))
    );
}

#[test]
fn info_on_a_server_ignoring_range_says_no() {
    let server = Server::start(util::data(LEN), Mode::IgnoresRange);
    let url = server.url("/file.bin");
    let fields = fields(&info(&[&url]));
    assert_keys_in_order(&fields);
    assert!(fields[1].1.starts_with("1000 ("), "length: {}", fields[1].1);
    assert_eq!(fields[2].1, "no");
    assert_eq!(fields[3].1, "none", "the server sends no Accept-Ranges");
    server.assert_requests(1, "server");
}

#[test]
fn info_json_on_a_range_server() {
    let server = Server::start(util::data(LEN), Mode::Ranges);
    let url = server.url("/file.bin");
    let object = json::parse_object(&info(&["--json", &url]));
    assert_eq!(object.get("url"), Some(&json::Value::Str(url.clone())));
    assert_eq!(object.get("length"), Some(&json::Value::Num(1000.0)));
    assert_eq!(object.get("ranges"), Some(&json::Value::Bool(true)));
    assert_eq!(
        object.get("accept_ranges"),
        Some(&json::Value::Str("bytes".into()))
    );
    assert_eq!(
        object.get("content_type"),
        Some(&json::Value::Str(CONTENT_TYPE.into()))
    );
    assert_eq!(object.get("etag"), Some(&json::Value::Str(ETAG_V1.into())));
    assert_eq!(object.get("etag_weak"), Some(&json::Value::Bool(false)));
    assert_eq!(
        object.get("last_modified"),
        Some(&json::Value::Str(LAST_MODIFIED_V1.into()))
    );
    server.assert_requests(1, "server");
}

#[test]
fn info_json_on_a_server_ignoring_range() {
    let server = Server::start(util::data(LEN), Mode::IgnoresRange);
    let object = json::parse_object(&info(&["--json", &server.url("/file.bin")]));
    assert_eq!(object.get("ranges"), Some(&json::Value::Bool(false)));
    assert_eq!(object.get("length"), Some(&json::Value::Num(1000.0)));
    assert_eq!(object.get("accept_ranges"), Some(&json::Value::Null));
}

#[test]
fn info_sends_a_head_only_when_the_206_lacks_headers() {
    let server = MockServer::start();
    let data = util::data(LEN);
    // A 206 without Accept-Ranges and Content-Type, as some servers send.
    let get = server.mock(|when, then| {
        when.method(GET)
            .path("/file.bin")
            .header("range", "bytes=0-0");
        then.status(206)
            .header("content-range", "bytes 0-0/1000")
            .header("etag", "W/\"weak1\"")
            .body(&data[..1]);
    });
    let head = server.mock(|when, then| {
        when.method(HEAD).path("/file.bin");
        then.status(200)
            .header("content-length", "1000")
            .header("accept-ranges", "bytes")
            .header("content-type", "video/mp4")
            .header("etag", "W/\"weak1\"");
    });
    let fields = fields(&info(&[&server.url("/file.bin")]));
    assert_keys_in_order(&fields);
    assert_eq!(fields[2].1, "yes");
    assert_eq!(fields[3].1, "bytes");
    assert_eq!(fields[4].1, "video/mp4");
    assert_eq!(fields[5].1, "W/\"weak1\" (weak)");
    assert_eq!(fields[6].1, "none");
    get.assert_calls(1);
    head.assert_calls(1);

    let object = json::parse_object(&info(&["--json", &server.url("/file.bin")]));
    assert_eq!(object.get("etag_weak"), Some(&json::Value::Bool(true)));
    assert_eq!(object.get("last_modified"), Some(&json::Value::Null));
}

#[test]
fn info_on_a_local_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.bin");
    std::fs::write(&path, util::data(LEN)).unwrap();
    for source in [
        path.display().to_string(),
        format!("file://{}", path.display()),
    ] {
        let fields = fields(&info(&[&source]));
        assert_keys_in_order(&fields);
        assert!(
            fields[1].1.starts_with("1000 ("),
            "{source}: length: {}",
            fields[1].1
        );
        assert_eq!(
            fields[2].1, "yes",
            "{source}: a local file can always be read in ranges"
        );

        let object = json::parse_object(&info(&["--json", &source]));
        assert_eq!(
            object.get("length"),
            Some(&json::Value::Num(1000.0)),
            "{source}"
        );
        assert_eq!(
            object.get("ranges"),
            Some(&json::Value::Bool(true)),
            "{source}"
        );
    }
}

#[test]
fn info_on_a_404_is_an_error() {
    let server = Server::start(util::data(LEN), Mode::Status(404));
    let output = util::rangecat()
        .arg("info")
        .arg(server.url("/missing.bin"))
        .output()
        .unwrap();
    let message = assert_runtime_error(&output);
    assert!(message.contains("404"), "{message}");
}

/// Just enough JSON to check `info --json` without serde: one object of scalars (nested
/// values are parsed too, so a well-formed object of any shape is accepted).
mod json {
    use std::collections::BTreeMap;

    #[derive(Debug, Clone, PartialEq)]
    pub enum Value {
        Null,
        Bool(bool),
        Num(f64),
        Str(String),
        Array(Vec<Value>),
        Object(BTreeMap<String, Value>),
    }

    /// Parses `text` as exactly one JSON object (surrounding whitespace allowed).
    #[track_caller]
    pub fn parse_object(text: &str) -> BTreeMap<String, Value> {
        let mut parser = Parser {
            text: text.as_bytes(),
            pos: 0,
        };
        let value = parser
            .value()
            .unwrap_or_else(|e| panic!("invalid JSON ({e}): {text}"));
        parser.skip_ws();
        assert_eq!(
            parser.pos,
            text.len(),
            "trailing text after the JSON object: {text}"
        );
        match value {
            Value::Object(map) => map,
            other => panic!("not a JSON object: {other:?}"),
        }
    }

    struct Parser<'a> {
        text: &'a [u8],
        pos: usize,
    }

    impl Parser<'_> {
        fn skip_ws(&mut self) {
            while self
                .text
                .get(self.pos)
                .is_some_and(|b| b.is_ascii_whitespace())
            {
                self.pos += 1;
            }
        }

        fn eat(&mut self, byte: u8) -> Result<(), String> {
            self.skip_ws();
            if self.text.get(self.pos) == Some(&byte) {
                self.pos += 1;
                Ok(())
            } else {
                Err(format!("expected '{}' at {}", byte as char, self.pos))
            }
        }

        fn value(&mut self) -> Result<Value, String> {
            self.skip_ws();
            let rest = &self.text[self.pos..];
            for (word, value) in [
                ("null", Value::Null),
                ("true", Value::Bool(true)),
                ("false", Value::Bool(false)),
            ] {
                if rest.starts_with(word.as_bytes()) {
                    self.pos += word.len();
                    return Ok(value);
                }
            }
            match rest.first() {
                Some(b'"') => self.string().map(Value::Str),
                Some(b'{') => self.object(),
                Some(b'[') => self.array(),
                Some(b'-' | b'0'..=b'9') => self.number(),
                _ => Err(format!("unexpected input at {}", self.pos)),
            }
        }

        fn object(&mut self) -> Result<Value, String> {
            self.eat(b'{')?;
            let mut map = BTreeMap::new();
            self.skip_ws();
            if self.eat(b'}').is_ok() {
                return Ok(Value::Object(map));
            }
            loop {
                self.skip_ws();
                let key = self.string()?;
                self.eat(b':')?;
                let value = self.value()?;
                if map.insert(key.clone(), value).is_some() {
                    return Err(format!("duplicate key {key:?}"));
                }
                if self.eat(b',').is_err() {
                    self.eat(b'}')?;
                    return Ok(Value::Object(map));
                }
            }
        }

        fn array(&mut self) -> Result<Value, String> {
            self.eat(b'[')?;
            let mut items = Vec::new();
            if self.eat(b']').is_ok() {
                return Ok(Value::Array(items));
            }
            loop {
                items.push(self.value()?);
                if self.eat(b',').is_err() {
                    self.eat(b']')?;
                    return Ok(Value::Array(items));
                }
            }
        }

        fn number(&mut self) -> Result<Value, String> {
            let start = self.pos;
            while self.text.get(self.pos).is_some_and(|b| {
                b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')
            }) {
                self.pos += 1;
            }
            let text = std::str::from_utf8(&self.text[start..self.pos]).unwrap();
            text.parse()
                .map(Value::Num)
                .map_err(|_| format!("bad number {text:?}"))
        }

        fn string(&mut self) -> Result<String, String> {
            self.eat(b'"')?;
            let mut out = Vec::new();
            loop {
                let byte = *self.text.get(self.pos).ok_or("unterminated string")?;
                self.pos += 1;
                match byte {
                    b'"' => return String::from_utf8(out).map_err(|e| e.to_string()),
                    b'\\' => {
                        let escape = *self.text.get(self.pos).ok_or("unterminated escape")?;
                        self.pos += 1;
                        let c = match escape {
                            b'"' => '"',
                            b'\\' => '\\',
                            b'/' => '/',
                            b'b' => '\u{8}',
                            b'f' => '\u{c}',
                            b'n' => '\n',
                            b'r' => '\r',
                            b't' => '\t',
                            b'u' => {
                                let hex =
                                    self.text.get(self.pos..self.pos + 4).ok_or("short \\u")?;
                                self.pos += 4;
                                let code =
                                    u32::from_str_radix(std::str::from_utf8(hex).unwrap(), 16)
                                        .map_err(|e| e.to_string())?;
                                char::from_u32(code).unwrap_or('\u{fffd}')
                            }
                            other => return Err(format!("bad escape \\{}", other as char)),
                        };
                        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    }
                    0x00..=0x1f => return Err("control character in string".into()),
                    _ => out.push(byte),
                }
            }
        }
    }

    #[test]
    fn parser_reads_the_shapes_info_prints() {
        let map = parse_object(
            r#" {"a": "x\"y", "n": 1000, "t": true, "z": null, "l": [1, {"b": false}]} "#,
        );
        assert_eq!(map["a"], Value::Str("x\"y".into()));
        assert_eq!(map["n"], Value::Num(1000.0));
        assert_eq!(map["t"], Value::Bool(true));
        assert_eq!(map["z"], Value::Null);
        assert!(matches!(map["l"], Value::Array(ref items) if items.len() == 2));
    }
}

#[test]
fn info_reports_the_url_after_redirects() {
    let server = MockServer::start();
    let data = util::data(LEN);
    server.mock(|when, then| {
        when.method(GET).path("/old.bin");
        then.status(301).header("location", "/new.bin");
    });
    server.mock(|when, then| {
        when.method(GET)
            .path("/new.bin")
            .header("range", "bytes=0-0");
        then.status(206)
            .header("content-range", "bytes 0-0/1000")
            .header("accept-ranges", "bytes")
            .header("content-type", "application/zip")
            .body(&data[..1]);
    });
    let fields = fields(&info(&[&server.url("/old.bin")]));
    assert_eq!(fields[0], ("url".to_owned(), server.url("/new.bin")));
    assert!(fields[1].1.starts_with("1000 ("), "{:?}", fields[1]);
}
