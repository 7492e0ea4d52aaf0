//! The one sanitizer for text a broker controls (topics, payloads, reason strings, server
//! references, HTTP status lines, certificate names) on its way to a terminal. A topic holding
//! `ESC ] 0 ; … BEL` would retitle the user's terminal and `ESC [ 2 J` would clear it; bidi
//! overrides would make text read differently than it is. Each such character is shown as an
//! escape (`\x1b`, `\u{202e}`), and invalid UTF-8 as its bytes (`\xff`); everything else,
//! Chinese, accents and emoji included, passes unchanged.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a character may not reach a terminal as it is: C0 and C1 controls, DEL, and the
/// bidirectional formatting characters.
pub(crate) fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

fn escape_char(out: &mut String, c: char) {
    if u32::from(c) < 0x100 {
        let _ = write!(out, "\\x{:02x}", u32::from(c));
    } else {
        let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
    }
}

/// What a caller does with a character before the sanitizer's own rule.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Not special here: escaped when unsafe, kept otherwise.
    Default,
    Keep,
    Replace(&'static str),
}

fn escape_with(bytes: &[u8], rule: impl Fn(char) -> Rule) -> Cow<'_, str> {
    let unchanged = |c: char| match rule(c) {
        Rule::Keep => true,
        Rule::Replace(_) => false,
        Rule::Default => !unsafe_char(c),
    };
    if let Ok(text) = std::str::from_utf8(bytes) {
        if text.chars().all(unchanged) {
            return Cow::Borrowed(text);
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match rule(c) {
                Rule::Keep => out.push(c),
                Rule::Replace(r) => out.push_str(r),
                Rule::Default if unsafe_char(c) => escape_char(&mut out, c),
                Rule::Default => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

/// One line for a terminal: every control character escaped, the tab (harmless) kept.
pub fn line(bytes: &[u8]) -> Cow<'_, str> {
    escape_with(
        bytes,
        |c| if c == '\t' { Rule::Keep } else { Rule::Default },
    )
}

/// Several lines for a terminal: as [`line`], but newlines kept.
pub fn lines(text: &str) -> Cow<'_, str> {
    escape_with(text.as_bytes(), |c| {
        if matches!(c, '\t' | '\n') {
            Rule::Keep
        } else {
            Rule::Default
        }
    })
}

/// Text laid out in cells (the explorer's panes): newlines kept, a tab as four spaces (a
/// terminal would jump to its own tab stops), carriage returns dropped.
pub fn block(bytes: &[u8]) -> Cow<'_, str> {
    escape_with(bytes, |c| match c {
        '\n' => Rule::Keep,
        '\t' => Rule::Replace("    "),
        '\r' => Rule::Replace(""),
        _ => Rule::Default,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_obey_and_nothing_else() {
        let table: &[(&[u8], &str)] = &[
            (b"plain/topic", "plain/topic"),
            ("温度/été/🌡️".as_bytes(), "温度/été/🌡️"),
            (
                b"evil/\x1b]0;pwned\x07\x1b[2J",
                "evil/\\x1b]0;pwned\\x07\\x1b[2J",
            ),
            (b"a\nb\r\tc\x7f", "a\\x0ab\\x0d\tc\\x7f"),
            ("c1 \u{9b}31m".as_bytes(), "c1 \\x9b31m"),
            ("bidi \u{202e}txt.exe".as_bytes(), "bidi \\u{202e}txt.exe"),
            (b"bad \xff\xfe utf8", "bad \\xff\\xfe utf8"),
        ];
        for (input, want) in table {
            assert_eq!(line(input), *want, "{input:?}");
        }
        assert!(matches!(line(b"no change"), Cow::Borrowed(_)));
    }

    #[test]
    fn lines_keep_newlines_and_blocks_lay_out_tabs() {
        assert_eq!(lines("a\nb\x1b[2J"), "a\nb\\x1b[2J");
        assert_eq!(block(b"a\x1b[2Jb\tc\r\n\xff"), "a\\x1b[2Jb    c\n\\xff");
        assert!(matches!(block(b"a\nb"), Cow::Borrowed(_)));
    }
}
