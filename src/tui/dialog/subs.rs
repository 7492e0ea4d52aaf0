//! The live subscriptions: what the session is subscribed to, as the broker answered, and the
//! input line that adds a filter with its MQTT 5 options.

use crate::broker::{SubscribeResult, Subscription};

/// Where one filter stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubState {
    /// SUBSCRIBE sent, no SUBACK yet.
    Pending,
    Granted(u8),
    /// The SUBACK's refusal code.
    Refused(u8),
    /// UNSUBSCRIBE sent.
    Removing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubEntry {
    pub filter: String,
    /// Options as written (`qos 1 · no-local`), for the list.
    pub options: String,
    pub state: SubState,
}

/// The subscriptions the explorer knows, in the order they were made.
#[derive(Debug, Clone, Default)]
pub struct Subscriptions {
    pub entries: Vec<SubEntry>,
}

impl Subscriptions {
    /// A SUBACK: each filter granted or refused (replacing what was known of it).
    pub fn acked(&mut self, results: &[SubscribeResult]) {
        for r in results {
            let state = r
                .granted_qos()
                .map_or(SubState::Refused(r.code), SubState::Granted);
            match self.entries.iter_mut().find(|e| e.filter == r.filter) {
                Some(e) => e.state = state,
                None => self.entries.push(SubEntry {
                    filter: r.filter.clone(),
                    options: String::new(),
                    state,
                }),
            }
        }
    }

    /// An UNSUBACK: gone on success; on refusal the filter stays, as the broker keeps it.
    pub fn unacked(&mut self, result: &SubscribeResult) {
        if result.code < 0x80 {
            self.entries.retain(|e| e.filter != result.filter);
        } else if let Some(e) = self.entries.iter_mut().find(|e| e.filter == result.filter) {
            e.state = SubState::Granted(0);
        }
    }

    pub fn pending(&mut self, sub: &Subscription, options: String) {
        self.entries.retain(|e| e.filter != sub.filter);
        self.entries.push(SubEntry {
            filter: sub.filter.clone(),
            options,
            state: SubState::Pending,
        });
    }
}

/// The dialog's own state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubsDialog {
    pub selected: usize,
    /// The add line while it is being typed.
    pub adding: Option<String>,
    pub error: Option<String>,
}

/// Parses `FILTER [0|1|2] [nl] [rap] [rh=0|1|2]` into a subscription and its options text.
pub fn parse_line(line: &str) -> Result<(Subscription, String), String> {
    let mut words = line.split_whitespace();
    let filter = words
        .next()
        .ok_or("type a filter, e.g. plant/# 1 nl rap rh=1")?;
    let filter = crate::topic::parse_filter(filter).map_err(|e| format!("{filter}: {e}"))?;
    let mut sub = Subscription::new(filter, 0);
    // MQTT 5: keep the publisher's retain flag, as the explorer's own filters do.
    sub.retain_as_published = true;
    let mut options = Vec::new();
    for w in words {
        match w {
            "0" | "1" | "2" => sub.qos = w.as_bytes()[0] - b'0',
            "nl" | "no-local" => {
                sub.no_local = true;
                options.push("no-local".to_string());
            }
            "rap" => sub.retain_as_published = true,
            "norap" => sub.retain_as_published = false,
            rh if rh.starts_with("rh=") => {
                sub.retain_handling = match &rh[3..] {
                    "0" => 0,
                    "1" => 1,
                    "2" => 2,
                    other => {
                        return Err(format!(
                            "rh={other}: retain handling is 0 (send retained), 1 (only for a \
                             new subscription) or 2 (never)"
                        ));
                    }
                };
                options.push(format!("retain handling {}", sub.retain_handling));
            }
            other => {
                return Err(format!(
                    "{other}: options are a QoS (0 1 2), nl (no-local), rap / norap \
                     (retain as published), rh=0|1|2 (retain handling)"
                ));
            }
        }
    }
    options.insert(0, format!("QoS {}", sub.qos));
    if !sub.retain_as_published {
        options.push("retain flag cleared".into());
    }
    Ok((sub, options.join(" · ")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_add_line_takes_qos_and_v5_options_and_names_mistakes() {
        let (s, text) = parse_line("plant/# 1 nl rh=2").unwrap();
        assert_eq!((s.filter.as_str(), s.qos), ("plant/#", 1));
        assert!(s.no_local && s.retain_as_published);
        assert_eq!(s.retain_handling, 2);
        assert_eq!(text, "QoS 1 · no-local · retain handling 2");
        assert!(parse_line("a/#/b").unwrap_err().contains("'#'"));
        assert!(
            parse_line("a rh=3")
                .unwrap_err()
                .contains("retain handling")
        );
        assert!(parse_line("a fast").unwrap_err().contains("options are"));
        assert!(parse_line("  ").is_err());
    }

    #[test]
    fn acks_replace_pending_entries_and_unsubscribe_removes() {
        let mut subs = Subscriptions::default();
        let (s, text) = parse_line("#").unwrap();
        subs.pending(&s, text);
        subs.acked(&[SubscribeResult {
            filter: "#".into(),
            code: 0x87,
        }]);
        assert_eq!(subs.entries[0].state, SubState::Refused(0x87));
        subs.acked(&[SubscribeResult {
            filter: "a/#".into(),
            code: 1,
        }]);
        subs.unacked(&SubscribeResult {
            filter: "#".into(),
            code: 0,
        });
        assert_eq!(subs.entries.len(), 1);
        assert_eq!(subs.entries[0].state, SubState::Granted(1));
    }
}
