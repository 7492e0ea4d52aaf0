//! `mqscope export` and the explorer's `E`: messages as CSV (`ts, topic, qos, retain, size,
//! payload, payload_encoding`, or one column per `--field` path) or as JSON lines.

use std::io::{self, Write};

use base64::Engine as _;
use serde_json::Value;

use crate::broker::Message;
use crate::broker::json::timestamp;

/// A path into a JSON value (`a.b[0].c`): the filter language's paths.
pub use crate::expr::Path as FieldPath;

/// A field's value as a CSV cell: strings as they are, other scalars as JSON, objects and
/// arrays as compact JSON, missing as empty.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The format to export to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

/// Writes messages, one row or line each.
pub struct Exporter<W: Write> {
    format: ExportFormat,
    fields: Vec<FieldPath>,
    csv: Option<csv::Writer<W>>,
    out: Option<W>,
    pub rows: u64,
    /// On a terminal: cells through the sanitizer (JSON lines escape control characters
    /// themselves).
    escape: bool,
}

impl<W: Write> Exporter<W> {
    pub fn new(out: W, format: ExportFormat, fields: Vec<FieldPath>) -> io::Result<Self> {
        let mut me = Self {
            format,
            fields,
            csv: None,
            out: None,
            rows: 0,
            escape: false,
        };
        match format {
            ExportFormat::Csv => {
                let mut w = csv::Writer::from_writer(out);
                let header: Vec<&str> = if me.fields.is_empty() {
                    vec![
                        "ts",
                        "topic",
                        "qos",
                        "retain",
                        "size",
                        "payload",
                        "payload_encoding",
                    ]
                } else {
                    ["ts", "topic"]
                        .into_iter()
                        .chain(me.fields.iter().map(|f| f.text.as_str()))
                        .collect()
                };
                w.write_record(&header).map_err(io::Error::other)?;
                me.csv = Some(w);
            }
            ExportFormat::Jsonl => me.out = Some(out),
        }
        Ok(me)
    }

    /// Escapes control characters and invalid UTF-8 in CSV cells, for a terminal.
    #[must_use]
    pub fn escaping(mut self, escape: bool) -> Self {
        self.escape = escape;
        self
    }

    pub fn message(&mut self, m: &Message) -> io::Result<()> {
        self.rows += 1;
        match self.format {
            ExportFormat::Jsonl => {
                let out = self
                    .out
                    .as_mut()
                    .ok_or_else(|| io::Error::other("closed"))?;
                let mut line = serde_json::to_value(crate::record::format::message_line(m))?;
                if !self.fields.is_empty() {
                    let json: Option<Value> = serde_json::from_slice(&m.payload).ok();
                    let fields: serde_json::Map<String, Value> = self
                        .fields
                        .iter()
                        .map(|f| {
                            let v = json.as_ref().and_then(|j| f.get(j)).cloned();
                            (f.text.clone(), v.unwrap_or(Value::Null))
                        })
                        .collect();
                    line["fields"] = Value::Object(fields);
                }
                serde_json::to_writer(&mut *out, &line)?;
                out.write_all(b"\n")
            }
            ExportFormat::Csv => {
                let w = self
                    .csv
                    .as_mut()
                    .ok_or_else(|| io::Error::other("closed"))?;
                let ts = timestamp(m.received);
                let record: Vec<String> = if self.fields.is_empty() {
                    let (payload, encoding) = match std::str::from_utf8(&m.payload) {
                        Ok(text) => (text.to_string(), "text"),
                        Err(_) => (
                            base64::engine::general_purpose::STANDARD.encode(&m.payload),
                            "base64",
                        ),
                    };
                    vec![
                        ts,
                        m.topic.clone(),
                        m.qos.to_string(),
                        m.retain.to_string(),
                        m.payload.len().to_string(),
                        payload,
                        encoding.to_string(),
                    ]
                } else {
                    let json: Option<Value> = serde_json::from_slice(&m.payload).ok();
                    [ts, m.topic.clone()]
                        .into_iter()
                        .chain(
                            self.fields
                                .iter()
                                .map(|f| cell(json.as_ref().and_then(|j| f.get(j)))),
                        )
                        .collect()
                };
                if self.escape {
                    let safe = record.iter().map(|c| crate::sanitize::line(c.as_bytes()));
                    return w
                        .write_record(safe.map(std::borrow::Cow::into_owned))
                        .map_err(io::Error::other);
                }
                w.write_record(&record).map_err(io::Error::other)
            }
        }
    }

    /// Flushes and hands the writer back.
    pub fn finish(self) -> io::Result<W> {
        match (self.csv, self.out) {
            (Some(w), _) => w.into_inner().map_err(|e| io::Error::other(e.to_string())),
            (None, Some(mut out)) => {
                out.flush()?;
                Ok(out)
            }
            (None, None) => Err(io::Error::other("closed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_read_keys_and_indexes_and_bad_ones_say_where() {
        let v = json!({"a": {"b": [{"c": 1}, {"c": "温度"}]}, "été": true});
        let get = |p: &str| FieldPath::parse(p).expect(p).get(&v).cloned();
        assert_eq!(get("a.b[1].c"), Some(json!("温度")));
        assert_eq!(get("a.b[0]"), Some(json!({"c": 1})));
        assert_eq!(get("été"), Some(json!(true)));
        assert_eq!(get("a.x"), None);
        assert_eq!(get("a.b[9].c"), None);
        for bad in ["", "a..b", "a.", "a[", "a[x]", "a[0]b"] {
            let e = FieldPath::parse(bad).expect_err(bad);
            assert!(e.starts_with("column "), "{e}");
        }
    }

    fn message(topic: &str, payload: &[u8]) -> Message {
        Message {
            topic: topic.into(),
            payload: bytes::Bytes::copy_from_slice(payload),
            qos: 1,
            retain: true,
            dup: false,
            properties: None,
            received: std::time::SystemTime::UNIX_EPOCH,
            wire_size: 0,
        }
    }

    #[test]
    fn csv_rows_quote_what_needs_it_and_read_back() {
        let mut e = Exporter::new(Vec::new(), ExportFormat::Csv, Vec::new()).expect("header");
        e.message(&message("温度/a,b", b"say \"hi\",\nthere"))
            .expect("row");
        e.message(&message("bin", &[0xff, 0])).expect("row");
        let out = e.finish().expect("done");
        let mut r = csv::Reader::from_reader(out.as_slice());
        let rows: Vec<csv::StringRecord> = r.records().map(|r| r.expect("a row")).collect();
        assert_eq!(&rows[0][1], "温度/a,b");
        assert_eq!(&rows[0][5], "say \"hi\",\nthere");
        assert_eq!(
            (&rows[0][2], &rows[0][3], &rows[0][4], &rows[0][6]),
            ("1", "true", "15", "text")
        );
        assert_eq!((&rows[1][5], &rows[1][6]), ("/wA=", "base64"));
    }

    #[test]
    fn on_a_terminal_cells_are_escaped() {
        let mut e = Exporter::new(Vec::new(), ExportFormat::Csv, Vec::new())
            .expect("header")
            .escaping(true);
        e.message(&message("été/\u{1b}]0;x\u{7}", b"caf\xc3\xa9\x1b[2J"))
            .expect("row");
        let text = String::from_utf8(e.finish().expect("done")).expect("UTF-8");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert!(
            text.contains("été/\\x1b]0;x\\x07,") && text.contains("café\\x1b[2J"),
            "{text}"
        );
    }

    #[test]
    fn fields_become_columns_and_non_json_leaves_them_empty() {
        let fields = vec![
            FieldPath::parse("t").expect("t"),
            FieldPath::parse("m.x").expect("m.x"),
        ];
        let mut e = Exporter::new(Vec::new(), ExportFormat::Csv, fields.clone()).expect("header");
        e.message(&message("a", br#"{"t":21.5,"m":{"x":"ok"}}"#))
            .expect("row");
        e.message(&message("a", b"not json")).expect("row");
        let text = String::from_utf8(e.finish().expect("done")).expect("UTF-8");
        assert_eq!(
            text,
            "ts,topic,t,m.x\n1970-01-01T00:00:00.000Z,a,21.5,ok\n1970-01-01T00:00:00.000Z,a,,\n"
        );
        let mut e = Exporter::new(Vec::new(), ExportFormat::Jsonl, fields).expect("jsonl");
        e.message(&message("a", br#"{"t":1}"#)).expect("line");
        let line: serde_json::Value =
            serde_json::from_slice(&e.finish().expect("done")).expect("JSON");
        assert_eq!(line["fields"], json!({"t": 1, "m.x": null}));
    }
}
