//! The network, logs and F3 resources against the simulated node.

use std::collections::HashSet;

use lotus_rest::auth::Perm;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{Harness, Sample};
use crate::table::SampleRequest;

/// A peer ID the simulated node is not connected to.
const STRANGER: &str = "12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf";

/// A participation ticket the simulated node issued for t01001 before it started.
const SEEDED_TICKET: &str = "ZjN0aWNrZXQAAAAAAAAD6QAAAAAAAAAA";

/// The ID of the simulated node's peer `index` (1 to 300 are connected at start).
fn sim_peer(index: u32) -> String {
    let mut state = blake2b_simd::Params::new().hash_length(32).to_state();
    state.update(b"peer");
    state.update(&(index as u64).to_le_bytes());
    let hash =
        multiaddr::multihash::Multihash::<64>::wrap(0x12, state.finalize().as_bytes()).unwrap();
    multiaddr::PeerId::from_multihash(hash).unwrap().to_string()
}

/// The sample request of each network, logs and F3 operation.
pub fn samples(_h: &Harness, s: &Sample) -> Vec<SampleRequest> {
    let p = sim_peer(2);
    fn get(op_id: &'static str, path: impl Into<String>) -> SampleRequest {
        SampleRequest::get(op_id, path)
    }
    fn with(
        op_id: &'static str,
        m: Method,
        path: impl Into<String>,
        body: Option<Value>,
    ) -> SampleRequest {
        SampleRequest::with(op_id, m, path, body)
    }
    vec![
        get("list_net_peers", "/v1/net/peers?limit=50"),
        with(
            "create_net_peer",
            Method::POST,
            "/v1/net/peers",
            Some(json!({"ID": STRANGER, "Addrs": ["/ip4/52.36.61.156/tcp/1347"]})),
        ),
        get("get_net_peer", format!("/v1/net/peers/{p}")),
        with(
            "delete_net_peer",
            Method::DELETE,
            format!("/v1/net/peers/{p}"),
            None,
        ),
        get(
            "get_net_peer_connectedness",
            format!("/v1/net/peers/{p}/connectedness"),
        ),
        get("get_net_peer_agent", format!("/v1/net/peers/{p}/agent")),
        get(
            "get_net_peer_addresses",
            format!("/v1/net/peers/{p}/addresses"),
        ),
        get("get_net_peer_latency", format!("/v1/net/peers/{p}/latency")),
        get("get_net_addresses", "/v1/net/addresses"),
        get("get_net_listening", "/v1/net/listening"),
        get("get_net_version", "/v1/net/version"),
        get("get_net_reachability", "/v1/net/reachability"),
        get("get_net_bandwidth", "/v1/net/bandwidth"),
        get(
            "list_net_bandwidth_peers",
            "/v1/net/bandwidth/peers?limit=10",
        ),
        get("get_net_bandwidth_protocols", "/v1/net/bandwidth/protocols"),
        get("list_net_pubsub_scores", "/v1/net/pubsub-scores?limit=10"),
        get("get_net_blocklist", "/v1/net/blocklist"),
        with(
            "create_net_blocklist_entries",
            Method::POST,
            "/v1/net/blocklist",
            Some(
                json!({"Peers": [sim_peer(3)], "IPAddrs": ["192.0.2.7"], "IPSubnets": ["203.0.113.0/24"]}),
            ),
        ),
        with(
            "delete_net_blocklist_entries",
            Method::DELETE,
            "/v1/net/blocklist?ip_addrs=192.0.2.66&ip_subnets=198.51.100.0/24",
            None,
        ),
        get("list_net_protected_peers", "/v1/net/protected"),
        with(
            "put_net_protected_peer",
            Method::PUT,
            format!("/v1/net/protected/{p}"),
            None,
        ),
        with(
            "delete_net_protected_peer",
            Method::DELETE,
            format!("/v1/net/protected/{}", sim_peer(1)),
            None,
        ),
        get("get_net_limit", "/v1/net/limits/system"),
        with(
            "put_net_limit",
            Method::PUT,
            "/v1/net/limits/transient",
            Some(
                json!({"Memory": 1048576, "Streams": 10, "StreamsInbound": 5, "StreamsOutbound": 5, "Conns": 8, "ConnsInbound": 4, "ConnsOutbound": 4, "FD": 16}),
            ),
        ),
        get("get_net_stat", "/v1/net/stats/all"),
        get("list_log_subsystems", "/v1/logs/subsystems"),
        with(
            "put_log_level",
            Method::PUT,
            "/v1/logs/subsystems/chain/level",
            Some(json!({"Level": "debug"})),
        ),
        get("list_log_alerts", "/v1/logs/alerts"),
        get("get_f3_latest_certificate", "/v1/f3/certificates/latest"),
        get("get_f3_certificate", "/v1/f3/certificates/3"),
        get(
            "get_f3_instance_power_table",
            "/v1/f3/instances/3/power-table",
        ),
        get(
            "get_f3_ec_power_table",
            format!("/v1/f3/power-tables/ec?height={}", s.height),
        ),
        get(
            "get_f3_power_table",
            format!("/v1/f3/power-tables/f3?tipset={}", s.key),
        ),
        get("get_f3_manifest", "/v1/f3/manifest"),
        get("get_f3_progress", "/v1/f3/progress"),
        get("get_f3_running", "/v1/f3/running"),
        get("list_f3_participants", "/v1/f3/participants"),
        with(
            "create_f3_participation_ticket",
            Method::POST,
            "/v1/f3/participation-tickets",
            Some(json!({"Miner": "t01001", "Instances": 5})),
        ),
        with(
            "create_f3_participant",
            Method::POST,
            "/v1/f3/participants",
            Some(json!({"Ticket": SEEDED_TICKET})),
        ),
    ]
}

#[actix_web::test]
async fn peers_page_through_every_peer_once() {
    let h = Harness::start().await;
    let token = h.token_up_to(Perm::Read);
    let mut seen = HashSet::new();
    let mut path = "/v1/net/peers?limit=70".to_string();
    let mut total;
    loop {
        let r = h.get(&path, Some(&token)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.json();
        total = page["total"].as_u64().unwrap();
        for item in page["items"].as_array().unwrap() {
            assert!(seen.insert(item["ID"].as_str().unwrap().to_string()));
            assert!(!item["Addrs"].as_array().unwrap().is_empty());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/net/peers?limit=70&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(total, 300);
    assert_eq!(seen.len(), 300);
    assert!(seen.contains(&sim_peer(1)) && seen.contains(&sim_peer(300)));
}

#[actix_web::test]
async fn connect_and_disconnect_change_the_peers() {
    let h = Harness::start().await;
    let read = h.token_up_to(Perm::Read);
    let write = h.token_up_to(Perm::Write);
    let body = json!({"ID": STRANGER, "Addrs": ["/ip4/52.36.61.156/tcp/1347"]});
    let r = h
        .send_json(Method::POST, "/v1/net/peers", Some(&write), Some(&body))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/net/peers/{STRANGER}").as_str())
    );
    let r = h
        .get(&format!("/v1/net/peers/{STRANGER}"), Some(&read))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Addrs"], json!(["/ip4/52.36.61.156/tcp/1347"]));
    let r = h.get("/v1/net/peers?limit=1000", Some(&read)).await;
    assert_eq!(r.json()["total"], 301);
    let r = h
        .get(
            &format!("/v1/net/peers/{STRANGER}/connectedness"),
            Some(&read),
        )
        .await;
    assert_eq!(r.json(), json!(1));

    let r = h
        .send(
            Method::DELETE,
            &format!("/v1/net/peers/{STRANGER}"),
            Some(&write),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = h
        .get(&format!("/v1/net/peers/{STRANGER}"), Some(&read))
        .await;
    r.problem(404, "not_found");
    let r = h
        .send(
            Method::DELETE,
            &format!("/v1/net/peers/{STRANGER}"),
            Some(&write),
        )
        .await;
    r.problem(404, "not_found");
    let r = h.get("/v1/net/peers?limit=1000", Some(&read)).await;
    assert_eq!(r.json()["total"], 300);
}

#[actix_web::test]
async fn peer_inputs_are_checked() {
    let h = Harness::start().await;
    let read = h.token_up_to(Perm::Read);
    let write = h.token_up_to(Perm::Write);
    let r = h.get("/v1/net/peers/notapeer", Some(&read)).await;
    let p = r.problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("peer_id"), "{p}");
    let body = json!({"ID": STRANGER, "Addrs": ["/ip4/1.2.3/tcp/1"]});
    let r = h
        .send_json(Method::POST, "/v1/net/peers", Some(&write), Some(&body))
        .await;
    let p = r.problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("Addrs[0]"), "{p}");
    let body =
        json!({"ID": STRANGER, "Addrs": [format!("/ip4/1.2.3.4/tcp/1/p2p/{}", sim_peer(5))]});
    let r = h
        .send_json(Method::POST, "/v1/net/peers", Some(&write), Some(&body))
        .await;
    r.problem(400, "invalid_parameter");
    let body = json!({"ID": STRANGER, "Addrs": [], "Extra": 1});
    let r = h
        .send_json(Method::POST, "/v1/net/peers", Some(&write), Some(&body))
        .await;
    r.problem(400, "invalid_body");
    let r = h.get("/v1/net/limits/bogus", Some(&read)).await;
    let p = r.problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("scope"), "{p}");
    let r = h
        .get(&format!("/v1/net/peers/{STRANGER}/addresses"), Some(&read))
        .await;
    r.problem(404, "not_found");
    assert!(h.sim.calls().iter().all(|c| c != "Filecoin.NetConnect"));
}

#[actix_web::test]
async fn peer_details_match_the_node() {
    let h = Harness::start().await;
    let read = h.token_up_to(Perm::Read);
    let p = sim_peer(7);
    let info = h
        .get(&format!("/v1/net/peers/{p}"), Some(&read))
        .await
        .json();
    assert_eq!(info["ID"], p.as_str());
    let agent = h
        .get(&format!("/v1/net/peers/{p}/agent"), Some(&read))
        .await
        .json();
    assert_eq!(agent, info["Agent"]);
    let found = h
        .get(&format!("/v1/net/peers/{p}/addresses"), Some(&read))
        .await
        .json();
    assert_eq!(found["Addrs"], info["Addrs"]);
    let latency = h
        .get(&format!("/v1/net/peers/{p}/latency"), Some(&read))
        .await
        .json();
    assert!(latency.as_i64().unwrap() > 0);
    let bw = h
        .get("/v1/net/bandwidth/peers?limit=1000", Some(&read))
        .await
        .json();
    assert_eq!(bw["total"], 300);
    assert!(bw["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["ID"] == p.as_str()));
    let scores = h
        .get("/v1/net/pubsub-scores?limit=5", Some(&read))
        .await
        .json();
    assert_eq!(scores["items"].as_array().unwrap().len(), 5);
    assert!(scores["next_cursor"].is_string());
}

#[actix_web::test]
async fn blocklist_protection_and_limits_are_kept() {
    let h = Harness::start().await;
    let read = h.token_up_to(Perm::Read);
    let admin = h.token_up_to(Perm::Admin);
    let p = sim_peer(9);
    let body = json!({"Peers": [p], "IPAddrs": ["192.0.2.7"]});
    let r = h
        .send_json(Method::POST, "/v1/net/blocklist", Some(&admin), Some(&body))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let list = h.get("/v1/net/blocklist", Some(&read)).await.json();
    assert!(list["Peers"].as_array().unwrap().contains(&json!(p)));
    assert!(list["IPAddrs"]
        .as_array()
        .unwrap()
        .contains(&json!("192.0.2.7")));
    // Blocking a connected peer disconnects it.
    let c = h
        .get(&format!("/v1/net/peers/{p}/connectedness"), Some(&read))
        .await
        .json();
    assert_eq!(c, json!(0));
    let r = h
        .send(
            Method::DELETE,
            &format!("/v1/net/blocklist?peers={p}&ip_addrs=192.0.2.7"),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let list = h.get("/v1/net/blocklist", Some(&read)).await.json();
    assert!(!list["Peers"].as_array().unwrap().contains(&json!(p)));
    assert!(!list["IPAddrs"]
        .as_array()
        .unwrap()
        .contains(&json!("192.0.2.7")));
    let bad = json!({"IPSubnets": ["10.0.0.0/40"]});
    let r = h
        .send_json(Method::POST, "/v1/net/blocklist", Some(&admin), Some(&bad))
        .await;
    let pr = r.problem(400, "invalid_parameter");
    assert!(
        pr["detail"].as_str().unwrap().contains("IPSubnets[0]"),
        "{pr}"
    );

    let r = h
        .send(Method::PUT, &format!("/v1/net/protected/{p}"), Some(&admin))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let protected = h.get("/v1/net/protected", Some(&read)).await.json();
    assert!(protected.as_array().unwrap().contains(&json!(p)));
    let r = h
        .send(
            Method::DELETE,
            &format!("/v1/net/protected/{p}"),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let protected = h.get("/v1/net/protected", Some(&read)).await.json();
    assert!(!protected.as_array().unwrap().contains(&json!(p)));

    let limit = json!({"Memory": 1048576, "Streams": 10, "StreamsInbound": 5, "StreamsOutbound": 5, "Conns": 8, "ConnsInbound": 4, "ConnsOutbound": 4, "FD": 16});
    let scope = format!("peer:{p}");
    let r = h
        .send_json(
            Method::PUT,
            &format!("/v1/net/limits/{scope}"),
            Some(&admin),
            Some(&limit),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let got = h
        .get(&format!("/v1/net/limits/{scope}"), Some(&read))
        .await
        .json();
    assert_eq!(got, limit);
    let mut negative = limit.clone();
    negative["FD"] = json!(-1);
    let r = h
        .send_json(
            Method::PUT,
            "/v1/net/limits/system",
            Some(&admin),
            Some(&negative),
        )
        .await;
    let pr = r.problem(400, "invalid_parameter");
    assert!(pr["detail"].as_str().unwrap().contains("FD"), "{pr}");
    let stat = h.get("/v1/net/stats/system", Some(&read)).await.json();
    assert!(stat["System"]["NumConnsInbound"].is_number());
}

#[actix_web::test]
async fn log_levels_are_set() {
    let h = Harness::start().await;
    let write = h.token_up_to(Perm::Write);
    let admin = h.token_up_to(Perm::Admin);
    let subsystems = h.get("/v1/logs/subsystems", Some(&write)).await.json();
    assert!(subsystems.as_array().unwrap().contains(&json!("chain")));
    let alerts = h.get("/v1/logs/alerts", Some(&admin)).await.json();
    let debug_alert = |a: &Value| {
        a.as_array()
            .unwrap()
            .iter()
            .find(|x| x["Type"]["Subsystem"] == "debug-level")
            .unwrap()["Active"]
            .clone()
    };
    assert_eq!(debug_alert(&alerts), json!(false));
    let r = h
        .send_json(
            Method::PUT,
            "/v1/logs/subsystems/chain/level",
            Some(&write),
            Some(&json!({"Level": "debug"})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let alerts = h.get("/v1/logs/alerts", Some(&admin)).await.json();
    assert_eq!(debug_alert(&alerts), json!(true));
    let r = h
        .send_json(
            Method::PUT,
            "/v1/logs/subsystems/chain/level",
            Some(&write),
            Some(&json!({"Level": "loud"})),
        )
        .await;
    let p = r.problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("Level"), "{p}");
    let r = h
        .send_json(
            Method::PUT,
            "/v1/logs/subsystems/nosuch/level",
            Some(&write),
            Some(&json!({"Level": "info"})),
        )
        .await;
    r.problem(404, "not_found");
}

#[actix_web::test]
async fn f3_follows_the_chain() {
    let h = Harness::start().await;
    let read = h.token_up_to(Perm::Read);
    let sign = h.token_up_to(Perm::Sign);
    let latest = h.get("/v1/f3/certificates/latest", Some(&read)).await;
    assert_eq!(latest.status, 200, "{}", latest.text);
    let latest = latest.json();
    let instance = latest["GPBFTInstance"].as_u64().unwrap();
    let again = h
        .get(&format!("/v1/f3/certificates/{instance}"), Some(&read))
        .await
        .json();
    assert_eq!(again, latest);
    let r = h.get("/v1/f3/certificates/99999999", Some(&read)).await;
    r.problem(404, "not_found");
    let r = h.get("/v1/f3/certificates/-1", Some(&read)).await;
    r.problem(400, "invalid_parameter");
    let progress = h.get("/v1/f3/progress", Some(&read)).await.json();
    assert!(progress["ID"].as_u64().unwrap() > instance);
    let table = h
        .get("/v1/f3/instances/1/power-table", Some(&read))
        .await
        .json();
    let ids: Vec<u64> = table
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ID"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![1000, 1001, 1002]);
    let ec = h.get("/v1/f3/power-tables/ec", Some(&read)).await.json();
    assert_eq!(ec, table);

    let r = h
        .send_json(
            Method::POST,
            "/v1/f3/participation-tickets",
            Some(&sign),
            Some(&json!({"Miner": "t01002", "Instances": 3})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ticket = r.json()["Ticket"].clone();
    let r = h
        .send_json(
            Method::POST,
            "/v1/f3/participants",
            Some(&sign),
            Some(&json!({"Ticket": ticket})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["MinerID"], 1002);
    let participants = h.get("/v1/f3/participants", Some(&read)).await.json();
    assert!(participants
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["MinerID"] == 1002 && p["ValidityTerm"] == 3));

    let r = h
        .send_json(
            Method::POST,
            "/v1/f3/participation-tickets",
            Some(&sign),
            Some(&json!({"Miner": "t01002", "Instances": 0})),
        )
        .await;
    let p = r.problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("Instances"), "{p}");
    let r = h
        .send_json(
            Method::POST,
            "/v1/f3/participation-tickets",
            Some(&sign),
            Some(&json!({"Miner": "t09999", "Instances": 2})),
        )
        .await;
    r.problem(404, "actor_not_found");
    let r = h
        .send_json(
            Method::POST,
            "/v1/f3/participants",
            Some(&sign),
            Some(&json!({"Ticket": "not base64!"})),
        )
        .await;
    r.problem(400, "invalid_body");
}
