//! Small formatting helpers shared by the panes.

use std::time::SystemTime;

use ratatui::text::{Line, Span};

/// `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `11:25:31.912` (UTC).
pub fn clock(t: SystemTime) -> String {
    let full = humantime::format_rfc3339_millis(t).to_string();
    full.get(11..23).unwrap_or(&full).to_string()
}

/// `3 s ago`, `4 min ago`, `2 h ago`, `5 d ago`.
pub fn age(then: SystemTime, now: SystemTime) -> String {
    let secs = now.duration_since(then).map_or(0, |d| d.as_secs());
    match secs {
        0..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// `10 B`, `1.5 KiB`, `4.8 MiB`.
pub fn bytes(n: usize) -> String {
    #[expect(clippy::cast_precision_loss, reason = "display only")]
    let f = n as f64;
    if n < 1024 {
        format!("{n} B")
    } else if n < 1 << 20 {
        format!("{:.1} KiB", f / 1024.0)
    } else {
        format!("{:.1} MiB", f / f64::from(1u32 << 20))
    }
}

/// `5m`, `2h13m`, `45s`.
pub fn duration_short(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// Spans laid out in lines of at most `width` columns, broken between words: the first line
/// after `first`, the others after `indent`. A word longer than a line is left to be clipped.
pub fn wrap(
    spans: Vec<Span<'static>>,
    width: usize,
    first: &'static str,
    indent: &'static str,
) -> Vec<Line<'static>> {
    let room = |lead: &str| width.saturating_sub(lead.len()).max(8);
    let mut lines = Vec::new();
    let mut lead = first;
    let mut line = vec![Span::raw(lead)];
    let mut used = 0;
    for span in spans {
        let style = span.style;
        for word in span.content.split_inclusive(' ') {
            let w = crate::width::of(word);
            if used > 0 && used + w.min(room(lead)) > room(lead) {
                lead = indent;
                lines.push(Line::from(std::mem::replace(
                    &mut line,
                    vec![Span::raw(lead)],
                )));
                used = 0;
            }
            line.push(Span::styled(word.to_string(), style));
            used += w;
        }
    }
    if used > 0 {
        lines.push(Line::from(line));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(999), "999");
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(clock(t), "22:13:20.123");
        assert_eq!(age(t, t + Duration::from_secs(125)), "2 min ago");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(duration_short(7980), "2h13m");
    }
}
