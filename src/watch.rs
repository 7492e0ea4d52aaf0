//! The anomaly watch: per-topic expectations learned from the stream (typical interval,
//! payload kind, JSON shape, sequence numbers, rate) and the anomalies raised when a message,
//! or the lack of one, breaks them. It sits beside the topic store and reads what the store
//! keeps (the message just stored and the one before), so its own state is 64 bytes a topic.
//!
//! Pure: time comes from the messages and from [`Watch::tick`]; the explorer, `watch` and
//! `sub --anomalies` all drive the same code, and tests drive it with simulated clocks.

pub mod anomaly;
mod detect;
pub mod rules;
pub mod shape;
mod track;

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::time::SystemTime;

pub use anomaly::{Anomaly, AnomalyKind, Data};
use detect::{Raised, baseline, duplicate_bytes, kind_and_shape, retained, sequence};
pub use rules::{Rules, Thresholds, WatchRule};
use shape::Kind;
use track::{BASELINE_SECS, Track};

use crate::store::{NodeId, ROOT, StoredMessage, TopicStore};

/// Anomalies kept for the list, newest last.
pub const KEPT: usize = 1000;

/// The minimum short-term rate (msg/s) a spike must reach, and the baseline a drop must
/// fall from: below these, silence is the better signal and noise dominates.
const SPIKE_MIN_RATE: f64 = 2.0;
const DROP_MIN_BASELINE: f64 = 1.0;
/// Messages a topic is scanned in full from its first, to learn its kind and shape.
const LEARN: u32 = 32;
/// After that, one message in this many is scanned in full (and every one whose length
/// changed); a change found in between is dated back (see `changed_at`).
const SCAN_EVERY: u32 = 32;

/// The watch over one store's topics.
#[derive(Debug)]
pub struct Watch {
    /// Per node: its track's index plus one (0 none). 4 bytes a level.
    slots: Vec<u32>,
    /// Per watched topic, dense, and the node each belongs to.
    tracks: Vec<Track>,
    nodes: Vec<NodeId>,
    /// The time `Track::last` counts from (ms since the Unix epoch).
    epoch_ms: u64,
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
            slots: Vec::new(),
            tracks: Vec::new(),
            nodes: Vec::new(),
            epoch_ms: 0,
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

    /// Forgets every topic and anomaly (the store restarted); the rules stay.
    pub fn restart(&mut self) {
        let generation = self.generation + 1;
        let rules = std::mem::take(&mut self.rules);
        *self = Self::new(rules);
        self.generation = generation;
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
            + (self.slots.capacity() + self.nodes.capacity()) * 4
            + self.list.len() * (std::mem::size_of::<Anomaly>() + 96)
            + self.marks.len() * 16
    }

    /// A connection event: silences and gaps while our own link is down are not the topics'.
    pub fn lifecycle(&mut self, l: &crate::broker::Lifecycle) {
        use crate::broker::LifecycleKind as K;
        match &l.kind {
            K::Connected(_) => self.link(true, l.at),
            K::Disconnected { .. }
            | K::GaveUp { .. }
            | K::Idle
            | K::Stage { result: Err(_), .. } => {
                self.link(false, l.at);
            }
            _ => {}
        }
    }

    /// The link went down or came back.
    pub fn link(&mut self, up: bool, now: SystemTime) {
        let ms = crate::store::millis(now);
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
        for (t, id) in self.tracks.iter_mut().zip(&self.nodes) {
            t.rule = self.rules.resolve(store.node(*id).path());
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

    /// The track of a topic, made on its first message; its index.
    fn slot(&mut self, id: NodeId, topic: &str, now_ms: u64) -> usize {
        let i = id as usize;
        if let Some(&slot) = self.slots.get(i) {
            if slot > 0 {
                return slot as usize - 1;
            }
        }
        if self.epoch_ms == 0 {
            // A minute back: a message stamped a little earlier (another clock) still fits.
            self.epoch_ms = now_ms.saturating_sub(60_000).max(1);
        }
        if self.slots.len() <= i {
            grow(&mut self.slots, i + 1);
            self.slots.resize(i + 1, 0);
        }
        let n = self.tracks.len() + 1;
        grow(&mut self.tracks, n);
        grow(&mut self.nodes, n);
        let mut t = Track::new();
        t.rule = self.rules.resolve(topic);
        self.tracks.push(t);
        self.nodes.push(id);
        self.slots[i] = u32::try_from(self.tracks.len()).unwrap_or(u32::MAX);
        self.tracks.len() - 1
    }

    /// A track's last message time in ms since the Unix epoch (0 never).
    fn last_ms(&self, t: &Track) -> u64 {
        if t.last == 0 {
            0
        } else {
            self.epoch_ms + u64::from(t.last - 1) * 10
        }
    }

    fn encode_last(&self, ms: u64) -> u32 {
        u32::try_from(ms.saturating_sub(self.epoch_ms) / 10 + 1).unwrap_or(u32::MAX)
    }

    /// Looks at the message just stored on `id` (its newest); returns how many anomalies it
    /// raised.
    #[inline]
    pub fn observe(&mut self, store: &TopicStore, id: NodeId) -> usize {
        if self.observe_steady(store, id) {
            0
        } else {
            self.observe_full(store, id)
        }
    }

    /// The common case (see [`steady`]), small enough to inline into the ingest loop; it
    /// changes nothing unless it returns true.
    #[inline]
    fn observe_steady(&mut self, store: &TopicStore, id: NodeId) -> bool {
        let Some(&slot) = self.slots.get(id as usize) else {
            return false;
        };
        let node = store.node(id);
        let (Some(last), Some(t)) = (
            node.history().back(),
            self.tracks.get(slot.wrapping_sub(1) as usize),
        ) else {
            return false;
        };
        let mut t = *t;
        #[expect(clippy::cast_possible_truncation, reason = "a length modulo 256")]
        let len8 = last.payload.len() as u8;
        t.count = t.count.saturating_add(1);
        if t.count <= LEARN || t.count % SCAN_EVERY == 0 || len8 != t.len8 {
            return false;
        }
        let now = node.last_millis();
        let last_ms = self.last_ms(&t);
        let th = self.rules.get(t.rule);
        if !steady(&mut t, last, now, last_ms, self.up_at, th) {
            return false;
        }
        t.last = self.encode_last(now);
        self.tracks[slot as usize - 1] = t;
        true
    }

    #[inline(never)]
    fn observe_full(&mut self, store: &TopicStore, id: NodeId) -> usize {
        let node = store.node(id);
        let history = node.history();
        let Some(last) = history.back() else {
            return 0;
        };
        // The store stamped the node with this message's time: no clock conversion here.
        let now = node.last_millis();
        let slot = self.slot(id, node.path(), now);
        let mut t = self.tracks[slot];
        let last_ms = self.last_ms(&t);
        let th = self.rules.get(t.rule);
        t.count = t.count.saturating_add(1);
        // A full scan while the topic is learned, when the length changed, and every
        // `SCAN_EVERY` messages; in between only the sequence number is read (when there is
        // one). A change found late is dated back to the message that made it (`changed_at`).
        #[expect(clippy::cast_possible_truncation, reason = "a length modulo 256")]
        let len8 = last.payload.len() as u8;
        let due = t.count <= LEARN || t.count % SCAN_EVERY == 0 || len8 != t.len8;
        t.len8 = len8;
        let scan = if due {
            Some(shape::scan(&last.payload, &th.seq_paths))
        } else {
            None
        };
        let seq = match &scan {
            Some(s) => {
                t.seq_at = s
                    .seq_at
                    .and_then(|at| u8::try_from(at + 1).ok())
                    .unwrap_or(0);
                s.seq
            }
            None if t.has(Track::HAS_SEQ) => (t.seq_at > 0)
                .then(|| shape::seq_at(&last.payload, usize::from(t.seq_at - 1), &th.seq_paths))
                .flatten()
                .or_else(|| shape::seq_only(&last.payload, &th.seq_paths)),
            None => None,
        };
        // Anomalies with the index in `history` of the message that showed them.
        let newest = history.len() - 1;
        let mut raised: Raised = Vec::new();
        let now_s = u32::try_from(now / 1000).unwrap_or(u32::MAX);
        if t.first_s == 0 {
            t.first_s = now_s;
        }
        t.settle_baseline(now_s);
        let established = t.count > th.min_messages;
        // A message after an outage of ours: its gap, rate and sequence say nothing of the
        // topic. Retained ones are replays of the past.
        let across_outage = last_ms > 0 && last_ms < self.up_at;
        let replay = last.retain || t.more & Track::PREV_RETAINED != 0;
        if last.retain {
            t.more |= Track::PREV_RETAINED;
        } else {
            t.more &= !Track::PREV_RETAINED;
        }

        if t.has(Track::SILENT) {
            t.set(Track::SILENT, false);
            raised.push((
                AnomalyKind::Resumed,
                Data::Resumed {
                    silent_ms: now.saturating_sub(last_ms),
                },
                newest,
            ));
        }
        let gap = (last_ms > 0).then(|| now.saturating_sub(last_ms));
        if let Some(gap) = gap.filter(|_| !replay && !across_outage) {
            t.sample_gap(gap);
        }

        baseline(&mut t, gap.filter(|_| !across_outage));
        if let Some(scan) = scan.filter(|s| s.kind != Kind::Empty) {
            let at = |t: &Track| changed_at(history, t, &th.seq_paths);
            kind_and_shape(&mut t, &scan, established, history, at, &mut raised);
        }
        let seq_checked = seq.is_some_and(|v| {
            sequence(
                &mut t,
                v,
                last.dup,
                replay || across_outage,
                newest,
                &mut raised,
            )
        });
        // Both detectors look at nothing most messages have: test that here, inline.
        if !seq_checked && !replay && (last.dup || maybe_soon(&t, gap, established)) {
            duplicate_bytes(&t, history, gap, established, &mut raised);
        }
        if last.retain || last.payload.is_empty() {
            retained(&mut t, history, gap, established, &mut raised);
        }
        t.last = self.encode_last(now);
        self.tracks[slot] = t;
        let n = raised.len();
        for (kind, data, at) in raised {
            let message = &history[at];
            self.report_at(store, id, kind, message.received, Some(message), data);
        }
        n
    }

    /// The clock: silences and rate drops, which no message announces.
    pub fn tick(&mut self, store: &TopicStore, now: SystemTime) {
        if self.down_since.is_some() {
            return;
        }
        let now_ms = crate::store::millis(now);
        let secs = u32::try_from(now_ms / 1000).unwrap_or(u32::MAX);
        let mut raised = Vec::new();
        let epoch_ms = self.epoch_ms;
        for (t, &id) in self.tracks.iter_mut().zip(&self.nodes) {
            let th = self.rules.get(t.rule);
            if t.count < th.min_messages || th.mute {
                continue;
            }
            let last_ms = epoch_ms + u64::from(t.last.saturating_sub(1)) * 10;
            if !t.has(Track::SILENT) && t.interval_ms > 0.0 {
                let since = last_ms.max(self.up_at);
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
                            silent_ms: now_ms.saturating_sub(last_ms),
                            interval_ms,
                        },
                    ));
                }
            }
            if t.has(Track::BASELINE) && !t.has(Track::SILENT) {
                #[expect(clippy::cast_precision_loss, reason = "an average")]
                let idle = now_ms.saturating_sub(last_ms) as f64 / 1000.0;
                // The average started from zero: correct for its age.
                let age = f64::from(secs.saturating_sub(t.first_s).max(1));
                let baseline = f64::from(t.baseline) * (-idle / BASELINE_SECS).exp()
                    / (1.0 - (-age / BASELINE_SECS).exp());
                let fast = store.node(id).rate_at(now);
                if let Some((kind, data)) = rate_step(t, th, secs, fast, baseline) {
                    raised.push((id, kind, data));
                }
            }
        }
        for (id, kind, data) in raised {
            self.report_at(store, id, kind, now, None, data);
        }
    }

    /// An anomaly found outside the watch's own detectors (a Sparkplug `seq` gap), raised
    /// like the others: listed, marked, counted, muted by the same rules.
    pub fn report(
        &mut self,
        store: &TopicStore,
        id: NodeId,
        kind: AnomalyKind,
        message: Option<&StoredMessage>,
        data: Data,
    ) {
        let at = message.map_or(SystemTime::UNIX_EPOCH, |m| m.received);
        self.report_at(store, id, kind, at, message, data);
    }

    /// Raises an anomaly at a given time (an alert the clock raised has no message): listed,
    /// marked, counted, muted by the same rules as the watch's own.
    pub fn report_at(
        &mut self,
        store: &TopicStore,
        id: NodeId,
        kind: AnomalyKind,
        at: SystemTime,
        message: Option<&StoredMessage>,
        data: Data,
    ) {
        let rule = self
            .slots
            .get(id as usize)
            .filter(|s| **s > 0)
            .map_or(0, |s| self.tracks[*s as usize - 1].rule);
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
}

/// Grows a vector by a sixteenth at a time rather than doubling: with 100k topics the
/// doubling's slack would cost more than the tracks.
fn grow<T>(v: &mut Vec<T>, needed: usize) {
    if v.capacity() < needed {
        let extra = (needed / 16).max(64);
        v.reserve_exact(needed - v.len() + extra);
    }
}

/// The common case, done in a tenth of the full path's work: a topic past learning, between
/// full scans, whose message is live (no retain, no DUP, not after an outage of ours), not
/// sooner than usual and, when it has a sequence, one more than the last. Only the interval,
/// the rate baseline and the sequence move. `false` sends the message down the full path.
#[inline]
fn steady(
    t: &mut Track,
    last: &StoredMessage,
    now: u64,
    last_ms: u64,
    up_at: u64,
    th: &Thresholds,
) -> bool {
    if t.has(Track::SILENT)
        || last.retain
        || last.dup
        || t.more & Track::PREV_RETAINED != 0
        || last.payload.is_empty()
        || last_ms == 0
        || last_ms < up_at
        || t.count <= th.min_messages
    {
        return false;
    }
    let gap = now.saturating_sub(last_ms);
    if maybe_soon(t, Some(gap), true) {
        return false;
    }
    if t.has(Track::HAS_SEQ) {
        // The number where the last full scan found the sequence, one more than the last:
        // a different field that happens to hold exactly that value at exactly that place
        // (same length, keys reordered) is the only way to be fooled, and then only for
        // this one message.
        let next = t.seq().checked_add(1);
        let read = (t.seq_at > 0)
            .then(|| shape::int_at(&last.payload, usize::from(t.seq_at - 1)))
            .flatten();
        if read.is_none() || read != next {
            return false;
        }
        t.seq_step(true);
        t.set_seq(read.unwrap_or_default());
    }
    t.sample_gap(gap);
    baseline(t, Some(gap));
    if !t.has(Track::BASELINE) {
        t.settle_baseline(u32::try_from(now / 1000).unwrap_or(u32::MAX));
    }
    true
}

/// Whether a message came much sooner than usual, for [`duplicate_bytes`] (which decides).
#[inline]
fn maybe_soon(t: &Track, gap: Option<u64>, established: bool) -> bool {
    established
        && t.interval_ms >= detect::DUPLICATE_MIN_INTERVAL_MS
        && gap.is_some_and(|g| {
            #[expect(clippy::cast_precision_loss, reason = "milliseconds")]
            let g = g as f32;
            g < 0.25 * t.interval_ms
        })
}

/// A 64-bit fingerprint folded to 32 bits; 0 stays "none".
fn fold(shape: u64) -> u32 {
    #[expect(clippy::cast_possible_truncation, reason = "folded")]
    let f = (shape ^ (shape >> 32)) as u32;
    f.max(1)
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
        t.more &= !Track::PENDING;
        return None;
    };
    if t.has(flag) {
        return None;
    }
    #[expect(clippy::cast_possible_truncation, reason = "seconds, wrapping")]
    let now16 = now_s as u16;
    if t.more & Track::PENDING == 0 {
        t.more |= Track::PENDING;
        t.rate_since = now16;
        return None;
    }
    if u64::from(now16.wrapping_sub(t.rate_since)) * 1000 < th.rate_for_ms {
        return None;
    }
    t.set(flag, true);
    t.more &= !Track::PENDING;
    Some((
        kind,
        Data::Rate {
            rate: fast,
            baseline,
        },
    ))
}

/// Where in `history` the kind or shape the newest message has began: the oldest of the
/// run of messages, unscanned since the last full scan, that already look like the newest.
fn changed_at(history: &VecDeque<StoredMessage>, t: &Track, seq_paths: &[u64]) -> usize {
    let newest = history.len() - 1;
    let known = |m: &StoredMessage| {
        let s = shape::scan(&m.payload, seq_paths);
        let shape = if s.kind == Kind::Json {
            fold(s.shape)
        } else {
            0
        };
        s.kind as u8 == t.kind() && (shape == 0 || shape == t.shape || shape == t.alt_shape)
    };
    let oldest = newest.saturating_sub(SCAN_EVERY as usize);
    (oldest..newest)
        .rev()
        .find(|&i| known(&history[i]))
        .map_or(oldest, |i| i + 1)
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

fn payload_hash(bytes: &[u8]) -> u16 {
    let h = BuildHasherDefault::<DefaultHasher>::default().hash_one(bytes);
    #[expect(clippy::cast_possible_truncation, reason = "a 16-bit fingerprint")]
    let h = (h ^ (h >> 16) ^ (h >> 32) ^ (h >> 48)) as u16;
    h.max(1)
}

#[cfg(test)]
mod tests;
