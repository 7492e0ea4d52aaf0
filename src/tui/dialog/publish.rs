//! The publish form: topic, a multi-line payload (or a file), QoS, retain and every MQTT 5
//! publish property, validated before anything is sent.

use bytes::Bytes;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::broker::{MessageProperties, Protocol, PublishRequest};
use crate::store::StoredMessage;

/// The fields, in the order Tab walks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Topic,
    Payload,
    File,
    Encode,
    Qos,
    Retain,
    ContentType,
    PayloadFormat,
    Expiry,
    ResponseTopic,
    Correlation,
    UserProperties,
}

impl Field {
    pub const ALL: [Field; 12] = [
        Field::Topic,
        Field::Payload,
        Field::File,
        Field::Encode,
        Field::Qos,
        Field::Retain,
        Field::ContentType,
        Field::PayloadFormat,
        Field::Expiry,
        Field::ResponseTopic,
        Field::Correlation,
        Field::UserProperties,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Field::Topic => "topic",
            Field::Payload => "payload",
            Field::File => "or file",
            Field::Encode => "encode",
            Field::Qos => "QoS",
            Field::Retain => "retain",
            Field::ContentType => "content type",
            Field::PayloadFormat => "payload format",
            Field::Expiry => "expiry (s)",
            Field::ResponseTopic => "response topic",
            Field::Correlation => "correlation",
            Field::UserProperties => "user props",
        }
    }

    /// What the field takes, shown when it is focused.
    pub fn hint(self) -> &'static str {
        match self {
            Field::Topic => "no + or #; ↑↓ recall earlier publishes",
            Field::Payload => "Enter: new line",
            Field::File => "a path: the file's bytes are sent as they are, instead of the payload",
            Field::Encode => {
                "Space toggles: the JSON payload encoded with the topic's decoder (--decode)"
            }
            Field::Qos => "← → or 0 1 2",
            Field::Retain => "Space toggles",
            Field::ContentType => "MQTT 5, e.g. application/json",
            Field::PayloadFormat => "← →: unset / bytes / utf-8 (MQTT 5)",
            Field::Expiry => "seconds (MQTT 5)",
            Field::ResponseTopic => "MQTT 5: the reply is awaited there (subscribed if needed)",
            Field::Correlation => "MQTT 5: text, or hex as 0x…",
            Field::UserProperties => "MQTT 5: key=value; key2=value2",
        }
    }
}

/// The form's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishForm {
    pub topic: String,
    pub payload: String,
    pub file: String,
    pub qos: u8,
    pub retain: bool,
    /// Encode the payload (JSON) with the decoder that maps the topic.
    pub encode: bool,
    pub content_type: String,
    /// `None` unset, `Some(0)` bytes, `Some(1)` UTF-8.
    pub payload_format: Option<u8>,
    pub expiry: String,
    pub response_topic: String,
    pub correlation: String,
    pub user_properties: String,
    pub focus: usize,
    /// Position in the publish history while recalling (0 = newest).
    pub recalled: Option<usize>,
    /// Why the last send attempt was refused.
    pub error: Option<String>,
}

/// What a key did to the form.
#[derive(Debug, PartialEq, Eq)]
pub enum FormKey {
    Stay,
    Cancel,
    Send,
    Recall(isize),
}

impl PublishForm {
    pub fn to_topic(topic: &str) -> Self {
        Self {
            topic: topic.to_string(),
            focus: usize::from(!topic.is_empty()),
            ..Self::default()
        }
    }

    /// The form for sending a stored message again.
    pub fn republish(topic: &str, m: &StoredMessage) -> Self {
        let mut f = Self::to_topic(topic);
        f.payload = String::from_utf8_lossy(&m.payload).into_owned();
        if std::str::from_utf8(&m.payload).is_err() {
            f.error = Some(
                "binary payload shown lossily: save it with w and send it with the file field"
                    .into(),
            );
        }
        f.qos = m.qos;
        f.retain = m.retain;
        if let Some(p) = &m.properties {
            f.content_type = p.content_type.clone().unwrap_or_default();
            f.payload_format = p.payload_format;
            f.expiry = p.message_expiry.map(|e| e.to_string()).unwrap_or_default();
            f.response_topic = p.response_topic.clone().unwrap_or_default();
            f.correlation = p.correlation_data.as_ref().map_or_else(String::new, |c| {
                std::str::from_utf8(c).map_or_else(|_| hex(c), str::to_string)
            });
            f.user_properties = p
                .user_properties
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
        }
        f
    }

    pub fn field(&self) -> Field {
        Field::ALL[self.focus % Field::ALL.len()]
    }

    fn text_mut(&mut self) -> Option<&mut String> {
        Some(match self.field() {
            Field::Topic => &mut self.topic,
            Field::Payload => &mut self.payload,
            Field::File => &mut self.file,
            Field::ContentType => &mut self.content_type,
            Field::Expiry => &mut self.expiry,
            Field::ResponseTopic => &mut self.response_topic,
            Field::Correlation => &mut self.correlation,
            Field::UserProperties => &mut self.user_properties,
            Field::Qos | Field::Retain | Field::PayloadFormat | Field::Encode => return None,
        })
    }

    pub fn on_key(&mut self, key: KeyEvent) -> FormKey {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let n = Field::ALL.len();
        match key.code {
            KeyCode::Esc => return FormKey::Cancel,
            KeyCode::Char('s') if ctrl => return FormKey::Send,
            KeyCode::Tab => self.focus = (self.focus + 1) % n,
            KeyCode::BackTab => self.focus = (self.focus + n - 1) % n,
            KeyCode::Enter if self.field() == Field::Payload => self.payload.push('\n'),
            KeyCode::Enter => return FormKey::Send,
            KeyCode::Up if self.field() != Field::Payload => return FormKey::Recall(1),
            KeyCode::Down if self.field() != Field::Payload => return FormKey::Recall(-1),
            KeyCode::Left | KeyCode::Right => {
                let forward = key.code == KeyCode::Right;
                match self.field() {
                    Field::Qos => self.qos = (self.qos + if forward { 1 } else { 2 }) % 3,
                    Field::PayloadFormat => {
                        self.payload_format = match (self.payload_format, forward) {
                            (None, true) | (Some(1), false) => Some(0),
                            (Some(0), true) | (None, false) => Some(1),
                            _ => None,
                        };
                    }
                    Field::Retain => self.retain = !self.retain,
                    Field::Encode => self.encode = !self.encode,
                    _ => {}
                }
            }
            KeyCode::Char(' ') if self.field() == Field::Retain => self.retain = !self.retain,
            KeyCode::Char(' ') if self.field() == Field::Encode => self.encode = !self.encode,
            KeyCode::Char(c @ '0'..='2') if self.field() == Field::Qos => {
                self.qos = c as u8 - b'0';
            }
            _ => {
                if let Some(t) = self.text_mut() {
                    crate::tui::input::edit_line(t, &key);
                }
            }
        }
        FormKey::Stay
    }

    /// The request the form describes, or why it cannot be sent. `max_packet` is the broker's
    /// maximum packet size from CONNACK; `protocol` the link's version.
    pub fn build(
        &self,
        protocol: Protocol,
        max_packet: Option<u32>,
        decoders: &crate::payload::decode::Decoders,
    ) -> Result<PublishRequest, String> {
        let topic = self.topic.trim();
        if topic.is_empty() {
            return Err("the topic is empty".into());
        }
        if topic.contains(['+', '#']) {
            return Err(format!(
                "{topic}: a topic to publish to cannot hold the wildcards + or #"
            ));
        }
        if topic.contains('\0') || topic.len() > 65_535 {
            return Err("the topic must be under 64 KiB, without NUL characters".into());
        }
        let payload = if self.file.trim().is_empty() {
            Bytes::from(self.payload.clone().into_bytes())
        } else {
            let path = self.file.trim();
            Bytes::from(std::fs::read(path).map_err(|e| format!("file {path}: {e}"))?)
        };
        let payload = if self.encode {
            let decoder = decoders.for_topic(topic).ok_or_else(|| {
                format!("encode: no decoder maps {topic} (--decode or [[decoders]])")
            })?;
            let text = std::str::from_utf8(&payload)
                .map_err(|_| "encode: the payload must be JSON text".to_string())?;
            Bytes::from(
                decoder
                    .encode(text)
                    .map_err(|e| format!("encode ({}): {e}", decoder.label()))?,
            )
        } else {
            payload
        };
        let properties = self.properties()?;
        if properties.is_some() && protocol == Protocol::V311 {
            return Err(
                "the link speaks MQTT 3.1.1: content type, payload format, expiry, response \
                 topic, correlation data and user properties need MQTT 5"
                    .into(),
            );
        }
        let req = PublishRequest {
            topic: topic.to_string(),
            payload,
            qos: self.qos,
            retain: self.retain,
            properties,
        };
        let size = estimated_size(&req);
        if let Some(max) = max_packet {
            if size > max as usize {
                return Err(format!(
                    "the message would be {size} bytes on the wire; the broker accepts at most \
                     {max} (maximum packet size in its CONNACK)"
                ));
            }
        }
        Ok(req)
    }

    fn properties(&self) -> Result<Option<MessageProperties>, String> {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        let expiry = match self.expiry.trim() {
            "" => None,
            e => Some(e.parse::<u32>().map_err(|_| {
                format!("expiry: {e} is not a number of seconds (0 to 4294967295)")
            })?),
        };
        let correlation = match self.correlation.trim() {
            "" => None,
            c => Some(parse_correlation(c)?),
        };
        let mut user = Vec::new();
        for pair in self.user_properties.split(';') {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| format!("user property {pair}: write it as key=value"))?;
            user.push((k.trim().to_string(), v.trim().to_string()));
        }
        let p = MessageProperties {
            payload_format: self.payload_format,
            message_expiry: expiry,
            topic_alias: None,
            content_type: opt(&self.content_type),
            response_topic: opt(&self.response_topic),
            correlation_data: correlation,
            user_properties: user,
            subscription_ids: Vec::new(),
        };
        if let Some(rt) = &p.response_topic {
            if rt.contains(['+', '#']) {
                return Err(format!("response topic {rt}: no wildcards"));
            }
        }
        Ok((!p.is_empty()).then_some(p))
    }
}

fn parse_correlation(c: &str) -> Result<Bytes, String> {
    let Some(hex_digits) = c.strip_prefix("0x") else {
        return Ok(Bytes::from(c.as_bytes().to_vec()));
    };
    if hex_digits.len() % 2 != 0 {
        return Err("correlation: hex needs an even number of digits".into());
    }
    (0..hex_digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex_digits[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map(Bytes::from)
        .map_err(|_| format!("correlation: {c} is not hex"))
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    b.iter().fold(String::from("0x"), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// The PUBLISH packet's size on the wire, properties included (an upper estimate).
pub fn estimated_size(req: &PublishRequest) -> usize {
    let mut props = 0;
    if let Some(p) = &req.properties {
        props += p.payload_format.map_or(0, |_| 2);
        props += p.message_expiry.map_or(0, |_| 5);
        props += p.content_type.as_ref().map_or(0, |s| 3 + s.len());
        props += p.response_topic.as_ref().map_or(0, |s| 3 + s.len());
        props += p.correlation_data.as_ref().map_or(0, |s| 3 + s.len());
        props += p
            .user_properties
            .iter()
            .map(|(k, v)| 5 + k.len() + v.len())
            .sum::<usize>();
    }
    let body = 2 + req.topic.len() + 2 + 4 + props + req.payload.len();
    1 + 4 + body
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::payload::decode::Decoders;

    #[test]
    fn encode_uses_the_topic_decoder() {
        let spec = crate::payload::decode::parse_spec("capteurs/+/été=msgpack").unwrap();
        let decoder = spec.build(std::path::Path::new(""), &[]).unwrap();
        let decoders = Decoders::new(vec![(spec.filter, decoder)]);
        let mut f = PublishForm::to_topic("capteurs/1/été");
        f.payload = r#"{"t":21}"#.into();
        f.focus = Field::ALL.iter().position(|x| *x == Field::Encode).unwrap();
        f.on_key(KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE));
        assert!(f.encode);
        let req = f.build(Protocol::V5, None, &decoders).unwrap();
        assert_eq!(&req.payload[..], &[0x81, 0xa1, b't', 21]);
        f.payload = "{oops".into();
        assert!(
            f.build(Protocol::V5, None, &decoders)
                .unwrap_err()
                .starts_with("encode (msgpack): not JSON")
        );
        f.topic = "ailleurs".into();
        assert!(
            f.build(Protocol::V5, None, &decoders)
                .unwrap_err()
                .contains("no decoder maps ailleurs")
        );
    }

    #[test]
    fn wildcards_sizes_and_properties_are_checked_before_sending() {
        let mut f = PublishForm::to_topic("a/+/b");
        assert!(
            f.build(Protocol::V5, None, &Decoders::default())
                .unwrap_err()
                .contains("wildcards")
        );
        f.topic = "a/b".into();
        f.payload = "x".repeat(200);
        assert!(
            f.build(Protocol::V5, Some(100), &Decoders::default())
                .unwrap_err()
                .contains("at most 100")
        );
        f.payload = "hi".into();
        f.expiry = "soon".into();
        assert!(
            f.build(Protocol::V5, None, &Decoders::default())
                .unwrap_err()
                .contains("expiry")
        );
        f.expiry = "60".into();
        f.correlation = "0xabc".into();
        assert!(
            f.build(Protocol::V5, None, &Decoders::default())
                .unwrap_err()
                .contains("even")
        );
        f.correlation = "0x0a0b".into();
        f.user_properties = "site=north; line = 2".into();
        assert!(
            f.build(Protocol::V311, None, &Decoders::default())
                .unwrap_err()
                .contains("MQTT 5")
        );
        let req = f
            .build(Protocol::V5, Some(1000), &Decoders::default())
            .unwrap();
        let p = req.properties.unwrap();
        assert_eq!(p.message_expiry, Some(60));
        assert_eq!(p.correlation_data.as_deref(), Some(&[10u8, 11][..]));
        assert_eq!(
            p.user_properties,
            vec![("site".into(), "north".into()), ("line".into(), "2".into())]
        );
    }
}
