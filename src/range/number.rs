//! Numbers in RANGEs and in size options (`--gap 4KiB`): decimal or `0x` hex digits, then an
//! optional unit.
//!
//! Units are `k`, `M`, `G`, `T` (powers of 1000) or `Ki`, `Mi`, `Gi`, `Ti` (powers of 1024); the
//! letter may be either case, the `i` must be lower case. Either may be followed by `B`, and a
//! bare `B` means bytes (`10B`). Only upper-case `B` is accepted: `b` conventionally means bits.
//! Hex digits are taken greedily, so `0x1B` is 27 and `0x10KiB` is 16 KiB. Units take whole
//! numbers (`1.5M` is an error), and a value that does not fit in a `u64` is an error.

use std::fmt;

/// Why a size did not parse; quotes the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberError {
    /// The text as given.
    pub original: String,
    /// What is wrong with it: lower case, no final period.
    pub reason: String,
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid size '{}': {}", self.original, self.reason)
    }
}

impl std::error::Error for NumberError {}

/// Parse a non-negative size: decimal or 0x hex, optional unit.
///
/// ```
/// use rangecat::range::parse_size;
/// assert_eq!(parse_size("4KiB"), Ok(4096));
/// assert_eq!(parse_size("0x10"), Ok(16));
/// assert!(parse_size("1.5M").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<u64, NumberError> {
    parse_number(text).map_err(|reason| NumberError {
        original: text.to_owned(),
        reason,
    })
}

const TOO_LARGE: &str = "does not fit in 64 bits";

/// [`parse_size`] without the quoting, for RANGE bounds: the error is the reason alone.
pub(super) fn parse_number(text: &str) -> Result<u64, String> {
    if text.starts_with('-') {
        return Err("cannot be negative".into());
    }
    let (radix, body) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (16, hex),
        None => (10, text),
    };
    let end = body
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(body.len());
    let (digits, rest) = body.split_at(end);
    if digits.is_empty() {
        return Err(if radix == 16 {
            "expected hex digits after '0x'"
        } else if rest.starts_with(|c: char| "kKmMgGtTB".contains(c)) {
            "a unit needs digits before it"
        } else {
            "expected a number"
        }
        .into());
    }
    // Only overflow is left to fail: `digits` holds nothing but digits of `radix`.
    let value = u64::from_str_radix(digits, radix).map_err(|_| TOO_LARGE)?;
    if let Some(fraction) = rest.strip_prefix('.') {
        return Err(if fraction.contains(|c: char| c.is_ascii_alphabetic()) {
            "units take whole numbers"
        } else {
            "expected a whole number"
        }
        .into());
    }
    value
        .checked_mul(multiplier(rest)?)
        .ok_or_else(|| TOO_LARGE.into())
}

/// The factor a unit suffix stands for (1 for no suffix or a bare `B`).
fn multiplier(unit: &str) -> Result<u64, String> {
    let prefix = unit.strip_suffix('B').unwrap_or(unit);
    let (letter, base) = match prefix.as_bytes() {
        [] => return Ok(1),
        [letter] => (letter, 1000_u64),
        [letter, b'i'] => (letter, 1024),
        _ => return Err(unknown_unit(unit)),
    };
    let power = match letter.to_ascii_lowercase() {
        b'k' => 1,
        b'm' => 2,
        b'g' => 3,
        b't' => 4,
        _ => return Err(unknown_unit(unit)),
    };
    // At most 1024^4 = 2^40: no overflow.
    Ok(base.pow(power))
}

fn unknown_unit(unit: &str) -> String {
    format!("unknown unit '{unit}': use k, M, G, T, Ki, Mi, Gi or Ti, optionally followed by B")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_sizes() {
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("007", 7),
            ("10", 10),
            ("10B", 10),
            ("1k", 1_000),
            ("1K", 1_000),
            ("1kB", 1_000),
            ("4Ki", 4_096),
            ("4KiB", 4_096),
            ("4kiB", 4_096),
            ("2M", 2_000_000),
            ("2m", 2_000_000),
            ("2MiB", 2 << 20),
            ("1G", 1_000_000_000),
            ("1GB", 1_000_000_000),
            ("1g", 1_000_000_000),
            ("1GiB", 1 << 30),
            ("3T", 3_000_000_000_000),
            ("3tB", 3_000_000_000_000),
            ("3TiB", 3 << 40),
            ("0x10", 16),
            ("0X10", 16),
            ("0x1B", 27),
            ("0xff", 255),
            ("0x10KiB", 16 << 10),
            ("0x10K", 16_000),
            ("18446744073709551615", u64::MAX),
            ("18446744073709551615B", u64::MAX),
            ("0xffffffffffffffff", u64::MAX),
            ("16777215TiB", 16_777_215 << 40),
        ];
        for &(text, expected) in cases {
            assert_eq!(parse_size(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn rejects_bad_sizes() {
        let cases: &[(&str, &str)] = &[
            ("", "expected a number"),
            ("abc", "expected a number"),
            ("+5", "expected a number"),
            (" 5", "expected a number"),
            ("-5", "cannot be negative"),
            ("TiB", "a unit needs digits"),
            ("k", "a unit needs digits"),
            ("B", "a unit needs digits"),
            ("0x", "expected hex digits"),
            ("0xKiB", "expected hex digits"),
            ("1.5M", "units take whole numbers"),
            ("1.5KiB", "units take whole numbers"),
            ("1.5", "expected a whole number"),
            ("5 ", "unknown unit ' '"),
            ("5b", "unknown unit 'b'"),
            ("5KIB", "unknown unit 'KIB'"),
            ("5BB", "unknown unit 'BB'"),
            ("5x", "unknown unit 'x'"),
            ("5P", "unknown unit 'P'"),
            ("1:2", "unknown unit ':2'"),
            ("99999999999999999999", "does not fit in 64 bits"),
            ("0x10000000000000000", "does not fit in 64 bits"),
            ("16777216TiB", "does not fit in 64 bits"),
        ];
        for &(text, reason) in cases {
            let err = parse_size(text).unwrap_err();
            assert_eq!(err.original, text);
            assert!(err.reason.contains(reason), "{text}: {err}");
        }
    }

    #[test]
    fn error_message_quotes_the_text() {
        let err = parse_size("1.5M").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid size '1.5M': units take whole numbers"
        );
    }

    proptest! {
        #[test]
        fn decimal_hex_and_units_agree(n in 0_u64..1 << 20, unit in 0_usize..9) {
            let (suffix, factor) = [
                ("", 1), ("B", 1), ("k", 1_000), ("KiB", 1 << 10), ("M", 1_000_000),
                ("MiB", 1 << 20), ("GB", 1_000_000_000), ("Gi", 1 << 30), ("TiB", 1 << 40),
            ][unit];
            prop_assert_eq!(parse_size(&format!("{n}{suffix}")), Ok(n * factor));
            prop_assert_eq!(parse_size(&format!("{n:#x}")), Ok(n));
        }
    }
}
