//! Cheap randomness for client ids and backoff jitter, without a dependency.
//!
//! `RandomState` is seeded from the OS per instance; hashing a counter through it gives
//! independent-looking values. Nothing here is used for security.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A random 64-bit value.
pub fn u64() -> u64 {
    RandomState::new().hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A random value in `[0.0, 1.0)`.
pub fn unit_f64() -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "53 random bits are plenty")]
    let v = (u64() >> 11) as f64 / (1u64 << 53) as f64;
    v
}
