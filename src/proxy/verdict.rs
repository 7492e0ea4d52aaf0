//! Grading a client's reconnect delays: from the gaps between a drop and the next CONNECT,
//! which pattern the client follows (fixed, linear, exponential, with or without jitter) and
//! whether it hammers the broker.
//!
//! Capped exponential backoff is the usual shape (1, 2, 4, 8, 30, 30, 30): the gaps are split
//! into a growing part and a plateau at the cap, and the growing part is fitted twice, as a
//! line and as an exponential, in the log domain. Jitter is what the best fit leaves over.

use std::fmt::Write as _;

/// The pattern of the delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    /// Dropped and never came back.
    None,
    Fixed,
    Linear,
    Exponential,
    /// Fewer than three gaps: too early to tell.
    TooFew,
}

impl Pattern {
    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::None => "none",
            Pattern::Fixed => "fixed",
            Pattern::Linear => "linear",
            Pattern::Exponential => "exponential",
            Pattern::TooFew => "too_few",
        }
    }
}

/// The grade of a sequence of gaps.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    pub pattern: Pattern,
    /// Fixed: the period; linear: the first delay; exponential: the first delay (ms).
    pub base_ms: Option<u64>,
    /// Exponential: the factor; linear: the step in ms.
    pub factor: Option<f64>,
    /// Exponential (or linear) reaching a ceiling: the cap in ms.
    pub cap_ms: Option<u64>,
    pub jitter: bool,
    /// Retries faster than once a second (median gap under 1 s).
    pub hammering: bool,
}

impl Backoff {
    fn of(pattern: Pattern) -> Self {
        Self {
            pattern,
            base_ms: None,
            factor: None,
            cap_ms: None,
            jitter: false,
            hammering: false,
        }
    }

    /// One line for people: `exponential ×2.0 from 250ms, cap 4s, with jitter`.
    pub fn describe(&self) -> String {
        let ms = |v: u64| super::faults::dur(std::time::Duration::from_millis(v));
        let mut s = self.pattern.as_str().replace('_', " ");
        match self.pattern {
            Pattern::Fixed => {
                if let Some(b) = self.base_ms {
                    s = format!("fixed every {}", ms(b));
                }
            }
            Pattern::Linear => {
                if let (Some(b), Some(f)) = (self.base_ms, self.factor) {
                    s = format!("linear from {} +{:.0}ms", ms(b), f);
                }
            }
            Pattern::Exponential => {
                if let (Some(b), Some(f)) = (self.base_ms, self.factor) {
                    s = format!("exponential ×{f:.1} from {}", ms(b));
                }
            }
            Pattern::None | Pattern::TooFew => {}
        }
        if let Some(cap) = self.cap_ms {
            let _ = write!(s, ", cap {}", ms(cap));
        }
        if self.jitter {
            s.push_str(", with jitter");
        }
        if self.hammering {
            s.push_str(", HAMMERING");
        }
        s
    }
}

/// Relative spread above which equal delays count as jittered (timer noise stays well below).
const JITTER: f64 = 0.06;
/// The same for exponential delays, as the residual of the fit of their logarithms: a fit
/// soaks up part of the spread, and ±20 % jitter leaves about 0.09 while timer noise on a
/// 250 ms first delay leaves under 0.01.
const EXP_JITTER: f64 = 0.02;

/// Grades `gaps_ms` (in order). `gave_up` says the client was dropped and has not come back.
#[expect(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "gaps are milliseconds, far below 2^52"
)]
pub fn grade(gaps_ms: &[u64], gave_up: bool) -> Backoff {
    if gaps_ms.is_empty() && gave_up {
        return Backoff::of(Pattern::None);
    }
    if gaps_ms.len() < 3 {
        return Backoff::of(Pattern::TooFew);
    }
    let g: Vec<f64> = gaps_ms.iter().map(|&v| (v as f64).max(1.0)).collect();
    let n = g.len();
    let max = g.iter().copied().fold(0.0, f64::max);
    // The plateau: the run at the end within 25 % of the largest gap.
    let plateau_len = g.iter().rev().take_while(|&&v| v >= 0.75 * max).count();
    let start = n - plateau_len;
    // Growth: the last third against the first (robust to jitter on a fixed period).
    let third = n.div_ceil(3);
    let growth = mean(&g[n - third..]) / mean(&g[..third]);
    let flat = growth < 1.5 || (plateau_len * 3 >= n * 2 && start <= 1);
    let mut b = if flat {
        // The same delay every time (after at most one different first one).
        let same = if growth < 1.5 { &g[..] } else { &g[start..] };
        let mut b = Backoff::of(Pattern::Fixed);
        b.base_ms = Some(median_of(same) as u64);
        b.jitter = spread(same) > JITTER;
        b
    } else {
        growing(&g, start)
    };
    // Hammering: the latest delays all stay under a second (a backoff that starts short
    // but grows past a second is not).
    b.hammering = gaps_ms.iter().rev().take(3).all(|g| *g < 1000);
    b
}

/// A fitted model of growing delays.
#[derive(Debug, Clone, Copy)]
struct Model {
    exponential: bool,
    /// First delay (ms).
    a: f64,
    /// Factor (exponential) or step in ms (linear).
    b: f64,
    /// Residual, relative to the delays.
    err: f64,
}

impl Model {
    #[expect(clippy::cast_precision_loss, reason = "small indices")]
    fn predict(self, i: usize) -> f64 {
        if self.exponential {
            self.a * self.b.powf(i as f64)
        } else {
            self.a + self.b * i as f64
        }
    }

    fn jittered(self) -> bool {
        self.err > if self.exponential { EXP_JITTER } else { JITTER }
    }
}

/// Grades growing delays; `start` is where a plateau at the end begins.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "milliseconds"
)]
fn growing(g: &[f64], start: usize) -> Backoff {
    let plateau = &g[start..];
    let mut model = best(g);
    let mut cap = None;
    // A ceiling: the growth before the plateau would have gone well past it.
    if plateau.len() >= 2 && start >= 1 {
        let before = best(&g[..=start]);
        let ceiling = median_of(plateau);
        if before.predict(g.len() - 1) > 1.25 * ceiling {
            model = before;
            cap = Some(ceiling);
        }
    }
    let mut b = Backoff::of(if model.exponential {
        Pattern::Exponential
    } else {
        Pattern::Linear
    });
    b.base_ms = Some(model.a.max(0.0) as u64);
    b.factor = Some(if model.exponential {
        (model.b * 10.0).round() / 10.0
    } else {
        model.b.round()
    });
    b.cap_ms = cap.map(|c| c as u64);
    b.jitter = model.jittered() || (cap.is_some() && spread(plateau) > JITTER);
    b
}

/// The better of a line and an exponential through `g` (two points: by their ratio).
#[expect(clippy::cast_precision_loss, reason = "small counts")]
fn best(g: &[f64]) -> Model {
    if g.len() == 2 {
        let ratio = g[1] / g[0];
        return Model {
            exponential: ratio >= 1.5,
            a: g[0],
            b: if ratio >= 1.5 { ratio } else { g[1] - g[0] },
            err: 0.0,
        };
    }
    let xs: Vec<f64> = (0..g.len()).map(|i| i as f64).collect();
    let logs: Vec<f64> = g.iter().map(|v| v.ln()).collect();
    let (log_a, log_b, exp_err) = fit(&xs, &logs);
    let (lin_a, lin_b, _) = fit(&xs, g);
    let lin_err = {
        let sum: f64 = g
            .iter()
            .zip(&xs)
            .map(|(v, x)| {
                let predicted = (lin_a + lin_b * x).max(1.0);
                ((v - predicted) / predicted).powi(2)
            })
            .sum();
        (sum / g.len() as f64).sqrt()
    };
    let factor = log_b.exp();
    // A line's ratios shrink towards 1 (its second is at most 1.5); an exponential's stay.
    let later: Vec<f64> = g.windows(2).skip(1).map(|w| (w[1] / w[0]).ln()).collect();
    let steady_ratio = (later.iter().sum::<f64>() / later.len().max(1) as f64).exp();
    if factor >= 1.3 && (exp_err <= lin_err || steady_ratio >= 1.6) {
        Model {
            exponential: true,
            a: log_a.exp(),
            b: factor,
            err: exp_err,
        }
    } else {
        Model {
            exponential: false,
            a: lin_a,
            b: lin_b,
            err: lin_err,
        }
    }
}

#[expect(clippy::cast_precision_loss, reason = "small counts")]
fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Least squares `y = a + b x`; returns (a, b, root mean square residual).
#[expect(clippy::cast_precision_loss, reason = "small counts")]
fn fit(xs: &[f64], ys: &[f64]) -> (f64, f64, f64) {
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let a = my - b * mx;
    let res = (xs
        .iter()
        .zip(ys)
        .map(|(x, y)| (y - a - b * x).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    (a, b, res)
}

fn median_of(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

/// Coefficient of variation.
#[expect(clippy::cast_precision_loss, reason = "small counts")]
fn spread(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    if mean > 0.0 { var.sqrt() / mean } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_period_is_fixed_without_jitter() {
        let b = grade(&[1002, 1001, 1003, 1000, 1002], false);
        assert_eq!(b.pattern, Pattern::Fixed);
        assert_eq!(b.base_ms, Some(1002));
        assert!(!b.jitter && !b.hammering);
        assert_eq!(b.describe(), "fixed every 1s 2ms");
    }

    #[test]
    fn a_fast_fixed_retry_is_hammering() {
        let b = grade(&[101, 100, 102, 100], false);
        assert_eq!(b.pattern, Pattern::Fixed);
        assert!(b.hammering);
        assert!(b.describe().ends_with("HAMMERING"));
    }

    #[test]
    fn doubling_is_exponential_with_its_factor_and_cap() {
        let b = grade(&[250, 500, 1000, 2000, 4000, 4000, 4000], false);
        assert_eq!(b.pattern, Pattern::Exponential);
        assert_eq!(b.factor, Some(2.0));
        assert_eq!(b.cap_ms, Some(4000));
        assert!(!b.jitter);
    }

    #[test]
    fn jittered_doubling_is_exponential_with_jitter() {
        // mqscope's own policy: 250 ms × 2, ±20 %.
        let b = grade(&[230, 590, 880, 2300, 3500], false);
        assert_eq!(b.pattern, Pattern::Exponential, "{b:?}");
        assert!(b.jitter);
        let f = b.factor.expect("factor");
        assert!((1.7..=2.3).contains(&f), "{f}");
    }

    #[test]
    fn three_jittered_doublings_are_exponential_and_not_hammering() {
        // Seen from `mqscope sub` through the proxy: 250 ms × 2 ± 20 %.
        let b = grade(&[212, 592, 1119], false);
        assert_eq!(b.pattern, Pattern::Exponential, "{b:?}");
        assert!(!b.hammering);
        let capped_low = grade(&[250, 500, 500, 500], false);
        assert!(capped_low.hammering, "{capped_low:?}");
    }

    #[test]
    fn a_growing_step_is_linear() {
        let b = grade(&[1000, 2000, 3000, 4000, 5000, 6000], false);
        assert_eq!(b.pattern, Pattern::Linear, "{b:?}");
        assert_eq!(b.factor, Some(1000.0));
        assert!(!b.jitter);
    }

    #[test]
    fn jittered_fixed_is_fixed_with_jitter() {
        let b = grade(&[2000, 2600, 1500, 2300, 1800, 2400], false);
        assert_eq!(b.pattern, Pattern::Fixed, "{b:?}");
        assert!(b.jitter);
    }

    #[test]
    fn an_immediate_first_retry_then_a_period_is_fixed() {
        let b = grade(&[3, 5000, 5001, 4999, 5000], false);
        assert_eq!(b.pattern, Pattern::Fixed, "{b:?}");
        assert_eq!(b.base_ms, Some(5000));
    }

    #[test]
    fn capped_jittered_exponential_names_its_cap() {
        let b = grade(
            &[260, 480, 1100, 1900, 4100, 8200, 9000, 10_000, 8800],
            false,
        );
        assert_eq!(b.pattern, Pattern::Exponential, "{b:?}");
        let cap = b.cap_ms.expect("cap");
        assert!((8500..=10_000).contains(&cap), "{cap}");
        assert!(b.jitter);
    }

    #[test]
    fn too_few_and_none() {
        assert_eq!(grade(&[100, 200], false).pattern, Pattern::TooFew);
        assert!(!grade(&[100, 200], false).hammering, "too early to say");
        assert_eq!(grade(&[], true).pattern, Pattern::None);
        assert_eq!(grade(&[], false).pattern, Pattern::TooFew);
    }

    #[test]
    fn zero_gaps_do_not_divide_by_zero() {
        let b = grade(&[0, 0, 0, 0], false);
        assert_eq!(b.pattern, Pattern::Fixed);
        assert!(b.hammering);
    }
}
