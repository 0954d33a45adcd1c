//! The metadata cache (README, "Cache"): what a command learned about a zip archive (its
//! version and its end records and central directory) kept on disk so that the next command
//! costs fewer requests. Never trusted blind: a later use rides on a request that carries
//! the validator, so the server confirms it in the same round trip.
//!
//! Entries live in a 0700 directory as 0600 files named by a hash of the URL (without
//! credentials), written to a temporary name and renamed (two writers never tear one), and
//! checked on read with a CRC-32 (a damaged entry is removed and ignored). The directory is
//! kept under a total size; the least recently used entries go first.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::http::redact::redact_url;
use crate::source::{self, Cached, Identity, Lessons, Source};

/// The default bound on the cache's total size.
pub const DEFAULT_LIMIT: u64 = 256 * 1024 * 1024;

/// The first line of every entry.
const MAGIC: &[u8] = b"rangecat-cache 1\n";
/// An entry's header (a JSON line) is at most this long.
const MAX_HEADER: u64 = 64 * 1024;

/// A cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    limit: u64,
}

/// What is kept about one archive: its version, and the bytes from `start` to its end (the
/// end records and central directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The version and the URL that answered.
    pub cached: Cached,
    /// Where `bytes` start in the resource.
    pub start: u64,
    /// The resource's last bytes.
    pub bytes: Vec<u8>,
    /// What the server taught about the requests it takes.
    pub lessons: Lessons,
}

impl Cache {
    /// The cache at `dir`, bounded to `limit` bytes.
    pub fn new(dir: PathBuf, limit: u64) -> Cache {
        Cache { dir, limit }
    }

    /// `$RANGECAT_CACHE_DIR`, else `$XDG_CACHE_HOME/rangecat`, else `~/.cache/rangecat`;
    /// `None` when none of them is set.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Option<Cache> {
        let set = |name: &str| env(name).filter(|value| !value.is_empty());
        let dir = match (
            set("RANGECAT_CACHE_DIR"),
            set("XDG_CACHE_HOME"),
            set("HOME"),
        ) {
            (Some(dir), _, _) => PathBuf::from(dir),
            (None, Some(xdg), _) => Path::new(&xdg).join("rangecat"),
            (None, None, Some(home)) => Path::new(&home).join(".cache/rangecat"),
            (None, None, None) => return None,
        };
        Some(Cache::new(dir, DEFAULT_LIMIT))
    }

    /// Where the cache lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{:016x}", fnv1a(key.as_bytes())))
    }

    /// The entry for `key`, if there is a sound one (a damaged one is removed).
    pub fn get(&self, key: &str) -> Option<Entry> {
        let path = self.path(key);
        let mut file = File::open(&path).ok()?;
        match read_entry(&mut file, key) {
            Some(entry) => {
                // Used now: the last to be evicted.
                let _ = file.set_modified(SystemTime::now());
                Some(entry)
            }
            None => {
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Keeps `entry` for `key`, replacing what was there. Best effort: a cache that cannot be
    /// written (read-only, full) is no error, the command just runs uncached next time.
    pub fn put(&self, key: &str, entry: &Entry) {
        let _ = self.try_put(key, entry);
        self.evict();
    }

    fn try_put(&self, key: &str, entry: &Entry) -> io::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        let path = self.path(key);
        let temp = self.dir.join(format!(
            ".{}.{}.tmp",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
            std::process::id()
        ));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)?;
            file.write_all(&encode(key, entry))?;
            file.sync_all()?;
            fs::rename(&temp, &path)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written
    }

    /// Forgets `key` (its copy turned out stale).
    pub fn remove(&self, key: &str) {
        let _ = fs::remove_file(self.path(key));
    }

    /// The entry kept for `url` (an archive's end records and directory with its version);
    /// only http(s) URLs have one.
    pub fn entry_for(&self, url: &str) -> Option<Entry> {
        self.get(&key(url)?)
    }

    /// Keeps `entry` for `url` (an http(s) URL; nothing is kept for others).
    pub fn keep_for(&self, url: &str, entry: &Entry) {
        if let Some(key) = key(url) {
            self.put(&key, entry);
        }
    }

    /// Forgets the entry kept for `url` (it turned out stale).
    pub fn forget(&self, url: &str) {
        if let Some(key) = key(url) {
            self.remove(&key);
        }
    }

    /// What the server at `url` taught an earlier fetch (nothing when none was kept).
    pub fn lessons_for(&self, url: &str) -> Lessons {
        lessons_key(url)
            .and_then(|key| self.get(&key))
            .map(|entry| entry.lessons)
            .unwrap_or_default()
    }

    /// Keeps what `source`, the resource at `url`, taught a fetch, when it is news beside
    /// `taught` (what the fetch started with) and the resource has a strong validator and a
    /// length: in an entry of its own beside the URL's, never mistaken for an archive's.
    pub fn keep_lessons(&self, url: &str, source: &dyn Source, taught: Lessons) {
        let lessons = source.lessons();
        if let Some(key) = lessons_key(url)
            && lessons != taught
            && let Some(cached) = source.cached()
            && let Some(len) = cached.identity.len
        {
            let entry = Entry {
                cached,
                start: len,
                bytes: Vec::new(),
                lessons,
            };
            self.put(&key, &entry);
        }
    }

    /// Removes the least recently used entries until the total is under the limit.
    fn evict(&self) {
        let Ok(listing) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = listing
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| {
                let meta = e.metadata().ok().filter(|m| m.is_file())?;
                Some((meta.modified().ok()?, meta.len(), e.path()))
            })
            .collect();
        let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        entries.sort();
        for (_, len, path) in entries {
            if total <= self.limit {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }
}

/// The key of `url`'s entry: the URL as given, credentials and signatures redacted (README,
/// "Cache"); `None` for a URL that is not http(s) or s3.
fn key(url: &str) -> Option<String> {
    source::is_remote(url).then(|| redact_url(url).to_string())
}

/// The key of the entry that keeps what the server at `url` taught a fetch: no URL holds a
/// line break, so it is never another URL's key.
fn lessons_key(url: &str) -> Option<String> {
    key(url).map(|key| key + "\nlessons")
}

/// FNV-1a, 64 bits: a file name per key (stable across builds and machines).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn encode(key: &str, entry: &Entry) -> Vec<u8> {
    let identity = &entry.cached.identity;
    let header = json!({
        "key": key,
        "url": entry.cached.final_url,
        "etag": identity.etag,
        "last_modified": identity.last_modified,
        "last_modified_is_strong": identity.last_modified_is_strong,
        "len": identity.len,
        "start": entry.start,
        "size": entry.bytes.len(),
        "crc32": crc32fast::hash(&entry.bytes),
        "lessons": {
            "multipart_refused": entry.lessons.multipart_refused,
            "part_limit": entry.lessons.part_limit,
            "suffix_refused": entry.lessons.suffix_refused,
            "head_refused": entry.lessons.head_refused,
        },
    });
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(header.to_string().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&entry.bytes);
    out
}

/// Reads an entry, `None` unless every part of it checks out.
fn read_entry(file: &mut File, key: &str) -> Option<Entry> {
    let mut magic = vec![0u8; MAGIC.len()];
    file.read_exact(&mut magic).ok()?;
    if magic != MAGIC {
        return None;
    }
    let mut reader = io::BufReader::new(file);
    let mut line = Vec::new();
    io::BufRead::read_until(&mut (&mut reader).take(MAX_HEADER), b'\n', &mut line).ok()?;
    let header: Value = serde_json::from_slice(line.strip_suffix(b"\n")?).ok()?;
    let text = |name: &str| header.get(name).and_then(Value::as_str).map(str::to_owned);
    let number = |name: &str| header.get(name).and_then(Value::as_u64);
    if text("key")? != key {
        return None;
    }
    let (len, start, size) = (number("len")?, number("start")?, number("size")?);
    // The bytes run to the end of the resource: a size that does not fits no resource.
    if start.checked_add(size)? != len {
        return None;
    }
    let mut bytes = Vec::new();
    reader.take(size + 1).read_to_end(&mut bytes).ok()?;
    if bytes.len() as u64 != size || u64::from(crc32fast::hash(&bytes)) != number("crc32")? {
        return None;
    }
    let identity = Identity {
        etag: text("etag"),
        last_modified: text("last_modified"),
        last_modified_is_strong: header.get("last_modified_is_strong")?.as_bool()?,
        len: Some(len),
        no_store: false,
    };
    let final_url = text("url")?;
    // Entries written before lessons were kept have none.
    let lessons = header.get("lessons");
    let lesson = |name: &str| lessons.and_then(|l| l.get(name)).and_then(Value::as_bool);
    let lessons = Lessons {
        multipart_refused: lesson("multipart_refused").unwrap_or(false),
        part_limit: lessons
            .and_then(|l| l.get("part_limit"))
            .and_then(Value::as_u64)
            .and_then(|limit| usize::try_from(limit).ok()),
        suffix_refused: lesson("suffix_refused").unwrap_or(false),
        head_refused: lesson("head_refused").unwrap_or(false),
    };
    identity.is_cacheable().then_some(Entry {
        cached: Cached {
            identity,
            final_url,
        },
        start,
        bytes,
        lessons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(etag: &str, size: usize) -> Entry {
        Entry {
            cached: Cached {
                identity: Identity {
                    etag: Some(etag.into()),
                    last_modified: None,
                    last_modified_is_strong: false,
                    len: Some(1000 + size as u64),
                    no_store: false,
                },
                final_url: "http://h/a.zip".into(),
            },
            start: 1000,
            bytes: vec![7; size],
            lessons: Lessons {
                part_limit: Some(10),
                head_refused: true,
                ..Lessons::default()
            },
        }
    }

    #[test]
    fn urls_are_keyed_without_their_secrets_and_only_over_http() {
        assert_eq!(
            key("https://user:pw@h/a.zip?X-Amz-Signature=abc").as_deref(),
            Some(redact_url("https://user:pw@h/a.zip?X-Amz-Signature=abc").to_string()).as_deref()
        );
        assert!(!key("https://user:pw@h/a.zip").unwrap().contains("pw"));
        assert_eq!(key("/tmp/a.zip"), None);
        assert_eq!(key("file:///tmp/a.zip"), None);
        assert_ne!(lessons_key("http://h/a"), key("http://h/a"));
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("c"), DEFAULT_LIMIT);
        cache.keep_for("http://h/a.zip", &entry("\"v1\"", 10));
        assert_eq!(cache.entry_for("http://h/a.zip"), Some(entry("\"v1\"", 10)));
        assert_eq!(cache.lessons_for("http://h/a.zip"), Lessons::default());
        cache.forget("http://h/a.zip");
        assert_eq!(cache.entry_for("http://h/a.zip"), None);
        cache.keep_for("/tmp/a.zip", &entry("\"v1\"", 10));
        assert_eq!(cache.entry_for("/tmp/a.zip"), None);
    }

    #[test]
    fn entries_round_trip_and_damage_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("c"), DEFAULT_LIMIT);
        assert_eq!(cache.get("k"), None);
        cache.put("k", &entry("\"v1\"", 100));
        assert_eq!(cache.get("k"), Some(entry("\"v1\"", 100)));
        assert_eq!(cache.get("other"), None);
        // Any byte changed: the entry is dropped, not trusted.
        let path = cache.path("k");
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, &bytes).unwrap();
        assert_eq!(cache.get("k"), None);
        assert!(!path.exists());
        // A weak ETag alone is no validator to rely on.
        cache.put("w", &entry("W/\"v1\"", 10));
        assert_eq!(cache.get("w"), None);
    }

    #[test]
    fn the_directory_and_files_are_private_and_bounded() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("c"), 3000);
        for (i, key) in ["a", "b", "c"].iter().enumerate() {
            cache.put(key, &entry("\"v\"", 1000));
            let old = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 + i as u64);
            File::options()
                .write(true)
                .open(cache.path(key))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        cache.put("d", &entry("\"v\"", 1000));
        // a and b, the least recently used, went to keep the total under 3,000 bytes.
        let kept: Vec<bool> = ["a", "b", "c", "d"]
            .iter()
            .map(|k| cache.path(k).exists())
            .collect();
        assert_eq!(kept, [false, false, true, true]);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(cache.dir()), 0o700);
        assert_eq!(mode(&cache.path("d")), 0o600);
    }

    #[test]
    fn the_directory_comes_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let dir = |c: Option<Cache>| c.map(|c| c.dir().to_owned());
        assert_eq!(
            dir(Cache::from_env(env(&[
                ("RANGECAT_CACHE_DIR", "/c"),
                ("HOME", "/h")
            ]))),
            Some("/c".into())
        );
        assert_eq!(
            dir(Cache::from_env(env(&[
                ("XDG_CACHE_HOME", "/x"),
                ("HOME", "/h")
            ]))),
            Some("/x/rangecat".into())
        );
        assert_eq!(
            dir(Cache::from_env(env(&[("HOME", "/h")]))),
            Some("/h/.cache/rangecat".into())
        );
        assert_eq!(dir(Cache::from_env(env(&[]))), None);
    }
}
