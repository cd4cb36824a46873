//! Simulated payment channel methods: the node's payment channel manager, with its channels, lanes and vouchers.
//!
//! At start the node tracks two channels: `t01100`, outbound from t0100 to t0101 holding 10 FIL, with a voucher
//! for 1 FIL on lane 0; and `t01101`, inbound from t0103 to t0100 holding 5 FIL, with a received voucher for
//! 2 FIL on lane 0; and `t01102`, outbound from t0104 to t0105 holding 3 FIL, settling. New channels get the next
//! IDs. Messages (create, fund, settle, collect, submit) go to the
//! message pool; the sim treats the channel as changed at once (a new channel's address is known as soon as its
//! message is pushed, a settle delay of zero).

use std::collections::BTreeMap;

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::rpc::{Failure, Params};
use super::super::Shared;
use super::{lock, to_json};
use crate::lotus::address::{cid_from_digest, Address};
use crate::lotus::amount::Amount;
use crate::lotus::paych::{SignedVoucher, VoucherSpec};
use crate::lotus::types::{Cid, Message, Signature};
use crate::sim::SimActorKind;

/// The first ID of a payment channel actor.
const FIRST_CHANNEL_ID: u64 = 1100;
const ATTO_PER_FIL: u128 = 1_000_000_000_000_000_000;
/// The payment channel actor's methods.
const METHOD_UPDATE_CHANNEL_STATE: u64 = 2;
const METHOD_SETTLE: u64 = 3;
const METHOD_COLLECT: u64 = 4;
/// The init actor's `Exec`, which creates a channel.
const METHOD_EXEC: u64 = 2;

struct Channel {
    addr: String,
    from: String,
    to: String,
    outbound: bool,
    /// What the channel holds.
    amount: u128,
    /// The messages that created or funded it.
    sentinels: Vec<Cid>,
    next_lane: u64,
    vouchers: Vec<SignedVoucher>,
    /// The redeemed (submitted) nonce and amount of each lane.
    redeemed: BTreeMap<u64, (u64, u128)>,
    settling: bool,
    collected: bool,
}

impl Channel {
    /// The node's own address on the channel.
    fn control(&self) -> &str {
        if self.outbound {
            &self.from
        } else {
            &self.to
        }
    }

    /// The highest amount of each lane among the vouchers kept, with `extra` counted in.
    fn lane_totals(&self, extra: Option<(u64, u128)>) -> u128 {
        let mut lanes: BTreeMap<u64, u128> = BTreeMap::new();
        for v in &self.vouchers {
            let e = lanes.entry(v.lane).or_default();
            *e = (*e).max(v.amount.atto());
        }
        for (lane, (_, amt)) in &self.redeemed {
            let e = lanes.entry(*lane).or_default();
            *e = (*e).max(*amt);
        }
        if let Some((lane, amt)) = extra {
            lanes.insert(lane, amt);
        }
        lanes.values().sum()
    }

    fn lane_best(&self, lane: u64) -> (u64, u128) {
        self.vouchers
            .iter()
            .filter(|v| v.lane == lane)
            .map(|v| (v.nonce, v.amount.atto()))
            .max()
            .unwrap_or((0, 0))
    }
}

/// What this group keeps between calls.
#[derive(Default)]
pub(crate) struct State {
    seeded: bool,
    channels: Vec<Channel>,
}

fn digest(tag: &str, parts: &[&str]) -> [u8; 32] {
    let mut state = blake2b_simd::Params::new().hash_length(32).to_state();
    state.update(tag.as_bytes());
    for p in parts {
        state.update(&(p.len() as u64).to_le_bytes());
        state.update(p.as_bytes());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(state.finalize().as_bytes());
    out
}

/// The signature the payer's simulated key gives a voucher: secp256k1 (65 bytes) for a `t1` key, BLS (96 bytes)
/// for a `t3` one.
fn sign(shared: &Shared, signer: &str, v: &SignedVoucher) -> Signature {
    let bls = shared
        .chain()
        .accounts()
        .into_iter()
        .find(|a| a.id == signer)
        .is_some_and(|a| a.kind == SimActorKind::BlsAccount);
    let fields = format!(
        "{}|{}|{}|{}|{}|{}|{}",
        v.channel_addr,
        v.lane,
        v.nonce,
        v.amount,
        v.time_lock_min,
        v.time_lock_max,
        v.min_settle_height
    );
    let mut bytes = Vec::new();
    let mut i = 0u32;
    let len = if bls { 96 } else { 65 };
    while bytes.len() < len {
        bytes.extend_from_slice(&digest(
            "voucher signature",
            &[signer, &fields, &i.to_string()],
        ));
        i += 1;
    }
    bytes.truncate(len);
    Signature {
        r#type: if bls { 2 } else { 1 },
        data: base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

fn voucher(shared: &Shared, ch: &Channel, lane: u64, nonce: u64, amount: u128) -> SignedVoucher {
    let mut v = SignedVoucher {
        channel_addr: ch.addr.clone(),
        time_lock_min: 0,
        time_lock_max: 0,
        secret_hash: None,
        extra: None,
        lane,
        nonce,
        amount: Amount(amount),
        min_settle_height: 0,
        merges: None,
        signature: None,
    };
    v.signature = Some(sign(shared, &ch.from, &v));
    v
}

fn not_tracked() -> Failure {
    Failure::method("getting channel info: channel not tracked")
}

fn actor_not_found(addr: &str) -> Failure {
    Failure::method(format!(
        "resolution lookup failed ({addr}): actor not found"
    ))
}

/// Resolves an address to its ID address on the chain.
fn resolve(shared: &Shared, addr: &Address) -> Result<String, Failure> {
    shared.chain().lookup_id(addr, &[]).map_err(Failure::method)
}

impl State {
    fn seed(&mut self, shared: &Shared) {
        if self.seeded {
            return;
        }
        self.seeded = true;
        for (id, from, to, outbound, fil, voucher_fil, settling) in [
            (FIRST_CHANNEL_ID, "t0100", "t0101", true, 10, 1, false),
            (FIRST_CHANNEL_ID + 1, "t0103", "t0100", false, 5, 2, false),
            (FIRST_CHANNEL_ID + 2, "t0104", "t0105", true, 3, 1, true),
        ] {
            let addr = Address::new_id('t', id).to_string();
            let mut ch = Channel {
                sentinels: vec![Cid::new(cid_from_digest(&digest(
                    "channel created",
                    &[&addr],
                )))],
                addr,
                from: from.into(),
                to: to.into(),
                outbound,
                amount: fil * ATTO_PER_FIL,
                next_lane: 1,
                vouchers: Vec::new(),
                redeemed: BTreeMap::new(),
                settling,
                collected: false,
            };
            let v = voucher(shared, &ch, 0, 1, voucher_fil * ATTO_PER_FIL);
            ch.vouchers.push(v);
            self.channels.push(ch);
        }
    }

    fn index(&self, shared: &Shared, addr: &Address) -> Option<usize> {
        let id = shared.chain().lookup_id(addr, &[]).ok();
        let text = addr.to_string();
        self.channels
            .iter()
            .position(|c| c.addr == text || Some(&c.addr) == id.as_ref())
    }

    fn tracked(&mut self, shared: &Shared, addr: &Address) -> Result<&mut Channel, Failure> {
        let i = self.index(shared, addr).ok_or_else(not_tracked)?;
        Ok(&mut self.channels[i])
    }

    /// The channel on chain: a voucher check reads the actor's state.
    fn on_chain(&mut self, shared: &Shared, addr: &Address) -> Result<&mut Channel, Failure> {
        let i = self
            .index(shared, addr)
            .ok_or_else(|| actor_not_found(&addr.to_string()))?;
        if self.channels[i].collected {
            return Err(actor_not_found(&addr.to_string()));
        }
        Ok(&mut self.channels[i])
    }

    /// The open outbound channel from `from` to `to`.
    fn active(&self, from: &str, to: &str) -> Option<usize> {
        self.channels
            .iter()
            .position(|c| c.outbound && c.from == from && c.to == to && !c.settling)
    }

    /// Creates a channel from `from` to `to` holding `amount`: pushes the init actor's `Exec`.
    fn create(
        &mut self,
        shared: &Shared,
        from: &str,
        to: &str,
        amount: u128,
    ) -> Result<usize, Failure> {
        let id = FIRST_CHANNEL_ID + self.channels.len() as u64;
        let cid = push(shared, from, "t01", amount, METHOD_EXEC)?;
        self.channels.push(Channel {
            addr: Address::new_id('t', id).to_string(),
            from: from.into(),
            to: to.into(),
            outbound: true,
            amount,
            sentinels: vec![cid],
            next_lane: 0,
            vouchers: Vec::new(),
            redeemed: BTreeMap::new(),
            settling: false,
            collected: false,
        });
        Ok(self.channels.len() - 1)
    }

    /// Adds `amount` to the channel from `from` to `to`, creating it when there is none; the message's CID.
    fn fund(
        &mut self,
        shared: &Shared,
        from: &str,
        to: &str,
        amount: u128,
    ) -> Result<(usize, Option<Cid>), Failure> {
        match self.active(from, to) {
            Some(i) if amount == 0 => Ok((i, None)),
            Some(i) => {
                let addr = self.channels[i].addr.clone();
                let cid = push(shared, from, &addr, amount, 0)?;
                let ch = &mut self.channels[i];
                ch.amount += amount;
                ch.sentinels.push(cid.clone());
                Ok((i, Some(cid)))
            }
            None => {
                let i = self.create(shared, from, to, amount)?;
                let cid = self.channels[i].sentinels[0].clone();
                Ok((i, Some(cid)))
            }
        }
    }

    /// Lotus's checks of a voucher against the channel.
    fn check_valid(&self, shared: &Shared, i: usize, v: &SignedVoucher) -> Result<(), Failure> {
        let ch = &self.channels[i];
        let addr = Address::parse(&v.channel_addr)
            .map_err(|e| Failure::method(format!("voucher has an invalid channel address: {e}")))?;
        let id = shared.chain().lookup_id(&addr, &[]).ok();
        if v.channel_addr != ch.addr && id.as_deref() != Some(ch.addr.as_str()) {
            return Err(Failure::method(format!(
                "voucher ChannelAddr doesn't match channel address, got {}, expected {}",
                v.channel_addr, ch.addr
            )));
        }
        let mut unsigned = v.clone();
        unsigned.signature = None;
        unsigned.channel_addr = ch.addr.clone();
        if v.signature.as_ref() != Some(&sign(shared, &ch.from, &unsigned)) {
            return Err(Failure::method(
                "failed to verify voucher signature: signature did not match",
            ));
        }
        if let Some((nonce, _)) = ch.redeemed.get(&v.lane) {
            if *nonce >= v.nonce {
                return Err(Failure::method("nonce too low"));
            }
        }
        let total = ch.lane_totals(Some((v.lane, v.amount.atto())));
        if total > ch.amount {
            return Err(Failure::method(format!(
                "not enough funds in channel to cover voucher - total voucher amount: {total}, actor balance: {}",
                ch.amount
            )));
        }
        Ok(())
    }

    fn spendable(&self, i: usize, v: &SignedVoucher, secret: &Option<String>) -> bool {
        let ch = &self.channels[i];
        if ch.collected {
            return false;
        }
        if v.secret_hash.as_deref().is_some_and(|h| !h.is_empty())
            && secret.as_deref().is_none_or(str::is_empty)
        {
            return false;
        }
        let redeemed = ch.redeemed.get(&v.lane).map_or(0, |(_, amt)| *amt);
        v.amount.atto() > redeemed
    }
}

/// Pushes a message from `from` and answers with the CID it has on chain.
fn push(shared: &Shared, from: &str, to: &str, value: u128, method: u64) -> Result<Cid, Failure> {
    let message = Message {
        version: 0,
        to: to.into(),
        from: from.into(),
        nonce: 0,
        value: crate::lotus::types::BigInt(value.to_string()),
        gas_limit: 0,
        gas_fee_cap: crate::lotus::types::BigInt("0".into()),
        gas_premium: crate::lotus::types::BigInt("0".into()),
        method,
        params: None,
        cid: None,
    };
    let signed = shared.push_message(message).map_err(Failure::method)?;
    Ok(signed
        .cid
        .or(signed.message.cid)
        .expect("a pushed message has a CID"))
}

fn big(n: u128) -> String {
    n.to_string()
}

/// `*api.PaychGetOpts`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct GetOpts {
    #[serde(default)]
    off_chain: bool,
}

fn amount(p: &Params, i: usize) -> Result<u128, Failure> {
    let a: Amount = p.decode(i, "types.BigInt")?;
    Ok(a.atto())
}

fn bytes(p: &Params, i: usize) -> Result<Option<String>, Failure> {
    let b: Option<String> = p.decode(i, "[]uint8")?;
    if let Some(text) = &b {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| p.bad("[]uint8", e))?;
    }
    Ok(b)
}

pub(super) fn call(shared: &Shared, name: &str, p: &Params) -> Option<Result<Value, Failure>> {
    if !name.starts_with("Paych") {
        return None;
    }
    let mut state = lock(&shared.groups.paych);
    state.seed(shared);
    let st = &mut *state;
    let result = match name {
        "PaychList" => (|| {
            if !p.values.is_empty() {
                p.expect(0)?;
            }
            Ok(to_json(
                st.channels
                    .iter()
                    .map(|c| c.addr.clone())
                    .collect::<Vec<_>>(),
            ))
        })(),
        "PaychGet" => (|| {
            p.expect(4)?;
            let from = resolve(shared, &p.address(0)?)?;
            let to = resolve(shared, &p.address(1)?)?;
            let amt = amount(p, 2)?;
            let opts: Option<GetOpts> = p.decode(3, "*api.PaychGetOpts")?;
            if opts.unwrap_or_default().off_chain {
                let i = st.active(&from, &to).ok_or_else(|| {
                    Failure::method("no channel found: off-chain requests need an existing channel")
                })?;
                let ch = &st.channels[i];
                let available = ch.amount.saturating_sub(ch.lane_totals(None));
                if amt > available {
                    return Err(Failure::method(format!(
                        "not enough funds available in channel {} to reserve {amt} off-chain (available {available})",
                        ch.addr
                    )));
                }
                return Ok(json!({"Channel": ch.addr, "WaitSentinel": null}));
            }
            let (i, cid) = st.fund(shared, &from, &to, amt)?;
            Ok(json!({"Channel": st.channels[i].addr, "WaitSentinel": cid}))
        })(),
        "PaychFund" => (|| {
            p.expect(3)?;
            let from = resolve(shared, &p.address(0)?)?;
            let to = resolve(shared, &p.address(1)?)?;
            let amt = amount(p, 2)?;
            let (i, cid) = st.fund(shared, &from, &to, amt)?;
            Ok(json!({"Channel": st.channels[i].addr, "WaitSentinel": cid}))
        })(),
        "PaychGetWaitReady" => (|| {
            p.expect(1)?;
            let cid = p.cid(0)?;
            st.channels
                .iter()
                .find(|c| c.sentinels.contains(&cid))
                .map(|c| json!(c.addr))
                .ok_or_else(|| {
                    Failure::method(format!(
                        "looking up channel for message {}: channel not tracked",
                        cid.root
                    ))
                })
        })(),
        "PaychAvailableFunds" => (|| {
            p.expect(1)?;
            let addr = p.address(0)?;
            let ch = st.tracked(shared, &addr)?;
            Ok(funds(Some(ch), &ch.from, &ch.to))
        })(),
        "PaychAvailableFundsByFromTo" => (|| {
            p.expect(2)?;
            let from = resolve(shared, &p.address(0)?)?;
            let to = resolve(shared, &p.address(1)?)?;
            let ch = st.active(&from, &to).map(|i| &st.channels[i]);
            Ok(funds(ch, &from, &to))
        })(),
        "PaychStatus" => (|| {
            p.expect(1)?;
            let ch = st.tracked(shared, &p.address(0)?)?;
            Ok(json!({"ControlAddr": ch.control(), "Direction": if ch.outbound { 2 } else { 1 }}))
        })(),
        "PaychAllocateLane" => (|| {
            p.expect(1)?;
            let ch = st.tracked(shared, &p.address(0)?)?;
            if !ch.outbound {
                return Err(Failure::method(format!(
                    "cannot allocate a lane on inbound channel {}",
                    ch.addr
                )));
            }
            let lane = ch.next_lane;
            ch.next_lane += 1;
            Ok(json!(lane))
        })(),
        "PaychNewPayment" => (|| {
            p.expect(3)?;
            let from = resolve(shared, &p.address(0)?)?;
            let to = resolve(shared, &p.address(1)?)?;
            let specs: Option<Vec<VoucherSpec>> = p.decode(2, "[]api.VoucherSpec")?;
            let specs = specs.unwrap_or_default();
            let total: u128 = specs.iter().map(|s| s.amount.atto()).sum();
            let needed = match st.active(&from, &to) {
                Some(i) => {
                    let ch = &st.channels[i];
                    (ch.lane_totals(None) + total).saturating_sub(ch.amount)
                }
                None => total,
            };
            let (i, cid) = st.fund(shared, &from, &to, needed)?;
            let mut vouchers = Vec::new();
            for s in &specs {
                let ch = &st.channels[i];
                let lane = ch.next_lane;
                let mut v = voucher(shared, ch, lane, 1, s.amount.atto());
                v.time_lock_min = s.time_lock_min;
                v.time_lock_max = s.time_lock_max;
                v.min_settle_height = s.min_settle;
                v.extra = s.extra.clone();
                v.signature = None;
                v.signature = Some(sign(shared, &ch.from, &v));
                let ch = &mut st.channels[i];
                ch.next_lane += 1;
                ch.vouchers.push(v.clone());
                vouchers.push(v);
            }
            Ok(json!({"Channel": st.channels[i].addr, "WaitSentinel": cid, "Vouchers": vouchers}))
        })(),
        "PaychSettle" => (|| {
            p.expect(1)?;
            let ch = st.tracked(shared, &p.address(0)?)?;
            if ch.settling {
                return Err(Failure::method(format!(
                    "channel {} is already settling",
                    ch.addr
                )));
            }
            let cid = push(shared, ch.control(), &ch.addr, 0, METHOD_SETTLE)?;
            ch.settling = true;
            Ok(to_json(cid))
        })(),
        "PaychCollect" => (|| {
            p.expect(1)?;
            let ch = st.tracked(shared, &p.address(0)?)?;
            if !ch.settling {
                return Err(Failure::method(format!(
                    "payment channel {} not settling or settled",
                    ch.addr
                )));
            }
            if ch.collected {
                return Err(Failure::method(format!(
                    "channel {} has already been collected",
                    ch.addr
                )));
            }
            let cid = push(shared, ch.control(), &ch.addr, 0, METHOD_COLLECT)?;
            ch.collected = true;
            Ok(to_json(cid))
        })(),
        "PaychVoucherCreate" => (|| {
            p.expect(3)?;
            let addr = p.address(0)?;
            let amt = amount(p, 1)?;
            let lane: u64 = p.decode(2, "uint64")?;
            let i = st.index(shared, &addr).ok_or_else(not_tracked)?;
            let ch = &st.channels[i];
            if !ch.outbound {
                return Err(Failure::method(format!(
                    "cannot create a voucher on inbound channel {}: only the payer signs vouchers",
                    ch.addr
                )));
            }
            if ch.settling {
                return Err(Failure::method(format!(
                    "cannot create a voucher: channel {} is settling",
                    ch.addr
                )));
            }
            let (nonce, best) = ch.lane_best(lane);
            if amt < best {
                return Err(Failure::method(format!(
                    "voucher amount {amt} is lower than amount {best} for voucher with lower nonce on lane {lane}"
                )));
            }
            let total = ch.lane_totals(Some((lane, amt)));
            if total > ch.amount {
                return Ok(json!({"Voucher": null, "Shortfall": big(total - ch.amount)}));
            }
            let v = voucher(shared, ch, lane, nonce + 1, amt);
            let ch = &mut st.channels[i];
            ch.next_lane = ch.next_lane.max(lane + 1);
            ch.vouchers.push(v.clone());
            Ok(json!({"Voucher": v, "Shortfall": "0"}))
        })(),
        "PaychVoucherList" => (|| {
            p.expect(1)?;
            let ch = st.tracked(shared, &p.address(0)?)?;
            Ok(to_json(&ch.vouchers))
        })(),
        "PaychVoucherCheckValid" => (|| {
            p.expect(2)?;
            let addr = p.address(0)?;
            let v: SignedVoucher = p.decode(1, "*paych.SignedVoucher")?;
            st.on_chain(shared, &addr)?;
            let i = st.index(shared, &addr).ok_or_else(not_tracked)?;
            st.check_valid(shared, i, &v)?;
            Ok(json!(null))
        })(),
        "PaychVoucherCheckSpendable" => (|| {
            p.expect(4)?;
            let addr = p.address(0)?;
            let v: SignedVoucher = p.decode(1, "*paych.SignedVoucher")?;
            let secret = bytes(p, 2)?;
            bytes(p, 3)?;
            st.on_chain(shared, &addr)?;
            let i = st.index(shared, &addr).ok_or_else(not_tracked)?;
            Ok(json!(
                st.check_valid(shared, i, &v).is_ok() && st.spendable(i, &v, &secret)
            ))
        })(),
        "PaychVoucherAdd" => (|| {
            p.expect(4)?;
            let addr = p.address(0)?;
            let v: SignedVoucher = p.decode(1, "*paych.SignedVoucher")?;
            bytes(p, 2)?;
            let min_delta = amount(p, 3)?;
            st.on_chain(shared, &addr)?;
            let i = st.index(shared, &addr).ok_or_else(not_tracked)?;
            let ch = &st.channels[i];
            if ch.vouchers.iter().any(|known| {
                known.lane == v.lane && known.nonce == v.nonce && known.amount == v.amount
            }) {
                return Ok(json!("0"));
            }
            st.check_valid(shared, i, &v)?;
            let ch = &st.channels[i];
            let (_, lane_amt) = ch.lane_best(v.lane);
            let amt = v.amount.atto();
            if amt < lane_amt {
                return Err(Failure::method(format!(
                    "voucher amount {amt} is lower than amount {lane_amt} for voucher with lower nonce"
                )));
            }
            let delta = amt - lane_amt;
            if delta < min_delta {
                return Err(Failure::method(format!(
                    "addVoucher: supplied token amount too low; minD={min_delta}, D={delta}; laneAmt={lane_amt}; v.Amt={amt}"
                )));
            }
            let mut stored = v.clone();
            stored.channel_addr = ch.addr.clone();
            let ch = &mut st.channels[i];
            ch.next_lane = ch.next_lane.max(v.lane + 1);
            ch.vouchers.push(stored);
            Ok(json!(big(delta)))
        })(),
        "PaychVoucherSubmit" => (|| {
            p.expect(4)?;
            let addr = p.address(0)?;
            let v: SignedVoucher = p.decode(1, "*paych.SignedVoucher")?;
            let secret = bytes(p, 2)?;
            bytes(p, 3)?;
            st.on_chain(shared, &addr)?;
            let i = st.index(shared, &addr).ok_or_else(not_tracked)?;
            st.check_valid(shared, i, &v)?;
            if !st.spendable(i, &v, &secret) {
                return Err(Failure::method(
                    "cannot submit voucher: it pays no more than its lane has redeemed",
                ));
            }
            let ch = &st.channels[i];
            let cid = push(
                shared,
                ch.control(),
                &ch.addr,
                0,
                METHOD_UPDATE_CHANNEL_STATE,
            )?;
            let ch = &mut st.channels[i];
            ch.redeemed.insert(v.lane, (v.nonce, v.amount.atto()));
            if !ch
                .vouchers
                .iter()
                .any(|k| k.lane == v.lane && k.nonce == v.nonce)
            {
                let mut stored = v.clone();
                stored.channel_addr = ch.addr.clone();
                ch.vouchers.push(stored);
            }
            Ok(to_json(cid))
        })(),
        _ => return None,
    };
    Some(result)
}

/// `api.ChannelAvailableFunds` of a channel, or of none.
fn funds(ch: Option<&Channel>, from: &str, to: &str) -> Value {
    let (amount, reserved) = ch.map_or((0, 0), |c| (c.amount, c.lane_totals(None)));
    json!({
        "Channel": ch.map(|c| c.addr.clone()),
        "From": from,
        "To": to,
        "ConfirmedAmt": big(amount),
        "PendingAmt": "0",
        "NonReservedAmt": big(amount.saturating_sub(reserved)),
        "PendingAvailableAmt": "0",
        "PendingWaitSentinel": null,
        "QueuedAmt": "0",
        "VoucherReedeemedAmt": big(reserved),
    })
}
