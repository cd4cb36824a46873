//! Live streams of chain events, as Server-Sent Events or newline-delimited JSON.

use crate::routes::ServiceConfig;
use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::{Authorized, Read};
use crate::error::ApiError;
use crate::lotus::types::{BlockHeader, SignedMessage, TipSet};
use crate::state::AppState;
use crate::streams::{Event, Kind};

const NDJSON: &str = "application/x-ndjson";
const SSE: &str = "text/event-stream";

/// One line of an NDJSON stream (in SSE, the same fields are the `id:`, `event:` and `data:` lines): an event of
/// the stream's own kind, with its id, or a notice of the gateway's own, without one.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum StreamEvent<T> {
    Data(DataEvent<T>),
    Notice(NoticeEvent),
}

/// An event of the stream's kind: `current`, `apply` or `revert` on the head stream, `mpool` on the message pool
/// stream, `block` on the block stream.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DataEvent<T> {
    /// The event's id, increasing within the stream; send it back as `Last-Event-ID` to resume after it.
    #[schema(example = 42, minimum = 1)]
    pub id: u64,
    /// The event's name.
    #[schema(example = "apply")]
    pub event: String,
    /// The event's value.
    pub data: T,
}

/// What the gateway itself tells a stream: the node's subscription was lost or is back, events were missed, the
/// client fell too far behind, the gateway is shutting down. Notices have no id and are not replayed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NoticeEvent {
    /// The notice's name.
    pub event: Notice,
    pub data: NoticeData,
}

/// The notices a stream may carry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    UpstreamLost,
    UpstreamRestored,
    Missed,
    Error,
    Shutdown,
}

/// A notice's text.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NoticeData {
    /// What happened, and what the client can do.
    #[schema(example = "the gateway is shutting down; reconnect with Last-Event-ID")]
    pub detail: String,
}

/// A change of the message pool, as Lotus's `MpoolSub` gives it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MpoolUpdate {
    /// 0: the message was added; 1: it was removed (included in a block or replaced).
    #[schema(example = 0)]
    pub r#type: u8,
    pub message: SignedMessage,
}

/// Whether the client asked for NDJSON rather than SSE.
fn wants_ndjson(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(NDJSON))
}

/// The `Last-Event-ID` a reconnecting client sends.
fn last_event_id(req: &HttpRequest) -> Result<Option<u64>, ApiError> {
    let Some(value) = req.headers().get("last-event-id") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<u64>().map(Some).map_err(|_| {
        ApiError::invalid_parameter(format!(
            "invalid Last-Event-ID \"{text}\": expected the id of an event of this stream, a non-negative integer"
        ))
    })
}

/// Opens a stream of `kind` for the caller.
async fn open(
    kind: Kind,
    auth: &Authorized<Read>,
    req: &HttpRequest,
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    state.node.guard(&auth.caller, kind.method())?;
    let ndjson = wants_ndjson(req);
    let last = last_event_id(req)?;
    // Counted against the client's address and its (verified) token, each capped.
    let mut holders: Vec<String> = req
        .peer_addr()
        .map(|a| format!("ip:{}", a.ip()))
        .into_iter()
        .collect();
    if let Ok(Some(token)) = crate::auth::bearer_token(req) {
        holders.push(crate::ratelimit::token_key(&token));
    }
    let subscription = state.streams.subscribe(kind, last, holders).await?;
    let heartbeat = state.streams.settings().heartbeat;
    let closing = state.streams.closing();
    let frame = move |e: &Event| if ndjson { e.ndjson() } else { e.sse() };
    let ticker = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    // SSE starts with the reconnection delay for EventSource; both forms then carry events and heartbeats.
    let opening = (!ndjson).then(|| web::Bytes::from_static(b"retry: 2000\n\n"));
    // The stream ends, and frees its place, as soon as its client closes the connection.
    let hangup = req
        .conn_data::<crate::hangup::ConnectionFd>()
        .map(|fd| crate::hangup::Watcher::new(*fd));
    struct Open {
        hangup: Option<crate::hangup::Watcher>,
        subscription: crate::streams::Subscription,
        ticker: tokio::time::Interval,
        closing: tokio::sync::watch::Receiver<bool>,
        opening: Option<web::Bytes>,
        done: bool,
    }
    let body = futures_util::stream::unfold(
        Open {
            hangup,
            subscription,
            ticker,
            closing,
            opening,
            done: false,
        },
        move |mut s| async move {
            if let Some(first) = s.opening.take() {
                return Some((Ok::<_, std::io::Error>(first), s));
            }
            if s.done {
                return None;
            }
            let chunk = tokio::select! {
                _ = crate::hangup::gone(s.hangup.as_ref()) => return None,
                event = s.subscription.next() => match event {
                    Some(event) => {
                        if event.event == "error" {
                            s.done = true;
                        }
                        frame(&event)
                    }
                    None => return None,
                },
                _ = s.ticker.tick() => {
                    web::Bytes::from_static(if ndjson { b"\n" } else { b": heartbeat\n\n" })
                }
                _ = wait_closing(&mut s.closing) => {
                    s.done = true;
                    let event = Event::new(
                        0,
                        "shutdown",
                        std::sync::Arc::from(
                            json!({"detail": "the gateway is shutting down; reconnect with Last-Event-ID"})
                                .to_string(),
                        ),
                        true,
                    );
                    frame(&event)
                }
            };
            Some((Ok(chunk), s))
        },
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, if ndjson { NDJSON } else { SSE }))
        .insert_header((header::CACHE_CONTROL, "no-cache, no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

/// Resolves when the gateway starts shutting down.
async fn wait_closing(closing: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        if *closing.borrow_and_update() {
            return;
        }
        if closing.changed().await.is_err() {
            // The hub is gone: never resolve.
            std::future::pending::<()>().await;
        }
    }
}

/// Head changes, live.
///
/// The chain's head as it changes (`Filecoin.ChainNotify`): a `current` event with the head when the stream opens,
/// then `apply` and `revert` events, each with the tipset. Server-Sent Events by default; newline-delimited JSON
/// (`{"id","event","data"}` per line) with `Accept: application/x-ndjson`. A client that reconnects with
/// `Last-Event-ID` gets the events it missed while the gateway still holds them (`[Streams] BufferEvents`, 1024 by
/// default), else a `missed` event and the current head. Idle streams get a heartbeat every `[Streams] Heartbeat`
/// (an SSE comment, or an empty NDJSON line). When the node's WebSocket drops, `upstream_lost` and then
/// `upstream_restored` are sent and the head events go on from the node's new `current` tipset. A client that falls
/// `[Streams] ClientQueue` events behind is cut off with a final `error` event.
#[utoipa::path(
    tag = "Streams",
    extensions(("x-lotus-methods" = json!(["Filecoin.ChainNotify"]))),
    params(("Last-Event-ID" = Option<u64>, Header, description = "The id of the last event received, to resume after it", example = 42)),
    responses((status = 200, description = "The stream of head changes",
        content(
            (String = "text/event-stream", example = "id: 7\nevent: apply\ndata: {\"Cids\":[...],\"Blocks\":[...],\"Height\":1234}\n\n"),
            (StreamEvent<TipSet> = "application/x-ndjson"),
        ))),
    security(("lotus_token" = ["read"]))
)]
#[get("/heads")]
pub async fn stream_heads(
    auth: Authorized<Read>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    open(Kind::Heads, &auth, &req, &state).await
}

/// Message pool updates, live.
///
/// Messages added to and removed from the node's message pool (`Filecoin.MpoolSub`), as `mpool` events. The same
/// forms, replay, heartbeats and upstream events as the head stream.
#[utoipa::path(
    tag = "Streams",
    extensions(("x-lotus-methods" = json!(["Filecoin.MpoolSub"]))),
    params(("Last-Event-ID" = Option<u64>, Header, description = "The id of the last event received, to resume after it", example = 42)),
    responses((status = 200, description = "The stream of message pool updates",
        content(
            (String = "text/event-stream", example = "id: 3\nevent: mpool\ndata: {\"Type\":0,\"Message\":{...}}\n\n"),
            (StreamEvent<MpoolUpdate> = "application/x-ndjson"),
        ))),
    security(("lotus_token" = ["read"]))
)]
#[get("/mpool")]
pub async fn stream_mpool(
    auth: Authorized<Read>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    open(Kind::Mpool, &auth, &req, &state).await
}

/// Incoming blocks, live.
///
/// Block headers as the node receives them (`Filecoin.SyncIncomingBlocks`), as `block` events. The same forms,
/// replay, heartbeats and upstream events as the head stream.
#[utoipa::path(
    tag = "Streams",
    extensions(("x-lotus-methods" = json!(["Filecoin.SyncIncomingBlocks"]))),
    params(("Last-Event-ID" = Option<u64>, Header, description = "The id of the last event received, to resume after it", example = 42)),
    responses((status = 200, description = "The stream of incoming block headers",
        content(
            (String = "text/event-stream", example = "id: 9\nevent: block\ndata: {\"Miner\":\"f01234\",...}\n\n"),
            (StreamEvent<BlockHeader> = "application/x-ndjson"),
        ))),
    security(("lotus_token" = ["read"]))
)]
#[get("/blocks")]
pub async fn stream_blocks(
    auth: Authorized<Read>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    open(Kind::Blocks, &auth, &req, &state).await
}

/// Registers the stream routes.
/// The routes under `/v1/streams`, in the order they are matched.
pub fn register_streams(cfg: &mut ServiceConfig) {
    cfg.service(stream_heads)
        .service(stream_mpool)
        .service(stream_blocks);
}
