//! What `serve` reads from its upstream: an answer's head (`answer_framing`, httparse and
//! RFC 9112 §6.3) and its body taken apart by that framing (`Decoder`), fed in pieces of
//! the sizes the input's first bytes choose. None may panic or loop, on any bytes; and:
//! - a head's length is within the input, and a body never hands on more than came after it;
//! - every piece is non-empty and at most a chunk;
//! - a `Content-Length` body is exactly the bytes after the head, when they all came, and an
//!   error (cut short) when they did not;
//! - the pieces do not depend on how the input was split into reads.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rangecat::fuzzing::{Decoder, Framing, Step, answer_framing};

const CHUNK: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let head_request = split & 0x80 != 0;
    let Ok(Some((framing, len))) = answer_framing(data, head_request) else {
        return;
    };
    assert!(len <= data.len());
    if head_request {
        assert_eq!(framing, Framing::Empty);
    }
    let rest = &data[len..];
    let whole = decode(framing, rest, usize::MAX);
    let pieces = decode(framing, rest, usize::from(split & 0x7f) + 1);
    assert_eq!(whole.is_ok(), pieces.is_ok(), "{framing:?}");
    if let (Ok(whole), Ok(pieces)) = (&whole, &pieces) {
        assert_eq!(whole, pieces, "{framing:?}");
        assert!(whole.len() <= rest.len());
    }
    if let Framing::Length(n) = framing {
        match usize::try_from(n).ok().filter(|&n| n <= rest.len()) {
            Some(n) => assert_eq!(whole.as_deref().ok(), Some(&rest[..n])),
            None => assert!(whole.is_err()),
        }
    }
});

/// The body, fed at most `piece` bytes a read, until it ends or errs.
fn decode(framing: Framing, mut input: &[u8], piece: usize) -> Result<Vec<u8>, ()> {
    let mut decoder = Decoder::new(framing, CHUNK);
    let mut buf = BytesMut::new();
    let mut body = Vec::new();
    // Each step takes bytes, hands some on or reads some: bounded by the input.
    for _ in 0..=4 * (input.len() + 4) {
        match decoder.step(&mut buf).map_err(drop)? {
            Step::Data(data) => {
                assert!(!data.is_empty() && data.len() <= CHUNK);
                body.extend_from_slice(&data);
            }
            Step::End => return Ok(body),
            Step::Read(most) if !input.is_empty() => {
                assert!(most > 0);
                let n = most.min(piece).min(input.len());
                buf.extend_from_slice(&input[..n]);
                input = &input[n..];
            }
            Step::Read(_) => decoder.closed().map_err(drop)?,
        }
    }
    panic!("the decoder did not finish: {decoder:?}");
}
