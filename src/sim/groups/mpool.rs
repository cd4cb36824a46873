//! Simulated message pool and gas estimation methods: pushed messages wait in the pool and the next tipset includes
//! those whose nonces follow on from their senders'.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::super::rpc::{Failure, Params};
use super::super::Shared;
use super::{lock, to_json};
use crate::lotus::address::Address;
use crate::lotus::types::{BigInt, Message, SignedMessage};

/// The pool's configuration, as `MpoolGetConfig` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct Config {
    pub priority_addrs: Option<Vec<String>>,
    pub size_limit_high: i64,
    pub size_limit_low: i64,
    pub replace_by_fee_ratio: f64,
    /// Nanoseconds.
    pub prune_cooldown: i64,
    pub gas_limit_overestimation: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            priority_addrs: Some(Vec::new()),
            size_limit_high: 30_000,
            size_limit_low: 20_000,
            replace_by_fee_ratio: 1.25,
            prune_cooldown: 60_000_000_000,
            gas_limit_overestimation: 1.25,
        }
    }
}

/// What this group keeps between calls (the pool itself lives with the chain, which mines it).
#[derive(Default)]
pub(crate) struct State {
    config: Config,
}

/// The smallest gas limit the simulated node accepts for a message.
const MIN_GAS: i64 = 100_000;

/// A message to check, as `MpoolCheckMessages` takes it.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Prototype {
    message: Message,
    #[serde(default)]
    valid_nonce: bool,
}

fn big(n: u128) -> BigInt {
    BigInt(n.to_string())
}

fn atto(b: &BigInt) -> u128 {
    b.0.parse().unwrap_or(0)
}

/// The gas a message uses, estimated: a transfer costs about a million, each method and each byte of parameters
/// more.
fn gas_limit(shared: &Shared, message: &Message) -> Result<i64, String> {
    let from = Address::parse(&message.from).map_err(|e| format!("invalid from address: {e}"))?;
    Address::parse(&message.to).map_err(|e| format!("invalid to address: {e}"))?;
    shared.chain().actor(&from, &[])?;
    let params = message.params.as_deref().map_or(0, |p| p.len() as i64);
    Ok(1_000_000 + message.method.min(1_000) as i64 * 250_000 + params * 1_000)
}

/// The premium that gets a message included within `blocks` blocks.
fn gas_premium(blocks: u64) -> u128 {
    50_000 + 100_000 / blocks.max(1) as u128
}

/// The fee cap that keeps a message includable after `blocks` blocks of rising base fee: the base fee grown by 1/8
/// per block, plus the premium.
fn fee_cap(shared: &Shared, premium: u128, blocks: i64) -> u128 {
    let mut fee = shared.chain().base_fee();
    for _ in 0..blocks.clamp(0, 100) {
        fee = fee + fee.div_ceil(8);
    }
    fee + premium
}

/// Lotus's message checks of one message: validity (3), minimum gas (4), base fee (6), nonce (10, when asked
/// for) and balance (12).
fn checks(shared: &Shared, message: &Message, valid_nonce: bool) -> Vec<Value> {
    let chain = shared.chain();
    let cid = chain.message_cid(message);
    let status = |code: u8, ok: bool, err: String, hint: Value| json!({"Cid": cid, "Code": code, "OK": ok, "Err": err, "Hint": hint});
    let mut out = Vec::new();
    let from = Address::parse(&message.from);
    let valid = from
        .as_ref()
        .map(|_| ())
        .map_err(|e| format!("invalid from address: {e}"))
        .and_then(|_| {
            Address::parse(&message.to)
                .map(|_| ())
                .map_err(|e| format!("invalid to address: {e}"))
        })
        .and_then(|_| {
            if message.gas_limit <= 0 {
                Err("'GasLimit' field cannot be less than or equal to 0".to_string())
            } else {
                Ok(())
            }
        });
    out.push(match valid {
        Ok(()) => status(3, true, String::new(), json!({})),
        Err(e) => status(3, false, e, json!({})),
    });
    let enough_gas = message.gas_limit >= MIN_GAS;
    out.push(status(
        4,
        enough_gas,
        if enough_gas {
            String::new()
        } else {
            "not enough gas".into()
        },
        json!({"MinGas": MIN_GAS}),
    ));
    let base_fee = chain.base_fee();
    let cap = atto(&message.gas_fee_cap);
    let covers = cap >= base_fee;
    out.push(status(
        6,
        covers,
        if covers {
            String::new()
        } else {
            "GasFeeCap less than base fee".into()
        },
        json!({"GasFeeCap": cap.to_string(), "BaseFee": base_fee.to_string()}),
    ));
    let actor = from.as_ref().ok().and_then(|a| chain.actor(a, &[]).ok());
    if valid_nonce {
        let expected = actor.as_ref().map_or(0, |a| a.nonce);
        let ok = message.nonce >= expected;
        out.push(status(
            10,
            ok,
            if ok {
                String::new()
            } else {
                "message nonce too low".into()
            },
            json!({"Nonce": expected}),
        ));
    }
    let balance = actor.as_ref().map_or(0, |a| atto(&a.balance));
    let required = atto(&message.value) + cap * message.gas_limit.max(0) as u128;
    let ok = balance >= required;
    out.push(status(
        12,
        ok,
        if ok {
            String::new()
        } else {
            "insufficient balance".into()
        },
        json!({"Balance": balance.to_string(), "RequiredFunds": required.to_string()}),
    ));
    out
}

fn push_message(shared: &Shared, message: Message) -> Result<SignedMessage, Failure> {
    super::wallet::holds(shared, &message.from)
        .map_err(|e| Failure::method(format!("mpool push: {e}")))?;
    shared.push_message(message).map_err(Failure::method)
}

fn push_signed(shared: &Shared, signed: SignedMessage, local: bool) -> Result<Value, Failure> {
    let ratio = lock(&shared.groups.mpool).config.replace_by_fee_ratio;
    shared
        .chain_mut()
        .push_signed(signed, local, ratio)
        .map(to_json)
        .map_err(Failure::method)
}

pub(super) fn call(shared: &Shared, name: &str, p: &Params) -> Option<Result<Value, Failure>> {
    let result = match name {
        "MpoolPushMessage" => (|| {
            p.expect(2)?;
            let message: Message = p.decode(0, "*types.Message")?;
            let _spec: Option<Value> = p.decode(1, "*api.MessageSendSpec")?;
            push_message(shared, message).map(to_json)
        })(),
        "MpoolBatchPushMessage" => (|| {
            p.expect(2)?;
            let messages: Vec<Message> = p.decode(0, "[]*types.Message")?;
            let _spec: Option<Value> = p.decode(1, "*api.MessageSendSpec")?;
            let mut out = Vec::new();
            for message in messages {
                out.push(push_message(shared, message)?);
            }
            Ok(to_json(out))
        })(),
        "MpoolPush" | "MpoolPushUntrusted" => (|| {
            p.expect(1)?;
            let signed: SignedMessage = p.decode(0, "*types.SignedMessage")?;
            push_signed(shared, signed, name == "MpoolPush")
        })(),
        "MpoolBatchPush" | "MpoolBatchPushUntrusted" => (|| {
            p.expect(1)?;
            let signed: Vec<SignedMessage> = p.decode(0, "[]*types.SignedMessage")?;
            let mut out = Vec::new();
            for s in signed {
                out.push(push_signed(shared, s, name == "MpoolBatchPush")?);
            }
            Ok(Value::Array(out))
        })(),
        "MpoolPending" => (|| {
            p.expect(1)?;
            let key = p.tsk(0)?;
            let chain = shared.chain();
            chain.tipset(&key).map_err(Failure::method)?;
            Ok(to_json(chain.pending()))
        })(),
        "MpoolSelect" => (|| {
            p.expect(2)?;
            let key = p.tsk(0)?;
            let _quality: f64 = p.decode(1, "float64")?;
            let chain = shared.chain();
            chain.tipset(&key).map_err(Failure::method)?;
            Ok(to_json(chain.selectable()))
        })(),
        "MpoolGetNonce" => (|| {
            p.expect(1)?;
            let addr = p.address(0)?;
            shared
                .chain()
                .nonce_for(&addr)
                .map(to_json)
                .map_err(Failure::method)
        })(),
        "MpoolClear" => (|| {
            p.expect(1)?;
            let local: bool = p.decode(0, "bool")?;
            shared.chain_mut().clear_pending(local);
            Ok(Value::Null)
        })(),
        "MpoolGetConfig" => (|| {
            p.expect(0)?;
            Ok(to_json(&lock(&shared.groups.mpool).config))
        })(),
        "MpoolSetConfig" => (|| {
            p.expect(1)?;
            let config: Config = p.decode(0, "*types.MpoolConfig")?;
            if config.replace_by_fee_ratio < 1.1 {
                return Err(Failure::method(format!(
                    "'ReplaceByFeeRatio' is less than required 1.1: {}",
                    config.replace_by_fee_ratio
                )));
            }
            if config.gas_limit_overestimation < 1.0 {
                return Err(Failure::method(format!(
                    "'GasLimitOverestimation' cannot be less than 1: {}",
                    config.gas_limit_overestimation
                )));
            }
            lock(&shared.groups.mpool).config = config;
            Ok(Value::Null)
        })(),
        "MpoolCheckMessages" => (|| {
            p.expect(1)?;
            let protos: Vec<Prototype> = p.decode(0, "[]*api.MessagePrototype")?;
            Ok(to_json(
                protos
                    .iter()
                    .map(|m| checks(shared, &m.message, m.valid_nonce))
                    .collect::<Vec<_>>(),
            ))
        })(),
        "MpoolCheckReplaceMessages" => (|| {
            p.expect(1)?;
            let messages: Vec<Message> = p.decode(0, "[]*types.Message")?;
            Ok(to_json(
                messages
                    .iter()
                    .map(|m| checks(shared, m, true))
                    .collect::<Vec<_>>(),
            ))
        })(),
        "MpoolCheckPendingMessages" => (|| {
            p.expect(1)?;
            let addr = p.address(0)?;
            let pending = shared
                .chain()
                .pending_from(&addr)
                .map_err(Failure::method)?;
            Ok(to_json(
                pending
                    .iter()
                    .map(|m| checks(shared, &m.message, true))
                    .collect::<Vec<_>>(),
            ))
        })(),
        "GasEstimateGasLimit" => (|| {
            p.expect(2)?;
            let message: Message = p.decode(0, "*types.Message")?;
            let key = p.tsk(1)?;
            shared.chain().tipset(&key).map_err(Failure::method)?;
            gas_limit(shared, &message)
                .map(to_json)
                .map_err(Failure::method)
        })(),
        "GasEstimateGasPremium" => (|| {
            p.expect(4)?;
            let blocks: u64 = p.decode(0, "uint64")?;
            let sender = p.address(1)?;
            let _limit: i64 = p.decode(2, "int64")?;
            let key = p.tsk(3)?;
            let chain = shared.chain();
            chain.tipset(&key).map_err(Failure::method)?;
            chain.actor(&sender, &[]).map_err(Failure::method)?;
            Ok(to_json(big(gas_premium(blocks))))
        })(),
        "GasEstimateFeeCap" => (|| {
            p.expect(3)?;
            let message: Message = p.decode(0, "*types.Message")?;
            let blocks: i64 = p.decode(1, "int64")?;
            let key = p.tsk(2)?;
            shared.chain().tipset(&key).map_err(Failure::method)?;
            Ok(to_json(big(fee_cap(
                shared,
                atto(&message.gas_premium),
                blocks,
            ))))
        })(),
        "GasEstimateMessageGas" => (|| {
            p.expect(3)?;
            let mut message: Message = p.decode(0, "*types.Message")?;
            #[derive(Deserialize, Default)]
            #[serde(rename_all = "PascalCase")]
            struct Spec {
                #[serde(default)]
                max_fee: Option<BigInt>,
                #[serde(default)]
                maximize_fee_cap: bool,
            }
            let spec: Option<Spec> = p.decode(1, "*api.MessageSendSpec")?;
            let spec = spec.unwrap_or_default();
            let key = p.tsk(2)?;
            shared.chain().tipset(&key).map_err(Failure::method)?;
            if message.gas_limit <= 0 {
                let over = lock(&shared.groups.mpool).config.gas_limit_overestimation;
                let estimate = gas_limit(shared, &message).map_err(Failure::method)?;
                message.gas_limit = (estimate as f64 * over) as i64;
            }
            if atto(&message.gas_premium) == 0 {
                message.gas_premium = big(gas_premium(10));
            }
            let max_fee = spec.max_fee.as_ref().map_or(0, atto);
            if atto(&message.gas_fee_cap) == 0 || spec.maximize_fee_cap {
                let mut cap = fee_cap(shared, atto(&message.gas_premium), 20);
                if max_fee > 0 {
                    let most = max_fee / message.gas_limit as u128;
                    if spec.maximize_fee_cap || cap > most {
                        cap = most;
                    }
                }
                message.gas_fee_cap = big(cap);
                if atto(&message.gas_premium) > cap {
                    message.gas_premium = big(cap);
                }
            }
            Ok(to_json(message))
        })(),
        _ => return None,
    };
    Some(result)
}
