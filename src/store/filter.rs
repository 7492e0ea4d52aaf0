//! What the topics pane's `/` filters on: the topic path (text, or an MQTT filter with `+ #`),
//! the last value's text (`payload:TEXT`), or an expression in the filter language over the
//! last value's JSON (`temp > 30 and online == false`).

use super::Query;
use super::node::Node;
use crate::expr::{Expr, ParseError};

#[derive(Debug, Clone)]
pub enum TopicFilter {
    Path(Query),
    /// Lower-cased text searched in the last payload.
    Payload(String),
    Expr(Box<Expr>),
}

/// Whether typed text is meant as an expression: it has an operator or a keyword of the
/// language. Anything else stays a path search, as before.
fn looks_like_expression(text: &str) -> bool {
    ["==", "!=", "<", ">", "~", "exists("]
        .iter()
        .any(|op| text.contains(op))
        || text
            .split_whitespace()
            .any(|w| matches!(w, "and" | "or" | "not"))
}

impl TopicFilter {
    /// Reads the text typed after `/`; an expression that does not parse is an error with
    /// its column (the caller keeps the filter it had).
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        if let Some(rest) = text.strip_prefix("payload:") {
            return Ok(Self::Payload(rest.to_lowercase()));
        }
        if looks_like_expression(text) {
            return Expr::parse(text).map(|e| Self::Expr(Box::new(e)));
        }
        Ok(Self::Path(Query::new(text)))
    }

    /// Whether a node's match can change when a message arrives on it.
    pub fn needs_value(&self) -> bool {
        match self {
            Self::Path(_) => false,
            Self::Payload(_) => true,
            Self::Expr(e) => e.uses_payload(),
        }
    }

    /// Whether a node matches: its path, its last payload. Levels with no message of their
    /// own match only path filters and expressions on the topic.
    pub fn matches(&self, node: &Node) -> bool {
        match self {
            Self::Path(q) => q.matches(node.path()),
            Self::Payload(text) => node.last().is_some_and(|m| {
                super::query::contains_ignoring_case(&String::from_utf8_lossy(&m.payload), text)
            }),
            Self::Expr(e) => {
                let last = node.last();
                if last.is_none() && e.uses_payload() {
                    return false;
                }
                let value = last
                    .filter(|_| e.uses_payload())
                    .and_then(|m| e.read(&m.payload));
                last.is_some() && e.matches(node.path(), value.as_ref())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Limits, TopicStore};

    fn store(items: &[(&str, &str)]) -> TopicStore {
        let mut store = TopicStore::new(Limits::default());
        for (t, p) in items {
            store.insert(&crate::broker::Message {
                topic: (*t).into(),
                payload: bytes::Bytes::copy_from_slice(p.as_bytes()),
                qos: 0,
                retain: false,
                dup: false,
                properties: None,
                received: std::time::SystemTime::UNIX_EPOCH,
                wire_size: 0,
            });
        }
        store
    }

    fn matching(store: &TopicStore, text: &str) -> Vec<String> {
        let f = TopicFilter::parse(text).expect(text);
        store
            .ids()
            .filter(|id| f.matches(store.node(*id)))
            .map(|id| store.node(id).path().to_string())
            .collect()
    }

    #[test]
    fn path_payload_and_expression_filters() {
        let s = store(&[
            ("usine/温度/室1", r#"{"temp":31,"status":"error"}"#),
            ("usine/温度/室2", r#"{"temp":18,"status":"ok"}"#),
            ("usine/été", "Porte OUVERTE"),
        ]);
        assert_eq!(
            matching(&s, "usine/温度/+"),
            ["usine/温度/室1", "usine/温度/室2"]
        );
        assert_eq!(matching(&s, "室2"), ["usine/温度/室2"]);
        assert_eq!(matching(&s, "payload:ouverte"), ["usine/été"]);
        assert_eq!(matching(&s, "payload:ERROR"), ["usine/温度/室1"]);
        assert_eq!(matching(&s, "temp > 30"), ["usine/温度/室1"]);
        assert_eq!(
            matching(&s, "status == \"ok\" or topic ~ \"été\""),
            ["usine/温度/室2", "usine/été"]
        );
        assert_eq!(
            matching(&s, "topic ~ \"^usine/温度$\""),
            Vec::<String>::new(),
            "levels without a message"
        );
        assert!(TopicFilter::parse("temp >").is_err());
        assert!(!TopicFilter::parse("室2").expect("path").needs_value());
        assert!(TopicFilter::parse("temp > 1").expect("expr").needs_value());
    }
}
