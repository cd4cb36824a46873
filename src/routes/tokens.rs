//! API tokens of the node: creating them with chosen permissions and checking what a token allows. The miner's
//! token routes do the same with the miner.

use crate::routes::ServiceConfig;
use actix_web::{http::header, post, web, HttpResponse};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::body::Body;
use super::messages::field_error;
use crate::auth::{Admin, Authorized, Caller, Perm, Read};
use crate::error::{ApiError, Code};
use crate::state::AppState;
use crate::upstream::Client;

/// The permissions a new token grants.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Permissions": ["read", "write"]}))]
pub struct NewToken {
    /// One or more of `read`, `write`, `sign` and `admin`. Each is granted as given: a token with `write` alone
    /// cannot read.
    #[schema(example = json!(["read", "write"]))]
    pub permissions: Vec<String>,
}

/// A token and what it allows.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Token {
    /// The JWT, to send as `Authorization: Bearer <token>`.
    #[schema(
        example = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJBbGxvdyI6WyJyZWFkIl19.c2lnbmF0dXJl"
    )]
    pub token: String,
    /// The permissions it grants.
    #[schema(example = json!(["read", "write"]))]
    pub permissions: Vec<String>,
}

/// Checks the permissions a request asks for, keeping their order and dropping repeats.
fn permissions(asked: &[String]) -> Result<Vec<String>, ApiError> {
    if asked.is_empty() {
        return Err(field_error("Permissions", "give at least one permission"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, name) in asked.iter().enumerate() {
        let perm: Perm = name.trim().parse().map_err(|_| {
            field_error(
                &format!("Permissions[{i}]"),
                format!("unknown permission \"{name}\": expected read, write, sign or admin"),
            )
        })?;
        let name = perm.as_str().to_owned();
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

/// Has `upstream` (the node or the miner) mint a token granting the permissions asked for: the 201 of both
/// token-creating routes.
pub async fn create_token(
    upstream: &Client,
    caller: &Caller,
    asked: &[String],
) -> Result<HttpResponse, ApiError> {
    let perms = permissions(asked)?;
    let raw: String = upstream
        .call(caller, "Filecoin.AuthNew", json!([perms]))
        .await?;
    // Lotus returns the token as bytes, which JSON carries as base64.
    let token = base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            ApiError::new(
                Code::UpstreamBadResponse,
                format!(
                    "the Lotus {}'s reply to Filecoin.AuthNew is not a base64 token",
                    upstream.name()
                ),
            )
        })?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Token {
            token,
            permissions: perms,
        }))
}

/// What `upstream` (the node or the miner) says `token` allows: the answer of both token-verifying routes. A token
/// it refuses is `Valid: false` with its reason.
pub async fn verify_token(
    upstream: &Client,
    caller: &Caller,
    token: &str,
) -> Result<HttpResponse, ApiError> {
    let token = token.trim();
    if token.is_empty() || token.len() > 8192 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(field_error(
            "Token",
            "expected a JWT (printable ASCII, at most 8192 characters)",
        ));
    }
    let verification = match upstream
        .call::<Vec<String>, _>(caller, "Filecoin.AuthVerify", json!([token]))
        .await
    {
        Ok(permissions) => Verification {
            valid: true,
            permissions,
            reason: None,
        },
        Err(e) if e.code == Code::UpstreamError => Verification {
            valid: false,
            permissions: Vec::new(),
            reason: Some(e.rpc.map(|r| r.message).unwrap_or(e.detail)),
        },
        Err(e) => return Err(e),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(verification))
}

/// Creates a token.
///
/// Has the node mint a token granting the permissions asked for (`Filecoin.AuthNew`). The token is in the body
/// of the 201; it is not kept anywhere it could be fetched again.
#[utoipa::path(
    tag = "Auth",
    extensions(("x-lotus-methods" = json!(["Filecoin.AuthNew"]))),
    request_body = NewToken,
    responses((status = 201, description = "The new token", body = Token)),
    security(("lotus_token" = ["admin"]))
)]
#[post("/tokens")]
pub async fn create_auth_token(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    body: Body<NewToken>,
) -> Result<HttpResponse, ApiError> {
    create_token(&state.node, &auth.caller, &body.permissions).await
}

/// A token to check.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJBbGxvdyI6WyJyZWFkIl19.c2lnbmF0dXJl"}))]
pub struct TokenToVerify {
    /// The JWT.
    pub token: String,
}

/// What a token allows.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Verification {
    /// Whether the node accepts the token.
    #[schema(example = true)]
    pub valid: bool,
    /// The permissions it grants; empty for a token the node refuses.
    #[schema(example = json!(["read", "write"]))]
    pub permissions: Vec<String>,
    /// Why the node refuses the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "JWT Verification failed: signature mismatch")]
    pub reason: Option<String>,
}

/// Verifies a token.
///
/// The permissions the node grants a token (`Filecoin.AuthVerify`). The token travels in the body, never in a
/// URL; a token the node refuses is answered with `Valid: false` and the node's reason.
#[utoipa::path(
    tag = "Auth",
    extensions(("x-lotus-methods" = json!(["Filecoin.AuthVerify"]))),
    request_body = TokenToVerify,
    responses((status = 200, description = "What the token allows", body = Verification)),
    security(("lotus_token" = ["read"]))
)]
#[post("/tokens/verify")]
pub async fn verify_auth_token(
    auth: Authorized<Read>,
    state: web::Data<AppState>,
    body: Body<TokenToVerify>,
) -> Result<HttpResponse, ApiError> {
    verify_token(&state.node, &auth.caller, &body.token).await
}

/// Registers the token routes.
/// The routes under `/v1/auth`, in the order they are matched.
pub fn register_auth(cfg: &mut ServiceConfig) {
    cfg.service(create_auth_token).service(verify_auth_token);
}
