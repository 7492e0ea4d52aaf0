//! `mqscope export` and the explorer's `E`: messages as CSV (`ts, topic, qos, retain, size,
//! payload, payload_encoding`, or one column per `--field` path) or as JSON lines.

use std::io::{self, Write};

use base64::Engine as _;
use serde_json::Value;

use crate::broker::Message;
use crate::broker::json::timestamp;

/// A path into a JSON value: `a.b[0].c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    pub text: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

impl FieldPath {
    /// Parses `a.b[0].c` (keys are anything but `.` and `[`); the error names the column.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut steps = Vec::new();
        for (n, part) in text.split('.').enumerate() {
            let (key, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
            if key.is_empty() && (n > 0 || rest.is_empty()) {
                return Err(format!(
                    "`{text}`: an empty key (two dots, or a dot at an end)"
                ));
            }
            if !key.is_empty() {
                steps.push(Step::Key(key.to_string()));
            }
            while let Some(inner) = rest.strip_prefix('[') {
                let close = inner
                    .find(']')
                    .ok_or_else(|| format!("`{text}`: `[` without `]`"))?;
                let index = inner[..close].parse().map_err(|_| {
                    format!(
                        "`{text}`: `[{}]` is not an index (0, 1, …)",
                        &inner[..close]
                    )
                })?;
                steps.push(Step::Index(index));
                rest = &inner[close + 1..];
            }
            if !rest.is_empty() {
                return Err(format!("`{text}`: `{rest}` after `]`"));
            }
        }
        Ok(Self {
            text: text.to_string(),
            steps,
        })
    }

    pub fn get<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.steps.iter().try_fold(value, |v, step| match step {
            Step::Key(k) => v.get(k),
            Step::Index(i) => v.get(*i),
        })
    }
}

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
}

impl<W: Write> Exporter<W> {
    pub fn new(out: W, format: ExportFormat, fields: Vec<FieldPath>) -> io::Result<Self> {
        let mut me = Self {
            format,
            fields,
            csv: None,
            out: None,
            rows: 0,
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

    pub fn message(&mut self, m: &Message) -> io::Result<()> {
        self.rows += 1;
        match self.format {
            ExportFormat::Jsonl => {
                let out = self
                    .out
                    .as_mut()
                    .ok_or_else(|| io::Error::other("closed"))?;
                let mut line = crate::record::format::message_line(m);
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
