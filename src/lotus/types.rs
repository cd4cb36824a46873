//! The Lotus types the gateway's routes return, in Lotus's JSON shapes (PascalCase fields, CIDs as `{"/": ".."}`,
//! big integers as decimal strings, bytes as base64). They document the responses in the OpenAPI spec and are what
//! the simulated node answers with, so the two cannot drift apart.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A CID in Lotus's JSON form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"/": "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c"}))]
pub struct Cid {
    /// The CID as a multibase string.
    #[serde(rename = "/")]
    pub root: String,
}

impl Cid {
    pub fn new(s: impl Into<String>) -> Self {
        Cid { root: s.into() }
    }
}

/// A big integer (attoFIL, weights, fees) as a decimal string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(value_type = String, example = "1000000000000000000", pattern = "^-?[0-9]+$")]
pub struct BigInt(pub String);

/// A Filecoin address string, e.g. `f01234` or `f1...`.
pub type Address = String;

/// A chain epoch.
pub type ChainEpoch = i64;

/// A signature: `Type` 1 is secp256k1, 2 is BLS, 3 is delegated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Signature {
    #[schema(example = 2)]
    pub r#type: u8,
    /// The signature bytes, base64.
    #[schema(format = Byte, example = "krFATGA0OBu/kFwtXsThVtKCkppnU7045uTURCeiOeJttxuXfx3wqJrLkCytnJFWFLVC+tiVWI4BxC3wqc9r6eAlNr9dEBx+3KwML/RFG/b5grmknLpGWn7g1EB/2T4y")]
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ticket {
    /// base64
    #[serde(rename = "VRFProof")]
    #[schema(format = Byte)]
    pub vrf_proof: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ElectionProof {
    #[serde(rename = "WinCount")]
    pub win_count: i64,
    #[serde(rename = "VRFProof")]
    #[schema(format = Byte)]
    pub vrf_proof: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BeaconEntry {
    pub round: u64,
    #[schema(format = Byte)]
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PoStProof {
    #[serde(rename = "PoStProof")]
    pub post_proof: i64,
    #[schema(format = Byte)]
    pub proof_bytes: String,
}

/// A block header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BlockHeader {
    /// The ID address of the miner that produced the block.
    #[schema(example = "f01938223")]
    pub miner: Address,
    pub ticket: Option<Ticket>,
    pub election_proof: Option<ElectionProof>,
    pub beacon_entries: Vec<BeaconEntry>,
    #[serde(rename = "WinPoStProof")]
    pub win_post_proof: Vec<PoStProof>,
    pub parents: Vec<Cid>,
    pub parent_weight: BigInt,
    #[schema(example = 4863283)]
    pub height: ChainEpoch,
    pub parent_state_root: Cid,
    pub parent_message_receipts: Cid,
    pub messages: Cid,
    #[serde(rename = "BLSAggregate")]
    pub bls_aggregate: Option<Signature>,
    /// Unix seconds.
    #[schema(example = 1744204890)]
    pub timestamp: u64,
    pub block_sig: Option<Signature>,
    pub fork_signaling: u64,
    pub parent_base_fee: BigInt,
}

/// A tipset: the blocks of one epoch that share parents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TipSet {
    /// The tipset key: the CIDs of its blocks.
    pub cids: Vec<Cid>,
    pub blocks: Vec<BlockHeader>,
    #[schema(example = 4863283)]
    pub height: ChainEpoch,
}

/// An unsigned message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Message {
    #[schema(example = 0)]
    pub version: u64,
    #[schema(example = "f01234")]
    pub to: Address,
    #[schema(example = "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za")]
    pub from: Address,
    #[schema(example = 42)]
    pub nonce: u64,
    /// attoFIL
    pub value: BigInt,
    #[schema(example = 1000000)]
    pub gas_limit: i64,
    pub gas_fee_cap: BigInt,
    pub gas_premium: BigInt,
    #[schema(example = 0)]
    pub method: u64,
    /// base64 of the CBOR parameters.
    #[schema(format = Byte, example = "")]
    pub params: Option<String>,
    /// The message's CID.
    #[serde(rename = "CID", default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<Cid>,
}

/// A message with its signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SignedMessage {
    pub message: Message,
    pub signature: Signature,
    #[serde(rename = "CID", default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<Cid>,
}

/// The messages of a block: BLS-signed, secp256k1-signed, and the CIDs of both in block order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BlockMessages {
    pub bls_messages: Vec<Message>,
    pub secpk_messages: Vec<SignedMessage>,
    pub cids: Vec<Cid>,
}

/// The result of executing a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MessageReceipt {
    #[schema(example = 0)]
    pub exit_code: i64,
    #[schema(format = Byte, example = "")]
    pub r#return: Option<String>,
    #[schema(example = 543210)]
    pub gas_used: i64,
    pub events_root: Option<Cid>,
}

/// Where a message was executed and its receipt (`StateSearchMsg`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MsgLookup {
    /// The message found; it may differ from the one asked for when that was replaced.
    pub message: Cid,
    pub receipt: MessageReceipt,
    /// The decoded return value, when the node could decode it.
    #[schema(value_type = Object)]
    pub return_dec: serde_json::Value,
    /// The tipset whose state includes the message's execution.
    pub tip_set: Vec<Cid>,
    pub height: ChainEpoch,
}

/// An actor in the state tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Actor {
    /// The CID of the actor's code.
    pub code: Cid,
    /// The root of the actor's state.
    pub head: Cid,
    pub nonce: u64,
    /// attoFIL
    pub balance: BigInt,
    /// The f4 address of an actor created through the EVM, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegated_address: Option<Address>,
}

/// What `Filecoin.Version` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct NodeVersion {
    /// The node's version string.
    #[schema(example = "1.36.2+mainnet+git.5a8c5d9")]
    pub version: String,
    /// The API version, encoded as Lotus encodes it (major << 16 | minor << 8 | patch).
    #[serde(rename = "APIVersion")]
    #[schema(example = 131840)]
    pub api_version: u32,
    /// The network's block time in seconds.
    #[schema(example = 30)]
    pub block_delay: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// The `Height` of a tipset reply, read without decoding the rest.
#[derive(Debug, Deserialize)]
pub struct HeightOnly {
    #[serde(rename = "Height")]
    pub height: i64,
}

/// A tipset's height and its blocks' timestamps, read without decoding the rest.
#[derive(Debug, Deserialize)]
pub struct HeightAndTime {
    #[serde(rename = "Height")]
    pub height: i64,
    #[serde(rename = "Blocks")]
    blocks: Vec<BlockTime>,
}

#[derive(Debug, Deserialize)]
struct BlockTime {
    #[serde(rename = "Timestamp")]
    timestamp: u64,
}

impl HeightAndTime {
    /// The timestamp of the tipset's first block (seconds since 1970).
    pub fn timestamp(&self) -> Option<u64> {
        self.blocks.first().map(|b| b.timestamp)
    }
}
