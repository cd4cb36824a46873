//! The storage market: escrow balances, deals, proposals, collateral bounds, and the node's market funds (deposits,
//! withdrawals, reservations).

use crate::routes::ServiceConfig;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::body::Body;
use super::extract::{DealPath, ParticipantPath, ProposalPath};
use super::json_response;
use super::page::{self, Page, PageOf};
use super::params;
use crate::auth::{Authorized, Read, Sign};
use crate::error::ApiError;
use crate::lotus::amount::Amount;
use crate::lotus::types::{BigInt, Cid};
use crate::state::AppState;

/// A participant's funds in the storage market actor.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MarketBalance {
    /// Everything deposited, in attoFIL.
    pub escrow: BigInt,
    /// The part of the escrow locked by deals, in attoFIL.
    pub locked: BigInt,
}

/// A participant of the market with its funds (an entry of `Filecoin.StateMarketParticipants`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MarketParticipant {
    /// The participant's address.
    #[schema(example = "f01234")]
    pub address: String,
    pub escrow: BigInt,
    pub locked: BigInt,
}

/// What a deal is: the proposal the client and the provider signed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct DealProposal {
    /// The CID of the piece stored.
    #[serde(rename = "PieceCID")]
    pub piece_cid: Cid,
    /// The padded size of the piece, in bytes.
    #[schema(example = 34359738368u64)]
    pub piece_size: u64,
    /// Whether the deal uses DataCap.
    pub verified_deal: bool,
    #[schema(example = "f01234")]
    pub client: String,
    #[schema(example = "f01000")]
    pub provider: String,
    /// The client's label for the deal.
    #[schema(example = "")]
    pub label: String,
    #[schema(example = 10101)]
    pub start_epoch: i64,
    #[schema(example = 528501)]
    pub end_epoch: i64,
    /// attoFIL per epoch.
    pub storage_price_per_epoch: BigInt,
    pub provider_collateral: BigInt,
    pub client_collateral: BigInt,
}

/// Where a deal stands on chain.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct DealState {
    /// The sector holding the deal's piece, once activated.
    #[schema(example = 9)]
    pub sector_number: u64,
    /// The epoch the deal's sector was proven, or -1 before activation.
    #[schema(example = 10101)]
    pub sector_start_epoch: i64,
    /// The epoch of the last payment, or -1.
    #[schema(example = 10101)]
    pub last_updated_epoch: i64,
    /// The epoch the deal was slashed at, or -1.
    #[schema(example = -1)]
    pub slash_epoch: i64,
}

/// A storage deal (`Filecoin.StateMarketStorageDeal`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MarketDeal {
    pub proposal: DealProposal,
    pub state: DealState,
}

/// A storage deal with its ID (an entry of `Filecoin.StateMarketDeals`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MarketDealEntry {
    /// The deal's ID.
    #[serde(rename = "DealID")]
    #[schema(example = 5432)]
    pub deal_id: u64,
    pub proposal: DealProposal,
    pub state: DealState,
}

/// Whether a deal proposal is still pending.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ProposalPending {
    /// The proposal asked about.
    pub proposal: Cid,
    /// True while the proposal is published but its deal is not yet activated.
    pub pending: bool,
}

/// The collateral a provider must put up for a deal.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CollateralBounds {
    /// attoFIL
    pub min: BigInt,
    /// attoFIL
    pub max: BigInt,
}

/// The piece a collateral bound is asked for.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CollateralQuery {
    /// The padded piece size in bytes: a power of two, at least 128.
    #[param(value_type = u64, minimum = 128, example = 34359738368u64)]
    pub size: Option<String>,
    /// Whether the deal is verified (uses DataCap); default false.
    #[param(value_type = Option<bool>, example = true)]
    pub verified: Option<String>,
}

/// A transfer into or out of a market participant's escrow, paid or received by a wallet of the node.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Wallet": "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za", "Amount": "1.5 FIL"}))]
pub struct MarketFunds {
    /// The node's wallet address that signs the message (and pays a deposit or reservation).
    #[schema(example = "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za")]
    pub wallet: String,
    /// The amount: attoFIL digits or a number with a unit.
    pub amount: Amount,
}

/// Funds to release from a reservation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Amount": "1 FIL"}))]
pub struct MarketRelease {
    /// The amount: attoFIL digits or a number with a unit.
    pub amount: Amount,
}

/// The message a market operation pushed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = MarketPushedMessage)]
pub struct PushedMessage {
    /// The CID of the message in the pool; `null` when nothing had to be sent.
    #[serde(rename = "CID")]
    pub cid: Option<Cid>,
}

/// Funds reserved for a market participant.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Reservation {
    #[schema(example = "f01234")]
    pub address: String,
    /// attoFIL reserved by the node for deals of this participant.
    pub reserved: BigInt,
}

fn amount_field(value: Amount) -> serde_json::Value {
    json!(value.atto().to_string())
}

/// The 202 for a pushed message known by its CID.
fn pushed(cid: Cid) -> HttpResponse {
    let location = format!("/v1/messages/{}", cid.root);
    super::accepted(Some(&location), &PushedMessage { cid: Some(cid) })
}

/// A participant's market balance.
///
/// The escrow and locked funds of an address in the storage market actor, in the state of the tipset selected
/// (`Filecoin.StateMarketBalance`).
#[utoipa::path(
    tag = "Market",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateMarketBalance"]))),
    params(ParticipantPath, params::AtTipset),
    responses((status = 200, description = "Escrow and locked funds", body = MarketBalance)),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn get_market_balance(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ParticipantPath { address }: ParticipantPath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    super::read_at(
        &state,
        &auth.caller,
        &at,
        "Filecoin.StateMarketBalance",
        |key| json!([address, key]),
    )
    .await
}

/// The market's participants.
///
/// Every address with funds in the storage market actor, with its escrow and locked funds, a page at a time
/// (`Filecoin.StateMarketParticipants`).
#[utoipa::path(
    tag = "Market",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateMarketParticipants"]))),
    params(params::AtTipset, Page),
    responses((status = 200, description = "A page of participants", body = PageOf<MarketParticipant>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/participants")]
pub async fn list_market_participants(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<params::AtTipset>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    page::list(
        &state,
        &auth.caller,
        "Filecoin.StateMarketParticipants",
        |key| json!([key]),
        page::Shape::Map("Address"),
        &at,
        &page,
    )
    .await
}

/// The market's deals.
///
/// Every deal in the storage market actor, by deal ID, a page at a time (`Filecoin.StateMarketDeals`).
#[utoipa::path(
    tag = "Market",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateMarketDeals"]))),
    params(params::AtTipset, Page),
    responses((status = 200, description = "A page of deals", body = PageOf<MarketDealEntry>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/deals")]
pub async fn list_market_deals(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<params::AtTipset>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    page::list(
        &state,
        &auth.caller,
        "Filecoin.StateMarketDeals",
        |key| json!([key]),
        page::Shape::Ids("DealID"),
        &at,
        &page,
    )
    .await
}

/// A deal by ID.
///
/// The proposal and on-chain state of a storage deal (`Filecoin.StateMarketStorageDeal`).
#[utoipa::path(
    tag = "Market",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateMarketStorageDeal"]))),
    params(DealPath, params::AtTipset),
    responses((status = 200, description = "The deal", body = MarketDeal)),
    security(("lotus_token" = ["read"]))
)]
#[get("/deals/{deal_id}")]
pub async fn get_market_deal(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    DealPath { deal_id: id }: DealPath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    super::read_at(
        &state,
        &auth.caller,
        &at,
        "Filecoin.StateMarketStorageDeal",
        |key| json!([id, key]),
    )
    .await
}

/// Whether a deal proposal is pending.
///
/// True while a published deal proposal waits for its deal to be activated (`Filecoin.StateMarketProposalPending`).
#[utoipa::path(
    tag = "Market",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateMarketProposalPending"]))),
    params(ProposalPath, params::AtTipset),
    responses((status = 200, description = "Whether the proposal is pending", body = ProposalPending)),
    security(("lotus_token" = ["read"]))
)]
#[get("/proposals/{cid}")]
pub async fn get_market_proposal(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ProposalPath { cid }: ProposalPath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let at = at.key(&state, &auth.caller).await?;
    let result = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.StateMarketProposalPending",
            json!([cid, at.key]),
            at.immutable,
        )
        .await?;
    let pending: bool = super::decode("Filecoin.StateMarketProposalPending", &result)?;
    Ok(json_response(
        &ProposalPending {
            proposal: cid,
            pending,
        },
        at.immutable,
    ))
}

/// A deal's collateral bounds.
///
/// The least and most collateral a provider may put up for a deal of a piece size
/// (`Filecoin.StateDealProviderCollateralBounds`).
#[utoipa::path(
    tag = "Market",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateDealProviderCollateralBounds"]))),
    params(CollateralQuery, params::AtTipset),
    responses((status = 200, description = "The bounds, in attoFIL", body = CollateralBounds)),
    security(("lotus_token" = ["read"]))
)]
#[get("/collateral-bounds")]
pub async fn get_market_collateral_bounds(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    query: web::Query<CollateralQuery>,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let size = match &query.size {
        None => {
            return Err(ApiError::invalid_parameter(
                "size is needed: the padded piece size in bytes",
            ))
        }
        Some(text) => params::unsigned("size", text)?,
    };
    if size < 128 || !size.is_power_of_two() {
        return Err(ApiError::invalid_parameter(format!(
            "invalid size {size}: a padded piece size is a power of two, at least 128"
        )));
    }
    let verified = match query.verified.as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::invalid_parameter(format!(
                "invalid verified \"{other}\": expected true or false"
            )))
        }
    };
    super::read_at(
        &state,
        &auth.caller,
        &at,
        "Filecoin.StateDealProviderCollateralBounds",
        |key| json!([size, verified, key]),
    )
    .await
}

/// Deposits funds into a participant's escrow.
///
/// The node signs and pushes a message from `Wallet` adding `Amount` to the escrow of the address in the path
/// (`Filecoin.MarketAddBalance`). Answers 202 with the message's CID; follow it at `Location`.
#[utoipa::path(
    tag = "Market",
    extensions(("x-lotus-methods" = json!(["Filecoin.MarketAddBalance"]))),
    params(ParticipantPath),
    request_body = MarketFunds,
    responses((status = 202, description = "The message is in the pool", body = PushedMessage,
        headers(("Location" = String, description = "The message: /v1/messages/{cid}")))),
    security(("lotus_token" = ["sign"]))
)]
#[post("/deposits")]
pub async fn create_market_deposit(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    ParticipantPath { address }: ParticipantPath,
    body: Body<MarketFunds>,
) -> Result<HttpResponse, ApiError> {
    let wallet = super::send::address_field("Wallet", &body.wallet)?;
    let cid: Cid = state
        .node
        .call(
            &auth.caller,
            "Filecoin.MarketAddBalance",
            json!([wallet, address, amount_field(body.amount)]),
        )
        .await?;
    Ok(pushed(cid))
}

/// Withdraws funds from a participant's escrow.
///
/// The node signs and pushes a message from `Wallet` withdrawing `Amount` of the available escrow of the address
/// in the path (`Filecoin.MarketWithdraw`). Answers 202 with the message's CID; follow it at `Location`.
#[utoipa::path(
    tag = "Market",
    extensions(("x-lotus-methods" = json!(["Filecoin.MarketWithdraw"]))),
    params(ParticipantPath),
    request_body = MarketFunds,
    responses((status = 202, description = "The message is in the pool", body = PushedMessage,
        headers(("Location" = String, description = "The message: /v1/messages/{cid}")))),
    security(("lotus_token" = ["sign"]))
)]
#[post("/withdrawals")]
pub async fn create_market_withdrawal(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    ParticipantPath { address }: ParticipantPath,
    body: Body<MarketFunds>,
) -> Result<HttpResponse, ApiError> {
    let wallet = super::send::address_field("Wallet", &body.wallet)?;
    let cid: Cid = state
        .node
        .call(
            &auth.caller,
            "Filecoin.MarketWithdraw",
            json!([wallet, address, amount_field(body.amount)]),
        )
        .await?;
    Ok(pushed(cid))
}

/// Funds the node reserved for a participant.
///
/// What the node's fund manager holds reserved in the escrow of an address for deals in progress
/// (`Filecoin.MarketGetReserved`).
#[utoipa::path(
    tag = "Market",
    extensions(("x-lotus-methods" = json!(["Filecoin.MarketGetReserved"]))),
    params(ParticipantPath),
    responses((status = 200, description = "The funds reserved", body = Reservation)),
    security(("lotus_token" = ["sign"]))
)]
#[get("")]
pub async fn get_market_reservation(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    ParticipantPath { address }: ParticipantPath,
) -> Result<HttpResponse, ApiError> {
    let reserved: BigInt = state
        .node
        .call(&auth.caller, "Filecoin.MarketGetReserved", json!([address]))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(Reservation {
            address: address.to_string(),
            reserved,
        }))
}

/// Reserves funds for a participant.
///
/// Adds `Amount` to the funds the node reserves in the escrow of the address in the path; when the escrow's
/// available funds do not cover the reservations, the node pushes a deposit from `Wallet` for the difference
/// (`Filecoin.MarketReserveFunds`). Answers 202 with that message's CID and its `Location`, or 200 with a `null`
/// CID when the escrow already covered it.
#[utoipa::path(
    tag = "Market",
    extensions(("x-lotus-methods" = json!(["Filecoin.MarketReserveFunds"]))),
    params(ParticipantPath),
    request_body = MarketFunds,
    responses(
        (status = 200, description = "Reserved; the escrow covered it and no message was sent", body = PushedMessage),
        (status = 202, description = "Reserved; a deposit message is in the pool", body = PushedMessage,
            headers(("Location" = String, description = "The message: /v1/messages/{cid}")))),
    security(("lotus_token" = ["sign"]))
)]
#[post("")]
pub async fn create_market_reservation(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    ParticipantPath { address }: ParticipantPath,
    body: Body<MarketFunds>,
) -> Result<HttpResponse, ApiError> {
    let wallet = super::send::address_field("Wallet", &body.wallet)?;
    let cid: Option<Cid> = state
        .node
        .call(
            &auth.caller,
            "Filecoin.MarketReserveFunds",
            json!([wallet, address, amount_field(body.amount)]),
        )
        .await?;
    Ok(match cid {
        Some(cid) => pushed(cid),
        None => HttpResponse::Ok()
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
            .json(PushedMessage { cid: None }),
    })
}

/// Releases reserved funds.
///
/// Takes `Amount` off the funds the node reserves for the address in the path (`Filecoin.MarketReleaseFunds`).
#[utoipa::path(
    tag = "Market",
    extensions(("x-lotus-methods" = json!(["Filecoin.MarketReleaseFunds"]))),
    params(ParticipantPath),
    request_body = MarketRelease,
    responses(
        (status = 204, description = "Released"),
        (status = 409, description = "Less than the amount is reserved for the address", body = crate::error::Problem,
            content_type = "application/problem+json"),
    ),
    security(("lotus_token" = ["sign"]))
)]
#[post("/releases")]
pub async fn create_market_release(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    ParticipantPath { address }: ParticipantPath,
    body: Body<MarketRelease>,
) -> Result<HttpResponse, ApiError> {
    state
        .node
        .call_raw(
            &auth.caller,
            "Filecoin.MarketReleaseFunds",
            json!([address, amount_field(body.amount)]),
        )
        .await?;
    Ok(super::no_content())
}

/// Registers the market routes.
/// The routes under `/v1/market`, in the order they are matched.
pub fn register_market(cfg: &mut ServiceConfig) {
    cfg.service(list_market_participants)
        .service(list_market_deals)
        .service(get_market_deal)
        .service(get_market_proposal)
        .service(get_market_collateral_bounds)
        .scope("/balances/{address}", &|cfg| {
            cfg.service(get_market_balance)
                .service(create_market_deposit)
                .service(create_market_withdrawal);
        })
        .scope("/reservations/{address}", &|cfg| {
            cfg.service(get_market_reservation)
                .service(create_market_reservation)
                .service(create_market_release);
        });
}
