//! Simulated storage miners and verified registry.
//!
//! The three miners of the chain (t01000–t01002) each have an owner and a worker among the accounts, a peer ID, a
//! sector size and a fixed set of sectors (300, 40 and 12), spread over the 48 deadlines in partitions of four.
//! Some sectors are faulty, some of those recovering, every fifth holds verified data; counts, partitions and power
//! are all derived from the same sectors. The verified registry has a root key, two verifiers, three verified
//! clients, and allocations and claims keyed by ID (a claim keeps the ID of the allocation it came from).

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::super::chain::Chain;
use super::super::rpc::{Failure, Params};
use super::super::Shared;
use super::{lock, to_json};
use crate::lotus::address::{cid_from_digest, Address};
use crate::lotus::miner::{
    BeneficiaryTerm, BitField, BlockMsg, DeadlineInfo, ExtendedSectorInfo, Fault, MinerInfo,
    MinerPower, MinerSectors, MiningBaseInfo, Partition, PowerClaim, SectorExpiration,
    SectorLocation, SectorOnChainInfo, SectorPreCommitInfo, SectorPreCommitOnChainInfo, DEADLINES,
    SECTOR_SIZES,
};
use crate::lotus::types::{
    BeaconEntry, BigInt, BlockHeader, Cid, ElectionProof, PoStProof, Signature, SignedMessage,
    Ticket,
};
use crate::lotus::verifreg::{Allocation, Claim};

const FIRST_MINER: u64 = 1000;
/// Each miner's sector count and registered seal proof (8: 32 GiB, 9: 64 GiB).
const MINERS: [(u64, i64); 3] = [(300, 8), (40, 9), (12, 8)];
/// Sectors per partition.
pub(crate) const PARTITION_SECTORS: u64 = 4;
/// Pre-committed sectors per miner, numbered after the proven ones.
const PRECOMMITS: u64 = 2;
const PROVING_PERIOD: i64 = 2880;
const CHALLENGE_WINDOW: i64 = 60;
const CHALLENGE_LOOKBACK: i64 = 20;
const FAULT_CUTOFF: i64 = 70;
/// 540 days of epochs: the default sector lifetime.
const SECTOR_LIFETIME: i64 = 1_555_200;
const ATTO_PER_FIL: u128 = 1_000_000_000_000_000_000;
/// The consensus minimum power of the simulated network: 1 TiB.
const MIN_POWER: u128 = 1 << 40;
/// Pledge of a 32 GiB sector without verified data.
const BASE_PLEDGE: u128 = ATTO_PER_FIL / 5;

/// The verified registry's root key.
pub(crate) const ROOT_KEY: &str = "t0109";
/// Verifiers (actor ID, allowance in bytes).
const VERIFIERS: [(u64, u128); 2] = [(101, 1 << 50), (103, 1 << 49)];
/// Verified clients (actor ID, DataCap in bytes).
const CLIENTS: [(u64, u128); 3] = [(100, 100 << 40), (102, 50 << 40), (104, 10 << 40)];
/// Allocation and claim IDs run 1..=IDS; every fourth is still an allocation, the rest are claims.
const IDS: u64 = 40;
/// A pending deal's ID is this plus its allocation's ID.
pub(crate) const FIRST_PENDING_DEAL: u64 = 5000;

/// What this group keeps between calls: the blocks created through `MinerCreateBlock`.
#[derive(Default)]
pub(crate) struct State {
    created: Vec<BlockMsg>,
}

fn digest(tag: &str, nums: &[u64]) -> [u8; 32] {
    let mut state = blake2b_simd::Params::new().hash_length(32).to_state();
    state.update(b"sim miners\0");
    state.update(tag.as_bytes());
    for n in nums {
        state.update(&n.to_le_bytes());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(state.finalize().as_bytes());
    out
}

fn hnum(tag: &str, nums: &[u64]) -> u64 {
    u64::from_le_bytes(digest(tag, nums)[..8].try_into().expect("8 bytes"))
}

fn hcid(tag: &str, nums: &[u64]) -> Cid {
    Cid::new(cid_from_digest(&digest(tag, nums)))
}

fn hbase64(tag: &str, nums: &[u64], len: usize) -> String {
    let mut bytes = Vec::new();
    let mut i = 0;
    while bytes.len() < len {
        let mut with = nums.to_vec();
        with.push(i);
        bytes.extend_from_slice(&digest(tag, &with));
        i += 1;
    }
    bytes.truncate(len);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn big(n: u128) -> BigInt {
    BigInt(n.to_string())
}

fn id_addr(id: u64) -> String {
    Address::new_id(crate::sim::chain::NETWORK, id).to_string()
}

/// One simulated miner.
#[derive(Clone, Copy)]
struct Miner {
    index: u64,
    sectors: u64,
    seal_proof: i64,
}

impl Miner {
    fn all() -> impl Iterator<Item = Miner> {
        (0..MINERS.len() as u64).map(Miner::at)
    }

    fn at(index: u64) -> Miner {
        let (sectors, seal_proof) = MINERS[index as usize];
        Miner {
            index,
            sectors,
            seal_proof,
        }
    }

    fn id(self) -> u64 {
        FIRST_MINER + self.index
    }

    fn size(self) -> u64 {
        SECTOR_SIZES[(self.seal_proof % 5) as usize]
    }

    fn owner(self) -> u64 {
        100 + 2 * self.index
    }

    fn worker(self) -> u64 {
        101 + 2 * self.index
    }

    fn faulty(self, s: u64) -> bool {
        s < self.sectors && hnum("fault", &[self.index, s]).is_multiple_of(23)
    }

    fn recovering(self, s: u64) -> bool {
        self.faulty(s) && s.is_multiple_of(2)
    }

    fn verified(s: u64) -> bool {
        s.is_multiple_of(5)
    }

    fn live(self) -> impl Iterator<Item = u64> {
        0..self.sectors
    }

    fn active(self) -> impl Iterator<Item = u64> {
        (0..self.sectors).filter(move |s| !self.faulty(*s))
    }

    fn qa(self, s: u64) -> u128 {
        self.size() as u128 * if Miner::verified(s) { 10 } else { 1 }
    }

    fn power(self) -> PowerClaim {
        PowerClaim {
            raw_byte_power: big(self.active().count() as u128 * self.size() as u128),
            quality_adj_power: big(self.active().map(|s| self.qa(s)).sum()),
        }
    }

    fn raw(self) -> u128 {
        self.active().count() as u128 * self.size() as u128
    }

    fn qa_total(self) -> u128 {
        self.active().map(|s| self.qa(s)).sum()
    }

    fn pledge(self, s: u64) -> u128 {
        pledge(
            self.size(),
            if Miner::verified(s) { self.size() } else { 0 },
        )
    }

    fn activation(self, s: u64) -> i64 {
        1 + ((s * 7 + self.index * 13) % 150) as i64
    }

    fn sector(self, s: u64) -> Option<SectorOnChainInfo> {
        if s >= self.sectors {
            return None;
        }
        let activation = self.activation(s);
        let expiration = activation + SECTOR_LIFETIME;
        let pledge = self.pledge(s);
        let verified_weight = if Miner::verified(s) {
            self.size() as u128 * (expiration - activation) as u128
        } else {
            0
        };
        Some(SectorOnChainInfo {
            sector_number: s,
            seal_proof: self.seal_proof,
            sealed_cid: hcid("sealed", &[self.index, s]),
            activation,
            expiration,
            deal_weight: big(0),
            verified_deal_weight: big(verified_weight),
            initial_pledge: big(pledge),
            expected_day_reward: big(pledge / 200),
            expected_storage_pledge: big(pledge / 10),
            power_base_epoch: activation,
            replaced_day_reward: big(0),
            sector_key_cid: (s % 7 == 3).then(|| hcid("sector key", &[self.index, s])),
            flags: 0,
            daily_fee: big(1_000_000_000),
        })
    }

    fn precommit(self, s: u64) -> Option<SectorPreCommitOnChainInfo> {
        if s < self.sectors || s >= self.sectors + PRECOMMITS {
            return None;
        }
        Some(SectorPreCommitOnChainInfo {
            info: SectorPreCommitInfo {
                seal_proof: self.seal_proof,
                sector_number: s,
                sealed_cid: hcid("sealed", &[self.index, s]),
                seal_rand_epoch: 100,
                deal_ids: Some(Vec::new()),
                expiration: 200 + SECTOR_LIFETIME,
                unsealed_cid: None,
            },
            pre_commit_deposit: big(pledge(self.size(), 0) / 20),
            pre_commit_epoch: 150,
        })
    }

    /// The live sectors of a deadline, ascending.
    fn deadline_sectors(self, d: u64) -> Vec<u64> {
        self.live().filter(|s| s % DEADLINES == d).collect()
    }

    fn partitions(self, d: u64) -> Vec<Partition> {
        self.deadline_sectors(d)
            .chunks(PARTITION_SECTORS as usize)
            .map(|chunk| {
                let pick = |f: &dyn Fn(u64) -> bool| {
                    let v: Vec<u64> = chunk.iter().copied().filter(|s| f(*s)).collect();
                    BitField::from_numbers(&v)
                };
                Partition {
                    all_sectors: pick(&|_| true),
                    faulty_sectors: pick(&|s| self.faulty(s)),
                    recovering_sectors: pick(&|s| self.recovering(s)),
                    live_sectors: pick(&|_| true),
                    active_sectors: pick(&|s| !self.faulty(s)),
                }
            })
            .collect()
    }

    fn proving_deadline(self, height: i64) -> DeadlineInfo {
        let offset = (self.id() as i64 * 97) % PROVING_PERIOD;
        let period_start = offset + (height - offset).div_euclid(PROVING_PERIOD) * PROVING_PERIOD;
        let index = ((height - period_start) / CHALLENGE_WINDOW) as u64;
        let open = period_start + index as i64 * CHALLENGE_WINDOW;
        DeadlineInfo {
            current_epoch: height,
            period_start,
            index,
            open,
            close: open + CHALLENGE_WINDOW,
            challenge: open - CHALLENGE_LOOKBACK,
            fault_cutoff: open - FAULT_CUTOFF,
            wpost_period_deadlines: DEADLINES,
            wpost_proving_period: PROVING_PERIOD,
            wpost_challenge_window: CHALLENGE_WINDOW,
            wpost_challenge_lookback: CHALLENGE_LOOKBACK,
            fault_declaration_cutoff: FAULT_CUTOFF,
        }
    }

    /// The epochs within `(height - lookback, height]` at which the miner declared a fault.
    fn fault_epochs(self, height: i64, lookback: i64) -> impl Iterator<Item = i64> {
        let every = 50 + 10 * self.index as i64;
        let from = (height - lookback + 1).max(0);
        (from..=height).filter(move |e| e % every == 13)
    }
}

/// The pledge of a sector of `size` bytes with `verified` bytes of verified data.
fn pledge(size: u64, verified: u64) -> u128 {
    let qa = size as u128 + 9 * verified.min(size) as u128;
    BASE_PLEDGE * qa / (32u128 << 30)
}

fn network_power() -> PowerClaim {
    PowerClaim {
        raw_byte_power: big(Miner::all().map(Miner::raw).sum()),
        quality_adj_power: big(Miner::all().map(Miner::qa_total).sum()),
    }
}

/// Resolves an address to an actor ID in the state of `key`, with Lotus's errors.
fn resolve(chain: &Chain, addr: &Address, key: &[Cid]) -> Result<u64, Failure> {
    let id = chain.lookup_id(addr, key).map_err(Failure::method)?;
    Address::parse(&id).ok().and_then(|a| a.id).ok_or_else(|| {
        Failure::method(format!(
            "resolution lookup failed ({addr}): actor not found"
        ))
    })
}

/// The miner at `addr`; an error as Lotus gives it for an address without an actor or with another kind of actor.
fn miner(shared: &Shared, p: &Params, i: usize, key: &[Cid]) -> Result<Miner, Failure> {
    let addr = p.address(i)?;
    let id = resolve(&shared.chain(), &addr, key)?;
    if (FIRST_MINER..FIRST_MINER + MINERS.len() as u64).contains(&id) {
        Ok(Miner::at(id - FIRST_MINER))
    } else {
        Err(Failure::method(format!(
            "failed to load miner actor state: unknown actor code {}",
            hcid("account actor code", &[]).root
        )))
    }
}

/// The height of the tipset `key`, checking that it exists.
fn height(shared: &Shared, key: &[Cid]) -> Result<i64, Failure> {
    Ok(shared
        .chain()
        .tipset(key)
        .map_err(Failure::method)?
        .tipset
        .height)
}

fn allocation(id: u64) -> Option<Allocation> {
    ((1..=IDS).contains(&id) && id.is_multiple_of(4)).then(|| Allocation {
        client: 100 + 2 * (id % 3),
        provider: FIRST_MINER + id % 3,
        data: hcid("piece", &[id]),
        size: 1 << (30 + id % 5),
        term_min: 518_400,
        term_max: 5_256_000,
        expiration: 1000 + id as i64 * 10,
    })
}

fn claim(id: u64) -> Option<Claim> {
    if id == 0 || id > IDS || id.is_multiple_of(4) {
        return None;
    }
    let provider = Miner::at(id % 3);
    Some(Claim {
        provider: provider.id(),
        client: 100 + 2 * (id % 3),
        data: hcid("piece", &[id]),
        size: 1 << (30 + id % 5),
        term_min: 518_400,
        term_max: 5_256_000,
        term_start: 10 + id as i64,
        sector: 5 * ((id * 3) % (provider.sectors / 5)),
    })
}

fn by_id<T: serde::Serialize>(items: impl Iterator<Item = (u64, T)>) -> Value {
    let map: Map<String, Value> = items.map(|(id, v)| (id.to_string(), to_json(v))).collect();
    Value::Object(map)
}

/// `MinerCreateBlock`'s parameter.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Template {
    miner: String,
    parents: Vec<Cid>,
    ticket: Option<Ticket>,
    eproof: Option<ElectionProof>,
    #[serde(default)]
    beacon_values: Option<Vec<BeaconEntry>>,
    #[serde(default)]
    messages: Option<Vec<SignedMessage>>,
    epoch: i64,
    timestamp: u64,
    #[serde(rename = "WinningPoStProof", default)]
    winning_post_proof: Option<Vec<PoStProof>>,
}

fn create_block(shared: &Shared, p: &Params) -> Result<Value, Failure> {
    p.expect(1)?;
    let t: Template = p.decode(0, "*api.BlockTemplate")?;
    let addr = Address::parse(&t.miner).map_err(|e| p.bad("*api.BlockTemplate", e))?;
    let chain = shared.chain();
    let parent = chain.tipset(&t.parents).map_err(Failure::method)?;
    let id = resolve(&chain, &addr, &t.parents)?;
    if !(FIRST_MINER..FIRST_MINER + MINERS.len() as u64).contains(&id) {
        return Err(Failure::method(format!(
            "failed to get miner worker: failed to load miner actor state: unknown actor code {}",
            hcid("account actor code", &[]).root
        )));
    }
    let parent_height = parent.tipset.height;
    if t.epoch <= parent_height {
        return Err(Failure::method(format!(
            "block epoch {} is not above its parents' height {parent_height}",
            t.epoch
        )));
    }
    let first = &parent.tipset.blocks[0];
    let parent_weight: u128 = first.parent_weight.0.parse().unwrap_or(0)
        + 10_000
        + 100 * parent.tipset.blocks.len() as u128;
    let parent_base_fee = first.parent_base_fee.clone();
    drop(chain);
    let mut state = lock(&shared.groups.miners);
    let n = state.created.len() as u64;
    let (mut bls, mut secp) = (Vec::new(), Vec::new());
    for (i, m) in t.messages.unwrap_or_default().iter().enumerate() {
        if m.signature.r#type == 2 {
            bls.push(
                m.message
                    .cid
                    .clone()
                    .unwrap_or_else(|| hcid("created bls message", &[n, i as u64])),
            );
        } else {
            secp.push(
                m.cid
                    .clone()
                    .unwrap_or_else(|| hcid("created secp message", &[n, i as u64])),
            );
        }
    }
    let epoch = t.epoch as u64;
    let header = BlockHeader {
        miner: id_addr(id),
        ticket: t.ticket,
        election_proof: t.eproof,
        beacon_entries: t.beacon_values.unwrap_or_default(),
        win_post_proof: t.winning_post_proof.unwrap_or_default(),
        parents: t.parents,
        parent_weight: big(parent_weight),
        height: t.epoch,
        parent_state_root: hcid("created state root", &[epoch]),
        parent_message_receipts: hcid("created receipts root", &[epoch]),
        messages: hcid("created message meta", &[n]),
        bls_aggregate: Some(Signature {
            r#type: 2,
            data: hbase64("created bls aggregate", &[n], 96),
        }),
        timestamp: t.timestamp,
        block_sig: Some(Signature {
            r#type: 2,
            data: hbase64("created block sig", &[id, n], 96),
        }),
        fork_signaling: 0,
        parent_base_fee,
    };
    let block = BlockMsg {
        header,
        bls_messages: bls,
        secpk_messages: secp,
    };
    state.created.push(block.clone());
    Ok(to_json(block))
}

pub(super) fn call(shared: &Shared, name: &str, p: &Params) -> Option<Result<Value, Failure>> {
    let result = match name {
        "StateListMiners" => (|| {
            p.expect(1)?;
            let key = p.tsk(0)?;
            shared
                .chain()
                .list_miners(&key)
                .map(to_json)
                .map_err(Failure::method)
        })(),
        "StateMinerInfo" => (|| {
            p.expect(2)?;
            let key = p.tsk(1)?;
            let m = miner(shared, p, 0, &key)?;
            Ok(to_json(MinerInfo {
                owner: id_addr(m.owner()),
                worker: id_addr(m.worker()),
                new_worker: "<empty>".into(),
                control_addresses: vec![id_addr(106 + m.index)],
                worker_change_epoch: -1,
                peer_id: Some(peer_id(m)),
                multiaddrs: vec![multiaddr(m)],
                window_po_st_proof_type: 5 + (m.seal_proof % 5),
                sector_size: m.size(),
                window_po_st_partition_sectors: PARTITION_SECTORS,
                consensus_fault_elapsed: -1,
                pending_owner_address: None,
                beneficiary: id_addr(m.owner()),
                beneficiary_term: BeneficiaryTerm {
                    quota: big(0),
                    used_quota: big(0),
                    expiration: 0,
                },
                pending_beneficiary_term: None,
            }))
        })(),
        "StateMinerPower" => (|| {
            p.expect(2)?;
            let key = p.tsk(1)?;
            let m = miner(shared, p, 0, &key)?;
            Ok(to_json(MinerPower {
                miner_power: m.power(),
                total_power: network_power(),
                has_min_power: m.raw() >= MIN_POWER,
            }))
        })(),
        "StateMinerAvailableBalance" => (|| {
            p.expect(2)?;
            let key = p.tsk(1)?;
            let m = miner(shared, p, 0, &key)?;
            let actor = shared
                .chain()
                .actor(&Address::new_id(crate::sim::chain::NETWORK, m.id()), &key)
                .map_err(Failure::method)?;
            let balance: u128 = actor.balance.0.parse().unwrap_or(0);
            let pledged: u128 = m.live().map(|s| m.pledge(s)).sum();
            let deposits: u128 = (m.sectors..m.sectors + PRECOMMITS)
                .filter_map(|s| m.precommit(s))
                .map(|pc| pc.pre_commit_deposit.0.parse::<u128>().unwrap_or(0))
                .sum();
            let locked = 100 * ATTO_PER_FIL * (m.index as u128 + 1);
            Ok(to_json(big(
                balance.saturating_sub(pledged + deposits + locked)
            )))
        })(),
        "StateMinerCreationDeposit" => (|| {
            p.expect(1)?;
            let key = p.tsk(0)?;
            height(shared, &key)?;
            let raw: u128 = Miner::all().map(Miner::raw).sum();
            Ok(to_json(big(
                ATTO_PER_FIL + (raw >> 40) * 1_000_000_000_000_000
            )))
        })(),
        "StateMinerDeadlines" => (|| {
            p.expect(2)?;
            let key = p.tsk(1)?;
            let m = miner(shared, p, 0, &key)?;
            let current = m.proving_deadline(height(shared, &key)?).index;
            let deadlines: Vec<Value> = (0..DEADLINES)
                .map(|d| {
                    let parts = m.partitions(d).len() as u64;
                    let proven: Vec<u64> = if d < current {
                        (0..parts).collect()
                    } else {
                        Vec::new()
                    };
                    json!({
                        "PostSubmissions": BitField::from_numbers(&proven),
                        "DisputableProofCount": if d < current { parts } else { 0 },
                        "DailyFee": big(m.deadline_sectors(d).len() as u128 * 1_000_000_000),
                    })
                })
                .collect();
            Ok(Value::Array(deadlines))
        })(),
        "StateMinerProvingDeadline" => (|| {
            p.expect(2)?;
            let key = p.tsk(1)?;
            let m = miner(shared, p, 0, &key)?;
            Ok(to_json(m.proving_deadline(height(shared, &key)?)))
        })(),
        "StateMinerPartitions" => (|| {
            p.expect(3)?;
            let d: u64 = p.decode(1, "uint64")?;
            let key = p.tsk(2)?;
            let m = miner(shared, p, 0, &key)?;
            if d >= DEADLINES {
                return Err(Failure::method(format!(
                    "failed to load deadline {d}: invalid deadline {d}"
                )));
            }
            Ok(to_json(m.partitions(d)))
        })(),
        "StateMinerFaults" | "StateMinerRecoveries" => (|| {
            p.expect(2)?;
            let key = p.tsk(1)?;
            let m = miner(shared, p, 0, &key)?;
            let set: Vec<u64> = if name == "StateMinerFaults" {
                m.live().filter(|s| m.faulty(*s)).collect()
            } else {
                m.live().filter(|s| m.recovering(*s)).collect()
            };
            Ok(to_json(BitField::from_numbers(&set)))
        })(),
        "StateAllMinerFaults" => (|| {
            p.expect(2)?;
            let lookback = p.epoch(0)?;
            let key = p.tsk(1)?;
            let h = height(shared, &key)?;
            let mut faults: Vec<Fault> = Miner::all()
                .flat_map(|m| {
                    m.fault_epochs(h, lookback.max(0)).map(move |e| Fault {
                        miner: id_addr(m.id()),
                        epoch: e,
                    })
                })
                .collect();
            faults.sort_by(|a, b| a.epoch.cmp(&b.epoch).then(a.miner.cmp(&b.miner)));
            Ok(to_json(faults))
        })(),
        "StateMinerActiveSectors" => (|| {
            p.expect(2)?;
            let key = p.tsk(1)?;
            let m = miner(shared, p, 0, &key)?;
            let sectors: Vec<SectorOnChainInfo> = m.active().filter_map(|s| m.sector(s)).collect();
            Ok(to_json(sectors))
        })(),
        "StateMinerSectors" => (|| {
            p.expect(3)?;
            let filter: Option<BitField> = p.decode(1, "*bitfield.BitField")?;
            let key = p.tsk(2)?;
            let m = miner(shared, p, 0, &key)?;
            let sectors: Vec<SectorOnChainInfo> = match filter {
                Some(f) => f
                    .numbers()
                    .into_iter()
                    .filter_map(|s| m.sector(s))
                    .collect(),
                None => m.live().filter_map(|s| m.sector(s)).collect(),
            };
            Ok(to_json(sectors))
        })(),
        "StateMinerSectorCount" => (|| {
            p.expect(2)?;
            let key = p.tsk(1)?;
            let m = miner(shared, p, 0, &key)?;
            let faulty = m.live().filter(|s| m.faulty(*s)).count() as u64;
            Ok(to_json(MinerSectors {
                live: m.sectors,
                active: m.sectors - faulty,
                faulty,
            }))
        })(),
        "StateMinerAllocated" => (|| {
            p.expect(2)?;
            let key = p.tsk(1)?;
            let m = miner(shared, p, 0, &key)?;
            let all: Vec<u64> = (0..m.sectors + PRECOMMITS).collect();
            Ok(to_json(BitField::from_numbers(&all)))
        })(),
        "StateMinerSectorAllocated" => (|| {
            p.expect(3)?;
            let s: u64 = p.decode(1, "abi.SectorNumber")?;
            let key = p.tsk(2)?;
            let m = miner(shared, p, 0, &key)?;
            Ok(Value::Bool(s < m.sectors + PRECOMMITS))
        })(),
        "StateMinerInitialPledgeCollateral" | "StateMinerPreCommitDepositForPower" => (|| {
            p.expect(3)?;
            let info: SectorPreCommitInfo = p.decode(1, "miner.SectorPreCommitInfo")?;
            let key = p.tsk(2)?;
            miner(shared, p, 0, &key)?;
            if !(0..20).contains(&info.seal_proof) {
                return Err(Failure::method(format!(
                    "getting seal proof type: unsupported proof type: {}",
                    info.seal_proof
                )));
            }
            let size = SECTOR_SIZES[(info.seal_proof % 5) as usize];
            let verified = if info.deal_ids.as_ref().is_some_and(|d| !d.is_empty()) {
                size
            } else {
                0
            };
            let amount = pledge(size, verified);
            Ok(to_json(big(
                if name == "StateMinerPreCommitDepositForPower" {
                    amount / 20
                } else {
                    amount
                },
            )))
        })(),
        "StateMinerInitialPledgeForSector" => (|| {
            p.expect(4)?;
            let duration = p.epoch(0)?;
            let size: u64 = p.decode(1, "abi.SectorSize")?;
            let verified: u64 = p.decode(2, "uint64")?;
            let key = p.tsk(3)?;
            height(shared, &key)?;
            if !SECTOR_SIZES.contains(&size) {
                return Err(Failure::method(format!("unknown sector size {size}")));
            }
            if verified > size {
                return Err(Failure::method(format!(
                    "verified deal size {verified} cannot be larger than sector size {size}"
                )));
            }
            let full = pledge(size, verified);
            let scaled =
                full * duration.clamp(0, SECTOR_LIFETIME) as u128 / SECTOR_LIFETIME as u128;
            Ok(to_json(big(scaled)))
        })(),
        "StateSectorGetInfo"
        | "StateSectorExpiration"
        | "StateSectorPartition"
        | "StateSectorPreCommitInfo" => (|| {
            p.expect(3)?;
            let s: u64 = p.decode(1, "abi.SectorNumber")?;
            let key = p.tsk(2)?;
            let m = miner(shared, p, 0, &key)?;
            match name {
                "StateSectorGetInfo" => Ok(to_json(m.sector(s))),
                "StateSectorPreCommitInfo" => Ok(to_json(m.precommit(s))),
                "StateSectorExpiration" => {
                    let info = m
                        .sector(s)
                        .ok_or_else(|| Failure::method(format!("failed to find sector {s}")))?;
                    let h = height(shared, &key)?;
                    let early = if m.faulty(s) {
                        (h / PROVING_PERIOD + 14) * PROVING_PERIOD
                    } else {
                        0
                    };
                    Ok(to_json(SectorExpiration {
                        on_time: info.expiration,
                        early,
                    }))
                }
                _ => {
                    if s >= m.sectors {
                        return Err(Failure::method(format!(
                            "sector {s} not due at any deadline"
                        )));
                    }
                    Ok(to_json(SectorLocation {
                        deadline: s % DEADLINES,
                        partition: (s / DEADLINES) / PARTITION_SECTORS,
                    }))
                }
            }
        })(),
        "MinerGetBaseInfo" => (|| {
            p.expect(3)?;
            let round = p.epoch(1)?;
            let key = p.tsk(2)?;
            let m = miner(shared, p, 0, &key)?;
            let h = height(shared, &key)?;
            if round < h {
                return Err(Failure::method(format!(
                    "getting beacon entries: round {round} is below the base tipset's height {h}"
                )));
            }
            let worker_key = shared
                .chain()
                .account_key(
                    &Address::new_id(crate::sim::chain::NETWORK, m.worker()),
                    &key,
                )
                .map_err(Failure::method)?;
            let active: Vec<u64> = m.active().collect();
            let sectors = (0..2u64)
                .filter_map(|k| {
                    let pick = active[(hnum("challenge", &[m.index, round as u64, k])
                        % active.len() as u64) as usize];
                    m.sector(pick)
                })
                .map(|s| ExtendedSectorInfo {
                    seal_proof: s.seal_proof,
                    sector_number: s.sector_number,
                    sector_key: s.sector_key_cid,
                    sealed_cid: s.sealed_cid,
                })
                .collect();
            let beacon = |r: i64| BeaconEntry {
                round: 1_000_000 + r as u64,
                data: hbase64("beacon", &[r as u64], 96),
            };
            Ok(to_json(MiningBaseInfo {
                miner_power: big(m.qa_total()),
                network_power: network_power().quality_adj_power,
                sectors,
                worker_key,
                sector_size: m.size(),
                prev_beacon_entry: beacon(h),
                beacon_entries: ((h + 1).max(round - 9)..=round).map(beacon).collect(),
                eligible_for_mining: m.raw() >= MIN_POWER,
            }))
        })(),
        "MinerCreateBlock" => create_block(shared, p),
        "StateVerifiedRegistryRootKey" => (|| {
            p.expect(1)?;
            let key = p.tsk(0)?;
            height(shared, &key)?;
            Ok(to_json(ROOT_KEY))
        })(),
        "StateVerifierStatus" | "StateVerifiedClientStatus" => (|| {
            p.expect(2)?;
            let addr = p.address(0)?;
            let key = p.tsk(1)?;
            let id = resolve(&shared.chain(), &addr, &key)?;
            let table: &[(u64, u128)] = if name == "StateVerifierStatus" {
                &VERIFIERS
            } else {
                &CLIENTS
            };
            Ok(match table.iter().find(|(i, _)| *i == id) {
                Some((_, amount)) => to_json(big(*amount)),
                None => Value::Null,
            })
        })(),
        "StateGetAllAllocations" => (|| {
            p.expect(1)?;
            let key = p.tsk(0)?;
            height(shared, &key)?;
            Ok(by_id(
                (1..=IDS).filter_map(|i| allocation(i).map(|a| (i, a))),
            ))
        })(),
        "StateGetAllClaims" => (|| {
            p.expect(1)?;
            let key = p.tsk(0)?;
            height(shared, &key)?;
            Ok(by_id((1..=IDS).filter_map(|i| claim(i).map(|c| (i, c)))))
        })(),
        "StateGetAllocations" | "StateGetClaims" => (|| {
            p.expect(2)?;
            let addr = p.address(0)?;
            let key = p.tsk(1)?;
            let id = resolve(&shared.chain(), &addr, &key)?;
            Ok(if name == "StateGetAllocations" {
                by_id(
                    (1..=IDS)
                        .filter_map(|i| allocation(i).filter(|a| a.client == id).map(|a| (i, a))),
                )
            } else {
                by_id(
                    (1..=IDS).filter_map(|i| claim(i).filter(|c| c.provider == id).map(|c| (i, c))),
                )
            })
        })(),
        "StateGetAllocation" | "StateGetClaim" => (|| {
            p.expect(3)?;
            let addr = p.address(0)?;
            let i: u64 = p.decode(
                1,
                if name == "StateGetAllocation" {
                    "verifregtypes.AllocationId"
                } else {
                    "verifregtypes.ClaimId"
                },
            )?;
            let key = p.tsk(2)?;
            let id = resolve(&shared.chain(), &addr, &key)?;
            Ok(if name == "StateGetAllocation" {
                to_json(allocation(i).filter(|a| a.client == id))
            } else {
                to_json(claim(i).filter(|c| c.provider == id))
            })
        })(),
        "StateGetAllocationIdForPendingDeal" | "StateGetAllocationForPendingDeal" => (|| {
            p.expect(2)?;
            let deal: u64 = p.decode(0, "abi.DealID")?;
            let key = p.tsk(1)?;
            height(shared, &key)?;
            let found = deal
                .checked_sub(FIRST_PENDING_DEAL)
                .and_then(|i| allocation(i).map(|a| (i, a)));
            Ok(match (name, found) {
                ("StateGetAllocationIdForPendingDeal", Some((i, _))) => json!(i),
                ("StateGetAllocationIdForPendingDeal", None) => json!(0),
                (_, Some((_, a))) => to_json(a),
                (_, None) => Value::Null,
            })
        })(),
        _ => return None,
    };
    Some(result)
}

/// A libp2p peer ID of the miner's node, in the usual base58 form.
fn peer_id(m: Miner) -> String {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let d = digest("peer id", &[m.index, 0]);
    let e = digest("peer id", &[m.index, 1]);
    let tail: String = d
        .iter()
        .chain(e.iter())
        .take(44)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("12D3KooW{tail}")
}

/// `/ip4/10.0.0.<n>/tcp/24001` in its binary form, base64.
fn multiaddr(m: Miner) -> String {
    let mut bytes = vec![0x04, 10, 0, 0, 10 + m.index as u8, 0x06];
    bytes.extend_from_slice(&24001u16.to_be_bytes());
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
