//! A pool of nodes behind one upstream: which node each call goes to.
//!
//! Reads go to the least loaded node that is up and at the best head (no more than `max_head_lag` epochs behind
//! it), taken in turn among equals, with a second node to try when the first cannot be reached. Everything else
//! (calls that need more than the read permission: wallet, messages, payment channels, admin; and the message
//! pool, which is each node's own) goes to the first node that is up, the one that holds the keys, and is never
//! tried on another. A node is out of rotation from the moment a call to it fails to reach it, or it does not
//! answer its health probe, until it answers one again.
//!
//! A read at an explicit tipset (a height, or a tipset key whose height the gateway has seen in a node's answer)
//! goes only to the serving nodes whose head has reached it, so that a node one epoch behind the best is never
//! asked for a tipset it does not have yet; the pages of a listing, pinned to one tipset key, follow the same rule.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};

use serde::Deserialize;
use serde_json::value::RawValue;

/// How many tipset keys the pool remembers the height of.
const KNOWN_TIPSETS: usize = 4096;

/// The methods whose answer is a tipset, whose key and height the pool learns.
const TIPSET_ANSWERS: [&str; 4] = [
    "Filecoin.ChainHead",
    "Filecoin.ChainGetTipSet",
    "Filecoin.ChainGetTipSetByHeight",
    "Filecoin.ChainGetTipSetAfterHeight",
];

/// A CID as Lotus writes it in JSON: `{"/": "bafy..."}`.
#[derive(Deserialize)]
struct Link<'a> {
    #[serde(rename = "/", borrow)]
    cid: &'a str,
}

/// A tipset's key and height, and nothing else of it.
#[derive(Deserialize)]
struct KeyAndHeight<'a> {
    #[serde(rename = "Cids", borrow)]
    cids: Vec<Link<'a>>,
    #[serde(rename = "Height")]
    height: i64,
}

/// A tipset key as the pool remembers it: its CIDs, joined by commas.
fn key_text(links: &[Link<'_>]) -> String {
    let mut text = String::with_capacity(links.len() * 63);
    for (i, link) in links.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(link.cid);
    }
    text
}

/// One node of a pool.
#[derive(Debug)]
pub struct Node {
    /// `node0`, `node1`, ...: its name in `/readyz`, the metrics and the log.
    pub name: String,
    pub url: url::Url,
    /// The token of its `TOKEN:MULTIADDR` entry.
    pub token: Option<String>,
    up: AtomicBool,
    /// The height of its head at its last answer to a probe; -1 before the first.
    head: AtomicI64,
    /// That head's timestamp (seconds since 1970).
    stamp: AtomicU64,
    in_flight: AtomicUsize,
}

impl Node {
    pub fn new(index: usize, url: url::Url, token: Option<String>) -> Node {
        Node {
            name: format!("node{index}"),
            url,
            token,
            up: AtomicBool::new(true),
            head: AtomicI64::new(-1),
            stamp: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// The height of its head at its last answer; `None` before the first.
    pub fn head(&self) -> Option<i64> {
        Some(self.head.load(Ordering::Relaxed)).filter(|h| *h >= 0)
    }

    /// The timestamp of its head at its last answer; `None` before the first.
    pub fn head_timestamp(&self) -> Option<u64> {
        Some(self.stamp.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Takes it out of rotation.
    pub fn down(&self, why: &str) {
        if self.up.swap(false, Ordering::Relaxed) {
            log::warn!("{} is out of rotation: {why}", self.name);
        }
    }

    /// It answered its probe with a head at `height` made at `timestamp`: in rotation.
    pub fn answered(&self, height: i64, timestamp: u64) {
        self.head.store(height, Ordering::Relaxed);
        self.stamp.store(timestamp, Ordering::Relaxed);
        if !self.up.swap(true, Ordering::Relaxed) {
            log::info!("{} is back in rotation, its head at {height}", self.name);
        }
    }

    /// Counts a call in flight to it until the guard drops.
    pub fn busy(&self) -> Busy<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Busy(&self.in_flight)
    }
}

/// A call in flight to a node, counted until dropped (also when the call is cancelled).
pub struct Busy<'a>(&'a AtomicUsize);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Whether a call to `method` needing `perm` may go to any node (a read of the chain) rather than only to the one
/// that holds the keys.
pub fn any_node_may_serve(method: &str, read: bool) -> bool {
    read && !method.starts_with("Filecoin.Mpool")
}

/// What a node of the pool is doing, for `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Up and serving reads.
    Serving,
    /// Up, but further behind the best head than the pool allows: no reads.
    Lagging,
    /// Out of rotation until it answers a probe.
    Down,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Serving => "ok",
            Standing::Lagging => "lagging",
            Standing::Down => "down",
        }
    }
}

/// The nodes of a pool and the choice among them.
#[derive(Debug)]
pub struct Pool {
    pub nodes: Vec<Node>,
    pub max_head_lag: i64,
    turn: AtomicUsize,
    /// The heights of tipsets seen in the nodes' answers, by key.
    heights: quick_cache::sync::Cache<String, i64>,
}

impl Pool {
    pub fn new(nodes: Vec<Node>, max_head_lag: i64) -> Pool {
        Pool {
            nodes,
            max_head_lag,
            turn: AtomicUsize::new(0),
            heights: quick_cache::sync::Cache::new(KNOWN_TIPSETS),
        }
    }

    /// Learns the key and height of the tipset a node answered `method` with, if it answers with one.
    pub fn learn(&self, method: &str, answer: &str) {
        if !TIPSET_ANSWERS.contains(&method) {
            return;
        }
        if let Ok(tipset) = serde_json::from_str::<KeyAndHeight<'_>>(answer) {
            if !tipset.cids.is_empty() {
                self.heights.insert(key_text(&tipset.cids), tipset.height);
            }
        }
    }

    /// The height a call of `method` (its JSON-RPC request, encoded) reads at, when it names one: the highest of
    /// its height parameters and the known heights of its tipset keys (as [`crate::lotus::history`] places them).
    pub fn height_of(&self, method: &str, request: &[u8]) -> Option<i64> {
        use crate::lotus::history::{selectors, Selector};
        #[derive(Deserialize)]
        struct Request<'a> {
            #[serde(borrow)]
            params: Vec<&'a RawValue>,
        }
        let selectors = selectors(method);
        if selectors.is_empty() {
            return None;
        }
        let params = serde_json::from_slice::<Request<'_>>(request).ok()?.params;
        let mut at = None;
        for (i, selector) in selectors {
            let Some(param) = params.get(*i) else {
                continue;
            };
            let height = match selector {
                Selector::Height => param.get().parse::<i64>().ok(),
                Selector::TipsetKey => serde_json::from_str::<Vec<Link<'_>>>(param.get())
                    .ok()
                    .filter(|links| !links.is_empty())
                    .and_then(|links| self.heights.get(&key_text(&links))),
                _ => None,
            };
            at = at.max(height);
        }
        at
    }

    /// The token to send node `i` for a call carrying `token`: the first node's own token (the gateway's, in own
    /// mode) stands for each node's own; any other token (a caller's, in passthrough mode) is sent as it is.
    pub fn token_for<'a>(&'a self, i: usize, token: Option<&'a str>) -> Option<&'a str> {
        match (
            token,
            self.nodes[0].token.as_deref(),
            self.nodes[i].token.as_deref(),
        ) {
            (Some(sent), Some(first), Some(own)) if sent == first => Some(own),
            _ => token,
        }
    }

    /// Node `i`'s URL, and the token to send it for a call carrying `token` (see [`Pool::token_for`]).
    pub fn target(&self, i: usize, token: Option<&str>) -> (url::Url, Option<String>) {
        (
            self.nodes[i].url.clone(),
            self.token_for(i, token).map(String::from),
        )
    }

    /// The best head among the nodes that are up.
    pub fn best_head(&self) -> Option<i64> {
        self.nodes
            .iter()
            .filter(|n| n.is_up())
            .filter_map(Node::head)
            .max()
    }

    pub fn standing(&self, node: &Node) -> Standing {
        if !node.is_up() {
            return Standing::Down;
        }
        match (self.best_head(), node.head()) {
            (Some(best), Some(head)) if head < best.saturating_sub(self.max_head_lag) => {
                Standing::Lagging
            }
            _ => Standing::Serving,
        }
    }

    /// The nodes to try for a call, in order: for a read that any node may serve, the least loaded serving node
    /// and a second one; otherwise the first node that is up, alone. With no node up, the first node(s) in the
    /// list, so that a call still says why it failed.
    pub fn route(&self, any_node: bool) -> Vec<usize> {
        self.route_at(any_node, None)
    }

    /// As [`Pool::route`], for a read at tipset height `at`: only serving nodes whose head has reached it, while
    /// one has.
    pub fn route_at(&self, any_node: bool, at: Option<i64>) -> Vec<usize> {
        let n = self.nodes.len();
        if !any_node {
            let first = self.nodes.iter().position(Node::is_up).unwrap_or(0);
            return vec![first];
        }
        let turn = self.turn.fetch_add(1, Ordering::Relaxed) % n.max(1);
        let mut serving: Vec<usize> = (0..n)
            .filter(|&i| self.standing(&self.nodes[i]) == Standing::Serving)
            .collect();
        if let Some(at) = at {
            let reached: Vec<usize> = serving
                .iter()
                .copied()
                .filter(|&i| self.nodes[i].head().is_some_and(|head| head >= at))
                .collect();
            if !reached.is_empty() {
                serving = reached;
            }
        }
        if serving.is_empty() {
            serving = (0..n).collect();
        }
        // Least loaded first; among equals, in turn, so that an idle pool spreads its reads too.
        serving.sort_by_key(|&i| (self.nodes[i].in_flight(), (i + n - turn) % n));
        serving.truncate(2);
        serving
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(heads: &[i64]) -> Pool {
        let nodes = heads
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let node = Node::new(
                    i,
                    format!("http://127.0.0.1:{}/rpc/v1", 1000 + i)
                        .parse()
                        .unwrap(),
                    None,
                );
                if *h >= 0 {
                    node.answered(*h, 1);
                }
                node
            })
            .collect();
        Pool::new(nodes, 2)
    }

    #[test]
    fn writes_go_to_the_first_node_that_is_up() {
        let p = pool(&[10, 10, 10]);
        assert_eq!(p.route(false), vec![0]);
        p.nodes[0].down("test");
        assert_eq!(p.route(false), vec![1]);
        for n in &p.nodes {
            n.down("test");
        }
        assert_eq!(p.route(false), vec![0], "with none up, the first says why");
    }

    #[test]
    fn reads_spread_over_serving_nodes_and_skip_the_lagging_and_the_down() {
        let p = pool(&[100, 96, 100, 99]);
        assert_eq!(p.standing(&p.nodes[1]), Standing::Lagging);
        assert_eq!(p.standing(&p.nodes[3]), Standing::Serving);
        let mut seen = [0usize; 4];
        for _ in 0..40 {
            let route = p.route(true);
            assert_eq!(route.len(), 2);
            assert_ne!(route[0], route[1]);
            seen[route[0]] += 1;
            assert!(!route.contains(&1), "a lagging node serves no reads");
        }
        assert!(seen[0] > 0 && seen[2] > 0 && seen[3] > 0, "{seen:?}");
        p.nodes[0].down("test");
        p.nodes[2].down("test");
        assert_eq!(p.route(true), vec![3], "the only serving node, alone");
    }

    #[test]
    fn the_least_loaded_node_comes_first() {
        let p = pool(&[5, 5]);
        let _busy = p.nodes[0].busy();
        for _ in 0..4 {
            assert_eq!(p.route(true), vec![1, 0]);
        }
        drop(_busy);
        assert_eq!(p.nodes[0].in_flight(), 0);
    }

    #[test]
    fn the_message_pool_is_the_key_holders_own() {
        assert!(any_node_may_serve("Filecoin.ChainHead", true));
        assert!(!any_node_may_serve("Filecoin.MpoolGetNonce", true));
        assert!(!any_node_may_serve("Filecoin.WalletNew", false));
    }

    #[test]
    fn a_read_at_a_tipset_goes_to_the_nodes_that_have_reached_it() {
        // node1 is one epoch behind: serving (within the lag of 2), but without the head tipset.
        let p = pool(&[10, 9, 10]);
        let head = r#"{"Cids":[{"/":"bafyhead"},{"/":"bafyhead2"}],"Height":10,"Blocks":[]}"#;
        p.learn("Filecoin.ChainHead", head);
        let request = |method: &str, params: &str| {
            format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":{params},"id":1}}"#)
        };
        let at =
            |method: &str, params: &str| p.height_of(method, request(method, params).as_bytes());
        let key = r#"[{"/":"bafyhead"},{"/":"bafyhead2"}]"#;
        assert_eq!(
            at("Filecoin.StateGetActor", &format!(r#"["f01000",{key}]"#)),
            Some(10)
        );
        assert_eq!(
            at(
                "Filecoin.StateGetActor",
                r#"["f01000",[{"/":"bafyother"}]]"#
            ),
            None
        );
        assert_eq!(at("Filecoin.StateGetActor", r#"["f01000",[]]"#), None);
        assert_eq!(at("Filecoin.ChainGetTipSetByHeight", "[9,[]]"), Some(9));
        assert_eq!(
            at("Filecoin.ChainGetTipSetByHeight", &format!("[3,{key}]")),
            Some(10)
        );
        // Not a tipset parameter: a key-shaped list elsewhere is not read.
        assert_eq!(at("Filecoin.ChainReadObj", &format!("[{key}]")), None);
        for _ in 0..12 {
            let order = p.route_at(true, Some(10));
            assert!(!order.contains(&1), "{order:?}");
        }
        assert!((0..12).any(|_| p.route_at(true, Some(9)).contains(&1)));
        assert!((0..12).any(|_| p.route_at(true, None).contains(&1)));
        // Beyond every node's head: the usual rotation, and the node says what it says.
        assert_eq!(p.route_at(true, Some(11)).len(), 2);
    }
}
