//! Zip reading from arbitrary bytes, through the local file source, on the path `rangecat
//! ls`, `cat` and `x` take: `Archive::open`, every entry (`for_each_entry`, with the name
//! checks `x` makes), then `select` and each member's bytes (`check_supported`,
//! `check_span`, `read_span`, then `read_member` under cat's 1 MiB hold-back limit, or
//! `copy_member` into a sink that refuses more than 16 MiB), and `decoder_memory` and
//! `extra_field_time` on the raw bytes. Nothing may panic, and memory stays bounded: run with `-rss_limit_mb=512
//! -malloc_limit_mb=256` (fuzz/run.sh does), so an allocation sized by the input's claims is
//! a finding.
#![no_main]

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rangecat::fuzzing::decoder_memory;
use rangecat::fuzzing::safe_path;
use rangecat::source::FileSource;
use rangecat::zip::Archive;
use rangecat::zip::matches;
use rangecat::zip::{check_span, check_supported, copy_member, read_member};

/// `cat`'s limit for members held in memory until their CRC-32 checks out.
const HOLD_BACK: u64 = 1024 * 1024;
/// How much of a larger member is decompressed, to bound the time a bomb takes.
const STREAMED: u64 = 16 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// One path per process, written for each input and removed once open.
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = PathBuf::from("/dev/shm");
        let dir = if dir.is_dir() {
            dir
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("rangecat-fuzz-zip-{}.zip", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    // The decompressor-memory check on any bytes, not only where a local header leads.
    if let [a, b, rest @ ..] = data {
        let _ = decoder_memory(u16::from_le_bytes([*a, *b]), rest, u64::MAX);
        // The modification time of an extra field, on any bytes.
        let dos = u32::from_le_bytes([*a, *b, 0, 0]);
        let _ = rangecat::fuzzing::extra_field_time(rest, dos);
    }
    std::fs::write(path(), data).expect("write the input");
    let source = FileSource::open(path()).expect("open the input");
    // The open file stays readable; no process leaves its file behind.
    std::fs::remove_file(path()).expect("remove the input");
    let Ok(mut archive) = Archive::open(Box::new(source)) else {
        return;
    };
    let layout = archive.layout().clone();
    assert!(layout.central_directory.start <= layout.central_directory.end);
    assert!(
        layout.central_directory.end <= data.len() as u64,
        "{layout:?}"
    );
    let mut listed = 0u64;
    let walk = archive.for_each_entry(|entry| {
        listed += 1;
        let _ = entry.method_name();
        let _ = matches("*.txt", &entry.name);
        let _ = safe_path(&entry.name);
        Ok::<(), rangecat::zip::Error>(())
    });
    if walk.is_err() {
        return;
    }
    let Ok((entries, spans)) = archive.select(|_| true) else {
        return;
    };
    assert_eq!(entries.len() as u64, listed);
    assert_eq!(entries.len(), spans.len());
    for (entry, span) in entries.iter().zip(spans) {
        assert!(
            span.start <= span.end && span.end <= layout.central_directory.start.max(span.start)
        );
        if entry.is_dir || check_supported(entry).is_err() || check_span(entry, &span).is_err() {
            continue;
        }
        let Ok(body) = archive.source_mut().read_span(span) else {
            continue;
        };
        if entry.size <= HOLD_BACK {
            if let Ok(bytes) = read_member(body, entry, HOLD_BACK, CHUNK) {
                assert_eq!(bytes.len() as u64, entry.size);
            }
        } else {
            let mut sink = Capped(STREAMED);
            if let Ok(n) = copy_member(body, entry, &mut sink, CHUNK) {
                assert_eq!(n, entry.size);
            }
        }
    }
});

/// Discards what it is given, up to a limit.
struct Capped(u64);

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len() as u64;
        if n > self.0 {
            return Err(io::Error::other("over the fuzz target's limit"));
        }
        self.0 -= n;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
