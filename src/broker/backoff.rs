//! Reconnect delays: exponential with jitter, reset only after a link that stayed up.
//!
//! rumqttc reconnects on the very next `poll()` after an error, with no delay at all, so a
//! flapping broker would be hammered. The supervisor asks this policy how long to wait.

use std::time::Duration;

/// The shape of the delays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffPolicy {
    pub first: Duration,
    pub factor: f64,
    pub cap: Duration,
    /// Each delay is scaled by a random factor in `[1 - jitter, 1 + jitter]`.
    pub jitter: f64,
    /// A link must stay up this long before the delays start again from `first`.
    pub stable_after: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(250),
            factor: 2.0,
            cap: Duration::from_secs(30),
            jitter: 0.2,
            stable_after: Duration::from_secs(10),
        }
    }
}

/// The running state: how many delays in a row have been handed out.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: BackoffPolicy,
    step: u32,
}

impl Backoff {
    pub fn new(policy: BackoffPolicy) -> Self {
        Self { policy, step: 0 }
    }

    /// The delay before the next attempt; `unit` is a random value in `[0, 1)`.
    pub fn next_delay(&mut self, unit: f64) -> Duration {
        let p = &self.policy;
        let exp = p.factor.powi(i32::try_from(self.step).unwrap_or(i32::MAX));
        let base = (p.first.as_secs_f64() * exp).min(p.cap.as_secs_f64());
        let scale = 1.0 + p.jitter * (2.0 * unit - 1.0);
        self.step = self.step.saturating_add(1);
        Duration::from_secs_f64((base * scale).clamp(0.0, p.cap.as_secs_f64()))
    }

    /// Called when a link ends after being up for `uptime`: only a stable link resets the delays.
    pub fn link_ended(&mut self, uptime: Duration) {
        if uptime >= self.policy.stable_after {
            self.step = 0;
        }
    }

    /// Forget the streak, e.g. when the user asks to reconnect now.
    pub fn reset(&mut self) {
        self.step = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> u128 {
        d.as_millis()
    }

    #[test]
    fn doubles_from_250ms_to_the_cap_without_jitter() {
        let mut b = Backoff::new(BackoffPolicy::default());
        let got: Vec<u128> = (0..10).map(|_| ms(b.next_delay(0.5))).collect();
        assert_eq!(
            got,
            [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
    }

    #[test]
    fn jitter_stays_within_twenty_percent_and_under_the_cap() {
        let mut b = Backoff::new(BackoffPolicy::default());
        assert_eq!(ms(b.next_delay(0.0)), 200);
        assert_eq!(ms(b.next_delay(0.999_999)), 599);
        for _ in 0..20 {
            assert!(b.next_delay(0.999_999) <= Duration::from_secs(30));
        }
    }

    #[test]
    fn only_a_stable_link_resets_the_streak() {
        let mut b = Backoff::new(BackoffPolicy::default());
        b.next_delay(0.5);
        b.next_delay(0.5);
        b.link_ended(Duration::from_secs(3));
        assert_eq!(ms(b.next_delay(0.5)), 1000, "a flapping link keeps growing");
        b.link_ended(Duration::from_secs(10));
        assert_eq!(ms(b.next_delay(0.5)), 250);
    }
}
