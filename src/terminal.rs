//! What rangecat writes for a person to read: control characters that came from the network
//! or an archive (entry names, header values, URLs) are shown escaped, so that no byte of
//! theirs can move the cursor, recolour or retitle the user's terminal.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with C0 controls, DEL and C1 controls written as `\xNN` (C1: `\u{NN}`); tabs too,
/// so that one line stays one line of columns.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    // Every control is a byte under 0x20, DEL, or (C1, U+0080-U+009F) led by 0xC2 in UTF-8:
    // text without those bytes, most of it, is not decoded at all.
    // (A fold, not `any`, so that the compiler checks many bytes at once.)
    let maybe_control = |seen, b: &u8| seen | (*b < 0x20) | (*b == 0x7f) | (*b == 0xc2);
    if !text.as_bytes().iter().fold(false, maybe_control) || !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\0'..='\x1f' | '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Writes `line` and a newline to stderr, its control characters escaped. A closed stderr
/// (`2>&1 | head`) loses the line, never the command: `eprintln!` would panic, on any
/// thread that logs. One `write(2)` a line (stderr is unbuffered: `writeln!` made two, the
/// line and its newline), so that a line reaches a log file shared with others whole.
pub fn eprint_line(line: &str) {
    use std::io::Write;
    let escaped = escape_controls(line);
    let mut line = String::with_capacity(escaped.len() + 1);
    line.push_str(&escaped);
    line.push('\n');
    let _ = std::io::stderr().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_the_rest_kept() {
        let cases = [
            ("plain ünïcödé name.txt", "plain ünïcödé name.txt"),
            ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
            ("a\nb\rc\td", "a\\x0ab\\x0dc\\x09d"),
            ("bell\x07 del\x7f", "bell\\x07 del\\x7f"),
            ("c1 \u{9b}2J", "c1 \\u{9b}2J"),
        ];
        for (text, want) in cases {
            assert_eq!(escape_controls(text), want, "{text:?}");
        }
        assert!(matches!(escape_controls("clean"), Cow::Borrowed(_)));
    }
}
