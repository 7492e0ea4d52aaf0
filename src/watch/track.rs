//! What the watch expects of one topic, learned from its stream, in 64 bytes: with 100k
//! topics every byte counts (a test holds the size).

/// Per-topic expectations.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Track {
    /// The highest sequence number seen, in two halves (an `i64` would align the track to 8
    /// bytes and cost 8 more).
    seq_lo: u32,
    seq_hi: u32,
    /// When its last message arrived: centiseconds since the watch's epoch, plus one (0 never);
    /// 497 days of range.
    pub last: u32,
    /// Fingerprints of its JSON shape and of the one before (both are "known"); 0 none.
    pub shape: u32,
    pub alt_shape: u32,
    /// Typical gap between messages (ms): rises fast, falls slowly, so a bursty topic's
    /// long pauses stay typical.
    pub interval_ms: f32,
    /// Long-run message rate (msg/s), averaged over [`BASELINE_SECS`].
    pub baseline: f32,
    /// Hash of the last retained payload, 16 bits (0 none): a collision misses one
    /// replacement in 65,536.
    pub retained_hash: u16,
    /// Messages seen, saturating.
    pub count: u32,
    /// When its first message arrived (seconds since the Unix epoch).
    pub first_s: u32,
    /// When the rate left its baseline (seconds, wrapping), valid with `PENDING`.
    pub rate_since: u16,
    /// The thresholds entry (`u16::MAX` not resolved yet).
    pub rule: u16,
    /// Where the sequence number began in the last fully scanned payload, plus one (0 not
    /// known, or past 255): the messages in between are read there first.
    pub seq_at: u8,
    pub flags: u8,
    /// Low nibble: +1 steps in a row; high nibble: jumps in a row since the sequence was
    /// confirmed.
    pub seq_run: u8,
    /// More flags (`HOLD`, `PENDING`, `PREV_RETAINED`) and, in bits 4 and 5, the payload
    /// kind of the last non-empty message (a `Kind`).
    pub more: u8,
    /// The last payload's length, modulo 256: a changed length calls for a full scan, and
    /// reading the previous message from the store for it would cost a cache miss.
    pub len8: u8,
}

/// Time constant of the rate baseline.
pub(super) const BASELINE_SECS: f64 = 300.0;
/// Messages, and seconds of watching, before a rate baseline counts.
pub(super) const BASELINE_AFTER: u32 = 30;
pub(super) const BASELINE_AGE_SECS: u32 = 60;

impl Track {
    pub const SILENT: u8 = 1;
    pub const HAS_SEQ: u8 = 2;
    /// The sequence went up by one often enough to be one.
    pub const SEQ_OK: u8 = 4;
    pub const RATE_HIGH: u8 = 8;
    pub const RATE_LOW: u8 = 16;
    /// Its last retained message is known (`retained_hash`).
    pub const RETAINED: u8 = 32;
    pub const BASELINE: u8 = 64;
    pub const HAS_KIND: u8 = 128;
    /// In `more`: the rate is far from the baseline, which holds still meanwhile.
    pub const HOLD: u8 = 1;
    /// In `more`: the rate left its baseline at `rate_since`.
    pub const PENDING: u8 = 2;
    /// In `more`: the last message was retained.
    pub const PREV_RETAINED: u8 = 4;
    const KIND_SHIFT: u8 = 4;
    const KIND_MASK: u8 = 0b11 << Self::KIND_SHIFT;

    pub fn new() -> Self {
        Self {
            rule: u16::MAX,
            ..Self::default()
        }
    }

    pub fn seq(&self) -> i64 {
        (i64::from(self.seq_hi) << 32) | i64::from(self.seq_lo)
    }

    pub fn set_seq(&mut self, v: i64) {
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "halves"
        )]
        {
            self.seq_lo = v as u32;
            self.seq_hi = (v >> 32) as u32;
        }
    }

    /// The payload kind of the last non-empty message (a `Kind` as a byte).
    pub fn kind(&self) -> u8 {
        (self.more & Self::KIND_MASK) >> Self::KIND_SHIFT
    }

    pub fn set_kind(&mut self, kind: u8) {
        self.more = (self.more & !Self::KIND_MASK) | ((kind << Self::KIND_SHIFT) & Self::KIND_MASK);
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    pub fn set(&mut self, flag: u8, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }

    /// The rate baseline counts once the topic sent enough, for long enough.
    pub fn settle_baseline(&mut self, now_s: u32) {
        if !self.has(Self::BASELINE)
            && self.count >= BASELINE_AFTER
            && now_s.saturating_sub(self.first_s) >= BASELINE_AGE_SECS
        {
            self.set(Self::BASELINE, true);
        }
    }

    /// Takes one gap between messages into the typical interval.
    pub fn sample_gap(&mut self, gap_ms: u64) {
        #[expect(clippy::cast_precision_loss, reason = "an average")]
        let gap = gap_ms as f32;
        self.interval_ms = if self.interval_ms <= 0.0 {
            gap
        } else if gap > self.interval_ms {
            self.interval_ms + 0.5 * (gap - self.interval_ms)
        } else {
            self.interval_ms + 0.02 * (gap - self.interval_ms)
        };
    }

    /// Sequence bookkeeping: +1 steps confirm a sequence, jumps in a row (a counter of
    /// events, not of messages) retract it.
    pub fn seq_step(&mut self, plus_one: bool) {
        let run = self.seq_run & 0x0f;
        let jumps = self.seq_run >> 4;
        if plus_one {
            self.seq_run = run.saturating_add(1).min(15);
            if self.seq_run >= 4 {
                self.set(Self::SEQ_OK, true);
            }
        } else {
            let jumps = jumps.saturating_add(1).min(15);
            if jumps >= 3 {
                self.set(Self::SEQ_OK, false);
                self.seq_run = 0;
            } else {
                self.seq_run = jumps << 4;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_track_fits_in_48_bytes() {
        // With its 4-byte slot per level and 4-byte node id, a topic of two levels costs 60
        // bytes before the vectors' growth slack (a sixteenth).
        assert!(
            std::mem::size_of::<Track>() <= 48,
            "{}",
            std::mem::size_of::<Track>()
        );
        let mut t = Track::new();
        t.more = Track::HOLD | Track::PREV_RETAINED;
        for k in 0..4 {
            t.set_kind(k);
            assert_eq!(t.kind(), k);
        }
        assert_eq!(t.more & 0x0f, Track::HOLD | Track::PREV_RETAINED);
        for v in [0, -1, i64::MAX, i64::MIN, 1 << 40, -(1 << 35)] {
            t.set_seq(v);
            assert_eq!(t.seq(), v);
        }
    }

    #[test]
    fn the_interval_rises_fast_and_falls_slowly() {
        let mut t = Track::new();
        t.sample_gap(1000);
        for _ in 0..9 {
            t.sample_gap(10);
        }
        assert!(t.interval_ms > 800.0, "{}", t.interval_ms);
        t.sample_gap(60_000);
        assert!(t.interval_ms > 30_000.0);
    }

    #[test]
    fn a_sequence_is_confirmed_by_steps_and_retracted_by_jumps() {
        let mut t = Track::new();
        for _ in 0..4 {
            t.seq_step(true);
        }
        assert!(t.has(Track::SEQ_OK));
        t.seq_step(false);
        t.seq_step(true);
        t.seq_step(false);
        assert!(t.has(Track::SEQ_OK));
        t.seq_step(false);
        t.seq_step(false);
        t.seq_step(false);
        assert!(!t.has(Track::SEQ_OK));
    }
}
