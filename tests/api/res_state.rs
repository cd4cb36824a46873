//! The state resources against the simulated node.

use std::collections::HashSet;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use lotus_rest::auth::{Perm, Secret};
use lotus_rest::settings::{Env, Overrides, Settings};
use lotus_rest::sim::{self, SimHandle};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{Harness, Reply, Sample};
use crate::table::SampleRequest;

/// The code CID of account actors on every simulated chain.
const ACCOUNT_CODE: &str = "bafy2bzacebk2qx24klump2i7a3bdjdl3zhv5t46m4aohm2cj7ckdsbs7ar5de";

/// The sample request of each state operation.
pub fn samples(h: &Harness, s: &Sample) -> Vec<SampleRequest> {
    let account = &s.account;
    let head = h.sim.head();
    let root_at = |ts: &Value| {
        ts["Blocks"][0]["ParentStateRoot"]["/"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let old_root = root_at(&s.tipset);
    let new_root = head.blocks[0].parent_state_root.root.clone();
    let post =
        |op, path: String, body: Value| SampleRequest::with(op, Method::POST, path, Some(body));
    vec![
        SampleRequest::get("list_actors", "/v1/actors?limit=5"),
        SampleRequest::get("get_actor_state", "/v1/actors/t01000/state"),
        SampleRequest::get(
            "get_address_robust",
            format!("/v1/addresses/{}/robust", account.id),
        ),
        SampleRequest::get("get_address_eth", "/v1/addresses/t01000/eth"),
        SampleRequest::get(
            "list_state_changes",
            format!("/v1/state/changes?from={old_root}&to={new_root}&limit=3"),
        ),
        SampleRequest::get("get_actor_codes", "/v1/actor-codes?network_version=25"),
        SampleRequest::get(
            "get_actor_manifest",
            "/v1/actor-codes/manifest?network_version=25",
        ),
        post(
            "get_decoded_params",
            "/v1/actors/t01000/params/decode".into(),
            json!({"Method": 2, "Params": "eyJBIjoxfQ=="}),
        ),
        post(
            "get_encoded_params",
            format!("/v1/actor-codes/{ACCOUNT_CODE}/params/encode"),
            json!({"Method": 2, "Params": {"A": 1}}),
        ),
        post(
            "get_call_result",
            "/v1/state/call".into(),
            json!({"From": account.robust, "To": "t0101", "Value": "1 FIL"}),
        ),
        post(
            "get_computed_state",
            format!("/v1/state/compute?tipset={}", s.key),
            json!({"Height": s.height + 1, "Messages": [{"From": account.robust, "To": "t0101", "Value": "2"}]}),
        ),
        post(
            "get_data_cid",
            "/v1/state/data-cid".into(),
            json!({"Miner": "t01000", "SealProof": 8, "DealIDs": [1, 2]}),
        ),
        SampleRequest::get(
            "get_message_replay",
            format!("/v1/messages/{}/replay", s.message),
        ),
        SampleRequest::get(
            "get_message_confirmation",
            format!("/v1/messages/{}/wait?confidence=0", s.message),
        ),
        SampleRequest::get(
            "list_state_messages",
            format!("/v1/state/messages?from={}", account.id),
        ),
        SampleRequest::get(
            "get_circulating_supply",
            format!("/v1/supply/circulating?height={}", s.height),
        ),
        SampleRequest::get("get_supply", "/v1/supply"),
        SampleRequest::get("get_network_params", "/v1/network/params"),
        SampleRequest::get(
            "get_beacon_entry",
            format!("/v1/beacon/entries/{}", s.height),
        ),
        SampleRequest::get(
            "get_randomness",
            format!(
                "/v1/randomness/beacon?epoch={}&personalization=2&entropy=AQID",
                s.height
            ),
        ),
        SampleRequest::get(
            "get_randomness_digest",
            format!("/v1/randomness/tickets/digest?epoch={}", s.height),
        ),
        SampleRequest::get("list_events", "/v1/events?from_height=100&to_height=200"),
        post(
            "list_events_by_filter",
            "/v1/events/query".into(),
            json!({"addresses": ["t01000"], "fromHeight": 0, "toHeight": 200}),
        ),
    ]
}

async fn read(h: &Harness, path: &str) -> Reply {
    let token = h.token_up_to(Perm::Read);
    h.get(path, Some(&token)).await
}

async fn post(h: &Harness, path: &str, body: Value) -> Reply {
    let token = h.token_up_to(Perm::Read);
    h.send_json(Method::POST, path, Some(&token), Some(&body))
        .await
}

#[actix_web::test]
async fn actor_reads_match_the_chain() {
    let h = Harness::start().await;
    let accounts = h.sim.accounts();
    let account = &accounts[0];
    let r = read(&h, &format!("/v1/actors/{}/state", account.id)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let state = r.json();
    assert_eq!(state["State"]["Address"], account.robust.as_str());
    let actor = read(&h, &format!("/v1/actors/{}", account.id)).await.json();
    assert_eq!(state["Balance"], actor["Balance"]);
    assert_eq!(state["Code"], actor["Code"]);
    assert_eq!(
        state["Code"]["/"], ACCOUNT_CODE,
        "the account code the samples use"
    );

    let r = read(&h, &format!("/v1/addresses/{}/robust", account.id)).await;
    assert_eq!(r.json(), json!(account.robust));
    let r = read(&h, "/v1/addresses/t01000/eth").await;
    assert_eq!(
        r.json(),
        json!("0xff000000000000000000000000000000000003e8")
    );
    let r = read(&h, &format!("/v1/addresses/{}/eth", account.robust)).await;
    assert_eq!(
        r.json(),
        json!("0xff00000000000000000000000000000000000064")
    );

    let codes = read(&h, "/v1/actor-codes?network_version=25").await.json();
    assert_eq!(codes["account"], actor["Code"]);
    let miner = read(&h, "/v1/actors/t01000").await.json();
    assert_eq!(codes["storageminer"], miner["Code"]);
    let r = read(&h, "/v1/actor-codes/manifest?network_version=25").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["/"].is_string());

    // Not found and invalid.
    read(&h, "/v1/actors/t09999/state")
        .await
        .problem(404, "actor_not_found");
    read(&h, "/v1/addresses/t09999/robust")
        .await
        .problem(404, "actor_not_found");
    let p = read(&h, "/v1/actors/nonsense/state")
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("address"), "{p}");
    let p = read(&h, "/v1/actor-codes?network_version=x")
        .await
        .problem(400, "invalid_parameter");
    assert!(
        p["detail"].as_str().unwrap().contains("network_version"),
        "{p}"
    );
    let p = read(&h, "/v1/actor-codes")
        .await
        .problem(400, "invalid_parameter");
    assert!(
        p["detail"].as_str().unwrap().contains("network_version"),
        "{p}"
    );
}

#[actix_web::test]
async fn params_encode_and_decode_back() {
    let h = Harness::start().await;
    let params = json!({"Miner": "t01000", "Sectors": [1, 2, 3]});
    let r = post(
        &h,
        &format!("/v1/actor-codes/{ACCOUNT_CODE}/params/encode"),
        json!({"Method": 3, "Params": params}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let encoded = r.json();
    let r = post(
        &h,
        "/v1/actors/t0100/params/decode",
        json!({"Method": 3, "Params": encoded}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), params);

    let p = post(
        &h,
        "/v1/actors/t0100/params/decode",
        json!({"Method": 3, "Params": "%%%"}),
    )
    .await
    .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("\"Params\""), "{p}");
    let p = post(
        &h,
        "/v1/actors/t0100/params/decode",
        json!({"Method": 3, "Params": "", "X": 1}),
    )
    .await
    .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("X"), "{p}");
    post(
        &h,
        "/v1/actors/t09999/params/decode",
        json!({"Method": 3, "Params": ""}),
    )
    .await
    .problem(404, "actor_not_found");
}

#[actix_web::test]
async fn calls_computations_and_replays() {
    let h = Harness::start().await;
    let s = h.sample().await;
    let from = &h.sim.accounts()[0].robust;
    let r = post(
        &h,
        "/v1/state/call",
        json!({"From": from, "To": "t0101", "Value": "1 FIL"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let result = r.json();
    assert_eq!(result["MsgRct"]["ExitCode"], 0);
    assert_eq!(result["Msg"]["Value"], "1000000000000000000");
    assert_eq!(result["Msg"]["To"], "t0101");

    let p = post(
        &h,
        "/v1/state/call",
        json!({"From": from, "To": "t0101", "Value": "1 BTC"}),
    )
    .await
    .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("Value"), "{p}");
    post(
        &h,
        "/v1/state/call",
        json!({"From": "t09999", "To": "t0101"}),
    )
    .await
    .problem(404, "actor_not_found");

    let r = post(
        &h,
        &format!("/v1/state/compute?tipset={}", s.key),
        json!({"Height": s.height + 2, "Messages": [
            {"From": from, "To": "t0101", "Value": "1"},
            {"From": from, "To": "t0102", "Value": "2"},
        ]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Trace"].as_array().unwrap().len(), 2);
    let p = post(
        &h,
        "/v1/state/compute",
        json!({"Height": 1, "Messages": [{"From": from, "To": "nope"}]}),
    )
    .await
    .problem(400, "invalid_body");
    assert!(
        p["detail"].as_str().unwrap().contains("Messages[0].To"),
        "{p}"
    );
    let p = post(&h, "/v1/state/compute", json!({"Height": -1}))
        .await
        .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("Height"), "{p}");

    let a = post(
        &h,
        "/v1/state/data-cid",
        json!({"Miner": "t01000", "SealProof": 8, "DealIDs": [1]}),
    )
    .await;
    let b = post(
        &h,
        "/v1/state/data-cid",
        json!({"Miner": "t01000", "SealProof": 8, "DealIDs": [1]}),
    )
    .await;
    let c = post(
        &h,
        "/v1/state/data-cid",
        json!({"Miner": "t01000", "SealProof": 8, "DealIDs": [2]}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json(), b.json());
    assert_ne!(a.json(), c.json());
    let p = post(
        &h,
        "/v1/state/data-cid",
        json!({"Miner": "t01000", "SealProof": 99, "DealIDs": []}),
    )
    .await
    .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("SealProof"), "{p}");

    // A replay answers the receipt the chain holds.
    let r = read(&h, &format!("/v1/messages/{}/replay", s.message)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let receipt = read(&h, &format!("/v1/messages/{}/receipt", s.message))
        .await
        .json();
    assert_eq!(r.json()["MsgRct"], receipt["Receipt"]);
    let unknown = "bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4";
    read(&h, &format!("/v1/messages/{unknown}/replay"))
        .await
        .problem(404, "not_found");
    read(&h, "/v1/messages/notacid/replay")
        .await
        .problem(400, "invalid_parameter");
}

#[actix_web::test]
async fn waiting_for_a_message() {
    let h = Harness::start().await;
    let s = h.sample().await;
    let r = read(&h, &format!("/v1/messages/{}/wait?confidence=0", s.message)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let receipt = read(&h, &format!("/v1/messages/{}/receipt", s.message))
        .await
        .json();
    assert_eq!(r.json(), receipt);

    // Not enough confirmations yet: the wait ends with 404, not a hang.
    let r = read(
        &h,
        &format!("/v1/messages/{}/wait?confidence=900", s.message),
    )
    .await;
    r.problem(404, "message_not_found");
    let unknown = "bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4";
    read(&h, &format!("/v1/messages/{unknown}/wait"))
        .await
        .problem(404, "message_not_found");

    for (q, name) in [
        ("confidence=901", "confidence"),
        ("confidence=-1", "confidence"),
        ("limit=0", "limit"),
        ("limit=x", "limit"),
    ] {
        let p = read(&h, &format!("/v1/messages/{}/wait?{q}", s.message))
            .await
            .problem(400, "invalid_parameter");
        assert!(p["detail"].as_str().unwrap().contains(name), "{p}");
    }

    // A node that does not answer: the gateway answers before its own call timeout (2 s here).
    // The node stalls far longer than that, so an answer well before the stall ends came from the gateway's timeout.
    h.sim.set_stall(Some(Duration::from_secs(60)));
    let start = Instant::now();
    let r = read(&h, &format!("/v1/messages/{}/wait?confidence=0", s.message)).await;
    h.sim.set_stall(None);
    r.problem(404, "message_not_found");
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
}

#[actix_web::test]
async fn messages_by_sender_and_recipient() {
    let h = Harness::start().await;
    let s = h.sample().await;
    let message = read(&h, &format!("/v1/messages/{}", s.message))
        .await
        .json();
    let from = message["From"].as_str().unwrap();
    let to = message["To"].as_str().unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/state/messages?from={from}&limit=7");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = read(&h, &path).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.json();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["/"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => {
                assert_eq!(page["total"], seen.len());
                break;
            }
        }
    }
    assert!(seen.contains(&s.message), "{} in {seen:?}", s.message);
    assert_eq!(
        seen.len(),
        seen.iter().collect::<HashSet<_>>().len(),
        "each once"
    );
    let both = read(
        &h,
        &format!("/v1/state/messages?from={from}&to={to}&limit=1000"),
    )
    .await
    .json();
    let both: Vec<&str> = both["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["/"].as_str().unwrap())
        .collect();
    assert!(both.contains(&s.message.as_str()));
    assert!(both.iter().all(|c| seen.iter().any(|s| s == c)));
    // Nothing below min_height.
    let above = read(
        &h,
        &format!(
            "/v1/state/messages?from={from}&min_height={}&limit=1000",
            s.height + 1
        ),
    )
    .await
    .json();
    assert!(!above["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["/"] == s.message.as_str()));

    let p = read(&h, "/v1/state/messages")
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("from"), "{p}");
    let p = read(&h, "/v1/state/messages?to=bad")
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("to"), "{p}");
    let p = read(&h, "/v1/state/messages?to=t0100&min_height=-3")
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("min_height"), "{p}");
    read(&h, "/v1/state/messages?to=t09999")
        .await
        .problem(404, "actor_not_found");
}

#[actix_web::test]
async fn chain_wide_values() {
    let h = Harness::start().await;
    let s = h.sample().await;
    let total = read(&h, &format!("/v1/supply/circulating?height={}", s.height)).await;
    assert_eq!(total.status, 200, "{}", total.text);
    let parts = read(&h, &format!("/v1/supply?height={}", s.height))
        .await
        .json();
    assert_eq!(parts["FilCirculating"], total.json());
    let later = read(&h, "/v1/supply/circulating").await.json();
    assert_ne!(later, total.json(), "the supply moves with the height");

    let params = read(&h, "/v1/network/params").await.json();
    assert_eq!(params["NetworkName"], "simnet");
    assert!(params["ForkUpgradeParams"].is_object());

    let entry = read(&h, &format!("/v1/beacon/entries/{}", s.height))
        .await
        .json();
    assert_eq!(entry, s.tipset["Blocks"][0]["BeaconEntries"][0]);
    let head = h.sim.head().height;
    let p = read(&h, &format!("/v1/beacon/entries/{}", head + 10))
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("beyond"), "{p}");
    read(&h, "/v1/beacon/entries/-1")
        .await
        .problem(400, "invalid_parameter");

    let q = format!("epoch={}&personalization=2&entropy=AQID", s.height);
    let a = read(&h, &format!("/v1/randomness/beacon?{q}")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let b = read(&h, &format!("/v1/randomness/tickets?{q}")).await;
    assert_ne!(a.json(), b.json(), "the two sources differ");
    assert_eq!(
        a.json(),
        read(&h, &format!("/v1/randomness/beacon?{q}")).await.json()
    );
    let d = read(
        &h,
        &format!("/v1/randomness/beacon/digest?epoch={}", s.height),
    )
    .await;
    assert_eq!(d.status, 200, "{}", d.text);
    for (path, name) in [
        (format!("/v1/randomness/moon?{q}"), "source"),
        (
            "/v1/randomness/beacon?personalization=2".to_string(),
            "epoch",
        ),
        (
            format!("/v1/randomness/beacon?epoch={}", s.height),
            "personalization",
        ),
        (
            "/v1/randomness/beacon?epoch=1&personalization=2&entropy=***".to_string(),
            "entropy",
        ),
        ("/v1/randomness/tickets/digest".to_string(), "epoch"),
    ] {
        let p = read(&h, &path).await.problem(400, "invalid_parameter");
        assert!(p["detail"].as_str().unwrap().contains(name), "{path}: {p}");
    }
    // From the future of the tipset selected.
    read(
        &h,
        &format!(
            "/v1/randomness/beacon/digest?epoch={}&height={}",
            s.height + 5,
            s.height
        ),
    )
    .await
    .problem(400, "invalid_parameter");
}

#[actix_web::test]
async fn state_changes_between_roots() {
    let h = Harness::start().await;
    let s = h.sample().await;
    let old = s.tipset["Blocks"][0]["ParentStateRoot"]["/"]
        .as_str()
        .unwrap()
        .to_string();
    let new = h.sim.head().blocks[0].parent_state_root.root.clone();
    let r = read(
        &h,
        &format!("/v1/state/changes?from={old}&to={new}&limit=1000"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let page = r.json();
    assert_eq!(page["total"], h.sim.accounts().len());
    let first = &page["items"][0];
    let actor = read(
        &h,
        &format!("/v1/actors/{}", first["Address"].as_str().unwrap()),
    )
    .await
    .json();
    assert_eq!(first["Balance"], actor["Balance"]);
    let same = read(&h, &format!("/v1/state/changes?from={old}&to={old}"))
        .await
        .json();
    assert_eq!(same["total"], 0);
    let unknown = "bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4";
    read(&h, &format!("/v1/state/changes?from={unknown}&to={new}"))
        .await
        .problem(404, "not_found");
    let p = read(&h, &format!("/v1/state/changes?from={old}"))
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("to"), "{p}");
}

#[actix_web::test]
async fn actor_events() {
    let h = Harness::start().await;
    let r = read(&h, "/v1/events?from_height=100&to_height=200").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let all = r.json();
    let all = all.as_array().unwrap();
    let expected = (100..=200)
        .filter(|height| height % 4 == 0 && h.sim.tipset_at(*height).is_some())
        .count();
    assert_eq!(
        all.len(),
        expected,
        "every fourth height that is not a null round has one"
    );
    assert!(all
        .iter()
        .all(|e| (100..=200).contains(&e["height"].as_i64().unwrap())));

    let r = read(
        &h,
        "/v1/events?from_height=100&to_height=200&address=t01001",
    )
    .await
    .json();
    let mine = r.as_array().unwrap();
    assert!(!mine.is_empty());
    assert!(mine.iter().all(|e| e["emitter"] == "t01001"));
    assert_eq!(
        mine.len(),
        all.iter().filter(|e| e["emitter"] == "t01001").count()
    );

    // The same filter in a body; and values to match.
    let r = post(
        &h,
        "/v1/events/query",
        json!({"addresses": ["t01001"], "fromHeight": 100, "toHeight": 200}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json().as_array().unwrap(), mine);
    let activated = all
        .iter()
        .filter(|e| e["height"].as_i64().unwrap() % 8 == 0)
        .count();
    let r = post(&h, "/v1/events/query", json!({"fields": {"$type": [{"codec": 81, "value": "cHNlY3Rvci1hY3RpdmF0ZWQ="}]}, "fromHeight": 100, "toHeight": 200})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json().as_array().unwrap().len(), activated);
    let with_key = read(&h, "/v1/events?from_height=100&to_height=200&key=$type")
        .await
        .json();
    assert_eq!(with_key.as_array().unwrap().len(), all.len());
    let none = read(&h, "/v1/events?from_height=100&to_height=200&key=nothing")
        .await
        .json();
    assert_eq!(none, json!([]));
    // One tipset.
    let ts = h.sim.tipset_at(108).unwrap();
    let key: Vec<String> = ts.cids.iter().map(|c| c.root.clone()).collect();
    let one = read(&h, &format!("/v1/events?tipset={}", key.join(",")))
        .await
        .json();
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["height"], 108);

    for (path, name) in [
        ("/v1/events?from_height=200&to_height=100", "from_height"),
        ("/v1/events?from_height=0&to_height=5000", "to_height"),
        ("/v1/events?from_height=x", "from_height"),
        ("/v1/events?address=nope", "address"),
        ("/v1/events?tipset=bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4&from_height=1", "tipset"),
    ] {
        let p = read(&h, path).await.problem(400, "invalid_parameter");
        assert!(p["detail"].as_str().unwrap().contains(name), "{path}: {p}");
    }
    for (body, name) in [
        (json!({"fromHeight": 10, "toHeight": 5}), "fromHeight"),
        (json!({"addresses": ["t01000", "bad"]}), "addresses[1]"),
        (
            json!({"fields": {"k": [{"codec": 81, "value": "%%"}]}}),
            "fields.k.value",
        ),
        (json!({"fromHeight": 1, "other": 1}), "other"),
    ] {
        let p = post(&h, "/v1/events/query", body.clone())
            .await
            .problem(400, "invalid_body");
        assert!(p["detail"].as_str().unwrap().contains(name), "{body}: {p}");
    }
}

/// A simulated node with `extra` more accounts and a gateway in front of it.
struct Big {
    sim: SimHandle,
    secret: Secret,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Big {
    async fn start(extra: usize) -> Self {
        let secret = Secret::generate();
        let mut config = sim::SimConfig::new(secret.clone());
        config.block_time = Duration::from_secs(3600);
        config.extra_accounts = extra;
        let sim = sim::start(config, TcpListener::bind("127.0.0.1:0").unwrap())
            .await
            .expect("the simulated node starts");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node-secret");
        secret.save(&path).unwrap();
        let env = Env {
            fullnode_api_info: None,
            lotus_path: Some(dir.path().join("no-repo").display().to_string()),
            miner_api_info: None,
            lotus_miner_path: Some(dir.path().join("no-miner-repo").display().to_string()),
            home: Some(dir.path().to_path_buf()),
            vars: vec![
                ("LOTUS_REST_AUTH_MODE".into(), "passthrough".into()),
                (
                    "LOTUS_REST_AUTH_SECRETFILE".into(),
                    path.display().to_string(),
                ),
                ("LOTUS_REST_FULLNODE_APIINFO".into(), sim.url()),
                ("LOTUS_REST_FULLNODE_TIMEOUT".into(), "10s".into()),
            ],
        };
        let settings = Settings::load(
            &Overrides {
                config_file: None,
                listen: Some("127.0.0.1:0".into()),
            },
            &env,
        )
        .expect("settings load");
        let listener = lotus_rest::server::bind(&settings).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = lotus_rest::server::state(&settings).expect("state builds");
        let server = lotus_rest::server::serve(&settings, state, listener).unwrap();
        actix_web::rt::spawn(server);
        let big = Big {
            sim,
            secret,
            base,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            _dir: dir,
        };
        crate::common::wait_network_asked(&big.sim).await;
        big
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let token = self.secret.mint(Perm::Read.up_to());
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Every page of `path` with `limit`, as the items of each page.
    async fn all_pages(&self, path: &str, limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        let sep = if path.contains('?') { '&' } else { '?' };
        loop {
            let mut url = format!("{path}{sep}limit={limit}");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let (status, page) = self.get(&url).await;
            assert_eq!(status, 200, "{page}");
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= limit);
            out.extend(items.iter().map(|i| i.as_str().unwrap().to_string()));
            match page["next_cursor"].as_str() {
                Some(c) => {
                    assert_eq!(items.len(), limit, "only the last page is short");
                    cursor = Some(c.to_string());
                }
                None => {
                    assert_eq!(page["total"], out.len());
                    return out;
                }
            }
        }
    }
}

#[actix_web::test]
async fn paging_through_thousands_of_actors_gives_each_once() {
    let big = Big::start(5000).await;
    let expected: Vec<String> = big.sim.accounts().into_iter().map(|a| a.id).collect();
    assert_eq!(expected.len(), 5013);
    for limit in [1000, 7] {
        let got = big.all_pages("/v1/actors", limit).await;
        assert_eq!(got, expected, "limit {limit}");
    }
    // The list is pinned to the tipset of its first page: a new head in between changes nothing.
    let (_, first) = big.get("/v1/actors?limit=1000").await;
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    big.sim.advance();
    big.sim.advance();
    let (status, second) = big
        .get(&format!("/v1/actors?limit=1000&cursor={cursor}"))
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["tipset"], first["tipset"]);
    assert_eq!(second["items"][0], json!(expected[1000]));

    // A cursor belongs to its own list and its own tipset.
    let account = &expected[0];
    let (status, p) = big
        .get(&format!(
            "/v1/state/messages?from={account}&cursor={cursor}"
        ))
        .await;
    assert_eq!(status, 400, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("cursor"), "{p}");
    let other = big
        .sim
        .tipset_at(big.sim.head().height - 3)
        .or_else(|| big.sim.tipset_at(big.sim.head().height - 4))
        .unwrap();
    let (status, p) = big
        .get(&format!(
            "/v1/actors?height={}&cursor={cursor}",
            other.height
        ))
        .await;
    assert_eq!(status, 400, "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("another tipset"),
        "{p}"
    );
    let (status, p) = big.get("/v1/actors?cursor=garbage").await;
    assert_eq!(status, 400, "{p}");
    let (status, p) = big.get("/v1/actors?limit=1001").await;
    assert_eq!(status, 400, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("limit"), "{p}");
    // At an explicit tipset, the same list.
    let at = big
        .all_pages(&format!("/v1/actors?height={}", other.height), 1000)
        .await;
    assert_eq!(at, expected);
}
