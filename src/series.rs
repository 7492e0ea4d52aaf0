//! Numbers out of message payloads, for charts: which leaves of a payload can be plotted, the
//! sample one field of one message gives, a bounded series of `(time, value)` points with its
//! statistics, and the reduction of a long series to a chart's columns that keeps each
//! column's lowest and highest point (a spike never disappears because the chart is narrow).
//!
//! Numbers plot as numbers, strings that hold a finite number too (`"21.5"`); booleans and
//! short strings (`"ON"`, `"idle"`) plot as steps between their distinct values. NaN,
//! infinities, other strings and non-numeric payloads are skipped and counted.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::expr::Path;
use crate::payload::decode::Decoder;

/// Leaves listed for a payload at most: a huge object offers its first ones.
pub const MAX_LEAVES: usize = 64;
/// How deep leaves are looked for.
const MAX_DEPTH: usize = 8;
/// Distinct strings a step series tells apart; more are skipped.
pub const MAX_LABELS: usize = 16;
/// Longer strings are text, not an enumerated value.
const MAX_LABEL_CHARS: usize = 40;
/// Series pinned to the charts pane at most.
pub const MAX_PINS: usize = 6;
/// Points a pinned series keeps.
pub const PINNED_POINTS: usize = 10_000;

/// What to plot of a message: a path into its value, or the payload itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Field(Option<Path>);

impl Field {
    /// The payload itself (a payload that is a number, `true`, `ON`).
    pub fn payload() -> Self {
        Self(None)
    }

    /// A path as typed (`temp`, `a.b[0].c`, `["odd key"]`); empty is the payload itself.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text == PAYLOAD_LABEL {
            return Ok(Self::payload());
        }
        Path::parse(text).map(|p| Self(Some(p)))
    }

    /// The path as typed; empty for the payload itself.
    pub fn text(&self) -> &str {
        self.0.as_ref().map_or("", |p| p.text.as_str())
    }

    /// How the field is named on screen.
    pub fn label(&self) -> &str {
        self.0.as_ref().map_or(PAYLOAD_LABEL, |p| p.text.as_str())
    }
}

const PAYLOAD_LABEL: &str = "(payload)";

/// A payload read once, for every field taken from it.
#[derive(Debug, Clone, PartialEq)]
pub enum Content<'a> {
    /// JSON, or what a decoder made of the bytes.
    Json(Value),
    Text(&'a str),
    Binary,
}

/// Reads a payload: through its topic's decoder when there is one, else as JSON, else as text.
pub fn read<'a>(payload: &'a [u8], decoder: Option<&Decoder>) -> Content<'a> {
    if let Some(d) = decoder {
        return d
            .decode(payload)
            .map_or(Content::Binary, |v| Content::Json(v.to_json()));
    }
    if let Ok(v) = serde_json::from_slice(payload) {
        return Content::Json(v);
    }
    std::str::from_utf8(payload).map_or(Content::Binary, |s| Content::Text(s.trim()))
}

/// What one field of one message gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    Number(f64),
    Bool(bool),
    /// A short string: one value of an enumeration.
    Label(String),
    /// Nothing to plot: not there, not a number, NaN, infinite, long text, binary.
    Skip,
}

/// The sample `field` gives in `content`.
pub fn sample(content: &Content<'_>, field: &Field) -> Sample {
    match (content, &field.0) {
        (Content::Json(v), None) => classify(v),
        (Content::Json(v), Some(path)) => path.get(v).map_or(Sample::Skip, classify),
        (Content::Text(s), None) => classify_text(s),
        _ => Sample::Skip,
    }
}

fn classify(value: &Value) -> Sample {
    match value {
        Value::Number(n) => n
            .as_f64()
            .filter(|x| x.is_finite())
            .map_or(Sample::Skip, Sample::Number),
        Value::Bool(b) => Sample::Bool(*b),
        Value::String(s) => classify_text(s),
        _ => Sample::Skip,
    }
}

fn classify_text(text: &str) -> Sample {
    let text = text.trim();
    if let Ok(x) = text.parse::<f64>() {
        // "NaN" and "inf" parse, and plot nowhere.
        return if x.is_finite() {
            Sample::Number(x)
        } else {
            Sample::Skip
        };
    }
    if text.is_empty() || text.chars().count() > MAX_LABEL_CHARS || text.contains('\n') {
        return Sample::Skip;
    }
    Sample::Label(text.to_string())
}

/// What kind of values a leaf holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafKind {
    Number,
    Bool,
    Label,
}

/// A plottable leaf of a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub field: Field,
    pub kind: LeafKind,
}

/// The plottable leaves of a payload, in document order (at most `MAX_LEAVES`).
pub fn leaves(content: &Content<'_>) -> Vec<Leaf> {
    let mut out = Vec::new();
    match content {
        Content::Json(v) => walk(v, &mut String::new(), 0, &mut out),
        Content::Text(s) => {
            if let Some(kind) = kind_of(&classify_text(s)) {
                out.push(Leaf {
                    field: Field::payload(),
                    kind,
                });
            }
        }
        Content::Binary => {}
    }
    out
}

fn kind_of(sample: &Sample) -> Option<LeafKind> {
    match sample {
        Sample::Number(_) => Some(LeafKind::Number),
        Sample::Bool(_) => Some(LeafKind::Bool),
        Sample::Label(_) => Some(LeafKind::Label),
        Sample::Skip => None,
    }
}

fn walk(value: &Value, path: &mut String, depth: usize, out: &mut Vec<Leaf>) {
    if out.len() >= MAX_LEAVES || depth > MAX_DEPTH {
        return;
    }
    let mut child = |path: &mut String, step: &str, v: &Value| {
        let len = path.len();
        path.push_str(step);
        walk(v, path, depth + 1, out);
        path.truncate(len);
    };
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let step = crate::expr::key_step(key, path.is_empty());
                child(path, &step, v);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                child(path, &format!("[{i}]"), v);
            }
        }
        scalar => {
            let Some(kind) = kind_of(&classify(scalar)) else {
                return;
            };
            let field = if path.is_empty() {
                Field::payload()
            } else {
                match Path::parse(path) {
                    Ok(p) => Field(Some(p)),
                    Err(_) => return,
                }
            };
            out.push(Leaf { field, kind });
        }
    }
}

/// The field a chart starts with: the first number, else the first boolean, else the first
/// short string.
pub fn default_field(content: &Content<'_>) -> Option<Field> {
    let all = leaves(content);
    [LeafKind::Number, LeafKind::Bool, LeafKind::Label]
        .into_iter()
        .find_map(|kind| all.iter().find(|l| l.kind == kind))
        .map(|l| l.field.clone())
}

/// A time as chart coordinates: seconds since the epoch.
pub fn seconds(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Lowest, highest, mean and last value of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub last: f64,
    pub count: usize,
}

impl Stats {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Self> {
        let mut s: Option<Stats> = None;
        for x in values {
            let st = s.get_or_insert(Stats {
                min: x,
                max: x,
                mean: 0.0,
                last: x,
                count: 0,
            });
            st.count += 1;
            st.min = st.min.min(x);
            st.max = st.max.max(x);
            st.last = x;
            // A running mean: a sum of values near f64::MAX would overflow.
            #[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^52")]
            let n = st.count as f64;
            st.mean += (x - st.mean) / n;
        }
        s
    }
}

/// A bounded series of `(seconds, value)` points, oldest first. Strings and booleans become
/// the index of their value among the distinct values seen (steps); numbers win: the first
/// number turns a step series into a numeric one.
#[derive(Debug, Clone)]
pub struct Series {
    points: VecDeque<(f64, f64)>,
    capacity: usize,
    /// The distinct values of a step series, in the order they are drawn bottom to top.
    labels: Vec<String>,
    numeric: bool,
    /// Messages that gave nothing to plot.
    pub skipped: u64,
}

impl Series {
    pub fn new(capacity: usize) -> Self {
        Self {
            points: VecDeque::new(),
            capacity: capacity.max(1),
            labels: Vec::new(),
            numeric: false,
            skipped: 0,
        }
    }

    pub fn push(&mut self, at: f64, sample: Sample) {
        let y = match sample {
            Sample::Skip => None,
            Sample::Number(x) => {
                if !self.numeric {
                    // Numbers win over the strings seen so far.
                    self.skipped += self.points.len() as u64;
                    self.points.clear();
                    self.labels.clear();
                    self.numeric = true;
                }
                Some(x)
            }
            Sample::Bool(_) | Sample::Label(_) if self.numeric => None,
            Sample::Bool(b) => {
                if self.labels.is_empty() {
                    // false below true, whatever comes first.
                    self.labels = vec!["false".into(), "true".into()];
                }
                self.label_index(if b { "true" } else { "false" })
            }
            Sample::Label(text) => self.label_index(&text),
        };
        let Some(y) = y else {
            self.skipped += 1;
            return;
        };
        if self.points.len() == self.capacity {
            self.points.pop_front();
        }
        self.points.push_back((at, y));
    }

    #[expect(clippy::cast_precision_loss, reason = "at most MAX_LABELS labels")]
    fn label_index(&mut self, text: &str) -> Option<f64> {
        let at = match self.labels.iter().position(|l| l == text) {
            Some(at) => at,
            None if self.labels.len() < MAX_LABELS => {
                self.labels.push(text.to_string());
                self.labels.len() - 1
            }
            None => return None,
        };
        Some(at as f64)
    }

    pub fn points(&self) -> &VecDeque<(f64, f64)> {
        &self.points
    }

    /// The distinct values of a step series (empty for numbers).
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The value a step series' point stands for.
    pub fn label_at(&self, y: f64) -> Option<&str> {
        self.labels
            .iter()
            .zip(0u32..)
            .find(|(_, i)| (f64::from(*i) - y).abs() < 0.5)
            .map(|(l, _)| l.as_str())
    }

    /// Whether it plots as steps (booleans, enumerated strings).
    pub fn steps(&self) -> bool {
        !self.numeric && !self.points.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    pub fn stats(&self) -> Option<Stats> {
        Stats::of(self.points.iter().map(|p| p.1))
    }

    /// Forgets every point (the source started over).
    pub fn clear(&mut self) {
        *self = Self::new(self.capacity);
    }
}

/// The points to draw for `points` (oldest first) between `x0` and `x1` on `columns`
/// columns: all of them when they fit, else each column's lowest and highest, in the order
/// they came. The nearest point outside the window on each side is kept, so the line runs to
/// the edges. `steps` draws each value flat until the next one. A column keeps at most four
/// points: its first, lowest, highest and last.
pub fn downsample(
    points: impl IntoIterator<Item = (f64, f64)>,
    (x0, x1): (f64, f64),
    columns: usize,
    steps: bool,
) -> Vec<(f64, f64)> {
    let mut inside: Vec<(f64, f64)> = Vec::new();
    let mut before: Option<(f64, f64)> = None;
    let mut after: Option<(f64, f64)> = None;
    for p in points {
        if p.0 < x0 {
            before = Some(p);
        } else if p.0 > x1 {
            after.get_or_insert(p);
        } else {
            inside.push(p);
        }
    }
    let mut all: Vec<(f64, f64)> = before.into_iter().chain(inside).chain(after).collect();
    if steps {
        all = stepped(&all);
    }
    let columns = columns.max(1);
    if all.len() <= 4 * columns || x1 <= x0 {
        return all;
    }
    let width = x1 - x0;
    let column = |x: f64| {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "clamped to the columns"
        )]
        let c = (((x - x0) / width) * columns as f64).clamp(0.0, (columns - 1) as f64) as usize;
        c
    };
    let mut out = Vec::with_capacity(4 * columns);
    let mut at = 0;
    while at < all.len() {
        let c = column(all[at].0);
        let mut end = at;
        let (mut low, mut high) = (at, at);
        while end < all.len() && column(all[end].0) == c {
            if all[end].1 < all[low].1 {
                low = end;
            }
            if all[end].1 > all[high].1 {
                high = end;
            }
            end += 1;
        }
        // The first and the last too, so the line runs on from column to column.
        let mut keep = [at, low, high, end - 1];
        keep.sort_unstable();
        let mut previous = None;
        for i in keep {
            if previous != Some(i) {
                out.push(all[i]);
                previous = Some(i);
            }
        }
        at = end;
    }
    out
}

/// Each value held flat until the next one comes.
fn stepped(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (i, p) in points.iter().enumerate() {
        if i > 0 && points[i - 1].1.to_bits() != p.1.to_bits() {
            out.push((p.0, points[i - 1].1));
        }
        out.push(*p);
    }
    out
}

/// A value range mapped to `0.0..=1.0`, also when the range is wider than `f64` can subtract
/// (`-1e308..1e308`) or a single value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub low: f64,
    pub high: f64,
}

impl Scale {
    /// The range of `stats`, or of several: an equal-valued series gets a band around it.
    pub fn of(stats: impl IntoIterator<Item = Stats>) -> Option<Self> {
        let mut s: Option<Scale> = None;
        for st in stats {
            let sc = s.get_or_insert(Scale {
                low: st.min,
                high: st.max,
            });
            sc.low = sc.low.min(st.min);
            sc.high = sc.high.max(st.max);
        }
        s
    }

    /// Where `y` sits, from 0 (low) to 1 (high); 0.5 for a range of one value.
    pub fn position(&self, y: f64) -> f64 {
        // Halved first: the difference of two halves is always finite.
        let span = self.high / 2.0 - self.low / 2.0;
        if span <= 0.0 || !span.is_finite() {
            return 0.5;
        }
        ((y / 2.0 - self.low / 2.0) / span).clamp(0.0, 1.0)
    }

    /// The value at a position (for axis labels).
    pub fn value_at(&self, position: f64) -> f64 {
        if self.high <= self.low {
            return self.low;
        }
        2.0 * (self.low / 2.0 + (self.high / 2.0 - self.low / 2.0) * position)
    }
}

/// A number as an axis or a legend shows it: short, no exponent below a million.
pub fn number(x: f64) -> String {
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e7).contains(&a) {
        return format!("{x:.3e}");
    }
    let text = if a >= 1000.0 || x.fract() == 0.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    };
    // Trailing zeros say nothing: 21.500 → 21.5.
    if text.contains('.') {
        let t = text.trim_end_matches('0').trim_end_matches('.');
        return t.to_string();
    }
    text
}

#[cfg(test)]
#[path = "series_tests.rs"]
mod tests;
