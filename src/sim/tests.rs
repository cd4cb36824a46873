use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;
use crate::lotus::types::{BlockHeader, BlockMessages, Message, MessageReceipt, MsgLookup};

fn secret() -> Secret {
    Secret::new(vec![42; 32])
}

async fn sim_with(config: SimConfig) -> SimHandle {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    start(config, listener)
        .await
        .expect("the simulated node starts")
}

/// A node whose chain stays still for the length of a test.
async fn still_sim() -> SimHandle {
    let mut config = SimConfig::new(secret());
    config.block_time = Duration::from_secs(3600);
    sim_with(config).await
}

/// Posts a raw body; returns the status and the body text.
async fn post(sim: &SimHandle, body: String, token: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(sim.url())
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("the node answers");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("a body"))
}

/// Calls a method; returns the HTTP status and the whole JSON-RPC reply.
async fn call(sim: &SimHandle, method: &str, params: Value, token: Option<&str>) -> (u16, Value) {
    let body = json!({"jsonrpc": "2.0", "method": method, "params": params, "id": 7});
    let (status, text) = post(sim, body.to_string(), token).await;
    let reply: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(reply["id"], 7, "{reply}");
    (status, reply)
}

/// Calls a method that must succeed; returns its result.
async fn result(sim: &SimHandle, method: &str, params: Value) -> Value {
    let (status, reply) = call(sim, method, params, None).await;
    assert_eq!(status, 200, "{method}: {reply}");
    assert!(reply.get("error").is_none(), "{method}: {reply}");
    reply["result"].clone()
}

/// Calls a method that must fail; returns the status and the error object.
async fn error(sim: &SimHandle, method: &str, params: Value, token: Option<&str>) -> (u16, Value) {
    let (status, reply) = call(sim, method, params, token).await;
    assert!(reply.get("result").is_none(), "{method}: {reply}");
    (status, reply["error"].clone())
}

fn parse<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("the reply has the Lotus shape")
}

#[tokio::test]
async fn chain_is_consistent() {
    let sim = still_sim().await;
    let head: TipSet = parse(result(&sim, "Filecoin.ChainHead", json!([])).await);
    assert_eq!(head, sim.head());
    assert_eq!(head.height, 200);

    // Every block of the head is fetchable, its parents are the previous tipset, its messages exist and have
    // not been executed yet.
    let parent_height = (0..head.height)
        .rev()
        .find(|h| sim.tipset_at(*h).is_some())
        .unwrap();
    let parent = sim.tipset_at(parent_height).unwrap();
    for (cid, header) in head.cids.iter().zip(&head.blocks) {
        let block: BlockHeader = parse(result(&sim, "Filecoin.ChainGetBlock", json!([cid])).await);
        assert_eq!(&block, header);
        assert_eq!(block.parents, parent.cids);
        assert_eq!(block.height, head.height);
        let msgs: BlockMessages =
            parse(result(&sim, "Filecoin.ChainGetBlockMessages", json!([cid])).await);
        assert_eq!(
            msgs.cids.len(),
            msgs.bls_messages.len() + msgs.secpk_messages.len()
        );
        for msg_cid in &msgs.cids {
            let msg: Message =
                parse(result(&sim, "Filecoin.ChainGetMessage", json!([msg_cid])).await);
            assert!(msg.cid.is_some());
            let lookup = result(
                &sim,
                "Filecoin.StateSearchMsg",
                json!([[], msg_cid, -1, true]),
            )
            .await;
            assert_eq!(lookup, Value::Null, "not executed yet");
        }
    }

    // A message of an older tipset was executed in the next non-null tipset.
    let mut checked = 0;
    for height in (150..head.height).rev() {
        let Some(ts) = sim.tipset_at(height) else {
            continue;
        };
        let next = (height + 1..=head.height)
            .find_map(|h| sim.tipset_at(h))
            .unwrap();
        let msgs = result(&sim, "Filecoin.ChainGetMessagesInTipset", json!([ts.cids])).await;
        let msgs = msgs.as_array().unwrap().clone();
        let parent_msgs = result(
            &sim,
            "Filecoin.ChainGetParentMessages",
            json!([next.cids[0]]),
        )
        .await;
        assert_eq!(parent_msgs.as_array().unwrap(), &msgs);
        let receipts: Vec<MessageReceipt> = parse(
            result(
                &sim,
                "Filecoin.ChainGetParentReceipts",
                json!([next.cids[0]]),
            )
            .await,
        );
        assert_eq!(receipts.len(), msgs.len());
        for (entry, receipt) in msgs.iter().zip(&receipts) {
            let lookup: MsgLookup = parse(
                result(
                    &sim,
                    "Filecoin.StateSearchMsg",
                    json!([[], entry["Cid"], -1, true]),
                )
                .await,
            );
            assert_eq!(lookup.message, parse(entry["Cid"].clone()));
            assert_eq!(lookup.height, next.height);
            assert_eq!(lookup.tip_set, next.cids);
            assert_eq!(&lookup.receipt, receipt);
            // Not executed yet as seen from the tipset that includes it.
            let before = result(
                &sim,
                "Filecoin.StateSearchMsg",
                json!([ts.cids, entry["Cid"], -1, true]),
            )
            .await;
            assert_eq!(before, Value::Null);
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked} messages in 50 epochs");

    let genesis: TipSet = parse(result(&sim, "Filecoin.ChainGetGenesis", json!([])).await);
    assert_eq!(genesis.height, 0);
    assert!(genesis.blocks[0].parents.is_empty());
    sim.stop().await;
}

#[test]
fn chains_are_deterministic() {
    let a = Chain::new(9, 50, 7, 0, 30_000);
    let b = Chain::new(9, 50, 7, 0, 30_000);
    let c = Chain::new(10, 50, 7, 0, 30_000);
    assert_eq!(a.head().tipset, b.head().tipset);
    assert_ne!(a.head().tipset.cids, c.head().tipset.cids);
    assert_eq!(a.head().tipset.height, 50);
    assert_eq!(a.null_rounds(), &[6, 13, 20, 27, 34, 41, 48]);
    assert_eq!(a.accounts(), b.accounts());
}

#[tokio::test]
async fn tokens_and_permissions() {
    let sim = still_sim().await;
    // No token: read.
    result(&sim, "Filecoin.ChainHead", json!([])).await;
    let (status, err) = error(&sim, "Filecoin.MpoolPush", json!([{}]), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        err,
        json!({"code": 1, "message": "missing permission to invoke 'MpoolPush' (need 'write')"})
    );
    let write = sim.token(Perm::Write);
    let (_, err) = error(&sim, "Filecoin.AuthNew", json!([["read"]]), Some(&write)).await;
    assert_eq!(
        err["message"],
        "missing permission to invoke 'AuthNew' (need 'admin')"
    );
    let verified = result(&sim, "Filecoin.AuthVerify", json!([write])).await;
    assert_eq!(verified, json!(["read", "write"]));
    let (_, err) = error(&sim, "Filecoin.AuthVerify", json!(["nope"]), None).await;
    assert_eq!(err["code"], 1);
    assert!(err["message"]
        .as_str()
        .unwrap()
        .starts_with("JWT Verification failed"));

    // Admin through the query string; AuthNew answers base64 of the token.
    let admin = sim.token(Perm::Admin);
    let resp = reqwest::Client::new()
        .post(format!("{}?token={admin}", sim.url()))
        .json(&json!({"jsonrpc": "2.0", "method": "Filecoin.AuthNew", "params": [["read", "sign"]], "id": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let reply: Value = resp.json().await.unwrap();
    let bytes = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        reply["result"].as_str().unwrap(),
    )
    .unwrap();
    let minted = String::from_utf8(bytes).unwrap();
    assert_eq!(
        secret().verify(&minted).unwrap().names(),
        vec!["read", "sign"]
    );

    // Bad tokens: 401 with an empty body, whatever the method.
    let body = json!({"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": [], "id": 1});
    let other = Secret::new(vec![1; 32]).mint(Perm::Admin.up_to());
    for token in ["garbage", "a.b.c", other.as_str()] {
        let (status, text) = post(&sim, body.to_string(), Some(token)).await;
        assert_eq!((status, text.as_str()), (401, ""), "{token}");
    }
    let resp = reqwest::Client::new()
        .post(sim.url())
        .header("authorization", format!("Token {write}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // Refused requests are in the call log too.
    let calls = sim.calls();
    assert_eq!(calls.first().unwrap(), "Filecoin.ChainHead");
    assert_eq!(
        calls.iter().filter(|c| *c == "Filecoin.ChainHead").count(),
        5
    );
    assert!(calls.contains(&"Filecoin.MpoolPush".to_owned()));
    sim.reset_calls();
    assert!(sim.calls().is_empty());
    sim.stop().await;
}

#[tokio::test]
async fn null_rounds_resolve_to_the_earlier_tipset() {
    let sim = still_sim().await;
    let nulls = sim.null_rounds();
    assert_eq!(nulls.len(), 28, "{nulls:?}");
    assert!(nulls.iter().all(|h| h % 7 == 6));
    assert!(sim.tipset_at(6).is_none());
    let ts: TipSet = parse(result(&sim, "Filecoin.ChainGetTipSetByHeight", json!([6, []])).await);
    assert_eq!(ts.height, 5);
    assert_eq!(Some(ts), sim.tipset_at(5));
    let after: TipSet =
        parse(result(&sim, "Filecoin.ChainGetTipSetAfterHeight", json!([6, []])).await);
    assert_eq!(after.height, 7);
    // Relative to an older start point.
    let start = sim.tipset_at(10).unwrap();
    let ts: TipSet = parse(
        result(
            &sim,
            "Filecoin.ChainGetTipSetByHeight",
            json!([9, start.cids]),
        )
        .await,
    );
    assert_eq!(ts.height, 9);
    let (status, err) = error(
        &sim,
        "Filecoin.ChainGetTipSetByHeight",
        json!([11, start.cids]),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        err,
        json!({"code": 1, "message": "looking for tipset with height greater than start point"})
    );
    let (_, err) = error(
        &sim,
        "Filecoin.ChainGetTipSetByHeight",
        json!([201, []]),
        None,
    )
    .await;
    assert_eq!(
        err["message"],
        "looking for tipset with height greater than start point"
    );
    let (_, err) = error(
        &sim,
        "Filecoin.ChainGetTipSetByHeight",
        json!([-1, []]),
        None,
    )
    .await;
    assert_eq!(err["code"], 1);
    sim.stop().await;
}

#[tokio::test]
async fn actors_and_lookups() {
    let sim = still_sim().await;
    let accounts = sim.accounts();
    assert_eq!(accounts.len(), 13);
    assert_eq!(sim.network_name(), "simnet");
    assert_eq!(
        result(&sim, "Filecoin.StateNetworkName", json!([])).await,
        "simnet"
    );
    for account in &accounts {
        assert!(account.id.starts_with("t0"));
        crate::lotus::address::Address::parse(&account.robust).unwrap();
        let id = result(&sim, "Filecoin.StateLookupID", json!([account.robust, []])).await;
        assert_eq!(id, account.id.as_str());
        let actor: crate::lotus::types::Actor =
            parse(result(&sim, "Filecoin.StateGetActor", json!([account.id, []])).await);
        assert!(actor.balance.0.parse::<u128>().unwrap() > 0);
        if account.kind == SimActorKind::Miner {
            let (_, err) = error(
                &sim,
                "Filecoin.StateAccountKey",
                json!([account.id, []]),
                None,
            )
            .await;
            assert_eq!(err["code"], 1);
        } else {
            let key = result(&sim, "Filecoin.StateAccountKey", json!([account.id, []])).await;
            assert_eq!(key, account.robust.as_str());
        }
    }
    assert!(accounts.iter().any(|a| a.robust.starts_with("t1")));
    assert!(accounts.iter().any(|a| a.robust.starts_with("t3")));
    let (_, err) = error(&sim, "Filecoin.StateGetActor", json!(["t099999", []]), None).await;
    assert_eq!(
        err,
        json!({"code": 1, "message": "resolution lookup failed (t099999): actor not found"})
    );
    // Unknown tipset keys and objects.
    let unknown = crate::lotus::address::cid_from_digest(&[3; 32]);
    let (_, err) = error(
        &sim,
        "Filecoin.StateGetActor",
        json!([accounts[0].id, [{"/": unknown}]]),
        None,
    )
    .await;
    assert_eq!(
        err["message"],
        format!("loading tipset {{{unknown}}}: blockstore: block not found")
    );
    let (_, err) = error(
        &sim,
        "Filecoin.ChainGetBlock",
        json!([{"/": unknown}]),
        None,
    )
    .await;
    assert_eq!(err["message"], format!("ipld: could not find {unknown}"));
    let version: crate::lotus::types::NodeVersion =
        parse(result(&sim, "Filecoin.Version", json!([])).await);
    assert_eq!(version.api_version, 131840);
    assert_eq!(version.block_delay, 3600);
    sim.stop().await;
}

#[tokio::test]
async fn protocol_errors() {
    let sim = still_sim().await;
    let (status, err) = error(&sim, "Filecoin.Nope", json!([]), None).await;
    assert_eq!(status, 500);
    assert_eq!(
        err,
        json!({"code": -32601, "message": "method 'Filecoin.Nope' not found"})
    );
    // a real Lotus method the simulated node does not answer
    let (status, err) = error(&sim, "Filecoin.EthGetLogs", json!([]), None).await;
    assert_eq!((status, err["code"].clone()), (500, json!(-32601)));
    let (status, err) = error(&sim, "Filecoin.ChainHead", json!([1]), None).await;
    assert_eq!(status, 500);
    assert_eq!(
        err,
        json!({"code": -32602, "message": "wrong param count (method 'Filecoin.ChainHead'): 1 != 0"})
    );
    let (status, err) = error(&sim, "Filecoin.ChainGetBlock", json!(["x"]), None).await;
    assert_eq!(status, 500);
    assert!(err["message"]
        .as_str()
        .unwrap()
        .starts_with("unmarshaling params for 'Filecoin.ChainGetBlock' (param: *cid.Cid)"));

    let (status, text) = post(&sim, "{not json".into(), None).await;
    assert_eq!(status, 500);
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (reply["error"]["code"].clone(), reply["id"].clone()),
        (json!(-32700), Value::Null)
    );
    let (status, text) = post(&sim, "42".into(), None).await;
    assert_eq!(status, 400);
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(reply["error"]["code"], -32600);
    sim.stop().await;
}

#[actix_web::test]
async fn batches_answer_in_order() {
    let sim = still_sim().await;
    let body = json!([
        {"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": [], "id": 1},
        {"jsonrpc": "2.0", "method": "Filecoin.Nope", "params": [], "id": "two"},
        {"jsonrpc": "2.0", "method": "Filecoin.StateNetworkName", "params": [], "id": {"n": 3}},
    ]);
    let (status, text) = post(&sim, body.to_string(), None).await;
    assert_eq!(status, 200);
    let replies: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(replies.len(), 3);
    assert_eq!(replies[0]["id"], 1);
    assert_eq!(replies[0]["result"]["Height"], 200);
    assert_eq!(replies[1]["id"], "two");
    assert_eq!(replies[1]["error"]["code"], -32601);
    assert_eq!(replies[2]["id"], json!({"n": 3}));
    assert_eq!(replies[2]["result"], "simnet");
    assert_eq!(
        sim.calls(),
        vec![
            "Filecoin.ChainHead",
            "Filecoin.Nope",
            "Filecoin.StateNetworkName"
        ]
    );
    sim.stop().await;
}

#[tokio::test]
async fn stall_delays_replies() {
    let sim = still_sim().await;
    sim.set_stall(Some(Duration::from_millis(400)));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let body = json!({"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": [], "id": 1});
    let err = client
        .post(sim.url())
        .json(&body)
        .send()
        .await
        .expect_err("the reply is stalled");
    assert!(err.is_timeout(), "{err}");
    sim.set_stall(None);
    let started = Instant::now();
    let resp = client.post(sim.url()).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() < Duration::from_millis(100));
    sim.stop().await;
}

#[tokio::test]
async fn chain_advances_and_stops() {
    let mut config = SimConfig::new(secret());
    config.block_time = Duration::from_millis(100);
    config.history = 5;
    config.null_round_every = 3;
    let sim = sim_with(config).await;
    // 5 % 3 == 2, but the head at start is never a null round.
    assert_eq!(sim.head().height, 5);
    assert_eq!(sim.null_rounds(), vec![2]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.head().height < 9 {
        assert!(Instant::now() < deadline, "the chain does not advance");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(&sim.null_rounds()[..2], &[2, 8]);
    let head: TipSet = parse(result(&sim, "Filecoin.ChainHead", json!([])).await);
    assert!(head.height >= 9);
    let ts: TipSet = parse(result(&sim, "Filecoin.ChainGetTipSetByHeight", json!([8, []])).await);
    assert_eq!(ts.height, 7);
    assert_eq!(sim.tipset_at(9).unwrap().blocks[0].parents, ts.cids);

    sim.stop().await;
    let height = sim.head().height;
    let refused = reqwest::Client::new()
        .post(sim.url())
        .json(&json!({"jsonrpc": "2.0", "method": "Filecoin.ChainHead", "params": [], "id": 1}))
        .send()
        .await;
    assert!(refused.is_err(), "the server still answers");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.head().height, height, "the chain still advances");
}
