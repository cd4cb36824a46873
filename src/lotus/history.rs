//! Which parameters of a Lotus method reach into the chain's history: a tipset key, a height, a bound on how far
//! back a search goes, an Ethereum block number, tag or hash. A gateway that serves only recent history checks
//! these on every call, whichever way the call came in; this table says where to look.
//!
//! The positions follow Lotus v1.36's API (`build/openrpc/full.json`): every method with a `TipSetKey` parameter,
//! every `abi.ChainEpoch` that is a height, and the Ethereum methods Lotus's own gateway checks.

/// What a parameter selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    /// A tipset key (`[{"/": cid}, ...]`); `[]` or `null` is the head.
    TipsetKey,
    /// A chain height (`abi.ChainEpoch`).
    Height,
    /// How many epochs back a search may go; `-1` is "no limit".
    SearchLimit,
    /// A count of epochs back from the tipset the call reads at.
    Depth,
    /// An Ethereum block: a number (`"0x1f"`) or a tag (`latest`, `earliest`, `pending`, `safe`, `finalized`).
    EthBlock,
    /// An Ethereum block number, tag, hash, or `{"blockNumber": ...}` / `{"blockHash": ...}`.
    EthBlockParam,
    /// An Ethereum block hash.
    EthBlockHash,
    /// An Ethereum filter: `fromBlock`, `toBlock`, `blockHash`.
    EthFilter,
    /// `EthFeeHistory`'s parameters: a block count and the newest block.
    EthFeeHistory,
    /// An actor event filter: `fromHeight`, `toHeight`, `tipsetKey`.
    ActorEventFilter,
}

use Selector::*;

/// Every method with a parameter that selects history, sorted by name, with the position of each such parameter.
const TABLE: &[(&str, &[(usize, Selector)])] = &[
    (
        "Filecoin.ChainExportRangeInternal",
        &[(0, TipsetKey), (1, TipsetKey)],
    ),
    ("Filecoin.ChainGetMessagesInTipset", &[(0, TipsetKey)]),
    ("Filecoin.ChainGetPath", &[(0, TipsetKey), (1, TipsetKey)]),
    ("Filecoin.ChainGetTipSet", &[(0, TipsetKey)]),
    (
        "Filecoin.ChainGetTipSetAfterHeight",
        &[(0, Height), (1, TipsetKey)],
    ),
    (
        "Filecoin.ChainGetTipSetByHeight",
        &[(0, Height), (1, TipsetKey)],
    ),
    ("Filecoin.ChainSetHead", &[(0, TipsetKey)]),
    ("Filecoin.ChainTipSetWeight", &[(0, TipsetKey)]),
    ("Filecoin.ChainValidateIndex", &[(0, Height)]),
    ("Filecoin.EthCall", &[(1, EthBlockParam)]),
    ("Filecoin.EthEstimateGas", &[(1, EthBlockParam)]),
    ("Filecoin.EthFeeHistory", &[(0, EthFeeHistory)]),
    ("Filecoin.EthGetBalance", &[(1, EthBlockParam)]),
    ("Filecoin.EthGetBlockByHash", &[(0, EthBlockHash)]),
    ("Filecoin.EthGetBlockByNumber", &[(0, EthBlock)]),
    ("Filecoin.EthGetBlockReceipts", &[(0, EthBlockParam)]),
    (
        "Filecoin.EthGetBlockReceiptsLimited",
        &[(0, EthBlockParam), (1, SearchLimit)],
    ),
    (
        "Filecoin.EthGetBlockTransactionCountByHash",
        &[(0, EthBlockHash)],
    ),
    (
        "Filecoin.EthGetBlockTransactionCountByNumber",
        &[(0, EthBlock)],
    ),
    ("Filecoin.EthGetCode", &[(1, EthBlockParam)]),
    ("Filecoin.EthGetLogs", &[(0, EthFilter)]),
    ("Filecoin.EthGetStorageAt", &[(2, EthBlockParam)]),
    (
        "Filecoin.EthGetTransactionByBlockHashAndIndex",
        &[(0, EthBlockHash)],
    ),
    (
        "Filecoin.EthGetTransactionByBlockNumberAndIndex",
        &[(0, EthBlock)],
    ),
    (
        "Filecoin.EthGetTransactionByHashLimited",
        &[(1, SearchLimit)],
    ),
    ("Filecoin.EthGetTransactionCount", &[(1, EthBlockParam)]),
    (
        "Filecoin.EthGetTransactionReceiptLimited",
        &[(1, SearchLimit)],
    ),
    ("Filecoin.EthNewFilter", &[(0, EthFilter)]),
    ("Filecoin.EthTraceBlock", &[(0, EthBlock)]),
    ("Filecoin.EthTraceFilter", &[(0, EthFilter)]),
    ("Filecoin.EthTraceReplayBlockTransactions", &[(0, EthBlock)]),
    ("Filecoin.F3GetECPowerTable", &[(0, TipsetKey)]),
    ("Filecoin.F3GetF3PowerTable", &[(0, TipsetKey)]),
    ("Filecoin.GasEstimateFeeCap", &[(2, TipsetKey)]),
    ("Filecoin.GasEstimateGasLimit", &[(1, TipsetKey)]),
    ("Filecoin.GasEstimateGasPremium", &[(3, TipsetKey)]),
    ("Filecoin.GasEstimateMessageGas", &[(2, TipsetKey)]),
    ("Filecoin.GetActorEventsRaw", &[(0, ActorEventFilter)]),
    ("Filecoin.MinerGetBaseInfo", &[(1, Height), (2, TipsetKey)]),
    ("Filecoin.MpoolPending", &[(0, TipsetKey)]),
    ("Filecoin.MpoolSelect", &[(0, TipsetKey)]),
    ("Filecoin.MsigGetAvailableBalance", &[(1, TipsetKey)]),
    ("Filecoin.MsigGetPending", &[(1, TipsetKey)]),
    ("Filecoin.MsigGetVested", &[(1, TipsetKey), (2, TipsetKey)]),
    ("Filecoin.MsigGetVestingSchedule", &[(1, TipsetKey)]),
    ("Filecoin.StateAccountKey", &[(1, TipsetKey)]),
    (
        "Filecoin.StateAllMinerFaults",
        &[(0, Depth), (1, TipsetKey)],
    ),
    ("Filecoin.StateCall", &[(1, TipsetKey)]),
    ("Filecoin.StateCirculatingSupply", &[(0, TipsetKey)]),
    ("Filecoin.StateCompute", &[(0, Height), (2, TipsetKey)]),
    ("Filecoin.StateComputeDataCID", &[(3, TipsetKey)]),
    (
        "Filecoin.StateDealProviderCollateralBounds",
        &[(2, TipsetKey)],
    ),
    ("Filecoin.StateDecodeParams", &[(3, TipsetKey)]),
    ("Filecoin.StateGetActor", &[(1, TipsetKey)]),
    ("Filecoin.StateGetAllAllocations", &[(0, TipsetKey)]),
    ("Filecoin.StateGetAllClaims", &[(0, TipsetKey)]),
    ("Filecoin.StateGetAllocation", &[(2, TipsetKey)]),
    (
        "Filecoin.StateGetAllocationForPendingDeal",
        &[(1, TipsetKey)],
    ),
    (
        "Filecoin.StateGetAllocationIdForPendingDeal",
        &[(1, TipsetKey)],
    ),
    ("Filecoin.StateGetAllocations", &[(1, TipsetKey)]),
    ("Filecoin.StateGetBeaconEntry", &[(0, Height)]),
    ("Filecoin.StateGetClaim", &[(2, TipsetKey)]),
    ("Filecoin.StateGetClaims", &[(1, TipsetKey)]),
    (
        "Filecoin.StateGetRandomnessDigestFromBeacon",
        &[(0, Height), (1, TipsetKey)],
    ),
    (
        "Filecoin.StateGetRandomnessDigestFromTickets",
        &[(0, Height), (1, TipsetKey)],
    ),
    (
        "Filecoin.StateGetRandomnessFromBeacon",
        &[(1, Height), (3, TipsetKey)],
    ),
    (
        "Filecoin.StateGetRandomnessFromTickets",
        &[(1, Height), (3, TipsetKey)],
    ),
    ("Filecoin.StateListActors", &[(0, TipsetKey)]),
    ("Filecoin.StateListMessages", &[(1, TipsetKey), (2, Height)]),
    ("Filecoin.StateListMiners", &[(0, TipsetKey)]),
    ("Filecoin.StateLookupID", &[(1, TipsetKey)]),
    ("Filecoin.StateLookupRobustAddress", &[(1, TipsetKey)]),
    ("Filecoin.StateMarketBalance", &[(1, TipsetKey)]),
    ("Filecoin.StateMarketDeals", &[(0, TipsetKey)]),
    ("Filecoin.StateMarketParticipants", &[(0, TipsetKey)]),
    ("Filecoin.StateMarketProposalPending", &[(1, TipsetKey)]),
    ("Filecoin.StateMarketStorageDeal", &[(1, TipsetKey)]),
    ("Filecoin.StateMinerActiveSectors", &[(1, TipsetKey)]),
    ("Filecoin.StateMinerAllocated", &[(1, TipsetKey)]),
    ("Filecoin.StateMinerAvailableBalance", &[(1, TipsetKey)]),
    ("Filecoin.StateMinerCreationDeposit", &[(0, TipsetKey)]),
    ("Filecoin.StateMinerDeadlines", &[(1, TipsetKey)]),
    ("Filecoin.StateMinerFaults", &[(1, TipsetKey)]),
    ("Filecoin.StateMinerInfo", &[(1, TipsetKey)]),
    (
        "Filecoin.StateMinerInitialPledgeCollateral",
        &[(2, TipsetKey)],
    ),
    (
        "Filecoin.StateMinerInitialPledgeForSector",
        &[(3, TipsetKey)],
    ),
    ("Filecoin.StateMinerPartitions", &[(2, TipsetKey)]),
    ("Filecoin.StateMinerPower", &[(1, TipsetKey)]),
    (
        "Filecoin.StateMinerPreCommitDepositForPower",
        &[(2, TipsetKey)],
    ),
    ("Filecoin.StateMinerProvingDeadline", &[(1, TipsetKey)]),
    ("Filecoin.StateMinerRecoveries", &[(1, TipsetKey)]),
    ("Filecoin.StateMinerSectorAllocated", &[(2, TipsetKey)]),
    ("Filecoin.StateMinerSectorCount", &[(1, TipsetKey)]),
    ("Filecoin.StateMinerSectors", &[(2, TipsetKey)]),
    ("Filecoin.StateNetworkVersion", &[(0, TipsetKey)]),
    ("Filecoin.StateReadState", &[(1, TipsetKey)]),
    ("Filecoin.StateReplay", &[(0, TipsetKey)]),
    (
        "Filecoin.StateSearchMsg",
        &[(0, TipsetKey), (2, SearchLimit)],
    ),
    ("Filecoin.StateSectorExpiration", &[(2, TipsetKey)]),
    ("Filecoin.StateSectorGetInfo", &[(2, TipsetKey)]),
    ("Filecoin.StateSectorPartition", &[(2, TipsetKey)]),
    ("Filecoin.StateSectorPreCommitInfo", &[(2, TipsetKey)]),
    (
        "Filecoin.StateVMCirculatingSupplyInternal",
        &[(0, TipsetKey)],
    ),
    ("Filecoin.StateVerifiedClientStatus", &[(1, TipsetKey)]),
    ("Filecoin.StateVerifiedRegistryRootKey", &[(0, TipsetKey)]),
    ("Filecoin.StateVerifierStatus", &[(1, TipsetKey)]),
    ("Filecoin.StateWaitMsg", &[(2, SearchLimit)]),
    ("Filecoin.SubscribeActorEventsRaw", &[(0, ActorEventFilter)]),
    ("Filecoin.SyncCheckpoint", &[(0, TipsetKey)]),
    ("Filecoin.SyncValidateTipset", &[(0, TipsetKey)]),
];

/// The parameters of `method` (its full name) that select history, with their positions.
pub fn selectors(method: &str) -> &'static [(usize, Selector)] {
    TABLE
        .binary_search_by(|(name, _)| name.cmp(&method))
        .map(|i| TABLE[i].1)
        .unwrap_or(&[])
}

/// Every method the table names.
pub fn methods() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(name, _)| *name)
}

/// Epochs between a block and when it is safe (`safe`) or final (`finalized`), as Lotus counts them.
pub const ETH_SAFE_DELAY: i64 = 30;
pub const FINALITY: i64 = 900;

/// An Ethereum block selector, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EthBlockRef {
    /// A height, or a tag that stands for one (`latest`, `safe`...), given relative to the head.
    Height(i64),
    /// `epochs` below the head (a tag).
    BelowHead(i64),
    /// `earliest`: the genesis.
    Earliest,
    /// A block hash, to be looked up.
    Hash(String),
    /// Not something the gateway reads; the node decides.
    Other,
}

/// Reads an Ethereum block number or tag (`"0x1f"`, `"latest"`, ...).
pub fn eth_block(value: &serde_json::Value) -> EthBlockRef {
    let Some(text) = value.as_str() else {
        return EthBlockRef::Other;
    };
    match text {
        "latest" | "pending" => EthBlockRef::BelowHead(0),
        "safe" => EthBlockRef::BelowHead(ETH_SAFE_DELAY),
        "finalized" => EthBlockRef::BelowHead(FINALITY),
        "earliest" => EthBlockRef::Earliest,
        _ => match text.strip_prefix("0x") {
            Some(hex) if hex.len() == 64 => EthBlockRef::Hash(text.to_string()),
            Some(hex) => i64::from_str_radix(hex, 16)
                .map(EthBlockRef::Height)
                .unwrap_or(EthBlockRef::Other),
            None => EthBlockRef::Other,
        },
    }
}

/// Reads an Ethereum block parameter: a number, tag or hash, or an object naming one.
pub fn eth_block_param(value: &serde_json::Value) -> EthBlockRef {
    match value {
        serde_json::Value::Object(o) => {
            if let Some(hash) = o.get("blockHash").and_then(|h| h.as_str()) {
                EthBlockRef::Hash(hash.to_string())
            } else if let Some(number) = o.get("blockNumber") {
                eth_block(number)
            } else {
                EthBlockRef::Other
            }
        }
        other => eth_block(other),
    }
}

/// Reads a JSON number or a hex quantity (`"0x10"`), as Ethereum counts are written.
pub fn eth_quantity(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => i64::from_str_radix(s.strip_prefix("0x")?, 16).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_table_is_sorted_and_names_known_methods() {
        assert!(
            TABLE.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted, no repeats"
        );
        for name in methods() {
            assert!(
                crate::lotus::methods::lookup(crate::lotus::methods::FULL_NODE, name).is_some(),
                "{name} is a full-node method"
            );
        }
        assert_eq!(
            selectors("Filecoin.StateGetActor"),
            &[(1, Selector::TipsetKey)]
        );
        assert!(selectors("Filecoin.ChainHead").is_empty());
    }

    #[test]
    fn ethereum_blocks_are_read() {
        assert_eq!(eth_block(&json!("0x1f")), EthBlockRef::Height(31));
        assert_eq!(eth_block(&json!("latest")), EthBlockRef::BelowHead(0));
        assert_eq!(eth_block(&json!("finalized")), EthBlockRef::BelowHead(900));
        assert_eq!(eth_block(&json!("earliest")), EthBlockRef::Earliest);
        assert_eq!(eth_block(&json!("0xzz")), EthBlockRef::Other);
        assert_eq!(eth_block(&json!(5)), EthBlockRef::Other);
        let hash = format!("0x{}", "ab".repeat(32));
        assert_eq!(eth_block(&json!(hash)), EthBlockRef::Hash(hash.clone()));
        assert_eq!(
            eth_block_param(&json!({"blockHash": hash})),
            EthBlockRef::Hash(hash)
        );
        assert_eq!(
            eth_block_param(&json!({"blockNumber": "0x2"})),
            EthBlockRef::Height(2)
        );
        assert_eq!(eth_quantity(&json!("0x10")), Some(16));
        assert_eq!(eth_quantity(&json!(7)), Some(7));
    }
}
