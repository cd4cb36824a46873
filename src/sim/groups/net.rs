//! Simulated network, log and F3 methods: a few hundred peers with deterministic IDs, addresses and agents, a block
//! list and protect list that writes change, resource limits per scope, log subsystems with levels, and an F3
//! instance that follows the chain's head with certificates and power tables from the miners.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::super::rpc::{Failure, Params};
use super::super::Shared;
use super::lock;
use crate::lotus::types::Cid;

/// How many peers the node is connected to at start.
pub(crate) const INITIAL_PEERS: u32 = 300;
/// The epoch F3 starts at.
const BOOTSTRAP_EPOCH: i64 = 20;
/// How many epochs behind the head F3 finalizes.
const F3_LAG: i64 = 5;
/// The miners in the power tables.
const MINERS: [u64; 3] = [1000, 1001, 1002];

/// One connected peer.
#[derive(Clone)]
struct Peer {
    id: String,
    addrs: Vec<String>,
    agent: String,
    /// The index it derives from (its counters and scores).
    index: u32,
}

/// What this group keeps between calls.
#[derive(Default)]
pub(crate) struct State {
    ready: bool,
    peers: Vec<Peer>,
    blocked_peers: Vec<String>,
    blocked_ips: Vec<String>,
    blocked_subnets: Vec<String>,
    protected: BTreeSet<String>,
    limits: BTreeMap<String, Value>,
    log_levels: BTreeMap<String, String>,
    /// Issued participation tickets: ticket → (miner ID, from instance, validity term).
    tickets: BTreeMap<String, (u64, u64, u64)>,
    /// Participants by miner ID: (from instance, validity term).
    participants: BTreeMap<u64, (u64, u64)>,
    next_ticket: u64,
}

fn digest(tag: &str, n: u64) -> [u8; 32] {
    let mut state = blake2b_simd::Params::new().hash_length(32).to_state();
    state.update(tag.as_bytes());
    state.update(&n.to_le_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(state.finalize().as_bytes());
    out
}

/// The deterministic peer ID of peer `index` (a sha2-256 multihash, printed in base58 as Lotus prints it).
pub(crate) fn peer_id(index: u32) -> String {
    let hash = multiaddr::multihash::Multihash::<64>::wrap(0x12, &digest("peer", index as u64))
        .expect("32 bytes fit");
    multiaddr::PeerId::from_multihash(hash)
        .expect("sha2-256 multihashes are peer IDs")
        .to_string()
}

fn peer_addr(index: u32) -> String {
    format!(
        "/ip4/10.{}.{}.{}/tcp/{}",
        (index >> 8) & 0xff,
        index & 0xff,
        1 + index % 200,
        1347 + index % 3
    )
}

fn agent(index: u32) -> String {
    match index % 4 {
        0 | 1 => format!("lotus-1.3{}.0+mainnet+git.{:07x}", index % 3, index * 7919),
        2 => format!("forest-0.2{}.0", index % 5),
        _ => "venus-1.16.0".to_string(),
    }
}

const SUBSYSTEMS: [&str; 12] = [
    "chain",
    "chainstore",
    "consensus",
    "f3",
    "fullnode",
    "market",
    "messagepool",
    "net",
    "paych",
    "rpc",
    "sub",
    "wallet",
];

impl State {
    fn ensure(&mut self) {
        if self.ready {
            return;
        }
        self.ready = true;
        self.peers = (1..=INITIAL_PEERS)
            .map(|i| Peer {
                id: peer_id(i),
                addrs: vec![peer_addr(i)],
                agent: agent(i),
                index: i,
            })
            .collect();
        self.protected.insert(peer_id(1));
        self.blocked_peers.push(peer_id(100_000));
        self.blocked_ips.push("192.0.2.66".to_string());
        self.blocked_subnets.push("198.51.100.0/24".to_string());
        self.log_levels = SUBSYSTEMS
            .iter()
            .map(|s| (s.to_string(), "info".to_string()))
            .collect();
        self.participants.insert(1000, (0, 5));
        // A ticket issued for t01001 before the node (re)started, to be redeemed.
        let mut seeded = b"f3ticket".to_vec();
        seeded.extend_from_slice(&1001u64.to_be_bytes());
        seeded.extend_from_slice(&0u64.to_be_bytes());
        self.tickets.insert(b64(&seeded), (1001, 0, 10));
    }

    fn peer(&self, id: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.id == id)
    }
}

fn addr_info(p: &Peer) -> Value {
    json!({"ID": p.id, "Addrs": p.addrs})
}

fn bandwidth(index: u32, height: i64) -> Value {
    let n = index as i64 + 1;
    json!({
        "TotalIn": n * 17_400 + height * 512,
        "TotalOut": n * 1_250 + height * 128,
        "RateIn": (n % 97) as f64 + 0.5,
        "RateOut": (n % 53) as f64 + 0.25,
    })
}

fn scope_stat(n: i64) -> Value {
    json!({
        "NumStreamsInbound": n * 3,
        "NumStreamsOutbound": n * 4,
        "NumConnsInbound": n,
        "NumConnsOutbound": n * 2,
        "NumFD": n,
        "Memory": n * 1_048_576,
    })
}

fn default_limit(scope: &str) -> Value {
    let f: i64 = if scope == "system" {
        16
    } else if scope == "transient" {
        4
    } else {
        1
    };
    json!({
        "Memory": f * 268_435_456,
        "Streams": f * 512,
        "StreamsInbound": f * 256,
        "StreamsOutbound": f * 256,
        "Conns": f * 128,
        "ConnsInbound": f * 64,
        "ConnsOutbound": f * 64,
        "FD": f * 64,
    })
}

/// Lotus's scope names: `system`, `transient`, `svc:NAME`, `proto:ID`, `peer:ID`.
fn check_scope(scope: &str) -> Result<(), Failure> {
    let ok = scope == "system"
        || scope == "transient"
        || ["svc:", "proto:", "peer:"]
            .iter()
            .any(|p| scope.strip_prefix(p).is_some_and(|rest| !rest.is_empty()));
    if ok {
        Ok(())
    } else {
        Err(Failure::method(format!("invalid scope {scope}")))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AddrInfo {
    #[serde(rename = "ID")]
    id: String,
    addrs: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BlockList {
    peers: Option<Vec<String>>,
    #[serde(rename = "IPAddrs")]
    ip_addrs: Option<Vec<String>>,
    #[serde(rename = "IPSubnets")]
    ip_subnets: Option<Vec<String>>,
}

fn peer_param(p: &Params, i: usize) -> Result<String, Failure> {
    let id: String = p.decode(i, "peer.ID")?;
    id.parse::<multiaddr::PeerId>()
        .map_err(|e| p.bad("peer.ID", format!("failed to parse peer ID: {e}")))?;
    Ok(id)
}

fn power_cid(instance: u64) -> Cid {
    Cid::new(crate::lotus::address::cid_from_digest(&digest(
        "f3-power", instance,
    )))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The F3 power table: one entry per miner, by ID.
fn power_table() -> Value {
    Value::Array(
        MINERS
            .iter()
            .map(|id| {
                let mut key = digest("f3-pubkey", *id).to_vec();
                key.extend_from_slice(&digest("f3-pubkey2", *id)[..16]);
                json!({
                    "ID": id,
                    "Power": ((id - 999) as u128 * 34_359_738_368u128 * 1024).to_string(),
                    "PubKey": b64(&key),
                })
            })
            .collect(),
    )
}

/// The latest finalized instance at a head height, if F3 has finalized any.
fn latest_instance(head: i64) -> Option<u64> {
    let epoch = head - F3_LAG;
    (epoch >= BOOTSTRAP_EPOCH).then(|| (epoch - BOOTSTRAP_EPOCH) as u64)
}

/// One tipset of an EC chain: the non-null tipset at or below `epoch`.
fn ec_tipset(shared: &Shared, epoch: i64, instance: u64) -> Value {
    let chain = shared.chain();
    let mut h = epoch;
    let ts = loop {
        if let Some(ts) = chain.tipset_at(h) {
            break Some(ts.clone());
        }
        if h <= 0 {
            break None;
        }
        h -= 1;
    };
    let key = ts.map(|t| t.cids).unwrap_or_default();
    json!({
        "Key": key,
        "Commitments": b64(&[0u8; 32]),
        "Epoch": h,
        "PowerTable": power_cid(instance),
    })
}

fn certificate(shared: &Shared, instance: u64) -> Value {
    let epoch = BOOTSTRAP_EPOCH + instance as i64;
    let mut signature = digest("f3-sig", instance).to_vec();
    signature.extend_from_slice(&digest("f3-sig2", instance));
    signature.extend_from_slice(&digest("f3-sig3", instance));
    json!({
        "GPBFTInstance": instance,
        "ECChain": [ec_tipset(shared, epoch, instance)],
        "SupplementalData": {"Commitments": b64(&[0u8; 32]), "PowerTable": power_cid(instance + 1)},
        "Signers": [0, MINERS.len()],
        "Signature": b64(&signature[..96]),
        "PowerTableDelta": null,
    })
}

fn head_height(shared: &Shared) -> i64 {
    shared.chain().head().tipset.height
}

pub(super) fn call(shared: &Shared, name: &str, p: &Params) -> Option<Result<Value, Failure>> {
    if !(name.starts_with("Net") || name.starts_with("Log") || name.starts_with("F3")) {
        return None;
    }
    let height = head_height(shared);
    let mut st = lock(&shared.groups.net);
    st.ensure();
    let result = match name {
        "NetPeers" => p
            .expect(0)
            .map(|_| Value::Array(st.peers.iter().map(addr_info).collect())),
        "NetConnect" => (|| {
            p.expect(1)?;
            let info: AddrInfo = p.decode(0, "peer.AddrInfo")?;
            info.id
                .parse::<multiaddr::PeerId>()
                .map_err(|e| p.bad("peer.AddrInfo", format!("failed to parse peer ID: {e}")))?;
            if st.blocked_peers.contains(&info.id) {
                return Err(Failure::method(format!(
                    "failed to dial {}: gater disallows connection to peer",
                    info.id
                )));
            }
            let addrs = info.addrs.unwrap_or_default();
            if let Some(peer) = st.peers.iter_mut().find(|x| x.id == info.id) {
                for a in addrs {
                    if !peer.addrs.contains(&a) {
                        peer.addrs.push(a);
                    }
                }
                return Ok(Value::Null);
            }
            if addrs.is_empty() {
                return Err(Failure::method(format!(
                    "failed to dial {}: no addresses",
                    info.id
                )));
            }
            let index = INITIAL_PEERS + 1 + st.peers.len() as u32;
            st.peers.push(Peer {
                id: info.id,
                addrs,
                agent: "lotus-1.32.0+mainnet".to_string(),
                index,
            });
            Ok(Value::Null)
        })(),
        "NetDisconnect" => (|| {
            p.expect(1)?;
            let id = peer_param(p, 0)?;
            st.peers.retain(|x| x.id != id);
            Ok(Value::Null)
        })(),
        "NetConnectedness" => (|| {
            p.expect(1)?;
            let id = peer_param(p, 0)?;
            Ok(json!(if st.peer(&id).is_some() { 1 } else { 0 }))
        })(),
        "NetPeerInfo" => (|| {
            p.expect(1)?;
            let id = peer_param(p, 0)?;
            let peer = st
                .peer(&id)
                .ok_or_else(|| Failure::method(format!("peer {id} not found in the peerstore")))?;
            Ok(json!({
                "ID": peer.id,
                "Agent": peer.agent,
                "Addrs": peer.addrs,
                "Protocols": ["/fil/hello/1.0.0", "/fil/chain/xchg/0.0.1", "/meshsub/1.1.0", "/ipfs/ping/1.0.0"],
                "ConnMgrMeta": {
                    "FirstSeen": "2026-01-01T00:00:00Z",
                    "Value": if st.protected.contains(&peer.id) { 100 } else { (peer.index % 50) as i64 },
                    "Tags": {"fcbs": 5},
                    "Conns": {"0": "2026-01-01T00:00:00Z"},
                },
            }))
        })(),
        "NetAgentVersion" => (|| {
            p.expect(1)?;
            let id = peer_param(p, 0)?;
            st.peer(&id)
                .map(|peer| json!(peer.agent))
                .ok_or_else(|| Failure::method("item not found"))
        })(),
        "NetFindPeer" => (|| {
            p.expect(1)?;
            let id = peer_param(p, 0)?;
            st.peer(&id)
                .map(addr_info)
                .ok_or_else(|| Failure::method("routing: not found"))
        })(),
        "NetPing" => (|| {
            p.expect(1)?;
            let id = peer_param(p, 0)?;
            st.peer(&id)
                .map(|peer| json!(20_000_000i64 + peer.index as i64 * 137_000))
                .ok_or_else(|| Failure::method("routing: not found"))
        })(),
        "NetAddrsListen" => p.expect(0).map(|_| {
            json!({"ID": peer_id(0), "Addrs": ["/ip4/127.0.0.1/tcp/1347", "/ip4/192.168.1.20/tcp/1347", "/ip6/::1/tcp/1347"]})
        }),
        "NetListening" => p.expect(0).map(|_| json!(true)),
        "NetVersion" => p.expect(0).map(|_| json!("31415926")),
        "NetAutoNatStatus" => p.expect(0).map(|_| {
            json!({"Reachability": 1, "PublicAddrs": ["/ip4/203.0.113.7/tcp/1347"]})
        }),
        "NetBandwidthStats" => p.expect(0).map(|_| {
            let (mut ti, mut to, mut ri, mut ro) = (0i64, 0i64, 0f64, 0f64);
            for peer in &st.peers {
                let b = bandwidth(peer.index, height);
                ti += b["TotalIn"].as_i64().unwrap_or(0);
                to += b["TotalOut"].as_i64().unwrap_or(0);
                ri += b["RateIn"].as_f64().unwrap_or(0.0);
                ro += b["RateOut"].as_f64().unwrap_or(0.0);
            }
            json!({"TotalIn": ti, "TotalOut": to, "RateIn": ri, "RateOut": ro})
        }),
        "NetBandwidthStatsByPeer" => p.expect(0).map(|_| {
            Value::Object(
                st.peers
                    .iter()
                    .map(|peer| (peer.id.clone(), bandwidth(peer.index, height)))
                    .collect::<Map<_, _>>(),
            )
        }),
        "NetBandwidthStatsByProtocol" => p.expect(0).map(|_| {
            let protocols = [
                "/fil/hello/1.0.0",
                "/fil/chain/xchg/0.0.1",
                "/meshsub/1.1.0",
                "/ipfs/ping/1.0.0",
            ];
            Value::Object(
                protocols
                    .iter()
                    .enumerate()
                    .map(|(i, name)| (name.to_string(), bandwidth(i as u32 * 1000, height)))
                    .collect(),
            )
        }),
        "NetBlockList" => p.expect(0).map(|_| {
            json!({"Peers": st.blocked_peers, "IPAddrs": st.blocked_ips, "IPSubnets": st.blocked_subnets})
        }),
        "NetBlockAdd" | "NetBlockRemove" => (|| {
            p.expect(1)?;
            let list: BlockList = p.decode(0, "api.NetBlockList")?;
            let add = name == "NetBlockAdd";
            let peers = list.peers.unwrap_or_default();
            for id in &peers {
                id.parse::<multiaddr::PeerId>().map_err(|e| {
                    p.bad("api.NetBlockList", format!("failed to parse peer ID: {e}"))
                })?;
            }
            fn apply(set: &mut Vec<String>, items: Vec<String>, add: bool) {
                for item in items {
                    if add {
                        if !set.contains(&item) {
                            set.push(item);
                        }
                    } else {
                        set.retain(|x| *x != item);
                    }
                }
            }
            if add {
                st.peers.retain(|x| !peers.contains(&x.id));
            }
            apply(&mut st.blocked_peers, peers, add);
            apply(&mut st.blocked_ips, list.ip_addrs.unwrap_or_default(), add);
            apply(
                &mut st.blocked_subnets,
                list.ip_subnets.unwrap_or_default(),
                add,
            );
            Ok(Value::Null)
        })(),
        "NetProtectList" => p
            .expect(0)
            .map(|_| json!(st.protected.iter().collect::<Vec<_>>())),
        "NetProtectAdd" | "NetProtectRemove" => (|| {
            p.expect(1)?;
            let peers: Vec<String> = p.decode(0, "[]peer.ID")?;
            for id in &peers {
                id.parse::<multiaddr::PeerId>()
                    .map_err(|e| p.bad("[]peer.ID", format!("failed to parse peer ID: {e}")))?;
            }
            for id in peers {
                if name == "NetProtectAdd" {
                    st.protected.insert(id);
                } else {
                    st.protected.remove(&id);
                }
            }
            Ok(Value::Null)
        })(),
        "NetLimit" => (|| {
            p.expect(1)?;
            let scope: String = p.decode(0, "string")?;
            check_scope(&scope)?;
            Ok(st
                .limits
                .get(&scope)
                .cloned()
                .unwrap_or_else(|| default_limit(&scope)))
        })(),
        "NetSetLimit" => (|| {
            p.expect(2)?;
            let scope: String = p.decode(0, "string")?;
            #[derive(Deserialize, serde::Serialize)]
            #[serde(rename_all = "PascalCase", deny_unknown_fields)]
            struct Limit {
                memory: i64,
                streams: i64,
                streams_inbound: i64,
                streams_outbound: i64,
                conns: i64,
                conns_inbound: i64,
                conns_outbound: i64,
                #[serde(rename = "FD")]
                fd: i64,
            }
            let limit: Limit = p.decode(1, "api.NetLimit")?;
            check_scope(&scope)?;
            st.limits.insert(scope, super::to_json(limit));
            Ok(Value::Null)
        })(),
        "NetStat" => (|| {
            p.expect(1)?;
            let scope: String = p.decode(0, "string")?;
            let n = st.peers.len() as i64;
            let services = json!({"libp2p.autonat": scope_stat(1), "libp2p.identify": scope_stat(2)});
            let protocols = json!({"/fil/hello/1.0.0": scope_stat(3), "/meshsub/1.1.0": scope_stat(4)});
            let all = json!({
                "System": scope_stat(n),
                "Transient": scope_stat(2),
                "Services": services,
                "Protocols": protocols,
                "Peers": st.peers.iter().take(20).map(|x| (x.id.clone(), scope_stat(1))).collect::<Map<_, _>>(),
            });
            if scope == "all" {
                return Ok(all);
            }
            if scope == "system" {
                return Ok(json!({"System": scope_stat(n)}));
            }
            if scope == "transient" {
                return Ok(json!({"Transient": scope_stat(2)}));
            }
            if let Some(svc) = scope.strip_prefix("svc:") {
                return services
                    .get(svc)
                    .map(|s| json!({"Services": {svc: s}}))
                    .ok_or_else(|| Failure::method(format!("service {svc} not found")));
            }
            if let Some(proto) = scope.strip_prefix("proto:") {
                return protocols
                    .get(proto)
                    .map(|s| json!({"Protocols": {proto: s}}))
                    .ok_or_else(|| Failure::method(format!("protocol {proto} not found")));
            }
            if let Some(peer) = scope.strip_prefix("peer:") {
                return st
                    .peer(peer)
                    .map(|_| json!({"Peers": {peer: scope_stat(1)}}))
                    .ok_or_else(|| Failure::method(format!("peer {peer} not found")));
            }
            Err(Failure::method(format!("invalid scope {scope}")))
        })(),
        "NetPubsubScores" => p.expect(0).map(|_| {
            Value::Array(
                st.peers
                    .iter()
                    .map(|peer| {
                        let s = (peer.index % 40) as f64 - 5.5;
                        json!({"ID": peer.id, "Score": {
                            "Score": s,
                            "Topics": {"/fil/blocks/simnet": {"TimeInMesh": 60_000_000_000i64, "FirstMessageDeliveries": peer.index % 17, "MeshMessageDeliveries": peer.index % 31, "InvalidMessageDeliveries": 0}},
                            "AppSpecificScore": 0.0,
                            "IPColocationFactor": 0.0,
                            "BehaviourPenalty": 0.0,
                        }})
                    })
                    .collect(),
            )
        }),
        "LogList" => p
            .expect(0)
            .map(|_| json!(st.log_levels.keys().collect::<Vec<_>>())),
        "LogSetLevel" => (|| {
            p.expect(2)?;
            let subsystem: String = p.decode(0, "string")?;
            let level: String = p.decode(1, "string")?;
            let level = level.to_ascii_lowercase();
            if !["debug", "info", "warn", "error", "dpanic", "panic", "fatal"]
                .contains(&level.as_str())
            {
                return Err(Failure::method(format!("unrecognized level: \"{level}\"")));
            }
            if subsystem == "*" {
                for v in st.log_levels.values_mut() {
                    *v = level.clone();
                }
                return Ok(Value::Null);
            }
            match st.log_levels.get_mut(&subsystem) {
                Some(v) => {
                    *v = level;
                    Ok(Value::Null)
                }
                None => Err(Failure::method(format!(
                    "logger {subsystem} not found: No such logger"
                ))),
            }
        })(),
        "LogAlerts" => p.expect(0).map(|_| {
            let debugging: Vec<&String> = st
                .log_levels
                .iter()
                .filter(|(_, l)| *l == "debug")
                .map(|(k, _)| k)
                .collect();
            json!([
                {
                    "Type": {"System": "process", "Subsystem": "fd-limit"},
                    "Active": true,
                    "LastActive": {"Type": "raised", "Message": {"limit": 1024, "recommended": 16384}, "Time": "2026-01-01T00:00:00Z"},
                    "LastResolved": null,
                },
                {
                    "Type": {"System": "logging", "Subsystem": "debug-level"},
                    "Active": !debugging.is_empty(),
                    "LastActive": if debugging.is_empty() { Value::Null } else { json!({"Type": "raised", "Message": {"subsystems": debugging}, "Time": "2026-01-01T00:00:00Z"}) },
                    "LastResolved": null,
                },
            ])
        }),
        "F3IsRunning" => p.expect(0).map(|_| json!(true)),
        "F3GetManifest" => p.expect(0).map(|_| {
            json!({
                "ProtocolVersion": 7,
                "InitialInstance": 0,
                "BootstrapEpoch": BOOTSTRAP_EPOCH,
                "NetworkName": format!("{}/f3", super::super::NETWORK_NAME),
                "InitialPowerTable": power_cid(0),
                "CommitteeLookback": 10,
                "CatchUpAlignment": 15_000_000_000i64,
                "Gpbft": {"Delta": 6_000_000_000i64, "DeltaBackOffExponent": 2.0, "QualityDeltaMultiplier": 1.0, "MaxLookaheadRounds": 5, "ChainProposedLength": 100, "RebroadcastBackoffBase": 6_000_000_000i64, "RebroadcastBackoffExponent": 1.3, "RebroadcastBackoffSpread": 0.1, "RebroadcastBackoffMax": 60_000_000_000i64},
                "EC": {"Period": 30_000_000_000i64, "Finality": 900, "DelayMultiplier": 2.0, "BaseDecisionBackoffTable": [1.3, 1.69, 2.2, 2.86], "HeadLookback": 4, "Finalize": true},
                "CertificateExchange": {"ClientRequestTimeout": 10_000_000_000i64, "ServerRequestTimeout": 60_000_000_000i64, "MinimumPollInterval": 30_000_000_000i64, "MaximumPollInterval": 120_000_000_000i64},
            })
        }),
        "F3GetLatestCertificate" => p.expect(0).and_then(|_| {
            let latest = latest_instance(height)
                .ok_or_else(|| Failure::method("F3 is not ready: no certificate yet"))?;
            drop(st);
            Ok(certificate(shared, latest))
        }),
        "F3GetCertificate" => (|| {
            p.expect(1)?;
            let instance: u64 = p.decode(0, "uint64")?;
            if latest_instance(height).is_none_or(|l| instance > l) {
                return Err(Failure::method(format!(
                    "certificate for instance {instance}: certificate not found"
                )));
            }
            drop(st);
            Ok(certificate(shared, instance))
        })(),
        "F3GetPowerTableByInstance" => (|| {
            p.expect(1)?;
            let instance: u64 = p.decode(0, "uint64")?;
            let next = latest_instance(height).map_or(0, |l| l + 1);
            if instance > next {
                return Err(Failure::method(format!(
                    "power table for instance {instance} not found"
                )));
            }
            Ok(power_table())
        })(),
        "F3GetECPowerTable" | "F3GetF3PowerTable" => (|| {
            p.expect(1)?;
            let key = p.tsk(0)?;
            drop(st);
            shared.chain().tipset(&key).map_err(Failure::method)?;
            Ok(power_table())
        })(),
        "F3GetProgress" => p.expect(0).map(|_| {
            let next = latest_instance(height).map_or(0, |l| l + 1);
            drop(st);
            json!({
                "ID": next,
                "Round": 0,
                "Phase": 1 + height.rem_euclid(5),
                "Input": [ec_tipset(shared, height, next)],
            })
        }),
        "F3ListParticipants" => p.expect(0).map(|_| {
            Value::Array(
                st.participants
                    .iter()
                    .map(|(miner, (from, term))| {
                        json!({"MinerID": miner, "FromInstance": from, "ValidityTerm": term})
                    })
                    .collect(),
            )
        }),
        "F3GetOrRenewParticipationTicket" => (|| {
            p.expect(3)?;
            let miner = p.address(0)?;
            let previous: Option<String> = p.decode(1, "[]uint8")?;
            let instances: u64 = p.decode(2, "uint64")?;
            let text = miner.to_string();
            let id = text
                .get(2..)
                .and_then(|n| n.parse::<u64>().ok())
                .filter(|id| MINERS.contains(id))
                .ok_or_else(|| {
                    Failure::method(format!(
                        "resolution lookup failed ({text}): actor not found"
                    ))
                })?;
            if instances == 0 {
                return Err(Failure::method(
                    "invalid params: instances must be at least 1",
                ));
            }
            if let Some(prev) = previous.filter(|p| !p.is_empty()) {
                match st.tickets.get(&prev) {
                    Some((m, _, _)) if *m == id => {}
                    _ => {
                        return Err(Failure::method(
                            "invalid params: the previous ticket was not issued for this miner",
                        ))
                    }
                }
            }
            let from = latest_instance(height).map_or(0, |l| l + 1);
            st.next_ticket += 1;
            let mut bytes = b"f3ticket".to_vec();
            bytes.extend_from_slice(&id.to_be_bytes());
            bytes.extend_from_slice(&st.next_ticket.to_be_bytes());
            let ticket = b64(&bytes);
            st.tickets.insert(ticket.clone(), (id, from, instances));
            Ok(json!(ticket))
        })(),
        "F3Participate" => (|| {
            p.expect(1)?;
            let ticket: String = p.decode(0, "[]uint8")?;
            let (miner, from, term) = *st
                .tickets
                .get(&ticket)
                .ok_or_else(|| Failure::method("invalid params: invalid participation ticket"))?;
            st.participants.insert(miner, (from, term));
            Ok(json!({
                "Network": format!("{}/f3", super::super::NETWORK_NAME),
                "Issuer": peer_id(0),
                "MinerID": miner,
                "FromInstance": from,
                "ValidityTerm": term,
            }))
        })(),
        _ => return None,
    };
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_deterministic_and_distinct() {
        assert_eq!(peer_id(7), peer_id(7));
        let ids: BTreeSet<String> = (0..=INITIAL_PEERS).map(peer_id).collect();
        assert_eq!(ids.len(), INITIAL_PEERS as usize + 1);
        assert!(peer_id(1).starts_with("Qm"));
        let mut st = State::default();
        st.ensure();
        assert_eq!(st.peers.len(), INITIAL_PEERS as usize);
        assert!(st.protected.contains(&peer_id(1)));
    }

    #[test]
    fn scopes_and_instances() {
        for ok in [
            "system",
            "transient",
            "svc:libp2p.autonat",
            "proto:/fil/hello/1.0.0",
            "peer:x",
        ] {
            assert!(check_scope(ok).is_ok(), "{ok}");
        }
        for bad in ["", "all", "svc:", "bogus"] {
            assert!(check_scope(bad).is_err(), "{bad}");
        }
        assert_eq!(latest_instance(BOOTSTRAP_EPOCH + F3_LAG - 1), None);
        assert_eq!(latest_instance(BOOTSTRAP_EPOCH + F3_LAG + 3), Some(3));
    }
}
