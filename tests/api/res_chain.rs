//! The chain, sync, node and token resources against the simulated node.

use std::collections::HashSet;

use lotus_rest::auth::Perm;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{Harness, Sample};
use crate::table::SampleRequest;

/// The events root the simulated node holds events under.
const EVENTS_ROOT: &str = "bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4";
/// The block the simulated node starts with marked bad.
const SEEDED_BAD_BLOCK: &str = "bafy2bzacebp3shtrn43k7g3unredz7fxn4gj533d3o43tqn2p2ipxxhrvchve";

/// A block built on the sample tipset, as a miner would submit it.
fn new_block(s: &Sample) -> Value {
    let mut header = s.tipset["Blocks"][0].clone();
    header["Parents"] = s.tipset["Cids"].clone();
    header["Height"] = json!(s.height + 1);
    json!({"Header": header, "BlsMessages": [], "SecpkMessages": []})
}

/// The sample request of each chain, sync, node and token operation.
pub fn samples(h: &Harness, s: &Sample) -> Vec<SampleRequest> {
    let post =
        |op, path: &str, body: Value| SampleRequest::with(op, Method::POST, path, Some(body));
    vec![
        SampleRequest::get("get_chain_genesis", "/v1/chain/genesis"),
        SampleRequest::get("get_finalized_tipset", "/v1/chain/finalized"),
        SampleRequest::get(
            "get_tipset_by_height",
            format!("/v1/tipsets/{}?null_round=next", s.height),
        ),
        SampleRequest::get(
            "list_tipset_messages",
            format!("/v1/tipsets/key/{}/messages?limit=2", s.key),
        ),
        SampleRequest::get(
            "get_tipset_weight",
            format!("/v1/tipsets/key/{}/weight", s.key),
        ),
        SampleRequest::get(
            "list_block_parent_messages",
            format!("/v1/blocks/{}/parent-messages", s.block),
        ),
        SampleRequest::get(
            "list_block_parent_receipts",
            format!("/v1/blocks/{}/parent-receipts", s.block),
        ),
        SampleRequest::get(
            "list_chain_path",
            format!("/v1/chain/path?from={}&to={}&limit=5", s.key, s.key),
        ),
        SampleRequest::get(
            "list_chain_events",
            format!("/v1/chain/events/{EVENTS_ROOT}"),
        ),
        SampleRequest::get(
            "get_chain_node",
            format!("/v1/chain/nodes?path=/ipfs/{}/Parents/0", s.block),
        ),
        SampleRequest::get("get_chain_object", format!("/v1/chain/objects/{}", s.block)),
        SampleRequest::get(
            "get_chain_object_presence",
            format!("/v1/chain/objects/{}/presence", s.block),
        ),
        SampleRequest::get(
            "get_chain_object_stat",
            format!("/v1/chain/objects/{}/stat", s.block),
        ),
        post(
            "create_chain_object",
            "/v1/chain/objects",
            json!({"Data": "aGVsbG8gZmlsZWNvaW4="}),
        ),
        SampleRequest::with(
            "delete_chain_object",
            Method::DELETE,
            format!("/v1/chain/objects/{}", s.block),
            None,
        ),
        SampleRequest::get("get_blockstore_info", "/v1/chain/blockstore"),
        SampleRequest::with(
            "check_blockstore",
            Method::POST,
            "/v1/chain/blockstore/check",
            None,
        ),
        post(
            "run_hot_gc",
            "/v1/chain/blockstore/hot-gc",
            json!({"Threshold": 0.01}),
        ),
        post(
            "run_prune",
            "/v1/chain/blockstore/prune",
            json!({"RetainState": 100}),
        ),
        post(
            "create_chain_export",
            "/v1/chain/exports",
            json!({"Head": s.key, "Tail": s.key, "NumWorkers": 2}),
        ),
        SampleRequest::with(
            "set_chain_head",
            Method::POST,
            "/v1/chain/set-head",
            Some(json!({"Tipset": s.key})),
        ),
        post(
            "validate_chain_index",
            "/v1/chain/index/validate",
            json!({"Height": s.height}),
        ),
        SampleRequest::get("get_sync_state", "/v1/sync/state"),
        SampleRequest::get(
            "get_bad_block",
            format!("/v1/sync/bad-blocks/{SEEDED_BAD_BLOCK}"),
        ),
        SampleRequest::with(
            "put_sync_bad_block",
            Method::PUT,
            format!("/v1/sync/bad-blocks/{}", s.block),
            None,
        ),
        SampleRequest::with(
            "delete_bad_block",
            Method::DELETE,
            format!("/v1/sync/bad-blocks/{SEEDED_BAD_BLOCK}"),
            None,
        ),
        SampleRequest::with(
            "delete_bad_blocks",
            Method::DELETE,
            "/v1/sync/bad-blocks",
            None,
        ),
        SampleRequest::with(
            "update_sync_checkpoint",
            Method::PUT,
            "/v1/sync/checkpoint",
            Some(json!({"Tipset": s.key})),
        ),
        post("submit_block", "/v1/sync/blocks", new_block(s)),
        SampleRequest::get(
            "get_tipset_validity",
            format!("/v1/tipsets/key/{}/validity", s.key),
        ),
        SampleRequest::get("get_node_session", "/v1/node/session"),
        SampleRequest::get("get_node_start_time", "/v1/node/start-time"),
        SampleRequest::get("get_node_id", "/v1/node/id"),
        SampleRequest::get("get_node_status", "/v1/node/status?chain_status=true"),
        SampleRequest::get("get_node_openrpc", "/v1/node/openrpc"),
        SampleRequest::get("get_node_client_version", "/v1/node/client-version"),
        SampleRequest::with("shutdown_node", Method::POST, "/v1/node/shutdown", None),
        post(
            "create_node_backup",
            "/v1/node/backups",
            json!({"Path": "/var/backups/lotus/sample.cbor"}),
        ),
        post(
            "create_auth_token",
            "/v1/auth/tokens",
            json!({"Permissions": ["read", "write"]}),
        ),
        post(
            "verify_auth_token",
            "/v1/auth/tokens/verify",
            json!({"Token": h.token_up_to(Perm::Write)}),
        ),
    ]
}

fn roots(key: &Value) -> Vec<String> {
    key.as_array()
        .unwrap()
        .iter()
        .map(|c| c["/"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn objects_can_be_put_read_measured_and_deleted() {
    let h = Harness::start().await;
    let admin = h.token_up_to(Perm::Admin);
    let data = "aGVsbG8gZmlsZWNvaW4=";
    let r = h
        .send_json(
            Method::POST,
            "/v1/chain/objects",
            Some(&admin),
            Some(&json!({"Data": data})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let location = r.header("location").unwrap().to_string();
    let cid = r.json()["Cid"]["/"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/v1/chain/objects/{cid}"));

    let r = h.get(&location, Some(&admin)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!({"Cid": {"/": cid}, "Data": data}));
    let r = h.get(&format!("{location}/presence"), Some(&admin)).await;
    assert_eq!(r.json()["Present"], true, "{}", r.text);
    let r = h.get(&format!("{location}/stat"), Some(&admin)).await;
    assert_eq!(r.json(), json!({"Size": 14, "Links": 0}), "{}", r.text);

    let r = h.send(Method::DELETE, &location, Some(&admin)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    h.get(&location, Some(&admin))
        .await
        .problem(404, "not_found");
    let r = h.get(&format!("{location}/presence"), Some(&admin)).await;
    assert_eq!(r.json()["Present"], false, "{}", r.text);
    h.send(Method::DELETE, &location, Some(&admin))
        .await
        .problem(404, "not_found");

    // Bad input is refused before the node is asked, naming what is wrong.
    h.sim.reset_calls();
    let p = h
        .send_json(
            Method::POST,
            "/v1/chain/objects",
            Some(&admin),
            Some(&json!({"Data": "%%%"})),
        )
        .await
        .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("\"Data\""), "{p}");
    let p = h
        .send_json(
            Method::POST,
            "/v1/chain/objects",
            Some(&admin),
            Some(&json!({"Data": data, "Pin": true})),
        )
        .await
        .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("Pin"), "{p}");
    let p = h
        .get("/v1/chain/objects/not-a-cid", Some(&admin))
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("cid"), "{p}");
    assert!(h.sim.calls().is_empty(), "{:?}", h.sim.calls());
}

#[actix_web::test]
async fn chain_objects_include_blocks_and_resolve_paths() {
    let h = Harness::start().await;
    let s = h.sample().await;
    let r = h.get(&format!("/v1/chain/objects/{}", s.block), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let parent = s.tipset["Blocks"][0]["Parents"][0]["/"].as_str().unwrap();
    let r = h
        .get(
            &format!("/v1/chain/nodes?path=/ipfs/{}/Parents/0", s.block),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let node = r.json();
    assert_eq!(node["Cid"]["/"], parent, "{node}");
    assert!(node["Obj"]["Height"].as_i64().unwrap() < s.height, "{node}");
    let r = h
        .get(&format!("/v1/chain/nodes?path={}/Height", s.block), None)
        .await;
    assert_eq!(r.json()["Obj"], s.height, "{}", r.text);
    let p = h
        .get("/v1/chain/nodes", None)
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("path"), "{p}");
    h.get(
        &format!("/v1/chain/nodes?path={}/NoSuchField", s.block),
        None,
    )
    .await
    .problem(404, "not_found");
}

#[actix_web::test]
async fn tipset_messages_page_through_every_message_once() {
    let h = Harness::start().await;
    let s = h.sample().await;
    // Find a tipset with several messages.
    let head = h.sim.head().height;
    let mut found = None;
    for height in (1..head).rev() {
        let Some(ts) = h.sim.tipset_at(height) else {
            continue;
        };
        let key: Vec<String> = ts.cids.iter().map(|c| c.root.clone()).collect();
        let key = key.join(",");
        let r = h
            .get(&format!("/v1/tipsets/key/{key}/messages?limit=1000"), None)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        if r.json()["total"].as_u64().unwrap() >= 3 {
            found = Some((key, r.json()));
            break;
        }
    }
    let (key, whole) = found.expect("a tipset with three messages or more");
    let total = whole["total"].as_u64().unwrap() as usize;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/v1/tipsets/key/{key}/messages?limit=2&cursor={c}"),
            None => format!("/v1/tipsets/key/{key}/messages?limit=2"),
        };
        let page = h.get(&url, None).await.json();
        assert_eq!(page["total"], total);
        for item in page["items"].as_array().unwrap() {
            seen.push(item["Cid"]["/"].as_str().unwrap().to_string());
            assert!(item["Message"]["From"].is_string(), "{item}");
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), total);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), total);
    let all: Vec<String> = whole["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["Cid"]["/"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, all);

    h.get(&format!("/v1/tipsets/key/{}/messages?limit=0", s.key), None)
        .await
        .problem(400, "invalid_parameter");
    h.get("/v1/tipsets/key/nope/messages", None)
        .await
        .problem(400, "invalid_parameter");
}

#[actix_web::test]
async fn path_weight_finality_and_null_rounds() {
    let h = Harness::start().await;
    let s = h.sample().await;
    let head = h.sim.head();
    let head_key: Vec<String> = head.cids.iter().map(|c| c.root.clone()).collect();
    let head_key = head_key.join(",");

    // The path from the sample to the head applies every tipset above the sample.
    let expected = (s.height + 1..=head.height)
        .filter(|h2| h.sim.tipset_at(*h2).is_some())
        .count();
    let r = h
        .get(
            &format!("/v1/chain/path?from={}&to={head_key}&limit=1000", s.key),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let path = r.json();
    assert_eq!(path["total"], expected, "{}", r.text);
    assert!(path["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["Type"] == "apply"));
    let back = h
        .get(
            &format!("/v1/chain/path?from={head_key}&to={}", s.key),
            None,
        )
        .await
        .json();
    assert_eq!(back["items"][0]["Type"], "revert");
    assert_eq!(back["items"][0]["Val"]["Height"], head.height);
    let p = h
        .get(&format!("/v1/chain/path?from={}", s.key), None)
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("to"), "{p}");

    let w = |r: crate::common::Reply| r.json().as_str().unwrap().parse::<u128>().unwrap();
    let at_sample = w(h
        .get(&format!("/v1/tipsets/key/{}/weight", s.key), None)
        .await);
    let at_head = w(h
        .get(&format!("/v1/tipsets/key/{head_key}/weight"), None)
        .await);
    assert!(at_head > at_sample);

    let finalized = h.get("/v1/chain/finalized", None).await.json();
    assert_eq!(
        finalized["Height"], 0,
        "a 200-epoch chain is final at genesis only"
    );
    let genesis = h.get("/v1/chain/genesis", None).await.json();
    assert_eq!(genesis["Height"], 0);

    let null = *h.sim.null_rounds().first().unwrap();
    h.get(&format!("/v1/tipsets/{null}"), None)
        .await
        .problem(404, "null_round");
    let next = h
        .get(&format!("/v1/tipsets/{null}?null_round=next"), None)
        .await;
    assert_eq!(next.json()["Height"], null + 1, "{}", next.text);
    let previous = h
        .get(&format!("/v1/tipsets/{null}?null_round=previous"), None)
        .await;
    assert_eq!(previous.json()["Height"], null - 1, "{}", previous.text);
    h.get(&format!("/v1/tipsets/{null}?null_round=sideways"), None)
        .await
        .problem(400, "invalid_parameter");
    // The largest height there is, asking for the next tipset: refused, not an overflow.
    h.get(&format!("/v1/tipsets/{}?null_round=next", i64::MAX), None)
        .await
        .problem(400, "invalid_parameter");
    h.get(
        &format!("/v1/actors/t01000?height={}&null_round=next", i64::MAX),
        None,
    )
    .await
    .problem(400, "invalid_parameter");
}

#[actix_web::test]
async fn bad_blocks_are_marked_checked_and_cleared() {
    let h = Harness::start().await;
    let s = h.sample().await;
    let admin = h.token_up_to(Perm::Admin);
    let r = h
        .get(&format!("/v1/sync/bad-blocks/{SEEDED_BAD_BLOCK}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["Reason"]
        .as_str()
        .unwrap()
        .contains("election proof"));
    h.get(&format!("/v1/sync/bad-blocks/{}", s.block), None)
        .await
        .problem(404, "not_found");
    let validity = h
        .get(&format!("/v1/tipsets/key/{}/validity", s.key), None)
        .await
        .json();
    assert_eq!(validity["Valid"], true, "{validity}");

    let r = h
        .send(
            Method::PUT,
            &format!("/v1/sync/bad-blocks/{}", s.block),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = h
        .get(&format!("/v1/sync/bad-blocks/{}", s.block), None)
        .await;
    assert_eq!(r.json()["Cid"]["/"], s.block.as_str(), "{}", r.text);
    let validity = h
        .get(&format!("/v1/tipsets/key/{}/validity", s.key), None)
        .await
        .json();
    assert_eq!(validity["Valid"], false, "{validity}");
    assert!(validity["Reason"].as_str().unwrap().contains(&s.block));

    let r = h
        .send(
            Method::DELETE,
            &format!("/v1/sync/bad-blocks/{}", s.block),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 204);
    h.get(&format!("/v1/sync/bad-blocks/{}", s.block), None)
        .await
        .problem(404, "not_found");
    let r = h
        .send(Method::DELETE, "/v1/sync/bad-blocks", Some(&admin))
        .await;
    assert_eq!(r.status, 204);
    h.get(&format!("/v1/sync/bad-blocks/{SEEDED_BAD_BLOCK}"), None)
        .await
        .problem(404, "not_found");
}

#[actix_web::test]
async fn sync_state_follows_the_head_checkpoints_and_submitted_blocks() {
    let h = Harness::start().await;
    let s = h.sample().await;
    let admin = h.token_up_to(Perm::Admin);
    let state = h.get("/v1/sync/state", None).await.json();
    assert_eq!(
        state["ActiveSyncs"][0]["Target"]["Height"],
        h.sim.head().height
    );

    let r = h
        .send_json(
            Method::PUT,
            "/v1/sync/checkpoint",
            Some(&admin),
            Some(&json!({"Tipset": s.key})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let state = h.get("/v1/sync/state", None).await.json();
    assert_eq!(
        state["ActiveSyncs"][0]["Target"]["Height"], s.height,
        "{state}"
    );
    assert!(state["ActiveSyncs"][0]["Message"]
        .as_str()
        .unwrap()
        .contains("checkpoint"));

    let r = h
        .send_json(
            Method::POST,
            "/v1/chain/set-head",
            Some(&admin),
            Some(&json!({"Tipset": s.key})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let state = h.get("/v1/sync/state", None).await.json();
    assert!(state["ActiveSyncs"][0]["Message"]
        .as_str()
        .unwrap()
        .contains("head set"));
    let p = h
        .send_json(
            Method::POST,
            "/v1/chain/set-head",
            Some(&admin),
            Some(&json!({"Tipset": "x,"})),
        )
        .await
        .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("Tipset"), "{p}");

    let write = h.token_up_to(Perm::Write);
    let block = new_block(&s);
    let r = h
        .send_json(Method::POST, "/v1/sync/blocks", Some(&write), Some(&block))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let state = h.get("/v1/sync/state", None).await.json();
    assert_eq!(
        state["ActiveSyncs"][1]["Target"]["Height"],
        s.height + 1,
        "{state}"
    );
    let mut orphan = block.clone();
    orphan["Header"]["Parents"] = json!([{"/": SEEDED_BAD_BLOCK}]);
    h.send_json(Method::POST, "/v1/sync/blocks", Some(&write), Some(&orphan))
        .await
        .problem(404, "not_found");
    let mut bad = block.clone();
    bad["Header"]["Miner"] = json!("x99");
    let p = h
        .send_json(Method::POST, "/v1/sync/blocks", Some(&write), Some(&bad))
        .await
        .problem(400, "invalid_body");
    assert!(
        p["detail"].as_str().unwrap().contains("Header.Miner"),
        "{p}"
    );
}

#[actix_web::test]
async fn blockstore_maintenance_is_recorded() {
    let h = Harness::start().await;
    let s = h.sample().await;
    let admin = h.token_up_to(Perm::Admin);
    let info = h.get("/v1/chain/blockstore", None).await.json();
    assert_eq!(info["HotGCs"], 0);
    let r = h
        .send_json(
            Method::POST,
            "/v1/chain/blockstore/hot-gc",
            Some(&admin),
            Some(&json!({"Moving": true})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = h
        .send_json(
            Method::POST,
            "/v1/chain/blockstore/prune",
            Some(&admin),
            Some(&json!({})),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let r = h
        .send(Method::POST, "/v1/chain/blockstore/check", Some(&admin))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let head = h.sim.head();
    let head_key: Vec<String> = head.cids.iter().map(|c| c.root.clone()).collect();
    let r = h
        .send_json(
            Method::POST,
            "/v1/chain/exports",
            Some(&admin),
            Some(&json!({"Head": head_key.join(","), "Tail": s.key})),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let info = h.get("/v1/chain/blockstore", None).await.json();
    assert_eq!(
        (
            &info["HotGCs"],
            &info["Prunes"],
            &info["Checks"],
            &info["Exports"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(1)),
        "{info}"
    );
    let p = h
        .send_json(
            Method::POST,
            "/v1/chain/blockstore/hot-gc",
            Some(&admin),
            Some(&json!({"Threshold": 2})),
        )
        .await
        .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("Threshold"), "{p}");
    let p = h
        .send_json(
            Method::POST,
            "/v1/chain/exports",
            Some(&admin),
            Some(&json!({"Head": s.key, "Tail": head_key.join(",")})),
        )
        .await;
    assert!(p.status >= 400, "{}", p.text);
    let p = h
        .send_json(
            Method::POST,
            "/v1/chain/exports",
            Some(&admin),
            Some(&json!({"Head": s.key, "Tail": s.key, "NumWorkers": 0})),
        )
        .await
        .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("NumWorkers"), "{p}");

    let write = h.token_up_to(Perm::Write);
    let r = h
        .send_json(
            Method::POST,
            "/v1/chain/index/validate",
            Some(&write),
            Some(&json!({"Height": s.height})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["IsNullRound"], false);
    assert_eq!(roots(&v["TipSetKey"]).join(","), s.key);
    let null_height = *h.sim.null_rounds().first().unwrap();
    let r = h
        .send_json(
            Method::POST,
            "/v1/chain/index/validate",
            Some(&write),
            Some(&json!({"Height": null_height})),
        )
        .await;
    assert_eq!(r.json()["IsNullRound"], true, "{}", r.text);
    h.send_json(
        Method::POST,
        "/v1/chain/index/validate",
        Some(&write),
        Some(&json!({"Height": "ten"})),
    )
    .await
    .problem(400, "invalid_body");
}

#[actix_web::test]
async fn events_node_identity_and_status() {
    let h = Harness::start().await;
    let events = h
        .get(&format!("/v1/chain/events/{EVENTS_ROOT}"), None)
        .await
        .json();
    assert_eq!(events.as_array().unwrap().len(), 3);
    h.get(&format!("/v1/chain/events/{SEEDED_BAD_BLOCK}"), None)
        .await
        .problem(404, "not_found");
    let id = h.get("/v1/node/id", None).await.json();
    assert!(id.as_str().unwrap().starts_with("12D3KooW"));
    let started = h.get("/v1/node/start-time", None).await.json();
    assert_eq!(h.get("/v1/node/start-time", None).await.json(), started);
    let session = h.get("/v1/node/session", None).await.json();
    assert_eq!(session.as_str().unwrap().len(), 36);
    let status = h
        .get("/v1/node/status?chain_status=true", None)
        .await
        .json();
    assert_eq!(status["SyncStatus"]["Epoch"], h.sim.head().height);
    assert!(
        status["ChainStatus"]["BlocksPerTipsetLast100"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let status = h.get("/v1/node/status", None).await.json();
    assert_eq!(status["ChainStatus"]["BlocksPerTipsetLast100"], 0.0);
    h.get("/v1/node/status?chain_status=maybe", None)
        .await
        .problem(400, "invalid_parameter");
    let doc = h.get("/v1/node/openrpc", None).await.json();
    assert!(doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["name"] == "Filecoin.ChainHead"));
    assert!(h
        .get("/v1/node/client-version", None)
        .await
        .json()
        .is_string());

    let admin = h.token_up_to(Perm::Admin);
    let backup = json!({"Path": "/var/backups/lotus/one.cbor"});
    let r = h
        .send_json(
            Method::POST,
            "/v1/node/backups",
            Some(&admin),
            Some(&backup),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    // The node refuses to overwrite a backup: a conflict with what is on disk (409), not a failure of the node.
    let r = h
        .send_json(
            Method::POST,
            "/v1/node/backups",
            Some(&admin),
            Some(&backup),
        )
        .await;
    r.problem(409, "conflict");
    let p = h
        .send_json(
            Method::POST,
            "/v1/node/backups",
            Some(&admin),
            Some(&json!({"Path": "relative.cbor"})),
        )
        .await
        .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("Path"), "{p}");

    let r = h
        .send(Method::POST, "/v1/node/shutdown", Some(&admin))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    // The simulated node records the request and keeps answering.
    assert_eq!(h.get("/v1/node/id", None).await.status, 200);
}

#[actix_web::test]
async fn tokens_are_created_and_verified() {
    let h = Harness::start().await;
    let admin = h.token_up_to(Perm::Admin);
    let r = h
        .send_json(
            Method::POST,
            "/v1/auth/tokens",
            Some(&admin),
            Some(&json!({"Permissions": ["read", "write", "read"]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let created = r.json();
    assert_eq!(created["Permissions"], json!(["read", "write"]));
    let token = created["Token"].as_str().unwrap().to_string();

    // The new token works, up to its permissions.
    assert_eq!(h.get("/v1/node/id", Some(&token)).await.status, 200);
    h.send(Method::POST, "/v1/node/shutdown", Some(&token))
        .await
        .problem(403, "insufficient_permission");

    let r = h
        .send_json(
            Method::POST,
            "/v1/auth/tokens/verify",
            None,
            Some(&json!({"Token": token})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"Valid": true, "Permissions": ["read", "write"]})
    );
    let other = lotus_rest::auth::Secret::generate().mint(Perm::Admin.up_to());
    let r = h
        .send_json(
            Method::POST,
            "/v1/auth/tokens/verify",
            None,
            Some(&json!({"Token": other})),
        )
        .await;
    assert_eq!(r.json()["Valid"], false, "{}", r.text);

    h.sim.reset_calls();
    let p = h
        .send_json(
            Method::POST,
            "/v1/auth/tokens",
            Some(&admin),
            Some(&json!({"Permissions": ["read", "root"]})),
        )
        .await
        .problem(400, "invalid_body");
    assert!(
        p["detail"].as_str().unwrap().contains("Permissions[1]"),
        "{p}"
    );
    h.send_json(
        Method::POST,
        "/v1/auth/tokens",
        Some(&admin),
        Some(&json!({"Permissions": []})),
    )
    .await
    .problem(400, "invalid_body");
    h.send_json(
        Method::POST,
        "/v1/auth/tokens/verify",
        None,
        Some(&json!({"Token": ""})),
    )
    .await
    .problem(400, "invalid_body");
    assert!(h.sim.calls().is_empty(), "{:?}", h.sim.calls());
}
