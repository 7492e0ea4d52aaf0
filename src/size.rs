//! Sizes written by people: `256M`, `2G`, `512K`, or plain bytes.

/// `256M`, `2G`, `512K`, or plain bytes; at least 1M.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: usize = digits
        .parse()
        .map_err(|_| "expected a size like 256M, 2G or 512K".to_string())?;
    let factor = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return Err("expected a size like 256M, 2G or 512K (units K, M, G)".into()),
    };
    let bytes = n.checked_mul(factor).ok_or("that size is too large")?;
    if bytes < 1 << 20 {
        return Err("at least 1M".into());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert!(parse_size("12").is_err());
        assert!(parse_size("5X").is_err());
    }
}
