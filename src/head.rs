//! The head of the chain, kept fresh from the node's `ChainNotify` stream over WebSocket, so that reading the head
//! costs no call to the node while the stream is healthy. When the stream drops, reads fall back to `ChainHead`
//! and the stream is reopened with backoff.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// The latest head the stream delivered, while the stream is healthy.
#[derive(Debug, Default)]
pub struct HeadFeed {
    current: RwLock<Option<Head>>,
    healthy: AtomicBool,
}

/// A head as the node sent it, with its key and height read once.
#[derive(Debug, Clone)]
struct Head {
    raw: Arc<str>,
    key: Option<Arc<serde_json::Value>>,
    height: Option<i64>,
}

impl HeadFeed {
    /// The head, when the stream is open and has delivered one.
    pub fn head(&self) -> Option<Arc<str>> {
        self.current().map(|h| h.raw)
    }

    /// The head's tipset key (its `Cids`) and height, when the stream is open and has delivered one.
    pub fn key_and_height(&self) -> Option<(Arc<serde_json::Value>, i64)> {
        let head = self.current()?;
        Some((head.key?, head.height?))
    }

    /// The head's height, when the stream is open and has delivered one.
    pub fn height(&self) -> Option<i64> {
        self.current()?.height
    }

    fn current(&self) -> Option<Head> {
        if !self.healthy.load(Ordering::Acquire) {
            return None;
        }
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Keeps a new head, reading its key and height once; its height, when it has one.
    fn set(&self, raw: Arc<str>) -> Option<i64> {
        #[derive(Deserialize)]
        struct KeyAndHeight {
            #[serde(rename = "Cids")]
            key: Option<serde_json::Value>,
            #[serde(rename = "Height")]
            height: Option<i64>,
        }
        let (key, height) = match serde_json::from_str::<KeyAndHeight>(&raw) {
            Ok(h) => (h.key.map(Arc::new), h.height),
            Err(_) => (None, None),
        };
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Head { raw, key, height });
        self.healthy.store(true, Ordering::Release);
        height
    }

    fn lost(&self) {
        self.healthy.store(false, Ordering::Release);
    }
}

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    method: Option<String>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    error: Option<crate::upstream::RpcError>,
}

#[derive(Deserialize)]
struct Change<'a> {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "Val", borrow)]
    val: &'a RawValue,
}

/// The WebSocket URL of a JSON-RPC HTTP URL: same host and path, `ws` or `wss`.
pub fn ws_url(http: &url::Url) -> Option<url::Url> {
    let mut url = http.clone();
    let scheme = match http.scheme() {
        "http" => "ws",
        "https" => "wss",
        _ => return None,
    };
    url.set_scheme(scheme).ok()?;
    Some(url)
}

/// How long the stream may stay silent before a ping, and again before it is given up.
const SILENCE: Duration = Duration::from_secs(60);

/// Follows `ChainNotify` until the process ends, reconnecting with backoff.
pub fn follow(
    feed: Arc<HeadFeed>,
    upstream: crate::streams::Upstream,
    on_head: impl Fn(i64, &serde_json::value::RawValue) + 'static,
) {
    actix_web::rt::spawn(async move {
        let mut delay = Duration::from_millis(100);
        loop {
            // With a pool of nodes, each connection goes to the node that serves best now.
            let (url, token) = upstream.now();
            match subscribe(&feed, &url, token.as_deref(), &on_head).await {
                Ok(()) => log::warn!("the node closed the ChainNotify stream; reopening it"),
                Err(e) => log::warn!(
                    "the ChainNotify stream failed: {e}; reading the head with ChainHead meanwhile"
                ),
            }
            let was_healthy = feed.is_healthy();
            feed.lost();
            if was_healthy {
                delay = Duration::from_millis(100);
            }
            actix_web::rt::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    });
}

async fn subscribe(
    feed: &HeadFeed,
    url: &url::Url,
    token: Option<&str>,
    on_head: &impl Fn(i64, &serde_json::value::RawValue),
) -> Result<(), String> {
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| format!("invalid WebSocket URL: {e}"))?;
    if let Some(token) = token {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| "the upstream token is not a valid header value".to_string())?;
        request.headers_mut().insert("Authorization", value);
    }
    let (mut ws, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(request),
    )
    .await
    .map_err(|_| "connecting timed out".to_string())?
    .map_err(|e| format!("cannot connect: {e}"))?;
    ws.send(Message::text(
        r#"{"jsonrpc":"2.0","method":"Filecoin.ChainNotify","params":[],"id":1}"#,
    ))
    .await
    .map_err(|e| format!("cannot subscribe: {e}"))?;
    let mut channel: Option<serde_json::Value> = None;
    let mut pinged = false;
    loop {
        let next = match tokio::time::timeout(SILENCE, ws.next()).await {
            Ok(next) => next,
            Err(_) if !pinged => {
                pinged = true;
                ws.send(Message::Ping(Default::default()))
                    .await
                    .map_err(|e| format!("cannot ping: {e}"))?;
                continue;
            }
            Err(_) => return Err("the stream went silent".into()),
        };
        pinged = false;
        let text = match next {
            None | Some(Ok(Message::Close(_))) => return Ok(()),
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(_)) => continue,
        };
        let msg: Incoming<'_> =
            serde_json::from_str(&text).map_err(|e| format!("not JSON-RPC: {e}"))?;
        if msg.id.as_ref().and_then(|v| v.as_u64()) == Some(1) {
            if let Some(err) = msg.error {
                return Err(format!("ChainNotify refused: {}", err.message));
            }
            channel = msg.result.and_then(|r| serde_json::from_str(r.get()).ok());
            continue;
        }
        let Some(params) = msg.params else { continue };
        match msg.method.as_deref() {
            Some("xrpc.ch.val") => {
                let (chan, changes): (serde_json::Value, Vec<Change<'_>>) =
                    serde_json::from_str(params.get())
                        .map_err(|e| format!("unexpected head change: {e}"))?;
                if channel.as_ref() != Some(&chan) {
                    continue;
                }
                let newest = changes
                    .iter()
                    .rev()
                    .find(|c| c.kind == "current" || c.kind == "apply");
                if let Some(change) = newest {
                    if let Some(height) = feed.set(Arc::from(change.val.get())) {
                        on_head(height, change.val);
                    }
                }
            }
            Some("xrpc.ch.close") => return Ok(()),
            _ => {}
        }
    }
}
