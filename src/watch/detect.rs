//! The detectors that run on each message, one function each, on a topic's [`Track`]: they
//! push what they find, with the index in the topic's history of the message that showed it.

use std::collections::VecDeque;

use super::shape::{Kind, Scan};
use super::track::{BASELINE_SECS, Track};
use super::{AnomalyKind, Data, fold, payload_hash, schema_change};
use crate::store::StoredMessage;

/// Anomalies found on one message: kind, data, index in the topic's history.
pub(super) type Raised = Vec<(AnomalyKind, Data, usize)>;

/// Byte-for-byte duplicates are looked for only on topics this slow (ms): faster ones
/// arrive in batches, and equal neighbours are common.
pub(super) const DUPLICATE_MIN_INTERVAL_MS: f32 = 500.0;
/// A retained value replaced after standing this long (ms) is news; sooner, it is a stream.
const RETAINED_SETTLED_MS: u64 = 60_000;
/// Sequence values this small after a larger one read as a restart.
const RESET_BELOW: i64 = 16;

/// The rate baseline, averaged over minutes; the clock compares it with the store's short
/// average. A rate away from its baseline does not feed it: a spike would otherwise raise
/// its own bar before it has lasted long enough to count.
pub(super) fn baseline(t: &mut Track, gap: Option<u64>) {
    if t.more & Track::HOLD != 0 {
        return;
    }
    let Some(gap) = gap else {
        return;
    };
    // exp(-x) to second order for the usual small x: a call to exp, or a division, per
    // message costs more than the rest of this.
    #[expect(clippy::cast_precision_loss, reason = "an average")]
    let x = gap as f64 * (1.0 / 1000.0 / BASELINE_SECS);
    let decay = if x < 0.25 {
        1.0 - x + 0.5 * x * x
    } else {
        (-x).exp()
    };
    #[expect(clippy::cast_possible_truncation, reason = "an average")]
    {
        t.baseline = (f64::from(t.baseline) * decay + 1.0 / BASELINE_SECS) as f32;
    }
}

/// Kind (JSON, text, binary) and JSON shape, from a full scan. `changed_at` finds where in
/// the history a change began (it may predate this message, between full scans).
pub(super) fn kind_and_shape(
    t: &mut Track,
    scan: &Scan,
    established: bool,
    history: &VecDeque<StoredMessage>,
    changed_at: impl Fn(&Track) -> usize,
    raised: &mut Raised,
) {
    let kind = scan.kind as u8;
    let shape = if scan.kind == Kind::Json {
        fold(scan.shape)
    } else {
        0
    };
    let kind_changed = t.has(Track::HAS_KIND) && t.kind() != kind;
    let shape_new =
        !kind_changed && shape != 0 && t.shape != 0 && shape != t.shape && shape != t.alt_shape;
    if (kind_changed || shape_new) && established {
        let at = changed_at(t);
        if kind_changed {
            raised.push((
                AnomalyKind::KindChanged,
                Data::Kind {
                    from: super::shape::kind_from_u8(t.kind()),
                    to: scan.kind,
                },
                at,
            ));
        } else if let Some(data) =
            schema_change(at.checked_sub(1).map(|i| &history[i]), &history[at])
        {
            raised.push((AnomalyKind::SchemaChanged, data, at));
        }
    }
    if kind_changed {
        t.shape = shape;
        t.alt_shape = 0;
    } else if t.shape == 0 {
        t.shape = shape;
    } else if shape != 0 && shape == t.alt_shape {
        std::mem::swap(&mut t.shape, &mut t.alt_shape);
    } else if shape_new {
        t.alt_shape = t.shape;
        t.shape = shape;
    }
    t.set_kind(kind);
    t.set(Track::HAS_KIND, true);
}

/// One sequence number `v` of the newest message; `unchecked` for a replay or the first
/// message after an outage of ours (it only moves the sequence on). Whether it was checked.
pub(super) fn sequence(
    t: &mut Track,
    v: i64,
    dup: bool,
    unchecked: bool,
    newest: usize,
    raised: &mut Raised,
) -> bool {
    if !t.has(Track::HAS_SEQ) || unchecked {
        if !t.has(Track::HAS_SEQ) || v > t.seq() {
            t.set_seq(v);
        }
        t.set(Track::HAS_SEQ, true);
        return false;
    }
    let last = t.seq();
    let confirmed = t.has(Track::SEQ_OK);
    let mut raise = |kind, data| {
        if confirmed {
            raised.push((kind, data, newest));
        }
    };
    match v.checked_sub(last) {
        Some(1) => {
            t.seq_step(true);
            t.set_seq(v);
        }
        Some(0) => raise(
            AnomalyKind::Duplicate,
            Data::Duplicate {
                seq: Some(v),
                dup_flag: dup,
            },
        ),
        Some(d) if d > 1 => {
            raise(
                AnomalyKind::Gap,
                Data::Gap {
                    from: last + 1,
                    to: v - 1,
                    missing: d - 1,
                },
            );
            t.seq_step(false);
            t.set_seq(v);
        }
        _ if v < RESET_BELOW && v < last => {
            raise(AnomalyKind::Reset, Data::Reset { from: last, to: v });
            t.set_seq(v);
        }
        _ => {
            raise(
                AnomalyKind::OutOfOrder,
                Data::OutOfOrder {
                    value: v,
                    after: last,
                },
            );
            t.seq_step(false);
        }
    }
    true
}

/// The same bytes again, much sooner than usual on a topic whose payloads vary (the two
/// before differ), or flagged as a redelivery. A constant value sent faster is not a
/// duplicate. Bytes are compared only then: a compare per message costs too much.
pub(super) fn duplicate_bytes(
    t: &Track,
    history: &VecDeque<StoredMessage>,
    gap: Option<u64>,
    established: bool,
    raised: &mut Raised,
) {
    let n = history.len();
    let last = &history[n - 1];
    if last.payload.is_empty() || n < 2 {
        return;
    }
    let soon = super::maybe_soon(t, gap, established);
    let varied = || n >= 3 && history[n - 3].payload != history[n - 2].payload;
    if (last.dup || soon && varied()) && history[n - 2].payload == last.payload {
        raised.push((
            AnomalyKind::Duplicate,
            Data::Duplicate {
                seq: None,
                dup_flag: last.dup,
            },
            n - 1,
        ));
    }
}

/// Retained values: a replaced one (seen at a resubscription, or live with
/// retain-as-published) on a topic that is not a stream (few messages, the value had stood
/// a minute), and any clearing.
pub(super) fn retained(
    t: &mut Track,
    history: &VecDeque<StoredMessage>,
    gap: Option<u64>,
    established: bool,
    raised: &mut Raised,
) {
    let newest = history.len() - 1;
    let last = &history[newest];
    if last.retain && !last.payload.is_empty() {
        let h = payload_hash(&last.payload);
        let settled = gap.is_some_and(|g| g >= RETAINED_SETTLED_MS);
        if t.has(Track::RETAINED) && t.retained_hash != h && !established && settled {
            raised.push((
                AnomalyKind::RetainedChanged,
                Data::Retained { cleared: false },
                newest,
            ));
        }
        t.retained_hash = h;
        t.set(Track::RETAINED, true);
    } else if last.payload.is_empty() && t.has(Track::RETAINED) {
        raised.push((
            AnomalyKind::RetainedChanged,
            Data::Retained { cleared: true },
            newest,
        ));
        t.set(Track::RETAINED, false);
        t.retained_hash = 0;
    }
}
