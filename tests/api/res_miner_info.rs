//! The miner's info routes: the sample request of each operation with parameters, and their own tests.

use std::collections::HashSet;

use lotus_rest::auth::Perm;
use lotus_rest::lotus::address::cid_from_digest;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{Harness, Options};
use crate::table::SampleRequest;

fn sealed_cid() -> String {
    cid_from_digest(&[7u8; 32])
}

/// The sample request of each of this module's operations that has path parameters or a body.
pub fn samples(h: &Harness) -> Vec<SampleRequest> {
    let sealed = sealed_cid();
    vec![
        SampleRequest::with(
            "create_miner_auth_token",
            Method::POST,
            "/v1/miner/auth/tokens",
            Some(json!({"Permissions": ["read", "write"]})),
        ),
        SampleRequest::with(
            "verify_miner_auth_token",
            Method::POST,
            "/v1/miner/auth/tokens/verify",
            Some(json!({"Token": h.miner_token_up_to(Perm::Read)})),
        ),
        SampleRequest::with(
            "put_miner_log_level",
            Method::PUT,
            "/v1/miner/logs/subsystems/sectors/level",
            Some(json!({"Level": "debug"})),
        ),
        SampleRequest::with(
            "create_miner_backup",
            Method::POST,
            "/v1/miner/backups",
            Some(json!({"Path": "/var/backups/lotus-miner/sample.cbor"})),
        ),
        SampleRequest::with(
            "create_miner_withdrawal",
            Method::POST,
            "/v1/miner/withdrawals",
            Some(json!({"Amount": "1.5 FIL"})),
        ),
        SampleRequest::with(
            "create_miner_beneficiary_withdrawal",
            Method::POST,
            "/v1/miner/beneficiary-withdrawals",
            Some(json!({"Amount": "250000000000000000"})),
        ),
        SampleRequest::with(
            "compute_miner_data_cid",
            Method::POST,
            "/v1/miner/data-cids",
            Some(json!({"Size": 2032, "Url": "https://example.com/piece.car"})),
        ),
        SampleRequest::with(
            "compute_miner_winning_post",
            Method::POST,
            "/v1/miner/proofs",
            Some(json!({
                "Sectors": [{"SealProof": 8, "SectorNumber": 9, "SectorKey": null, "SealedCID": {"/": sealed}}],
                "Randomness": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                "PoStEpoch": 10,
                "NetworkVersion": 25
            })),
        ),
        SampleRequest::with(
            "compute_miner_window_post",
            Method::POST,
            "/v1/miner/window-posts",
            Some(json!({"Deadline": 9})),
        ),
        SampleRequest::with(
            "check_miner_sectors_provable",
            Method::POST,
            "/v1/miner/sectors/provable-checks",
            Some(
                json!({"ProofType": 8, "Sectors": [{"ID": {"Miner": 1000, "Number": 9}, "ProofType": 8}]}),
            ),
        ),
    ]
}

async fn harness() -> Harness {
    Harness::with(Options {
        miner: true,
        ..Default::default()
    })
    .await
}

async fn send(
    h: &Harness,
    method: Method,
    path: &str,
    perm: Perm,
    body: Option<Value>,
) -> crate::common::Reply {
    let token = h.miner_token_up_to(perm);
    h.send_json(method, path, Some(&token), body.as_ref()).await
}

fn detail(p: &Value) -> &str {
    p["detail"].as_str().unwrap_or_default()
}

#[actix_web::test]
async fn the_actor_its_addresses_session_and_start_time() {
    let h = harness().await;
    let r = send(&h, Method::GET, "/v1/miner/info", Perm::Read, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"Address": "t01000", "SectorSize": 34359738368u64})
    );
    let r = send(&h, Method::GET, "/v1/miner/addresses", Perm::Read, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json()["PreCommitControl"].is_array(), "{}", r.text);
    let a = send(&h, Method::GET, "/v1/miner/session", Perm::Read, None)
        .await
        .json();
    let b = send(&h, Method::GET, "/v1/miner/session", Perm::Read, None)
        .await
        .json();
    assert_eq!(a, b, "the session is the same while the miner runs");
    assert_eq!(a["Session"].as_str().unwrap().len(), 36, "{a}");
    let r = send(&h, Method::GET, "/v1/miner/start-time", Perm::Read, None).await;
    assert_eq!(r.json()["StartTime"], "2026-01-01T00:00:00Z");
    let r = send(&h, Method::GET, "/v1/miner/mining-base", Perm::Read, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Height"], h.sim.head().height);
    let r = send(&h, Method::GET, "/v1/miner/openrpc", Perm::Read, None).await;
    assert_eq!(r.json()["openrpc"], "1.2.6");
    let r = send(&h, Method::GET, "/v1/miner/subsystems", Perm::Read, None).await;
    assert!(r.json().as_array().unwrap().contains(&json!("Sealing")));
    let r = send(&h, Method::POST, "/v1/miner/shutdown", Perm::Admin, None).await;
    assert_eq!(r.status, 202, "{}", r.text);
}

#[actix_web::test]
async fn a_log_level_set_is_on_a_listed_subsystem() {
    let h = harness().await;
    let path = "/v1/miner/logs/subsystems/sectors/level";
    let r = send(
        &h,
        Method::PUT,
        path,
        Perm::Write,
        Some(json!({"Level": "DEBUG"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!({"Subsystem": "sectors", "Level": "debug"}));
    let r = send(
        &h,
        Method::GET,
        "/v1/miner/logs/subsystems",
        Perm::Write,
        None,
    )
    .await;
    assert!(
        r.json().as_array().unwrap().contains(&json!("sectors")),
        "{}",
        r.text
    );
    let r = send(
        &h,
        Method::PUT,
        "/v1/miner/logs/subsystems/*/level",
        Perm::Write,
        Some(json!({"Level": "warn"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = send(
        &h,
        Method::PUT,
        "/v1/miner/logs/subsystems/nosuch/level",
        Perm::Write,
        Some(json!({"Level": "info"})),
    )
    .await;
    let p = r.problem(404, "not_found");
    assert!(detail(&p).contains("nosuch"), "{p}");
    h.miner.as_ref().unwrap().reset_calls();
    let r = send(
        &h,
        Method::PUT,
        path,
        Perm::Write,
        Some(json!({"Level": "loud"})),
    )
    .await;
    let p = r.problem(400, "invalid_body");
    assert!(
        detail(&p).contains("\"Level\"") && detail(&p).contains("loud"),
        "{p}"
    );
    let r = send(
        &h,
        Method::PUT,
        "/v1/miner/logs/subsystems/a%20b/level",
        Perm::Write,
        Some(json!({"Level": "info"})),
    )
    .await;
    r.problem(400, "invalid_parameter");
    let r = send(
        &h,
        Method::PUT,
        path,
        Perm::Write,
        Some(json!({"Level": "info", "Extra": 1})),
    )
    .await;
    let p = r.problem(400, "invalid_body");
    assert!(detail(&p).contains("Extra"), "{p}");
    assert!(
        h.miner.as_ref().unwrap().calls().is_empty(),
        "bad requests stay in the gateway"
    );

    let r = send(&h, Method::GET, "/v1/miner/logs/alerts", Perm::Admin, None).await;
    assert_eq!(r.json(), json!([]));
}

#[actix_web::test]
async fn a_token_made_by_the_miner_verifies_with_its_permissions() {
    let h = harness().await;
    let r = send(
        &h,
        Method::POST,
        "/v1/miner/auth/tokens",
        Perm::Admin,
        Some(json!({"Permissions": ["read", "write", "read"]})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let created = r.json();
    assert_eq!(created["Permissions"], json!(["read", "write"]));
    let token = created["Token"].as_str().unwrap().to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");

    let r = send(
        &h,
        Method::POST,
        "/v1/miner/auth/tokens/verify",
        Perm::Read,
        Some(json!({"Token": token})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"Valid": true, "Permissions": ["read", "write"]})
    );
    // The new token is a miner token: it reaches a write route and stops at an admin one.
    let r = h.get("/v1/miner/logs/subsystems", Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    h.get("/v1/miner/logs/alerts", Some(&token))
        .await
        .problem(403, "insufficient_permission");

    // A node token is not one the miner accepts.
    let r = send(
        &h,
        Method::POST,
        "/v1/miner/auth/tokens/verify",
        Perm::Read,
        Some(json!({"Token": h.token_up_to(Perm::Read)})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Valid"], false);
    assert!(r.json()["Reason"].is_string(), "{}", r.text);

    let r = send(
        &h,
        Method::POST,
        "/v1/miner/auth/tokens",
        Perm::Admin,
        Some(json!({"Permissions": ["read", "root"]})),
    )
    .await;
    let p = r.problem(400, "invalid_body");
    assert!(
        detail(&p).contains("Permissions[1]") && detail(&p).contains("root"),
        "{p}"
    );
    let r = send(
        &h,
        Method::POST,
        "/v1/miner/auth/tokens",
        Perm::Admin,
        Some(json!({"Permissions": []})),
    )
    .await;
    r.problem(400, "invalid_body");
    let r = send(
        &h,
        Method::POST,
        "/v1/miner/auth/tokens/verify",
        Perm::Read,
        Some(json!({"Token": "a b"})),
    )
    .await;
    let p = r.problem(400, "invalid_body");
    assert!(detail(&p).contains("\"Token\""), "{p}");
}

#[actix_web::test]
async fn withdrawals_send_a_message_the_node_knows() {
    let h = harness().await;
    for path in ["/v1/miner/withdrawals", "/v1/miner/beneficiary-withdrawals"] {
        let r = send(
            &h,
            Method::POST,
            path,
            Perm::Admin,
            Some(json!({"Amount": "1.5 FIL"})),
        )
        .await;
        assert_eq!(r.status, 202, "{path}: {}", r.text);
        let cid = r.json()["CID"]["/"].as_str().unwrap().to_owned();
        let location = r.header("location").unwrap().to_owned();
        assert_eq!(location, format!("/v1/messages/{cid}"));
        let m = h.get(&location, Some(&h.token_up_to(Perm::Read))).await;
        assert_eq!(m.status, 200, "{location}: {}", m.text);
        assert_eq!(m.json()["To"], "t01000", "{}", m.text);
    }
    // More than is left: 409, with nothing sent.
    let r = send(
        &h,
        Method::POST,
        "/v1/miner/withdrawals",
        Perm::Admin,
        Some(json!({"Amount": "998 FIL"})),
    )
    .await;
    let p = r.problem(409, "conflict");
    assert!(detail(&p).contains("available"), "{p}");
    // No amount: all that is left; then nothing is.
    let r = send(
        &h,
        Method::POST,
        "/v1/miner/withdrawals",
        Perm::Admin,
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let r = send(
        &h,
        Method::POST,
        "/v1/miner/withdrawals",
        Perm::Admin,
        Some(json!({"Amount": "1 attoFIL"})),
    )
    .await;
    r.problem(409, "conflict");

    let miner = h.miner.clone().unwrap();
    miner.reset_calls();
    for (body, says) in [
        (json!({"Amount": "0"}), "positive"),
        (json!({"Amount": "1.5 BTC"}), "unit"),
        (json!({"Amount": -1}), "amount"),
        (json!({"Amout": "1 FIL"}), "Amout"),
    ] {
        let r = send(
            &h,
            Method::POST,
            "/v1/miner/withdrawals",
            Perm::Admin,
            Some(body.clone()),
        )
        .await;
        let p = r.problem(400, "invalid_body");
        assert!(detail(&p).contains(says), "{body}: {p}");
    }
    let r = send(
        &h,
        Method::POST,
        "/v1/miner/withdrawals",
        Perm::Admin,
        Some(json!({"Amount": "0.5 FIL"})),
    )
    .await;
    let p = r.problem(409, "conflict");
    assert!(detail(&p).contains("available"), "{p}");
    assert_eq!(
        miner.calls(),
        vec!["Filecoin.ActorWithdrawBalance"],
        "only the last reached the miner"
    );
}

#[actix_web::test]
async fn deal_pages_give_each_deal_once() {
    let h = harness().await;
    let whole = send(
        &h,
        Method::GET,
        "/v1/miner/deals?limit=1000",
        Perm::Read,
        None,
    )
    .await;
    assert_eq!(whole.status, 200, "{}", whole.text);
    let whole = whole.json();
    let all = whole["items"].as_array().unwrap().clone();
    assert!(all.len() > 10, "the miner has deals: {}", all.len());
    assert_eq!(whole["total"], all.len());
    assert!(whole.get("next_cursor").is_none());
    for d in &all {
        let cid = d["Proposal"]["PieceCID"]["/"].as_str().unwrap();
        lotus_rest::lotus::address::parse_cid(cid).unwrap();
        assert_eq!(d["Proposal"]["Provider"], "t01000");
    }

    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/miner/deals?limit=7&cursor={c}"),
            None => "/v1/miner/deals?limit=7".to_owned(),
        };
        let r = send(&h, Method::GET, &path, Perm::Read, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        let page = r.json();
        assert_eq!(page["total"], all.len());
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        paged.extend(items.iter().cloned());
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, all.len().div_ceil(7));
    assert_eq!(
        paged, all,
        "the pages together are the list, each deal once"
    );
    let unique: HashSet<String> = paged.iter().map(|d| d.to_string()).collect();
    assert_eq!(unique.len(), all.len());

    for bad in ["limit=0", "limit=1001", "limit=x", "cursor=nope"] {
        let r = send(
            &h,
            Method::GET,
            &format!("/v1/miner/deals?{bad}"),
            Perm::Read,
            None,
        )
        .await;
        r.problem(400, "invalid_parameter");
    }
    // A cursor of another list is refused.
    let other = lotus_rest::routes::page::encode_cursor(
        &json!([{"/": sealed_cid()}]),
        7,
        lotus_rest::routes::page::list_fingerprint("Filecoin.SectorsList", &json!([])),
    );
    let r = send(
        &h,
        Method::GET,
        &format!("/v1/miner/deals?cursor={other}"),
        Perm::Read,
        None,
    )
    .await;
    r.problem(400, "invalid_parameter");
    // A cursor whose deal is gone from the list: 409.
    let gone = lotus_rest::routes::page::encode_cursor(
        &json!([{"/": sealed_cid()}]),
        7,
        lotus_rest::routes::page::list_fingerprint("Filecoin.MarketListDeals", &json!([])),
    );
    let r = send(
        &h,
        Method::GET,
        &format!("/v1/miner/deals?cursor={gone}"),
        Perm::Read,
        None,
    )
    .await;
    r.problem(409, "conflict");
}

#[actix_web::test]
async fn piece_cids_of_urls_and_zeros() {
    let h = harness().await;
    let post = |body: Value| {
        let h = &h;
        async move {
            send(
                h,
                Method::POST,
                "/v1/miner/data-cids",
                Perm::Admin,
                Some(body),
            )
            .await
        }
    };
    let r = post(json!({"Size": 2032, "Url": "https://example.com/a.car"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let a = r.json();
    assert_eq!(a["Size"], 2048);
    assert!(
        a["PieceCID"]["/"].as_str().unwrap().starts_with("baga"),
        "{a}"
    );
    let b = post(json!({"Size": 2032, "Url": "https://example.com/b.car"}))
        .await
        .json();
    assert_ne!(a["PieceCID"], b["PieceCID"], "other data, other piece");
    let z = post(json!({"Size": 127, "Zeros": true})).await;
    assert_eq!(z.status, 200, "{}", z.text);
    assert_eq!(z.json()["Size"], 128);

    for (body, field) in [
        (
            json!({"Size": 2000, "Url": "https://example.com/a.car"}),
            "\"Size\"",
        ),
        (json!({"Size": 0, "Zeros": true}), "\"Size\""),
        (json!({"Size": 2032}), "\"Url\""),
        (
            json!({"Size": 2032, "Url": "ftp://example.com/a.car"}),
            "\"Url\"",
        ),
        (json!({"Size": 2032, "Url": "not a url"}), "\"Url\""),
        (
            json!({"Size": 2032, "Url": "https://example.com/a.car", "Zeros": true}),
            "\"Zeros\"",
        ),
        (json!({"Size": "big", "Zeros": true}), "\"Size\""),
    ] {
        let p = post(body.clone()).await.problem(400, "invalid_body");
        assert!(detail(&p).contains(field), "{body}: {p}");
    }
}

#[actix_web::test]
async fn backups_are_written_inside_the_base_path() {
    let h = harness().await;
    let r = send(
        &h,
        Method::POST,
        "/v1/miner/backups",
        Perm::Admin,
        Some(json!({"Path": "/var/backups/lotus-miner/b1.cbor"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"Path": "/var/backups/lotus-miner/b1.cbor"})
    );
    let r = send(
        &h,
        Method::POST,
        "/v1/miner/backups",
        Perm::Admin,
        Some(json!({"Path": "/etc/passwd"})),
    )
    .await;
    let p = r.problem(400, "invalid_body");
    assert!(
        detail(&p).contains("\"Path\"") && detail(&p).contains("base path"),
        "{p}"
    );
    let r = send(
        &h,
        Method::POST,
        "/v1/miner/backups",
        Perm::Admin,
        Some(json!({"Path": " "})),
    )
    .await;
    r.problem(400, "invalid_body");
}

#[actix_web::test]
async fn proofs_and_provability() {
    let h = harness().await;
    let sealed = sealed_cid();
    let sector = |n: u64| json!({"SealProof": 8, "SectorNumber": n, "SectorKey": null, "SealedCID": {"/": sealed}});
    let body = |sectors: Value, rand: &str| json!({"Sectors": sectors, "Randomness": rand, "PoStEpoch": 10, "NetworkVersion": 25});
    let rand = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let r = send(
        &h,
        Method::POST,
        "/v1/miner/proofs",
        Perm::Read,
        Some(body(json!([sector(9)]), rand)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()[0]["PoStProof"],
        3,
        "the winning PoSt type of a 32 GiB sector"
    );
    let r = send(
        &h,
        Method::POST,
        "/v1/miner/proofs",
        Perm::Read,
        Some(body(json!([sector(99999)]), rand)),
    )
    .await;
    r.problem(404, "not_found");
    for (b, field) in [
        (body(json!([]), rand), "\"Sectors\""),
        (body(json!([sector(9)]), "AAEC"), "\"Randomness\""),
        (
            body(
                json!([{"SealProof": 8, "SectorNumber": 9, "SectorKey": null, "SealedCID": {"/": "nope"}}]),
                rand,
            ),
            "Sectors[0].SealedCID",
        ),
    ] {
        let p = send(
            &h,
            Method::POST,
            "/v1/miner/proofs",
            Perm::Read,
            Some(b.clone()),
        )
        .await
        .problem(400, "invalid_body");
        assert!(detail(&p).contains(field), "{b}: {p}");
    }

    let r = send(
        &h,
        Method::POST,
        "/v1/miner/window-posts",
        Perm::Admin,
        Some(json!({"Deadline": 0})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let posts = r.json();
    assert_eq!(posts[0]["Deadline"], 0);
    assert_eq!(
        posts[0]["Partitions"][0]["Skipped"],
        json!([2, 1]),
        "sector 96, the third of deadline 0, is faulty"
    );
    let p = send(
        &h,
        Method::POST,
        "/v1/miner/window-posts",
        Perm::Admin,
        Some(json!({"Deadline": 48})),
    )
    .await
    .problem(400, "invalid_body");
    assert!(detail(&p).contains("\"Deadline\""), "{p}");
    let p = send(
        &h,
        Method::POST,
        "/v1/miner/window-posts",
        Perm::Admin,
        Some(json!({"Deadline": 1, "TipSet": [{"/": "x"}]})),
    )
    .await
    .problem(400, "invalid_body");
    assert!(detail(&p).contains("TipSet[0]"), "{p}");

    let refs: Vec<Value> = [9u64, 96, 97, 5000]
        .iter()
        .map(|n| json!({"ID": {"Miner": 1000, "Number": n}, "ProofType": 8}))
        .collect();
    let r = send(
        &h,
        Method::POST,
        "/v1/miner/sectors/provable-checks",
        Perm::Admin,
        Some(json!({"ProofType": 8, "Sectors": refs})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let check = r.json();
    assert_eq!(check["Checked"], 4);
    let bad: Vec<&String> = check["Unprovable"].as_object().unwrap().keys().collect();
    assert_eq!(bad, vec!["5000", "96", "97"], "{check}");
    let p = send(
        &h,
        Method::POST,
        "/v1/miner/sectors/provable-checks",
        Perm::Admin,
        Some(json!({"ProofType": 8, "Sectors": []})),
    )
    .await
    .problem(400, "invalid_body");
    assert!(detail(&p).contains("\"Sectors\""), "{p}");
}
