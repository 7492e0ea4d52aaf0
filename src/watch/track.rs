//! What the watch expects of one topic, learned from its stream, in 64 bytes: with 100k
//! topics every byte counts (a test holds the size).

/// Per-topic expectations.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Track {
    /// When its last message arrived (ms since the Unix epoch; 0 never).
    pub last_ms: u64,
    /// Fingerprint of its JSON shape, and of the one before (both are "known").
    pub shape: u64,
    pub alt_shape: u64,
    /// The highest sequence number seen.
    pub seq: i64,
    /// Typical gap between messages (ms): rises fast, falls slowly, so a bursty topic's
    /// long pauses stay typical.
    pub interval_ms: f32,
    /// Long-run message rate (msg/s), averaged over [`BASELINE_SECS`].
    pub baseline: f32,
    /// Hash of the last retained payload (0 none).
    pub retained_hash: u32,
    /// When the rate left its baseline (seconds since the Unix epoch, 0 it has not).
    pub rate_since: u32,
    /// Messages seen, saturating.
    pub count: u32,
    /// When its first message arrived (seconds since the Unix epoch).
    pub first_s: u32,
    /// The thresholds entry (`u16::MAX` not resolved yet).
    pub rule: u16,
    /// The payload kind of the last non-empty message (a `PayloadKind`), 0 none yet.
    pub kind: u8,
    pub flags: u8,
    /// Low nibble: +1 steps in a row; high nibble: jumps in a row since the sequence was
    /// confirmed.
    pub seq_run: u8,
    /// More flags (`SAME`).
    pub more: u8,
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
    /// In `more`: the last message carried the same bytes as the one before.
    pub const SAME: u8 = 1;
    /// In `more`: the rate is far from the baseline, which holds still meanwhile.
    pub const HOLD: u8 = 2;

    pub fn new() -> Self {
        Self {
            rule: u16::MAX,
            ..Self::default()
        }
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
    fn a_track_fits_in_64_bytes() {
        assert!(
            std::mem::size_of::<Track>() <= 64,
            "{}",
            std::mem::size_of::<Track>()
        );
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
