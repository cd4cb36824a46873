//! Simulated Ethereum JSON-RPC methods: the few that clients such as ethers.js call to connect.

use serde_json::{json, Value};

use super::super::rpc::{Failure, Params};
use super::super::Shared;

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
        _ => return None,
    };
    Some(result)
}
