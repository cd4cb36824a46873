//! Simulated state methods: reads and computations over the simulated chain's actors and tipsets, answered from
//! the chain so that they agree with the core methods (`StateGetActor`, `ChainGetTipSet`…).

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::chain::Chain;
use super::super::rpc::{Failure, Params};
use super::super::Shared;
use super::to_json;
use crate::lotus::address::{cid_from_digest, Address};
use crate::lotus::types::{Cid, Message, TipSet};

/// What this group keeps between calls (everything it answers is derived from the chain).
#[derive(Default)]
pub(crate) struct State {}

/// The builtin actors whose code CIDs `StateActorCodeCIDs` lists.
const BUILTIN_ACTORS: &[&str] = &[
    "account",
    "cron",
    "datacap",
    "eam",
    "ethaccount",
    "evm",
    "init",
    "multisig",
    "paymentchannel",
    "placeholder",
    "reward",
    "storagemarket",
    "storageminer",
    "storagepower",
    "system",
    "verifiedregistry",
];

/// The network versions the simulated node knows actors for.
const MIN_NETWORK_VERSION: u64 = 16;
const MAX_NETWORK_VERSION: u64 = 25;

const ATTO_PER_FIL: u128 = 1_000_000_000_000_000_000;

fn digest(tag: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut state = blake2b_simd::Params::new().hash_length(32).to_state();
    state.update(b"sim state");
    state.update(&(tag.len() as u64).to_le_bytes());
    state.update(tag.as_bytes());
    for p in parts {
        state.update(&(p.len() as u64).to_le_bytes());
        state.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(state.finalize().as_bytes());
    out
}

fn cid(tag: &str, parts: &[&[u8]]) -> Cid {
    Cid::new(cid_from_digest(&digest(tag, parts)))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn failure(e: String) -> Failure {
    Failure::method(e)
}

/// The code CID of a builtin actor; account and miner codes are those the chain's actors carry.
fn code_cids(chain: &Chain, nv: u64) -> Result<serde_json::Map<String, Value>, Failure> {
    if !(MIN_NETWORK_VERSION..=MAX_NETWORK_VERSION).contains(&nv) {
        return Err(Failure::method(format!(
            "invalid network version {nv}: unsupported network version {nv}"
        )));
    }
    let account = chain
        .actor(&Address::new_id('t', 100), &[])
        .map_err(failure)?
        .code;
    let miner = chain
        .actor(&Address::new_id('t', 1000), &[])
        .map_err(failure)?
        .code;
    Ok(BUILTIN_ACTORS
        .iter()
        .map(|name| {
            let code = match *name {
                "account" => account.clone(),
                "storageminer" => miner.clone(),
                other => cid("builtin actor code", &[other.as_bytes()]),
            };
            (name.to_string(), to_json(code))
        })
        .collect())
}

fn tipset<'a>(chain: &'a Chain, key: &[Cid]) -> Result<&'a TipSet, Failure> {
    chain.tipset(key).map(|t| &t.tipset).map_err(failure)
}

/// The circulating supply at a height and its parts, in attoFIL.
fn supply(height: i64) -> [(&'static str, u128); 6] {
    let h = height.max(0) as u128;
    let vested = 300_000_000 * ATTO_PER_FIL + h * 17 * ATTO_PER_FIL;
    let mined = 100_000_000 * ATTO_PER_FIL + h * 40 * ATTO_PER_FIL;
    let burnt = 30_000_000 * ATTO_PER_FIL + h * 3 * ATTO_PER_FIL;
    let locked = 120_000_000 * ATTO_PER_FIL + h * 11 * ATTO_PER_FIL;
    let reserve = 17_066_618 * ATTO_PER_FIL;
    let circulating = vested + mined + reserve - burnt - locked;
    [
        ("FilVested", vested),
        ("FilMined", mined),
        ("FilBurnt", burnt),
        ("FilLocked", locked),
        ("FilCirculating", circulating),
        ("FilReserveDisbursed", reserve),
    ]
}

/// The result of applying a message, in Lotus's `InvocResult` shape.
fn invoc_result(message: &Message, msg_cid: &Cid, exit_code: i64, gas_used: i64) -> Value {
    let burn = gas_used as u128 * 100;
    json!({
        "MsgCid": msg_cid,
        "Msg": message,
        "MsgRct": {"ExitCode": exit_code, "Return": null, "GasUsed": gas_used, "EventsRoot": null},
        "GasCost": {
            "Message": msg_cid,
            "GasUsed": gas_used.to_string(),
            "BaseFeeBurn": burn.to_string(),
            "OverEstimationBurn": "0",
            "MinerPenalty": "0",
            "MinerTip": "0",
            "Refund": "0",
            "TotalCost": burn.to_string(),
        },
        "ExecutionTrace": {
            "Msg": {
                "From": message.from, "To": message.to, "Value": message.value, "Method": message.method,
                "Params": message.params, "ParamsCodec": 0, "GasLimit": message.gas_limit, "ReadOnly": false,
            },
            "MsgRct": {"ExitCode": exit_code, "Return": null, "ReturnCodec": 0},
            "GasCharges": null,
            "Subcalls": null,
        },
        "Error": "",
        "Duration": 1_250_000,
    })
}

/// Applies a message on top of a tipset's state without changing anything: both ends must exist.
fn apply(chain: &Chain, message: &Message, key: &[Cid]) -> Result<Value, Failure> {
    let height = tipset(chain, key)?.height;
    for addr in [&message.from, &message.to] {
        let a = Address::parse(addr).map_err(Failure::method)?;
        chain.actor(&a, key).map_err(failure)?;
    }
    let bytes = serde_json::to_vec(message).unwrap_or_default();
    let msg_cid = cid("applied message", &[&bytes, &height.to_le_bytes()]);
    let gas_used = 400_000 + (message.method as i64 % 7) * 100_000;
    Ok(invoc_result(message, &msg_cid, 0, gas_used))
}

/// The height whose parent state root is `root`.
fn height_of_root(chain: &Chain, root: &Cid) -> Option<i64> {
    let head = chain.head().tipset.height;
    (0..=head).find_map(|h| {
        chain
            .tipset_at(h)
            .filter(|t| {
                t.blocks
                    .first()
                    .is_some_and(|b| b.parent_state_root == *root)
            })
            .map(|t| t.height)
    })
}

/// `ActorEventFilter`, as Lotus decodes it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EventFilter {
    #[serde(default)]
    addresses: Option<Vec<String>>,
    #[serde(default)]
    fields: Option<std::collections::BTreeMap<String, Vec<EventBlock>>>,
    #[serde(default)]
    from_height: Option<i64>,
    #[serde(default)]
    to_height: Option<i64>,
    #[serde(default)]
    tipset_key: Option<Vec<Cid>>,
}

#[derive(Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct EventBlock {
    codec: u64,
    value: String,
}

/// How many epochs a filter may span, as Lotus's `MaxFilterHeightRange`.
const MAX_FILTER_RANGE: i64 = 2880;

/// The event of a height, when it has one: every fourth height, emitted by a miner.
fn event_at(chain: &Chain, ts: &TipSet) -> Option<Value> {
    let h = ts.height;
    if h == 0 || h % 4 != 0 {
        return None;
    }
    let emitter = format!("t0{}", 1000 + h % 3);
    let kind = if h % 8 == 0 {
        "sector-activated"
    } else {
        "sector-updated"
    };
    // The value is the CBOR text string of the event type.
    let mut value = vec![0x60 | kind.len() as u8];
    value.extend_from_slice(kind.as_bytes());
    let _ = chain;
    Some(json!({
        "entries": [
            {"Flags": 3, "Key": "$type", "Codec": 81, "Value": b64(&value)},
            {"Flags": 3, "Key": "sector", "Codec": 81, "Value": b64(&[0x19, (h >> 8) as u8, h as u8])},
        ],
        "emitter": emitter,
        "reverted": false,
        "height": h,
        "tipsetKey": ts.cids,
        "msgCid": cid("event message", &[&h.to_le_bytes()]),
    }))
}

fn events(chain: &Chain, filter: EventFilter) -> Result<Value, Failure> {
    let head = chain.head().tipset.height;
    let (from, to) = match &filter.tipset_key {
        Some(key) => {
            if filter.from_height.is_some() || filter.to_height.is_some() {
                return Err(Failure::method(
                    "cannot specify both TipSetKey and FromHeight/ToHeight",
                ));
            }
            let h = tipset(chain, key)?.height;
            (h, h)
        }
        None => (
            filter.from_height.unwrap_or(head),
            filter.to_height.unwrap_or(head),
        ),
    };
    if from > to {
        return Err(Failure::method("from height must be less than to height"));
    }
    if to - from > MAX_FILTER_RANGE {
        return Err(Failure::method(format!(
            "height range exceeds maximum: {MAX_FILTER_RANGE}"
        )));
    }
    let emitters: Option<Vec<String>> = match &filter.addresses {
        None => None,
        Some(list) => Some(
            list.iter()
                .map(|a| {
                    let addr = Address::parse(a).map_err(Failure::method)?;
                    chain.lookup_id(&addr, &[]).map_err(failure)
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let mut out = Vec::new();
    for h in from.max(0)..=to.min(head) {
        let Some(ts) = chain.tipset_at(h) else {
            continue;
        };
        let Some(event) = event_at(chain, ts) else {
            continue;
        };
        if let Some(emitters) = &emitters {
            if !emitters.iter().any(|e| event["emitter"] == *e.as_str()) {
                continue;
            }
        }
        if let Some(fields) = &filter.fields {
            let entries = event["entries"].as_array().cloned().unwrap_or_default();
            let ok = fields.iter().all(|(key, blocks)| {
                entries.iter().any(|e| {
                    e["Key"] == *key.as_str()
                        && (blocks.is_empty()
                            || blocks
                                .iter()
                                .any(|b| e["Codec"] == b.codec && e["Value"] == *b.value.as_str()))
                })
            });
            if !ok {
                continue;
            }
        }
        out.push(event);
    }
    Ok(Value::Array(out))
}

/// The ID-masked Ethereum address of an actor ID.
fn masked_eth(id: u64) -> String {
    let mut bytes = [0u8; 20];
    bytes[0] = 0xff;
    bytes[12..].copy_from_slice(&id.to_be_bytes());
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("0x{hex}")
}

fn randomness(kind: &str, personalization: i64, epoch: i64, entropy: &[u8], key: &[u8]) -> Value {
    to_json(b64(&digest(
        kind,
        &[
            &personalization.to_le_bytes(),
            &epoch.to_le_bytes(),
            entropy,
            key,
        ],
    )))
}

/// Checks a randomness epoch against the tipset it is drawn at, as Lotus does.
fn randomness_epoch(chain: &Chain, epoch: i64, key: &[Cid]) -> Result<Vec<u8>, Failure> {
    let ts = tipset(chain, key)?;
    if epoch > ts.height {
        return Err(Failure::method(format!(
            "cannot draw randomness from the future: epoch {epoch} is after the tipset at {}",
            ts.height
        )));
    }
    if epoch < 0 {
        return Err(Failure::method(
            "cannot draw randomness from a negative epoch",
        ));
    }
    Ok(ts
        .cids
        .iter()
        .flat_map(|c| c.root.as_bytes().to_vec())
        .collect())
}

pub(super) fn call(shared: &Shared, name: &str, p: &Params) -> Option<Result<Value, Failure>> {
    let result = match name {
        "StateActorCodeCIDs" => (|| {
            p.expect(1)?;
            let nv: u64 = p.decode(0, "network.Version")?;
            let chain = shared.chain();
            Ok(Value::Object(code_cids(&chain, nv)?))
        })(),
        "StateActorManifestCID" => (|| {
            p.expect(1)?;
            let nv: u64 = p.decode(0, "network.Version")?;
            let chain = shared.chain();
            code_cids(&chain, nv)?;
            Ok(to_json(cid("actor manifest", &[&nv.to_le_bytes()])))
        })(),
        "StateCall" => (|| {
            p.expect(2)?;
            let message: Message = p.decode(0, "*types.Message")?;
            let key = p.tsk(1)?;
            let chain = shared.chain();
            apply(&chain, &message, &key)
        })(),
        "StateCompute" => (|| {
            p.expect(3)?;
            let height = p.epoch(0)?;
            let messages: Option<Vec<Message>> = p.decode(1, "[]*types.Message")?;
            let key = p.tsk(2)?;
            let chain = shared.chain();
            let base = tipset(&chain, &key)?.height;
            if height < base {
                return Err(Failure::method(format!(
                    "cannot compute state at height {height}: below the base tipset at {base}"
                )));
            }
            let traces = messages
                .unwrap_or_default()
                .iter()
                .map(|m| apply(&chain, m, &key))
                .collect::<Result<Vec<_>, _>>()?;
            let trace_bytes = serde_json::to_vec(&traces).unwrap_or_default();
            Ok(json!({
                "Root": cid("computed state root", &[&height.to_le_bytes(), &trace_bytes]),
                "Trace": traces,
            }))
        })(),
        "StateComputeDataCID" => (|| {
            p.expect(4)?;
            let miner = p.address(0)?;
            let proof: i64 = p.decode(1, "abi.RegisteredSealProof")?;
            let deals: Option<Vec<u64>> = p.decode(2, "[]abi.DealID")?;
            let key = p.tsk(3)?;
            let chain = shared.chain();
            tipset(&chain, &key)?;
            let id = chain.lookup_id(&miner, &key).map_err(failure)?;
            let kind = chain
                .accounts()
                .into_iter()
                .find(|a| a.id == id)
                .map(|a| a.kind);
            if kind != Some(super::super::SimActorKind::Miner) {
                return Err(Failure::method(format!(
                    "computing unsealed CID: {miner} is not a storage miner actor"
                )));
            }
            if !(0..=14).contains(&proof) {
                return Err(Failure::method(format!(
                    "computing unsealed CID: unknown seal proof type {proof}"
                )));
            }
            let deals = deals.unwrap_or_default();
            let deal_bytes: Vec<u8> = deals.iter().flat_map(|d| d.to_le_bytes()).collect();
            Ok(to_json(cid(
                "unsealed cid",
                &[id.as_bytes(), &proof.to_le_bytes(), &deal_bytes],
            )))
        })(),
        "StateChangedActors" => (|| {
            p.expect(2)?;
            let old = p.cid(0)?;
            let new = p.cid(1)?;
            let chain = shared.chain();
            let from = height_of_root(&chain, &old)
                .ok_or_else(|| Failure::method(super::super::chain::object_not_found(&old)))?;
            let to = height_of_root(&chain, &new)
                .ok_or_else(|| Failure::method(super::super::chain::object_not_found(&new)))?;
            let mut out = serde_json::Map::new();
            if from != to {
                // Every actor's balance grows with the height, so every actor differs between two roots.
                let key = tipset_key_at(&chain, to);
                for account in chain.accounts() {
                    let addr = Address::parse(&account.id).map_err(Failure::method)?;
                    let actor = chain.actor(&addr, &key).map_err(failure)?;
                    out.insert(account.id, to_json(actor));
                }
            }
            Ok(Value::Object(out))
        })(),
        "StateCirculatingSupply" => (|| {
            p.expect(1)?;
            let key = p.tsk(0)?;
            let chain = shared.chain();
            let h = tipset(&chain, &key)?.height;
            Ok(to_json(supply(h)[4].1.to_string()))
        })(),
        "StateVMCirculatingSupplyInternal" => (|| {
            p.expect(1)?;
            let key = p.tsk(0)?;
            let chain = shared.chain();
            let h = tipset(&chain, &key)?.height;
            Ok(Value::Object(
                supply(h)
                    .iter()
                    .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                    .collect(),
            ))
        })(),
        "StateDecodeParams" => (|| {
            p.expect(4)?;
            let to = p.address(0)?;
            let method: u64 = p.decode(1, "abi.MethodNum")?;
            let params: String = p.decode(2, "[]byte")?;
            let key = p.tsk(3)?;
            let chain = shared.chain();
            chain.actor(&to, &key).map_err(failure)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(params)
                .map_err(|e| p.bad("[]byte", e))?;
            if method == 0 {
                return if bytes.is_empty() {
                    Ok(Value::Null)
                } else {
                    Err(Failure::method("method 0 (send) takes no parameters"))
                };
            }
            serde_json::from_slice(&bytes).map_err(|e| {
                Failure::method(format!(
                    "failed to decode params for method {method} of {to}: {e}"
                ))
            })
        })(),
        "StateEncodeParams" => (|| {
            p.expect(3)?;
            let code = p.cid(0)?;
            let method: u64 = p.decode(1, "abi.MethodNum")?;
            let params: Value = p.decode(2, "json.RawMessage")?;
            let chain = shared.chain();
            let codes = code_cids(&chain, MAX_NETWORK_VERSION)?;
            if !codes.values().any(|c| *c == to_json(&code)) {
                return Err(Failure::method(format!("unknown actor code {}", code.root)));
            }
            if method == 0 {
                return Err(Failure::method("method 0 (send) takes no parameters"));
            }
            Ok(to_json(b64(
                &serde_json::to_vec(&params).unwrap_or_default()
            )))
        })(),
        "StateGetBeaconEntry" => (|| {
            p.expect(1)?;
            let epoch = p.epoch(0)?;
            let chain = shared.chain();
            let head = chain.head().tipset.height;
            if epoch > head {
                return Err(Failure::method(format!(
                    "waiting for beacon entry at epoch {epoch}: the chain is at {head}: context deadline exceeded"
                )));
            }
            if epoch < 0 {
                return Err(Failure::method(
                    "cannot get beacon entry for a negative epoch",
                ));
            }
            let entry = chain
                .tipset_at(epoch)
                .and_then(|t| t.blocks.first())
                .and_then(|b| b.beacon_entries.first().cloned());
            Ok(match entry {
                Some(e) => to_json(e),
                None => json!({
                    "Round": 1_000_000 + epoch,
                    "Data": b64(&digest("beacon", &[&epoch.to_le_bytes()])),
                }),
            })
        })(),
        "StateGetNetworkParams" => (|| {
            p.expect(0)?;
            let chain = shared.chain();
            let genesis = chain.genesis().blocks.first().map_or(0, |b| b.timestamp);
            Ok(json!({
                "NetworkName": super::super::NETWORK_NAME,
                "BlockDelaySecs": shared.block_time.as_secs(),
                "ConsensusMinerMinPower": "2048",
                "PreCommitChallengeDelay": 10,
                "ForkUpgradeParams": {
                    "UpgradeSmokeHeight": -1, "UpgradeBreezeHeight": -2, "UpgradeIgnitionHeight": -3,
                    "UpgradeLiftoffHeight": -5, "UpgradeAssemblyHeight": -6, "UpgradeRefuelHeight": -7,
                    "UpgradeTapeHeight": -8, "UpgradeKumquatHeight": -9, "BreezeGasTampingDuration": 0,
                    "UpgradeCalicoHeight": -10, "UpgradePersianHeight": -11, "UpgradeOrangeHeight": -12,
                    "UpgradeClausHeight": -13, "UpgradeTrustHeight": -14, "UpgradeNorwegianHeight": -15,
                    "UpgradeTurboHeight": -16, "UpgradeHyperdriveHeight": -17, "UpgradeChocolateHeight": -18,
                    "UpgradeOhSnapHeight": -19, "UpgradeSkyrHeight": -20, "UpgradeSharkHeight": -21,
                    "UpgradeHyggeHeight": -22, "UpgradeLightningHeight": -23, "UpgradeThunderHeight": -24,
                    "UpgradeWatermelonHeight": -25, "UpgradeDragonHeight": -26, "UpgradePhoenixHeight": -27,
                    "UpgradeWaffleHeight": -28, "UpgradeTuktukHeight": -29, "UpgradeTeepHeight": -30,
                    "UpgradeTockHeight": -31, "UpgradeGoldenWeekHeight": -32,
                },
                "Eip155ChainID": 31415926,
                "GenesisTimestamp": genesis,
            }))
        })(),
        "StateGetRandomnessFromTickets" | "StateGetRandomnessFromBeacon" => (|| {
            p.expect(4)?;
            let personalization: i64 = p.decode(0, "crypto.DomainSeparationTag")?;
            let epoch = p.epoch(1)?;
            let entropy: Option<String> = p.decode(2, "[]byte")?;
            let entropy = base64::engine::general_purpose::STANDARD
                .decode(entropy.unwrap_or_default())
                .map_err(|e| p.bad("[]byte", e))?;
            let key = p.tsk(3)?;
            let chain = shared.chain();
            let key_bytes = randomness_epoch(&chain, epoch, &key)?;
            Ok(randomness(
                name,
                personalization,
                epoch,
                &entropy,
                &key_bytes,
            ))
        })(),
        "StateGetRandomnessDigestFromTickets" | "StateGetRandomnessDigestFromBeacon" => (|| {
            p.expect(2)?;
            let epoch = p.epoch(0)?;
            let key = p.tsk(1)?;
            let chain = shared.chain();
            let key_bytes = randomness_epoch(&chain, epoch, &key)?;
            Ok(randomness(name, 0, epoch, &[], &key_bytes))
        })(
        ),
        "StateListMessages" => (|| {
            p.expect(3)?;
            #[derive(Deserialize)]
            #[serde(rename_all = "PascalCase")]
            struct Match {
                #[serde(default)]
                to: Option<String>,
                #[serde(default)]
                from: Option<String>,
            }
            let filter: Option<Match> = p.decode(0, "*api.MessageMatch")?;
            let key = p.tsk(1)?;
            let lowest = p.epoch(2)?;
            let filter = filter.unwrap_or(Match {
                to: None,
                from: None,
            });
            if filter.to.is_none() && filter.from.is_none() {
                return Err(Failure::method(
                    "must specify at least To or From in message filter",
                ));
            }
            let chain = shared.chain();
            let top = tipset(&chain, &key)?.height;
            let resolve = |a: &Option<String>| -> Result<Option<String>, Failure> {
                match a {
                    None => Ok(None),
                    Some(text) => {
                        let addr =
                            Address::parse(text).map_err(|e| p.bad("*api.MessageMatch", e))?;
                        chain.lookup_id(&addr, &[]).map(Some).map_err(failure)
                    }
                }
            };
            let to = resolve(&filter.to)?;
            let from = resolve(&filter.from)?;
            let id_of = |text: &str| {
                Address::parse(text)
                    .ok()
                    .and_then(|a| chain.lookup_id(&a, &[]).ok())
            };
            let mut out = Vec::new();
            for h in (lowest.max(0)..=top).rev() {
                let Some(ts) = chain.tipset_at(h) else {
                    continue;
                };
                let messages = chain.tipset_messages(&ts.cids).map_err(failure)?;
                for m in messages.as_array().into_iter().flatten() {
                    let msg = &m["Message"];
                    let matches = |want: &Option<String>, field: &str| match want {
                        None => true,
                        Some(id) => msg[field].as_str().and_then(id_of).as_ref() == Some(id),
                    };
                    if matches(&to, "To") && matches(&from, "From") {
                        out.push(m["Cid"].clone());
                    }
                }
            }
            Ok(Value::Array(out))
        })(),
        "StateReadState" => (|| {
            p.expect(2)?;
            let addr = p.address(0)?;
            let key = p.tsk(1)?;
            let chain = shared.chain();
            let actor = chain.actor(&addr, &key).map_err(failure)?;
            let id = chain.lookup_id(&addr, &key).map_err(failure)?;
            let account = chain
                .accounts()
                .into_iter()
                .find(|a| a.id == id)
                .ok_or_else(|| Failure::method(format!("actor not found: {addr}")))?;
            let state = match account.kind {
                super::super::SimActorKind::Miner => json!({
                    "Info": cid("miner info", &[id.as_bytes()]),
                    "PreCommitDeposits": "0",
                    "LockedFunds": "0",
                    "VestingFunds": null,
                    "FeeDebt": "0",
                    "InitialPledge": "0",
                    "PreCommittedSectors": cid("precommits", &[id.as_bytes()]),
                    "Sectors": cid("sectors", &[id.as_bytes()]),
                    "ProvingPeriodStart": 0,
                    "CurrentDeadline": 0,
                    "Deadlines": cid("deadlines", &[id.as_bytes()]),
                    "EarlyTerminations": [],
                    "DeadlineCronActive": true,
                }),
                _ => json!({"Address": account.robust}),
            };
            Ok(json!({"Balance": actor.balance, "Code": actor.code, "State": state}))
        })(),
        "StateReplay" => (|| {
            p.expect(2)?;
            let key = p.tsk(0)?;
            let msg_cid = p.cid(1)?;
            let chain = shared.chain();
            tipset(&chain, &key)?;
            let lookup = chain
                .search_message(&key, &msg_cid, -1)
                .map_err(failure)?
                .ok_or_else(|| {
                    Failure::method(format!(
                        "replay: message {} not found in the chain",
                        msg_cid.root
                    ))
                })?;
            let message = chain.message(&msg_cid).map_err(failure)?.clone();
            let mut result = invoc_result(
                &message,
                &lookup.message,
                lookup.receipt.exit_code,
                lookup.receipt.gas_used,
            );
            result["MsgRct"] = to_json(&lookup.receipt);
            Ok(result)
        })(),
        "StateWaitMsg" => (|| {
            p.expect(4)?;
            let msg_cid = p.cid(0)?;
            let confidence: u64 = p.decode(1, "uint64")?;
            let limit = p.epoch(2)?;
            let _allow_replaced: bool = p.decode(3, "bool")?;
            let chain = shared.chain();
            let head = chain.head().tipset.height;
            match chain
                .search_message(&[], &msg_cid, limit)
                .map_err(failure)?
            {
                Some(lookup) if head - lookup.height >= confidence as i64 => Ok(to_json(lookup)),
                // Lotus keeps waiting for the message (or its confirmations) until the call's context ends; the
                // simulated node answers at once as Lotus does then.
                _ => Err(Failure::method(format!(
                    "waiting for message {}: context deadline exceeded",
                    msg_cid.root
                ))),
            }
        })(),
        "GetActorEventsRaw" => (|| {
            p.expect(1)?;
            let filter: Option<EventFilter> = p.decode(0, "*types.ActorEventFilter")?;
            let filter = filter.unwrap_or(EventFilter {
                addresses: None,
                fields: None,
                from_height: None,
                to_height: None,
                tipset_key: None,
            });
            let chain = shared.chain();
            events(&chain, filter)
        })(),
        "FilecoinAddressToEthAddress" => (|| {
            if p.values.is_empty() || p.values.len() > 2 {
                p.expect(1)?;
            }
            let addr = p.address(0)?;
            let chain = shared.chain();
            let id = chain.lookup_id(&addr, &[]).map_err(failure)?;
            let id = Address::parse(&id)
                .ok()
                .and_then(|a| a.id)
                .ok_or_else(|| Failure::method(format!("failed to resolve {addr} to an ID")))?;
            Ok(to_json(masked_eth(id)))
        })(),
        _ => return None,
    };
    Some(result)
}

fn tipset_key_at(chain: &Chain, height: i64) -> Vec<Cid> {
    chain
        .tipset_at(height)
        .map(|t| t.cids.clone())
        .unwrap_or_default()
}
