//! Alerts the user writes: rules (a topic filter and an expression of the filter language)
//! and JSON Schema checks per topic filter. A rule fires once when its expression becomes
//! true on a topic (after holding for its `for`, if it has one) and clears once when it
//! becomes false again; a schema check reports a topic's invalid payload, again only when the
//! failure changes. Both are raised through the anomaly watch as kinds `rule` and
//! `schema_invalid`, so they are listed, marked on the tree, counted and muted like the
//! watch's own findings.
//!
//! Which rules and schemas apply to a topic is worked out once, on its first message: topics
//! no filter matches cost one lookup a message. Pure: time comes from the messages and from
//! [`Alerts::tick`].

mod parse;
pub mod schema;
pub mod spec;

use std::time::{Duration, SystemTime};

use serde_json::Value;

pub use schema::{Failure, Schema};
pub use spec::{RuleEntry, SchemaEntry, Severity, SpecError};

use crate::store::{NodeId, StoredMessage, TopicStore};
use crate::watch::{AnomalyKind, Data, Watch};

/// A compiled rule.
pub type Rule = spec::Rule;

/// Every rule and schema, and their state per topic.
#[derive(Debug, Default)]
pub struct Alerts {
    rules: Vec<Rule>,
    schemas: Vec<Schema>,
    /// Per node: 0 not looked at yet, 1 nothing applies, `n + 2` its entry in `topics`.
    slots: Vec<u32>,
    topics: Vec<TopicAlerts>,
    /// Changes whenever the rules or schemas do.
    pub generation: u64,
}

#[derive(Debug)]
struct TopicAlerts {
    node: NodeId,
    /// The topic, to work out its rules again when they change.
    path: String,
    rules: Vec<RuleState>,
    schemas: Vec<SchemaState>,
    /// The last payload's value, parsed into again by the next (see `parse::value_into`).
    value: Option<Value>,
}

/// Payloads up to this size keep their parsed value for the next message.
const KEEP_VALUE: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, Default)]
struct RuleState {
    rule: u16,
    /// Fired and not cleared.
    active: bool,
    /// The condition holds since then (ms since the Unix epoch; 0 it does not).
    since_ms: u64,
}

#[derive(Debug)]
struct SchemaState {
    schema: u16,
    /// The failure last reported (instance path, keyword), while it lasts.
    last: Option<(String, String)>,
}

impl Alerts {
    pub fn new(rules: Vec<Rule>, schemas: Vec<Schema>) -> Self {
        Self {
            rules,
            schemas,
            ..Self::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.schemas.is_empty()
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn schemas(&self) -> &[Schema] {
        &self.schemas
    }

    /// Topics on which a rule is firing now.
    pub fn firing(&self) -> usize {
        self.topics
            .iter()
            .map(|t| t.rules.iter().filter(|r| r.active).count())
            .sum()
    }

    /// Topics on which this rule is firing now.
    pub fn firing_of(&self, rule: usize) -> usize {
        self.topics
            .iter()
            .filter(|t| {
                t.rules
                    .iter()
                    .any(|r| usize::from(r.rule) == rule && r.active)
            })
            .count()
    }

    /// Adds a rule (or replaces the one at `at`, which starts over on every topic); the other
    /// rules keep their state (a firing rule does not fire again).
    pub fn set_rule(&mut self, at: Option<usize>, rule: Rule) {
        if let Some(i) = at.filter(|&i| i < self.rules.len()) {
            self.rules[i] = rule;
            self.changed(|r| (r != i).then_some(r), Some);
        } else {
            self.rules.push(rule);
            self.changed(Some, Some);
        }
    }

    pub fn remove_rule(&mut self, at: usize) {
        if at < self.rules.len() {
            self.rules.remove(at);
            self.changed(|r| after_removing(r, at), Some);
        }
    }

    pub fn remove_schema(&mut self, at: usize) {
        if at < self.schemas.len() {
            self.schemas.remove(at);
            self.changed(Some, |s| after_removing(s, at));
        }
    }

    /// Mutes or unmutes a rule: a muted rule is not evaluated (and starts over unmuted).
    pub fn set_muted(&mut self, at: usize, muted: bool) {
        if let Some(r) = self.rules.get_mut(at) {
            r.muted = muted;
            self.changed(|r| (r != at).then_some(r), Some);
        }
    }

    /// The rules or schemas changed: every known topic's list is worked out again, each state
    /// carried to where its rule (schema) is now (`None`: it starts over); topics nothing
    /// applied to are looked at again on their next message.
    fn changed(
        &mut self,
        rule_now: impl Fn(usize) -> Option<usize>,
        schema_now: impl Fn(usize) -> Option<usize>,
    ) {
        for s in &mut self.slots {
            if *s == 1 {
                *s = 0;
            }
        }
        for t in &mut self.topics {
            let old = std::mem::take(&mut t.rules);
            t.rules = (0..self.rules.len())
                .filter(|&r| applies(&t.path, &self.rules[r].filter))
                .map(|r| {
                    let kept = old
                        .iter()
                        .find(|st| rule_now(usize::from(st.rule)) == Some(r))
                        .copied();
                    RuleState {
                        rule: u16::try_from(r).unwrap_or(u16::MAX),
                        ..kept.unwrap_or_default()
                    }
                })
                .collect();
            let old = std::mem::take(&mut t.schemas);
            t.schemas = (0..self.schemas.len())
                .filter(|&c| applies(&t.path, &self.schemas[c].filter))
                .map(|c| SchemaState {
                    schema: u16::try_from(c).unwrap_or(u16::MAX),
                    last: old
                        .iter()
                        .find(|st| schema_now(usize::from(st.schema)) == Some(c))
                        .and_then(|st| st.last.clone()),
                })
                .collect();
        }
        self.generation += 1;
    }

    /// Forgets every topic's state (the rules changed, or the store restarted).
    pub fn restart(&mut self) {
        self.slots.clear();
        self.topics.clear();
        self.generation += 1;
    }

    /// The entry of a topic, made on its first message; `None` when nothing applies.
    fn entry(&mut self, store: &TopicStore, id: NodeId) -> Option<usize> {
        let i = id as usize;
        match self.slots.get(i) {
            Some(1) => return None,
            Some(&s) if s > 1 => return Some(s as usize - 2),
            _ => {}
        }
        if self.slots.len() <= i {
            self.slots.resize(i + 1, 0);
        }
        let topic = store.node(id).path();
        let applies = |filter: &str| applies(topic, filter);
        let rules: Vec<RuleState> = (0..self.rules.len())
            .filter(|&r| applies(&self.rules[r].filter))
            .map(|r| RuleState {
                rule: u16::try_from(r).unwrap_or(u16::MAX),
                active: false,
                since_ms: 0,
            })
            .collect();
        let schemas: Vec<SchemaState> = (0..self.schemas.len())
            .filter(|&s| applies(&self.schemas[s].filter))
            .map(|s| SchemaState {
                schema: u16::try_from(s).unwrap_or(u16::MAX),
                last: None,
            })
            .collect();
        if rules.is_empty() && schemas.is_empty() {
            self.slots[i] = 1;
            return None;
        }
        self.topics.push(TopicAlerts {
            node: id,
            path: topic.to_string(),
            rules,
            schemas,
            value: None,
        });
        self.slots[i] = u32::try_from(self.topics.len() + 1).unwrap_or(u32::MAX);
        Some(self.topics.len() - 1)
    }

    /// Looks at the message just stored on `id` (its newest), as JSON.
    #[inline]
    pub fn observe(&mut self, store: &TopicStore, id: NodeId, watch: &mut Watch) {
        self.observe_decoded(store, id, watch, |_, _| None);
    }

    /// The same, with the topic's decoder: `decode(topic, payload)` gives the decoded value
    /// (Protobuf, Sparkplug, MessagePack, CBOR) that rules and schemas then read instead of
    /// the payload's JSON; it is called only for topics a rule or schema applies to.
    #[inline]
    pub fn observe_decoded(
        &mut self,
        store: &TopicStore,
        id: NodeId,
        watch: &mut Watch,
        decode: impl FnOnce(&str, &[u8]) -> Option<Value>,
    ) {
        if self.is_empty() || self.slots.get(id as usize) == Some(&1) {
            return;
        }
        self.observe_matched(store, id, watch, decode);
    }

    #[inline(never)]
    fn observe_matched(
        &mut self,
        store: &TopicStore,
        id: NodeId,
        watch: &mut Watch,
        decode: impl FnOnce(&str, &[u8]) -> Option<Value>,
    ) {
        let Some(at) = self.entry(store, id) else {
            return;
        };
        let node = store.node(id);
        let Some(last) = node.history().back() else {
            return;
        };
        let now = node.last_millis();
        let topic = node.path();
        let mut raised = Vec::new();
        let TopicAlerts {
            rules: states,
            schemas: checks,
            value: kept,
            ..
        } = &mut self.topics[at];
        // One parse of the payload for everything that reads it: a lone rule reads only its
        // own paths; several rules or a schema share the whole value, parsed into the last
        // one's (same keys, same order: nothing allocated).
        let readers = states
            .iter()
            .filter(|st| self.rules[usize::from(st.rule)].expr.uses_payload())
            .count()
            + checks.len();
        let fresh;
        let decoded = decode(topic, &last.payload);
        let parsed: Option<Result<&Value, String>> = if let Some(v) = &decoded {
            Some(Ok(v))
        } else if readers < 2 {
            None
        } else if last.payload.len() <= KEEP_VALUE {
            let into = kept.get_or_insert(Value::Null);
            match parse::value_into(&last.payload, into) {
                Ok(()) => Some(Ok(&*into)),
                Err(e) => {
                    *kept = None;
                    Some(Err(schema::not_json(&e)))
                }
            }
        } else {
            fresh = parse::value(&last.payload).map_err(|e| schema::not_json(&e));
            Some(fresh.as_ref().map_err(Clone::clone))
        };
        for st in states {
            let rule = &self.rules[usize::from(st.rule)];
            if rule.muted {
                continue;
            }
            let own;
            let value = match &parsed {
                Some(p) => p.as_ref().ok().copied(),
                None if rule.expr.uses_payload() => {
                    own = rule.expr.read(&last.payload);
                    own.as_ref()
                }
                None => None,
            };
            let holds = rule.expr.matches(topic, value);
            if let Some(data) = step(st, rule, holds, now, value) {
                raised.push(data);
            }
        }
        for st in checks {
            let schema = &self.schemas[usize::from(st.schema)];
            let failure = match &parsed {
                Some(p) => schema.check_value(p.as_ref().copied().map_err(String::as_str)),
                None => schema.check(&last.payload),
            };
            match failure {
                None => st.last = None,
                Some(f) => {
                    let key = (f.instance_path.clone(), f.keyword.clone());
                    if st.last.as_ref() != Some(&key) {
                        st.last = Some(key);
                        raised.push(schema_data(schema, f));
                    }
                }
            }
        }
        for data in raised {
            raise(watch, store, id, last.received, Some(last), data);
        }
    }

    /// The clock: a rule whose condition has held for its `for` fires even when no new
    /// message comes to say so.
    pub fn tick(&mut self, store: &TopicStore, now: SystemTime, watch: &mut Watch) {
        let now_ms = crate::store::millis(now);
        let mut raised = Vec::new();
        for entry in &mut self.topics {
            for st in &mut entry.rules {
                let rule = &self.rules[usize::from(st.rule)];
                let due = !st.active
                    && !rule.muted
                    && st.since_ms > 0
                    && now_ms.saturating_sub(st.since_ms) >= rule.hold_ms;
                if !due {
                    continue;
                }
                let last = store.node(entry.node).history().back();
                let value = last
                    .filter(|_| rule.expr.uses_payload())
                    .and_then(|m| rule.expr.read(&m.payload));
                if let Some(data) = step(st, rule, true, now_ms, value.as_ref()) {
                    raised.push((entry.node, data));
                }
            }
        }
        for (id, data) in raised {
            raise(watch, store, id, now, None, data);
        }
    }

    /// The entries a profile keeps: every rule and schema but the config file's own
    /// (`shared`), schema paths made absolute (the file reads relative ones from its own
    /// directory).
    pub fn entries(&self) -> (Vec<RuleEntry>, Vec<SchemaEntry>) {
        (
            self.rules
                .iter()
                .filter(|r| !r.shared)
                .map(Rule::entry)
                .collect(),
            self.schemas
                .iter()
                .filter(|s| !s.shared)
                .map(|s| SchemaEntry {
                    filter: s.filter.clone(),
                    schema: std::path::absolute(&s.path).unwrap_or_else(|_| s.path.clone()),
                })
                .collect(),
        )
    }
}

/// Whether a filter applies to a topic. The part of a filter before its first wildcard must
/// start the topic: most filters are told apart from most topics by that compare alone.
fn applies(topic: &str, filter: &str) -> bool {
    let literal = filter.find(['+', '#']).map_or(filter, |at| &filter[..at]);
    topic.starts_with(literal) && crate::topic::matches(topic, filter)
}

/// Where index `i` is after removing `removed` (`None`: it was the one removed).
fn after_removing(i: usize, removed: usize) -> Option<usize> {
    match i.cmp(&removed) {
        std::cmp::Ordering::Less => Some(i),
        std::cmp::Ordering::Equal => None,
        std::cmp::Ordering::Greater => Some(i - 1),
    }
}

/// One message's (or the clock's) verdict on one rule and topic: fire, clear or nothing.
fn step(
    st: &mut RuleState,
    rule: &Rule,
    holds: bool,
    now_ms: u64,
    value: Option<&Value>,
) -> Option<Data> {
    let data = |cleared: bool, held_ms: u64| Data::Rule {
        name: rule.name.clone(),
        expression: rule.expr.text.clone(),
        severity: rule.severity.as_str(),
        value: rule.expr.values(value),
        cleared,
        held_ms,
    };
    if !holds {
        st.since_ms = 0;
        if st.active {
            st.active = false;
            return Some(data(true, 0));
        }
        return None;
    }
    if st.active {
        return None;
    }
    if st.since_ms == 0 {
        st.since_ms = now_ms.max(1);
    }
    let held = now_ms.saturating_sub(st.since_ms);
    if held < rule.hold_ms {
        return None;
    }
    st.active = true;
    Some(data(false, held))
}

fn schema_data(schema: &Schema, f: Failure) -> Data {
    Data::SchemaInvalid {
        schema: schema.path.display().to_string(),
        instance_path: f.instance_path,
        keyword: f.keyword,
        message: f.message,
        errors: f.errors,
    }
}

fn raise(
    watch: &mut Watch,
    store: &TopicStore,
    id: NodeId,
    at: SystemTime,
    message: Option<&StoredMessage>,
    data: Data,
) {
    let kind = match data {
        Data::SchemaInvalid { .. } => AnomalyKind::SchemaInvalid,
        _ => AnomalyKind::Rule,
    };
    watch.report_at(store, id, kind, at, message, data);
}

/// Durations as the list shows them (`30s`, `5m`).
pub fn short_duration(ms: u64) -> String {
    humantime::format_duration(Duration::from_millis(ms - ms % 1000)).to_string()
}

#[cfg(test)]
mod tests;
