//! The node's log subsystems and alerts.

use crate::routes::ServiceConfig;
use actix_web::{get, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::body::Body;
use super::extract::SubsystemPath;
use crate::auth::{Admin, Authorized, Write};
use crate::error::ApiError;
use crate::state::AppState;

/// The levels a subsystem can log at.
pub const LEVELS: [&str; 7] = ["debug", "info", "warn", "error", "dpanic", "panic", "fatal"];

/// A log level to set.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[schema(example = json!({"Level": "debug"}))]
pub struct LogLevel {
    /// debug, info, warn, error, dpanic, panic or fatal.
    #[schema(
        example = "debug",
        pattern = "^(debug|info|warn|error|dpanic|panic|fatal)$"
    )]
    pub level: String,
}

/// An alert the node raises (`alerting.Alert`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Alert {
    /// The system and subsystem that raised it.
    #[schema(value_type = Object, example = json!({"System": "process", "Subsystem": "fd-limit"}))]
    pub r#type: serde_json::Value,
    /// Whether it is raised now.
    pub active: bool,
    /// When it was last raised, with its message.
    #[schema(value_type = Option<Object>)]
    pub last_active: Option<serde_json::Value>,
    /// When it was last resolved, with its message.
    #[schema(value_type = Option<Object>)]
    pub last_resolved: Option<serde_json::Value>,
}

/// Log subsystems.
///
/// The names of the node's log subsystems (`Filecoin.LogList`).
#[utoipa::path(
    tag = "Logs",
    extensions(("x-lotus-methods" = json!(["Filecoin.LogList"]))),
    responses((status = 200, description = "Subsystem names", body = Vec<String>, example = json!(["chain", "rpc"]))),
    security(("lotus_token" = ["write"]))
)]
#[get("/subsystems")]
pub async fn list_log_subsystems(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let result = state
        .node
        .call_raw(&auth.caller, "Filecoin.LogList", json!([]))
        .await?;
    Ok(super::lotus_json_uncached(&result))
}

/// Set a subsystem's log level.
///
/// Sets the level a log subsystem logs at, or every subsystem's with `*` (`Filecoin.LogSetLevel`).
#[utoipa::path(
    tag = "Logs",
    extensions(("x-lotus-methods" = json!(["Filecoin.LogSetLevel"]))),
    params(SubsystemPath),
    request_body = LogLevel,
    responses((status = 204, description = "Set")),
    security(("lotus_token" = ["write"]))
)]
#[put("/subsystems/{subsystem}/level")]
pub async fn put_log_level(
    auth: Authorized<Write>,
    state: web::Data<AppState>,
    SubsystemPath { subsystem }: SubsystemPath,
    body: Body<LogLevel>,
) -> Result<HttpResponse, ApiError> {
    let level = level_field(&body.level)?;
    state
        .node
        .call_raw(
            &auth.caller,
            "Filecoin.LogSetLevel",
            json!([subsystem, level]),
        )
        .await?;
    Ok(super::no_content())
}

/// Checks a log subsystem named in the path: a subsystem's name, or `*` for all of them.
pub fn subsystem_param(subsystem: &str) -> Result<(), ApiError> {
    let name_like = !subsystem.is_empty()
        && subsystem.len() <= 256
        && subsystem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./-".contains(&b));
    if subsystem == "*" || name_like {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter(format!(
            "invalid subsystem \"{subsystem}\": expected a subsystem name (letters, digits, _ . / -) or *"
        )))
    }
}

/// The level a body asks for, in lower case, when it is one of [`LEVELS`].
pub fn level_field(level: &str) -> Result<String, ApiError> {
    let lower = level.trim().to_ascii_lowercase();
    if LEVELS.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(super::messages::field_error(
            "Level",
            format!(
                "unknown level \"{level}\": expected one of {}",
                LEVELS.join(", ")
            ),
        ))
    }
}

/// The node's alerts.
///
/// Alerts the node raised, active or resolved (`Filecoin.LogAlerts`).
#[utoipa::path(
    tag = "Logs",
    extensions(("x-lotus-methods" = json!(["Filecoin.LogAlerts"]))),
    responses((status = 200, description = "The alerts", body = Vec<Alert>)),
    security(("lotus_token" = ["admin"]))
)]
#[get("/alerts")]
pub async fn list_log_alerts(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let result = state
        .node
        .call_raw(&auth.caller, "Filecoin.LogAlerts", json!([]))
        .await?;
    Ok(super::lotus_json_uncached(&result))
}

/// Registers the logs routes.
/// The routes under `/v1/logs`, in the order they are matched.
pub fn register_logs(cfg: &mut ServiceConfig) {
    cfg.service(list_log_subsystems)
        .service(put_log_level)
        .service(list_log_alerts);
}
