//! The simulated node over WebSocket, driven by a real WebSocket client.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::*;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a message may take to arrive.
const PATIENCE: Duration = Duration::from_secs(5);
/// How long the tests wait to be sure nothing arrives.
const QUIET: Duration = Duration::from_millis(300);

async fn sim_with(config: SimConfig) -> SimHandle {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    start(config, listener)
        .await
        .expect("the simulated node starts")
}

/// A node whose chain moves only when a test advances it.
async fn still_sim() -> SimHandle {
    let mut config = SimConfig::new(Secret::new(vec![42; 32]));
    config.block_time = Duration::ZERO;
    sim_with(config).await
}

async fn connect_to(url: &str, token: Option<&str>) -> Result<Ws, WsError> {
    let mut request = url.into_client_request()?;
    if let Some(token) = token {
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("a header value"),
        );
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(ws, _)| ws)
}

async fn connect(sim: &SimHandle) -> Ws {
    connect_to(&sim.ws_url(), None)
        .await
        .expect("the upgrade succeeds")
}

async fn send(ws: &mut Ws, body: Value) {
    ws.send(Message::text(body.to_string()))
        .await
        .expect("the message is sent");
}

/// The next frame other than a ping or pong; `None` once the connection has ended.
async fn next_frame(ws: &mut Ws) -> Option<Message> {
    loop {
        let frame = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .expect("a message arrives in time");
        match frame {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(message)) => return Some(message),
            Some(Err(_)) | None => return None,
        }
    }
}

/// The next JSON message.
async fn next(ws: &mut Ws) -> Value {
    match next_frame(ws).await {
        Some(Message::Text(text)) => serde_json::from_str(&text).expect("a JSON message"),
        other => panic!("expected a text message, got {other:?}"),
    }
}

async fn assert_quiet(ws: &mut Ws) {
    if let Ok(message) = tokio::time::timeout(QUIET, ws.next()).await {
        panic!("unexpected message: {message:?}");
    }
}

/// Sends a request and returns its reply.
async fn call(ws: &mut Ws, method: &str, params: Value, id: Value) -> Value {
    send(
        ws,
        json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id}),
    )
    .await;
    let reply = next(ws).await;
    assert_eq!(reply["id"], id, "{reply}");
    reply
}

/// Opens a channel; returns its id.
async fn subscribe(ws: &mut Ws, method: &str, id: Value) -> u64 {
    let reply = call(ws, method, json!([]), id).await;
    assert!(reply.get("error").is_none(), "{reply}");
    reply["result"].as_u64().expect("a channel id")
}

fn channel_value(message: &Value, channel: u64) -> Value {
    assert_eq!(message["jsonrpc"], "2.0", "{message}");
    assert_eq!(message["method"], "xrpc.ch.val", "{message}");
    assert!(message.get("id").is_none(), "{message}");
    assert_eq!(message["params"][0], channel, "{message}");
    message["params"][1].clone()
}

async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn json_of(tipset: &TipSet) -> Value {
    serde_json::to_value(tipset).unwrap()
}

#[tokio::test]
async fn chain_notify_streams_heads_until_cancelled() {
    let sim = still_sim().await;
    let mut ws = connect(&sim).await;
    let channel = subscribe(&mut ws, "Filecoin.ChainNotify", json!(5)).await;
    assert_eq!(channel, 1);
    assert_eq!(sim.subscribers(), 1);
    let current = channel_value(&next(&mut ws).await, channel);
    assert_eq!(
        current,
        json!([{"Type": "current", "Val": json_of(&sim.head())}])
    );

    // Head 200; 201 is a tipset, 202 a null round (202 % 7 == 6), 203 a tipset.
    sim.advance();
    let apply = channel_value(&next(&mut ws).await, channel);
    assert_eq!(sim.head().height, 201);
    assert_eq!(
        apply,
        json!([{"Type": "apply", "Val": json_of(&sim.head())}])
    );
    sim.advance();
    assert_eq!(sim.null_rounds().last(), Some(&202));
    assert_quiet(&mut ws).await;
    sim.advance();
    let apply = channel_value(&next(&mut ws).await, channel);
    assert_eq!(apply[0]["Val"]["Height"], 203);

    // Ordinary requests share the connection; ids of any type are echoed.
    let head = call(&mut ws, "Filecoin.ChainHead", json!([]), json!("head")).await;
    assert_eq!(head["result"], json_of(&sim.head()));
    let reply = call(&mut ws, "Filecoin.ChainHead", json!([]), json!({"n": 1})).await;
    assert_eq!(reply["result"]["Height"], 203);

    send(
        &mut ws,
        json!({"jsonrpc": "2.0", "method": "xrpc.cancel", "params": [5]}),
    )
    .await;
    assert_eq!(
        next(&mut ws).await,
        json!({"jsonrpc": "2.0", "method": "xrpc.ch.close", "params": [channel]})
    );
    assert_eq!(sim.subscribers(), 0);
    sim.advance();
    assert_quiet(&mut ws).await;

    // A second subscription gets the next channel id; the connection still answers.
    let channel = subscribe(&mut ws, "Filecoin.ChainNotify", json!(6)).await;
    assert_eq!(channel, 2);
    let current = channel_value(&next(&mut ws).await, channel);
    assert_eq!(current[0]["Val"]["Height"], 204);
    assert_eq!(
        sim.calls(),
        vec![
            "Filecoin.ChainNotify",
            "Filecoin.ChainHead",
            "Filecoin.ChainHead",
            "xrpc.cancel",
            "Filecoin.ChainNotify",
        ]
    );
    sim.stop().await;
}

#[tokio::test]
async fn closing_the_socket_ends_its_channels() {
    let sim = still_sim().await;
    let mut ws = connect(&sim).await;
    let mut other = connect(&sim).await;
    subscribe(&mut ws, "Filecoin.ChainNotify", json!(1)).await;
    next(&mut ws).await;
    subscribe(&mut ws, "Filecoin.ChainNotify", json!(2)).await;
    next(&mut ws).await;
    let kept = subscribe(&mut other, "Filecoin.ChainNotify", json!(1)).await;
    next(&mut other).await;
    assert_eq!(sim.subscribers(), 3);

    ws.close(None).await.unwrap();
    assert!(matches!(
        next_frame(&mut ws).await,
        Some(Message::Close(_)) | None
    ));
    eventually("the closed socket's channels end", || {
        sim.subscribers() == 1
    })
    .await;

    // Going away without a close frame ends them too.
    drop(other);
    eventually("the dropped socket's channel ends", || {
        sim.subscribers() == 0
    })
    .await;
    let _ = kept;
    sim.stop().await;
}

#[tokio::test]
async fn tokens_are_checked_on_the_upgrade() {
    let sim = still_sim().await;
    match connect_to(&sim.ws_url(), Some("not.a.token")).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status(), 401);
            assert!(response.body().as_ref().is_none_or(|b| b.is_empty()));
        }
        other => panic!("expected a 401, got {:?}", other.map(|_| ())),
    }
    let bad = format!("{}?token=not.a.token", sim.ws_url());
    match connect_to(&bad, None).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected a 401, got {:?}", other.map(|_| ())),
    }
    assert!(sim.calls().is_empty());

    // No token: read only, with Lotus's permission error.
    let mut ws = connect(&sim).await;
    let reply = call(&mut ws, "Filecoin.AuthNew", json!([["read"]]), json!(1)).await;
    assert_eq!(
        reply["error"],
        json!({"code": 1, "message": "missing permission to invoke 'AuthNew' (need 'admin')"})
    );
    let reply = call(&mut ws, "Filecoin.Nope", json!([]), json!(2)).await;
    assert_eq!(reply["error"]["code"], -32601);
    let reply = call(&mut ws, "Filecoin.ChainHead", json!([1]), json!(3)).await;
    assert_eq!(reply["error"]["code"], -32602);

    // An admin token in the header or in the query.
    let admin = sim.token(Perm::Admin);
    let mut ws = connect_to(&sim.ws_url(), Some(&admin)).await.unwrap();
    let reply = call(&mut ws, "Filecoin.AuthNew", json!([["read"]]), json!(1)).await;
    assert!(reply["result"].is_string(), "{reply}");
    let url = format!("{}?token={admin}", sim.ws_url());
    let mut ws = connect_to(&url, None).await.unwrap();
    let reply = call(&mut ws, "Filecoin.AuthNew", json!([["read"]]), json!(1)).await;
    assert!(reply["result"].is_string(), "{reply}");

    // The v0 path speaks the same protocol.
    let v0 = sim.ws_url().replace("/rpc/v1", "/rpc/v0");
    let mut ws = connect_to(&v0, None).await.unwrap();
    let reply = call(&mut ws, "Filecoin.StateNetworkName", json!([]), json!(1)).await;
    assert_eq!(reply["result"], "simnet");
    sim.stop().await;
}

#[tokio::test]
async fn protocol_errors_and_batches() {
    let sim = still_sim().await;
    let mut ws = connect(&sim).await;
    ws.send(Message::text("{not json")).await.unwrap();
    let reply = next(&mut ws).await;
    assert_eq!(reply["error"]["code"], -32700);
    assert_eq!(reply["id"], Value::Null);

    // A notification runs but gets no reply.
    send(
        &mut ws,
        json!({"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": []}),
    )
    .await;
    assert_quiet(&mut ws).await;

    send(
        &mut ws,
        json!([
            {"jsonrpc": "2.0", "method": "Filecoin.StateNetworkName", "params": [], "id": 1},
            {"jsonrpc": "2.0", "method": "Filecoin.ChainNotify", "params": [], "id": 2},
        ]),
    )
    .await;
    let replies = next(&mut ws).await;
    assert_eq!(replies[0]["result"], "simnet");
    assert_eq!(replies[1]["error"]["code"], -32601);
    assert_eq!(sim.subscribers(), 0);
    assert_eq!(
        sim.calls(),
        vec![
            "<unparseable request>",
            "Filecoin.ChainHead",
            "Filecoin.StateNetworkName",
            "Filecoin.ChainNotify",
        ]
    );
    sim.stop().await;
}

#[tokio::test]
async fn channel_methods_need_a_websocket() {
    let sim = still_sim().await;
    for method in [
        "Filecoin.ChainNotify",
        "Filecoin.MpoolSub",
        "Filecoin.SyncIncomingBlocks",
    ] {
        let resp = reqwest::Client::new()
            .post(sim.url())
            .json(&json!({"jsonrpc": "2.0", "method": method, "params": [], "id": 3}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 500);
        let reply: Value = resp.json().await.unwrap();
        assert_eq!(reply["id"], 3);
        assert_eq!(
            reply["error"],
            json!({
                "code": -32601,
                "message": format!("method '{method}' not supported in this mode (no out channel support)"),
            })
        );
    }
    assert_eq!(sim.subscribers(), 0);
    sim.stop().await;
}

#[tokio::test]
async fn incoming_blocks_and_mpool_channels() {
    let sim = still_sim().await;
    let mut ws = connect(&sim).await;
    let blocks = subscribe(&mut ws, "Filecoin.SyncIncomingBlocks", json!(1)).await;
    let mpool = subscribe(&mut ws, "Filecoin.MpoolSub", json!(2)).await;
    assert_ne!(blocks, mpool);
    // Neither counts as a ChainNotify subscriber, and neither sends anything before a new head.
    assert_eq!(sim.subscribers(), 0);
    assert_quiet(&mut ws).await;

    sim.advance();
    let head = sim.head();
    assert_eq!(head.height, 201);
    for block in &head.blocks {
        let value = channel_value(&next(&mut ws).await, blocks);
        assert_eq!(value, serde_json::to_value(block).unwrap());
    }
    // The message pool is empty: its channel stays quiet.
    assert_quiet(&mut ws).await;

    send(
        &mut ws,
        json!({"jsonrpc": "2.0", "method": "xrpc.cancel", "params": [2]}),
    )
    .await;
    assert_eq!(
        next(&mut ws).await,
        json!({"jsonrpc": "2.0", "method": "xrpc.ch.close", "params": [mpool]})
    );
    sim.stop().await;
}

#[tokio::test]
async fn dropped_websockets_can_reconnect() {
    let sim = still_sim().await;
    let mut ws = connect(&sim).await;
    subscribe(&mut ws, "Filecoin.ChainNotify", json!(1)).await;
    next(&mut ws).await;
    assert_eq!(sim.subscribers(), 1);

    sim.drop_websockets().await;
    match next_frame(&mut ws).await {
        Some(Message::Close(Some(frame))) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert!(next_frame(&mut ws).await.is_none());
    eventually("the channel ends", || sim.subscribers() == 0).await;

    let mut ws = connect(&sim).await;
    let reply = call(&mut ws, "Filecoin.ChainHead", json!([]), json!(1)).await;
    assert_eq!(reply["result"], json_of(&sim.head()));
    let channel = subscribe(&mut ws, "Filecoin.ChainNotify", json!(2)).await;
    assert_eq!(channel, 1);
    next(&mut ws).await;
    assert_eq!(sim.subscribers(), 1);
    sim.stop().await;
}

#[tokio::test]
async fn the_block_timer_notifies_and_stop_cuts_connections() {
    let mut config = SimConfig::new(Secret::new(vec![42; 32]));
    config.block_time = Duration::from_millis(50);
    config.null_round_every = 0;
    let sim = sim_with(config).await;
    let mut ws = connect(&sim).await;
    let channel = subscribe(&mut ws, "Filecoin.ChainNotify", json!(1)).await;
    let current = channel_value(&next(&mut ws).await, channel);
    let start = current[0]["Val"]["Height"].as_i64().unwrap();
    for expected in start + 1..start + 4 {
        let apply = channel_value(&next(&mut ws).await, channel);
        assert_eq!(apply[0]["Type"], "apply");
        assert_eq!(apply[0]["Val"]["Height"], expected);
    }

    sim.stop().await;
    let deadline = Instant::now() + PATIENCE;
    // Heads already queued may still arrive; then the connection ends.
    while let Some(message) = next_frame(&mut ws).await {
        assert!(
            matches!(message, Message::Text(_)),
            "no close frame: {message:?}"
        );
        assert!(Instant::now() < deadline, "the connection stays open");
    }
    assert_eq!(sim.subscribers(), 0);
    assert!(connect_to(&sim.ws_url(), None).await.is_err());
}

#[tokio::test]
async fn a_client_that_does_not_read_holds_up_nothing() {
    let sim = still_sim().await;
    let mut slow = connect(&sim).await;
    subscribe(&mut slow, "Filecoin.ChainNotify", json!(1)).await;
    let mut fast = connect(&sim).await;
    let channel = subscribe(&mut fast, "Filecoin.ChainNotify", json!(1)).await;
    next(&mut fast).await;

    // Far more heads than a channel may fall behind by, produced while `slow` reads nothing.
    let started = Instant::now();
    let mut last = 0;
    for _ in 0..300 {
        sim.advance();
        let height = sim.head().height;
        if height != last {
            last = height;
            let apply = channel_value(&next(&mut fast).await, channel);
            assert_eq!(apply[0]["Val"]["Height"], height);
        }
    }
    assert!(started.elapsed() < Duration::from_secs(30));

    // The slow client then gets the head it started from and later heads in order, skipping what it missed.
    let current = next(&mut slow).await;
    assert_eq!(current["params"][1][0]["Type"], "current");
    let mut height = current["params"][1][0]["Val"]["Height"].as_i64().unwrap();
    while height < last {
        let apply = next(&mut slow).await;
        let next_height = apply["params"][1][0]["Val"]["Height"].as_i64().unwrap();
        assert!(next_height > height, "{next_height} after {height}");
        height = next_height;
    }
    assert_eq!(sim.subscribers(), 2);
    sim.stop().await;
}
