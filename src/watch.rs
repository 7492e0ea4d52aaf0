//! The anomaly watch: per-topic expectations learned from the stream (typical interval,
//! payload kind, JSON shape, sequence numbers, rate) and the anomalies raised when a message,
//! or the lack of one, breaks them. It sits beside the topic store and reads what the store
//! keeps (the message just stored and the one before), so its own state is 64 bytes a topic.
//!
//! Pure: time comes from the messages and from [`Watch::tick`]; the explorer, `watch` and
//! `sub --anomalies` all drive the same code, and tests drive it with simulated clocks.

pub mod anomaly;
pub mod rules;
pub mod shape;
mod track;

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::time::{Duration, SystemTime};

pub use anomaly::{Anomaly, AnomalyKind, Data};
pub use rules::{Rules, Thresholds, WatchRule};
use shape::PayloadKind;
use track::{BASELINE_AFTER, BASELINE_AGE_SECS, BASELINE_SECS, Track};

use crate::store::{NodeId, ROOT, StoredMessage, TopicStore};

/// Anomalies kept for the list, newest last.
pub const KEPT: usize = 1000;

/// The minimum short-term rate (msg/s) a spike must reach, and the baseline a drop must
/// fall from: below these, silence is the better signal and noise dominates.
const SPIKE_MIN_RATE: f64 = 2.0;
const DROP_MIN_BASELINE: f64 = 1.0;
/// Byte-for-byte duplicates are looked for only on topics this slow (ms): faster ones
/// arrive in batches, and equal neighbours are common.
const DUPLICATE_MIN_INTERVAL_MS: f32 = 500.0;
/// A retained value replaced after standing this long (ms) is news; sooner, it is a stream.
const RETAINED_SETTLED_MS: u64 = 60_000;
/// Sequence values this small after a larger one read as a restart.
const RESET_BELOW: i64 = 16;

fn millis(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn at_millis(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}

/// The watch over one store's topics.
#[derive(Debug)]
pub struct Watch {
    tracks: Vec<Track>,
    rules: Rules,
    /// The newest [`KEPT`] anomalies, oldest first.
    list: VecDeque<Anomaly>,
    /// Anomalies in the list at and below each level (only levels that have some).
    marks: HashMap<NodeId, u32>,
    next_id: u64,
    /// Anomalies raised, per kind, since the start (muted ones are never raised).
    pub counts: [u64; AnomalyKind::ALL.len()],
    /// The link is down since then: silences are not the topics' fault.
    down_since: Option<u64>,
    /// The link came back then: gaps and silences are measured from it.
    up_at: u64,
    /// Changes whenever the list does.
    pub generation: u64,
}

impl Default for Watch {
    fn default() -> Self {
        Self::new(Rules::default())
    }
}

impl Watch {
    pub fn new(rules: Rules) -> Self {
        Self {
            tracks: Vec::new(),
            rules,
            list: VecDeque::new(),
            marks: HashMap::new(),
            next_id: 1,
            counts: [0; AnomalyKind::ALL.len()],
            down_since: None,
            up_at: 0,
            generation: 0,
        }
    }

    /// The anomalies kept, oldest first.
    pub fn list(&self) -> &VecDeque<Anomaly> {
        &self.list
    }

    /// Anomalies raised since the start.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Anomalies in the list at and below a level.
    pub fn marks(&self, id: NodeId) -> u32 {
        self.marks.get(&id).copied().unwrap_or(0)
    }

    /// Anomalies kept for one topic, newest first.
    pub fn of_topic(&self, id: NodeId) -> impl Iterator<Item = &Anomaly> {
        self.list.iter().rev().filter(move |a| a.node == id)
    }

    /// Anomalies raised after the one with this id (0 for all kept), oldest first.
    pub fn since(&self, id: u64) -> impl Iterator<Item = &Anomaly> {
        let skip = self.list.partition_point(|a| a.id <= id);
        self.list.iter().skip(skip)
    }

    /// The id of the newest anomaly (0 none).
    pub fn last_id(&self) -> u64 {
        self.next_id - 1
    }

    /// Bytes this holds, for the store's memory budget.
    pub fn heap_bytes(&self) -> usize {
        self.tracks.capacity() * std::mem::size_of::<Track>()
            + self.list.len() * (std::mem::size_of::<Anomaly>() + 96)
            + self.marks.len() * 16
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The link went down or came back.
    pub fn link(&mut self, up: bool, now: SystemTime) {
        let ms = millis(now);
        if up {
            if self.down_since.take().is_some() || self.up_at == 0 {
                self.up_at = ms;
            }
        } else if self.down_since.is_none() {
            self.down_since = Some(ms);
        }
    }

    /// Mutes a topic filter from now on (its kept anomalies leave the list).
    pub fn mute(&mut self, store: &TopicStore, filter: &str) {
        self.rules.mute_first(filter);
        for t in &mut self.tracks {
            t.rule = u16::MAX;
        }
        let gone: Vec<Anomaly> = self
            .list
            .iter()
            .filter(|a| crate::topic::matches(&a.topic, filter))
            .cloned()
            .collect();
        self.list
            .retain(|a| !crate::topic::matches(&a.topic, filter));
        for a in &gone {
            self.unmark(store, a.node);
        }
        self.generation += 1;
    }

    fn track(&mut self, id: NodeId, topic: &str) -> (Track, u16) {
        let i = id as usize;
        if self.tracks.len() <= i {
            self.tracks.resize(i + 1, Track::new());
        }
        let mut t = self.tracks[i];
        if t.rule == u16::MAX {
            t.rule = self.rules.resolve(topic);
        }
        let rule = t.rule;
        (t, rule)
    }

    /// Looks at the message just stored on `id` (its newest); returns how many anomalies it
    /// raised.
    pub fn observe(&mut self, store: &TopicStore, id: NodeId) -> usize {
        let node = store.node(id);
        let history = node.history();
        let Some(last) = history.back() else {
            return 0;
        };
        let prev = history.len().checked_sub(2).map(|i| &history[i]);
        let (mut t, rule) = self.track(id, node.path());
        let th = self.rules.get(rule);
        let now = millis(last.received);
        let scan = shape::scan(&last.payload, &th.seq_paths);
        let mut raised: Vec<(AnomalyKind, Data)> = Vec::new();
        t.count = t.count.saturating_add(1);
        let now_s = u32::try_from(now / 1000).unwrap_or(u32::MAX);
        if t.first_s == 0 {
            t.first_s = now_s;
        }
        if !t.has(Track::BASELINE)
            && t.count >= BASELINE_AFTER
            && now_s.saturating_sub(t.first_s) >= BASELINE_AGE_SECS
        {
            t.set(Track::BASELINE, true);
        }
        let established = t.count > th.min_messages;
        // A message after an outage of ours: its gap, rate and sequence say nothing of the
        // topic. Retained ones are replays of the past.
        let across_outage = t.last_ms > 0 && t.last_ms < self.up_at;
        let replay = last.retain || prev.is_some_and(|p| p.retain);

        if t.has(Track::SILENT) {
            t.set(Track::SILENT, false);
            raised.push((
                AnomalyKind::Resumed,
                Data::Resumed {
                    silent_ms: now.saturating_sub(t.last_ms),
                },
            ));
        }
        let gap = (t.last_ms > 0).then(|| now.saturating_sub(t.last_ms));
        if let Some(gap) = gap.filter(|_| !replay && !across_outage) {
            t.sample_gap(gap);
        }

        // The rate baseline, averaged over minutes; the clock compares it with the store's
        // short average (see `tick`).
        // A rate away from its baseline does not feed it: a spike would otherwise raise its
        // own bar before it has lasted long enough to count.
        let off = t.more & Track::HOLD != 0;
        if let Some(gap) = gap.filter(|_| !across_outage && !off) {
            #[expect(clippy::cast_precision_loss, reason = "an average")]
            let decay = (-(gap as f64) / 1000.0 / BASELINE_SECS).exp();
            #[expect(clippy::cast_possible_truncation, reason = "an average")]
            {
                t.baseline = (f64::from(t.baseline) * decay + 1.0 / BASELINE_SECS) as f32;
            }
        }
        // Kind: JSON, text, binary.
        if scan.kind != PayloadKind::Empty {
            let kind = scan.kind as u8;
            if t.has(Track::HAS_KIND) && t.kind != kind && established {
                raised.push((
                    AnomalyKind::KindChanged,
                    Data::Kind {
                        from: PayloadKind::from_u8(t.kind),
                        to: scan.kind,
                    },
                ));
                t.shape = 0;
                t.alt_shape = 0;
            }
            t.kind = kind;
            t.set(Track::HAS_KIND, true);
        }

        // JSON shape.
        if scan.kind == PayloadKind::Json {
            if t.shape == 0 {
                t.shape = scan.shape;
            } else if scan.shape == t.alt_shape {
                std::mem::swap(&mut t.shape, &mut t.alt_shape);
            } else if scan.shape != t.shape {
                if established {
                    if let Some(data) = schema_change(prev, last) {
                        raised.push((AnomalyKind::SchemaChanged, data));
                    }
                }
                t.alt_shape = t.shape;
                t.shape = scan.shape;
            }
        }

        // Sequence numbers.
        let mut seq_checked = false;
        if let Some(v) = scan.seq {
            if !t.has(Track::HAS_SEQ) || replay || across_outage {
                if !t.has(Track::HAS_SEQ) || !replay || v > t.seq {
                    t.seq = v;
                }
                t.set(Track::HAS_SEQ, true);
            } else {
                seq_checked = true;
                let last_seq = t.seq;
                let confirmed = t.has(Track::SEQ_OK);
                match v.checked_sub(last_seq) {
                    Some(1) => {
                        t.seq_step(true);
                        t.seq = v;
                    }
                    Some(0) => {
                        if confirmed {
                            raised.push((
                                AnomalyKind::Duplicate,
                                Data::Duplicate {
                                    seq: Some(v),
                                    dup_flag: last.dup,
                                },
                            ));
                        }
                    }
                    Some(d) if d > 1 => {
                        if confirmed {
                            raised.push((
                                AnomalyKind::Gap,
                                Data::Gap {
                                    from: last_seq + 1,
                                    to: v - 1,
                                    missing: d - 1,
                                },
                            ));
                        }
                        t.seq_step(false);
                        t.seq = v;
                    }
                    _ => {
                        if v < RESET_BELOW && v < last_seq {
                            if confirmed {
                                raised.push((
                                    AnomalyKind::Reset,
                                    Data::Reset {
                                        from: last_seq,
                                        to: v,
                                    },
                                ));
                            }
                            t.seq = v;
                        } else {
                            if confirmed {
                                raised.push((
                                    AnomalyKind::OutOfOrder,
                                    Data::OutOfOrder {
                                        value: v,
                                        after: last_seq,
                                    },
                                ));
                            }
                            t.seq_step(false);
                        }
                    }
                }
            }
        }

        // The same bytes again, much sooner than usual on a topic whose payloads vary, or
        // flagged as a redelivery. A constant value sent faster is not a duplicate.
        let same = prev.is_some_and(|p| p.payload == last.payload);
        if !seq_checked && !replay && !last.payload.is_empty() && same {
            let soon = established
                && t.more & Track::SAME == 0
                && t.interval_ms >= DUPLICATE_MIN_INTERVAL_MS
                && gap.is_some_and(|g| {
                    #[expect(clippy::cast_precision_loss, reason = "milliseconds")]
                    let g = g as f32;
                    g < 0.25 * t.interval_ms
                });
            if soon || last.dup {
                raised.push((
                    AnomalyKind::Duplicate,
                    Data::Duplicate {
                        seq: None,
                        dup_flag: last.dup,
                    },
                ));
            }
        }
        if same {
            t.more |= Track::SAME;
        } else {
            t.more &= !Track::SAME;
        }

        // Retained values: a replaced one (seen at a resubscription, or live with
        // retain-as-published) on a topic that is not a stream (few messages, the value had
        // stood a minute), and any clearing.
        if last.retain && !last.payload.is_empty() {
            let h = payload_hash(&last.payload);
            let settled = gap.is_some_and(|g| g >= RETAINED_SETTLED_MS);
            if t.has(Track::RETAINED) && t.retained_hash != h && !established && settled {
                raised.push((
                    AnomalyKind::RetainedChanged,
                    Data::Retained { cleared: false },
                ));
            }
            t.retained_hash = h;
            t.set(Track::RETAINED, true);
        } else if last.payload.is_empty() && t.has(Track::RETAINED) {
            raised.push((
                AnomalyKind::RetainedChanged,
                Data::Retained { cleared: true },
            ));
            t.set(Track::RETAINED, false);
            t.retained_hash = 0;
        }

        t.last_ms = now;
        self.tracks[id as usize] = t;
        let n = raised.len();
        for (kind, data) in raised {
            self.raise(store, id, kind, last.received, Some(last), data);
        }
        n
    }

    /// The clock: silences and rate drops, which no message announces.
    pub fn tick(&mut self, store: &TopicStore, now: SystemTime) {
        if self.down_since.is_some() {
            return;
        }
        let now_ms = millis(now);
        let now_s = u32::try_from(now_ms / 1000).unwrap_or(u32::MAX);
        let mut raised = Vec::new();
        for (i, t) in self.tracks.iter_mut().enumerate() {
            if t.count == 0 || t.rule == u16::MAX {
                continue;
            }
            let th = self.rules.get(t.rule);
            if t.count < th.min_messages || th.mute {
                continue;
            }
            let id = NodeId::try_from(i).unwrap_or(ROOT);
            if !t.has(Track::SILENT) && t.interval_ms > 0.0 {
                let since = t.last_ms.max(self.up_at);
                #[expect(clippy::cast_precision_loss, reason = "milliseconds")]
                let quiet = now_ms.saturating_sub(since) as f64;
                if quiet > th.silence_after(f64::from(t.interval_ms)) {
                    t.set(Track::SILENT, true);
                    #[expect(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        reason = "milliseconds"
                    )]
                    let interval_ms = f64::from(t.interval_ms).round() as u64;
                    raised.push((
                        id,
                        AnomalyKind::Silent,
                        Data::Silent {
                            silent_ms: now_ms.saturating_sub(t.last_ms),
                            interval_ms,
                        },
                    ));
                }
            }
            if t.has(Track::BASELINE) && !t.has(Track::SILENT) {
                #[expect(clippy::cast_precision_loss, reason = "an average")]
                let idle = now_ms.saturating_sub(t.last_ms) as f64 / 1000.0;
                // The average started from zero: correct for its age.
                let age = f64::from(now_s.saturating_sub(t.first_s).max(1));
                let baseline = f64::from(t.baseline) * (-idle / BASELINE_SECS).exp()
                    / (1.0 - (-age / BASELINE_SECS).exp());
                let fast = store.node(id).rate_at(now);
                if let Some((kind, data)) = rate_step(t, th, now_s, fast, baseline) {
                    raised.push((id, kind, data));
                }
            }
        }
        for (id, kind, data) in raised {
            self.raise(store, id, kind, now, None, data);
        }
    }

    fn raise(
        &mut self,
        store: &TopicStore,
        id: NodeId,
        kind: AnomalyKind,
        at: SystemTime,
        message: Option<&StoredMessage>,
        data: Data,
    ) {
        let rule = self.tracks.get(id as usize).map_or(0, |t| t.rule);
        if !self.rules.get(rule).reports(kind) {
            return;
        }
        let anomaly = Anomaly {
            id: self.next_id,
            node: id,
            topic: store.node(id).path().to_string(),
            kind,
            at,
            message: message.map(|m| m.seq),
            data,
        };
        self.next_id += 1;
        self.counts[kind as usize] += 1;
        self.generation += 1;
        self.mark(store, id, 1);
        self.list.push_back(anomaly);
        if self.list.len() > KEPT {
            if let Some(old) = self.list.pop_front() {
                self.unmark(store, old.node);
            }
        }
    }

    fn mark(&mut self, store: &TopicStore, id: NodeId, n: u32) {
        let mut at = id;
        loop {
            *self.marks.entry(at).or_default() += n;
            if at == ROOT {
                break;
            }
            at = store.node(at).parent;
        }
    }

    fn unmark(&mut self, store: &TopicStore, id: NodeId) {
        let mut at = id;
        loop {
            if let Some(n) = self.marks.get_mut(&at) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.marks.remove(&at);
                }
            }
            if at == ROOT {
                break;
            }
            at = store.node(at).parent;
        }
    }

    /// The time of the last message seen on a topic.
    pub fn last_seen(&self, id: NodeId) -> Option<SystemTime> {
        self.tracks
            .get(id as usize)
            .filter(|t| t.last_ms > 0)
            .map(|t| at_millis(t.last_ms))
    }
}

/// One clock step of the rate detector: a rate far from its baseline for `rate_for` raises
/// once; it re-arms when the rate is back within half the factor.
fn rate_step(
    t: &mut Track,
    th: &Thresholds,
    now_s: u32,
    fast: f64,
    baseline: f64,
) -> Option<(AnomalyKind, Data)> {
    let f = th.rate_factor;
    // Hold the baseline still while the rate is well away from it (see `observe`).
    if fast > 0.5 * f * baseline || fast * 0.5 * f < baseline {
        t.more |= Track::HOLD;
    } else {
        t.more &= !Track::HOLD;
    }
    let (kind, flag) = if fast > f * baseline && fast >= SPIKE_MIN_RATE {
        (AnomalyKind::RateSpike, Track::RATE_HIGH)
    } else if baseline >= DROP_MIN_BASELINE && fast * f < baseline {
        (AnomalyKind::RateDrop, Track::RATE_LOW)
    } else {
        if fast <= 0.5 * f * baseline && fast * 0.5 * f >= baseline {
            t.set(Track::RATE_HIGH, false);
            t.set(Track::RATE_LOW, false);
        }
        t.rate_since = 0;
        return None;
    };
    if t.has(flag) {
        return None;
    }
    if t.rate_since == 0 {
        t.rate_since = now_s.max(1);
        return None;
    }
    if u64::from(now_s.saturating_sub(t.rate_since)) * 1000 < th.rate_for_ms {
        return None;
    }
    t.set(flag, true);
    t.rate_since = 0;
    Some((
        kind,
        Data::Rate {
            rate: fast,
            baseline,
        },
    ))
}

/// The schema change between the message before and this one, named; `None` when the full
/// comparison finds none (only an empty list filled up, say).
fn schema_change(prev: Option<&StoredMessage>, last: &StoredMessage) -> Option<Data> {
    let Some(after) = shape::paths(&last.payload) else {
        return Some(Data::Schema {
            diff: shape::ShapeDiff::default(),
        });
    };
    let Some(before) = prev.and_then(|p| shape::paths(&p.payload)) else {
        return Some(Data::Schema {
            diff: shape::ShapeDiff::default(),
        });
    };
    let diff = shape::diff(&before, &after);
    (!diff.is_empty()).then_some(Data::Schema { diff })
}

fn payload_hash(bytes: &[u8]) -> u32 {
    let h = BuildHasherDefault::<DefaultHasher>::default().hash_one(bytes);
    #[expect(clippy::cast_possible_truncation, reason = "a 32-bit fingerprint")]
    let h = (h ^ (h >> 32)) as u32;
    h.max(1)
}

#[cfg(test)]
mod tests;
