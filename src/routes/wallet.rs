//! The node's wallet: its keys, default address, balances, signing and verification.

use crate::routes::ServiceConfig;
use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::body::Body;
use super::extract::{KeyAddressPath, WalletKeyPath};
use super::messages::{base64_field, field_error, MessageBody, SignatureBody};
use crate::auth::{Admin, Authorized, Read, Sign, Write};
use crate::error::{ApiError, Code};
use crate::lotus::types::{BigInt, Signature, SignedMessage};
use crate::lotus::wallet::{KeyInfo, KeyType};
use crate::state::AppState;

/// A key address of the wallet.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct WalletAddress {
    /// The key address.
    #[schema(example = "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za")]
    pub address: String,
}

/// What key to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Type": "secp256k1"}))]
pub struct NewKey {
    /// `secp256k1` or `bls`.
    pub r#type: KeyType,
}

/// Data to sign.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Data": "aGVsbG8="}))]
pub struct SignRequest {
    /// The bytes to sign, base64.
    #[schema(format = Byte)]
    pub data: String,
}

/// A signature to verify.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Address": "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za", "Data": "aGVsbG8=",
    "Signature": {"Type": 1, "Data": "krFATGA0OBu/kFwtXsThVtKCkppnU7045uTURCeiOeJttxuXfx3wqJrLkCytnJFWFLVC+tiVWI4BxC3wqc9r6eAlNr9dEBx+3KwML/RFG/b5grmknLpGWn7g1EB/2T4y"}}))]
pub struct VerifyRequest {
    /// The address whose key supposedly signed.
    pub address: String,
    /// The signed bytes, base64.
    #[schema(format = Byte)]
    pub data: String,
    pub signature: SignatureBody,
}

/// Whether a signature is valid.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = SignatureVerification)]
pub struct Verification {
    #[schema(example = true)]
    pub valid: bool,
}

/// An address's balance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct WalletBalance {
    #[schema(example = "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za")]
    pub address: String,
    /// attoFIL; 0 for an address without an actor.
    pub balance: BigInt,
}

/// A valid address, as the node writes it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AddressValidation {
    #[schema(example = "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za")]
    pub address: String,
    #[schema(example = true)]
    pub valid: bool,
}

fn address_body(field: &str, value: &str) -> Result<String, ApiError> {
    super::send::address_field(field, value)
}

/// The wallet's keys.
///
/// The addresses of the keys the node's wallet holds (`Filecoin.WalletList`).
#[utoipa::path(
    tag = "Wallet",
    extensions(("x-lotus-methods" = json!(["Filecoin.WalletList"]))),
    responses((status = 200, description = "The key addresses", body = Vec<String>,
        example = json!(["f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za"]))),
    security(("lotus_token" = ["write"]))
)]
#[get("/keys")]
pub async fn list_wallet_keys(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let raw = state
        .node
        .call_raw(&auth.caller, "Filecoin.WalletList", json!([]))
        .await?;
    if raw.get() == "null" {
        return Ok(super::json_response(&Vec::<String>::new(), false));
    }
    Ok(super::lotus_json_uncached(&raw))
}

/// Creates a key.
///
/// Generates a new key in the node's wallet (`Filecoin.WalletNew`). Its address has no actor until it is sent
/// funds. Answers 201 with the address; `Location` is the key.
#[utoipa::path(
    tag = "Wallet",
    extensions(("x-lotus-methods" = json!(["Filecoin.WalletNew"]))),
    request_body = NewKey,
    responses((status = 201, description = "The new key's address", body = WalletAddress,
        headers(("Location" = String, description = "The key: /v1/wallet/keys/{address}")))),
    security(("lotus_token" = ["write"]))
)]
#[post("/keys")]
pub async fn create_wallet_key(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
    body: Body<NewKey>,
) -> Result<HttpResponse, ApiError> {
    let address: String = state
        .node
        .call(
            &auth.caller,
            "Filecoin.WalletNew",
            json!([body.r#type.as_str()]),
        )
        .await?;
    Ok(super::created(
        &format!("/v1/wallet/keys/{address}"),
        &WalletAddress {
            address: address.to_string(),
        },
    ))
}

/// Imports a key.
///
/// Adds a private key to the node's wallet (`Filecoin.WalletImport`). Answers 201 with its address; `Location` is
/// the key.
#[utoipa::path(
    tag = "Wallet",
    extensions(("x-lotus-methods" = json!(["Filecoin.WalletImport"]))),
    request_body = KeyInfo,
    responses((status = 201, description = "The imported key's address", body = WalletAddress,
        headers(("Location" = String, description = "The key: /v1/wallet/keys/{address}")))),
    security(("lotus_token" = ["admin"]))
)]
#[post("/keys/import")]
pub async fn create_imported_wallet_key(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    body: Body<KeyInfo>,
) -> Result<HttpResponse, ApiError> {
    let private = base64_field("PrivateKey", &body.private_key)?;
    if private.len() != 32 {
        return Err(field_error(
            "PrivateKey",
            format!("a private key is 32 bytes, not {}", private.len()),
        ));
    }
    let address: String = state
        .node
        .call(
            &auth.caller,
            "Filecoin.WalletImport",
            json!([{"Type": body.r#type.as_str(), "PrivateKey": body.private_key.trim()}]),
        )
        .await?;
    Ok(super::created(
        &format!("/v1/wallet/keys/{address}"),
        &WalletAddress {
            address: address.to_string(),
        },
    ))
}

/// A key of the wallet.
///
/// 200 when the node's wallet holds the key of this address, 404 otherwise (`Filecoin.WalletHas`).
#[utoipa::path(
    tag = "Wallet",
    extensions(("x-lotus-methods" = json!(["Filecoin.WalletHas"]))),
    params(WalletKeyPath),
    responses((status = 200, description = "The wallet holds the key", body = WalletAddress)),
    security(("lotus_token" = ["write"]))
)]
#[get("")]
pub async fn get_wallet_key(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
    WalletKeyPath { address }: WalletKeyPath,
) -> Result<HttpResponse, ApiError> {
    let has: bool = state
        .node
        .call(&auth.caller, "Filecoin.WalletHas", json!([address]))
        .await?;
    if !has {
        return Err(ApiError::new(
            Code::NotFound,
            format!("the node's wallet holds no key for {address}"),
        ));
    }
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(WalletAddress {
            address: address.to_string(),
        }))
}

/// Deletes a key.
///
/// Removes the key of this address from the node's wallet (`Filecoin.WalletDelete`); if it was the default, the
/// wallet has no default afterwards. 404 when the wallet holds no such key.
#[utoipa::path(
    tag = "Wallet",
    extensions(("x-lotus-methods" = json!(["Filecoin.WalletDelete"]))),
    params(WalletKeyPath),
    responses((status = 204, description = "The key is deleted")),
    security(("lotus_token" = ["admin"]))
)]
#[delete("")]
pub async fn delete_wallet_key(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    WalletKeyPath { address }: WalletKeyPath,
) -> Result<HttpResponse, ApiError> {
    state
        .node
        .call_raw(&auth.caller, "Filecoin.WalletDelete", json!([address]))
        .await?;
    Ok(super::no_content())
}

/// A key's private key.
///
/// Exports the private key of this address from the node's wallet (`Filecoin.WalletExport`), in the form
/// `POST /v1/wallet/keys/import` takes. 404 when the wallet holds no such key.
#[utoipa::path(
    tag = "Wallet",
    extensions(("x-lotus-methods" = json!(["Filecoin.WalletExport"]))),
    params(WalletKeyPath),
    responses((status = 200, description = "The key", body = KeyInfo)),
    security(("lotus_token" = ["admin"]))
)]
#[get("/private-key")]
pub async fn get_wallet_private_key(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    WalletKeyPath { address }: WalletKeyPath,
) -> Result<HttpResponse, ApiError> {
    let raw = state
        .node
        .call_raw(&auth.caller, "Filecoin.WalletExport", json!([address]))
        .await?;
    Ok(super::lotus_json_uncached(&raw))
}

/// Signs data.
///
/// Signs bytes with the key of this address (`Filecoin.WalletSign`); an ID address of an account signs with its
/// key address. 404 when the wallet holds no such key.
#[utoipa::path(
    tag = "Wallet",
    extensions(("x-lotus-methods" = json!(["Filecoin.WalletSign"]))),
    params(WalletKeyPath),
    request_body = SignRequest,
    responses((status = 200, description = "The signature", body = Signature)),
    security(("lotus_token" = ["sign"]))
)]
#[post("/sign")]
pub async fn create_wallet_signature(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    WalletKeyPath { address }: WalletKeyPath,
    body: Body<SignRequest>,
) -> Result<HttpResponse, ApiError> {
    base64_field("Data", &body.data)?;
    let raw = state
        .node
        .call_raw(
            &auth.caller,
            "Filecoin.WalletSign",
            json!([address, body.data.trim()]),
        )
        .await?;
    Ok(super::lotus_json_uncached(&raw))
}

/// Signs a message.
///
/// Signs a message with the key of this address (`Filecoin.WalletSignMessage`) without pushing it: the result can
/// be pushed with `POST /v1/messages/signed`. 404 when the wallet holds no such key.
#[utoipa::path(
    tag = "Wallet",
    extensions(("x-lotus-methods" = json!(["Filecoin.WalletSignMessage"]))),
    params(WalletKeyPath),
    request_body = MessageBody,
    responses((status = 200, description = "The signed message", body = SignedMessage)),
    security(("lotus_token" = ["sign"]))
)]
#[post("/sign-message")]
pub async fn create_wallet_signed_message(
    auth: Authorized<Sign>,
    state: web::Data<AppState>,
    WalletKeyPath { address }: WalletKeyPath,
    body: Body<MessageBody>,
) -> Result<HttpResponse, ApiError> {
    let message = body.to_lotus("")?;
    let raw = state
        .node
        .call_raw(
            &auth.caller,
            "Filecoin.WalletSignMessage",
            json!([address, message]),
        )
        .await?;
    Ok(super::lotus_json_uncached(&raw))
}

/// Verifies a signature.
///
/// Whether a signature of the data was made with the key of the address (`Filecoin.WalletVerify`).
#[utoipa::path(
    tag = "Wallet",
    extensions(("x-lotus-methods" = json!(["Filecoin.WalletVerify"]))),
    request_body = VerifyRequest,
    responses((status = 200, description = "Whether the signature is valid", body = Verification)),
    security(("lotus_token" = ["read"]))
)]
#[post("/verify")]
pub async fn post_wallet_verification(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    body: Body<VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let address = address_body("Address", &body.address)?;
    base64_field("Data", &body.data)?;
    let signature = body.signature.to_lotus("Signature.")?;
    let valid: bool = state
        .node
        .call(
            &auth.caller,
            "Filecoin.WalletVerify",
            json!([address, body.data.trim(), signature]),
        )
        .await?;
    Ok(super::json_response(&Verification { valid }, true))
}

/// The default address.
///
/// The address the node sends from when none is given (`Filecoin.WalletDefaultAddress`). 404 when no default is
/// set.
#[utoipa::path(
    tag = "Wallet",
    extensions(("x-lotus-methods" = json!(["Filecoin.WalletDefaultAddress"]))),
    responses((status = 200, description = "The default address", body = WalletAddress)),
    security(("lotus_token" = ["write"]))
)]
#[get("/default")]
pub async fn get_wallet_default(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let address: String = state
        .node
        .call(&auth.caller, "Filecoin.WalletDefaultAddress", json!([]))
        .await?;
    if address.is_empty() || address == "<empty>" {
        return Err(ApiError::new(
            Code::NotFound,
            "the node's wallet has no default address",
        ));
    }
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(WalletAddress {
            address: address.to_string(),
        }))
}

/// Sets the default address.
///
/// Makes the key of this address the wallet's default (`Filecoin.WalletSetDefault`). 404 when the wallet holds no
/// such key.
#[utoipa::path(
    tag = "Wallet",
    extensions(("x-lotus-methods" = json!(["Filecoin.WalletSetDefault"]))),
    request_body = DefaultRequest,
    responses((status = 204, description = "The default is set")),
    security(("lotus_token" = ["write"]))
)]
#[put("/default")]
pub async fn update_wallet_default(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
    body: Body<DefaultRequest>,
) -> Result<HttpResponse, ApiError> {
    let address = address_body("Address", &body.address)?;
    state
        .node
        .call_raw(&auth.caller, "Filecoin.WalletSetDefault", json!([address]))
        .await?;
    Ok(super::no_content())
}

/// The address to make the default.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Address": "f1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za"}))]
pub struct DefaultRequest {
    /// A key address of the wallet.
    pub address: String,
}

/// An address's balance.
///
/// The balance of the actor at an address in the head's state, 0 for an address without an actor
/// (`Filecoin.WalletBalance`). The address need not be one of the wallet's.
#[utoipa::path(
    tag = "Wallet",
    extensions(("x-lotus-methods" = json!(["Filecoin.WalletBalance"]))),
    params(KeyAddressPath),
    responses((status = 200, description = "The balance", body = WalletBalance)),
    security(("lotus_token" = ["read"]))
)]
#[get("/balances/{address}")]
pub async fn get_wallet_balance(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    KeyAddressPath { address }: KeyAddressPath,
) -> Result<HttpResponse, ApiError> {
    let raw = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.WalletBalance",
            json!([address]),
            false,
        )
        .await?;
    let balance: BigInt = super::decode("Filecoin.WalletBalance", &raw)?;
    Ok(super::json_response(
        &WalletBalance {
            address: address.to_string(),
            balance,
        },
        false,
    ))
}

/// Validates an address.
///
/// Whether the node takes a string as a Filecoin address, and how it writes it (`Filecoin.WalletValidateAddress`).
/// An address the gateway can already tell is malformed, or of another network, is a 400.
#[utoipa::path(
    tag = "Wallet",
    extensions(("x-lotus-methods" = json!(["Filecoin.WalletValidateAddress"]))),
    params(WalletKeyPath),
    responses((status = 200, description = "The address is valid", body = AddressValidation)),
    security(("lotus_token" = ["read"]))
)]
#[get("/addresses/{address}/validation")]
pub async fn get_wallet_address_validation(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    WalletKeyPath { address }: WalletKeyPath,
) -> Result<HttpResponse, ApiError> {
    let raw = state
        .node
        .call_read(
            &auth.caller,
            "Filecoin.WalletValidateAddress",
            json!([address]),
            true,
        )
        .await?;
    let address: String = super::decode("Filecoin.WalletValidateAddress", &raw)?;
    Ok(super::json_response(
        &AddressValidation {
            address,
            valid: true,
        },
        true,
    ))
}

/// Registers the wallet routes.
/// The routes under `/v1/wallet`, in the order they are matched.
pub fn register_wallet(cfg: &mut ServiceConfig) {
    cfg.service(list_wallet_keys)
        .service(create_wallet_key)
        .service(create_imported_wallet_key)
        .scope("/keys/{address}", &|cfg| {
            cfg.service(get_wallet_key)
                .service(delete_wallet_key)
                .service(get_wallet_private_key)
                .service(create_wallet_signature)
                .service(create_wallet_signed_message);
        })
        .service(post_wallet_verification)
        .service(get_wallet_default)
        .service(update_wallet_default)
        .service(get_wallet_balance)
        .service(get_wallet_address_validation);
}
