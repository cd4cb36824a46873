//! Lotus JSON-RPC over WebSocket on `/rpc/v1`: a client speaking Lotus's framing (go-jsonrpc's, as the `lotus` CLI
//! and js-lotus-client do) gets the same checks as over HTTP, channels, and filters that belong to its connection.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lotus_rest::auth::Perm;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{Harness, Options};

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(h: &Harness, token: Option<&str>) -> Result<Socket, u16> {
    let url = format!("{}/rpc/v1", h.base.replacen("http", "ws", 1));
    let mut request = url.into_client_request().unwrap();
    if let Some(t) = token {
        request
            .headers_mut()
            .insert("Authorization", format!("Bearer {t}").parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

async fn send(ws: &mut Socket, body: Value) {
    ws.send(Message::text(body.to_string())).await.unwrap();
}

/// The next JSON message, within 10 s.
async fn next(ws: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

/// The reply to request `id`, skipping channel values.
async fn reply(ws: &mut Socket, id: u64) -> Value {
    loop {
        let m = next(ws).await;
        if m["id"] == json!(id) {
            return m;
        }
    }
}

pub async fn call(ws: &mut Socket, id: u64, method: &str, params: Value) -> Value {
    send(
        ws,
        json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id}),
    )
    .await;
    reply(ws, id).await
}

#[actix_web::test]
async fn calls_on_the_socket_are_checked_as_over_http() {
    let h = Harness::with(Options {
        vars: vec![("LOTUS_REST_CHAIN_MAXLOOKBACK", "10".into())],
        ..Options::default()
    })
    .await;
    let read = h.token_up_to(Perm::Read);
    let mut ws = connect(&h, Some(&read)).await.unwrap();
    let head = call(&mut ws, 1, "Filecoin.ChainHead", json!([])).await;
    assert!(head["result"]["Height"].as_i64().unwrap() > 0, "{head}");
    // A method above the token: Lotus's own error, and the node never sees it.
    h.sim.reset_calls();
    let refused = call(&mut ws, 2, "Filecoin.WalletList", json!([])).await;
    assert_eq!(refused["error"]["code"], 1, "{refused}");
    assert_eq!(
        refused["error"]["message"],
        "missing permission to invoke 'WalletList' (need 'write')"
    );
    let unknown = call(&mut ws, 3, "Filecoin.NoSuchMethod", json!([])).await;
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    // The lookback cap.
    let old = call(
        &mut ws,
        4,
        "Filecoin.ChainGetTipSetByHeight",
        json!([1, []]),
    )
    .await;
    assert_eq!(old["error"]["code"], -32602, "{old}");
    assert!(
        !h.sim
            .calls()
            .iter()
            .any(|m| m == "Filecoin.WalletList" || m == "Filecoin.ChainGetTipSetByHeight"),
        "{:?}",
        h.sim.calls()
    );
    // Stateful Ethereum methods are the connection's, so they work here.
    let filter = call(&mut ws, 5, "eth_newBlockFilter", json!([])).await;
    assert!(filter["result"].is_string(), "{filter}");
    // A batch is answered in one reply, in order.
    send(
        &mut ws,
        json!([
            {"jsonrpc": "2.0", "method": "Filecoin.StateNetworkName", "params": [], "id": 10},
            {"jsonrpc": "2.0", "method": "Filecoin.WalletList", "params": [], "id": 11},
        ]),
    )
    .await;
    let batch = next(&mut ws).await;
    assert_eq!(batch[0]["id"], 10, "{batch}");
    assert!(batch[0]["result"].is_string(), "{batch}");
    assert_eq!(batch[1]["error"]["code"], 1, "{batch}");
    // Garbage gets a parse error, and the connection stays.
    ws.send(Message::text("{not json")).await.unwrap();
    assert_eq!(next(&mut ws).await["error"]["code"], -32700);
    let again = call(&mut ws, 12, "Filecoin.Version", json!([])).await;
    assert!(again["result"].is_object(), "{again}");

    // A write token may do more, on its own connection.
    let write = h.token_up_to(Perm::Write);
    let mut ws2 = connect(&h, Some(&write)).await.unwrap();
    let wallets = call(&mut ws2, 1, "Filecoin.WalletList", json!([])).await;
    assert!(wallets["result"].is_array(), "{wallets}");

    // Tokens are checked at the handshake: a forged one is refused, none is anonymous read.
    let forged = lotus_rest::auth::Secret::generate().mint(Perm::Admin.up_to());
    assert_eq!(connect(&h, Some(&forged)).await.err(), Some(401));
    let mut anonymous = connect(&h, None).await.unwrap();
    let head = call(&mut anonymous, 1, "Filecoin.ChainHead", json!([])).await;
    assert!(head["result"].is_object(), "{head}");
    // A browser's token in the query.
    let url = format!("{}/rpc/v1?token={write}", h.base.replacen("http", "ws", 1));
    let (mut browser, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let wallets = call(&mut browser, 1, "Filecoin.WalletList", json!([])).await;
    assert!(wallets["result"].is_array(), "{wallets}");
    // A GET without the upgrade is told what the endpoint is.
    let p = h
        .get("/rpc/v1", None)
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("WebSocket"), "{p}");
}

/// Waits until `done` holds, for at most 10 s.
async fn until(done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads channel values of `channel` until `n` have come; each is checked by `check`.
async fn values(ws: &mut Socket, channel: &Value, n: usize, check: impl Fn(&Value)) {
    let mut seen = 0;
    while seen < n {
        let m = next(ws).await;
        if m["method"] == "xrpc.ch.val" && m["params"][0] == *channel {
            check(&m["params"][1]);
            seen += 1;
        }
    }
}

/// Reads until the `xrpc.ch.close` of `channel`.
async fn closed(ws: &mut Socket, channel: &Value) {
    loop {
        let m = next(ws).await;
        if m["method"] == "xrpc.ch.close" && m["params"][0] == *channel {
            return;
        }
    }
}

/// A gateway whose own head follower is off, so that the node's only ChainNotify subscription and sockets are the
/// ones its WebSocket clients cause.
async fn without_head_follower() -> Harness {
    Harness::with(Options {
        block_time: Duration::from_millis(300),
        vars: vec![("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into())],
        ..Options::default()
    })
    .await
}

#[actix_web::test]
async fn channels_are_fanned_out_over_one_node_subscription_until_cancelled() {
    let h = without_head_follower().await;
    let read = h.token_up_to(Perm::Read);
    let mut a = connect(&h, Some(&read)).await.unwrap();
    let mut b = connect(&h, Some(&read)).await.unwrap();
    let notify = |id: u64| json!({"jsonrpc": "2.0", "method": "Filecoin.ChainNotify", "params": [], "id": id});
    send(&mut a, notify(7)).await;
    let opened = next(&mut a).await;
    assert_eq!(opened["id"], 7, "{opened}");
    let channel_a = opened["result"].clone();
    assert!(
        channel_a.as_u64().unwrap() >= lotus_rest::routes::rpc_ws::FANNED_CHANNEL_BASE,
        "{opened}"
    );
    // Lotus's framing: the current head first, then batches of changes.
    let mut first = true;
    let mut last_height = 0;
    let mut seen = 0;
    while seen < 3 {
        let m = next(&mut a).await;
        if m["method"] != "xrpc.ch.val" {
            continue;
        }
        assert_eq!(m["params"][0], channel_a, "{m}");
        let changes = m["params"][1].as_array().expect("a list of head changes");
        assert!(!changes.is_empty(), "{m}");
        if first {
            assert_eq!(changes[0]["Type"], "current", "{m}");
            first = false;
        } else {
            assert_eq!(changes[0]["Type"], "apply", "{m}");
        }
        let height = changes[0]["Val"]["Height"].as_i64().expect("a tipset");
        assert!(height >= last_height, "{m}");
        last_height = height;
        seen += 1;
    }
    send(&mut b, notify(1)).await;
    let channel_b = reply(&mut b, 1).await["result"].clone();
    values(&mut b, &channel_b, 2, |v| {
        assert!(v[0]["Val"]["Height"].as_i64().is_some(), "{v}")
    })
    .await;
    // Two clients, one subscription on the node.
    assert_eq!(h.sim.subscribers(), 1);
    assert_eq!(subscriptions_gauge(&h).await, 2);
    // The first to cancel gets its channel closed; the node's subscription stays for the other.
    send(
        &mut a,
        json!({"jsonrpc": "2.0", "method": "xrpc.cancel", "params": [7]}),
    )
    .await;
    closed(&mut a, &channel_a).await;
    values(&mut b, &channel_b, 1, |_| {}).await;
    assert_eq!(h.sim.subscribers(), 1);
    // The last one out: the node sees the cancel.
    send(
        &mut b,
        json!({"jsonrpc": "2.0", "method": "xrpc.cancel", "params": [1]}),
    )
    .await;
    closed(&mut b, &channel_b).await;
    until(|| h.sim.subscribers() == 0).await;
    assert_eq!(h.sim.subscribers(), 0, "the node saw the cancel");
    // A later channel starts from the head of now, not the one the ended subscription saw last.
    let seen_last = last_height;
    until(|| h.sim.head().height > seen_last + 1).await;
    let now = h.sim.head().height;
    send(&mut b, notify(2)).await;
    let again = reply(&mut b, 2).await["result"].clone();
    values(&mut b, &again, 1, |v| {
        assert_eq!(v[0]["Type"], "current", "{v}");
        assert!(
            v[0]["Val"]["Height"].as_i64().unwrap() >= now,
            "{v} (head {now})"
        );
    })
    .await;
    send(
        &mut b,
        json!({"jsonrpc": "2.0", "method": "xrpc.cancel", "params": [2]}),
    )
    .await;
    closed(&mut b, &again).await;
    // The other shared channels: new block headers, and the message pool's updates.
    send(
        &mut a,
        json!({"jsonrpc": "2.0", "method": "Filecoin.SyncIncomingBlocks", "params": [], "id": 8}),
    )
    .await;
    let blocks = reply(&mut a, 8).await["result"].clone();
    values(&mut a, &blocks, 2, |v| {
        assert!(v["Miner"].is_string() && v["Height"].is_i64(), "{v}")
    })
    .await;
    send(
        &mut a,
        json!({"jsonrpc": "2.0", "method": "Filecoin.MpoolSub", "params": [], "id": 9}),
    )
    .await;
    let mpool = reply(&mut a, 9).await["result"].clone();
    assert!(mpool.as_u64().is_some(), "{mpool}");
    // Closing the socket releases what it held: the node's block subscription ends when its last client goes.
    drop(a);
    drop(b);
    until(|| h.sim.channels() == 0).await;
    assert_eq!(
        h.sim.channels(),
        0,
        "the node's channels were all cancelled"
    );
    // Over HTTP, a channel method is refused and says where to call it.
    let r = h
        .http
        .post(format!("{}/rpc/v1", h.base))
        .json(&json!({"jsonrpc": "2.0", "method": "Filecoin.ChainNotify", "params": [], "id": 1}))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("WebSocket"),
        "{body}"
    );
}

#[actix_web::test]
async fn eth_subscribe_delivers_new_heads_until_unsubscribed() {
    let h = Harness::with(Options {
        block_time: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let mut ws = connect(&h, None).await.unwrap();
    // As ethers' WebSocketProvider asks it, by its Ethereum name.
    let r = call(&mut ws, 1, "eth_subscribe", json!(["newHeads"])).await;
    let subscription = r["result"].clone();
    assert!(
        subscription.as_str().is_some_and(|s| s.starts_with("0x")),
        "{r}"
    );
    let channels = h.sim.channels();
    let mut numbers = Vec::new();
    while numbers.len() < 2 {
        let m = next(&mut ws).await;
        if m["method"] == "eth_subscription" {
            assert!(m.get("id").is_none(), "a notification: {m}");
            assert_eq!(m["params"]["subscription"], subscription, "{m}");
            let number = m["params"]["result"]["number"].as_str().unwrap();
            numbers.push(i64::from_str_radix(number.trim_start_matches("0x"), 16).unwrap());
        }
    }
    assert!(numbers[1] > numbers[0], "{numbers:?}");
    // Another connection cannot end it.
    let mut other = connect(&h, None).await.unwrap();
    let r = call(&mut other, 1, "eth_unsubscribe", json!([subscription])).await;
    assert_eq!(r["error"]["message"], "filter not found", "{r}");
    let r = call(&mut ws, 2, "eth_unsubscribe", json!([subscription])).await;
    assert_eq!(r["result"], true, "{r}");
    until(|| h.sim.channels() < channels).await;
    assert_eq!(h.sim.channels(), channels - 1, "the node ended it");
    // Subscriptions go with their connection too.
    let r = call(&mut ws, 3, "eth_subscribe", json!(["newHeads"])).await;
    assert!(r["result"].is_string(), "{r}");
    assert_eq!(h.sim.channels(), channels);
    drop(ws);
    until(|| h.sim.channels() < channels).await;
    assert_eq!(h.sim.channels(), channels - 1);
    // Over HTTP it is refused, and reaches nothing.
    h.sim.reset_calls();
    let r = h
        .http
        .post(format!("{}/rpc/v1", h.base))
        .json(
            &json!({"jsonrpc": "2.0", "method": "eth_subscribe", "params": ["newHeads"], "id": 1}),
        )
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("WebSocket"),
        "{body}"
    );
    assert!(h.sim.calls().is_empty(), "{:?}", h.sim.calls());
}

#[actix_web::test]
async fn a_client_that_stops_reading_is_cut_off_and_releases_everything() {
    let h = Harness::with(Options {
        vars: vec![
            ("LOTUS_REST_JSONRPC_SLOWCLIENTTIMEOUT", "1s".into()),
            ("LOTUS_REST_FULLNODE_MAXCONCURRENTCALLS", "4".into()),
        ],
        ..Options::default()
    })
    .await;
    let read = h.token_up_to(Perm::Read);
    // A client with a small receive buffer that sends and never reads.
    let url = format!("{}/rpc/v1", h.base.replacen("http", "ws", 1));
    let addr: std::net::SocketAddr = h.base.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Authorization", format!("Bearer {read}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::client_async(request, tcp).await.unwrap();
    let batch = Value::Array(
        (0..100)
            .map(|i| json!({"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": [], "id": i}))
            .collect(),
    );
    // Each reply is over 100 KiB; together far more than the sockets' buffers hold.
    let text = batch.to_string();
    let sender = tokio::spawn(async move {
        for _ in 0..200 {
            if tokio::time::timeout(Duration::from_secs(5), ws.send(Message::text(text.clone())))
                .await
                .is_err()
            {
                break;
            }
        }
        ws
    });
    let open = || async {
        h.gauge("lotus_rest_websocket_connections")
            .await
            .unwrap_or(-1)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut seen_open = false;
    loop {
        let n = open().await;
        seen_open |= n == 1;
        if seen_open && n == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the connection was not cut off ({n} open)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Its node calls slots are free: a REST read at the head still reaches the node.
    let r = h.get("/v1/node/version", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // What it left unread ends with a close frame saying why.
    let mut ws = sender.await.unwrap();
    let close = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(message) = ws.next().await {
            match message {
                Ok(Message::Close(frame)) => return frame,
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("the backlog drains");
    let frame = close.expect("a close frame");
    assert_eq!(
        frame.code,
        tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Policy
    );
    assert!(frame.reason.contains("SlowClientTimeout"), "{frame:?}");
}

#[actix_web::test]
async fn filters_belong_to_their_connection_are_capped_and_go_with_it() {
    let h = Harness::with(Options {
        vars: vec![("LOTUS_REST_STREAMS_MAXPERCLIENT", "100".into())],
        ..Options::default()
    })
    .await;
    let read = h.token_up_to(Perm::Read);
    let mut a = connect(&h, Some(&read)).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..16 {
        let r = call(&mut a, i, "Filecoin.EthNewBlockFilter", json!([])).await;
        ids.push(r["result"].as_str().expect("a filter id").to_string());
    }
    // A notification (no id) is not forwarded: it could make a filter no one counts.
    send(
        &mut a,
        json!({"jsonrpc": "2.0", "method": "Filecoin.EthNewBlockFilter", "params": []}),
    )
    .await;
    let refused = next(&mut a).await;
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    assert_eq!(h.sim.eth_filters(), 16);
    assert_eq!(subscriptions_gauge(&h).await, 16);
    let over = call(&mut a, 16, "Filecoin.EthNewFilter", json!([{}])).await;
    assert!(
        over["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MaxFiltersPerConnection"),
        "{over}"
    );
    assert_eq!(h.sim.eth_filters(), 16);
    // Another connection can neither read nor remove them.
    let mut b = connect(&h, Some(&read)).await.unwrap();
    for method in [
        "Filecoin.EthGetFilterChanges",
        "Filecoin.EthUninstallFilter",
    ] {
        let r = call(&mut b, 1, method, json!([ids[0]])).await;
        assert_eq!(r["error"]["message"], "filter not found", "{r}");
    }
    assert_eq!(h.sim.eth_filters(), 16);
    // Nor can a plain HTTP call, which never reaches the node.
    h.sim.reset_calls();
    let r = h
        .http
        .post(format!("{}/rpc/v1", h.base))
        .bearer_auth(&read)
        .json(&json!({"jsonrpc": "2.0", "method": "eth_uninstallFilter", "params": [ids[0]], "id": 1}))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32601, "{body}");
    assert!(h.sim.calls().is_empty(), "{:?}", h.sim.calls());
    // The owner reads one and removes one, which makes room for another.
    let changes = call(&mut a, 20, "Filecoin.EthGetFilterChanges", json!([ids[1]])).await;
    assert!(changes["result"].is_array(), "{changes}");
    let removed = call(&mut a, 21, "Filecoin.EthUninstallFilter", json!([ids[1]])).await;
    assert_eq!(removed["result"], true, "{removed}");
    let room = call(
        &mut a,
        22,
        "Filecoin.EthNewPendingTransactionFilter",
        json!([]),
    )
    .await;
    assert!(room["result"].is_string(), "{room}");
    assert_eq!(h.sim.eth_filters(), 16);
    // When the connection goes, so do its filters.
    a.close(None).await.unwrap();
    drop(a);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while h.sim.eth_filters() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        h.sim.eth_filters(),
        0,
        "the node forgot the connection's filters"
    );
    assert_eq!(subscriptions_gauge(&h).await, 0);
}

/// `lotus_rest_websocket_subscriptions`, as `/metrics` tells it.
async fn subscriptions_gauge(h: &Harness) -> i64 {
    h.gauge("lotus_rest_websocket_subscriptions")
        .await
        .expect("the gauge is exported")
}

#[actix_web::test]
async fn connecting_subscribing_and_leaving_leaves_nothing_behind() {
    let h = Harness::with(Options {
        vars: vec![
            ("LOTUS_REST_STREAMS_MAXPERCLIENT", "5".into()),
            ("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into()),
        ],
        ..Options::default()
    })
    .await;
    let read = h.token_up_to(Perm::Read);
    for round in 0..1000u64 {
        let mut ws = connect(&h, Some(&read)).await.unwrap();
        send(
            &mut ws,
            json!({"jsonrpc": "2.0", "method": "Filecoin.ChainNotify", "params": [], "id": round}),
        )
        .await;
        let opened = reply(&mut ws, round).await;
        assert!(opened["result"].is_number(), "{opened}");
        if round % 2 == 0 {
            ws.close(None).await.unwrap();
        }
        drop(ws);
    }
    // Every socket and the node's subscriptions are released (and the per-client cap of 5 never got in the way).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let open = || async {
        h.gauge("lotus_rest_websocket_connections")
            .await
            .unwrap_or(-1)
    };
    // The gateway's own subscriptions to the node wind down too (one cancelled while it was still connecting
    // subscribes not at all).
    let subscribing = || async {
        h.gauge("lotus_rest_streams{what=\"upstream_subscriptions\"}")
            .await
            .unwrap_or(-1)
    };
    while (h.sim.subscribers() > 0 || open().await != 0 || subscribing().await != 0)
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(subscribing().await, 0);
    assert_eq!(h.sim.subscribers(), 0);
    assert_eq!(open().await, 0);
    let mut ws = connect(&h, Some(&read)).await.unwrap();
    let head = call(&mut ws, 1, "Filecoin.ChainHead", json!([])).await;
    assert!(head["result"].is_object(), "{head}");
}

#[actix_web::test]
async fn calls_on_sockets_hold_the_nodes_call_slots() {
    let h = Harness::with(Options {
        timeout: "10s",
        vars: vec![
            ("LOTUS_REST_FULLNODE_MAXCONCURRENTCALLS", "1".into()),
            ("LOTUS_REST_FULLNODE_QUEUETIMEOUT", "200ms".into()),
            ("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into()),
        ],
        ..Options::default()
    })
    .await;
    let read = h.token_up_to(Perm::Read);
    let mut ws = connect(&h, Some(&read)).await.unwrap();
    h.sim.set_stall(Some(Duration::from_secs(2)));
    send(
        &mut ws,
        json!({"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": [], "id": 1}),
    )
    .await;
    // The one slot is held by the first call until its reply: a second waits 200 ms, then is refused.
    let second = call(&mut ws, 2, "Filecoin.StateNetworkName", json!([])).await;
    assert_eq!(second["error"]["code"], -32000, "{second}");
    assert!(
        second["error"]["message"]
            .as_str()
            .unwrap()
            .contains("in flight"),
        "{second}"
    );
    // HTTP callers see the same limit.
    let r = h.get("/v1/node/version", None).await;
    assert_eq!(r.status, 503, "{}", r.text);
    let first = reply(&mut ws, 1).await;
    assert!(first["result"].is_object(), "{first}");
    h.sim.set_stall(None);
    let third = call(&mut ws, 3, "Filecoin.StateNetworkName", json!([])).await;
    assert!(third["result"].is_string(), "{third}");
}

#[actix_web::test]
async fn calls_on_the_socket_pay_the_client_address_rate() {
    // Public mode: anonymous read, and the rate per address (1 unit a second, a burst of 3) is all that bounds a
    // client without a token.
    let h = Harness::with(Options {
        vars: vec![
            ("LOTUS_REST_API_PUBLIC", "true".into()),
            ("LOTUS_REST_RATELIMIT_PERIP", "1".into()),
        ],
        ..Options::default()
    })
    .await;
    let mut ws = connect(&h, None).await.unwrap();
    h.sim.reset_calls();
    let mut limited = 0;
    for id in 0..10 {
        let r = call(&mut ws, id, "Filecoin.Version", json!([])).await;
        if r["error"]["code"] == -32005 {
            limited += 1;
        }
    }
    assert!(limited >= 6, "{limited} of 10 calls limited");
    let sent = h
        .sim
        .calls()
        .iter()
        .filter(|m| *m == "Filecoin.Version")
        .count();
    assert!(sent <= 4, "{sent} calls reached the node");
}

#[actix_web::test]
async fn a_batch_on_the_socket_is_bounded_as_over_http() {
    let h = Harness::with(Options {
        vars: vec![
            ("LOTUS_REST_JSONRPC_MAXBATCH", "5".into()),
            ("LOTUS_REST_JSONRPC_MAXBATCHRESPONSEBYTES", "2048".into()),
            ("LOTUS_REST_CACHE_ENTRIES", "0".into()),
        ],
        ..Options::default()
    })
    .await;
    let read = h.token_up_to(Perm::Read);
    let mut ws = connect(&h, Some(&read)).await.unwrap();
    let heads = |n: u64| {
        Value::Array(
            (0..n)
                .map(|i| json!({"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": [], "id": i}))
                .collect(),
        )
    };
    h.sim.reset_calls();
    send(&mut ws, heads(6)).await;
    let r = next(&mut ws).await;
    assert!(
        r["error"]["message"].as_str().unwrap().contains("MaxBatch"),
        "{r}"
    );
    send(&mut ws, heads(5)).await;
    let r = next(&mut ws).await;
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MaxBatchResponseBytes"),
        "{r}"
    );
    let sent = h
        .sim
        .calls()
        .iter()
        .filter(|m| *m == "Filecoin.ChainHead")
        .count();
    assert!((1..5).contains(&sent), "{sent} of 5 sent");
}

#[actix_web::test]
async fn clients_that_only_follow_shared_channels_cost_the_node_no_connection() {
    let h = without_head_follower().await;
    let read = h.token_up_to(Perm::Read);
    let mut clients = Vec::new();
    for _ in 0..5 {
        let mut ws = connect(&h, Some(&read)).await.unwrap();
        let channel = call(&mut ws, 1, "Filecoin.ChainNotify", json!([])).await["result"].clone();
        values(&mut ws, &channel, 1, |v| {
            assert!(v[0]["Val"]["Height"].is_i64(), "{v}")
        })
        .await;
        clients.push(ws);
    }
    assert_eq!(h.sim.subscribers(), 1);
    assert_eq!(
        h.sim.websockets(),
        1,
        "five clients following the head, one socket on the node"
    );
    // A call the node answers opens the client's own socket to the node, and it serves the calls that follow.
    let head = call(&mut clients[0], 2, "Filecoin.ChainHead", json!([])).await;
    assert!(head["result"]["Height"].is_i64(), "{head}");
    assert_eq!(h.sim.websockets(), 2);
    let again = call(&mut clients[0], 3, "Filecoin.ChainHead", json!([])).await;
    assert!(again["result"]["Height"].is_i64(), "{again}");
    assert_eq!(h.sim.websockets(), 2);
    // The client's socket to the node goes with the client.
    clients.remove(0).close(None).await.unwrap();
    until(|| h.sim.websockets() == 1).await;
}

#[actix_web::test]
async fn a_call_the_node_cannot_be_reached_for_gets_an_error_and_the_socket_stays() {
    let h = Harness::with(Options {
        block_time: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    let read = h.token_up_to(Perm::Read);
    let mut ws = connect(&h, Some(&read)).await.unwrap();
    let channel = call(&mut ws, 1, "Filecoin.ChainNotify", json!([])).await["result"].clone();
    values(&mut ws, &channel, 1, |_| {}).await;
    h.sim.stop().await;
    let failed = call(&mut ws, 2, "Filecoin.ChainHead", json!([])).await;
    assert_eq!(failed["error"]["code"], -32000, "{failed}");
    assert!(
        failed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Lotus node"),
        "{failed}"
    );
    // The connection is still open: the client is told each call's fate.
    let refused = call(&mut ws, 3, "Filecoin.NoSuchMethod", json!([])).await;
    assert_eq!(refused["error"]["code"], -32601, "{refused}");
    // A call that never reached the node gives its call slot back: the connection's 65th such call gets the same
    // error, not "64 calls in flight".
    for id in 10..75 {
        let failed = call(&mut ws, id, "Filecoin.ChainHead", json!([])).await;
        assert_eq!(failed["error"]["code"], -32000, "call {id}: {failed}");
    }
}
