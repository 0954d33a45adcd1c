//! RANGE expressions: parsing (`expr`, `number`) and resolution against a known length with
//! exactly the semantics of a Python slice `data[start:end]`.

mod expr;
mod number;

pub use expr::{Bound, ByteRange, OutOfBounds, RangeError, RangeExpr};
pub use number::{NumberError, parse_size};
