//! Differences between two payloads: a line diff of text or pretty JSON, changed byte ranges
//! for binary.

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    Same(String),
    Removed(String),
    Added(String),
}

/// Above this many line pairs the diff falls back to "everything changed".
const MAX_CELLS: usize = 4_000_000;

/// A line diff (longest common subsequence) of `old` and `new`.
#[expect(clippy::many_single_char_names, reason = "the textbook LCS names")]
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Common prefix and suffix first: most payload updates change a few lines.
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out: Vec<DiffLine> = a[..prefix]
        .iter()
        .map(|l| DiffLine::Same((*l).into()))
        .collect();
    if (ma.len() + 1) * (mb.len() + 1) > MAX_CELLS {
        out.extend(ma.iter().map(|l| DiffLine::Removed((*l).into())));
        out.extend(mb.iter().map(|l| DiffLine::Added((*l).into())));
    } else {
        // lcs[i][j]: length of the LCS of ma[i..] and mb[j..].
        let w = mb.len() + 1;
        let mut lcs = vec![0u32; (ma.len() + 1) * w];
        for i in (0..ma.len()).rev() {
            for j in (0..mb.len()).rev() {
                lcs[i * w + j] = if ma[i] == mb[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < ma.len() || j < mb.len() {
            if i < ma.len() && j < mb.len() && ma[i] == mb[j] {
                out.push(DiffLine::Same(ma[i].into()));
                i += 1;
                j += 1;
            } else if i < ma.len() && (j == mb.len() || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])
            {
                // On a tie, removals first: "-" lines read before their "+" replacements.
                out.push(DiffLine::Removed(ma[i].into()));
                i += 1;
            } else {
                out.push(DiffLine::Added(mb[j].into()));
                j += 1;
            }
        }
    }
    out.extend(
        a[a.len() - suffix..]
            .iter()
            .map(|l| DiffLine::Same((*l).into())),
    );
    out
}

/// A range of bytes that differ: `start..end` in the new payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: usize,
    pub end: usize,
}

/// Byte positions where `new` differs from `old` (a length change counts as a changed tail).
pub fn diff_bytes(old: &[u8], new: &[u8]) -> Vec<ByteRange> {
    let mut ranges: Vec<ByteRange> = Vec::new();
    let common = old.len().min(new.len());
    let mut i = 0;
    while i < common {
        if old[i] == new[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < common && old[i] != new[i] {
            i += 1;
        }
        ranges.push(ByteRange { start, end: i });
    }
    if new.len() != old.len() {
        let start = common;
        let end = new.len().max(common);
        match ranges.last_mut() {
            Some(last) if last.end == start => last.end = end,
            _ => ranges.push(ByteRange { start, end }),
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_diff_marks_changes_in_context() {
        let old = "{\n  \"t\": 21.5,\n  \"ok\": true\n}";
        let new = "{\n  \"t\": 22.0,\n  \"ok\": true,\n  \"n\": 1\n}";
        let got = diff_lines(old, new);
        assert_eq!(
            got,
            [
                DiffLine::Same("{".into()),
                DiffLine::Removed("  \"t\": 21.5,".into()),
                DiffLine::Removed("  \"ok\": true".into()),
                DiffLine::Added("  \"t\": 22.0,".into()),
                DiffLine::Added("  \"ok\": true,".into()),
                DiffLine::Added("  \"n\": 1".into()),
                DiffLine::Same("}".into()),
            ]
        );
        assert!(
            diff_lines("a\nb", "a\nb")
                .iter()
                .all(|l| matches!(l, DiffLine::Same(_)))
        );
    }

    #[test]
    fn byte_diff_finds_ranges_and_length_changes() {
        assert_eq!(
            diff_bytes(&[1, 2, 3, 4, 5], &[1, 9, 9, 4, 5, 6]),
            [
                ByteRange { start: 1, end: 3 },
                ByteRange { start: 5, end: 6 }
            ]
        );
        assert_eq!(diff_bytes(&[1, 2], &[1, 2]), []);
        assert_eq!(
            diff_bytes(&[1, 2, 3], &[1]),
            [ByteRange { start: 1, end: 1 }]
        );
    }
}
