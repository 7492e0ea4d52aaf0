//! Text measured the way a terminal lays it out: a CJK character or an emoji takes two
//! columns, a combining mark none. Anything cut to fit or aligned is measured here, never by
//! bytes or characters.

use unicode_width::UnicodeWidthChar;

/// Columns `text` takes.
pub fn of(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// `text` cut to at most `columns`, with `…` when something was cut.
pub fn fit(text: &str, columns: usize) -> String {
    if of(text) <= columns {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        // Measured as a string: a variation selector can widen the character before it.
        out.push(c);
        if of(&out) + 1 > columns {
            out.pop();
            if c.width().is_none_or(|w| w == 0) {
                // A zero-width part of the last character (VS16, a joiner) did not fit:
                // drop the character it belongs to rather than show it half.
                out.pop();
            }
            break;
        }
    }
    if columns > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_count_twice() {
        assert_eq!(of("温度/x"), 6);
        assert_eq!(of("été"), 3);
        assert_eq!(fit("温度温度温度", 7), "温度温…");
        assert_eq!(of(&fit("温度温度温度", 7)), 7);
        assert_eq!(fit("plain", 10), "plain");
        assert_eq!(fit("🌡️🌡️🌡️", 4), "🌡️…");
    }
}
