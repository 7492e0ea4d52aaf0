//! The faults the proxy injects, shared by every connection and changed at run time (from the
//! schedule on the command line, or from keys in the proxy's screen).
//!
//! Each connection reads the current values for every chunk it forwards, so turning a knob
//! takes effect at once without touching the connections.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

/// The faults asked for on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultPlan {
    pub delay: Duration,
    pub jitter: Duration,
    /// Bytes per second per direction of each connection; `None` is unlimited.
    pub bandwidth: Option<u64>,
    pub drop_every: Option<Duration>,
    pub down_for: Option<Duration>,
    /// Each connection stops forwarding (without closing) this long after it starts.
    pub blackhole_after: Option<Duration>,
    /// The broker is down from the start.
    pub refuse: bool,
}

/// A fault applied, for the timeline and `--json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Every client connection was closed (`scheduled` by `--drop-every`, else by a key).
    DropAll {
        connections: usize,
        scheduled: bool,
    },
    /// New connections are accepted and closed at once.
    BrokerDown {
        for_: Option<Duration>,
    },
    BrokerUp,
    BlackHole(bool),
    Delay {
        delay: Duration,
        jitter: Duration,
    },
    Bandwidth(Option<u64>),
    /// One connection stopped forwarding (`--blackhole-after`).
    ConnectionBlackHoled {
        conn: u64,
    },
}

impl Fault {
    pub fn name(&self) -> &'static str {
        match self {
            Fault::DropAll { .. } => "drop_all",
            Fault::BrokerDown { .. } => "broker_down",
            Fault::BrokerUp => "broker_up",
            Fault::BlackHole(_) => "black_hole",
            Fault::Delay { .. } => "delay",
            Fault::Bandwidth(_) => "bandwidth",
            Fault::ConnectionBlackHoled { .. } => "connection_black_holed",
        }
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Fault::DropAll {
                connections,
                scheduled,
            } => format!(
                "dropped {connections} connection{}{}",
                if *connections == 1 { "" } else { "s" },
                if *scheduled { " (--drop-every)" } else { "" }
            ),
            Fault::BrokerDown { for_: Some(d) } => {
                format!("broker down for {}", dur(*d))
            }
            Fault::BrokerDown { for_: None } => "broker down".into(),
            Fault::BrokerUp => "broker up".into(),
            Fault::BlackHole(true) => "black hole on: nothing is forwarded".into(),
            Fault::BlackHole(false) => "black hole off (for new connections)".into(),
            Fault::Delay { delay, jitter } => {
                format!("delay {} ± {} each way", dur(*delay), dur(*jitter))
            }
            Fault::Bandwidth(Some(rate)) => {
                format!("bandwidth {}/s each way", crate::size::human(*rate))
            }
            Fault::Bandwidth(None) => "bandwidth unlimited".into(),
            Fault::ConnectionBlackHoled { conn } => {
                format!("connection #{conn} black-holed (--blackhole-after)")
            }
        }
    }
}

/// The live fault knobs.
#[derive(Debug)]
pub struct Faults {
    delay_us: AtomicU64,
    jitter_us: AtomicU64,
    /// 0: unlimited.
    bandwidth: AtomicU64,
    down: AtomicBool,
    black_hole: AtomicBool,
    /// Bumped to close every connection.
    drops: watch::Sender<u64>,
    pub plan: FaultPlan,
}

/// `200ms`, `1s 500ms`: a duration for people, to the millisecond.
pub fn dur(d: Duration) -> String {
    let ms = Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    humantime::format_duration(ms).to_string()
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Faults {
    pub fn new(plan: FaultPlan) -> Self {
        Self {
            delay_us: AtomicU64::new(micros(plan.delay)),
            jitter_us: AtomicU64::new(micros(plan.jitter)),
            bandwidth: AtomicU64::new(plan.bandwidth.unwrap_or(0)),
            down: AtomicBool::new(plan.refuse),
            black_hole: AtomicBool::new(false),
            drops: watch::channel(0).0,
            plan,
        }
    }

    pub fn delay(&self) -> (Duration, Duration) {
        (
            Duration::from_micros(self.delay_us.load(Ordering::Relaxed)),
            Duration::from_micros(self.jitter_us.load(Ordering::Relaxed)),
        )
    }

    pub fn set_delay(&self, delay: Duration, jitter: Duration) -> Fault {
        self.delay_us.store(micros(delay), Ordering::Relaxed);
        self.jitter_us.store(micros(jitter), Ordering::Relaxed);
        Fault::Delay { delay, jitter }
    }

    pub fn bandwidth(&self) -> Option<u64> {
        Some(self.bandwidth.load(Ordering::Relaxed)).filter(|b| *b > 0)
    }

    pub fn set_bandwidth(&self, rate: Option<u64>) -> Fault {
        self.bandwidth.store(rate.unwrap_or(0), Ordering::Relaxed);
        Fault::Bandwidth(rate)
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    pub fn set_down(&self, down: bool, for_: Option<Duration>) -> Fault {
        self.down.store(down, Ordering::Relaxed);
        if down {
            Fault::BrokerDown { for_ }
        } else {
            Fault::BrokerUp
        }
    }

    pub fn is_black_hole(&self) -> bool {
        self.black_hole.load(Ordering::Relaxed)
    }

    pub fn set_black_hole(&self, on: bool) -> Fault {
        self.black_hole.store(on, Ordering::Relaxed);
        Fault::BlackHole(on)
    }

    /// Closes every live connection.
    pub fn drop_all(&self) {
        self.drops.send_modify(|n| *n += 1);
    }

    /// Resolves when `drop_all` is called after this point.
    pub fn drops(&self) -> watch::Receiver<u64> {
        self.drops.subscribe()
    }

    /// The live connections (each holds one drop receiver).
    pub fn connections(&self) -> usize {
        self.drops.receiver_count()
    }
}

/// Applies `--drop-every` and `--down-for` until the process ends, reporting each fault.
pub async fn schedule(faults: std::sync::Arc<Faults>, report: impl Fn(Fault)) {
    let Some(period) = faults.plan.drop_every else {
        return std::future::pending().await;
    };
    let mut next = tokio::time::Instant::now() + period;
    loop {
        tokio::time::sleep_until(next).await;
        let connections = faults.connections();
        faults.drop_all();
        report(Fault::DropAll {
            connections,
            scheduled: true,
        });
        if let Some(down) = faults.plan.down_for {
            report(faults.set_down(true, Some(down)));
            tokio::time::sleep(down).await;
            report(faults.set_down(false, None));
        }
        next = tokio::time::Instant::now() + period;
    }
}

/// A fault plan from `--delay` and friends; errors name the flag.
pub fn check(plan: &FaultPlan) -> Result<(), String> {
    if plan.jitter > plan.delay && !plan.delay.is_zero() {
        return Err(format!(
            "--jitter {} is larger than --delay {}: a packet cannot arrive before it was sent",
            humantime::format_duration(plan.jitter),
            humantime::format_duration(plan.delay)
        ));
    }
    if plan.down_for.is_some() && plan.drop_every.is_none() {
        return Err("--down-for needs --drop-every (the outage follows each drop)".into());
    }
    if plan
        .drop_every
        .is_some_and(|d| d < Duration::from_millis(100))
    {
        return Err("--drop-every: at least 100ms".into());
    }
    if plan.bandwidth == Some(0) {
        return Err("--bandwidth: at least 1 byte per second".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knobs_round_trip_and_name_their_fault() {
        let f = Faults::new(FaultPlan {
            refuse: true,
            ..FaultPlan::default()
        });
        assert!(f.is_down());
        assert_eq!(f.set_down(false, None), Fault::BrokerUp);
        let fault = f.set_delay(Duration::from_millis(200), Duration::from_millis(50));
        assert_eq!(fault.describe(), "delay 200ms ± 50ms each way");
        assert_eq!(
            f.delay(),
            (Duration::from_millis(200), Duration::from_millis(50))
        );
        assert_eq!(f.set_bandwidth(Some(1000)).name(), "bandwidth");
        assert_eq!(f.bandwidth(), Some(1000));
    }

    #[test]
    fn bad_plans_name_the_flag() {
        let plan = FaultPlan {
            delay: Duration::from_millis(10),
            jitter: Duration::from_millis(20),
            ..FaultPlan::default()
        };
        assert!(check(&plan).expect_err("refused").starts_with("--jitter"));
        let plan = FaultPlan {
            down_for: Some(Duration::from_secs(1)),
            ..FaultPlan::default()
        };
        assert!(check(&plan).expect_err("refused").contains("--drop-every"));
    }

    #[test]
    fn drop_all_reaches_every_receiver() {
        let f = Faults::new(FaultPlan::default());
        let mut a = f.drops();
        let mut b = f.drops();
        assert_eq!(f.connections(), 2);
        f.drop_all();
        assert!(a.has_changed().expect("open"));
        assert!(b.has_changed().expect("open"));
        a.mark_unchanged();
        b.mark_unchanged();
    }
}
