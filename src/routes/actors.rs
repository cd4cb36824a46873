//! Actors and addresses.

use crate::routes::ServiceConfig;
use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::extract::{ActorPath, KeyAddressPath};
use super::params;
use crate::auth::{Authorized, Read};
use crate::error::ApiError;
use crate::lotus::types::{Actor, BigInt};
use crate::state::AppState;

const ADDRESS_EXAMPLE: &str = "f01234";

/// An actor by address.
///
/// The actor at an address in the state of the tipset selected (`Filecoin.StateGetActor`).
#[utoipa::path(
    tag = "Actors",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateGetActor"]))),
    params(ActorPath, params::AtTipset),
    responses((status = 200, description = "The actor", body = Actor)),
    security(("lotus_token" = ["read"]))
)]
#[get("")]
pub async fn get_actor(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    path: ActorPath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    super::read_at(&state, &auth.caller, &at, "Filecoin.StateGetActor", |key| {
        json!([path.address, key])
    })
    .await
}

/// An actor's balance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Balance {
    /// The address asked for.
    #[schema(example = "f01234")]
    pub address: String,
    /// The balance in attoFIL.
    pub balance: BigInt,
}

/// An actor's balance.
///
/// The balance in attoFIL of the actor at an address, in the state of the tipset selected
/// (`Filecoin.StateGetActor`).
#[utoipa::path(
    tag = "Actors",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateGetActor"]))),
    params(ActorPath, params::AtTipset),
    responses((status = 200, description = "The balance", body = Balance)),
    security(("lotus_token" = ["read"]))
)]
#[get("/balance")]
pub async fn get_actor_balance(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    path: ActorPath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    let at = at.key(&state, &auth.caller).await?;
    let actor = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.StateGetActor",
            json!([path.address, at.key]),
            at.immutable,
        )
        .await?;
    let actor: Actor = super::decode("Filecoin.StateGetActor", &actor)?;
    Ok(super::json_response(
        &Balance {
            address: path.address.to_string(),
            balance: actor.balance,
        },
        at.immutable,
    ))
}

/// The ID address of an address.
///
/// Resolves an address to the actor's ID address (`Filecoin.StateLookupID`).
#[utoipa::path(
    tag = "Actors",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateLookupID"]))),
    params(KeyAddressPath, params::AtTipset),
    responses((status = 200, description = "The ID address, as a JSON string", body = String,
        content_type = "application/json", example = json!(ADDRESS_EXAMPLE))),
    security(("lotus_token" = ["read"]))
)]
#[get("/id")]
pub async fn get_address_id(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    path: KeyAddressPath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    super::read_at(&state, &auth.caller, &at, "Filecoin.StateLookupID", |key| {
        json!([path.address, key])
    })
    .await
}

/// The key address of an account.
///
/// Resolves an ID address of an account actor to its public-key address (`Filecoin.StateAccountKey`).
#[utoipa::path(
    tag = "Actors",
    extensions(("x-lotus-methods" = json!(["Filecoin.StateAccountKey"]))),
    params(ActorPath, params::AtTipset),
    responses((status = 200, description = "The key address, as a JSON string", body = String,
        content_type = "application/json",
        example = json!("f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za"))),
    security(("lotus_token" = ["read"]))
)]
#[get("/key")]
pub async fn get_address_key(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    path: ActorPath,
    at: web::Query<params::AtTipset>,
) -> Result<HttpResponse, ApiError> {
    super::read_at(
        &state,
        &auth.caller,
        &at,
        "Filecoin.StateAccountKey",
        |key| json!([path.address, key]),
    )
    .await
}

/// The routes under `/v1/actors/{address}` this module declares, in the order they are matched.
pub fn register_actor(cfg: &mut ServiceConfig) {
    cfg.service(get_actor).service(get_actor_balance);
}

/// The routes under `/v1/addresses/{address}` this module declares, in the order they are matched.
pub fn register_address(cfg: &mut ServiceConfig) {
    cfg.service(get_address_id).service(get_address_key);
}
