//! Simulated storage market and multisig methods.
//!
//! The market holds a few thousand deals between the miners and the accounts, derived from the deal ID, and an
//! escrow per participant that deposits, withdrawals and reservations change. The multisig wallets live here too:
//! two seeded ones (`t02000`, three signers, threshold 2, vesting, with pending transactions; `t02001`, two
//! signers, threshold 1) and any created through `MsigCreate`. The `Msig*` write methods apply their effect when
//! they build the message (the simulated chain executes nothing), so a later read sees it.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use serde_json::{json, Value};

use super::super::rpc::{Failure, Params};
use super::super::Shared;
use super::{lock, to_json};
use crate::lotus::address::{cid_from_digest, Address};
use crate::lotus::types::{BigInt, Cid, Message};

/// How many deals the market holds.
pub(crate) const DEALS: u64 = 3000;
const ATTO_PER_FIL: u128 = 1_000_000_000_000_000_000;
/// How long a deal lasts, in epochs.
const DEAL_DURATION: i64 = 518_400;
/// The market actor and the init actor.
const MARKET_ACTOR: &str = "t05";
const INIT_ACTOR: &str = "t01";
/// The multisig actor's methods.
const METHOD_PROPOSE: u64 = 2;
const METHOD_APPROVE: u64 = 3;
const METHOD_CANCEL: u64 = 4;
const METHOD_ADD_SIGNER: u64 = 5;
const METHOD_REMOVE_SIGNER: u64 = 6;
const METHOD_SWAP_SIGNER: u64 = 7;
/// The first ID of the multisig actors.
const FIRST_MSIG_ID: u64 = 2000;

/// What a pending multisig transaction does when it is approved.
#[derive(Clone, Debug, PartialEq)]
enum Action {
    /// Sends `Value` to `To`, calling `Method`.
    Send,
    Add {
        signer: String,
        increase: bool,
    },
    Remove {
        signer: String,
        decrease: bool,
    },
    Swap {
        old: String,
        new: String,
    },
}

#[derive(Clone, Debug)]
struct Txn {
    to: String,
    value: u128,
    method: u64,
    params: String,
    /// The proposer first.
    approved: Vec<String>,
    action: Action,
}

struct Msig {
    signers: Vec<String>,
    threshold: usize,
    balance: u128,
    initial: u128,
    start: i64,
    unlock: i64,
    next_txn: u64,
    pending: BTreeMap<u64, Txn>,
}

impl Msig {
    /// The balance still locked by the vesting schedule at `height`.
    fn locked(&self, height: i64) -> u128 {
        if self.unlock <= 0 {
            return 0;
        }
        let elapsed = (height - self.start).max(0);
        if elapsed >= self.unlock {
            return 0;
        }
        self.initial * (self.unlock - elapsed) as u128 / self.unlock as u128
    }
}

/// What this group keeps between calls.
pub(crate) struct State {
    /// Escrow changes per participant (ID address), signed, in attoFIL.
    escrow_delta: HashMap<String, i128>,
    /// Funds reserved per participant.
    reserved: HashMap<String, u128>,
    msigs: BTreeMap<u64, Msig>,
}

impl Default for State {
    fn default() -> Self {
        let mut msigs = BTreeMap::new();
        let fil = ATTO_PER_FIL;
        let mut pending = BTreeMap::new();
        let send = |to: &str, value: u128, approved: &str| Txn {
            to: to.into(),
            value,
            method: 0,
            params: String::new(),
            approved: vec![approved.into()],
            action: Action::Send,
        };
        pending.insert(0, send("t0105", 10 * fil, "t0100"));
        pending.insert(
            1,
            action_txn(
                "t02000",
                Action::Add {
                    signer: "t0103".into(),
                    increase: false,
                },
                "t0100",
            ),
        );
        pending.insert(
            2,
            action_txn(
                "t02000",
                Action::Swap {
                    old: "t0102".into(),
                    new: "t0104".into(),
                },
                "t0100",
            ),
        );
        pending.insert(3, send("t0106", 5 * fil, "t0101"));
        msigs.insert(
            FIRST_MSIG_ID,
            Msig {
                signers: vec!["t0100".into(), "t0101".into(), "t0102".into()],
                threshold: 2,
                balance: 1000 * fil,
                initial: 1000 * fil,
                start: 0,
                unlock: 10_000,
                next_txn: 4,
                pending,
            },
        );
        msigs.insert(
            FIRST_MSIG_ID + 1,
            Msig {
                signers: vec!["t0104".into(), "t0105".into()],
                threshold: 1,
                balance: 50 * fil,
                initial: 0,
                start: 0,
                unlock: 0,
                next_txn: 0,
                pending: BTreeMap::new(),
            },
        );
        State {
            escrow_delta: HashMap::new(),
            reserved: HashMap::new(),
            msigs,
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The transaction a signer-changing proposal makes.
fn action_txn(msig: &str, action: Action, proposer: &str) -> Txn {
    let (method, params) = match &action {
        Action::Send => (0, json!(null)),
        Action::Add { signer, increase } => (
            METHOD_ADD_SIGNER,
            json!({"Signer": signer, "Increase": increase}),
        ),
        Action::Remove { signer, decrease } => (
            METHOD_REMOVE_SIGNER,
            json!({"Signer": signer, "Decrease": decrease}),
        ),
        Action::Swap { old, new } => (METHOD_SWAP_SIGNER, json!({"From": old, "To": new})),
    };
    Txn {
        to: msig.into(),
        value: 0,
        method,
        params: b64(params.to_string().as_bytes()),
        approved: vec![proposer.into()],
        action,
    }
}

fn digest(tag: &str, n: u64) -> [u8; 32] {
    let hash = blake2b_simd::Params::new()
        .hash_length(32)
        .to_state()
        .update(tag.as_bytes())
        .update(&n.to_le_bytes())
        .finalize();
    let mut out = [0u8; 32];
    out.copy_from_slice(hash.as_bytes());
    out
}

fn cid(tag: &str, n: u64) -> Cid {
    Cid::new(cid_from_digest(&digest(tag, n)))
}

fn big(n: u128) -> BigInt {
    BigInt(n.to_string())
}

/// The miner and the client of a deal.
fn deal_parties(id: u64) -> (u64, u64) {
    (1000 + id % 3, 100 + (id / 3) % 10)
}

/// The piece CID and the proposal CID of every deal, computed once.
fn deal_cids(id: u64) -> &'static (Cid, Cid) {
    static CIDS: std::sync::OnceLock<Vec<(Cid, Cid)>> = std::sync::OnceLock::new();
    &CIDS.get_or_init(|| {
        (0..DEALS)
            .map(|id| (cid("piece", id), cid("deal proposal", id)))
            .collect()
    })[id as usize]
}

/// A deal as `StateMarketStorageDeal` gives it, in the state at `height`.
fn deal(id: u64, height: i64) -> Value {
    let (provider, client) = deal_parties(id);
    let (piece, proposal) = deal_cids(id);
    let start = 10 + (id % 400) as i64;
    let size: u64 = 1 << (20 + id % 8);
    let active = start <= height;
    json!({
        "Proposal": {
            "PieceCID": piece,
            "PieceSize": size,
            "VerifiedDeal": id.is_multiple_of(4),
            "Client": format!("t0{client}"),
            "Provider": format!("t0{provider}"),
            "Label": proposal.root,
            "StartEpoch": start,
            "EndEpoch": start + DEAL_DURATION,
            "StoragePricePerEpoch": ((id % 5 + 1) * 1000).to_string(),
            "ProviderCollateral": (size as u128 * 1_000_000).to_string(),
            "ClientCollateral": "0",
        },
        "State": {
            "SectorNumber": if active { id / 3 } else { 0 },
            "SectorStartEpoch": if active { start } else { -1 },
            "LastUpdatedEpoch": if active { start } else { -1 },
            "SlashEpoch": -1,
        }
    })
}

/// A participant's base escrow and locked funds.
fn base_balance(id: u64) -> (u128, u128) {
    let escrow = (id % 17 + 1) as u128 * 10 * ATTO_PER_FIL;
    (escrow, escrow / 4)
}

fn id_of(addr: &Address) -> Option<u64> {
    if addr.protocol == 0 {
        addr.id
    } else {
        None
    }
}

/// An account or miner of the chain, as its ID address.
fn chain_id(shared: &Shared, addr: &Address) -> Result<String, Failure> {
    shared.chain().lookup_id(addr, &[]).map_err(Failure::method)
}

/// The height of the tipset `key` (the head for `[]`).
fn height_of(shared: &Shared, key: &[Cid]) -> Result<i64, Failure> {
    let chain = shared.chain();
    chain
        .tipset(key)
        .map(|t| t.tipset.height)
        .map_err(Failure::method)
}

fn escrow_and_locked(state: &State, id: &str) -> (u128, u128) {
    let n: u64 = id[2..].parse().unwrap_or(0);
    let (escrow, locked) = base_balance(n);
    let delta = state.escrow_delta.get(id).copied().unwrap_or(0);
    let escrow = (escrow as i128 + delta).max(0) as u128;
    (escrow, locked.min(escrow))
}

fn amount(p: &Params, i: usize) -> Result<u128, Failure> {
    let text: String = p.decode(i, "big.Int")?;
    text.parse::<u128>()
        .map_err(|e| p.bad("big.Int", format!("invalid amount {text:?}: {e}")))
}

fn prototype(message: Message) -> Value {
    json!({ "Message": message, "ValidNonce": false })
}

fn message(from: &str, to: &str, value: u128, method: u64, params: &Value) -> Message {
    Message {
        version: 0,
        to: to.into(),
        from: from.into(),
        nonce: 0,
        value: big(value),
        gas_limit: 0,
        gas_fee_cap: big(0),
        gas_premium: big(0),
        method,
        params: Some(b64(params.to_string().as_bytes())),
        cid: None,
    }
}

pub(super) fn call(shared: &Shared, name: &str, p: &Params) -> Option<Result<Value, Failure>> {
    let result = match name {
        "StateMarketBalance" => (|| {
            p.expect(2)?;
            let addr = p.address(0)?;
            let key = p.tsk(1)?;
            height_of(shared, &key)?;
            let id = chain_id(shared, &addr)?;
            let state = lock(&shared.groups.market);
            let (escrow, locked) = escrow_and_locked(&state, &id);
            Ok(json!({"Escrow": big(escrow), "Locked": big(locked)}))
        })(),
        "StateMarketParticipants" => (|| {
            p.expect(1)?;
            let key = p.tsk(0)?;
            height_of(shared, &key)?;
            let ids: Vec<String> = shared
                .chain()
                .accounts()
                .into_iter()
                .map(|a| a.id)
                .collect();
            let state = lock(&shared.groups.market);
            let mut out = serde_json::Map::new();
            for id in ids {
                let (escrow, locked) = escrow_and_locked(&state, &id);
                out.insert(id, json!({"Escrow": big(escrow), "Locked": big(locked)}));
            }
            Ok(Value::Object(out))
        })(),
        "StateMarketDeals" => (|| {
            p.expect(1)?;
            let key = p.tsk(0)?;
            let height = height_of(shared, &key)?;
            let mut out = serde_json::Map::new();
            for id in 0..DEALS {
                out.insert(id.to_string(), deal(id, height));
            }
            Ok(Value::Object(out))
        })(),
        "StateMarketStorageDeal" => (|| {
            p.expect(2)?;
            let id: u64 = p.decode(0, "abi.DealID")?;
            let key = p.tsk(1)?;
            let height = height_of(shared, &key)?;
            if id >= DEALS {
                return Err(Failure::method(format!("deal {id} not found")));
            }
            Ok(deal(id, height))
        })(),
        "StateMarketProposalPending" => (|| {
            p.expect(2)?;
            let proposal = p.cid(0)?;
            let key = p.tsk(1)?;
            let height = height_of(shared, &key)?;
            // A proposal is pending until its deal is activated; the deal's label carries its proposal's CID.
            let pending =
                (0..DEALS).any(|id| deal_cids(id).1 == proposal && 10 + (id % 400) as i64 > height);
            Ok(json!(pending))
        })(),
        "StateDealProviderCollateralBounds" => (|| {
            p.expect(3)?;
            let size: u64 = p.decode(0, "abi.PaddedPieceSize")?;
            let verified: bool = p.decode(1, "bool")?;
            let key = p.tsk(2)?;
            height_of(shared, &key)?;
            let per_byte: u128 = if verified { 500_000 } else { 1_000_000 };
            let min = size as u128 * per_byte;
            Ok(json!({"Min": big(min), "Max": big(min * 1000)}))
        })(),
        "MarketAddBalance" | "MarketWithdraw" | "MarketReserveFunds" => (|| {
            p.expect(3)?;
            let wallet = p.address(0)?;
            let addr = p.address(1)?;
            let amt = amount(p, 2)?;
            let id = chain_id(shared, &addr)?;
            let wallet_id = chain_id(shared, &wallet)?;
            let mut state = lock(&shared.groups.market);
            let (escrow, locked) = escrow_and_locked(&state, &id);
            let (value, method, change): (u128, u64, i128) = match name {
                "MarketAddBalance" => (amt, 2, amt as i128),
                "MarketWithdraw" => {
                    let available = escrow - locked;
                    if amt > available {
                        return Err(Failure::method(format!(
                            "can't withdraw more funds than available; requested: {amt}; available: {available}"
                        )));
                    }
                    (0, 3, -(amt as i128))
                }
                _ => {
                    let reserved = state.reserved.get(&id).copied().unwrap_or(0) + amt;
                    let available = escrow - locked;
                    state.reserved.insert(id.clone(), reserved);
                    if reserved <= available {
                        return Ok(Value::Null);
                    }
                    let missing = reserved - available;
                    (missing, 2, missing as i128)
                }
            };
            let msg = message(
                &wallet_id,
                MARKET_ACTOR,
                value,
                method,
                &json!({"Address": id, "Amount": amt.to_string()}),
            );
            let signed = shared.push_message(msg).map_err(Failure::method)?;
            *state.escrow_delta.entry(id).or_insert(0) += change;
            Ok(to_json(signed.cid))
        })(),
        "MarketReleaseFunds" => (|| {
            p.expect(2)?;
            let addr = p.address(0)?;
            let amt = amount(p, 1)?;
            let id = chain_id(shared, &addr)?;
            let mut state = lock(&shared.groups.market);
            let reserved = state.reserved.get(&id).copied().unwrap_or(0);
            if amt > reserved {
                return Err(Failure::method(format!(
                    "not enough funds reserved to release {amt}: {reserved} reserved for {id}"
                )));
            }
            state.reserved.insert(id, reserved - amt);
            Ok(Value::Null)
        })(),
        "MarketGetReserved" => (|| {
            p.expect(1)?;
            let addr = p.address(0)?;
            let id = chain_id(shared, &addr)?;
            let state = lock(&shared.groups.market);
            Ok(to_json(big(state.reserved.get(&id).copied().unwrap_or(0))))
        })(),
        _ => return msig_call(shared, name, p),
    };
    Some(result)
}

/// Looks a multisig up by address.
fn msig_id(addr: &Address) -> Result<u64, Failure> {
    id_of(addr)
        .filter(|id| *id >= FIRST_MSIG_ID)
        .ok_or_else(|| {
            Failure::method(format!(
                "resolution lookup failed ({addr}): actor not found"
            ))
        })
}

fn get_msig<'a>(state: &'a mut State, addr: &Address) -> Result<(u64, &'a mut Msig), Failure> {
    let id = msig_id(addr)?;
    state.msigs.get_mut(&id).map(|m| (id, m)).ok_or_else(|| {
        Failure::method(format!(
            "resolution lookup failed ({addr}): actor not found"
        ))
    })
}

fn check_signer(m: &Msig, msig: u64, who: &str) -> Result<(), Failure> {
    if m.signers.iter().any(|s| s == who) {
        Ok(())
    } else {
        Err(Failure::method(format!(
            "{who} is not a signer of multisig t0{msig}"
        )))
    }
}

fn txn_not_found(msig: u64, txn: u64) -> Failure {
    Failure::method(format!("transaction {txn} not found in multisig t0{msig}"))
}

fn hash_mismatch() -> Failure {
    Failure::method("hash does not match proposal params (ensure requester is an ID address)")
}

/// Applies an approved transaction.
fn execute(m: &mut Msig, txn: &Txn) {
    match &txn.action {
        Action::Send => m.balance = m.balance.saturating_sub(txn.value),
        Action::Add { signer, increase } => {
            if !m.signers.contains(signer) {
                m.signers.push(signer.clone());
            }
            if *increase {
                m.threshold += 1;
            }
        }
        Action::Remove { signer, decrease } => {
            m.signers.retain(|s| s != signer);
            if *decrease && m.threshold > 1 {
                m.threshold -= 1;
            }
            m.threshold = m.threshold.min(m.signers.len().max(1));
        }
        Action::Swap { old, new } => {
            for s in m.signers.iter_mut() {
                if s == old {
                    *s = new.clone();
                }
            }
        }
    }
}

/// Adds a proposal; it executes at once when one approval is enough.
fn propose(m: &mut Msig, txn: Txn) -> u64 {
    let id = m.next_txn;
    m.next_txn += 1;
    if m.threshold <= 1 {
        execute(m, &txn);
    } else {
        m.pending.insert(id, txn);
    }
    id
}

/// Approves a transaction after `check` accepted it.
fn approve(
    m: &mut Msig,
    msig: u64,
    txn_id: u64,
    src: &str,
    check: impl Fn(&Txn) -> bool,
) -> Result<(), Failure> {
    check_signer(m, msig, src)?;
    let txn = m
        .pending
        .get_mut(&txn_id)
        .ok_or_else(|| txn_not_found(msig, txn_id))?;
    if !check(txn) {
        return Err(hash_mismatch());
    }
    if txn.approved.iter().any(|a| a == src) {
        return Err(Failure::method(format!(
            "{src} already approved this message"
        )));
    }
    txn.approved.push(src.to_string());
    if txn.approved.len() >= m.threshold {
        let txn = m.pending.remove(&txn_id).expect("present");
        execute(m, &txn);
    }
    Ok(())
}

fn cancel(
    m: &mut Msig,
    msig: u64,
    txn_id: u64,
    src: &str,
    check: impl Fn(&Txn) -> bool,
) -> Result<(), Failure> {
    check_signer(m, msig, src)?;
    let txn = m
        .pending
        .get(&txn_id)
        .ok_or_else(|| txn_not_found(msig, txn_id))?;
    if !check(txn) {
        return Err(hash_mismatch());
    }
    if txn.approved.first().map(String::as_str) != Some(src) {
        return Err(Failure::method(format!(
            "cannot cancel another signer's transaction: {src} did not propose transaction {txn_id}"
        )));
    }
    m.pending.remove(&txn_id);
    Ok(())
}

fn msig_call(shared: &Shared, name: &str, p: &Params) -> Option<Result<Value, Failure>> {
    let result = match name {
        "MsigGetAvailableBalance" | "MsigGetVestingSchedule" | "MsigGetPending" => (|| {
            p.expect(2)?;
            let addr = p.address(0)?;
            let key = p.tsk(1)?;
            let height = height_of(shared, &key)?;
            let mut state = lock(&shared.groups.market);
            let (_, m) = get_msig(&mut state, &addr)?;
            Ok(match name {
                "MsigGetAvailableBalance" => {
                    to_json(big(m.balance.saturating_sub(m.locked(height))))
                }
                "MsigGetVestingSchedule" => json!({
                    "InitialBalance": big(m.initial),
                    "StartEpoch": m.start,
                    "UnlockDuration": m.unlock,
                }),
                _ => Value::Array(
                    m.pending
                        .iter()
                        .map(|(id, t)| {
                            json!({
                                "ID": id,
                                "To": t.to,
                                "Value": big(t.value),
                                "Method": t.method,
                                "Params": t.params,
                                "Approved": t.approved,
                            })
                        })
                        .collect(),
                ),
            })
        })(),
        "MsigGetVested" => (|| {
            p.expect(3)?;
            let addr = p.address(0)?;
            let start = height_of(shared, &p.tsk(1)?)?;
            let end = height_of(shared, &p.tsk(2)?)?;
            if start > end {
                return Err(Failure::method(format!(
                    "start tipset {start} is after end tipset {end}"
                )));
            }
            let mut state = lock(&shared.groups.market);
            let (_, m) = get_msig(&mut state, &addr)?;
            Ok(to_json(big(m.locked(start) - m.locked(end))))
        })(),
        "MsigCreate" => (|| {
            p.expect(6)?;
            let required: u64 = p.decode(0, "uint64")?;
            let addrs: Vec<String> = p.decode(1, "[]address.Address")?;
            let duration = p.epoch(2)?;
            let value = amount(p, 3)?;
            let src = p.address(4)?;
            let _gas_price = amount(p, 5)?;
            let src = chain_id(shared, &src)?;
            let mut signers = Vec::new();
            for a in &addrs {
                let a = Address::parse(a).map_err(|e| p.bad("[]address.Address", e))?;
                let id = chain_id(shared, &a)?;
                if !signers.contains(&id) {
                    signers.push(id);
                }
            }
            if signers.is_empty() {
                return Err(Failure::method("must provide at least one signer"));
            }
            if required == 0 || required as usize > signers.len() {
                return Err(Failure::method(format!(
                    "must have at least 1 and at most {} required signers, not {required}",
                    signers.len()
                )));
            }
            if duration < 0 {
                return Err(Failure::method("negative unlock duration"));
            }
            let start = height_of(shared, &[])?;
            let mut state = lock(&shared.groups.market);
            let id = state
                .msigs
                .keys()
                .next_back()
                .map_or(FIRST_MSIG_ID, |k| k + 1);
            state.msigs.insert(
                id,
                Msig {
                    signers: signers.clone(),
                    threshold: required as usize,
                    balance: value,
                    initial: if duration > 0 { value } else { 0 },
                    start,
                    unlock: duration,
                    next_txn: 0,
                    pending: BTreeMap::new(),
                },
            );
            Ok(prototype(message(
                &src,
                INIT_ACTOR,
                value,
                2,
                &json!({"Signers": signers, "NumApprovalsThreshold": required, "UnlockDuration": duration}),
            )))
        })(),
        "MsigPropose" => (|| {
            p.expect(6)?;
            let addr = p.address(0)?;
            let to = p.address(1)?;
            let value = amount(p, 2)?;
            let src = chain_id(shared, &p.address(3)?)?;
            let method: u64 = p.decode(4, "uint64")?;
            let params: Option<String> = p.decode(5, "[]uint8")?;
            let mut state = lock(&shared.groups.market);
            let (id, m) = get_msig(&mut state, &addr)?;
            check_signer(m, id, &src)?;
            let txn = Txn {
                to: to.to_string(),
                value,
                method,
                params: params.unwrap_or_default(),
                approved: vec![src.clone()],
                action: Action::Send,
            };
            let txn_id = propose(m, txn);
            Ok(prototype(message(
                &src,
                &format!("t0{id}"),
                0,
                METHOD_PROPOSE,
                &json!({"To": to.to_string(), "Value": value.to_string(), "Method": method, "TxnID": txn_id}),
            )))
        })(),
        "MsigApprove" | "MsigCancel" => (|| {
            p.expect(3)?;
            let addr = p.address(0)?;
            let txn: u64 = p.decode(1, "uint64")?;
            let src = chain_id(shared, &p.address(2)?)?;
            let mut state = lock(&shared.groups.market);
            let (id, m) = get_msig(&mut state, &addr)?;
            let method = if name == "MsigApprove" {
                approve(m, id, txn, &src, |_| true)?;
                METHOD_APPROVE
            } else {
                cancel(m, id, txn, &src, |_| true)?;
                METHOD_CANCEL
            };
            Ok(prototype(message(
                &src,
                &format!("t0{id}"),
                0,
                method,
                &json!({"ID": txn}),
            )))
        })(),
        "MsigApproveTxnHash" | "MsigCancelTxnHash" => (|| {
            let approving = name == "MsigApproveTxnHash";
            p.expect(if approving { 8 } else { 7 })?;
            let addr = p.address(0)?;
            let txn: u64 = p.decode(1, "uint64")?;
            let mut i = 2;
            let proposer = if approving {
                i += 1;
                Some(chain_id(shared, &p.address(2)?)?)
            } else {
                None
            };
            let to = p.address(i)?.to_string();
            let value = amount(p, i + 1)?;
            let src = chain_id(shared, &p.address(i + 2)?)?;
            let method: u64 = p.decode(i + 3, "uint64")?;
            let params: Option<String> = p.decode(i + 4, "[]uint8")?;
            let params = params.unwrap_or_default();
            let check = |t: &Txn| {
                proposer
                    .as_ref()
                    .is_none_or(|pr| t.approved.first() == Some(pr))
                    && t.to == to
                    && t.value == value
                    && t.method == method
                    && t.params == params
            };
            let mut state = lock(&shared.groups.market);
            let (id, m) = get_msig(&mut state, &addr)?;
            let method = if approving {
                approve(m, id, txn, &src, check)?;
                METHOD_APPROVE
            } else {
                cancel(m, id, txn, &src, check)?;
                METHOD_CANCEL
            };
            Ok(prototype(message(
                &src,
                &format!("t0{id}"),
                0,
                method,
                &json!({"ID": txn, "ProposalHash": true}),
            )))
        })(),
        "MsigAddPropose" | "MsigRemoveSigner" | "MsigSwapPropose" => (|| {
            p.expect(4)?;
            let addr = p.address(0)?;
            let src = chain_id(shared, &p.address(1)?)?;
            let target = chain_id(shared, &p.address(2)?)?;
            let mut state = lock(&shared.groups.market);
            let (id, m) = get_msig(&mut state, &addr)?;
            check_signer(m, id, &src)?;
            let action = match name {
                "MsigAddPropose" => {
                    let increase: bool = p.decode(3, "bool")?;
                    if m.signers.contains(&target) {
                        return Err(Failure::method(format!(
                            "{target} is already a signer of multisig t0{id}"
                        )));
                    }
                    Action::Add {
                        signer: target,
                        increase,
                    }
                }
                "MsigRemoveSigner" => {
                    let decrease: bool = p.decode(3, "bool")?;
                    check_signer(m, id, &target)?;
                    Action::Remove {
                        signer: target,
                        decrease,
                    }
                }
                _ => {
                    let new = p.address(3)?;
                    let new = chain_id(shared, &new)?;
                    check_signer(m, id, &target)?;
                    if m.signers.contains(&new) {
                        return Err(Failure::method(format!(
                            "{new} is already a signer of multisig t0{id}"
                        )));
                    }
                    Action::Swap { old: target, new }
                }
            };
            let txn = action_txn(&format!("t0{id}"), action, &src);
            let (method, params) = (txn.method, txn.params.clone());
            let txn_id = propose(m, txn);
            Ok(prototype(message(
                &src,
                &format!("t0{id}"),
                0,
                METHOD_PROPOSE,
                &json!({"Method": method, "Params": params, "TxnID": txn_id}),
            )))
        })(),
        "MsigAddApprove" | "MsigSwapApprove" | "MsigAddCancel" | "MsigSwapCancel" => (|| {
            let approving = name.ends_with("Approve");
            let swap = name.starts_with("MsigSwap");
            p.expect(if approving { 6 } else { 5 })?;
            let addr = p.address(0)?;
            let src = chain_id(shared, &p.address(1)?)?;
            let txn: u64 = p.decode(2, "uint64")?;
            let mut i = 3;
            let proposer = if approving {
                i += 1;
                Some(chain_id(shared, &p.address(3)?)?)
            } else {
                None
            };
            let first = chain_id(shared, &p.address(i)?)?;
            let expected = if swap {
                let new = chain_id(shared, &p.address(i + 1)?)?;
                Action::Swap { old: first, new }
            } else {
                let increase: bool = p.decode(i + 1, "bool")?;
                Action::Add {
                    signer: first,
                    increase,
                }
            };
            let check = |t: &Txn| {
                proposer
                    .as_ref()
                    .is_none_or(|pr| t.approved.first() == Some(pr))
                    && t.action == expected
            };
            let mut state = lock(&shared.groups.market);
            let (id, m) = get_msig(&mut state, &addr)?;
            let method = if approving {
                approve(m, id, txn, &src, check)?;
                METHOD_APPROVE
            } else {
                cancel(m, id, txn, &src, check)?;
                METHOD_CANCEL
            };
            Ok(prototype(message(
                &src,
                &format!("t0{id}"),
                0,
                method,
                &json!({"ID": txn, "ProposalHash": true}),
            )))
        })(),
        _ => return None,
    };
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vesting_unlocks_linearly() {
        let state = State::default();
        let m = &state.msigs[&FIRST_MSIG_ID];
        assert_eq!(m.locked(0), 1000 * ATTO_PER_FIL);
        assert_eq!(m.locked(5000), 500 * ATTO_PER_FIL);
        assert_eq!(m.locked(10_000), 0);
    }

    #[test]
    fn deals_are_deterministic() {
        assert_eq!(deal(7, 100), deal(7, 100));
        assert_eq!(deal(7, 100)["Proposal"]["Provider"], "t01001");
        assert_eq!(deal(500, 5)["State"]["SectorStartEpoch"], -1);
    }

    #[test]
    fn approving_to_the_threshold_executes() {
        let mut state = State::default();
        let m = state.msigs.get_mut(&FIRST_MSIG_ID).unwrap();
        approve(m, FIRST_MSIG_ID, 1, "t0101", |_| true).unwrap();
        assert!(m.signers.contains(&"t0103".to_string()));
        assert!(!m.pending.contains_key(&1));
        assert!(approve(m, FIRST_MSIG_ID, 1, "t0101", |_| true).is_err());
    }
}
