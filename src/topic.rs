//! MQTT topic filters: the one matcher every path uses (explorer filter, `clean-retained`,
//! `--exclude`, request pairing, the subscriptions' coverage checks).
//!
//! Topics are UTF-8 and often not ASCII (`温度/x`, `été/x`, emoji): the matcher works on
//! levels split at `/` and never slices by byte index. (`rumqttc::matches` slices `topic[..1]`
//! for the `$` rule and panics on a multi-byte first character; it must not be called.)

/// Whether `topic` is matched by `filter` (MQTT 3.1.1 §4.7, MQTT 5 §4.7):
/// - `+` matches exactly one level, the empty level included;
/// - `#`, alone as the last level, matches the parent level and any number of levels below;
/// - a filter starting with a wildcard does not match a topic starting with `$`;
/// - anything else compares level by level, exactly. A malformed filter (`a/#/b`) matches
///   nothing.
pub fn matches(topic: &str, filter: &str) -> bool {
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut topic_levels = topic.split('/');
    let mut filter_levels = filter.split('/').peekable();
    while let Some(f) = filter_levels.next() {
        if f == "#" {
            // Valid only as the last level; it also matches the parent (`a/#` matches `a`).
            return filter_levels.peek().is_none();
        }
        let Some(t) = topic_levels.next() else {
            return false;
        };
        if f != "+" && f != t {
            return false;
        }
    }
    topic_levels.next().is_none()
}

/// Whether a filter holds a wildcard, so it needs [`matches`] rather than a string compare.
pub fn has_wildcard(filter: &str) -> bool {
    filter.contains(['+', '#'])
}

/// A topic to publish to: not empty, no wildcard, no NUL, at most 65535 bytes.
pub fn parse_topic(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("a topic cannot be empty".into());
    }
    if s.contains(['+', '#']) {
        return Err("a topic to publish to cannot contain the wildcards + or #".into());
    }
    if s.contains('\0') {
        return Err("a topic cannot contain a NUL character".into());
    }
    if s.len() > 65_535 {
        return Err("a topic is at most 65535 bytes".into());
    }
    Ok(s.to_string())
}

/// Checks the MQTT filter rules: `#` only last and alone in its level, `+` alone in its level.
pub fn parse_filter(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("a filter cannot be empty".into());
    }
    let levels: Vec<&str> = s.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i != levels.len() - 1) {
            return Err("'#' must be the whole last level, as in a/b/#".into());
        }
        if level.contains('+') && *level != "+" {
            return Err("'+' must be a whole level, as in a/+/c".into());
        }
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_wildcards() {
        let table = [
            ("a/b/c", "a/b/c", true),
            ("a/b/c", "a/+/c", true),
            ("a/b/c", "a/#", true),
            ("a", "a/#", true),
            ("a/b/c", "#", true),
            ("a/b/c", "+/+/+", true),
            ("a/b/c", "+/+", false),
            ("a/b", "a/b/c", false),
            ("a/b/c", "a/b", false),
            ("a//c", "a/+/c", true),
            ("/x", "+/x", true),
            ("a/b", "a/#/b", false),
            ("a/b", "a/b#", false),
            ("ab", "a+", false),
            ("", "#", true),
            ("", "+", true),
        ];
        for (topic, filter, want) in table {
            assert_eq!(matches(topic, filter), want, "{topic} vs {filter}");
        }
    }

    #[test]
    fn dollar_topics_need_an_explicit_first_level() {
        assert!(!matches("$SYS/broker/uptime", "#"));
        assert!(!matches("$SYS/broker/uptime", "+/broker/uptime"));
        assert!(matches("$SYS/broker/uptime", "$SYS/#"));
        assert!(matches("$SYS/broker/uptime", "$SYS/+/uptime"));
        assert!(matches("a/$x", "a/+"));
    }

    #[test]
    fn non_ascii_topics_never_panic_and_match_by_level() {
        let table = [
            ("été/x", "+/x", true),
            ("温度/x", "+/x", true),
            ("温度/x", "温度/#", true),
            ("温度/x", "#", true),
            ("🌡️/salle/1", "🌡️/+/1", true),
            ("🌡️/salle/1", "🌡/+/1", false),
            ("\u{FFFD}/x", "+/x", true),
            ("été", "été", true),
            ("été", "ete", false),
            ("x/温度", "x/温", false),
        ];
        for (topic, filter, want) in table {
            assert_eq!(matches(topic, filter), want, "{topic} vs {filter}");
        }
    }

    #[test]
    fn filters_follow_the_mqtt_rules() {
        assert!(parse_filter("a/+/c/#").is_ok());
        assert!(parse_filter("#").is_ok());
        assert!(parse_filter("a/#/c").is_err());
        assert!(parse_filter("a/b#").is_err());
        assert!(parse_filter("a/b+/c").is_err());
        assert!(parse_filter("").is_err());
    }

    #[test]
    fn topics_reject_wildcards() {
        assert!(parse_topic("a/b").is_ok());
        assert!(parse_topic("a/+").is_err());
        assert!(parse_topic("").is_err());
    }
}
