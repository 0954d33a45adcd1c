//! The internals the fuzz targets in `fuzz/` drive directly: parsers of what servers and
//! archives send. Not an API: its items may change with any release.

pub use crate::http::content_range::{
    ContentRange, parse_content_range, range_header, served_span, show_span,
};
pub use crate::http::date::parse_http_date;
pub use crate::http::{is_token, parse_header_line};
#[cfg(feature = "serve")]
pub use crate::proxy::fuzzing::{Decoder, Framing, Step, answer_framing};
pub use crate::s3::fuzzing::{parse_process_output, parse_profiles};
pub use crate::source::multipart::{PartsReader, boundary};
pub use crate::zip::member::decoder_memory;
pub use crate::zip::path::safe_path;
pub use crate::zip::times::extra_field_time;
