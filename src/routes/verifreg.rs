//! The verified registry: its root key, verifiers, verified clients and their DataCap, allocations and claims.

use crate::routes::ServiceConfig;
use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::extract::{
    AllocationPath, ClaimPath, ClientPath, MinerPath, PendingDealPath, VerifierPath,
};
use super::lotus_json;
use super::miners::{found_or_404, not_found_when};
use super::page::{self, Page, PageOf, Shape};
use super::params;
use crate::auth::{Authorized, Read};
use crate::error::ApiError;
use crate::lotus::types::{ChainEpoch, Cid};
use crate::lotus::verifreg::{Allocation, Claim};
use crate::state::AppState;

/// An allocation with its ID, as the lists give it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AllocationEntry {
    /// The allocation's ID.
    #[schema(example = 4)]
    pub allocation_id: u64,
    pub client: u64,
    pub provider: u64,
    pub data: Cid,
    pub size: u64,
    pub term_min: ChainEpoch,
    pub term_max: ChainEpoch,
    pub expiration: ChainEpoch,
}

/// A claim with its ID, as the lists give it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ClaimEntry {
    /// The claim's ID: the ID of the allocation it came from.
    #[schema(example = 1)]
    pub claim_id: u64,
    pub provider: u64,
    pub client: u64,
    pub data: Cid,
    pub size: u64,
    pub term_min: ChainEpoch,
    pub term_max: ChainEpoch,
    pub term_start: ChainEpoch,
    pub sector: u64,
}

/// The verified registry's root key.
///
/// The address that adds and removes verifiers (`Filecoin.StateVerifiedRegistryRootKey`).
#[utoipa::path(
    tag = "Verified registry",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateVerifiedRegistryRootKey"]))),
    params(params::AtTipset),
    responses((status = 200, description = "The root key's address, as a JSON string", body = String,
        content_type = "application/json", example = json!("f080"))),
    security(("lotus_token" = ["read"]))
)]
#[get("/root-key")]
pub async fn get_verifreg_root_key(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    super::read_at(
        &state,
        &auth.caller,
        &at,
        "Filecoin.StateVerifiedRegistryRootKey",
        |key| json!([key]),
    )
    .await
}

/// A verifier's remaining allowance.
///
/// The DataCap in bytes a verifier may still grant to clients (`Filecoin.StateVerifierStatus`). An address that
/// is not a verifier is a 404.
#[utoipa::path(
    tag = "Verified registry",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateVerifierStatus"]))),
    params(VerifierPath, params::AtTipset),
    responses((status = 200, description = "The allowance in bytes, as a JSON string", body = String,
        content_type = "application/json", example = json!("1125899906842624"))),
    security(("lotus_token" = ["read"]))
)]
#[get("/verifiers/{address}")]
pub async fn get_verifier(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    VerifierPath { address }: VerifierPath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let at = at.key(&state, &auth.caller).await?;
    let result = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.StateVerifierStatus",
            json!([address, at.key]),
            at.immutable,
        )
        .await?;
    found_or_404(result, at.immutable, || {
        format!("{address} is not a verifier")
    })
}

/// A verified client's DataCap.
///
/// The DataCap in bytes a verified client has left to allocate (`Filecoin.StateVerifiedClientStatus`). An address
/// that is not a verified client is a 404.
#[utoipa::path(
    tag = "Verified registry",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateVerifiedClientStatus"]))),
    params(ClientPath, params::AtTipset),
    responses((status = 200, description = "The DataCap in bytes, as a JSON string", body = String,
        content_type = "application/json", example = json!("109951162777600"))),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn get_verified_client(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ClientPath { address }: ClientPath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let at = at.key(&state, &auth.caller).await?;
    let result = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.StateVerifiedClientStatus",
            json!([address, at.key]),
            at.immutable,
        )
        .await?;
    found_or_404(result, at.immutable, || {
        format!("{address} is not a verified client")
    })
}

/// All allocations.
///
/// Every allocation of DataCap not yet claimed, by ID, a page at a time (`Filecoin.StateGetAllAllocations`).
#[utoipa::path(
    tag = "Verified registry",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateGetAllAllocations"]))),
    params(params::AtTipset, Page),
    responses((status = 200, description = "A page of allocations, by ascending ID", body = PageOf<AllocationEntry>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/allocations")]
pub async fn list_allocations(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<params::AtTipset>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    page::list(
        &state,
        &auth.caller,
        "Filecoin.StateGetAllAllocations",
        |key| json!([key]),
        Shape::Ids("AllocationId"),
        &at,
        &page,
    )
    .await
}

/// All claims.
///
/// Every claim of every provider, by ID, a page at a time (`Filecoin.StateGetAllClaims`).
#[utoipa::path(
    tag = "Verified registry",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateGetAllClaims"]))),
    params(params::AtTipset, Page),
    responses((status = 200, description = "A page of claims, by ascending ID", body = PageOf<ClaimEntry>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/claims")]
pub async fn list_claims(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    at: web::Query<params::AtTipset>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    page::list(
        &state,
        &auth.caller,
        "Filecoin.StateGetAllClaims",
        |key| json!([key]),
        Shape::Ids("ClaimId"),
        &at,
        &page,
    )
    .await
}

/// A client's allocations.
///
/// The allocations a client has made and providers have not claimed yet, by ID, a page at a time
/// (`Filecoin.StateGetAllocations`).
#[utoipa::path(
    tag = "Verified registry",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateGetAllocations"]))),
    params(ClientPath, params::AtTipset, Page),
    responses((status = 200, description = "A page of allocations, by ascending ID", body = PageOf<AllocationEntry>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/allocations")]
pub async fn list_client_allocations(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ClientPath { address }: ClientPath,
    at: web::Query<params::AtTipset>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    page::list(
        &state,
        &auth.caller,
        "Filecoin.StateGetAllocations",
        move |key| json!([address, key]),
        Shape::Ids("AllocationId"),
        &at,
        &page,
    )
    .await
}

/// An allocation of a client.
///
/// One of a client's allocations by ID (`Filecoin.StateGetAllocation`). An ID the client has no allocation under
/// (never made, or claimed since) is a 404.
#[utoipa::path(
    tag = "Verified registry",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateGetAllocation"]))),
    params(
AllocationPath, params::AtTipset
    ),
    responses((status = 200, description = "The allocation", body = Allocation)),
    security(("lotus_token" = ["read"]))
)]
#[get("/allocations/{id}")]
pub async fn get_allocation(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    AllocationPath { address, id }: AllocationPath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let at = at.key(&state, &auth.caller).await?;
    let result = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.StateGetAllocation",
            json!([address, id, at.key]),
            at.immutable,
        )
        .await?;
    found_or_404(result, at.immutable, || {
        format!("client {address} has no allocation {id}")
    })
}

/// A provider's claims.
///
/// The claims of a provider (a storage miner), by ID, a page at a time (`Filecoin.StateGetClaims`).
#[utoipa::path(
    tag = "Verified registry",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateGetClaims"]))),
    params(MinerPath, params::AtTipset, Page),
    responses((status = 200, description = "A page of claims, by ascending ID", body = PageOf<ClaimEntry>)),
    security(("lotus_token" = ["read"]))
)]
#[get("/claims")]
pub async fn list_provider_claims(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    MinerPath { address }: MinerPath,
    at: web::Query<params::AtTipset>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    page::list(
        &state,
        &auth.caller,
        "Filecoin.StateGetClaims",
        move |key| json!([address, key]),
        Shape::Ids("ClaimId"),
        &at,
        &page,
    )
    .await
}

/// A claim of a provider.
///
/// One of a provider's claims by ID (`Filecoin.StateGetClaim`). An ID the provider has no claim under is a 404.
#[utoipa::path(
    tag = "Verified registry",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateGetClaim"]))),
    params(
ClaimPath, params::AtTipset
    ),
    responses((status = 200, description = "The claim", body = Claim)),
    security(("lotus_token" = ["read"]))
)]
#[get("/claims/{id}")]
pub async fn get_claim(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    ClaimPath { address, id }: ClaimPath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let at = at.key(&state, &auth.caller).await?;
    let result = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.StateGetClaim",
            json!([address, id, at.key]),
            at.immutable,
        )
        .await?;
    found_or_404(result, at.immutable, || {
        format!("provider {address} has no claim {id}")
    })
}

/// The allocation of a pending deal.
///
/// The allocation made for a storage deal that is published but not yet activated
/// (`Filecoin.StateGetAllocationForPendingDeal`). A deal without one is a 404.
#[utoipa::path(
    tag = "Verified registry",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateGetAllocationForPendingDeal"]))),
    params(PendingDealPath, params::AtTipset),
    responses((status = 200, description = "The allocation", body = Allocation)),
    security(("lotus_token" = ["read"]))
)]
#[get("/allocation")]
pub async fn get_pending_deal_allocation(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    PendingDealPath { id }: PendingDealPath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let at = at.key(&state, &auth.caller).await?;
    let result = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.StateGetAllocationForPendingDeal",
            json!([id, at.key]),
            at.immutable,
        )
        .await
        .map_err(|e| not_found_when(e, &["no such deal"], || format!("no pending deal {id}")))?;
    found_or_404(result, at.immutable, || {
        format!("deal {id} is not a pending deal with an allocation")
    })
}

/// The allocation ID of a pending deal.
///
/// The ID of the allocation made for a storage deal that is published but not yet activated
/// (`Filecoin.StateGetAllocationIdForPendingDeal`). A deal without one (Lotus answers 0) is a 404.
#[utoipa::path(
    tag = "Verified registry",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateGetAllocationIdForPendingDeal"]))),
    params(PendingDealPath, params::AtTipset),
    responses((status = 200, description = "The allocation ID, as a JSON number", body = u64,
        content_type = "application/json", example = json!(4))),
    security(("lotus_token" = ["read"]))
)]
#[get("/allocation-id")]
pub async fn get_pending_deal_allocation_id(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    PendingDealPath { id }: PendingDealPath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let at = at.key(&state, &auth.caller).await?;
    let result = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.StateGetAllocationIdForPendingDeal",
            json!([id, at.key]),
            at.immutable,
        )
        .await
        .map_err(|e| not_found_when(e, &["no such deal"], || format!("no pending deal {id}")))?;
    if matches!(result.trim(), "0" | "null") {
        return Err(ApiError::new(
            crate::error::Code::NotFound,
            format!("deal {id} is not a pending deal with an allocation"),
        ));
    }
    Ok(lotus_json(result, at.immutable))
}

/// Registers the verified registry routes.
/// The routes under `/v1/verifreg`, in the order they are matched.
pub fn register_verifreg(cfg: &mut ServiceConfig) {
    cfg.service(get_verifreg_root_key)
        .service(get_verifier)
        .service(list_allocations)
        .service(list_claims)
        .scope("/clients/{address}", &|cfg| {
            cfg.service(get_verified_client)
                .service(list_client_allocations)
                .service(get_allocation);
        })
        .scope("/pending-deals/{id}", &|cfg| {
            cfg.service(get_pending_deal_allocation)
                .service(get_pending_deal_allocation_id);
        });
}

/// The routes under `/v1/miners/{address}` this module declares, in the order they are matched.
pub fn register_miner(cfg: &mut ServiceConfig) {
    cfg.service(list_provider_claims).service(get_claim);
}
