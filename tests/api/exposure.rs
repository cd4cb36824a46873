//! Safe to expose: the lookback cap, the batch caps and the rate limits hold on every way in (REST routes, cursors,
//! `/rpc/v1` single calls and batches), checked by what reached the node.

use base64::Engine;
use serde_json::{json, Value};

use crate::common::{Harness, Options, Reply};

async fn rpc(h: &Harness, token: Option<&str>, body: Value) -> Reply {
    let mut req = h.http.post(format!("{}/rpc/v1", h.base)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    Reply::from(req.send().await.unwrap()).await
}

fn call(method: &str, params: Value, id: u64) -> Value {
    json!({"jsonrpc": "2.0", "method": method, "params": params, "id": id})
}

/// The methods the node was asked since the last reset, but those the gateway itself uses to learn a tipset's
/// height, the head or the network.
fn reads_beyond_lookups(h: &Harness) -> Vec<String> {
    h.sim
        .calls()
        .into_iter()
        .filter(|m| {
            ![
                "Filecoin.ChainGetTipSet",
                "Filecoin.ChainHead",
                "Filecoin.StateNetworkName",
            ]
            .contains(&m.as_str())
        })
        .collect()
}

fn assert_refused_for_lookback(r: &Reply) {
    let p = r.problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("MaxLookback"), "{p}");
}

fn assert_rpc_refused_for_lookback(reply: &Value) {
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MaxLookback"),
        "{reply}"
    );
}

#[actix_web::test]
async fn the_lookback_cap_holds_on_every_way_in() {
    let h = Harness::with(Options {
        vars: vec![("LOTUS_REST_CHAIN_MAXLOOKBACK", "10".into())],
        ..Options::default()
    })
    .await;
    let head = h.sim.head();
    let old = (1..head.height - 20)
        .rev()
        .find(|x| h.sim.tipset_at(*x).is_some())
        .unwrap();
    let old_cids: Vec<String> = h
        .sim
        .tipset_at(old)
        .unwrap()
        .cids
        .into_iter()
        .map(|c| c.root)
        .collect();
    let old_key_json: Vec<Value> = old_cids.iter().map(|c| json!({"/": c})).collect();
    let old_key = old_cids.join(",");
    let head_key = head
        .cids
        .iter()
        .map(|c| c.root.clone())
        .collect::<Vec<_>>()
        .join(",");
    let account = h.sim.accounts()[0].id.clone();

    // A cursor from a real first page, before anything is refused.
    let first = h.get("/v1/actors?limit=2", None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let cursor = first.json()["next_cursor"].as_str().unwrap().to_string();

    h.sim.reset_calls();
    // REST: a height, a tipset key in the path, in the query, and both ends of a path.
    for path in [
        format!("/v1/tipsets/{old}"),
        format!("/v1/tipsets/key/{old_key}"),
        format!("/v1/tipsets/key/{old_key}/weight"),
        format!("/v1/tipsets/key/{old_key}/validity"),
        format!("/v1/tipsets/key/{old_key}/messages"),
        format!("/v1/chain/path?from={old_key}&to={head_key}"),
        format!("/v1/chain/path?from={head_key}&to={old_key}"),
        format!("/v1/actors/{account}?height={old}"),
        format!("/v1/actors/{account}?tipset={old_key}"),
        format!("/v1/actors?tipset={old_key}"),
    ] {
        let r = h.get(&path, None).await;
        assert_refused_for_lookback(&r);
    }

    // A cursor whose tipset key was replaced by an old one is refused for its signature.
    let (payload, mac) = cursor.split_once('.').expect("a signed cursor");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut body: Value = serde_json::from_slice(&b64.decode(payload).unwrap()).unwrap();
    body["k"] = json!(old_key_json);
    let forged = format!("{}.{mac}", b64.encode(serde_json::to_vec(&body).unwrap()));
    let p = h
        .get(&format!("/v1/actors?limit=2&cursor={forged}"), None)
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("signature"), "{p}");

    // JSON-RPC: single calls and a batch, by height, by key, and Ethereum's block numbers.
    let old_calls = [
        call("Filecoin.ChainGetTipSetByHeight", json!([old, []]), 1),
        call("Filecoin.ChainGetTipSetAfterHeight", json!([old, []]), 2),
        call("Filecoin.StateListActors", json!([old_key_json]), 3),
        call("Filecoin.StateCompute", json!([old, [], []]), 4),
        call("Filecoin.StateGetActor", json!([account, old_key_json]), 5),
        call("Filecoin.ChainGetTipSet", json!([old_key_json]), 6),
        call(
            "Filecoin.EthGetBlockByNumber",
            json!([format!("{old:#x}"), false]),
            7,
        ),
        call(
            "Filecoin.EthGetBlockByNumber",
            json!(["earliest", false]),
            8,
        ),
        call(
            "Filecoin.EthGetBalance",
            json!(["0xff00000000000000000000000000000000000001", {"blockNumber": format!("{old:#x}")}]),
            9,
        ),
        call(
            "Filecoin.GetActorEventsRaw",
            json!([{"fromHeight": old}]),
            10,
        ),
        call("Filecoin.EthFeeHistory", json!(["0x20", "latest", []]), 11),
    ];
    for c in &old_calls {
        let r = rpc(&h, None, c.clone()).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_rpc_refused_for_lookback(&r.json());
    }
    let batch = rpc(&h, None, Value::Array(old_calls.to_vec())).await;
    for reply in batch.json().as_array().unwrap() {
        assert_rpc_refused_for_lookback(reply);
    }
    assert_eq!(
        reads_beyond_lookups(&h),
        Vec::<String>::new(),
        "nothing below the cap reached the node"
    );

    // What is within the cap is served, on every way in.
    let recent = (head.height - 9..head.height)
        .rev()
        .find(|x| h.sim.tipset_at(*x).is_some())
        .unwrap();
    assert_eq!(
        h.get(&format!("/v1/tipsets/{recent}"), None).await.status,
        200
    );
    let r = rpc(
        &h,
        None,
        call("Filecoin.ChainGetTipSetByHeight", json!([recent, []]), 1),
    )
    .await;
    assert_eq!(r.json()["result"]["Height"], recent, "{}", r.text);
    let next = h
        .get(&format!("/v1/actors?limit=2&cursor={cursor}"), None)
        .await;
    assert_eq!(next.status, 200, "{}", next.text);
}
