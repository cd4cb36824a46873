//! Simulated Ethereum JSON-RPC methods: the few that clients such as ethers.js call to connect, and the filters
//! (`EthNewFilter`, `EthNewBlockFilter`, `EthNewPendingTransactionFilter`), which the node keeps until they are
//! uninstalled, whoever asks.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::super::rpc::{Failure, Params};
use super::super::Shared;
use super::lock;

/// The node's installed filters, by id, with the height each was installed at.
#[derive(Default)]
pub(crate) struct State {
    pub filters: HashMap<String, i64>,
    next: u64,
}

fn new_filter(shared: &Shared) -> Value {
    let height = shared.chain().head().tipset.height;
    let mut state = lock(&shared.groups.eth);
    state.next += 1;
    let id = format!("0x{:064x}", state.next);
    state.filters.insert(id.clone(), height);
    json!(id)
}

/// A new subscription id, from the same counter as filter ids (Lotus's are random 32-byte hashes).
pub(crate) fn subscription_id(shared: &Shared) -> String {
    let mut state = lock(&shared.groups.eth);
    state.next += 1;
    format!("0x{:064x}", state.next)
}

/// A 32-byte hash standing for a tipset key, as Lotus derives the Ethereum block hash from it.
fn block_hash(cids: &[crate::lotus::types::Cid]) -> String {
    let mut hasher = blake2b_simd::Params::new().hash_length(32).to_state();
    for cid in cids {
        hasher.update(cid.root.as_bytes());
    }
    format!("0x{}", hasher.finalize().to_hex())
}

/// The header an `eth_subscribe("newHeads")` notification carries for a tipset.
pub(crate) fn new_heads_header(tipset: &crate::lotus::types::TipSet) -> Value {
    let zero32 = format!("0x{}", "0".repeat(64));
    let parents = tipset
        .blocks
        .first()
        .map(|b| b.parents.clone())
        .unwrap_or_default();
    let timestamp = tipset.blocks.first().map(|b| b.timestamp).unwrap_or(0);
    json!({
        "hash": block_hash(&tipset.cids),
        "parentHash": block_hash(&parents),
        "sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
        "miner": "0x0000000000000000000000000000000000000000",
        "stateRoot": zero32,
        "transactionsRoot": zero32,
        "receiptsRoot": zero32,
        "logsBloom": format!("0x{}", "0".repeat(512)),
        "difficulty": "0x0",
        "totalDifficulty": "0x0",
        "number": format!("{:#x}", tipset.height),
        "gasLimit": "0x2540be400",
        "gasUsed": "0x0",
        "timestamp": format!("{timestamp:#x}"),
        "extraData": "0x",
        "mixHash": zero32,
        "nonce": "0x0000000000000000",
        "baseFeePerGas": "0x64",
        "size": "0x0",
        "transactions": [],
        "uncles": []
    })
}

fn filter_id(p: &Params) -> Result<String, Failure> {
    p.expect(1)?;
    p.decode::<String>(0, "ethtypes.EthFilterID")
}

fn known(shared: &Shared, id: &str) -> Result<(), Failure> {
    if lock(&shared.groups.eth).filters.contains_key(id) {
        Ok(())
    } else {
        Err(Failure::new(1, "filter not found"))
    }
}

/// The EIP-155 chain ID of local development networks in Lotus.
pub const CHAIN_ID: u64 = 31_415_926;

pub(super) fn call(shared: &Shared, name: &str, p: &Params) -> Option<Result<Value, Failure>> {
    let result = match name {
        "EthChainId" => p.expect(0).map(|_| json!(format!("{CHAIN_ID:#x}"))),
        "EthBlockNumber" => p
            .expect(0)
            .map(|_| json!(format!("{:#x}", shared.chain().head().tipset.height))),
        "EthAccounts" => p.expect(0).map(|_| json!([])),
        "EthSyncing" => p.expect(0).map(|_| json!(false)),
        "EthGasPrice" => p.expect(0).map(|_| json!("0x186a0")),
        "EthProtocolVersion" => p.expect(0).map(|_| json!("0x41")),
        "EthNewBlockFilter" | "EthNewPendingTransactionFilter" => {
            p.expect(0).map(|_| new_filter(shared))
        }
        "EthNewFilter" => p.expect(1).map(|_| new_filter(shared)),
        "EthGetFilterChanges" | "EthGetFilterLogs" => {
            filter_id(p).and_then(|id| known(shared, &id).map(|_| json!([])))
        }
        "EthUninstallFilter" => {
            filter_id(p).map(|id| json!(lock(&shared.groups.eth).filters.remove(&id).is_some()))
        }
        _ => return None,
    };
    Some(result)
}
