//! The Last Will: the message the broker publishes for this client when its connection ends
//! without a DISCONNECT (killed, cut off, keep-alive missed). MQTT 5 adds a delay (the will
//! waits that long for the client to come back) and properties.

use bytes::Bytes;

/// A Last Will, as every mode sends it in CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    pub topic: String,
    pub payload: Bytes,
    pub qos: u8,
    pub retain: bool,
    /// MQTT 5: seconds the broker waits before publishing it (a reconnect in time cancels it).
    pub delay: Option<u32>,
    /// MQTT 5: the will message's expiry interval, in seconds.
    pub expiry: Option<u32>,
    /// MQTT 5: the will message's content type.
    pub content_type: Option<String>,
    /// MQTT 5: user properties of the will message.
    pub user_properties: Vec<(String, String)>,
}

impl Will {
    pub fn new(topic: impl Into<String>, payload: impl Into<Bytes>) -> Self {
        Self {
            topic: topic.into(),
            payload: payload.into(),
            qos: 0,
            retain: false,
            delay: None,
            expiry: None,
            content_type: None,
            user_properties: Vec::new(),
        }
    }

    /// Whether it carries anything only MQTT 5 can send.
    pub fn uses_v5(&self) -> bool {
        self.delay.is_some()
            || self.expiry.is_some()
            || self.content_type.is_some()
            || !self.user_properties.is_empty()
    }

    /// One line for the timeline: `status/dev-7 · QoS 1 · retained · 7 B · delay 10 s`.
    pub fn summary(&self) -> String {
        let mut parts = vec![
            crate::sanitize::line(self.topic.as_bytes()).into_owned(),
            format!("QoS {}", self.qos),
        ];
        if self.retain {
            parts.push("retained".into());
        }
        parts.push(format!("{} B", self.payload.len()));
        if let Some(d) = self.delay {
            parts.push(format!("delay {d} s"));
        }
        if let Some(e) = self.expiry {
            parts.push(format!("expiry {e} s"));
        }
        if let Some(c) = &self.content_type {
            parts.push(format!(
                "content type {}",
                crate::sanitize::line(c.as_bytes())
            ));
        }
        if !self.user_properties.is_empty() {
            parts.push(format!("{} user properties", self.user_properties.len()));
        }
        parts.join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_what_is_set_and_escapes_the_topic() {
        let mut w = Will::new("温度/\u{1b}[2J", "offline");
        assert_eq!(w.summary(), "温度/\\x1b[2J · QoS 0 · 7 B");
        assert!(!w.uses_v5());
        w.qos = 1;
        w.retain = true;
        w.delay = Some(10);
        w.user_properties.push(("site".into(), "a".into()));
        assert_eq!(
            w.summary(),
            "温度/\\x1b[2J · QoS 1 · retained · 7 B · delay 10 s · 1 user properties"
        );
        assert!(w.uses_v5());
    }
}
