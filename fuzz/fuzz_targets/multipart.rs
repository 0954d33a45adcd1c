//! `multipart/byteranges` bodies from a server (`rangecat::source::multipart`): up to eight
//! asked spans (ascending, disjoint) and any body. Whatever the body, reading never panics,
//! never yields more than the asked bytes, and when it succeeds it has yielded exactly them;
//! memory stays bounded (parts held out of order stop at `MAX_HELD`).
#![no_main]

use std::io::Read;
use std::ops::Range;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use rangecat::fuzzing::{PartsReader, boundary};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(count) = u8::arbitrary(&mut u) else {
        return;
    };
    // Ascending, disjoint, non-empty spans below 1 MiB.
    let mut asked: Vec<Range<u64>> = Vec::new();
    let mut at = 0u64;
    for _ in 0..count % 8 + 1 {
        let (Ok(gap), Ok(len)) = (u16::arbitrary(&mut u), u16::arbitrary(&mut u)) else {
            return;
        };
        let start = at + u64::from(gap);
        let end = start + u64::from(len % 4096) + 1;
        asked.push(start..end);
        at = end;
    }
    let len = bool::arbitrary(&mut u).unwrap_or(false).then_some(at + 100);
    let body = u.take_rest();
    // The boundary as a server would declare it; a fixed one when the input has none.
    let declared = std::str::from_utf8(body)
        .ok()
        .and_then(|text| text.lines().next())
        .and_then(boundary)
        .unwrap_or_else(|| "b".to_owned());
    let want: u64 = asked.iter().map(|span| span.end - span.start).sum();
    let mut reader = PartsReader::new(body, &declared, asked.clone(), len);
    let mut out = Vec::new();
    let result = (&mut reader).take(want + 1).read_to_end(&mut out);
    assert!(
        out.len() as u64 <= want,
        "{} bytes for {asked:?}",
        out.len()
    );
    if result.is_ok() {
        assert_eq!(out.len() as u64, want, "{asked:?}");
    }
    if let Some(single) = asked.first().cloned() {
        let whole = single.start..asked.last().map_or(single.end, |last| last.end);
        if let Some(mut reader) = PartsReader::single(body, whole, asked, len) {
            let mut out = Vec::new();
            let _ = (&mut reader).take(want + 1).read_to_end(&mut out);
            assert!(out.len() as u64 <= want);
        }
    }
});
