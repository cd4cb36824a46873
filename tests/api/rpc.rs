//! The Lotus JSON-RPC endpoint beside REST.

use lotus_rest::auth::Perm;
use serde_json::{json, Value};

use crate::common::{Harness, Options, Reply};

async fn post(h: &Harness, path: &str, token: Option<&str>, body: Value) -> Reply {
    let mut req = h.http.post(format!("{}{path}", h.base)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    Reply::from(req.send().await.unwrap()).await
}

#[actix_web::test]
async fn a_batch_mixing_allowed_and_forbidden_methods() {
    let h = Harness::start().await;
    let read = h.token_up_to(Perm::Read);
    let batch = json!([
        {"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": [], "id": 1},
        {"jsonrpc": "2.0", "method": "Filecoin.WalletList", "params": [], "id": "two"},
        {"jsonrpc": "2.0", "method": "Filecoin.NoSuchMethod", "params": [], "id": 3},
        {"jsonrpc": "2.0", "method": "Filecoin.StateNetworkName", "params": [], "id": 4},
        {"jsonrpc": "2.0", "method": "Filecoin.AuthNew", "params": [["admin"]], "id": 5},
        {"jsonrpc": "2.0", "method": "Filecoin.ChainNotify", "params": [], "id": 6},
    ]);
    let r = post(&h, "/rpc/v1", Some(&read), batch).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let replies = r.json();
    let replies = replies.as_array().unwrap();
    assert_eq!(replies.len(), 6);
    assert_eq!(replies[0]["id"], 1);
    assert_eq!(
        replies[0]["result"],
        serde_json::to_value(h.sim.head()).unwrap()
    );
    assert_eq!(replies[1]["id"], "two");
    assert_eq!(replies[1]["error"]["code"], 1);
    assert_eq!(
        replies[1]["error"]["message"],
        "missing permission to invoke 'WalletList' (need 'write')"
    );
    assert_eq!(replies[2]["error"]["code"], -32601);
    assert_eq!(replies[3]["result"], h.sim.network_name());
    assert_eq!(
        replies[4]["error"]["message"],
        "missing permission to invoke 'AuthNew' (need 'admin')"
    );
    assert_eq!(replies[5]["error"]["code"], -32601);
    // Only the allowed, known, non-channel methods reached the node.
    let mut calls = h.sim.calls();
    calls.sort();
    assert_eq!(
        calls,
        vec!["Filecoin.ChainHead", "Filecoin.StateNetworkName"]
    );

    // The same batch with an admin token goes through, AuthNew included.
    h.sim.reset_calls();
    let admin = h.token_up_to(Perm::Admin);
    let r = post(
        &h,
        "/rpc/v0",
        Some(&admin),
        json!([{"jsonrpc": "2.0", "method": "Filecoin.AuthNew", "params": [["read"]], "id": 9}]),
    )
    .await;
    assert!(r.json()[0]["result"].is_string(), "{}", r.text);
    assert_eq!(h.sim.calls(), vec!["Filecoin.AuthNew"]);
}

#[actix_web::test]
async fn tokens_and_malformed_bodies() {
    let h = Harness::start().await;
    let call = json!({"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": [], "id": 7});
    let r = post(&h, "/rpc/v1", None, call.clone()).await;
    assert_eq!(r.status, 200, "anonymous read, as on Lotus: {}", r.text);
    assert_eq!(r.json()["id"], 7);
    post(&h, "/rpc/v1", Some("garbage"), call.clone())
        .await
        .problem(401, "unauthorized");
    let res = h
        .http
        .post(format!("{}/rpc/v1", h.base))
        .body("{not json")
        .send()
        .await
        .unwrap();
    let r = Reply::from(res).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], -32700);
    let r = post(&h, "/rpc/v1", None, json!([])).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], -32600);
    let r = post(&h, "/rpc/v1", None, json!({"hello": "world"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], -32600);
    let r = post(
        &h,
        "/rpc/v1",
        None,
        json!({"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": {"not": "an array"}, "id": 1}),
    )
    .await;
    assert_eq!(r.json()["error"]["code"], -32602);
    let r = post(
        &h,
        "/rpc/v1",
        None,
        json!([{"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": [], "id": [1, 2]}]),
    )
    .await;
    assert_eq!(r.json()[0]["error"]["code"], -32600);
    assert_eq!(r.json()[0]["id"], Value::Null);
    // A notification gets no answer, as on Lotus.
    let r = post(
        &h,
        "/rpc/v1",
        None,
        json!({"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": []}),
    )
    .await;
    assert_eq!(r.status, 204);
}

#[actix_web::test]
async fn a_node_that_is_down_gives_502_with_a_jsonrpc_error() {
    let h = Harness::start().await;
    h.sim.stop().await;
    let r = post(
        &h,
        "/rpc/v1",
        None,
        json!({"jsonrpc": "2.0", "method": "Filecoin.StateNetworkName", "params": [], "id": 1}),
    )
    .await;
    assert_eq!(r.status, 502, "{}", r.text);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("cannot reach"));
}

#[actix_web::test]
async fn public_mode_serves_read_methods_only() {
    let h = Harness::with(Options {
        vars: vec![("LOTUS_REST_API_PUBLIC", "true".into())],
        ..Options::default()
    })
    .await;
    let admin = h.token_up_to(Perm::Admin);
    let r = post(
        &h,
        "/rpc/v1",
        Some(&admin),
        json!([
            {"jsonrpc": "2.0", "method": "Filecoin.WalletList", "params": [], "id": 1},
            {"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": [], "id": 2},
        ]),
    )
    .await;
    let replies = r.json();
    assert!(
        replies[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disabled here"),
        "{replies}"
    );
    assert!(replies[1]["result"].is_object());
    assert_eq!(h.sim.calls(), vec!["Filecoin.ChainHead"]);
}

#[actix_web::test]
async fn ethereum_aliases_are_checked_and_forwarded_as_their_methods() {
    let h = Harness::start().await;
    let batch = json!([
        {"jsonrpc": "2.0", "method": "eth_chainId", "params": [], "id": 1},
        {"jsonrpc": "2.0", "method": "eth_blockNumber", "params": [], "id": 2},
        {"jsonrpc": "2.0", "method": "eth_noSuchThing", "params": [], "id": 3},
        {"jsonrpc": "2.0", "method": "eth_subscribe", "params": ["newHeads"], "id": 4},
    ]);
    // No token: anonymous read, as ethers.js connects.
    let r = post(&h, "/rpc/v1", None, batch).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let replies = r.json();
    assert_eq!(replies[0]["result"], "0x1df5e76", "{replies}");
    let height = h.sim.head().height;
    assert_eq!(replies[1]["result"], format!("{height:#x}"));
    assert_eq!(replies[2]["error"]["code"], -32601);
    assert!(replies[2]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("eth_noSuchThing"));
    // A subscription needs a WebSocket; it never reaches the node over HTTP.
    assert_eq!(replies[3]["error"]["code"], -32601, "{replies}");
    let mut calls = h.sim.calls();
    calls.sort();
    assert_eq!(
        calls,
        vec!["Filecoin.EthBlockNumber", "Filecoin.EthChainId"]
    );
}

#[actix_web::test]
async fn methods_beyond_the_table_are_forwarded_only_when_configured() {
    let call = |method: &str| json!({"jsonrpc": "2.0", "method": method, "params": [], "id": 1});
    let h = Harness::start().await;
    let r = post(&h, "/rpc/v1", None, call("Filecoin.FutureMethod")).await;
    assert_eq!(r.json()["error"]["code"], -32601);
    assert!(h.sim.calls().is_empty(), "an unknown method was forwarded");

    let h = Harness::with(Options {
        vars: vec![(
            "LOTUS_REST_JSONRPC_EXTRAMETHODS",
            "Filecoin.FutureMethod:read, Filecoin.FutureAdminMethod:admin".into(),
        )],
        ..Default::default()
    })
    .await;
    let read = h.token_up_to(Perm::Read);
    let r = post(
        &h,
        "/rpc/v1",
        Some(&read),
        call("Filecoin.FutureAdminMethod"),
    )
    .await;
    assert_eq!(
        r.json()["error"]["message"],
        "missing permission to invoke 'FutureAdminMethod' (need 'admin')"
    );
    assert!(h.sim.calls().is_empty());
    // Forwarded: this node does not have it either, and says so.
    let _ = post(&h, "/rpc/v1", Some(&read), call("Filecoin.FutureMethod")).await;
    assert_eq!(h.sim.calls(), vec!["Filecoin.FutureMethod"]);
}
