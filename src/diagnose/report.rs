//! The doctor's report: the checks in order, their statuses and details, the hints, and the
//! verdict that names the cause.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::broker::Cause;

use super::Plan;

/// The checks, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Dns,
    Tcp,
    /// The proxy's tunnel (only with `--proxy`).
    Proxy,
    Tls,
    WebSocket,
    Mqtt,
    Subscribe,
    RoundTrip,
    /// The permission map (only with `--acl`).
    Permissions,
    /// What the broker supports (only with `--capabilities`).
    Capabilities,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Dns => "dns",
            Check::Tcp => "tcp",
            Check::Proxy => "proxy",
            Check::Tls => "tls",
            Check::WebSocket => "websocket",
            Check::Mqtt => "mqtt",
            Check::Subscribe => "subscribe",
            Check::RoundTrip => "roundtrip",
            Check::Permissions => "permissions",
            Check::Capabilities => "capabilities",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Fail,
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One check's result: machine detail for `--json`, lines for people.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub check: Check,
    pub status: Status,
    pub elapsed: Duration,
    pub detail: Value,
    pub lines: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Report {
    pub broker: String,
    pub checks: Vec<CheckResult>,
    /// `None` when every check passed.
    pub cause: Option<Cause>,
    pub summary: String,
    pub hints: Vec<String>,
}

impl Report {
    /// `ok` or the cause code.
    pub fn verdict(&self) -> &'static str {
        self.cause.as_ref().map_or("ok", Cause::code)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "broker": self.broker,
            "stages": self.checks.iter().map(|c| json!({
                "stage": c.check.as_str(),
                "status": c.status.as_str(),
                "ms": (c.elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
                "detail": c.detail,
            })).collect::<Vec<_>>(),
            "verdict": self.verdict(),
            "summary": self.summary,
            "hints": self.hints,
        })
    }

    /// The report for people, one string per line (no colours).
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!("mqscope doctor: {}", self.broker)];
        for c in &self.checks {
            let mark = match c.status {
                Status::Ok => "ok  ",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            };
            out.push(format!(
                "  {mark} {:<10} {:>9}",
                c.check.as_str(),
                format!("{:.1} ms", c.elapsed.as_secs_f64() * 1000.0)
            ));
            for l in &c.lines {
                out.push(format!("         {l}"));
            }
        }
        out.push(String::new());
        out.push(format!("verdict: {}", self.verdict()));
        out.push(self.summary.clone());
        for h in &self.hints {
            out.push(format!("  → {h}"));
        }
        out
    }
}

pub(super) struct Doctor {
    pub plan: Plan,
    pub checks: Vec<CheckResult>,
    pub hints: Vec<String>,
    /// The cause a check failed with, when it returns no value of its own.
    pub failed: Option<Cause>,
}

impl Doctor {
    pub(super) fn record(
        &mut self,
        check: Check,
        status: Status,
        started: Instant,
        detail: Value,
        lines: Vec<String>,
    ) {
        self.checks.push(CheckResult {
            check,
            status,
            elapsed: started.elapsed(),
            detail,
            lines,
        });
    }

    /// Records `check` as failed with `cause` as its only line.
    pub(super) fn fail(&mut self, check: Check, started: Instant, cause: &Cause) {
        self.record(
            check,
            Status::Fail,
            started,
            json!({ "error": cause.detail }),
            vec![cause.to_string()],
        );
    }

    pub(super) fn skip(&mut self, check: Check, why: &str) {
        self.checks.push(CheckResult {
            check,
            status: Status::Skip,
            elapsed: Duration::ZERO,
            detail: json!({ "reason": why }),
            lines: vec![why.to_string()],
        });
    }

    pub(super) fn finish(self, cause: Option<Cause>) -> Report {
        let mut hints = self.hints;
        // A cloud broker's typical failures, known from its host name.
        if let Some(c) = &cause {
            hints.extend(crate::config::cloud::hints(&self.plan.opts, c));
        }
        let summary = match &cause {
            None => "every check passed: the broker accepts this client, its subscriptions and a round trip"
                .to_string(),
            Some(c) => {
                hints.push(c.kind.hint().to_string());
                if c.detail.is_empty() {
                    format!("{}.", capitalise(c.kind.explanation()))
                } else {
                    format!("{}: {}.", capitalise(c.kind.explanation()), c.detail)
                }
            }
        };
        hints.dedup();
        Report {
            broker: match &self.plan.opts.proxy {
                Some(p) => format!("{} via {p}", self.plan.opts.target),
                None => self.plan.opts.target.to_string(),
            },
            checks: self.checks,
            cause,
            summary,
            hints,
        }
    }
}

pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

pub(super) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
