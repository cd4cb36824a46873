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

#[actix_web::test]
async fn a_batch_is_bounded_in_length_and_in_the_size_of_its_replies() {
    let h = Harness::with(Options {
        vars: vec![
            ("LOTUS_REST_JSONRPC_MAXBATCH", "5".into()),
            ("LOTUS_REST_JSONRPC_BATCHCONCURRENCY", "1".into()),
            ("LOTUS_REST_JSONRPC_MAXBATCHRESPONSEBYTES", "2048".into()),
            ("LOTUS_REST_CACHE_ENTRIES", "0".into()),
        ],
        ..Options::default()
    })
    .await;
    let token = h.token_up_to(lotus_rest::auth::Perm::Read);
    let heads = |n: u64| {
        Value::Array(
            (0..n)
                .map(|i| call("Filecoin.ChainHead", json!([]), i))
                .collect(),
        )
    };
    h.sim.reset_calls();
    // Longer than MaxBatch: refused whole, nothing sent.
    let r = rpc(&h, Some(&token), heads(6)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let reply = r.json();
    assert_eq!(reply["error"]["code"], -32600, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MaxBatch"),
        "{reply}"
    );
    assert_eq!(
        h.sim
            .calls()
            .iter()
            .filter(|m| *m == "Filecoin.ChainHead")
            .count(),
        0
    );
    // Replies past MaxBatchResponseBytes (a tipset is over 1 KiB): the batch is answered with an error, and its
    // calls beyond that point are never sent.
    let r = rpc(&h, Some(&token), heads(5)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let reply = r.json();
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("MaxBatchResponseBytes"),
        "{reply}"
    );
    let sent = h
        .sim
        .calls()
        .iter()
        .filter(|m| *m == "Filecoin.ChainHead")
        .count();
    assert!((1..5).contains(&sent), "{sent} of 5 calls sent");
    // Within both caps, answered in order.
    let small = Value::Array(
        (0..5)
            .map(|i| call("Filecoin.StateNetworkName", json!([]), i))
            .collect(),
    );
    let r = rpc(&h, Some(&token), small).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let replies = r.json();
    let ids: Vec<u64> = replies
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![0, 1, 2, 3, 4]);
}

#[actix_web::test]
async fn a_token_has_one_bucket_however_its_header_is_written() {
    let h = Harness::with(Options {
        vars: vec![("LOTUS_REST_RATELIMIT_PERTOKEN", "1".into())],
        ..Options::default()
    })
    .await;
    let token = h.token_up_to(lotus_rest::auth::Perm::Read);
    // Burst: 3 units (1 a second, at least 3); /v1/node/version costs 1.
    let spellings = [
        format!("Bearer {token}"),
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("Bearer  {token}"),
        format!("Bearer {token} "),
        format!("bEaReR {token}"),
        format!("Bearer   {token}"),
        format!("BeArEr {token}"),
    ];
    let mut served = 0;
    for header in &spellings {
        let r = h
            .http
            .get(format!("{}/v1/node/version", h.base))
            .header("Authorization", header)
            .send()
            .await
            .unwrap();
        match r.status().as_u16() {
            200 => served += 1,
            429 => assert!(r.headers().contains_key("retry-after")),
            other => panic!("{header:?}: {other}"),
        }
    }
    assert!(
        served <= 4,
        "{served} of 8 served: one bucket for one token"
    );
    // Tokens that fail verification are refused before any bucket is charged: another token is still served.
    let forged = lotus_rest::auth::Secret::generate().mint(lotus_rest::auth::Perm::Read.up_to());
    for _ in 0..10 {
        assert_eq!(h.get("/v1/node/version", Some(&forged)).await.status, 401);
    }
    let other = h.secret.mint(lotus_rest::auth::Perm::Write.up_to());
    assert_eq!(h.get("/v1/node/version", Some(&other)).await.status, 200);
}

#[actix_web::test]
async fn the_rpc_endpoint_charges_the_client_address_before_verifying_tokens() {
    let h = Harness::with(Options {
        secret_known: false,
        vars: vec![("LOTUS_REST_RATELIMIT_PERIP", "1".into())],
        ..Options::default()
    })
    .await;
    h.sim.reset_calls();
    let mut limited = 0;
    for i in 0..50u32 {
        let forged =
            lotus_rest::auth::Secret::generate().mint(lotus_rest::auth::Perm::Read.up_to());
        let r = rpc(
            &h,
            Some(&forged),
            call("Filecoin.Version", json!([]), u64::from(i)),
        )
        .await;
        match r.status {
            401 => {}
            429 => {
                limited += 1;
                assert_eq!(r.json()["error"]["code"], -32005, "{}", r.text);
            }
            other => panic!("{other}: {}", r.text),
        }
    }
    assert!(limited >= 40, "{limited} of 50 forged tokens limited");
    let asked = h
        .sim
        .calls()
        .iter()
        .filter(|m| *m == "Filecoin.AuthVerify")
        .count();
    assert!(
        asked <= 10,
        "the node was asked about {asked} forged tokens"
    );
}

#[actix_web::test]
async fn a_token_without_a_known_permission_is_told_so() {
    let h = Harness::start().await;
    let empty = h.secret.mint(lotus_rest::auth::PermSet::EMPTY);
    let r = rpc(&h, Some(&empty), call("Filecoin.ChainHead", json!([]), 1)).await;
    let p = r.problem(403, "insufficient_permission");
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("grants no permission"), "{detail}");
    assert!(!detail.contains("anonymous"), "{detail}");
}

#[actix_web::test]
async fn one_client_cannot_take_every_stream() {
    let h = Harness::with(Options {
        vars: vec![
            ("LOTUS_REST_STREAMS_MAXPERCLIENT", "2".into()),
            // A client that went is noticed at the next write: the heartbeat.
            ("LOTUS_REST_STREAMS_HEARTBEAT", "200ms".into()),
        ],
        ..Options::default()
    })
    .await;
    let open = |token: Option<String>| {
        let mut req = h.http.get(format!("{}/v1/streams/heads", h.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let first = open(None).await.unwrap();
    let second = open(None).await.unwrap();
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = Reply::from(open(None).await.unwrap()).await;
    let p = third.problem(429, "rate_limited");
    assert!(
        p["detail"].as_str().unwrap().contains("MaxPerClient"),
        "{p}"
    );
    // The slot comes back when a stream closes.
    drop(first);
    let mut reopened = None;
    for _ in 0..200 {
        let r = open(None).await.unwrap();
        if r.status() == 200 {
            reopened = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(reopened.is_some(), "a closed stream frees its slot");
}

#[actix_web::test]
async fn readiness_probes_cost_the_node_one_call_a_moment() {
    let h = Harness::with(Options {
        vars: vec![("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into())],
        ..Options::default()
    })
    .await;
    h.sim.reset_calls();
    let started = std::time::Instant::now();
    for _ in 0..30 {
        assert_eq!(h.get("/readyz", None).await.status, 200);
    }
    let heads = h
        .sim
        .calls()
        .iter()
        .filter(|m| *m == "Filecoin.ChainHead")
        .count();
    // One read every 2 s at most.
    let windows = started.elapsed().as_secs() as usize / 2 + 1;
    assert!(
        heads <= windows,
        "{heads} ChainHead calls for 30 probes in {:?}",
        started.elapsed()
    );
}
