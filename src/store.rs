//! The topic store: every topic the subscription has seen, as a tree with counts kept up to
//! date on insert, and a bounded history of messages per topic.
//!
//! Nodes live in an arena and are addressed by a never-reused [`NodeId`]; a map from the full
//! topic path to its id makes the hot path (a message on a known topic) one hash lookup plus a
//! walk up the parents. Memory is bounded: per-topic history (count and bytes), a global budget
//! that evicts the oldest payloads first, and, when even the nodes fill the budget, new topics
//! are counted but no longer tracked.

mod filter;
mod natural;
mod node;
mod query;

use std::collections::VecDeque;
use std::hash::{BuildHasher, RandomState};

use bytes::Bytes;
use hashbrown::HashTable;

use crate::broker::Message;
pub use filter::TopicFilter;
pub use natural::natural_cmp;
pub(crate) use node::millis;
use node::{NODE_OVERHEAD, RATE_WINDOW_SECS, Stamp};
pub use node::{Node, StoredMessage};
pub use query::{Query, matching_nodes};

/// Index of a node in the arena. Never reused while the store lives.
pub type NodeId = u32;

/// The root node: the parent of every first topic level.
pub const ROOT: NodeId = 0;

/// How much the store may keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Messages kept per topic.
    pub history: usize,
    /// Payload bytes kept per topic.
    pub topic_bytes: usize,
    /// Everything: payloads, per-message and per-node overhead.
    pub total_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            history: 100,
            topic_bytes: 1 << 20,
            total_bytes: 256 << 20,
        }
    }
}

/// What an insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// A message on a known topic.
    Existing(NodeId),
    /// The first message on a new topic (levels may have been created).
    NewTopic(NodeId),
    /// The store is full of nodes: the topic is counted but not tracked.
    Untracked,
}

/// The topic tree with its counts and histories.
#[derive(Debug)]
pub struct TopicStore {
    nodes: Vec<Node>,
    /// Every node by its full path: the table holds only ids (4 bytes an entry, instead of
    /// 24 for a map keyed by a shared path) and compares against the nodes' own paths.
    index: HashTable<NodeId>,
    hasher: RandomState,
    limits: Limits,
    /// Payload plus overhead of every stored message.
    message_bytes: usize,
    /// Overhead of every node.
    node_bytes: usize,
    /// Stored messages in arrival order, for global eviction: (node, seq).
    arrivals: VecDeque<(NodeId, u64)>,
    live_messages: usize,
    next_seq: u64,
    /// Messages received (tracked or not).
    pub total_messages: u64,
    /// Distinct topics refused because the store was full.
    pub untracked_topics: u64,
    pub untracked_messages: u64,
    /// Payloads evicted to stay within the budget.
    pub evicted: u64,
    /// Changes on every insert: views compare it to know when to rebuild.
    pub generation: u64,
    /// Changes only when nodes are added.
    pub structure_generation: u64,
    /// Nodes whose children gained a member since they were last sorted.
    unsorted: Vec<NodeId>,
    /// Memory that others keep per topic (the anomaly watch), counted in the budget.
    external_bytes: usize,
}

impl TopicStore {
    pub fn new(limits: Limits) -> Self {
        let root = Node::new(Box::from(""), ROOT);
        Self {
            nodes: vec![root],
            index: HashTable::new(),
            hasher: RandomState::new(),
            limits,
            message_bytes: 0,
            node_bytes: NODE_OVERHEAD,
            arrivals: VecDeque::new(),
            live_messages: 0,
            next_seq: 0,
            total_messages: 0,
            untracked_topics: 0,
            untracked_messages: 0,
            evicted: 0,
            generation: 0,
            structure_generation: 0,
            unsorted: Vec::new(),
            external_bytes: 0,
        }
    }

    /// Counts memory kept beside the store (the anomaly watch's) against its budget: payloads
    /// are evicted to make room at the next insert.
    pub fn set_external_bytes(&mut self, bytes: usize) {
        self.external_bytes = bytes;
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Empties the store (a recording played again from its start). Ids start over, so the
    /// same events give the same ids; the generations go on, so no view mistakes the new
    /// contents for what it cached of the old.
    pub fn restart(&mut self) {
        let generation = self.generation + 1;
        let structure = self.structure_generation + 1;
        *self = Self::new(self.limits);
        self.generation = generation;
        self.structure_generation = structure;
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    pub fn get(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id as usize)
    }

    fn lookup(&self, path: &str) -> Option<NodeId> {
        let hash = self.hasher.hash_one(path);
        self.index
            .find(hash, |&id| &*self.nodes[id as usize].path == path)
            .copied()
    }

    /// The id of a topic or level, if known.
    pub fn find(&self, path: &str) -> Option<NodeId> {
        self.lookup(path)
    }

    /// Number of levels (nodes) besides the root.
    pub fn len(&self) -> usize {
        self.nodes.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of topics that received messages.
    pub fn topic_count(&self) -> u32 {
        self.nodes[ROOT as usize].topics
    }

    /// Bytes accounted against the budget.
    pub fn used_bytes(&self) -> usize {
        self.message_bytes + self.node_bytes + self.external_bytes
    }

    /// Records a message.
    pub fn insert(&mut self, message: &Message) -> Inserted {
        self.total_messages += 1;
        self.generation += 1;
        let id = if let Some(id) = self.lookup(&message.topic) {
            id
        } else if let Some(id) = self.create(&message.topic) {
            id
        } else {
            self.untracked_topics += 1;
            self.untracked_messages += 1;
            return Inserted::Untracked;
        };
        let first = self.nodes[id as usize].own_messages == 0;
        self.record(id, message);
        let received_ms = millis(message.received);
        let mut at = id;
        loop {
            let node = &mut self.nodes[at as usize];
            node.messages += 1;
            node.stamp.set_millis(received_ms);
            if first {
                node.topics += 1;
            }
            if at == ROOT {
                break;
            }
            at = node.parent;
        }
        self.enforce_budget();
        if first {
            Inserted::NewTopic(id)
        } else {
            Inserted::Existing(id)
        }
    }

    fn record(&mut self, id: NodeId, message: &Message) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let limits = self.limits;
        let node = &mut self.nodes[id as usize];
        node.own_messages += 1;
        node.stamp.set(
            Stamp::RETAINED,
            message.retain && !message.payload.is_empty(),
        );
        let now = message.received;
        let idle = node
            .changed_at()
            .and_then(|at| now.duration_since(at).ok())
            .map_or(0.0, |d| d.as_secs_f64());
        #[expect(clippy::cast_possible_truncation, reason = "a displayed rate")]
        let rate = (f64::from(node.rate) * (-idle / RATE_WINDOW_SECS).exp()
            + 1.0 / RATE_WINDOW_SECS) as f32;
        node.rate = rate;
        let stored = StoredMessage {
            // A copy: the received payload is a slice of a large shared read buffer.
            payload: Bytes::copy_from_slice(&message.payload),
            received: message.received,
            qos: message.qos,
            retain: message.retain,
            dup: message.dup,
            wire_size: u32::try_from(message.wire_size).unwrap_or(u32::MAX),
            properties: message.properties.as_ref().map(|p| Box::new(p.detached())),
            seq,
        };
        let size = stored.accounted_size();
        if node.history.capacity() == 0 {
            // Most topics keep few messages: start at one slot, not the default four.
            node.history.reserve_exact(1);
        }
        node.history.push_back(stored);
        node.history_bytes = node
            .history_bytes
            .saturating_add(u32::try_from(size).unwrap_or(u32::MAX));
        self.message_bytes += size;
        self.live_messages += 1;
        self.arrivals.push_back((id, seq));
        // Per-topic limits: drop the oldest, but always keep the newest.
        loop {
            let node = &self.nodes[id as usize];
            let over = node.history.len() > limits.history
                || node.history_bytes as usize > limits.topic_bytes;
            if node.history.len() <= 1 || !over {
                break;
            }
            self.drop_oldest(id);
        }
        // Entries of messages dropped by per-topic limits linger in `arrivals`; compact
        // before they outnumber the live ones.
        if self.arrivals.len() > 2 * self.live_messages + 1024 {
            // A node's history is a run of increasing seqs trimmed only at the front, so an
            // entry is live exactly when it is not older than its node's oldest message.
            let nodes = &self.nodes;
            self.arrivals.retain(|&(id, seq)| {
                nodes[id as usize]
                    .history
                    .front()
                    .is_some_and(|m| m.seq <= seq)
            });
        }
    }

    /// Evicts the oldest payloads while over the budget.
    fn enforce_budget(&mut self) {
        while self.used_bytes() > self.limits.total_bytes {
            let Some((id, seq)) = self.arrivals.pop_front() else {
                return;
            };
            let live = self.nodes[id as usize]
                .history
                .front()
                .is_some_and(|m| m.seq == seq);
            if live && self.drop_oldest(id) {
                self.evicted += 1;
            }
        }
    }

    /// Drops the oldest message of `id`, keeping the byte and message counts; false if none.
    fn drop_oldest(&mut self, id: NodeId) -> bool {
        let node = &mut self.nodes[id as usize];
        let Some(old) = node.history.pop_front() else {
            return false;
        };
        let size = old.accounted_size();
        node.history_bytes = node
            .history_bytes
            .saturating_sub(u32::try_from(size).unwrap_or(u32::MAX));
        self.message_bytes -= size;
        self.live_messages -= 1;
        true
    }

    /// Creates the missing levels of `topic`; `None` when nodes alone fill the budget.
    fn create(&mut self, topic: &str) -> Option<NodeId> {
        // The deepest level that already exists.
        let mut parent = ROOT;
        let mut start = 0;
        let mut cut = topic.len();
        while let Some(i) = topic[..cut].rfind('/') {
            if let Some(id) = self.lookup(&topic[..i]) {
                parent = id;
                start = i + 1;
                break;
            }
            cut = i;
        }
        let missing = topic[start..].split('/').count();
        let cost = missing * NODE_OVERHEAD + missing * topic.len();
        if self.node_bytes + self.external_bytes + cost > self.limits.total_bytes {
            return None;
        }
        self.structure_generation += 1;
        let mut at = start;
        loop {
            let end = topic[at..].find('/').map_or(topic.len(), |i| at + i);
            let path = &topic[..end];
            let id = NodeId::try_from(self.nodes.len()).ok()?;
            self.nodes.push(Node::new(Box::from(path), parent));
            self.node_bytes += NODE_OVERHEAD + 2 * path.len();
            let hash = self.hasher.hash_one(path);
            let (nodes, hasher) = (&self.nodes, &self.hasher);
            self.index
                .insert_unique(hash, id, |&id| hasher.hash_one(&*nodes[id as usize].path));
            let p = &mut self.nodes[parent as usize];
            p.children.push(id);
            if p.children.len() >= 2 && !p.stamp.has(Stamp::UNSORTED) {
                p.stamp.set(Stamp::UNSORTED, true);
                self.unsorted.push(parent);
            }
            parent = id;
            if end == topic.len() {
                return Some(id);
            }
            at = end + 1;
        }
    }

    /// The children of `id` in natural order (sorted on first use after a change).
    pub fn sorted_children(&mut self, id: NodeId) -> &[NodeId] {
        let idx = id as usize;
        if self.nodes[idx].stamp.has(Stamp::UNSORTED) {
            let mut children = std::mem::take(&mut self.nodes[idx].children);
            self.sort(&mut children);
            let node = &mut self.nodes[idx];
            node.children = children;
            node.stamp.set(Stamp::UNSORTED, false);
        }
        &self.nodes[idx].children
    }

    /// Sorts the children that changed since they were last sorted, of the nodes `wanted`
    /// says are looked at; the others wait for their turn. New levels arrive unsorted (a sort
    /// per new topic would cost too much during a flood); the explorer settles the levels it
    /// shows before each frame, so drawing reads the store without changing it, and a closed
    /// level with 100k children filling up costs nothing until it is opened.
    pub fn sort_pending(&mut self, wanted: impl Fn(NodeId) -> bool) {
        let mut waiting = std::mem::take(&mut self.unsorted);
        waiting.retain(|id| {
            if wanted(*id) {
                self.sorted_children(*id);
                false
            } else {
                true
            }
        });
        self.unsorted = waiting;
    }

    /// The children of `id` in natural order without changing the store: borrowed when sorted
    /// (always, after [`Self::sort_pending`]), a sorted copy otherwise.
    pub fn children_in_order(&self, id: NodeId) -> std::borrow::Cow<'_, [NodeId]> {
        let node = &self.nodes[id as usize];
        if !node.stamp.has(Stamp::UNSORTED) {
            return std::borrow::Cow::Borrowed(&node.children);
        }
        let mut children = node.children.clone();
        self.sort(&mut children);
        std::borrow::Cow::Owned(children)
    }

    fn sort(&self, children: &mut [NodeId]) {
        let nodes = &self.nodes;
        children.sort_by(|a, b| {
            natural_cmp(nodes[*a as usize].segment(), nodes[*b as usize].segment())
        });
    }

    /// Where `child` sits in `siblings`, its parent's children in natural order: a binary
    /// search, with a scan as the fallback for a list that is not sorted.
    pub fn position_among(&self, siblings: &[NodeId], child: NodeId) -> Option<usize> {
        let segment = self.nodes.get(child as usize)?.segment();
        let nodes = &self.nodes;
        siblings
            .binary_search_by(|id| natural_cmp(nodes[*id as usize].segment(), segment))
            .ok()
            .filter(|i| siblings[*i] == child)
            .or_else(|| siblings.iter().position(|id| *id == child))
    }

    /// The ids from the first level down to `id` (the root excluded).
    pub fn path_ids(&self, id: NodeId) -> Vec<NodeId> {
        let mut ids = Vec::new();
        let mut at = id;
        while at != ROOT {
            ids.push(at);
            at = self.nodes[at as usize].parent;
        }
        ids.reverse();
        ids
    }

    /// Every node id in creation order (the root excluded).
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        (1..self.nodes.len()).filter_map(|i| NodeId::try_from(i).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::MessageProperties;
    use std::time::{Duration, SystemTime};

    fn msg(topic: &str, payload: &str, secs: u64) -> Message {
        Message {
            topic: topic.into(),
            payload: Bytes::copy_from_slice(payload.as_bytes()),
            qos: 0,
            retain: false,
            dup: false,
            properties: None,
            received: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
            wire_size: topic.len() + payload.len() + 4,
        }
    }

    #[test]
    fn segments_are_the_last_level_even_when_empty() {
        let mut store = TopicStore::new(Limits::default());
        store.insert(&msg("/a//b", "x", 1));
        let segs: Vec<&str> = store
            .path_ids(store.find("/a//b").expect("topic"))
            .iter()
            .map(|id| store.node(*id).segment())
            .collect();
        assert_eq!(segs, ["", "a", "", "b"]);
    }

    fn counts(store: &TopicStore, path: &str) -> (u64, u32) {
        let n = store.node(store.find(path).expect(path));
        (n.messages, n.topics)
    }

    #[test]
    fn counts_follow_the_table() {
        // (publish these, expect these subtree counts)
        let mut store = TopicStore::new(Limits::default());
        for (topic, payload) in [
            ("plant/a/temp", "1"),
            ("plant/a/temp", "2"),
            ("plant/a/hum", "3"),
            ("plant/b", "4"),
            ("plant", "5"),
            ("other", "6"),
        ] {
            store.insert(&msg(topic, payload, 1));
        }
        let table = [
            ("plant", (5, 4)),
            ("plant/a", (3, 2)),
            ("plant/a/temp", (2, 1)),
            ("plant/b", (1, 1)),
            ("other", (1, 1)),
        ];
        for (path, expected) in table {
            assert_eq!(counts(&store, path), expected, "{path}");
        }
        assert_eq!((store.node(ROOT).messages, store.topic_count()), (6, 5));
        assert_eq!(store.len(), 6);
        let temp = store.node(store.find("plant/a/temp").expect("temp"));
        assert_eq!(temp.segment(), "temp");
        assert_eq!(&temp.last().expect("last").payload[..], b"2");
    }

    #[test]
    fn leading_slash_and_empty_levels_are_levels() {
        let mut store = TopicStore::new(Limits::default());
        store.insert(&msg("/a//b", "x", 1));
        let ids = store.path_ids(store.find("/a//b").expect("topic"));
        let segments: Vec<&str> = ids.iter().map(|id| store.node(*id).segment()).collect();
        assert_eq!(segments, ["", "a", "", "b"]);
    }

    #[test]
    fn pending_sorts_wait_for_the_levels_that_are_looked_at() {
        let mut store = TopicStore::new(Limits::default());
        for t in ["a/dev10", "a/dev2", "b/z", "b/y", "a/dev1"] {
            store.insert(&msg(t, "x", 1));
        }
        let (a, b) = (store.find("a").expect("a"), store.find("b").expect("b"));
        let segments = |store: &TopicStore, id| -> Vec<String> {
            store
                .children_in_order(id)
                .iter()
                .map(|c| store.node(*c).segment().to_string())
                .collect()
        };
        // Read-only views are in order whether or not the level was sorted.
        assert_eq!(segments(&store, a), ["dev1", "dev2", "dev10"]);
        store.sort_pending(|id| id == a);
        assert!(matches!(
            store.children_in_order(a),
            std::borrow::Cow::Borrowed(_)
        ));
        assert!(
            matches!(store.children_in_order(b), std::borrow::Cow::Owned(_)),
            "b was not looked at: still waiting"
        );
        assert_eq!(segments(&store, b), ["y", "z"]);
        store.sort_pending(|_| true);
        assert!(matches!(
            store.children_in_order(b),
            std::borrow::Cow::Borrowed(_)
        ));
        let siblings = store.children_in_order(a).to_vec();
        let dev10 = store.find("a/dev10").expect("dev10");
        assert_eq!(store.position_among(&siblings, dev10), Some(2));
    }

    #[test]
    fn children_sort_naturally() {
        let mut store = TopicStore::new(Limits::default());
        for t in ["dev10", "dev2", "dev1", "alpha"] {
            store.insert(&msg(t, "x", 1));
        }
        let names: Vec<String> = store
            .sorted_children(ROOT)
            .to_vec()
            .iter()
            .map(|id| store.node(*id).segment().to_string())
            .collect();
        assert_eq!(names, ["alpha", "dev1", "dev2", "dev10"]);
    }

    #[test]
    fn history_is_bounded_per_topic_by_count_and_bytes() {
        let limits = Limits {
            history: 3,
            topic_bytes: 1000,
            ..Limits::default()
        };
        let mut store = TopicStore::new(limits);
        for i in 0..10 {
            store.insert(&msg("t", &i.to_string(), i));
        }
        let node = store.node(store.find("t").expect("t"));
        let kept: Vec<&[u8]> = node.history().iter().map(|m| &m.payload[..]).collect();
        assert_eq!(kept, [b"7", b"8", b"9"]);
        assert_eq!(node.own_messages, 10);

        store.insert(&msg("big", &"x".repeat(5000), 1));
        assert_eq!(
            store.node(store.find("big").expect("big")).history().len(),
            1,
            "newest kept"
        );
    }

    #[test]
    fn properties_count_against_the_budget_and_are_copied_out() {
        let mut store = TopicStore::new(Limits::default());
        let shared = bytes::Bytes::from(vec![1u8; 4096]);
        let mut m = msg("温度/x", "1", 1);
        m.properties = Some(Box::new(MessageProperties {
            correlation_data: Some(shared.slice(0..16)),
            user_properties: vec![("k".repeat(1 << 20), "v".into())],
            ..MessageProperties::default()
        }));
        let before = store.used_bytes();
        store.insert(&m);
        assert!(
            store.used_bytes() - before > 1 << 20,
            "a megabyte of user properties"
        );
        let id = store.find("温度/x").expect("topic");
        let kept = store.node(id).last().expect("kept");
        let corr = kept
            .properties
            .as_ref()
            .and_then(|p| p.correlation_data.clone());
        assert_eq!(corr.as_deref(), Some(&[1u8; 16][..]));
        drop(m);
        // The store's copy does not pin the 4 KB buffer it came from.
        assert!(shared.is_unique(), "no slice of the shared buffer is kept");
    }

    #[test]
    fn budget_evicts_oldest_payloads_first_then_stops_tracking_new_topics() {
        let limits = Limits {
            history: 100,
            topic_bytes: 1 << 20,
            total_bytes: 64 * 1024,
        };
        let mut store = TopicStore::new(limits);
        for i in 0..100 {
            store.insert(&msg("big", &"x".repeat(1000), i));
        }
        assert!(store.used_bytes() <= limits.total_bytes);
        assert!(store.evicted > 0);
        let big = store.node(store.find("big").expect("big"));
        assert_eq!(
            big.history().back().expect("newest").received,
            msg("", "", 99).received
        );

        let mut i = 0;
        while store.untracked_topics == 0 {
            store.insert(&msg(&format!("flood/{i}"), "v", 100));
            i += 1;
            assert!(i < 100_000, "the store never filled");
        }
        let before = store.len();
        store.insert(&msg("flood/another-new-one", "v", 101));
        assert_eq!(store.len(), before, "no new nodes once full");
        assert!(store.untracked_topics >= 2);
        assert!(store.used_bytes() <= limits.total_bytes);
        // Known topics still count.
        store.insert(&msg("flood/0", "v", 102));
        assert_eq!(
            store.node(store.find("flood/0").expect("f0")).own_messages,
            2
        );
    }

    #[test]
    fn rate_decays_when_a_topic_falls_silent() {
        let mut store = TopicStore::new(Limits::default());
        for i in 0..50 {
            let mut m = msg("fast", "x", 0);
            m.received += Duration::from_millis(i * 100);
            store.insert(&m);
        }
        let node = store.node(store.find("fast").expect("fast"));
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(5);
        let busy = node.rate_at(at);
        assert!(
            (5.0..=10.0).contains(&busy),
            "about 10 msg/s ramping up: {busy}"
        );
        let later = node.rate_at(at + Duration::from_secs(30));
        assert!(later < 0.1, "{later}");
    }

    #[test]
    fn retained_flag_clears_on_deletion() {
        let mut store = TopicStore::new(Limits::default());
        let mut m = msg("r", "on", 1);
        m.retain = true;
        store.insert(&m);
        assert!(store.node(store.find("r").expect("r")).retained());
        let mut del = msg("r", "", 2);
        del.retain = true;
        store.insert(&del);
        assert!(!store.node(store.find("r").expect("r")).retained());
    }
}
