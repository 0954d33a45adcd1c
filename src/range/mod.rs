//! RANGE expressions: parsing (`expr`, `number`) and resolution against a known length with
//! exactly the semantics of a Python slice `data[start:end]`.
//!
//! ```
//! use rangecat::range::{ByteRange, RangeExpr};
//!
//! let all_but_last_kib: RangeExpr = ":-1KiB".parse().unwrap();
//! assert_eq!(all_but_last_kib.resolve(4096), 0..3072);
//! // The last 100 bytes need no length to be asked for: a suffix request.
//! let tail: RangeExpr = "-100:".parse().unwrap();
//! assert_eq!(tail.without_length(), Some(ByteRange::Suffix(100)));
//! ```

mod expr;
mod number;

pub use expr::{Bound, ByteRange, OutOfBounds, RangeError, RangeExpr};
pub use number::{NumberError, parse_size};
