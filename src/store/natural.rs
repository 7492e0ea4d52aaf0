//! Natural ordering for topic segments: `dev2` before `dev10`.

use std::cmp::Ordering;

/// Compares two strings, treating runs of ASCII digits as numbers; letters compare without
/// case first, and case only breaks ties.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    compare(a.as_bytes(), b.as_bytes(), true)
        .then_with(|| compare(a.as_bytes(), b.as_bytes(), false))
}

fn compare(mut a: &[u8], mut b: &[u8], fold: bool) -> Ordering {
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (na, ra) = split_digits(a);
                let (nb, rb) = split_digits(b);
                let (ta, tb) = (trim_zeros(na), trim_zeros(nb));
                let ord = ta
                    .len()
                    .cmp(&tb.len())
                    .then_with(|| ta.cmp(tb))
                    .then_with(|| na.len().cmp(&nb.len()));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = ra;
                b = rb;
            }
            (Some(x), Some(y)) => {
                let ord = if fold {
                    x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase())
                } else {
                    x.cmp(y)
                };
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    s.split_at(n)
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| **c == b'0').count();
    &s[n.min(s.len().saturating_sub(1))..]
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;

    #[test]
    fn numbers_sort_by_value_text_case_insensitively() {
        let mut v = vec!["dev10", "dev2", "Dev1", "dev", "a", "dev02", "b1x", "b1"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            ["a", "b1", "b1x", "dev", "Dev1", "dev2", "dev02", "dev10"]
        );
    }

    #[test]
    fn huge_numbers_do_not_overflow() {
        assert_eq!(
            natural_cmp("x99999999999999999999999", "x100000000000000000000000"),
            std::cmp::Ordering::Less
        );
    }
}
