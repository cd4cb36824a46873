//! Each route against the simulated node: what it returns is what the node holds.

use lotus_rest::auth::Perm;
use serde_json::Value;

use crate::common::Harness;

#[actix_web::test]
async fn chain_head_is_the_nodes_head() {
    let h = Harness::with(crate::common::Options {
        vars: vec![("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into())],
        ..Default::default()
    })
    .await;
    let r = h.get("/v1/chain/head", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    assert_eq!(body, serde_json::to_value(h.sim.head()).unwrap());
    assert_eq!(h.sim.calls(), vec!["Filecoin.ChainHead"]);
}

#[actix_web::test]
async fn tipsets_by_height_and_by_key() {
    let h = Harness::start().await;
    let head = h.sim.head();
    let height = (1..head.height)
        .rev()
        .find(|x| h.sim.tipset_at(*x).is_some())
        .unwrap();
    let want = serde_json::to_value(h.sim.tipset_at(height).unwrap()).unwrap();
    let r = h.get(&format!("/v1/tipsets/{height}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), want);

    let key: Vec<&str> = want["Cids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["/"].as_str().unwrap())
        .collect();
    let r = h
        .get(&format!("/v1/tipsets/key/{}", key.join(",")), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), want);
}

#[actix_web::test]
async fn null_rounds_are_404_not_the_previous_tipset() {
    let h = Harness::start().await;
    let null = *h
        .sim
        .null_rounds()
        .first()
        .expect("the sim has null rounds");
    let r = h.get(&format!("/v1/tipsets/{null}"), None).await;
    let p = r.problem(404, "null_round");
    assert!(
        p["detail"].as_str().unwrap().contains(&null.to_string()),
        "{p}"
    );
    // A state read at a null round is refused the same way.
    let r = h.get(&format!("/v1/network?height={null}"), None).await;
    r.problem(404, "null_round");
}

#[actix_web::test]
async fn height_beyond_head_is_400() {
    let h = Harness::start().await;
    let beyond = h.sim.head().height + 1000;
    let r = h.get(&format!("/v1/tipsets/{beyond}"), None).await;
    let p = r.problem(400, "invalid_parameter");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("beyond the current head"),
        "{p}"
    );
}

#[actix_web::test]
async fn blocks_their_messages_and_the_messages_themselves() {
    let h = Harness::start().await;
    let sample = h.sample().await;
    let (ts, block, msg) = (&sample.tipset, &sample.block, &sample.message);
    let r = h.get(&format!("/v1/blocks/{block}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let header = r.json();
    let in_tipset = ts["Blocks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|b| b == &header);
    assert!(in_tipset, "the block is one of its tipset's blocks");

    let r = h.get(&format!("/v1/messages/{msg}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let message = r.json();
    // The block lists BLS messages, then signed secp256k1 messages (whose CID is the signed message's);
    // the message route answers the unsigned message either way.
    let bm = &sample.block_messages;
    let bls = bm["BlsMessages"].as_array().unwrap();
    let index = bm["Cids"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["/"] == msg.as_str())
        .unwrap();
    let expected = if index < bls.len() {
        bls[index].clone()
    } else {
        bm["SecpkMessages"][index - bls.len()]["Message"].clone()
    };
    assert_eq!(message, expected);
    assert!(message["From"].as_str().unwrap().starts_with('t'));
}

#[actix_web::test]
async fn receipts_point_at_the_executing_tipset() {
    let h = Harness::start().await;
    let sample = h.sample().await;
    let (ts, msg) = (&sample.tipset, &sample.message);
    let r = h.get(&format!("/v1/messages/{msg}/receipt"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let lookup = r.json();
    let included = ts["Height"].as_i64().unwrap();
    let executed = lookup["Height"].as_i64().unwrap();
    assert!(executed > included, "{lookup}");
    let exec_ts = h
        .sim
        .tipset_at(executed)
        .expect("executed in a real tipset");
    assert_eq!(
        lookup["TipSet"],
        serde_json::to_value(&exec_ts.cids).unwrap()
    );
    assert_eq!(lookup["Receipt"]["ExitCode"], 0);
    assert_eq!(lookup["Message"]["/"], msg.as_str());
}

#[actix_web::test]
async fn a_message_not_yet_executed_is_404() {
    let h = Harness::start().await;
    // Messages of the head have not been executed yet.
    let head = h.sim.head();
    for block in &head.cids {
        let msgs = h
            .get(&format!("/v1/blocks/{}/messages", block.root), None)
            .await
            .json();
        if let Some(first) = msgs["Cids"].as_array().and_then(|c| c.first()) {
            let cid = first["/"].as_str().unwrap();
            let r = h.get(&format!("/v1/messages/{cid}/receipt"), None).await;
            r.problem(404, "message_not_found");
            return;
        }
    }
    // The head carries no message: a CID nobody sent is not found either.
    let r = h
        .get(
            "/v1/messages/bafy2bzacebbpdegvr3i4cosewthysg5xkxpqfn2wfcz6mv2hmoktwbdxkax4s/receipt",
            None,
        )
        .await;
    r.problem(404, "message_not_found");
}

#[actix_web::test]
async fn actors_balances_and_addresses() {
    let h = Harness::start().await;
    let account = h.sim.accounts().into_iter().next().expect("accounts");
    let r = h.get(&format!("/v1/actors/{}", account.id), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let actor = r.json();
    assert!(
        actor["Balance"].as_str().unwrap().parse::<u128>().is_ok(),
        "{actor}"
    );

    let r = h
        .get(&format!("/v1/actors/{}/balance", account.robust), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let balance = r.json();
    assert_eq!(balance["Address"], account.robust.as_str());
    assert_eq!(balance["Balance"], actor["Balance"]);

    let r = h
        .get(&format!("/v1/addresses/{}/id", account.robust), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), Value::String(account.id.clone()));

    let r = h
        .get(&format!("/v1/addresses/{}/key", account.id), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), Value::String(account.robust.clone()));

    let r = h.get("/v1/actors/t0999999", None).await;
    r.problem(404, "actor_not_found");

    // Only accounts have a key address: asking for a miner's is the caller's mistake.
    let r = h.get("/v1/addresses/t01000/key", None).await;
    let p = r.problem(400, "invalid_parameter");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("not an account actor"),
        "{p}"
    );
}

#[actix_web::test]
async fn state_reads_at_a_height_or_tipset_key() {
    let h = Harness::start().await;
    let account = h.sim.accounts().into_iter().next().unwrap();
    let height = (1..h.sim.head().height)
        .find(|x| h.sim.tipset_at(*x).is_some())
        .unwrap();
    let ts = h.sim.tipset_at(height).unwrap();
    let key: Vec<String> = ts.cids.iter().map(|c| c.root.clone()).collect();
    h.sim.reset_calls();
    let by_height = h
        .get(&format!("/v1/actors/{}?height={height}", account.id), None)
        .await;
    assert_eq!(by_height.status, 200, "{}", by_height.text);
    assert_eq!(
        h.sim.calls(),
        vec!["Filecoin.ChainGetTipSetByHeight", "Filecoin.StateGetActor"]
    );
    let by_key = h
        .get(
            &format!("/v1/actors/{}?tipset={}", account.id, key.join(",")),
            None,
        )
        .await;
    assert_eq!(by_key.status, 200, "{}", by_key.text);
    assert_eq!(by_height.json(), by_key.json());
}

#[actix_web::test]
async fn node_version_and_network() {
    let h = Harness::start().await;
    let token = h.token_up_to(Perm::Read);
    let r = h.get("/v1/node/version", Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["Version"].as_str().is_some());
    let r = h.get("/v1/network", Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let net = r.json();
    assert_eq!(net["Name"], h.sim.network_name());
    assert!(net["Version"].as_u64().is_some());
}

#[actix_web::test]
async fn health_and_readiness() {
    let h = Harness::start().await;
    let r = h.get("/healthz", None).await;
    assert_eq!(r.status, 200);
    let r = h.get("/readyz", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ready = r.json();
    assert_eq!(
        ready["upstreams"]["node"]["head_height"],
        h.sim.head().height
    );
    assert!(
        ready["upstreams"]["node"]["sync_lag_seconds"]
            .as_u64()
            .unwrap()
            < 60,
        "{ready}"
    );
    h.sim.stop().await;
    // Readiness answers from the head the gateway follows (or a head read at most 2 s ago): it turns within moments.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let mut r = h.get("/readyz", None).await;
    while r.status == 200 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        r = h.get("/readyz", None).await;
    }
    let p = r.problem(503, "upstream_unavailable");
    assert!(p["detail"].as_str().unwrap().contains("not ready"), "{p}");
    assert_eq!(h.get("/healthz", None).await.status, 200);
}

#[actix_web::test]
async fn readiness_fails_while_the_node_lags() {
    let h = crate::common::Harness::with(crate::common::Options {
        vars: vec![("LOTUS_REST_FULLNODE_MAXSYNCLAG", "1s".into())],
        ..Default::default()
    })
    .await;
    // The simulated head is stamped with the start time and the next epoch is an hour away.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(2500)).await;
    let r = h.get("/readyz", None).await;
    let p = r.problem(503, "upstream_unavailable");
    assert!(p["detail"].as_str().unwrap().contains("MaxSyncLag"), "{p}");
}
