//! Simulated chain, sync and node lifecycle methods beyond the core chain: the object store (blocks and messages
//! are objects too, put objects are kept, deleted ones are gone), the bad-block list, the sync state derived from
//! the head, exports, garbage collections and backups the node was asked for, the node's start time and peer ID.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::chain::tipset_not_found;
use super::super::rpc::{Failure, Params};
use super::super::Shared;
use super::{lock, to_json};
use crate::lotus::address::cid_from_digest;
use crate::lotus::types::{BlockHeader, Cid, TipSet};

/// The root of the event AMT the simulated node holds events under (the events of a contract deployed at genesis).
pub(crate) const EVENTS_ROOT: &str =
    "bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4";
/// A block the node starts with marked bad.
pub(crate) const SEEDED_BAD_BLOCK: &str =
    "bafy2bzacebp3shtrn43k7g3unredz7fxn4gj533d3o43tqn2p2ipxxhrvchve";
/// The libp2p peer ID of the simulated node.
pub(crate) const PEER_ID: &str = "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf";
/// How many epochs back Expected Consensus considers the chain final.
const EC_FINALITY: i64 = 900;

/// What this group keeps between calls.
pub(crate) struct State {
    /// Objects put with `ChainPutObj`, by CID.
    objects: BTreeMap<String, Vec<u8>>,
    /// Objects deleted with `ChainDeleteObj` (chain objects included).
    deleted: BTreeSet<String>,
    /// Blocks marked bad, with the reason.
    bad: BTreeMap<String, String>,
    /// The last head set or checkpointed by an operator: the tipset and what was done.
    forced: Option<(TipSet, &'static str)>,
    /// The last block submitted with `SyncSubmitBlock`, with its CID.
    submitted: Option<(Cid, BlockHeader)>,
    exports: u64,
    hot_gcs: u64,
    prunes: u64,
    checks: u64,
    backups: Vec<String>,
    shutdown_requested: bool,
    started: String,
}

impl Default for State {
    fn default() -> Self {
        let mut bad = BTreeMap::new();
        bad.insert(
            SEEDED_BAD_BLOCK.to_owned(),
            "validating block: block had invalid election proof".to_owned(),
        );
        State {
            objects: BTreeMap::new(),
            deleted: BTreeSet::new(),
            bad,
            forced: None,
            submitted: None,
            exports: 0,
            hot_gcs: 0,
            prunes: 0,
            checks: 0,
            backups: Vec::new(),
            shutdown_requested: false,
            started: rfc3339_now(),
        }
    }
}

impl State {
    /// Whether the node has been asked to shut down (it keeps running: the simulated node only records it).
    pub(crate) fn shutdown_requested(&self) -> bool {
        self.shutdown_requested
    }
}

fn rfc3339_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The CID of bytes, as the node computes it for an object: blake2b-256, DAG-CBOR.
pub(crate) fn object_cid(data: &[u8]) -> String {
    let hash = blake2b_simd::Params::new().hash_length(32).hash(data);
    let mut digest = [0u8; 32];
    digest.copy_from_slice(hash.as_bytes());
    cid_from_digest(&digest)
}

fn not_found(cid: &str) -> Failure {
    Failure::method(format!("ipld: could not find {cid}"))
}

/// The JSON form of a chain object (a block header or a message) or a put object, and its bytes.
fn object(shared: &Shared, state: &State, cid: &Cid) -> Option<(Value, Vec<u8>)> {
    if state.deleted.contains(&cid.root) {
        return None;
    }
    if let Some(data) = state.objects.get(&cid.root) {
        let value = serde_json::from_slice(data)
            .unwrap_or_else(|_| json!(base64::engine::general_purpose::STANDARD.encode(data)));
        return Some((value, data.clone()));
    }
    let chain = shared.chain();
    let value = if let Ok(block) = chain.block(cid) {
        to_json(block)
    } else if let Ok(message) = chain.message(cid) {
        let mut m = to_json(message);
        if let Some(o) = m.as_object_mut() {
            o.remove("CID");
        }
        m
    } else {
        return None;
    };
    let bytes = serde_json::to_vec(&value).expect("JSON values serialize");
    Some((value, bytes))
}

/// The CIDs an object links to.
fn links(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(o) => {
            if let (1, Some(Value::String(c))) = (o.len(), o.get("/")) {
                out.push(c.clone());
                return;
            }
            o.values().for_each(|v| links(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| links(v, out)),
        _ => {}
    }
}

/// The weight of a tipset, as the chain computes it: the parent's weight, 10 000, and 100 per block.
fn weight(ts: &TipSet) -> u128 {
    let parent: u128 = ts
        .blocks
        .first()
        .and_then(|b| b.parent_weight.0.parse().ok())
        .unwrap_or(0);
    if ts.height == 0 {
        return 10_000 + 100 * ts.blocks.len() as u128;
    }
    parent + 10_000 + 100 * ts.blocks.len() as u128
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct HotGcOpts {
    threshold: f64,
    periodic: bool,
    moving: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct PruneOpts {
    #[serde(rename = "MovingGC")]
    moving_gc: bool,
    retain_state: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ExportConfig {
    write_buffer_size: i64,
    num_workers: i64,
    include_messages: bool,
    include_receipts: bool,
    include_state_roots: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutBlock {
    cid: Option<Cid>,
    raw_data: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BlockMsg {
    header: BlockHeader,
    bls_messages: Vec<Cid>,
    secpk_messages: Vec<Cid>,
}

pub(super) fn call(shared: &Shared, name: &str, p: &Params) -> Option<Result<Value, Failure>> {
    let state = &shared.groups.chain_x;
    let result = match name {
        "ChainBlockstoreInfo" => (|| {
            p.expect(0)?;
            let s = lock(state);
            let stored: usize = s.objects.values().map(Vec::len).sum();
            Ok(json!({
                "Type": "splitstore",
                "HotStoreSize": 1_073_741_824u64 + stored as u64,
                "ObjectsPut": s.objects.len(),
                "ObjectsDeleted": s.deleted.len(),
                "Checks": s.checks,
                "HotGCs": s.hot_gcs,
                "Prunes": s.prunes,
                "Exports": s.exports,
                "Compacting": false,
            }))
        })(),
        "ChainCheckBlockstore" => (|| {
            p.expect(0)?;
            lock(state).checks += 1;
            Ok(Value::Null)
        })(),
        "ChainHotGC" => (|| {
            p.expect(1)?;
            let opts: HotGcOpts = p.decode(0, "*api.HotGCOpts")?;
            let _ = (opts.periodic, opts.moving);
            if !(0.0..=1.0).contains(&opts.threshold) {
                return Err(Failure::method(
                    "hot store GC threshold must be between 0 and 1",
                ));
            }
            lock(state).hot_gcs += 1;
            Ok(Value::Null)
        })(),
        "ChainPrune" => (|| {
            p.expect(1)?;
            let opts: PruneOpts = p.decode(0, "*api.PruneOpts")?;
            let _ = opts.moving_gc;
            if opts.retain_state < -1 {
                return Err(Failure::method("invalid RetainState: must be -1 or more"));
            }
            lock(state).prunes += 1;
            Ok(Value::Null)
        })(),
        "ChainExportRangeInternal" => (|| {
            p.expect(3)?;
            let head = p.tsk(0)?;
            let tail = p.tsk(1)?;
            let cfg: ExportConfig = p.decode(2, "*api.ChainExportConfig")?;
            let _ = (
                cfg.include_messages,
                cfg.include_receipts,
                cfg.include_state_roots,
            );
            if cfg.num_workers < 1 || cfg.write_buffer_size < 0 {
                return Err(Failure::method(
                    "invalid export config: NumWorkers must be at least 1",
                ));
            }
            let chain = shared.chain();
            let h = chain.tipset(&head).map_err(Failure::method)?.tipset.height;
            let t = chain.tipset(&tail).map_err(Failure::method)?.tipset.height;
            if h < t {
                return Err(Failure::method(format!(
                    "head ({h}) must be higher than tail ({t})"
                )));
            }
            drop(chain);
            lock(state).exports += 1;
            Ok(Value::Null)
        })(),
        "ChainGetEvents" => (|| {
            p.expect(1)?;
            let root = p.cid(0)?;
            if root.root != EVENTS_ROOT {
                return Err(not_found(&root.root));
            }
            let events: Vec<Value> = (0..3u64)
                .map(|i| {
                    json!({
                        "Emitter": 1000 + i,
                        "Entries": [
                            {"Flags": 3, "Key": "t1", "Codec": 85,
                             "Value": base64::engine::general_purpose::STANDARD.encode([i as u8; 32])},
                            {"Flags": 3, "Key": "d", "Codec": 85,
                             "Value": base64::engine::general_purpose::STANDARD.encode((i * 1000).to_be_bytes())},
                        ],
                    })
                })
                .collect();
            Ok(Value::Array(events))
        })(),
        "ChainGetFinalizedTipSet" => (|| {
            p.expect(0)?;
            let chain = shared.chain();
            let head = chain.head().tipset.height;
            let ts = chain
                .tipset_by_height((head - EC_FINALITY).max(0), &[])
                .map_err(Failure::method)?;
            Ok(to_json(ts))
        })(),
        "ChainGetPath" => (|| {
            p.expect(2)?;
            let from = p.tsk(0)?;
            let to = p.tsk(1)?;
            let chain = shared.chain();
            let from = chain.tipset(&from).map_err(Failure::method)?.tipset.height;
            let to = chain.tipset(&to).map_err(Failure::method)?.tipset.height;
            let mut path = Vec::new();
            if to >= from {
                for h in from + 1..=to {
                    if let Some(ts) = chain.tipset_at(h) {
                        path.push(json!({"Type": "apply", "Val": ts}));
                    }
                }
            } else {
                for h in (to + 1..=from).rev() {
                    if let Some(ts) = chain.tipset_at(h) {
                        path.push(json!({"Type": "revert", "Val": ts}));
                    }
                }
            }
            Ok(Value::Array(path))
        })(),
        "ChainTipSetWeight" => (|| {
            p.expect(1)?;
            let key = p.tsk(0)?;
            let chain = shared.chain();
            let ts = chain.tipset(&key).map_err(Failure::method)?;
            Ok(json!(weight(&ts.tipset).to_string()))
        })(),
        "ChainValidateIndex" => (|| {
            p.expect(2)?;
            let epoch = p.epoch(0)?;
            let _backfill: bool = p.decode(1, "bool")?;
            let chain = shared.chain();
            let head = chain.head().tipset.height;
            if epoch < 0 || epoch >= head {
                return Err(Failure::method(format!(
                    "cannot validate index at epoch {epoch}, can only validate at an epoch less than chain head epoch {head}"
                )));
            }
            match chain.tipset_at(epoch) {
                None => Ok(json!({
                    "TipSetKey": [], "Height": epoch, "IndexedMessagesCount": 0, "IndexedEventsCount": 0,
                    "IndexedEventEntriesCount": 0, "Backfilled": false, "IsNullRound": true,
                })),
                Some(ts) => {
                    let count = chain
                        .tipset_messages(&ts.cids)
                        .map_err(Failure::method)?
                        .as_array()
                        .map_or(0, Vec::len);
                    Ok(json!({
                        "TipSetKey": ts.cids, "Height": epoch, "IndexedMessagesCount": count,
                        "IndexedEventsCount": 0, "IndexedEventEntriesCount": 0, "Backfilled": false,
                        "IsNullRound": false,
                    }))
                }
            }
        })(),
        "ChainHasObj" => (|| {
            p.expect(1)?;
            let cid = p.cid(0)?;
            let s = lock(state);
            Ok(json!(object(shared, &s, &cid).is_some()))
        })(),
        "ChainReadObj" => (|| {
            p.expect(1)?;
            let cid = p.cid(0)?;
            let s = lock(state);
            let (_, bytes) = object(shared, &s, &cid).ok_or_else(|| not_found(&cid.root))?;
            Ok(json!(
                base64::engine::general_purpose::STANDARD.encode(bytes)
            ))
        })(),
        "ChainStatObj" => (|| {
            p.expect(2)?;
            let cid = p.cid(0)?;
            let base: Option<Cid> = p.decode(1, "*cid.Cid")?;
            let s = lock(state);
            let (value, bytes) = object(shared, &s, &cid).ok_or_else(|| not_found(&cid.root))?;
            if base.as_ref().is_some_and(|b| *b == cid) {
                return Ok(json!({"Size": 0, "Links": 0}));
            }
            let mut found = Vec::new();
            links(&value, &mut found);
            Ok(json!({"Size": bytes.len(), "Links": found.len()}))
        })(),
        "ChainGetNode" => (|| {
            p.expect(1)?;
            let path: String = p.decode(0, "*string")?;
            let trimmed = path.strip_prefix("/ipfs/").unwrap_or(&path);
            let mut parts = trimmed.split('/').filter(|s| !s.is_empty());
            let root = parts
                .next()
                .ok_or_else(|| Failure::method("parsing path: empty path"))?;
            let root = crate::lotus::address::parse_cid(root)
                .map(Cid::new)
                .map_err(|e| Failure::method(format!("parsing path: {e}")))?;
            let s = lock(state);
            let (mut value, _) = object(shared, &s, &root).ok_or_else(|| not_found(&root.root))?;
            let mut cid = root;
            for part in parts {
                let next = match &value {
                    Value::Object(o) => o.get(part).cloned(),
                    Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get(i).cloned()),
                    _ => None,
                };
                value = next.ok_or_else(|| {
                    Failure::method(format!(
                        "resolving path: could not find link \"{part}\" under {}",
                        cid.root
                    ))
                })?;
                // A link is followed into the object it names, when the node has it.
                if let Some(Value::String(link)) = value.get("/") {
                    let link = Cid::new(link.clone());
                    if let Some((v, _)) = object(shared, &s, &link) {
                        value = v;
                        cid = link;
                    }
                }
            }
            Ok(json!({"Cid": cid, "Obj": value}))
        })(),
        "ChainPutObj" => (|| {
            p.expect(1)?;
            let block: PutBlock = p.decode(0, "blocks.Block")?;
            let data = base64::engine::general_purpose::STANDARD
                .decode(block.raw_data.as_bytes())
                .map_err(|e| p.bad("blocks.Block", e))?;
            let cid = object_cid(&data);
            if let Some(given) = block.cid {
                if given.root != cid {
                    return Err(Failure::method(format!(
                        "block data does not match its CID: {} != {cid}",
                        given.root
                    )));
                }
            }
            let mut s = lock(state);
            s.deleted.remove(&cid);
            s.objects.insert(cid, data);
            Ok(Value::Null)
        })(),
        "ChainDeleteObj" => (|| {
            p.expect(1)?;
            let cid = p.cid(0)?;
            let mut s = lock(state);
            if object(shared, &s, &cid).is_none() {
                return Err(Failure::method(format!(
                    "blockstore delete: {}",
                    super::super::chain::object_not_found(&cid)
                )));
            }
            s.objects.remove(&cid.root);
            s.deleted.insert(cid.root);
            Ok(Value::Null)
        })(),
        "ChainSetHead" => (|| {
            p.expect(1)?;
            let key = p.tsk(0)?;
            let ts = shared
                .chain()
                .tipset(&key)
                .map_err(Failure::method)?
                .tipset
                .clone();
            lock(state).forced = Some((ts, "head set by the operator"));
            Ok(Value::Null)
        })(),
        "SyncCheckpoint" => (|| {
            p.expect(1)?;
            let key = p.tsk(0)?;
            let ts = shared
                .chain()
                .tipset(&key)
                .map_err(Failure::method)?
                .tipset
                .clone();
            lock(state).forced = Some((ts, "checkpointed by the operator"));
            Ok(Value::Null)
        })(),
        "SyncState" => (|| {
            p.expect(0)?;
            let s = lock(state);
            let chain = shared.chain();
            let head = chain.head().tipset.clone();
            let base = head
                .blocks
                .first()
                .filter(|b| !b.parents.is_empty())
                .and_then(|b| chain.tipset(&b.parents).ok())
                .map(|t| t.tipset.clone())
                .unwrap_or_else(|| head.clone());
            let (target, message) = match &s.forced {
                Some((ts, what)) => (ts.clone(), format!("{what} at height {}", ts.height)),
                None => (head.clone(), String::new()),
            };
            let started = s.started.clone();
            let mut syncs = vec![json!({
                "WorkerID": 1, "Base": base, "Target": target, "Stage": 7, "Height": target.height,
                "Start": started, "End": started, "Message": message,
            })];
            if let Some((cid, header)) = &s.submitted {
                let parent = chain
                    .tipset(&header.parents)
                    .map(|t| t.tipset.clone())
                    .unwrap_or_else(|_| head.clone());
                syncs.push(json!({
                    "WorkerID": 2, "Base": parent,
                    "Target": {"Cids": [cid], "Blocks": [header], "Height": header.height},
                    "Stage": 1, "Height": header.height, "Start": started, "End": "0001-01-01T00:00:00Z",
                    "Message": format!("syncing block {} submitted by {}", cid.root, header.miner),
                }));
            }
            let applied: usize = (0..=head.height)
                .filter_map(|h| chain.tipset_at(h))
                .map(|t| {
                    chain
                        .tipset_messages(&t.cids)
                        .ok()
                        .and_then(|m| m.as_array().map(Vec::len))
                        .unwrap_or(0)
                })
                .sum();
            Ok(json!({"ActiveSyncs": syncs, "VMApplied": applied}))
        })(),
        "SyncSubmitBlock" => (|| {
            p.expect(1)?;
            let block: BlockMsg = p.decode(0, "*types.BlockMsg")?;
            let _ = (&block.bls_messages, &block.secpk_messages);
            let chain = shared.chain();
            let parent = chain.tipset(&block.header.parents).map_err(|e| {
                Failure::method(format!("provided messages did not match block: {e}"))
            })?;
            if block.header.parents.is_empty() || block.header.height <= parent.tipset.height {
                return Err(Failure::method(format!(
                    "block height {} must be above its parents' height {}",
                    block.header.height, parent.tipset.height
                )));
            }
            drop(chain);
            let bytes = serde_json::to_vec(&block.header).expect("headers serialize");
            let cid = Cid::new(object_cid(&bytes));
            let mut s = lock(state);
            if let Some(reason) = s.bad.get(&cid.root) {
                return Err(Failure::method(format!("block was marked bad: {reason}")));
            }
            s.submitted = Some((cid, block.header));
            Ok(Value::Null)
        })(),
        "SyncCheckBad" => (|| {
            p.expect(1)?;
            let cid = p.cid(0)?;
            Ok(json!(lock(state)
                .bad
                .get(&cid.root)
                .cloned()
                .unwrap_or_default()))
        })(),
        "SyncMarkBad" => (|| {
            p.expect(1)?;
            let cid = p.cid(0)?;
            lock(state)
                .bad
                .insert(cid.root, "marked bad manually through the API".to_owned());
            Ok(Value::Null)
        })(),
        "SyncUnmarkBad" => (|| {
            p.expect(1)?;
            let cid = p.cid(0)?;
            lock(state).bad.remove(&cid.root);
            Ok(Value::Null)
        })(),
        "SyncUnmarkAllBad" => (|| {
            p.expect(0)?;
            lock(state).bad.clear();
            Ok(Value::Null)
        })(),
        "SyncValidateTipset" => (|| {
            p.expect(1)?;
            let key = p.tsk(0)?;
            if key.is_empty() {
                return Err(Failure::method(tipset_not_found(&key)));
            }
            let cids = shared
                .chain()
                .tipset(&key)
                .map_err(Failure::method)?
                .tipset
                .cids
                .clone();
            let s = lock(state);
            for cid in &cids {
                if let Some(reason) = s.bad.get(&cid.root) {
                    return Err(Failure::method(format!(
                        "validating tipset: block {} is marked bad: {reason}",
                        cid.root
                    )));
                }
            }
            Ok(json!(true))
        })(),
        "Discover" => (|| {
            p.expect(0)?;
            let methods: Vec<Value> = crate::lotus::methods::FULL_NODE
                .iter()
                .map(|m| json!({"name": m.name}))
                .collect();
            Ok(json!({
                "openrpc": "1.2.6",
                "info": {"title": "Lotus RPC API", "version": "1.36.2+simnet"},
                "methods": methods,
            }))
        })(),
        "Shutdown" => (|| {
            p.expect(0)?;
            lock(state).shutdown_requested = true;
            Ok(Value::Null)
        })(),
        "StartTime" => (|| {
            p.expect(0)?;
            Ok(json!(lock(state).started))
        })(),
        "ID" => (|| {
            p.expect(0)?;
            Ok(json!(PEER_ID))
        })(),
        "NodeStatus" => (|| {
            p.expect(1)?;
            let inclusive: bool = p.decode(0, "bool")?;
            let chain = shared.chain();
            let head = chain.head().tipset.height;
            let average = |span: i64| {
                let (mut blocks, mut epochs) = (0usize, 0i64);
                for h in (head - span + 1).max(0)..=head {
                    epochs += 1;
                    blocks += chain.tipset_at(h).map_or(0, |t| t.blocks.len());
                }
                blocks as f64 / epochs.max(1) as f64
            };
            let (last100, finality) = if inclusive {
                (average(100), average(EC_FINALITY))
            } else {
                (0.0, 0.0)
            };
            Ok(json!({
                "SyncStatus": {"Epoch": head, "Behind": 0},
                "PeerStatus": {"PeersToPublishMsgs": 8, "PeersToPublishBlocks": 6},
                "ChainStatus": {"BlocksPerTipsetLast100": last100, "BlocksPerTipsetLastFinality": finality},
            }))
        })(),
        "CreateBackup" => (|| {
            p.expect(1)?;
            let path: String = p.decode(0, "string")?;
            let mut s = lock(state);
            if s.backups.contains(&path) {
                return Err(Failure::method(format!(
                    "opening backup file {path}: file exists"
                )));
            }
            s.backups.push(path);
            Ok(Value::Null)
        })(),
        "Web3ClientVersion" => (|| {
            p.expect(0)?;
            Ok(json!("lotus/1.36.2+simnet"))
        })(),
        _ => return None,
    };
    Some(result)
}
