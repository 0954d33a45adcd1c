//! The read buffers of upstream answers, kept per worker thread and reused: an answer takes
//! one, reads its head and body through it (each body frame is a slice of it, handed to
//! hyper as `Bytes`), and gives it back when done. Once hyper has written and dropped the
//! frames, reading into the same buffer again reuses its memory (`BytesMut::reserve`
//! reclaims a buffer nobody else holds) rather than allocating, so memory stays where it is
//! and glibc's heap does not grow, shrink and fault back in between answers.

use std::cell::RefCell;

use bytes::BytesMut;

/// Buffers kept per worker; more are freed. Each touches only the pages its answers used.
const KEPT: usize = 64;

thread_local! {
    static IDLE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

/// A buffer with room for `capacity` bytes: the last one kept by this thread whose frames
/// hyper has dropped (an answer's last frame is often still being written when its buffer
/// comes back), else a new one.
pub(crate) fn take(capacity: usize) -> BytesMut {
    let kept = IDLE.with(|idle| {
        let mut idle = idle.borrow_mut();
        let free = idle.iter_mut().rposition(|buf| buf.try_reclaim(capacity))?;
        Some(idle.swap_remove(free))
    });
    kept.unwrap_or_else(|| BytesMut::with_capacity(capacity))
}

/// Keeps `buf` for this thread's next answer.
pub(crate) fn give_back(mut buf: BytesMut) {
    buf.clear();
    IDLE.with(|idle| {
        let mut idle = idle.borrow_mut();
        if idle.len() < KEPT {
            idle.push(buf);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_is_reused_once_its_frames_are_dropped() {
        let mut buf = take(4096);
        buf.extend_from_slice(&[7; 1000]);
        let frame = buf.split_to(1000).freeze();
        let start = frame.as_ptr();
        drop(frame);
        give_back(buf);
        let again = take(4096);
        assert_eq!(again.as_ptr(), start, "the same memory, from its start");
        assert!(again.capacity() >= 4096);
    }

    #[test]
    fn a_buffer_whose_frame_is_still_held_is_left_for_later() {
        let mut first = take(4096);
        first.extend_from_slice(&[7; 1000]);
        let frame = first.split_to(1000).freeze();
        let first_start = frame.as_ptr();
        give_back(first);
        // Its frame is still held: another buffer, and the frame's bytes stay as they were.
        let mut second = take(4096);
        assert_ne!(second.as_ptr(), first_start);
        second.extend_from_slice(&[9; 4096]);
        assert!(frame.iter().all(|&b| b == 7));
        drop(second);
        // Once the frame is dropped, the first is reused, from its start.
        drop(frame);
        assert_eq!(take(4096).as_ptr(), first_start);
    }
}
