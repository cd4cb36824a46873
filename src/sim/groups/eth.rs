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
