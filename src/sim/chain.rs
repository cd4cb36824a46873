//! The simulated chain: tipsets, blocks, messages, receipts and actors, all derived deterministically from a seed.
//!
//! Every value is a blake2b hash of the seed and what identifies the object (its height, block index, message
//! index), so two chains with the same seed and null-round rule are identical, block for block.

use std::collections::{BTreeMap, HashMap};

use base64::Engine;

use crate::lotus::address::{cid_from_digest, Address};
use crate::lotus::types::{
    Actor, BeaconEntry, BigInt, BlockHeader, BlockMessages, Cid, ElectionProof, Message,
    MessageReceipt, MsgLookup, PoStProof, Signature, SignedMessage, Ticket, TipSet,
};

/// The address prefix of the simulated network.
pub const NETWORK: char = 't';

/// The accounts (IDs 100..) and miners (IDs 1000..) the chain starts with.
const ACCOUNTS: u64 = 10;
const MINERS: u64 = 3;
const FIRST_ACCOUNT_ID: u64 = 100;
const FIRST_MINER_ID: u64 = 1000;
const ATTO_PER_FIL: u128 = 1_000_000_000_000_000_000;

/// What kind of actor a [`SimAccount`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimActorKind {
    /// An account whose key address is a secp256k1 (`t1…`) address.
    SecpAccount,
    /// An account whose key address is a BLS (`t3…`) address.
    BlsAccount,
    /// A storage miner; its robust address is an actor (`t2…`) address.
    Miner,
}

/// An actor of the simulated chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimAccount {
    /// The ID address, e.g. `t0100`.
    pub id: String,
    /// The robust address: the key address of an account, the actor address of a miner.
    pub robust: String,
    pub kind: SimActorKind,
}

struct ActorInfo {
    account: SimAccount,
    id: u64,
    robust: Address,
    base_balance: u128,
    /// Inclusion heights of the messages this actor sent, ascending.
    sent_at: Vec<i64>,
}

/// Deterministic bytes from the seed and a tag.
#[derive(Clone, Copy)]
struct Gen {
    seed: u64,
}

impl Gen {
    fn digest(&self, tag: &str, nums: &[i64]) -> [u8; 32] {
        let mut state = blake2b_simd::Params::new().hash_length(32).to_state();
        state.update(&self.seed.to_le_bytes());
        state.update(&(tag.len() as u64).to_le_bytes());
        state.update(tag.as_bytes());
        for n in nums {
            state.update(&n.to_le_bytes());
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(state.finalize().as_bytes());
        out
    }

    fn cid(&self, tag: &str, nums: &[i64]) -> Cid {
        Cid::new(cid_from_digest(&self.digest(tag, nums)))
    }

    fn num(&self, tag: &str, nums: &[i64]) -> u64 {
        let d = self.digest(tag, nums);
        u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
    }

    fn bytes(&self, tag: &str, nums: &[i64], len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 32);
        let mut i = 0i64;
        while out.len() < len {
            let mut with_counter = nums.to_vec();
            with_counter.push(i);
            out.extend_from_slice(&self.digest(tag, &with_counter));
            i += 1;
        }
        out.truncate(len);
        out
    }

    fn base64(&self, tag: &str, nums: &[i64], len: usize) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.bytes(tag, nums, len))
    }
}

pub struct StoredTipSet {
    pub tipset: TipSet,
    weight: u128,
    /// The tipset's messages, de-duplicated, in Lotus's order: per block, BLS messages then secp messages.
    messages: Vec<usize>,
}

struct StoredBlock {
    header: BlockHeader,
    bls: Vec<usize>,
    secp: Vec<usize>,
}

struct StoredMsg {
    /// The CID the message has in its block: the signed message's CID for a secp message.
    chain_cid: Cid,
    message: Message,
    signed: Option<SignedMessage>,
    height: i64,
    receipt: MessageReceipt,
    /// Pushed through this node (`MpoolPush`, `MpoolPushMessage`) rather than received as untrusted.
    local: bool,
    /// The signature of a BLS message while it waits in the pool (a block carries BLS messages unsigned).
    pool_signature: Option<Signature>,
}

/// The whole simulated chain and state.
pub struct Chain {
    gen: Gen,
    null_every: i64,
    start_head: i64,
    genesis_ms: u64,
    block_ms: u64,
    /// The latest epoch produced, null round or not.
    epoch: i64,
    tipsets: BTreeMap<i64, StoredTipSet>,
    keys: HashMap<Vec<String>, i64>,
    nulls: Vec<i64>,
    blocks: HashMap<String, StoredBlock>,
    messages: Vec<StoredMsg>,
    message_index: HashMap<String, usize>,
    actors: Vec<ActorInfo>,
    account_code: Cid,
    miner_code: Cid,
    /// Messages pushed to the message pool, in arrival order; the next tipset includes them all.
    pending: Vec<StoredMsg>,
    /// How many messages have been pushed, for their CIDs.
    pushed: i64,
}

/// The error Lotus gives for a tipset key it does not have.
pub fn tipset_not_found(key: &[Cid]) -> String {
    let cids: Vec<&str> = key.iter().map(|c| c.root.as_str()).collect();
    format!(
        "loading tipset {{{}}}: blockstore: block not found",
        cids.join(",")
    )
}

/// The error Lotus gives for an object it does not have.
pub fn object_not_found(cid: &Cid) -> String {
    format!("ipld: could not find {}", cid.root)
}

fn big(n: u128) -> BigInt {
    BigInt(n.to_string())
}

impl Chain {
    /// Builds a chain whose head is at `history`, with genesis at `genesis_ms` (Unix milliseconds).
    pub fn new(seed: u64, history: i64, null_every: i64, genesis_ms: u64, block_ms: u64) -> Self {
        let gen = Gen { seed };
        let mut actors = Vec::new();
        for i in 0..ACCOUNTS {
            let id = FIRST_ACCOUNT_ID + i;
            let (protocol, len, kind) = if i % 2 == 0 {
                (1, 20, SimActorKind::SecpAccount)
            } else {
                (3, 48, SimActorKind::BlsAccount)
            };
            let robust = Address::new_hash(NETWORK, protocol, gen.bytes("key", &[id as i64], len));
            let base_balance =
                (gen.num("balance", &[id as i64]) % 1000 + 100) as u128 * ATTO_PER_FIL;
            actors.push(actor_info(id, robust, kind, base_balance));
        }
        for i in 0..MINERS {
            let id = FIRST_MINER_ID + i;
            let robust = Address::new_hash(NETWORK, 2, gen.bytes("miner", &[id as i64], 20));
            let base_balance =
                (gen.num("balance", &[id as i64]) % 10_000 + 5_000) as u128 * ATTO_PER_FIL;
            actors.push(actor_info(id, robust, SimActorKind::Miner, base_balance));
        }
        // Actor code CIDs are the same on every simulated chain, as they are per network version in Lotus.
        let code = |name: &str| Gen { seed: 0 }.cid(name, &[]);
        let mut chain = Chain {
            gen,
            null_every: null_every.max(0),
            start_head: history.max(0),
            genesis_ms,
            block_ms,
            epoch: 0,
            tipsets: BTreeMap::new(),
            keys: HashMap::new(),
            nulls: Vec::new(),
            blocks: HashMap::new(),
            messages: Vec::new(),
            message_index: HashMap::new(),
            actors,
            account_code: code("builtin actor code: account"),
            miner_code: code("builtin actor code: storageminer"),
            pending: Vec::new(),
            pushed: 0,
        };
        chain.make_tipset(0);
        while chain.epoch < chain.start_head {
            chain.advance();
        }
        chain
    }

    /// Adds `count` account actors after the existing ones (IDs from 1003), alternately secp and BLS, derived from
    /// the seed like the others.
    pub fn add_accounts(&mut self, count: usize) {
        let first = FIRST_MINER_ID + MINERS;
        for i in 0..count as u64 {
            let id = first + i;
            let (protocol, len, kind) = if i % 2 == 0 {
                (1, 20, SimActorKind::SecpAccount)
            } else {
                (3, 48, SimActorKind::BlsAccount)
            };
            let robust =
                Address::new_hash(NETWORK, protocol, self.gen.bytes("key", &[id as i64], len));
            let base_balance =
                (self.gen.num("balance", &[id as i64]) % 1000 + 100) as u128 * ATTO_PER_FIL;
            self.actors.push(actor_info(id, robust, kind, base_balance));
        }
    }

    fn is_null(&self, height: i64) -> bool {
        let n = self.null_every;
        n > 0 && height != 0 && height != self.start_head && height % n == n - 1
    }

    /// Produces the next epoch: a new head, or a null round.
    pub fn advance(&mut self) {
        let height = self.epoch + 1;
        self.epoch = height;
        if self.is_null(height) {
            self.nulls.push(height);
        } else {
            self.make_tipset(height);
        }
    }

    fn make_tipset(&mut self, height: i64) {
        let gen = self.gen;
        let (parents, parent_weight) = match self.tipsets.range(..height).next_back() {
            Some((_, p)) => (p.tipset.cids.clone(), p.weight),
            None => (Vec::new(), 0),
        };
        let count = if height == 0 {
            1
        } else {
            1 + gen.num("blocks", &[height]) % 3
        } as i64;
        let weight = parent_weight + 10_000 + 100 * count as u128;
        let timestamp = (self.genesis_ms + height as u64 * self.block_ms) / 1000;
        let base_fee = 100 + gen.num("base fee", &[height]) % 900;
        let mut cids = Vec::new();
        let mut blocks = Vec::new();
        let mut messages = Vec::new();
        for b in 0..count {
            let miner = if height == 0 {
                Address::new_id(NETWORK, 0).to_string()
            } else {
                let i = FIRST_MINER_ID + gen.num("miner", &[height, b]) % MINERS;
                Address::new_id(NETWORK, i).to_string()
            };
            let n = if height == 0 {
                0
            } else {
                gen.num("messages", &[height, b]) % 5
            } as i64;
            let (mut bls, mut secp) = (Vec::new(), Vec::new());
            // The first block includes the messages waiting in the pool whose nonces follow on from their senders'
            // (a message after a nonce gap waits for the gap to fill), before its own.
            if b == 0 && height > 0 {
                for mut stored in self.take_includable(height) {
                    stored.height = height;
                    let index = self.messages.len();
                    if let Some(cid) = &stored.message.cid {
                        self.message_index.insert(cid.root.clone(), index);
                    }
                    self.message_index
                        .insert(stored.chain_cid.root.clone(), index);
                    if stored.signed.is_some() {
                        secp.push(index);
                    } else {
                        bls.push(index);
                    }
                    self.messages.push(stored);
                }
            }
            for i in 0..n {
                let index = self.make_message(height, b, i);
                if self.messages[index].signed.is_some() {
                    secp.push(index);
                } else {
                    bls.push(index);
                }
            }
            messages.extend(bls.iter().chain(secp.iter()).copied());
            let header = BlockHeader {
                miner,
                ticket: Some(Ticket {
                    vrf_proof: gen.base64("ticket", &[height, b], 96),
                }),
                election_proof: Some(ElectionProof {
                    win_count: 1,
                    vrf_proof: gen.base64("election", &[height, b], 96),
                }),
                beacon_entries: vec![BeaconEntry {
                    round: 1_000_000 + height as u64,
                    data: gen.base64("beacon", &[height], 96),
                }],
                win_post_proof: vec![PoStProof {
                    post_proof: 3,
                    proof_bytes: gen.base64("winpost", &[height, b], 192),
                }],
                parents: parents.clone(),
                parent_weight: big(parent_weight),
                height,
                parent_state_root: gen.cid("state root", &[height]),
                parent_message_receipts: gen.cid("receipts root", &[height]),
                messages: gen.cid("message meta", &[height, b]),
                bls_aggregate: Some(Signature {
                    r#type: 2,
                    data: gen.base64("bls aggregate", &[height, b], 96),
                }),
                timestamp,
                block_sig: Some(Signature {
                    r#type: 2,
                    data: gen.base64("block sig", &[height, b], 96),
                }),
                fork_signaling: 0,
                parent_base_fee: big(base_fee as u128),
            };
            let cid = gen.cid("block", &[height, b]);
            self.blocks.insert(
                cid.root.clone(),
                StoredBlock {
                    header: header.clone(),
                    bls,
                    secp,
                },
            );
            cids.push(cid);
            blocks.push(header);
        }
        let key = cids.iter().map(|c| c.root.clone()).collect();
        self.keys.insert(key, height);
        self.tipsets.insert(
            height,
            StoredTipSet {
                tipset: TipSet {
                    cids,
                    blocks,
                    height,
                },
                weight,
                messages,
            },
        );
    }

    fn make_message(&mut self, height: i64, block: i64, i: i64) -> usize {
        let gen = self.gen;
        let r = |k: i64| gen.num("message", &[height, block, i, k]);
        let accounts = ACCOUNTS as usize;
        let from = (r(0) % ACCOUNTS) as usize;
        let mut to = (r(1) % (ACCOUNTS - 1)) as usize;
        if to >= from {
            to += 1;
        }
        let nonce = self.actors[from].sent_at.len() as u64;
        self.actors[from].sent_at.push(height);
        debug_assert!(to < accounts);
        let to_addr = if r(2) % 2 == 0 {
            self.actors[to].account.id.clone()
        } else {
            self.actors[to].account.robust.clone()
        };
        let gas_limit = 500_000 + (r(4) % 4_500_000) as i64;
        let cid = gen.cid("message", &[height, block, i]);
        let message = Message {
            version: 0,
            to: to_addr,
            from: self.actors[from].account.robust.clone(),
            nonce,
            value: big((r(3) % (10 * ATTO_PER_FIL as u64)) as u128),
            gas_limit,
            gas_fee_cap: big((100_000 + r(5) % 100_000) as u128),
            gas_premium: big((1 + r(6) % 100_000) as u128),
            method: 0,
            params: None,
            cid: Some(cid.clone()),
        };
        let signed =
            (self.actors[from].account.kind == SimActorKind::SecpAccount).then(|| SignedMessage {
                message: message.clone(),
                signature: Signature {
                    r#type: 1,
                    data: gen.base64("signature", &[height, block, i], 65),
                },
                cid: Some(gen.cid("signed message", &[height, block, i])),
            });
        let chain_cid = match &signed {
            Some(s) => s.cid.clone().expect("set above"),
            None => cid.clone(),
        };
        let receipt = MessageReceipt {
            exit_code: 0,
            r#return: None,
            gas_used: gas_limit * (50 + (r(7) % 40) as i64) / 100,
            events_root: None,
        };
        let index = self.messages.len();
        self.message_index.insert(cid.root, index);
        self.message_index.insert(chain_cid.root.clone(), index);
        self.messages.push(StoredMsg {
            chain_cid,
            message,
            signed,
            height,
            receipt,
            local: false,
            pool_signature: None,
        });
        index
    }

    pub fn head(&self) -> &StoredTipSet {
        self.tipsets
            .values()
            .next_back()
            .expect("the genesis tipset always exists")
    }

    pub fn genesis(&self) -> &TipSet {
        &self.tipsets[&0].tipset
    }

    pub fn null_rounds(&self) -> &[i64] {
        &self.nulls
    }

    pub fn tipset_at(&self, height: i64) -> Option<&TipSet> {
        self.tipsets.get(&height).map(|t| &t.tipset)
    }

    /// The tipset with this key; the empty key is the head.
    pub fn tipset(&self, key: &[Cid]) -> Result<&StoredTipSet, String> {
        if key.is_empty() {
            return Ok(self.head());
        }
        let roots: Vec<String> = key.iter().map(|c| c.root.clone()).collect();
        self.keys
            .get(&roots)
            .map(|h| &self.tipsets[h])
            .ok_or_else(|| tipset_not_found(key))
    }

    /// The tipset at `height` on the chain of `from`; a null round gives the nearest earlier tipset.
    pub fn tipset_by_height(&self, height: i64, from: &[Cid]) -> Result<&TipSet, String> {
        let from = self.tipset(from)?;
        if height < 0 {
            return Err("looking for tipset with negative height".into());
        }
        if height > from.tipset.height {
            return Err("looking for tipset with height greater than start point".into());
        }
        Ok(&self
            .tipsets
            .range(..=height)
            .next_back()
            .expect("the genesis tipset is at height 0")
            .1
            .tipset)
    }

    /// The tipset at `height` on the chain of `from`; a null round gives the nearest later tipset.
    pub fn tipset_after_height(&self, height: i64, from: &[Cid]) -> Result<&TipSet, String> {
        let from = self.tipset(from)?;
        if height < 0 {
            return Err("looking for tipset with negative height".into());
        }
        if height > from.tipset.height {
            return Err("looking for tipset with height greater than start point".into());
        }
        Ok(&self
            .tipsets
            .range(height..)
            .next()
            .expect("the start tipset is at or above height")
            .1
            .tipset)
    }

    pub fn block(&self, cid: &Cid) -> Result<&BlockHeader, String> {
        self.stored_block(cid).map(|b| &b.header)
    }

    fn stored_block(&self, cid: &Cid) -> Result<&StoredBlock, String> {
        self.blocks
            .get(&cid.root)
            .ok_or_else(|| object_not_found(cid))
    }

    pub fn block_messages(&self, cid: &Cid) -> Result<BlockMessages, String> {
        let block = self.stored_block(cid)?;
        let bls: Vec<&StoredMsg> = block.bls.iter().map(|i| &self.messages[*i]).collect();
        let secp: Vec<&StoredMsg> = block.secp.iter().map(|i| &self.messages[*i]).collect();
        Ok(BlockMessages {
            bls_messages: bls.iter().map(|m| m.message.clone()).collect(),
            secpk_messages: secp
                .iter()
                .map(|m| m.signed.clone().expect("secp messages are signed"))
                .collect(),
            cids: bls
                .iter()
                .chain(secp.iter())
                .map(|m| m.chain_cid.clone())
                .collect(),
        })
    }

    /// A message by its CID (signed or unsigned); the unsigned message, as Lotus returns it.
    pub fn message(&self, cid: &Cid) -> Result<&Message, String> {
        if let Some(i) = self.message_index.get(&cid.root) {
            return Ok(&self.messages[*i].message);
        }
        self.pending
            .iter()
            .find(|m| m.chain_cid == *cid || m.message.cid.as_ref() == Some(cid))
            .map(|m| &m.message)
            .ok_or_else(|| object_not_found(cid))
    }

    fn parent_tipset(&self, block: &Cid) -> Result<Option<&StoredTipSet>, String> {
        let header = self.block(block)?;
        if header.parents.is_empty() {
            return Ok(None);
        }
        self.tipset(&header.parents).map(Some)
    }

    /// `[{Cid, Message}]` of the messages of the block's parent tipset.
    pub fn parent_messages(&self, block: &Cid) -> Result<serde_json::Value, String> {
        Ok(match self.parent_tipset(block)? {
            Some(ts) => self.messages_json(&ts.messages),
            None => serde_json::json!([]),
        })
    }

    /// The receipts of the messages of the block's parent tipset, in the same order.
    pub fn parent_receipts(&self, block: &Cid) -> Result<Vec<MessageReceipt>, String> {
        Ok(match self.parent_tipset(block)? {
            Some(ts) => ts
                .messages
                .iter()
                .map(|i| self.messages[*i].receipt.clone())
                .collect(),
            None => Vec::new(),
        })
    }

    /// `[{Cid, Message}]` of the messages of a tipset.
    pub fn tipset_messages(&self, key: &[Cid]) -> Result<serde_json::Value, String> {
        let ts = self.tipset(key)?;
        Ok(self.messages_json(&ts.messages))
    }

    fn messages_json(&self, indices: &[usize]) -> serde_json::Value {
        indices
            .iter()
            .map(|i| {
                let m = &self.messages[*i];
                serde_json::json!({"Cid": m.chain_cid, "Message": m.message})
            })
            .collect()
    }

    /// Where the message was executed, looking back from `from`; `None` when not executed yet (or beyond `limit`
    /// epochs back, when `limit` is not negative).
    pub fn search_message(
        &self,
        from: &[Cid],
        cid: &Cid,
        limit: i64,
    ) -> Result<Option<MsgLookup>, String> {
        let from = self.tipset(from)?;
        let Some(index) = self.message_index.get(&cid.root) else {
            if self.message(cid).is_ok() {
                // In the pool, not executed yet.
                return Ok(None);
            }
            return Err(format!("failed to load message: {}", object_not_found(cid)));
        };
        let msg = &self.messages[*index];
        let Some((&height, executed)) = self.tipsets.range(msg.height + 1..).next() else {
            return Ok(None);
        };
        if height > from.tipset.height || (limit >= 0 && height < from.tipset.height - limit) {
            return Ok(None);
        }
        Ok(Some(MsgLookup {
            message: msg.chain_cid.clone(),
            receipt: msg.receipt.clone(),
            return_dec: serde_json::json!({}),
            tip_set: executed.tipset.cids.clone(),
            height,
        }))
    }

    /// Puts a message into the pool, as `MpoolPushMessage` does: the sender's next nonce and gas values are filled
    /// in, and it is signed with the sender's simulated key (a deterministic signature of the right type and size,
    /// not a real one). The next tipset includes it; its receipt then shows exit code 0.
    pub fn push_message(&mut self, mut message: Message) -> Result<SignedMessage, String> {
        let from =
            Address::parse(&message.from).map_err(|e| format!("invalid from address: {e}"))?;
        let sender = self
            .actors
            .iter()
            .position(|a| a.matches(&from))
            .ok_or_else(|| format!("resolution lookup failed ({from}): actor not found"))?;
        let kind = self.actors[sender].account.kind;
        if kind == SimActorKind::Miner {
            return Err(format!(
                "sender {from} is not an account actor: only accounts can send messages"
            ));
        }
        Address::parse(&message.to).map_err(|e| format!("invalid to address: {e}"))?;
        let robust = self.actors[sender].account.robust.clone();
        message.nonce = self.next_nonce(sender);
        message.from = robust;
        if message.gas_limit <= 0 {
            message.gas_limit = 2_000_000;
        }
        if message.gas_fee_cap.0 == "0" {
            message.gas_fee_cap = big(150_000);
        }
        if message.gas_premium.0 == "0" {
            message.gas_premium = big(50_000);
        }
        self.pushed += 1;
        let n = self.pushed;
        let cid = self.gen.cid("pushed message", &[n]);
        message.cid = Some(cid.clone());
        let (signature, chain_cid) = match kind {
            SimActorKind::SecpAccount => (
                Signature {
                    r#type: 1,
                    data: self.gen.base64("pushed signature", &[n], 65),
                },
                self.gen.cid("pushed signed message", &[n]),
            ),
            _ => (
                Signature {
                    r#type: 2,
                    data: self.gen.base64("pushed signature", &[n], 96),
                },
                cid.clone(),
            ),
        };
        let signed = SignedMessage {
            message: message.clone(),
            signature,
            cid: Some(chain_cid.clone()),
        };
        let receipt = MessageReceipt {
            exit_code: 0,
            r#return: None,
            gas_used: message.gas_limit * 3 / 4,
            events_root: None,
        };
        self.pending.push(StoredMsg {
            chain_cid,
            message,
            signed: (kind == SimActorKind::SecpAccount).then(|| signed.clone()),
            height: -1,
            receipt,
            local: true,
            pool_signature: (kind != SimActorKind::SecpAccount).then(|| signed.signature.clone()),
        });
        Ok(signed)
    }

    /// The messages waiting in the pool, signed, in arrival order.
    pub fn pending(&self) -> Vec<SignedMessage> {
        self.pending.iter().map(pool_entry).collect()
    }

    /// The messages waiting in the pool from the sender at `addr`, in arrival order.
    pub fn pending_from(&self, addr: &Address) -> Result<Vec<SignedMessage>, String> {
        let sender = self.resolve(addr)?.account.robust.clone();
        Ok(self
            .pending
            .iter()
            .filter(|m| m.message.from == sender)
            .map(pool_entry)
            .collect())
    }

    /// The messages of the pool the next block would include, in the order it would include them.
    pub fn selectable(&self) -> Vec<SignedMessage> {
        self.includable()
            .into_iter()
            .map(|i| pool_entry(&self.pending[i]))
            .collect()
    }

    fn sender_index(&self, from: &str) -> Option<usize> {
        let addr = Address::parse(from).ok()?;
        self.actors.iter().position(|x| x.matches(&addr))
    }

    /// The next nonce of a sender: its messages on chain, then those in the pool that follow on without a gap.
    fn next_nonce(&self, sender: usize) -> u64 {
        let robust = &self.actors[sender].account.robust;
        let mut next = self.actors[sender].sent_at.len() as u64;
        while self
            .pending
            .iter()
            .any(|m| &m.message.from == robust && m.message.nonce == next)
        {
            next += 1;
        }
        next
    }

    /// The nonce the next message of the actor at `addr` takes (`MpoolGetNonce`).
    pub fn nonce_for(&self, addr: &Address) -> Result<u64, String> {
        self.resolve(addr)?;
        let sender = self
            .actors
            .iter()
            .position(|x| x.matches(addr))
            .expect("resolved above");
        Ok(self.next_nonce(sender))
    }

    /// The base fee of the head, in attoFIL.
    pub fn base_fee(&self) -> u128 {
        self.head()
            .tipset
            .blocks
            .first()
            .and_then(|b| b.parent_base_fee.0.parse().ok())
            .unwrap_or(100)
    }

    /// The indices of the pool's messages that a block can include, in order: per sender, the nonces that
    /// follow on from the chain's without a gap.
    fn includable(&self) -> Vec<usize> {
        let mut next: HashMap<usize, u64> = HashMap::new();
        let mut taken = vec![false; self.pending.len()];
        let mut order = Vec::new();
        loop {
            let mut progressed = false;
            for (i, m) in self.pending.iter().enumerate() {
                if taken[i] {
                    continue;
                }
                let Some(s) = self.sender_index(&m.message.from) else {
                    continue;
                };
                let expected = next.entry(s).or_insert(self.actors[s].sent_at.len() as u64);
                if m.message.nonce == *expected {
                    *expected += 1;
                    taken[i] = true;
                    order.push(i);
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
        }
        order
    }

    /// Takes the messages a block at `height` includes out of the pool; messages whose nonce the chain has
    /// already used are dropped, the others wait.
    fn take_includable(&mut self, height: i64) -> Vec<StoredMsg> {
        let order = self.includable();
        let mut slots: Vec<Option<StoredMsg>> = std::mem::take(&mut self.pending)
            .into_iter()
            .map(Some)
            .collect();
        let mut out = Vec::with_capacity(order.len());
        for i in order {
            let Some(m) = slots[i].take() else { continue };
            if let Some(s) = self.sender_index(&m.message.from) {
                self.actors[s].sent_at.push(height);
            }
            out.push(m);
        }
        for m in slots.into_iter().flatten() {
            let stale = self
                .sender_index(&m.message.from)
                .is_none_or(|s| m.message.nonce < self.actors[s].sent_at.len() as u64);
            if !stale {
                self.pending.push(m);
            }
        }
        out
    }

    /// A CID for a JSON value, from its content.
    fn content_cid(&self, tag: &str, value: &impl serde::Serialize) -> Cid {
        let bytes = serde_json::to_vec(value).expect("the simulated node's types serialize");
        let mut state = blake2b_simd::Params::new().hash_length(32).to_state();
        state.update(&self.gen.seed.to_le_bytes());
        state.update(tag.as_bytes());
        state.update(&bytes);
        let mut digest = [0u8; 32];
        digest.copy_from_slice(state.finalize().as_bytes());
        Cid::new(cid_from_digest(&digest))
    }

    /// The CID of an unsigned message, from its content (its `CID` field aside).
    pub fn message_cid(&self, message: &Message) -> Cid {
        let mut m = message.clone();
        m.cid = None;
        self.content_cid("message", &m)
    }

    /// The CID of a signed message, from its content (its `CID` fields aside).
    pub fn signed_cid(&self, signed: &SignedMessage) -> Cid {
        let mut s = signed.clone();
        s.cid = None;
        s.message.cid = Some(self.message_cid(&s.message));
        self.content_cid("signed message", &s)
    }

    /// Puts a message signed elsewhere into the pool, as `MpoolPush` does: the sender must be an account, the
    /// signature of its key's type and size, the nonce not used yet (a pending message with the same nonce is
    /// replaced when the new one pays at least `replace_ratio` times its premium); an untrusted push also refuses
    /// nonce gaps of more than four. Answers the CID the message has on chain.
    pub fn push_signed(
        &mut self,
        mut signed: SignedMessage,
        local: bool,
        replace_ratio: f64,
    ) -> Result<Cid, String> {
        let from = Address::parse(&signed.message.from)
            .map_err(|e| format!("invalid from address: {e}"))?;
        let sender = self
            .actors
            .iter()
            .position(|a| a.matches(&from))
            .ok_or_else(|| format!("resolution lookup failed ({from}): actor not found"))?;
        let kind = self.actors[sender].account.kind;
        if kind == SimActorKind::Miner {
            return Err(format!(
                "sender {from} is not an account actor: only accounts can send messages"
            ));
        }
        Address::parse(&signed.message.to).map_err(|e| format!("invalid to address: {e}"))?;
        if signed.message.gas_limit <= 0 {
            return Err(
                "message is not valid: 'GasLimit' field cannot be less than or equal to 0".into(),
            );
        }
        let (want_type, want_len, name) = match kind {
            SimActorKind::SecpAccount => (1, 65, "secp256k1"),
            _ => (2, 96, "bls"),
        };
        let len = base64::engine::general_purpose::STANDARD
            .decode(&signed.signature.data)
            .map(|b| b.len())
            .unwrap_or(0);
        signed.message.from = self.actors[sender].account.robust.clone();
        signed.message.cid = None;
        let cid = self.message_cid(&signed.message);
        if signed.signature.r#type != want_type || len != want_len {
            return Err(format!(
                "failed to validate signature of message {}: the sender's key is {name}, which signs with type {want_type} and {want_len} bytes; got type {} and {len} bytes",
                cid.root, signed.signature.r#type
            ));
        }
        let on_chain = self.actors[sender].sent_at.len() as u64;
        let nonce = signed.message.nonce;
        if nonce < on_chain {
            return Err(format!(
                "minimum expected nonce is {on_chain}: message nonce too low"
            ));
        }
        if !local && nonce > self.next_nonce(sender) + 4 {
            return Err(format!(
                "message nonce {nonce} has too big a gap from the expected nonce {}: unfulfilled nonce gap",
                self.next_nonce(sender)
            ));
        }
        signed.message.cid = Some(cid.clone());
        let chain_cid = match kind {
            SimActorKind::SecpAccount => self.signed_cid(&signed),
            _ => cid.clone(),
        };
        if self.message_index.contains_key(&chain_cid.root)
            || self.pending.iter().any(|m| m.chain_cid == chain_cid)
        {
            return Err(format!(
                "message {} is already in the pool or on chain",
                chain_cid.root
            ));
        }
        let robust = signed.message.from.clone();
        if let Some(i) = self
            .pending
            .iter()
            .position(|m| m.message.from == robust && m.message.nonce == nonce)
        {
            let premium = |b: &BigInt| b.0.parse::<f64>().unwrap_or(0.0);
            let old = premium(&self.pending[i].message.gas_premium);
            if premium(&signed.message.gas_premium) < old * replace_ratio {
                return Err(format!(
                    "failed to add message to the pool: replace by fee has too low GasPremium (at least {} needed)",
                    (old * replace_ratio).ceil()
                ));
            }
            self.pending.remove(i);
        }
        signed.cid = Some(chain_cid.clone());
        let receipt = MessageReceipt {
            exit_code: 0,
            r#return: None,
            gas_used: signed.message.gas_limit * 3 / 4,
            events_root: None,
        };
        let is_secp = kind == SimActorKind::SecpAccount;
        self.pending.push(StoredMsg {
            chain_cid: chain_cid.clone(),
            message: signed.message.clone(),
            pool_signature: (!is_secp).then(|| signed.signature.clone()),
            signed: is_secp.then_some(signed),
            height: -1,
            receipt,
            local,
        });
        Ok(chain_cid)
    }

    /// Empties the pool (`MpoolClear`): every message when `local`, else only those not pushed through this node.
    pub fn clear_pending(&mut self, local: bool) {
        if local {
            self.pending.clear();
        } else {
            self.pending.retain(|m| m.local);
        }
    }

    pub fn accounts(&self) -> Vec<SimAccount> {
        self.actors.iter().map(|a| a.account.clone()).collect()
    }

    fn resolve(&self, addr: &Address) -> Result<&ActorInfo, String> {
        let found = self.actors.iter().find(|a| a.matches(addr));
        found.ok_or_else(|| format!("resolution lookup failed ({addr}): actor not found"))
    }

    /// The actor at `addr` in the state of the tipset `key`.
    pub fn actor(&self, addr: &Address, key: &[Cid]) -> Result<Actor, String> {
        let height = self.tipset(key)?.tipset.height;
        let actor = self.resolve(addr)?;
        let nonce = match actor.account.kind {
            SimActorKind::Miner => 0,
            _ => actor.sent_at.partition_point(|h| *h < height) as u64,
        };
        let growth = height as u128 * 1_000_000_000 * (actor.id % 17 + 1) as u128;
        Ok(Actor {
            code: match actor.account.kind {
                SimActorKind::Miner => self.miner_code.clone(),
                _ => self.account_code.clone(),
            },
            head: self.gen.cid("actor head", &[actor.id as i64, height]),
            nonce,
            balance: big(actor.base_balance + growth),
            delegated_address: None,
        })
    }

    pub fn lookup_id(&self, addr: &Address, key: &[Cid]) -> Result<String, String> {
        self.tipset(key)?;
        Ok(self.resolve(addr)?.account.id.clone())
    }

    pub fn lookup_robust(&self, addr: &Address, key: &[Cid]) -> Result<String, String> {
        self.tipset(key)?;
        Ok(self.resolve(addr)?.account.robust.clone())
    }

    /// The key address of an account; an error for any other actor.
    pub fn account_key(&self, addr: &Address, key: &[Cid]) -> Result<String, String> {
        self.tipset(key)?;
        let actor = self.resolve(addr)?;
        match actor.account.kind {
            SimActorKind::Miner => Err(format!(
                "failed to get account key for {addr}: actor {} is not an account actor (code {})",
                actor.account.id, self.miner_code.root
            )),
            _ => Ok(actor.account.robust.clone()),
        }
    }

    pub fn list_actors(&self, key: &[Cid]) -> Result<Vec<String>, String> {
        self.tipset(key)?;
        Ok(self.actors.iter().map(|a| a.account.id.clone()).collect())
    }

    pub fn list_miners(&self, key: &[Cid]) -> Result<Vec<String>, String> {
        self.tipset(key)?;
        Ok(self
            .actors
            .iter()
            .filter(|a| a.account.kind == SimActorKind::Miner)
            .map(|a| a.account.id.clone())
            .collect())
    }
}

impl ActorInfo {
    fn matches(&self, addr: &Address) -> bool {
        match addr.protocol {
            0 => addr.id == Some(self.id),
            p => p == self.robust.protocol && addr.payload == self.robust.payload,
        }
    }
}

/// A message of the pool with its signature, as `MpoolPending` lists it.
fn pool_entry(m: &StoredMsg) -> SignedMessage {
    match &m.signed {
        Some(s) => s.clone(),
        None => SignedMessage {
            message: m.message.clone(),
            signature: m.pool_signature.clone().unwrap_or(Signature {
                r#type: 2,
                data: String::new(),
            }),
            cid: Some(m.chain_cid.clone()),
        },
    }
}

fn actor_info(id: u64, robust: Address, kind: SimActorKind, base_balance: u128) -> ActorInfo {
    ActorInfo {
        account: SimAccount {
            id: Address::new_id(NETWORK, id).to_string(),
            robust: robust.to_string(),
            kind,
        },
        id,
        robust,
        base_balance,
        sent_at: Vec::new(),
    }
}
