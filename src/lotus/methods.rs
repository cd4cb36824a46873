//! The Lotus JSON-RPC methods and the permission each one requires, as Lotus v1.36 defines them.
//!
//! This table is the gateway's own record of Lotus's API: the `/rpc/v1` endpoint, the permission guard in the
//! upstream client and the simulated node all read it. A test cross-checks it against the Lotus API data
//! when that is available.

use super::perm::Perm;

/// One Lotus JSON-RPC method: its full name (`Filecoin.X`), the permission Lotus requires for it and its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Method {
    pub name: &'static str,
    pub perm: Perm,
    pub group: &'static str,
}

const fn m(name: &'static str, perm: Perm, group: &'static str) -> Method {
    Method { name, perm, group }
}

use Perm::{Admin, Read, Sign, Write};

/// Every full-node method, sorted by name.
pub const FULL_NODE: &[Method] = &[
    m("Filecoin.AuthNew", Admin, "Auth"),
    m("Filecoin.AuthVerify", Read, "Auth"),
    m("Filecoin.ChainBlockstoreInfo", Read, "Chain"),
    m("Filecoin.ChainCheckBlockstore", Admin, "Chain"),
    m("Filecoin.ChainDeleteObj", Admin, "Chain"),
    m("Filecoin.ChainExport", Read, "Chain"),
    m("Filecoin.ChainExportRangeInternal", Admin, "Chain"),
    m("Filecoin.ChainGetBlock", Read, "Chain"),
    m("Filecoin.ChainGetBlockMessages", Read, "Chain"),
    m("Filecoin.ChainGetEvents", Read, "Chain"),
    m("Filecoin.ChainGetFinalizedTipSet", Read, "Chain"),
    m("Filecoin.ChainGetGenesis", Read, "Chain"),
    m("Filecoin.ChainGetMessage", Read, "Chain"),
    m("Filecoin.ChainGetMessagesInTipset", Read, "Chain"),
    m("Filecoin.ChainGetNode", Read, "Chain"),
    m("Filecoin.ChainGetParentMessages", Read, "Chain"),
    m("Filecoin.ChainGetParentReceipts", Read, "Chain"),
    m("Filecoin.ChainGetPath", Read, "Chain"),
    m("Filecoin.ChainGetTipSet", Read, "Chain"),
    m("Filecoin.ChainGetTipSetAfterHeight", Read, "Chain"),
    m("Filecoin.ChainGetTipSetByHeight", Read, "Chain"),
    m("Filecoin.ChainHasObj", Read, "Chain"),
    m("Filecoin.ChainHead", Read, "Chain"),
    m("Filecoin.ChainHotGC", Admin, "Chain"),
    m("Filecoin.ChainNotify", Read, "Chain"),
    m("Filecoin.ChainPrune", Admin, "Chain"),
    m("Filecoin.ChainPutObj", Admin, "Chain"),
    m("Filecoin.ChainReadObj", Read, "Chain"),
    m("Filecoin.ChainSetHead", Admin, "Chain"),
    m("Filecoin.ChainStatObj", Read, "Chain"),
    m("Filecoin.ChainTipSetWeight", Read, "Chain"),
    m("Filecoin.ChainValidateIndex", Write, "Chain"),
    m("Filecoin.Closing", Read, "Common"),
    m("Filecoin.CreateBackup", Admin, "Create"),
    m("Filecoin.Discover", Read, "Common"),
    m("Filecoin.EthAccounts", Read, "Eth"),
    m("Filecoin.EthAddressToFilecoinAddress", Read, "Eth"),
    m("Filecoin.EthBaseFee", Read, "Eth"),
    m("Filecoin.EthBlockNumber", Read, "Eth"),
    m("Filecoin.EthCall", Read, "Eth"),
    m("Filecoin.EthChainId", Read, "Eth"),
    m("Filecoin.EthEstimateGas", Read, "Eth"),
    m("Filecoin.EthFeeHistory", Read, "Eth"),
    m("Filecoin.EthGasPrice", Read, "Eth"),
    m("Filecoin.EthGetBalance", Read, "Eth"),
    m("Filecoin.EthGetBlockByHash", Read, "Eth"),
    m("Filecoin.EthGetBlockByNumber", Read, "Eth"),
    m("Filecoin.EthGetBlockReceipts", Read, "Eth"),
    m("Filecoin.EthGetBlockReceiptsLimited", Read, "Eth"),
    m("Filecoin.EthGetBlockTransactionCountByHash", Read, "Eth"),
    m("Filecoin.EthGetBlockTransactionCountByNumber", Read, "Eth"),
    m("Filecoin.EthGetCode", Read, "Eth"),
    m("Filecoin.EthGetFilterChanges", Read, "Eth"),
    m("Filecoin.EthGetFilterLogs", Read, "Eth"),
    m("Filecoin.EthGetLogs", Read, "Eth"),
    m("Filecoin.EthGetMessageCidByTransactionHash", Read, "Eth"),
    m("Filecoin.EthGetStorageAt", Read, "Eth"),
    m("Filecoin.EthGetTransactionByBlockHashAndIndex", Read, "Eth"),
    m(
        "Filecoin.EthGetTransactionByBlockNumberAndIndex",
        Read,
        "Eth",
    ),
    m("Filecoin.EthGetTransactionByHash", Read, "Eth"),
    m("Filecoin.EthGetTransactionByHashLimited", Read, "Eth"),
    m("Filecoin.EthGetTransactionCount", Read, "Eth"),
    m("Filecoin.EthGetTransactionHashByCid", Read, "Eth"),
    m("Filecoin.EthGetTransactionReceipt", Read, "Eth"),
    m("Filecoin.EthGetTransactionReceiptLimited", Read, "Eth"),
    m("Filecoin.EthMaxPriorityFeePerGas", Read, "Eth"),
    m("Filecoin.EthNewBlockFilter", Read, "Eth"),
    m("Filecoin.EthNewFilter", Read, "Eth"),
    m("Filecoin.EthNewPendingTransactionFilter", Read, "Eth"),
    m("Filecoin.EthProtocolVersion", Read, "Eth"),
    m("Filecoin.EthSendRawTransaction", Read, "Eth"),
    m("Filecoin.EthSendRawTransactionUntrusted", Read, "Eth"),
    m("Filecoin.EthSubscribe", Read, "Eth"),
    m("Filecoin.EthSyncing", Read, "Eth"),
    m("Filecoin.EthTraceBlock", Read, "Eth"),
    m("Filecoin.EthTraceFilter", Read, "Eth"),
    m("Filecoin.EthTraceReplayBlockTransactions", Read, "Eth"),
    m("Filecoin.EthTraceTransaction", Read, "Eth"),
    m("Filecoin.EthUninstallFilter", Read, "Eth"),
    m("Filecoin.EthUnsubscribe", Read, "Eth"),
    m("Filecoin.F3GetCertificate", Read, "F3"),
    m("Filecoin.F3GetECPowerTable", Read, "F3"),
    m("Filecoin.F3GetF3PowerTable", Read, "F3"),
    m("Filecoin.F3GetLatestCertificate", Read, "F3"),
    m("Filecoin.F3GetManifest", Read, "F3"),
    m("Filecoin.F3GetOrRenewParticipationTicket", Sign, "F3"),
    m("Filecoin.F3GetPowerTableByInstance", Read, "F3"),
    m("Filecoin.F3GetProgress", Read, "F3"),
    m("Filecoin.F3IsRunning", Read, "F3"),
    m("Filecoin.F3ListParticipants", Read, "F3"),
    m("Filecoin.F3Participate", Sign, "F3"),
    m("Filecoin.FilecoinAddressToEthAddress", Read, "Filecoin"),
    m("Filecoin.GasEstimateFeeCap", Read, "Gas"),
    m("Filecoin.GasEstimateGasLimit", Read, "Gas"),
    m("Filecoin.GasEstimateGasPremium", Read, "Gas"),
    m("Filecoin.GasEstimateMessageGas", Read, "Gas"),
    m("Filecoin.GetActorEventsRaw", Read, "Get"),
    m("Filecoin.ID", Read, "I"),
    m("Filecoin.LogAlerts", Admin, "Log"),
    m("Filecoin.LogList", Write, "Log"),
    m("Filecoin.LogSetLevel", Write, "Log"),
    m("Filecoin.MarketAddBalance", Sign, "Market"),
    m("Filecoin.MarketGetReserved", Sign, "Market"),
    m("Filecoin.MarketReleaseFunds", Sign, "Market"),
    m("Filecoin.MarketReserveFunds", Sign, "Market"),
    m("Filecoin.MarketWithdraw", Sign, "Market"),
    m("Filecoin.MinerCreateBlock", Write, "Miner"),
    m("Filecoin.MinerGetBaseInfo", Read, "Miner"),
    m("Filecoin.MpoolBatchPush", Write, "Mpool"),
    m("Filecoin.MpoolBatchPushMessage", Sign, "Mpool"),
    m("Filecoin.MpoolBatchPushUntrusted", Write, "Mpool"),
    m("Filecoin.MpoolCheckMessages", Read, "Mpool"),
    m("Filecoin.MpoolCheckPendingMessages", Read, "Mpool"),
    m("Filecoin.MpoolCheckReplaceMessages", Read, "Mpool"),
    m("Filecoin.MpoolClear", Write, "Mpool"),
    m("Filecoin.MpoolGetConfig", Read, "Mpool"),
    m("Filecoin.MpoolGetNonce", Read, "Mpool"),
    m("Filecoin.MpoolPending", Read, "Mpool"),
    m("Filecoin.MpoolPush", Write, "Mpool"),
    m("Filecoin.MpoolPushMessage", Sign, "Mpool"),
    m("Filecoin.MpoolPushUntrusted", Write, "Mpool"),
    m("Filecoin.MpoolSelect", Read, "Mpool"),
    m("Filecoin.MpoolSetConfig", Admin, "Mpool"),
    m("Filecoin.MpoolSub", Read, "Mpool"),
    m("Filecoin.MsigAddApprove", Sign, "Msig"),
    m("Filecoin.MsigAddCancel", Sign, "Msig"),
    m("Filecoin.MsigAddPropose", Sign, "Msig"),
    m("Filecoin.MsigApprove", Sign, "Msig"),
    m("Filecoin.MsigApproveTxnHash", Sign, "Msig"),
    m("Filecoin.MsigCancel", Sign, "Msig"),
    m("Filecoin.MsigCancelTxnHash", Sign, "Msig"),
    m("Filecoin.MsigCreate", Sign, "Msig"),
    m("Filecoin.MsigGetAvailableBalance", Read, "Msig"),
    m("Filecoin.MsigGetPending", Read, "Msig"),
    m("Filecoin.MsigGetVested", Read, "Msig"),
    m("Filecoin.MsigGetVestingSchedule", Read, "Msig"),
    m("Filecoin.MsigPropose", Sign, "Msig"),
    m("Filecoin.MsigRemoveSigner", Sign, "Msig"),
    m("Filecoin.MsigSwapApprove", Sign, "Msig"),
    m("Filecoin.MsigSwapCancel", Sign, "Msig"),
    m("Filecoin.MsigSwapPropose", Sign, "Msig"),
    m("Filecoin.NetAddrsListen", Read, "Net"),
    m("Filecoin.NetAgentVersion", Read, "Net"),
    m("Filecoin.NetAutoNatStatus", Read, "Net"),
    m("Filecoin.NetBandwidthStats", Read, "Net"),
    m("Filecoin.NetBandwidthStatsByPeer", Read, "Net"),
    m("Filecoin.NetBandwidthStatsByProtocol", Read, "Net"),
    m("Filecoin.NetBlockAdd", Admin, "Net"),
    m("Filecoin.NetBlockList", Read, "Net"),
    m("Filecoin.NetBlockRemove", Admin, "Net"),
    m("Filecoin.NetConnect", Write, "Net"),
    m("Filecoin.NetConnectedness", Read, "Net"),
    m("Filecoin.NetDisconnect", Write, "Net"),
    m("Filecoin.NetFindPeer", Read, "Net"),
    m("Filecoin.NetLimit", Read, "Net"),
    m("Filecoin.NetListening", Read, "Net"),
    m("Filecoin.NetPeerInfo", Read, "Net"),
    m("Filecoin.NetPeers", Read, "Net"),
    m("Filecoin.NetPing", Read, "Net"),
    m("Filecoin.NetProtectAdd", Admin, "Net"),
    m("Filecoin.NetProtectList", Read, "Net"),
    m("Filecoin.NetProtectRemove", Admin, "Net"),
    m("Filecoin.NetPubsubScores", Read, "Net"),
    m("Filecoin.NetSetLimit", Admin, "Net"),
    m("Filecoin.NetStat", Read, "Net"),
    m("Filecoin.NetVersion", Read, "Net"),
    m("Filecoin.NodeStatus", Read, "Node"),
    m("Filecoin.PaychAllocateLane", Sign, "Paych"),
    m("Filecoin.PaychAvailableFunds", Sign, "Paych"),
    m("Filecoin.PaychAvailableFundsByFromTo", Sign, "Paych"),
    m("Filecoin.PaychCollect", Sign, "Paych"),
    m("Filecoin.PaychFund", Sign, "Paych"),
    m("Filecoin.PaychGet", Sign, "Paych"),
    m("Filecoin.PaychGetWaitReady", Sign, "Paych"),
    m("Filecoin.PaychList", Read, "Paych"),
    m("Filecoin.PaychNewPayment", Sign, "Paych"),
    m("Filecoin.PaychSettle", Sign, "Paych"),
    m("Filecoin.PaychStatus", Read, "Paych"),
    m("Filecoin.PaychVoucherAdd", Write, "Paych"),
    m("Filecoin.PaychVoucherCheckSpendable", Read, "Paych"),
    m("Filecoin.PaychVoucherCheckValid", Read, "Paych"),
    m("Filecoin.PaychVoucherCreate", Sign, "Paych"),
    m("Filecoin.PaychVoucherList", Write, "Paych"),
    m("Filecoin.PaychVoucherSubmit", Sign, "Paych"),
    m("Filecoin.Session", Read, "Common"),
    m("Filecoin.Shutdown", Admin, "Common"),
    m("Filecoin.StartTime", Read, "Start"),
    m("Filecoin.StateAccountKey", Read, "State"),
    m("Filecoin.StateActorCodeCIDs", Read, "State"),
    m("Filecoin.StateActorManifestCID", Read, "State"),
    m("Filecoin.StateAllMinerFaults", Read, "State"),
    m("Filecoin.StateCall", Read, "State"),
    m("Filecoin.StateChangedActors", Read, "State"),
    m("Filecoin.StateCirculatingSupply", Read, "State"),
    m("Filecoin.StateCompute", Read, "State"),
    m("Filecoin.StateComputeDataCID", Read, "State"),
    m("Filecoin.StateDealProviderCollateralBounds", Read, "State"),
    m("Filecoin.StateDecodeParams", Read, "State"),
    m("Filecoin.StateEncodeParams", Read, "State"),
    m("Filecoin.StateGetActor", Read, "State"),
    m("Filecoin.StateGetAllAllocations", Read, "State"),
    m("Filecoin.StateGetAllClaims", Read, "State"),
    m("Filecoin.StateGetAllocation", Read, "State"),
    m("Filecoin.StateGetAllocationForPendingDeal", Read, "State"),
    m("Filecoin.StateGetAllocationIdForPendingDeal", Read, "State"),
    m("Filecoin.StateGetAllocations", Read, "State"),
    m("Filecoin.StateGetBeaconEntry", Read, "State"),
    m("Filecoin.StateGetClaim", Read, "State"),
    m("Filecoin.StateGetClaims", Read, "State"),
    m("Filecoin.StateGetNetworkParams", Read, "State"),
    m("Filecoin.StateGetRandomnessDigestFromBeacon", Read, "State"),
    m(
        "Filecoin.StateGetRandomnessDigestFromTickets",
        Read,
        "State",
    ),
    m("Filecoin.StateGetRandomnessFromBeacon", Read, "State"),
    m("Filecoin.StateGetRandomnessFromTickets", Read, "State"),
    m("Filecoin.StateListActors", Read, "State"),
    m("Filecoin.StateListMessages", Read, "State"),
    m("Filecoin.StateListMiners", Read, "State"),
    m("Filecoin.StateLookupID", Read, "State"),
    m("Filecoin.StateLookupRobustAddress", Read, "State"),
    m("Filecoin.StateMarketBalance", Read, "State"),
    m("Filecoin.StateMarketDeals", Read, "State"),
    m("Filecoin.StateMarketParticipants", Read, "State"),
    m("Filecoin.StateMarketProposalPending", Read, "State"),
    m("Filecoin.StateMarketStorageDeal", Read, "State"),
    m("Filecoin.StateMinerActiveSectors", Read, "State"),
    m("Filecoin.StateMinerAllocated", Read, "State"),
    m("Filecoin.StateMinerAvailableBalance", Read, "State"),
    m("Filecoin.StateMinerCreationDeposit", Read, "State"),
    m("Filecoin.StateMinerDeadlines", Read, "State"),
    m("Filecoin.StateMinerFaults", Read, "State"),
    m("Filecoin.StateMinerInfo", Read, "State"),
    m("Filecoin.StateMinerInitialPledgeCollateral", Read, "State"),
    m("Filecoin.StateMinerInitialPledgeForSector", Read, "State"),
    m("Filecoin.StateMinerPartitions", Read, "State"),
    m("Filecoin.StateMinerPower", Read, "State"),
    m("Filecoin.StateMinerPreCommitDepositForPower", Read, "State"),
    m("Filecoin.StateMinerProvingDeadline", Read, "State"),
    m("Filecoin.StateMinerRecoveries", Read, "State"),
    m("Filecoin.StateMinerSectorAllocated", Read, "State"),
    m("Filecoin.StateMinerSectorCount", Read, "State"),
    m("Filecoin.StateMinerSectors", Read, "State"),
    m("Filecoin.StateNetworkName", Read, "State"),
    m("Filecoin.StateNetworkVersion", Read, "State"),
    m("Filecoin.StateReadState", Read, "State"),
    m("Filecoin.StateReplay", Read, "State"),
    m("Filecoin.StateSearchMsg", Read, "State"),
    m("Filecoin.StateSectorExpiration", Read, "State"),
    m("Filecoin.StateSectorGetInfo", Read, "State"),
    m("Filecoin.StateSectorPartition", Read, "State"),
    m("Filecoin.StateSectorPreCommitInfo", Read, "State"),
    m("Filecoin.StateVMCirculatingSupplyInternal", Read, "State"),
    m("Filecoin.StateVerifiedClientStatus", Read, "State"),
    m("Filecoin.StateVerifiedRegistryRootKey", Read, "State"),
    m("Filecoin.StateVerifierStatus", Read, "State"),
    m("Filecoin.StateWaitMsg", Read, "State"),
    m("Filecoin.SubscribeActorEventsRaw", Read, "Subscribe"),
    m("Filecoin.SyncCheckBad", Read, "Sync"),
    m("Filecoin.SyncCheckpoint", Admin, "Sync"),
    m("Filecoin.SyncIncomingBlocks", Read, "Sync"),
    m("Filecoin.SyncMarkBad", Admin, "Sync"),
    m("Filecoin.SyncState", Read, "Sync"),
    m("Filecoin.SyncSubmitBlock", Write, "Sync"),
    m("Filecoin.SyncUnmarkAllBad", Admin, "Sync"),
    m("Filecoin.SyncUnmarkBad", Admin, "Sync"),
    m("Filecoin.SyncValidateTipset", Read, "Sync"),
    m("Filecoin.Version", Read, "Common"),
    m("Filecoin.WalletBalance", Read, "Wallet"),
    m("Filecoin.WalletDefaultAddress", Write, "Wallet"),
    m("Filecoin.WalletDelete", Admin, "Wallet"),
    m("Filecoin.WalletExport", Admin, "Wallet"),
    m("Filecoin.WalletHas", Write, "Wallet"),
    m("Filecoin.WalletImport", Admin, "Wallet"),
    m("Filecoin.WalletList", Write, "Wallet"),
    m("Filecoin.WalletNew", Write, "Wallet"),
    m("Filecoin.WalletSetDefault", Write, "Wallet"),
    m("Filecoin.WalletSign", Sign, "Wallet"),
    m("Filecoin.WalletSignMessage", Sign, "Wallet"),
    m("Filecoin.WalletValidateAddress", Read, "Wallet"),
    m("Filecoin.WalletVerify", Read, "Wallet"),
    m("Filecoin.Web3ClientVersion", Read, "Web3"),
];

/// Every miner method, sorted by name.
pub const MINER: &[Method] = &[
    m("Filecoin.ActorAddress", Read, "Actor"),
    m("Filecoin.ActorAddressConfig", Read, "Actor"),
    m("Filecoin.ActorSectorSize", Read, "Actor"),
    m("Filecoin.ActorWithdrawBalance", Admin, "Actor"),
    m("Filecoin.AuthNew", Admin, "Auth"),
    m("Filecoin.AuthVerify", Read, "Auth"),
    m("Filecoin.BeneficiaryWithdrawBalance", Admin, "Beneficiary"),
    m("Filecoin.CheckProvable", Admin, "Check"),
    m("Filecoin.Closing", Read, "Common"),
    m("Filecoin.ComputeDataCid", Admin, "Compute"),
    m("Filecoin.ComputeProof", Read, "Compute"),
    m("Filecoin.ComputeWindowPoSt", Admin, "Compute"),
    m("Filecoin.CreateBackup", Admin, "Create"),
    m("Filecoin.Discover", Read, "Common"),
    m("Filecoin.LogAlerts", Admin, "Log"),
    m("Filecoin.LogList", Write, "Log"),
    m("Filecoin.LogSetLevel", Write, "Log"),
    m("Filecoin.MarketListDeals", Read, "Market"),
    m("Filecoin.MiningBase", Read, "Mining"),
    m("Filecoin.PledgeSector", Write, "Pledge"),
    m("Filecoin.RecoverFault", Admin, "Recover"),
    m("Filecoin.ReturnAddPiece", Admin, "Return"),
    m("Filecoin.ReturnDataCid", Admin, "Return"),
    m("Filecoin.ReturnDownloadSector", Admin, "Return"),
    m("Filecoin.ReturnFetch", Admin, "Return"),
    m("Filecoin.ReturnFinalizeReplicaUpdate", Admin, "Return"),
    m("Filecoin.ReturnFinalizeSector", Admin, "Return"),
    m("Filecoin.ReturnGenerateSectorKeyFromData", Admin, "Return"),
    m("Filecoin.ReturnMoveStorage", Admin, "Return"),
    m("Filecoin.ReturnProveReplicaUpdate1", Admin, "Return"),
    m("Filecoin.ReturnProveReplicaUpdate2", Admin, "Return"),
    m("Filecoin.ReturnReadPiece", Admin, "Return"),
    m("Filecoin.ReturnReleaseUnsealed", Admin, "Return"),
    m("Filecoin.ReturnReplicaUpdate", Admin, "Return"),
    m("Filecoin.ReturnSealCommit1", Admin, "Return"),
    m("Filecoin.ReturnSealCommit2", Admin, "Return"),
    m("Filecoin.ReturnSealPreCommit1", Admin, "Return"),
    m("Filecoin.ReturnSealPreCommit2", Admin, "Return"),
    m("Filecoin.ReturnUnsealPiece", Admin, "Return"),
    m("Filecoin.RuntimeSubsystems", Read, "Runtime"),
    m("Filecoin.SealingAbort", Admin, "Sealing"),
    m("Filecoin.SealingRemoveRequest", Admin, "Sealing"),
    m("Filecoin.SealingSchedDiag", Admin, "Sealing"),
    m("Filecoin.SectorAbortUpgrade", Admin, "Sector"),
    m("Filecoin.SectorAddPieceToAny", Admin, "Sector"),
    m("Filecoin.SectorCommitFlush", Admin, "Sector"),
    m("Filecoin.SectorCommitPending", Admin, "Sector"),
    m("Filecoin.SectorGetExpectedSealDuration", Read, "Sector"),
    m("Filecoin.SectorGetSealDelay", Read, "Sector"),
    m("Filecoin.SectorMarkForUpgrade", Admin, "Sector"),
    m(
        "Filecoin.SectorMatchPendingPiecesToOpenSectors",
        Admin,
        "Sector",
    ),
    m("Filecoin.SectorNumAssignerMeta", Read, "Sector"),
    m("Filecoin.SectorNumFree", Admin, "Sector"),
    m("Filecoin.SectorNumReservations", Read, "Sector"),
    m("Filecoin.SectorNumReserve", Admin, "Sector"),
    m("Filecoin.SectorNumReserveCount", Admin, "Sector"),
    m("Filecoin.SectorPreCommitFlush", Admin, "Sector"),
    m("Filecoin.SectorPreCommitPending", Admin, "Sector"),
    m("Filecoin.SectorReceive", Admin, "Sector"),
    m("Filecoin.SectorRemove", Admin, "Sector"),
    m("Filecoin.SectorSetExpectedSealDuration", Write, "Sector"),
    m("Filecoin.SectorSetSealDelay", Write, "Sector"),
    m("Filecoin.SectorStartSealing", Write, "Sector"),
    m("Filecoin.SectorTerminate", Admin, "Sector"),
    m("Filecoin.SectorTerminateFlush", Admin, "Sector"),
    m("Filecoin.SectorTerminatePending", Admin, "Sector"),
    m("Filecoin.SectorUnseal", Admin, "Sector"),
    m("Filecoin.SectorsList", Read, "Sectors"),
    m("Filecoin.SectorsListInStates", Read, "Sectors"),
    m("Filecoin.SectorsRefs", Read, "Sectors"),
    m("Filecoin.SectorsStatus", Read, "Sectors"),
    m("Filecoin.SectorsSummary", Read, "Sectors"),
    m("Filecoin.SectorsUnsealPiece", Admin, "Sectors"),
    m("Filecoin.SectorsUpdate", Admin, "Sectors"),
    m("Filecoin.Session", Read, "Common"),
    m("Filecoin.Shutdown", Admin, "Common"),
    m("Filecoin.StartTime", Read, "Start"),
    m("Filecoin.StorageAddLocal", Admin, "Storage"),
    m("Filecoin.StorageAttach", Admin, "Storage"),
    m("Filecoin.StorageAuthVerify", Read, "Storage"),
    m("Filecoin.StorageBestAlloc", Admin, "Storage"),
    m("Filecoin.StorageDeclareSector", Admin, "Storage"),
    m("Filecoin.StorageDetach", Admin, "Storage"),
    m("Filecoin.StorageDetachLocal", Admin, "Storage"),
    m("Filecoin.StorageDropSector", Admin, "Storage"),
    m("Filecoin.StorageFindSector", Admin, "Storage"),
    m("Filecoin.StorageGetLocks", Admin, "Storage"),
    m("Filecoin.StorageInfo", Admin, "Storage"),
    m("Filecoin.StorageList", Admin, "Storage"),
    m("Filecoin.StorageLocal", Admin, "Storage"),
    m("Filecoin.StorageLock", Admin, "Storage"),
    m("Filecoin.StorageRedeclareLocal", Admin, "Storage"),
    m("Filecoin.StorageReportHealth", Admin, "Storage"),
    m("Filecoin.StorageStat", Admin, "Storage"),
    m("Filecoin.StorageTryLock", Admin, "Storage"),
    m("Filecoin.Version", Read, "Common"),
    m("Filecoin.WorkerConnect", Admin, "Worker"),
    m("Filecoin.WorkerJobs", Admin, "Worker"),
    m("Filecoin.WorkerStats", Admin, "Worker"),
];

/// Looks a method up by its full name in a sorted table.
pub fn lookup(table: &'static [Method], name: &str) -> Option<&'static Method> {
    table
        .binary_search_by(|m| m.name.cmp(name))
        .ok()
        .map(|i| &table[i])
}

/// The permission a full-node method requires, or `None` for a method Lotus does not have.
pub fn full_node_perm(name: &str) -> Option<Perm> {
    lookup(FULL_NODE, name).map(|m| m.perm)
}

/// The table with methods it does not know added (`[JsonRpc] ExtraMethods`), sorted. The table lives as long as
/// the process: it is built once at start.
pub fn with_extra(table: &'static [Method], extra: &[(String, Perm)]) -> &'static [Method] {
    if extra.is_empty() {
        return table;
    }
    let mut all: Vec<Method> = table.to_vec();
    for (name, perm) in extra {
        let name: &'static str = Box::leak(name.clone().into_boxed_str());
        all.push(Method {
            name,
            perm: *perm,
            group: "Extra",
        });
    }
    all.sort_by(|a, b| a.name.cmp(b.name));
    all.dedup_by(|a, b| a.name == b.name);
    Box::leak(all.into_boxed_slice())
}

/// The Ethereum-style names Lotus also answers to on `/rpc/v1` (`eth_*`, `trace_*`, `net_*`, `web3_*`), each with
/// the `Filecoin.*` method it stands for, sorted by alias. Ethereum tooling (ethers.js, viem, web3.py) calls these.
pub const ETH_ALIASES: &[(&str, &str)] = &[
    ("eth_accounts", "Filecoin.EthAccounts"),
    ("eth_baseFee", "Filecoin.EthBaseFee"),
    ("eth_blockNumber", "Filecoin.EthBlockNumber"),
    ("eth_call", "Filecoin.EthCall"),
    ("eth_chainId", "Filecoin.EthChainId"),
    ("eth_estimateGas", "Filecoin.EthEstimateGas"),
    ("eth_feeHistory", "Filecoin.EthFeeHistory"),
    ("eth_gasPrice", "Filecoin.EthGasPrice"),
    ("eth_getBalance", "Filecoin.EthGetBalance"),
    ("eth_getBlockByHash", "Filecoin.EthGetBlockByHash"),
    ("eth_getBlockByNumber", "Filecoin.EthGetBlockByNumber"),
    ("eth_getBlockReceipts", "Filecoin.EthGetBlockReceipts"),
    (
        "eth_getBlockTransactionCountByHash",
        "Filecoin.EthGetBlockTransactionCountByHash",
    ),
    (
        "eth_getBlockTransactionCountByNumber",
        "Filecoin.EthGetBlockTransactionCountByNumber",
    ),
    ("eth_getCode", "Filecoin.EthGetCode"),
    ("eth_getFilterChanges", "Filecoin.EthGetFilterChanges"),
    ("eth_getFilterLogs", "Filecoin.EthGetFilterLogs"),
    ("eth_getLogs", "Filecoin.EthGetLogs"),
    ("eth_getStorageAt", "Filecoin.EthGetStorageAt"),
    (
        "eth_getTransactionByBlockHashAndIndex",
        "Filecoin.EthGetTransactionByBlockHashAndIndex",
    ),
    (
        "eth_getTransactionByBlockNumberAndIndex",
        "Filecoin.EthGetTransactionByBlockNumberAndIndex",
    ),
    (
        "eth_getTransactionByHash",
        "Filecoin.EthGetTransactionByHash",
    ),
    ("eth_getTransactionCount", "Filecoin.EthGetTransactionCount"),
    (
        "eth_getTransactionReceipt",
        "Filecoin.EthGetTransactionReceipt",
    ),
    (
        "eth_maxPriorityFeePerGas",
        "Filecoin.EthMaxPriorityFeePerGas",
    ),
    ("eth_newBlockFilter", "Filecoin.EthNewBlockFilter"),
    ("eth_newFilter", "Filecoin.EthNewFilter"),
    (
        "eth_newPendingTransactionFilter",
        "Filecoin.EthNewPendingTransactionFilter",
    ),
    ("eth_protocolVersion", "Filecoin.EthProtocolVersion"),
    ("eth_sendRawTransaction", "Filecoin.EthSendRawTransaction"),
    ("eth_subscribe", "Filecoin.EthSubscribe"),
    ("eth_syncing", "Filecoin.EthSyncing"),
    ("eth_uninstallFilter", "Filecoin.EthUninstallFilter"),
    ("eth_unsubscribe", "Filecoin.EthUnsubscribe"),
    ("net_listening", "Filecoin.NetListening"),
    ("net_version", "Filecoin.NetVersion"),
    ("trace_block", "Filecoin.EthTraceBlock"),
    ("trace_filter", "Filecoin.EthTraceFilter"),
    (
        "trace_replayBlockTransactions",
        "Filecoin.EthTraceReplayBlockTransactions",
    ),
    ("trace_transaction", "Filecoin.EthTraceTransaction"),
    ("web3_clientVersion", "Filecoin.Web3ClientVersion"),
];

/// The `Filecoin.*` method an Ethereum-style alias stands for.
pub fn resolve_alias(name: &str) -> Option<&'static str> {
    ETH_ALIASES
        .binary_search_by(|(alias, _)| (*alias).cmp(name))
        .ok()
        .map(|i| ETH_ALIASES[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_unique() {
        for table in [FULL_NODE, MINER] {
            for pair in table.windows(2) {
                assert!(
                    pair[0].name < pair[1].name,
                    "{} before {}",
                    pair[0].name,
                    pair[1].name
                );
            }
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(full_node_perm("Filecoin.ChainHead"), Some(Perm::Read));
        assert_eq!(full_node_perm("Filecoin.WalletList"), Some(Perm::Write));
        assert_eq!(
            full_node_perm("Filecoin.MpoolPushMessage"),
            Some(Perm::Sign)
        );
        assert_eq!(full_node_perm("Filecoin.AuthNew"), Some(Perm::Admin));
        assert_eq!(full_node_perm("Filecoin.NoSuchThing"), None);
        assert_eq!(FULL_NODE.len(), 280);
    }

    #[test]
    fn aliases_are_sorted_and_name_known_methods() {
        for pair in ETH_ALIASES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for (alias, target) in ETH_ALIASES {
            assert!(lookup(FULL_NODE, target).is_some(), "{alias} -> {target}");
        }
        assert_eq!(resolve_alias("eth_chainId"), Some("Filecoin.EthChainId"));
        assert_eq!(resolve_alias("eth_nope"), None);
    }
}
