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

/// A rate in bytes per second: `64K`, `1M`, `500`, optionally ending in `/s`.
pub fn parse_rate(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t.strip_suffix("/s").unwrap_or(t);
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| "expected bytes per second like 64K, 1M or 500".to_string())?;
    let factor: u64 = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => return Err("expected bytes per second like 64K, 1M or 500 (units K, M, G)".into()),
    };
    let rate = n.checked_mul(factor).ok_or("that rate is too large")?;
    if rate == 0 {
        return Err("at least 1 byte per second".into());
    }
    Ok(rate)
}

/// `512 B`, `64 KiB`, `1.5 MiB`: a byte count for people.
pub fn human(n: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "display only")]
    let f = n as f64;
    if n < 1 << 10 {
        format!("{n} B")
    } else if n < 1 << 20 {
        format!("{:.0} KiB", f / 1024.0)
    } else {
        format!("{:.1} MiB", f / f64::from(1u32 << 20))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_with_units_and_per_second() {
        assert_eq!(parse_rate("64K"), Ok(64 << 10));
        assert_eq!(parse_rate("1M/s"), Ok(1 << 20));
        assert_eq!(parse_rate("500"), Ok(500));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("fast").expect_err("refused").contains("64K"));
        assert_eq!(human(64 << 10), "64 KiB");
    }

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
