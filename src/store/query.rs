//! The explorer's topic query: an MQTT filter when it holds `+` or `#`, otherwise a
//! case-insensitive substring of the topic path.

use super::{NodeId, TopicStore};
use crate::topic;

/// A parsed query, compared against many paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    text: String,
    lowered: String,
    filter: bool,
}

impl Query {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            lowered: text.to_lowercase(),
            filter: topic::has_wildcard(text),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether a topic path matches.
    pub fn matches(&self, path: &str) -> bool {
        if self.filter {
            topic::matches(path, &self.text)
        } else {
            contains_ignoring_case(path, &self.lowered)
        }
    }
}

/// Whether `text` holds `lowered` (already lower-cased), ignoring case.
pub fn contains_ignoring_case(text: &str, lowered: &str) -> bool {
    if text.is_ascii() && lowered.is_ascii() {
        // The common case, without an allocation per text.
        lowered.is_empty()
            || text
                .as_bytes()
                .windows(lowered.len())
                .any(|w| w.eq_ignore_ascii_case(lowered.as_bytes()))
    } else {
        text.to_lowercase().contains(lowered)
    }
}

/// Nodes whose path matches the query, in creation order.
pub fn matching_nodes(store: &TopicStore, query: &Query) -> Vec<NodeId> {
    store
        .ids()
        .filter(|id| query.matches(store.node(*id).path()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Limits;

    fn store(topics: &[&str]) -> TopicStore {
        let mut store = TopicStore::new(Limits::default());
        for (i, t) in topics.iter().enumerate() {
            let m = crate::broker::Message {
                topic: (*t).to_string(),
                payload: bytes::Bytes::from_static(b"1"),
                qos: 0,
                retain: true,
                dup: false,
                properties: None,
                received: std::time::SystemTime::UNIX_EPOCH
                    + std::time::Duration::from_secs(i as u64),
                wire_size: 10,
            };
            store.insert(&m);
        }
        store
    }

    fn paths(store: &TopicStore, query: &str) -> Vec<String> {
        matching_nodes(store, &Query::new(query))
            .into_iter()
            .map(|id| store.node(id).path().to_string())
            .collect()
    }

    #[test]
    fn text_is_a_case_insensitive_substring_and_wildcards_make_a_filter() {
        let s = store(&["plant/Line1/temp", "plant/line2/temp", "site/info"]);
        assert_eq!(paths(&s, "LINE1"), ["plant/Line1", "plant/Line1/temp"]);
        assert_eq!(
            paths(&s, "plant/+/temp"),
            ["plant/Line1/temp", "plant/line2/temp"]
        );
        assert_eq!(paths(&s, "site/#"), ["site", "site/info"]);
    }

    #[test]
    fn non_ascii_topics_match_without_panicking() {
        let s = store(&["温度/x", "été/x", "Été/y", "🌡️/x", "plain/x"]);
        assert_eq!(paths(&s, "+/x"), ["温度/x", "été/x", "🌡️/x", "plain/x"]);
        assert_eq!(paths(&s, "été"), ["été", "été/x", "Été", "Été/y"]);
        assert_eq!(paths(&s, "温"), ["温度", "温度/x"]);
        assert_eq!(paths(&s, "🌡"), ["🌡️", "🌡️/x"]);
    }
}
