//! Liveness and readiness, for orchestrators and load balancers. They need no token.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::error::{ApiError, Code};
use crate::AppState;

/// The answer of the health endpoints.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` when healthy.
    #[schema(example = "ok")]
    pub status: String,
    /// The head height the node reported, for `/readyz`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 4863283)]
    pub head_height: Option<i64>,
}

/// Whether the process is up.
///
/// Answers 200 while the gateway runs; it does not contact the node.
#[utoipa::path(
    tag = "Health",
    responses((status = 200, description = "The gateway is up", body = Health)),
    security(())
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
        head_height: None,
    })
}

/// Prometheus metrics.
///
/// Requests by route, method and status, latency histograms by route, upstream calls by Lotus method with latency
/// and errors, requests in flight and token verification cache hits, in Prometheus's text format.
#[utoipa::path(
    tag = "Health",
    responses((status = 200, description = "The metrics", body = String,
        content_type = "text/plain; version=0.0.4")),
    security(())
)]
#[get("/metrics")]
pub async fn get_metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

/// Whether the node answers.
///
/// Answers 200 when the node answers `Filecoin.ChainHead`, 503 with the reason when it does not.
#[utoipa::path(
    tag = "Health",
    responses(
        (status = 200, description = "The node answers", body = Health),
        (status = 503, description = "The node does not answer; `detail` says why", body = crate::error::Problem,
            content_type = "application/problem+json"),
    ),
    security(())
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "Height")]
        height: i64,
    }
    let token = state.auth.upstream_token.as_deref();
    let head = state
        .node
        .request(token, "Filecoin.ChainHead", json!([]))
        .await
        .map_err(|e| ApiError::new(Code::UpstreamUnavailable, format!("not ready: {e}")))?;
    let head: Head = serde_json::from_str(head.get()).map_err(|e| {
        ApiError::new(
            Code::UpstreamUnavailable,
            format!("not ready: the node's ChainHead reply has no height: {e}"),
        )
    })?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ok".into(),
        head_height: Some(head.height),
    }))
}
