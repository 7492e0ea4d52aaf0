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

/// A packet size limit: a size (at least 1M) no larger than MQTT's own limit (256 MiB).
pub fn parse_packet_size(s: &str) -> Result<usize, String> {
    let n = parse_size(s)?;
    // The remaining length holds at most 268,435,455; with the fixed header, 5 bytes more.
    if n > 268_435_455 + 5 {
        return Err("at most 256M (MQTT's own limit)".into());
    }
    Ok(n)
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

    #[test]
    fn packet_sizes_stay_within_mqtt() {
        assert_eq!(parse_packet_size("16M"), Ok(16 << 20));
        assert!(parse_packet_size("256M").is_ok());
        assert!(
            parse_packet_size("257M")
                .expect_err("too large")
                .contains("256M")
        );
        assert!(parse_packet_size("2G").is_err());
    }
}
