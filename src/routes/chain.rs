//! Tipsets and blocks.

use crate::routes::ServiceConfig;
use actix_web::{delete, get, post, web, HttpResponse};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::body::Body;
use super::extract::{BlockPath, EventsRootPath, HeightPath, ObjectPath, TipsetPath};
use super::lotus_json;
use super::page::{self, Page, PageOf};
use super::params;
use crate::auth::{Admin, Authorized, Read, Write};
use crate::error::ApiError;
use crate::lotus::types::{BlockHeader, BlockMessages, Cid, Message, MessageReceipt, TipSet};
use crate::state::AppState;

/// The CID used in examples.
const CID_EXAMPLE: &str = "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c";

/// The current head of the chain.
///
/// The tipset the node considers the head now (`Filecoin.ChainHead`). While the node's `ChainNotify` stream is
/// open the gateway answers from it, without a call to the node.
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainHead"]))),
    responses((status = 200, description = "The head tipset", body = TipSet)),
    security(("lotus_token" = ["read"]))
)]
#[get("/head")]
pub async fn get_chain_head(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if let Some(head) = state.streamed_head() {
        state.node.guard(&auth.caller, "Filecoin.ChainHead")?;
        return Ok(lotus_json(head, false));
    }
    let head = state
        .node
        .call_read(&auth.caller, "Filecoin.ChainHead", json!([]), false)
        .await?;
    if let Ok(h) = serde_json::from_str::<params::HeightOnly>(&head) {
        state.head.observe(h.height);
    }
    Ok(lotus_json(head, false))
}

/// What a height that is a null round selects, for the tipset-by-height route.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NullRoundOption {
    /// What a height that is a null round gives: `error` (the default: 404 null_round), `previous` (the nearest
    /// earlier tipset, `Filecoin.ChainGetTipSetByHeight`) or `next` (the nearest later one,
    /// `Filecoin.ChainGetTipSetAfterHeight`).
    #[param(value_type = Option<params::NullRound>, example = "next")]
    pub null_round: Option<String>,
}

/// A tipset by height.
///
/// The tipset at a chain epoch (`Filecoin.ChainGetTipSetByHeight`). A height at which no blocks were produced
/// (a null round) is answered with 404 `null_round` rather than with another tipset, unless `null_round` asks for
/// the nearest earlier tipset or the nearest later one (`Filecoin.ChainGetTipSetAfterHeight`); a height beyond the
/// head is answered with 400.
#[utoipa::path(
    tag = "Chain",
    extensions(
        ("x-lotus-methods" = json!(["Filecoin.ChainGetTipSetByHeight", "Filecoin.ChainGetTipSetAfterHeight", "Filecoin.ChainHead"])),
        ("x-lotus-serves" = json!(["Filecoin.ChainGetTipSetByHeight", "Filecoin.ChainGetTipSetAfterHeight"]))
    ),
    params(HeightPath, NullRoundOption),
    responses((status = 200, description = "The tipset at that height", body = TipSet)),
    security(("lotus_token" = ["read"]))
)]
#[get("/{height}")]
pub async fn get_tipset_by_height(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    HeightPath { height }: HeightPath,
    query: web::Query<NullRoundOption>,
) -> Result<HttpResponse, ApiError> {
    let policy = params::NullRound::parse(query.null_round.as_deref())?;
    let (tipset, immutable) =
        params::tipset_at_height_with(&state, &auth.caller, height, policy).await?;
    Ok(lotus_json(tipset, immutable))
}

/// A tipset by key.
///
/// The tipset whose blocks have these CIDs (`Filecoin.ChainGetTipSet`).
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetTipSet"]))),
    params(TipsetPath),
    responses((status = 200, description = "The tipset", body = TipSet)),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn get_tipset_by_key(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    TipsetPath { key }: TipsetPath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.ChainGetTipSet",
        json!([key]),
        true,
    )
    .await
}

/// A block header by CID.
///
/// The header of a block (`Filecoin.ChainGetBlock`).
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetBlock"]))),
    params(BlockPath),
    responses((status = 200, description = "The block header", body = BlockHeader)),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn get_block(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    BlockPath { cid }: BlockPath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.ChainGetBlock",
        json!([cid]),
        true,
    )
    .await
}

/// The messages of a block.
///
/// The BLS and secp256k1 messages a block includes, and all their CIDs in block order
/// (`Filecoin.ChainGetBlockMessages`).
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetBlockMessages"]))),
    params(BlockPath),
    responses((status = 200, description = "The block's messages", body = BlockMessages)),
    security(("lotus_token" = ["read"]))
)]
#[get("/messages")]
pub async fn get_block_messages(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    BlockPath { cid }: BlockPath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.ChainGetBlockMessages",
        json!([cid]),
        true,
    )
    .await
}

/// The genesis tipset.
///
/// The tipset at height 0 (`Filecoin.ChainGetGenesis`); it never changes.
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetGenesis"]))),
    responses((status = 200, description = "The genesis tipset", body = TipSet)),
    security(("lotus_token" = ["read"]))
)]
#[get("/genesis")]
pub async fn get_chain_genesis(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.ChainGetGenesis",
        json!([]),
        true,
    )
    .await
}

/// The latest finalized tipset.
///
/// The tipset at the end of the last round finalized by F3 or, where F3 is not running, the tipset 900 epochs
/// below the head (`Filecoin.ChainGetFinalizedTipSet`). State read at it will not change.
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetFinalizedTipSet"]))),
    responses((status = 200, description = "The latest finalized tipset", body = TipSet)),
    security(("lotus_token" = ["read"]))
)]
#[get("/finalized")]
pub async fn get_finalized_tipset(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.ChainGetFinalizedTipSet",
        json!([]),
        false,
    )
    .await
}

/// A message of a tipset, with the CID it has on chain.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ChainMessage {
    /// The CID of the message as included: the signed message's CID for a secp256k1 message.
    pub cid: Cid,
    /// The unsigned message.
    pub message: Message,
}

/// The messages of a tipset.
///
/// The messages a tipset includes, de-duplicated, in execution order (`Filecoin.ChainGetMessagesInTipset`), a
/// page at a time.
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetMessagesInTipset", "Filecoin.ChainGetTipSetByHeight", "Filecoin.ChainGetTipSetAfterHeight", "Filecoin.ChainGetTipSet", "Filecoin.ChainHead"]))),
    params(("key" = String, Path, description = "The tipset key: its block CIDs, separated by commas", pattern = "^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$",
        example = "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c"), Page),
    responses((status = 200, description = "A page of the tipset's messages", body = PageOf<ChainMessage>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/messages")]
pub async fn list_tipset_messages(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    params::tipset_key("key", &path)?;
    page.limit()?;
    let at = params::AtTipset {
        tipset: Some(path.into_inner()),
        ..Default::default()
    };
    page::list(
        &state,
        &auth.caller,
        "Filecoin.ChainGetMessagesInTipset",
        |key| json!([key]),
        page::Shape::Array,
        &at,
        &page,
    )
    .await
}

/// The weight of a tipset.
///
/// The chain weight at a tipset, the measure forks are chosen by (`Filecoin.ChainTipSetWeight`), as a decimal
/// string.
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainTipSetWeight"]))),
    params(TipsetPath),
    responses((status = 200, description = "The weight, as a JSON string of decimal digits", body = String,
        content_type = "application/json", example = json!("3405880"))),
    security(("lotus_token" = ["read"]))
)]
#[get("/weight")]
pub async fn get_tipset_weight(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    TipsetPath { key }: TipsetPath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.ChainTipSetWeight",
        json!([key]),
        true,
    )
    .await
}

/// The messages of a block's parent tipset.
///
/// The messages executed before a block: those of its parent tipset, in execution order
/// (`Filecoin.ChainGetParentMessages`).
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetParentMessages"]))),
    params(BlockPath),
    responses((status = 200, description = "The parent tipset's messages", body = Vec<ChainMessage>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/parent-messages")]
pub async fn list_block_parent_messages(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    BlockPath { cid }: BlockPath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.ChainGetParentMessages",
        json!([cid]),
        true,
    )
    .await
}

/// The receipts of a block's parent messages.
///
/// The receipts of the messages of a block's parent tipset, in the same order as its parent messages
/// (`Filecoin.ChainGetParentReceipts`).
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetParentReceipts"]))),
    params(BlockPath),
    responses((status = 200, description = "The receipts", body = Vec<MessageReceipt>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/parent-receipts")]
pub async fn list_block_parent_receipts(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    BlockPath { cid }: BlockPath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.ChainGetParentReceipts",
        json!([cid]),
        true,
    )
    .await
}

/// The two ends of a path through the chain.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PathEnds {
    /// The tipset the path starts at: its block CIDs, separated by commas.
    #[param(value_type = String, pattern = "^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$", example = "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c")]
    pub from: Option<String>,
    /// The tipset the path ends at: its block CIDs, separated by commas.
    #[param(value_type = String, pattern = "^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$", example = "bafy2bzacebp3shtrn43k7g3unredz7fxn4gj533d3o43tqn2p2ipxxhrvchve")]
    pub to: Option<String>,
}

/// One step of a path through the chain.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct HeadChange {
    /// `revert` (the tipset is left) or `apply` (the tipset is entered).
    #[schema(example = "apply")]
    pub r#type: String,
    /// The tipset.
    pub val: TipSet,
}

/// The path between two tipsets.
///
/// The tipsets to revert and then apply to go from one tipset to another (`Filecoin.ChainGetPath`), a page at a
/// time; the list is pinned to the head when first read.
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetPath", "Filecoin.ChainGetTipSetByHeight", "Filecoin.ChainGetTipSetAfterHeight", "Filecoin.ChainGetTipSet", "Filecoin.ChainHead"]))),
    params(PathEnds, Page),
    responses((status = 200, description = "A page of the path", body = PageOf<HeadChange>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/path")]
pub async fn list_chain_path(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ends: web::Query<PathEnds>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let from = ends
        .from
        .as_deref()
        .ok_or_else(|| ApiError::invalid_parameter("the query parameter from is required"))?;
    let to = ends
        .to
        .as_deref()
        .ok_or_else(|| ApiError::invalid_parameter("the query parameter to is required"))?;
    let from = params::tipset_key("from", from)?;
    let to = params::tipset_key("to", to)?;
    page.limit()?;
    page::list(
        &state,
        &auth.caller,
        "Filecoin.ChainGetPath",
        // The path between two explicit tipsets does not depend on the head the page is pinned to.
        |_| json!([from, to]),
        page::Shape::Array,
        &params::AtTipset::default(),
        &page,
    )
    .await
}

/// One entry of an event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct EventEntry {
    /// Indexing flags.
    #[schema(example = 3)]
    pub flags: u8,
    #[schema(example = "t1")]
    pub key: String,
    /// The IPLD codec of the value (0x55: raw).
    #[schema(example = 85)]
    pub codec: u64,
    /// The value, base64.
    #[schema(example = "AAAAAAAAA+g=")]
    pub value: String,
}

/// An actor event.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Event {
    /// The actor ID of the emitter.
    #[schema(example = 1000)]
    pub emitter: u64,
    pub entries: Vec<EventEntry>,
}

/// The events under an events root.
///
/// The actor events stored under an event AMT root, e.g. a receipt's `EventsRoot` (`Filecoin.ChainGetEvents`).
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetEvents"]))),
    params(EventsRootPath),
    responses((status = 200, description = "The events", body = Vec<Event>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/events/{cid}")]
pub async fn list_chain_events(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    EventsRootPath { cid }: EventsRootPath,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.ChainGetEvents",
        json!([cid]),
        true,
    )
    .await
}

/// An IPLD path to resolve.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NodePath {
    /// The path: a CID, optionally after `/ipfs/`, then field names or list indexes separated by `/`.
    #[param(value_type = String, pattern = "^(/ipfs/)?[A-Za-z0-9]+(/[A-Za-z0-9_.-]+)*/?$",
        example = "bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c/Parents/0")]
    pub path: Option<String>,
}

/// A resolved IPLD node.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct IpldNode {
    /// The CID of the object the path ends in.
    pub cid: Cid,
    /// The value at the path.
    #[schema(value_type = Object)]
    pub obj: serde_json::Value,
}

/// An IPLD node by path.
///
/// Resolves an IPLD path from a CID through the node's blockstore (`Filecoin.ChainGetNode`).
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainGetNode"]))),
    params(NodePath),
    responses((status = 200, description = "The node at the path", body = IpldNode)),
    security(("lotus_token" = ["read"]))
)]
#[get("/nodes")]
pub async fn get_chain_node(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    query: web::Query<NodePath>,
) -> Result<HttpResponse, ApiError> {
    let path = query
        .path
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::invalid_parameter("the query parameter path is required"))?;
    let rest = path.strip_prefix("/ipfs/").unwrap_or(path);
    let mut parts = rest.split('/');
    params::cid("path", parts.next().unwrap_or_default())?;
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if (part.is_empty() && !last)
            || !part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        {
            return Err(ApiError::invalid_parameter(format!(
                "invalid path \"{path}\": expected a CID followed by /-separated field names or indexes"
            )));
        }
    }
    super::read(
        &state,
        &auth.caller,
        "Filecoin.ChainGetNode",
        json!([path]),
        false,
    )
    .await
}

/// An object of the blockstore.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ChainObject {
    pub cid: Cid,
    /// The object's raw bytes, base64.
    #[schema(example = "gtgqWCcAAXGg5AIg")]
    pub data: String,
}

/// Whether the blockstore holds an object.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ObjectPresence {
    pub cid: Cid,
    #[schema(example = true)]
    pub present: bool,
}

/// The size of an object's DAG.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ObjectStat {
    /// Bytes.
    #[schema(example = 1234)]
    pub size: u64,
    /// Links.
    #[schema(example = 5)]
    pub links: u64,
}

/// An object by CID.
///
/// The raw bytes of an object of the node's blockstore: a block header, a message, state (`Filecoin.ChainReadObj`).
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainReadObj"]))),
    params(ObjectPath),
    responses((status = 200, description = "The object", body = ChainObject)),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn get_chain_object(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ObjectPath { cid }: ObjectPath,
) -> Result<HttpResponse, ApiError> {
    let data = state
        .node
        .call_read(&auth.caller, "Filecoin.ChainReadObj", json!([cid]), false)
        .await?;
    let data: String = super::decode("Filecoin.ChainReadObj", &data)?;
    Ok(super::json_response(&ChainObject { cid, data }, false))
}

/// Whether an object is in the blockstore.
///
/// Whether the node's blockstore holds an object (`Filecoin.ChainHasObj`).
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainHasObj"]))),
    params(ObjectPath),
    responses((status = 200, description = "Whether the object is present", body = ObjectPresence)),
    security(("lotus_token" = ["read"]))
)]
#[get("/presence")]
pub async fn get_chain_object_presence(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ObjectPath { cid }: ObjectPath,
) -> Result<HttpResponse, ApiError> {
    let present = state
        .node
        .call_read(&auth.caller, "Filecoin.ChainHasObj", json!([cid]), false)
        .await?;
    let present: bool = super::decode("Filecoin.ChainHasObj", &present)?;
    Ok(super::json_response(
        &ObjectPresence { cid, present },
        false,
    ))
}

/// The object to measure from.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatBase {
    /// Leave out what is reachable from this object (a diff against it).
    #[param(value_type = Option<String>, pattern = "^[A-Za-z0-9]+$", example = "bafy2bzacebp3shtrn43k7g3unredz7fxn4gj533d3o43tqn2p2ipxxhrvchve")]
    pub base: Option<String>,
}

/// The size of an object's DAG.
///
/// The bytes and links of the DAG under an object, optionally without what is reachable from a base object
/// (`Filecoin.ChainStatObj`).
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainStatObj"]))),
    params(ObjectPath, StatBase),
    responses((status = 200, description = "The size", body = ObjectStat)),
    security(("lotus_token" = ["read"]))
)]
#[get("/stat")]
pub async fn get_chain_object_stat(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ObjectPath { cid }: ObjectPath,
    query: web::Query<StatBase>,
) -> Result<HttpResponse, ApiError> {
    let base = match query.base.as_deref() {
        Some(b) => params::cid("base", b)?,
        None => serde_json::Value::Null,
    };
    super::read(
        &state,
        &auth.caller,
        "Filecoin.ChainStatObj",
        json!([cid, base]),
        false,
    )
    .await
}

/// A new object.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Data": "gtgqWCcAAXGg5AIg"}))]
pub struct NewObject {
    /// The object's raw bytes, base64 (standard alphabet, padded).
    #[schema(example = "gtgqWCcAAXGg5AIg")]
    pub data: String,
}

/// Puts an object into the blockstore.
///
/// Stores raw bytes as an object of the node's blockstore (`Filecoin.ChainPutObj`). The object's CID is
/// blake2b-256 over the bytes with the DAG-CBOR codec; the answer is 201 with its URL in `Location`.
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainPutObj"]))),
    request_body = NewObject,
    responses((status = 201, description = "The object is stored; Location is its URL", body = ChainObject,
        headers(("Location" = String, description = "/v1/chain/objects/{cid}")))),
    security(("lotus_token" = ["admin"]))
)]
#[post("/objects")]
pub async fn create_chain_object(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    body: Body<NewObject>,
) -> Result<HttpResponse, ApiError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body.data.trim())
        .map_err(|e| {
            ApiError::new(
                crate::error::Code::InvalidBody,
                format!("invalid request body: field \"Data\": not base64: {e}"),
            )
        })?;
    if bytes.is_empty() {
        return Err(ApiError::new(
            crate::error::Code::InvalidBody,
            "invalid request body: field \"Data\": an object has at least one byte",
        ));
    }
    let hash = blake2b_simd::Params::new().hash_length(32).hash(&bytes);
    let mut digest = [0u8; 32];
    digest.copy_from_slice(hash.as_bytes());
    let cid = crate::lotus::address::cid_from_digest(&digest);
    let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
    state
        .node
        .call_raw(
            &auth.caller,
            "Filecoin.ChainPutObj",
            json!([{"Cid": {"/": cid}, "RawData": data}]),
        )
        .await?;
    Ok(super::created(
        &format!("/v1/chain/objects/{cid}"),
        &ChainObject {
            cid: Cid::new(cid.clone()),
            data,
        },
    ))
}

/// Deletes an object from the blockstore.
///
/// Removes an object from the node's blockstore (`Filecoin.ChainDeleteObj`). Deleting what the chain still needs
/// breaks the node: use with care.
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainDeleteObj"]))),
    params(ObjectPath),
    responses((status = 204, description = "The object is deleted")),
    security(("lotus_token" = ["admin"]))
)]
#[delete("")]
pub async fn delete_chain_object(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    ObjectPath { cid }: ObjectPath,
) -> Result<HttpResponse, ApiError> {
    state
        .node
        .call_raw(&auth.caller, "Filecoin.ChainDeleteObj", json!([cid]))
        .await?;
    Ok(super::no_content())
}

/// Facts about the blockstore.
///
/// What the node's blockstore reports about itself: its type, sizes, compaction state (`Filecoin.ChainBlockstoreInfo`).
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainBlockstoreInfo"]))),
    responses((status = 200, description = "The blockstore's report, as the blockstore gives it", body = std::collections::HashMap<String, serde_json::Value>,
        example = json!({"Type": "splitstore", "HotStoreSize": 1073741824u64, "Compacting": false}))),
    security(("lotus_token" = ["read"]))
)]
#[get("/blockstore")]
pub async fn get_blockstore_info(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    super::read(
        &state,
        &auth.caller,
        "Filecoin.ChainBlockstoreInfo",
        json!([]),
        false,
    )
    .await
}

/// Checks the blockstore.
///
/// Runs the blockstore's consistency check (`Filecoin.ChainCheckBlockstore`); a failure is answered with the
/// node's error.
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainCheckBlockstore"]))),
    responses((status = 204, description = "The blockstore is consistent")),
    security(("lotus_token" = ["admin"]))
)]
#[post("/blockstore/check")]
pub async fn check_blockstore(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state
        .node
        .call_raw(&auth.caller, "Filecoin.ChainCheckBlockstore", json!([]))
        .await?;
    Ok(super::no_content())
}

/// Options of a hot-store garbage collection.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Threshold": 0.01, "Periodic": false, "Moving": false}))]
pub struct HotGcRequest {
    /// The fraction of garbage that makes an online collection worth it: 0 to 1 (default 0).
    #[schema(example = 0.01, minimum = 0, maximum = 1)]
    pub threshold: Option<f64>,
    /// Whether to run as the periodic collection does (default false).
    pub periodic: Option<bool>,
    /// Whether to move the live objects to a new store rather than delete in place (default false).
    pub moving: Option<bool>,
}

/// Collects the hot store's garbage.
///
/// Runs a garbage collection of the splitstore's hot store (`Filecoin.ChainHotGC`).
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainHotGC"]))),
    request_body = HotGcRequest,
    responses((status = 204, description = "The collection ran")),
    security(("lotus_token" = ["admin"]))
)]
#[post("/blockstore/hot-gc")]
pub async fn run_hot_gc(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    body: Body<HotGcRequest>,
) -> Result<HttpResponse, ApiError> {
    let threshold = body.threshold.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&threshold) {
        return Err(ApiError::new(
            crate::error::Code::InvalidBody,
            format!(
                "invalid request body: field \"Threshold\": {threshold} is not between 0 and 1"
            ),
        ));
    }
    let opts = json!({
        "Threshold": threshold,
        "Periodic": body.periodic.unwrap_or(false),
        "Moving": body.moving.unwrap_or(false),
    });
    state
        .node
        .call_raw(&auth.caller, "Filecoin.ChainHotGC", json!([opts]))
        .await?;
    Ok(super::no_content())
}

/// Options of a prune.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"MovingGC": false, "RetainState": 2000}))]
pub struct PruneRequest {
    /// Whether to move the live objects to a new cold store rather than delete in place (default false).
    #[serde(rename = "MovingGC")]
    pub moving_gc: Option<bool>,
    /// How many epochs of state to keep: -1 keeps all (default 0).
    #[schema(example = 2000, minimum = -1)]
    pub retain_state: Option<i64>,
}

/// Prunes the cold store.
///
/// Starts compacting the splitstore's cold store and collecting its garbage (`Filecoin.ChainPrune`); the node
/// does the work in the background, so the answer is 202.
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainPrune"]))),
    request_body = PruneRequest,
    responses((status = 202, description = "The prune has started")),
    security(("lotus_token" = ["admin"]))
)]
#[post("/blockstore/prune")]
pub async fn run_prune(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    body: Body<PruneRequest>,
) -> Result<HttpResponse, ApiError> {
    let retain = body.retain_state.unwrap_or(0);
    if retain < -1 {
        return Err(ApiError::new(
            crate::error::Code::InvalidBody,
            format!("invalid request body: field \"RetainState\": {retain} is below -1"),
        ));
    }
    let opts = json!({"MovingGC": body.moving_gc.unwrap_or(false), "RetainState": retain});
    state
        .node
        .call_raw(&auth.caller, "Filecoin.ChainPrune", json!([opts]))
        .await?;
    Ok(super::accepted_empty())
}

/// An export of a range of the chain.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Head": CID_EXAMPLE, "Tail": CID_EXAMPLE, "NumWorkers": 1, "IncludeMessages": true}))]
pub struct ExportRequest {
    /// The newest tipset exported: its block CIDs, separated by commas.
    #[schema(pattern = "^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$")]
    pub head: String,
    /// The oldest tipset whose messages, receipts and state are exported: its block CIDs, separated by commas.
    #[schema(pattern = "^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$")]
    pub tail: String,
    /// The write buffer, in bytes (default 1 MiB).
    #[schema(example = 1048576, minimum = 0)]
    pub write_buffer_size: Option<u64>,
    /// How many workers walk the chain: 1 to 64 (default 1).
    #[schema(example = 1, minimum = 1, maximum = 64)]
    pub num_workers: Option<u32>,
    /// Include messages (default true).
    pub include_messages: Option<bool>,
    /// Include receipts (default true).
    pub include_receipts: Option<bool>,
    /// Include state roots (default true).
    pub include_state_roots: Option<bool>,
}

/// Exports a range of the chain.
///
/// Starts writing a CAR snapshot of the chain between two tipsets to the node's disk
/// (`Filecoin.ChainExportRangeInternal`); the answer is 202 as the node writes it in the background.
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainExportRangeInternal"]))),
    request_body = ExportRequest,
    responses((status = 202, description = "The export has started")),
    security(("lotus_token" = ["admin"]))
)]
#[post("/exports")]
pub async fn create_chain_export(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    body: Body<ExportRequest>,
) -> Result<HttpResponse, ApiError> {
    let field = |name: &str, e: ApiError| {
        ApiError::new(
            crate::error::Code::InvalidBody,
            format!("invalid request body: field \"{name}\": {}", e.detail),
        )
    };
    let head = params::tipset_key("Head", &body.head).map_err(|e| field("Head", e))?;
    let tail = params::tipset_key("Tail", &body.tail).map_err(|e| field("Tail", e))?;
    let workers = body.num_workers.unwrap_or(1);
    if !(1..=64).contains(&workers) {
        return Err(ApiError::new(
            crate::error::Code::InvalidBody,
            format!("invalid request body: field \"NumWorkers\": {workers} is not from 1 to 64"),
        ));
    }
    let config = json!({
        "WriteBufferSize": body.write_buffer_size.unwrap_or(1 << 20),
        "NumWorkers": workers,
        "IncludeMessages": body.include_messages.unwrap_or(true),
        "IncludeReceipts": body.include_receipts.unwrap_or(true),
        "IncludeStateRoots": body.include_state_roots.unwrap_or(true),
    });
    state
        .node
        .call_raw(
            &auth.caller,
            "Filecoin.ChainExportRangeInternal",
            json!([head, tail, config]),
        )
        .await?;
    Ok(super::accepted_empty())
}

/// A tipset to move to.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Tipset": CID_EXAMPLE}))]
pub struct TipsetRef {
    /// The tipset key: its block CIDs, separated by commas.
    #[schema(pattern = "^[A-Za-z0-9]+(,[A-Za-z0-9]+)*$")]
    pub tipset: String,
}

/// Decodes the tipset key of a [`TipsetRef`] body.
pub fn body_tipset_key(body: &TipsetRef) -> Result<serde_json::Value, ApiError> {
    params::tipset_key("Tipset", &body.tipset).map_err(|e| {
        ApiError::new(
            crate::error::Code::InvalidBody,
            format!("invalid request body: field \"Tipset\": {}", e.detail),
        )
    })
}

/// Sets the head of the chain.
///
/// Makes the node take a tipset as its head, reverting what is above it (`Filecoin.ChainSetHead`). `PUT` on
/// `/v1/chain/head` is not used for this: the head is the node's own view of the network, forcing it is an
/// operator's action.
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainSetHead"]))),
    request_body = TipsetRef,
    responses((status = 204, description = "The head is set")),
    security(("lotus_token" = ["admin"]))
)]
#[post("/set-head")]
pub async fn set_chain_head(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    body: Body<TipsetRef>,
) -> Result<HttpResponse, ApiError> {
    let key = body_tipset_key(&body)?;
    state
        .node
        .call_raw(&auth.caller, "Filecoin.ChainSetHead", json!([key]))
        .await?;
    Ok(super::no_content())
}

/// A chain index validation to run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Height": 100, "Backfill": false}))]
pub struct IndexValidationRequest {
    /// The epoch to validate; below the head.
    #[schema(example = 100, minimum = 0)]
    pub height: i64,
    /// Whether to index the epoch if it is missing from the index (default false).
    pub backfill: Option<bool>,
}

/// The result of a chain index validation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct IndexValidation {
    /// The tipset validated (empty for a null round).
    pub tip_set_key: Vec<Cid>,
    #[schema(example = 100)]
    pub height: i64,
    #[schema(example = 4)]
    pub indexed_messages_count: u64,
    #[schema(example = 0)]
    pub indexed_events_count: u64,
    #[schema(example = 0)]
    pub indexed_event_entries_count: u64,
    /// Whether the epoch was missing and has been indexed now.
    pub backfilled: bool,
    /// Whether the epoch is a null round.
    pub is_null_round: bool,
}

/// Validates the chain index at an epoch.
///
/// Checks the node's chain index (messages and events) at an epoch against the chain state, optionally
/// backfilling it (`Filecoin.ChainValidateIndex`).
#[utoipa::path(
    tag = "Chain",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainValidateIndex"]))),
    request_body = IndexValidationRequest,
    responses((status = 200, description = "The validation's result", body = IndexValidation)),
    security(("lotus_token" = ["write"]))
)]
#[post("/index/validate")]
pub async fn validate_chain_index(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
    body: Body<IndexValidationRequest>,
) -> Result<HttpResponse, ApiError> {
    if body.height < 0 {
        return Err(ApiError::new(
            crate::error::Code::InvalidBody,
            format!(
                "invalid request body: field \"Height\": {} is negative",
                body.height
            ),
        ));
    }
    let result = state
        .node
        .call_raw(
            &auth.caller,
            "Filecoin.ChainValidateIndex",
            json!([body.height, body.backfill.unwrap_or(false)]),
        )
        .await?;
    Ok(super::lotus_json_uncached(&result))
}

/// Registers the chain routes.
/// The routes under `/v1/chain`, in the order they are matched.
pub fn register_chain(cfg: &mut ServiceConfig) {
    cfg.service(get_chain_head)
        .service(get_chain_genesis)
        .service(get_finalized_tipset)
        .service(set_chain_head)
        .service(list_chain_path)
        .service(get_chain_node)
        .service(list_chain_events)
        .service(get_blockstore_info)
        .service(check_blockstore)
        .service(run_hot_gc)
        .service(run_prune)
        .service(create_chain_export)
        .service(validate_chain_index)
        .service(create_chain_object)
        .scope("/objects/{cid}", &|cfg| {
            cfg.service(get_chain_object)
                .service(get_chain_object_presence)
                .service(get_chain_object_stat)
                .service(delete_chain_object);
        });
}

/// The routes under `/v1/tipsets` other than a tipset's by its key, in the order they are matched.
pub fn register_tipsets(cfg: &mut ServiceConfig) {
    cfg.service(get_tipset_by_height);
}

/// The routes under `/v1/tipsets/key/{key}` this module declares, in the order they are matched.
pub fn register_tipset(cfg: &mut ServiceConfig) {
    cfg.service(get_tipset_by_key)
        .service(list_tipset_messages)
        .service(get_tipset_weight);
}

/// The routes under `/v1/blocks`, in the order they are matched.
pub fn register_blocks(cfg: &mut ServiceConfig) {
    cfg.scope("/{cid}", &|cfg| {
        cfg.service(get_block)
            .service(get_block_messages)
            .service(list_block_parent_messages)
            .service(list_block_parent_receipts);
    });
}
