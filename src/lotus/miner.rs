//! The storage miner actor's state as Lotus's JSON shows it: info, power, deadlines, partitions, sectors,
//! pre-commits, and the blocks a miner creates.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::types::{Address, BeaconEntry, BigInt, BlockHeader, ChainEpoch, Cid};

/// The number of proving deadlines in a proving period.
pub const DEADLINES: u64 = 48;
/// The largest sector number a miner can allocate (`abi.MaxSectorNumber`).
pub const MAX_SECTOR_NUMBER: u64 = (1 << 63) - 1;
/// The sector sizes of the registered seal proofs, by proof number modulo 5.
pub const SECTOR_SIZES: [u64; 5] = [2 << 10, 8 << 20, 512 << 20, 32 << 30, 64 << 30];

/// A set of sector numbers in Lotus's JSON form: run lengths, alternating unset and set, starting with unset.
/// `[5, 1]` is sector 5; `[0, 3, 2, 1]` is sectors 0, 1, 2 and 5.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(value_type = Vec<u64>, example = json!([0, 3, 2, 1]))]
#[serde(transparent)]
pub struct BitField(pub Vec<u64>);

impl BitField {
    /// The bitfield of a set of numbers (in any order, without duplicates).
    pub fn from_numbers(numbers: &[u64]) -> BitField {
        let mut sorted = numbers.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut runs = Vec::new();
        let mut next = 0u64;
        let mut i = 0;
        while i < sorted.len() {
            let start = sorted[i];
            let mut end = start + 1;
            i += 1;
            while i < sorted.len() && sorted[i] == end {
                end += 1;
                i += 1;
            }
            runs.push(start - next);
            runs.push(end - start);
            next = end;
        }
        BitField(runs)
    }

    /// The numbers of the set, ascending.
    pub fn numbers(&self) -> Vec<u64> {
        let mut out = Vec::new();
        let mut at = 0u64;
        for (i, run) in self.0.iter().enumerate() {
            if i % 2 == 1 {
                out.extend(at..at.saturating_add(*run));
            }
            at = at.saturating_add(*run);
        }
        out
    }
}

/// The terms under which a miner's beneficiary may withdraw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BeneficiaryTerm {
    /// attoFIL the beneficiary may withdraw in all.
    pub quota: BigInt,
    /// attoFIL withdrawn so far.
    pub used_quota: BigInt,
    /// The epoch the term ends at.
    #[schema(example = 5256000)]
    pub expiration: ChainEpoch,
}

/// A change of beneficiary waiting for approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PendingBeneficiaryChange {
    pub new_beneficiary: Address,
    pub new_quota: BigInt,
    pub new_expiration: ChainEpoch,
    pub approved_by_beneficiary: bool,
    pub approved_by_nominee: bool,
}

/// A storage miner's info (`StateMinerInfo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerInfo {
    /// The owner: receives rewards, changes the worker.
    #[schema(example = "f0100")]
    pub owner: Address,
    /// The worker: signs blocks and proofs.
    #[schema(example = "f0101")]
    pub worker: Address,
    /// A worker key change in progress, `<empty>` when none.
    #[schema(example = "<empty>")]
    pub new_worker: Address,
    /// Other addresses allowed to send messages for the miner.
    pub control_addresses: Vec<Address>,
    /// When the new worker takes effect, -1 when no change is pending.
    #[schema(example = -1)]
    pub worker_change_epoch: ChainEpoch,
    /// The libp2p peer ID of the miner's node.
    #[schema(example = "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf")]
    pub peer_id: Option<String>,
    /// The miner's multiaddresses, each base64 of its binary form.
    pub multiaddrs: Vec<String>,
    /// The registered window PoSt proof type.
    #[schema(example = 8)]
    pub window_po_st_proof_type: i64,
    /// The sector size in bytes.
    #[schema(example = 34359738368u64)]
    pub sector_size: u64,
    /// How many sectors a partition holds.
    #[schema(example = 2349)]
    pub window_po_st_partition_sectors: u64,
    /// The epoch until which the miner is barred from consensus after a fault, -1 when none.
    #[schema(example = -1)]
    pub consensus_fault_elapsed: ChainEpoch,
    /// An owner change in progress.
    pub pending_owner_address: Option<Address>,
    /// Who receives the miner's withdrawals.
    #[schema(example = "f0100")]
    pub beneficiary: Address,
    pub beneficiary_term: BeneficiaryTerm,
    pub pending_beneficiary_term: Option<PendingBeneficiaryChange>,
}

/// Power in bytes: raw, and quality-adjusted (verified deals count tenfold).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PowerClaim {
    pub raw_byte_power: BigInt,
    pub quality_adj_power: BigInt,
}

/// A miner's power and the network's (`StateMinerPower`). Its schema is named apart from its `MinerPower` field, so
/// that clients generated from the spec can name both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = MinerAndNetworkPower)]
pub struct MinerPower {
    pub miner_power: PowerClaim,
    pub total_power: PowerClaim,
    /// Whether the miner has the consensus minimum power, to be eligible to produce blocks.
    pub has_min_power: bool,
}

/// A proving deadline of a miner (`StateMinerDeadlines`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Deadline {
    /// The partitions whose window PoSt has been submitted in the current proving period.
    pub post_submissions: BitField,
    /// How many proofs of this deadline can still be disputed.
    pub disputable_proof_count: u64,
    /// The fee charged per day for the deadline's sectors, in attoFIL.
    pub daily_fee: BigInt,
}

/// The current proving deadline of a miner and the proving-period constants (`StateMinerProvingDeadline`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct DeadlineInfo {
    pub current_epoch: ChainEpoch,
    /// The first epoch of the current proving period.
    pub period_start: ChainEpoch,
    /// The index of the current deadline, 0 to 47.
    #[schema(example = 12)]
    pub index: u64,
    pub open: ChainEpoch,
    pub close: ChainEpoch,
    pub challenge: ChainEpoch,
    pub fault_cutoff: ChainEpoch,
    #[serde(rename = "WPoStPeriodDeadlines")]
    #[schema(example = 48)]
    pub wpost_period_deadlines: u64,
    #[serde(rename = "WPoStProvingPeriod")]
    #[schema(example = 2880)]
    pub wpost_proving_period: ChainEpoch,
    #[serde(rename = "WPoStChallengeWindow")]
    #[schema(example = 60)]
    pub wpost_challenge_window: ChainEpoch,
    #[serde(rename = "WPoStChallengeLookback")]
    #[schema(example = 20)]
    pub wpost_challenge_lookback: ChainEpoch,
    #[schema(example = 70)]
    pub fault_declaration_cutoff: ChainEpoch,
}

/// A partition of a deadline: its sectors by state (`StateMinerPartitions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Partition {
    pub all_sectors: BitField,
    pub faulty_sectors: BitField,
    pub recovering_sectors: BitField,
    pub live_sectors: BitField,
    pub active_sectors: BitField,
}

/// A miner fault declared at an epoch (`StateAllMinerFaults`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Fault {
    #[schema(example = "f01000")]
    pub miner: Address,
    #[schema(example = 4863200)]
    pub epoch: ChainEpoch,
}

/// A sector on chain (`StateSectorGetInfo`, `StateMinerSectors`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SectorOnChainInfo {
    #[schema(example = 9)]
    pub sector_number: u64,
    /// The registered seal proof.
    #[schema(example = 8)]
    pub seal_proof: i64,
    /// The sealed sector's commitment (CommR).
    #[serde(rename = "SealedCID")]
    pub sealed_cid: Cid,
    pub activation: ChainEpoch,
    pub expiration: ChainEpoch,
    pub deal_weight: BigInt,
    pub verified_deal_weight: BigInt,
    pub initial_pledge: BigInt,
    pub expected_day_reward: BigInt,
    pub expected_storage_pledge: BigInt,
    pub power_base_epoch: ChainEpoch,
    pub replaced_day_reward: BigInt,
    /// The commitment before a snap-deal update, when there was one.
    #[serde(rename = "SectorKeyCID")]
    pub sector_key_cid: Option<Cid>,
    pub flags: u64,
    pub daily_fee: BigInt,
}

/// How many sectors a miner has, by state (`StateMinerSectorCount`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MinerSectors {
    /// Sectors not terminated (active, faulty or not yet proven).
    #[schema(example = 300)]
    pub live: u64,
    /// Live sectors that are proven and not faulty.
    #[schema(example = 287)]
    pub active: u64,
    #[schema(example = 13)]
    pub faulty: u64,
}

/// When a sector expires: on time, and early (when it is faulty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SectorExpiration {
    pub on_time: ChainEpoch,
    /// The epoch a faulty sector is terminated at unless recovered; 0 for a healthy sector.
    pub early: ChainEpoch,
}

/// Where a sector is proven: its deadline and partition (`StateSectorPartition`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SectorLocation {
    #[schema(example = 9)]
    pub deadline: u64,
    #[schema(example = 0)]
    pub partition: u64,
}

/// The parameters of a sector pre-commitment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(example = json!({"SealProof": 8, "SectorNumber": 9, "SealedCID": {"/": "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c"},
    "SealRandEpoch": 100, "DealIDs": [], "Expiration": 1555200, "UnsealedCid": null}))]
pub struct SectorPreCommitInfo {
    /// The registered seal proof, 0 to 19.
    #[schema(example = 8)]
    pub seal_proof: i64,
    #[schema(example = 9)]
    pub sector_number: u64,
    /// The sealed sector's commitment (CommR).
    #[serde(rename = "SealedCID")]
    pub sealed_cid: Cid,
    pub seal_rand_epoch: ChainEpoch,
    /// The deals the sector holds.
    #[serde(rename = "DealIDs", default)]
    pub deal_ids: Option<Vec<u64>>,
    pub expiration: ChainEpoch,
    /// The unsealed data's commitment (CommD), when the sector has data.
    #[serde(default)]
    pub unsealed_cid: Option<Cid>,
}

/// A pre-committed sector on chain (`StateSectorPreCommitInfo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SectorPreCommitOnChainInfo {
    pub info: SectorPreCommitInfo,
    pub pre_commit_deposit: BigInt,
    pub pre_commit_epoch: ChainEpoch,
}

/// A sector challenged for a winning PoSt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ExtendedSectorInfo {
    pub seal_proof: i64,
    pub sector_number: u64,
    pub sector_key: Option<Cid>,
    #[serde(rename = "SealedCID")]
    pub sealed_cid: Cid,
}

/// What a miner needs to try to produce a block at a round (`MinerGetBaseInfo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MiningBaseInfo {
    /// The miner's quality-adjusted power at the lookback.
    pub miner_power: BigInt,
    pub network_power: BigInt,
    /// The sectors challenged for the winning PoSt.
    pub sectors: Vec<ExtendedSectorInfo>,
    /// The worker's key address.
    pub worker_key: Address,
    pub sector_size: u64,
    pub prev_beacon_entry: BeaconEntry,
    pub beacon_entries: Vec<BeaconEntry>,
    pub eligible_for_mining: bool,
}

/// A block the node created and signed with the miner's worker key (`MinerCreateBlock`): not yet submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BlockMsg {
    pub header: BlockHeader,
    /// The CIDs of the BLS-signed messages it includes.
    pub bls_messages: Vec<Cid>,
    /// The CIDs of the secp256k1-signed messages it includes.
    pub secpk_messages: Vec<Cid>,
}
