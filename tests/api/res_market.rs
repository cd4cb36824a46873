//! The market and multisig resources against the simulated node.

use lotus_rest::auth::Perm;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{Harness, Reply, Sample};
use crate::table::SampleRequest;

const FIL: u128 = 1_000_000_000_000_000_000;

/// The sample request of each market and multisig operation.
pub fn samples(_h: &Harness, s: &Sample) -> Vec<SampleRequest> {
    let post =
        |op, path: &str, body: Value| SampleRequest::with(op, Method::POST, path, Some(body));
    let delete = |op, path: &str| SampleRequest::with(op, Method::DELETE, path, None);
    vec![
        SampleRequest::get("get_market_balance", "/v1/market/balances/t0100"),
        SampleRequest::get(
            "list_market_participants",
            "/v1/market/participants?limit=5",
        ),
        SampleRequest::get("list_market_deals", "/v1/market/deals?limit=10"),
        SampleRequest::get("get_market_deal", "/v1/market/deals/7"),
        SampleRequest::get(
            "get_market_proposal",
            format!("/v1/market/proposals/{}", s.message),
        ),
        SampleRequest::get(
            "get_market_collateral_bounds",
            "/v1/market/collateral-bounds?size=34359738368&verified=true",
        ),
        post(
            "create_market_deposit",
            "/v1/market/balances/t01000/deposits",
            json!({"Wallet": "t0100", "Amount": "1 FIL"}),
        ),
        post(
            "create_market_withdrawal",
            "/v1/market/balances/t0100/withdrawals",
            json!({"Wallet": "t0100", "Amount": "1 FIL"}),
        ),
        SampleRequest::get("get_market_reservation", "/v1/market/reservations/t0100"),
        post(
            "create_market_reservation",
            "/v1/market/reservations/t0100",
            json!({"Wallet": "t0100", "Amount": "500 FIL"}),
        ),
        post(
            "create_market_release",
            "/v1/market/reservations/t0100/releases",
            json!({"Amount": "0"}),
        ),
        post(
            "create_multisig",
            "/v1/multisigs",
            json!({"From": "t0100", "Signers": ["t0100", "t0101"], "Required": 2, "Value": "10 FIL", "UnlockDuration": 100}),
        ),
        SampleRequest::get(
            "get_multisig_available_balance",
            "/v1/multisigs/t02000/available-balance",
        ),
        SampleRequest::get("list_multisig_proposals", "/v1/multisigs/t02000/proposals"),
        SampleRequest::get(
            "get_multisig_vesting_schedule",
            "/v1/multisigs/t02000/vesting-schedule",
        ),
        SampleRequest::get(
            "get_multisig_vested",
            format!("/v1/multisigs/t02000/vested?start_height={}", s.height),
        ),
        post(
            "create_multisig_proposal",
            "/v1/multisigs/t02000/proposals",
            json!({"From": "t0100", "To": "t0105", "Value": "1 FIL"}),
        ),
        post(
            "create_multisig_approval",
            "/v1/multisigs/t02000/proposals/0/approvals",
            json!({"From": "t0101"}),
        ),
        delete(
            "delete_multisig_proposal",
            "/v1/multisigs/t02000/proposals/0?from=t0100",
        ),
        post(
            "create_multisig_signer",
            "/v1/multisigs/t02000/signers",
            json!({"From": "t0100", "Signer": "t0107"}),
        ),
        delete(
            "delete_multisig_signer",
            "/v1/multisigs/t02000/signers/t0102?from=t0100",
        ),
        SampleRequest::with(
            "replace_multisig_signer",
            Method::PUT,
            "/v1/multisigs/t02000/signers/t0102",
            Some(json!({"From": "t0100", "NewSigner": "t0108"})),
        ),
        post(
            "create_multisig_signer_addition_approval",
            "/v1/multisigs/t02000/signer-additions/1/approvals",
            json!({"From": "t0101", "Proposer": "t0100", "Signer": "t0103"}),
        ),
        delete(
            "delete_multisig_signer_addition",
            "/v1/multisigs/t02000/signer-additions/1?from=t0100&signer=t0103",
        ),
        post(
            "create_multisig_signer_swap_approval",
            "/v1/multisigs/t02000/signer-swaps/2/approvals",
            json!({"From": "t0101", "Proposer": "t0100", "OldSigner": "t0102", "NewSigner": "t0104"}),
        ),
        delete(
            "delete_multisig_signer_swap",
            "/v1/multisigs/t02000/signer-swaps/2?from=t0100&old_signer=t0102&new_signer=t0104",
        ),
    ]
}

fn atto(v: &Value) -> u128 {
    v.as_str()
        .unwrap_or_else(|| panic!("not an amount: {v}"))
        .parse()
        .unwrap()
}

/// Asserts a 202 for a pushed message, with its Location.
#[track_caller]
fn assert_pushed(r: &Reply) {
    assert_eq!(r.status, 202, "{}", r.text);
    let cid = r.json()["CID"]["/"].as_str().unwrap().to_string();
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/messages/{cid}").as_str())
    );
}

async fn post(h: &Harness, token: &str, path: &str, body: Value) -> Reply {
    h.send_json(Method::POST, path, Some(token), Some(&body))
        .await
}

async fn pending_ids(h: &Harness, token: &str, msig: &str) -> Vec<u64> {
    let r = h
        .get(&format!("/v1/multisigs/{msig}/proposals"), Some(token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ID"].as_u64().unwrap())
        .collect()
}

#[actix_web::test]
async fn deals_page_through_every_deal_once() {
    // The whole deal list is one large reply: give the node time on a busy machine.
    let h = Harness::with(crate::common::Options {
        timeout: "20s",
        ..Default::default()
    })
    .await;
    let token = h.token_up_to(Perm::Read);
    let mut seen = Vec::new();
    let mut url = "/v1/market/deals?limit=1000".to_string();
    loop {
        let r = h.get(&url, Some(&token)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.json();
        assert_eq!(page["total"], 3000);
        for d in page["items"].as_array().unwrap() {
            seen.push(d["DealID"].as_u64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/v1/market/deals?limit=1000&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, (0..3000).collect::<Vec<u64>>());

    let r = h.get("/v1/market/deals?limit=3", Some(&token)).await;
    let first = &r.json()["items"][2];
    let one = h.get("/v1/market/deals/2", Some(&token)).await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.json()["Proposal"], first["Proposal"]);
    assert_eq!(one.json()["Proposal"]["Provider"], "t01002");

    h.get("/v1/market/deals/3000", Some(&token))
        .await
        .problem(404, "not_found");
    let p = h
        .get("/v1/market/deals/x1", Some(&token))
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("deal_id"), "{p}");
}

#[actix_web::test]
async fn participants_and_proposals_match_the_deals() {
    let h = Harness::start().await;
    let token = h.token_up_to(Perm::Read);
    let r = h
        .get("/v1/market/participants?limit=100", Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let page = r.json();
    assert_eq!(page["total"], 13);
    let t0100 = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["Address"] == "t0100")
        .unwrap()
        .clone();
    let balance = h.get("/v1/market/balances/t0100", Some(&token)).await;
    assert_eq!(balance.json()["Escrow"], t0100["Escrow"]);
    assert_eq!(balance.json()["Locked"], t0100["Locked"]);
    h.get("/v1/market/balances/t09999", Some(&token))
        .await
        .problem(404, "actor_not_found");

    // A deal that starts after the head is still a pending proposal; its label carries the proposal's CID.
    let deal = h.get("/v1/market/deals/399", Some(&token)).await.json();
    assert_eq!(deal["State"]["SectorStartEpoch"], -1);
    let proposal = deal["Proposal"]["Label"].as_str().unwrap();
    let r = h
        .get(&format!("/v1/market/proposals/{proposal}"), Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Pending"], true);
    let early = h.get("/v1/market/deals/0", Some(&token)).await.json();
    let r = h
        .get(
            &format!(
                "/v1/market/proposals/{}",
                early["Proposal"]["Label"].as_str().unwrap()
            ),
            Some(&token),
        )
        .await;
    assert_eq!(r.json()["Pending"], false);
    h.get("/v1/market/proposals/notacid", Some(&token))
        .await
        .problem(400, "invalid_parameter");
}

#[actix_web::test]
async fn collateral_bounds_check_the_piece_size() {
    let h = Harness::start().await;
    let token = h.token_up_to(Perm::Read);
    let r = h
        .get("/v1/market/collateral-bounds?size=1024", Some(&token))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Min"], "1024000000");
    let verified = h
        .get(
            "/v1/market/collateral-bounds?size=1024&verified=true",
            Some(&token),
        )
        .await;
    assert_eq!(verified.json()["Min"], "512000000");
    for bad in [
        "size=1000",
        "size=64",
        "size=-1",
        "",
        "size=1024&verified=yes",
    ] {
        let p = h
            .get(&format!("/v1/market/collateral-bounds?{bad}"), Some(&token))
            .await
            .problem(400, "invalid_parameter");
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains("size") || detail.contains("verified"),
            "{p}"
        );
    }
}

#[actix_web::test]
async fn deposits_withdrawals_and_reservations_change_the_escrow() {
    let h = Harness::start().await;
    let read = h.token_up_to(Perm::Read);
    let sign = h.token_up_to(Perm::Sign);
    let escrow = |r: Reply| atto(&r.json()["Escrow"]);
    let before = escrow(h.get("/v1/market/balances/t0101", Some(&read)).await);

    let r = post(
        &h,
        &sign,
        "/v1/market/balances/t0101/deposits",
        json!({"Wallet": "t0100", "Amount": "2.5 FIL"}),
    )
    .await;
    assert_pushed(&r);
    let after = escrow(h.get("/v1/market/balances/t0101", Some(&read)).await);
    assert_eq!(after, before + 5 * FIL / 2);

    let r = post(
        &h,
        &sign,
        "/v1/market/balances/t0101/withdrawals",
        json!({"Wallet": "t0101", "Amount": "1 FIL"}),
    )
    .await;
    assert_pushed(&r);
    let later = escrow(h.get("/v1/market/balances/t0101", Some(&read)).await);
    assert_eq!(later, after - FIL);

    // Reserving beyond the available escrow deposits the difference.
    let r = post(
        &h,
        &sign,
        "/v1/market/reservations/t0102",
        json!({"Wallet": "t0102", "Amount": "1000 FIL"}),
    )
    .await;
    assert_pushed(&r);
    let reserved = h.get("/v1/market/reservations/t0102", Some(&sign)).await;
    assert_eq!(reserved.status, 200, "{}", reserved.text);
    assert_eq!(reserved.json()["Reserved"], (1000 * FIL).to_string());
    let r = post(
        &h,
        &sign,
        "/v1/market/reservations/t0102/releases",
        json!({"Amount": "400 FIL"}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let reserved = h.get("/v1/market/reservations/t0102", Some(&sign)).await;
    assert_eq!(reserved.json()["Reserved"], (600 * FIL).to_string());
    // Within the escrow now: nothing to send.
    let r = post(
        &h,
        &sign,
        "/v1/market/reservations/t0102/releases",
        json!({"Amount": "600 FIL"}),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = post(
        &h,
        &sign,
        "/v1/market/reservations/t0102",
        json!({"Wallet": "t0102", "Amount": "1 FIL"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["CID"], Value::Null);

    let p = post(
        &h,
        &sign,
        "/v1/market/balances/t0101/deposits",
        json!({"Wallet": "t0100", "Amount": "1.5 BTC"}),
    )
    .await
    .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("Amount"), "{p}");
    let p = post(
        &h,
        &sign,
        "/v1/market/balances/t0101/deposits",
        json!({"Wallet": "nope", "Amount": "1"}),
    )
    .await
    .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("Wallet"), "{p}");
    post(
        &h,
        &sign,
        "/v1/market/reservations/t0102/releases",
        json!({"Amount": "1", "Extra": 1}),
    )
    .await
    .problem(400, "invalid_body");
}

#[actix_web::test]
async fn multisig_reads_follow_the_vesting_schedule() {
    let h = Harness::start().await;
    let token = h.token_up_to(Perm::Read);
    let head = h.sim.head().height;
    let schedule = h
        .get("/v1/multisigs/t02000/vesting-schedule", Some(&token))
        .await;
    assert_eq!(schedule.status, 200, "{}", schedule.text);
    assert_eq!(
        schedule.json(),
        json!({"InitialBalance": (1000 * FIL).to_string(), "StartEpoch": 0, "UnlockDuration": 10000})
    );
    let available = h
        .get("/v1/multisigs/t02000/available-balance", Some(&token))
        .await;
    assert_eq!(available.status, 200, "{}", available.text);
    let locked = 1000 * FIL * (10_000 - head as u128) / 10_000;
    assert_eq!(atto(&available.json()), 1000 * FIL - locked);

    let from = 0;
    let r = h
        .get(
            &format!("/v1/multisigs/t02000/vested?start_height={from}"),
            Some(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(atto(&r.json()), 1000 * FIL - locked);

    for (query, name) in [
        ("", "start_height"),
        ("start_height=x", "start_height"),
        ("start_height=20&height=10", "start_height"),
    ] {
        let p = h
            .get(
                &format!("/v1/multisigs/t02000/vested?{query}"),
                Some(&token),
            )
            .await
            .problem(400, "invalid_parameter");
        assert!(p["detail"].as_str().unwrap().contains(name), "{p}");
    }
    h.get("/v1/multisigs/t09999/proposals", Some(&token))
        .await
        .problem(404, "actor_not_found");
    h.get("/v1/multisigs/zz/proposals", Some(&token))
        .await
        .problem(400, "invalid_parameter");
    assert_eq!(pending_ids(&h, &token, "t02000").await, vec![0, 1, 2, 3]);
}

#[actix_web::test]
async fn multisig_proposals_approvals_and_cancellations() {
    let h = Harness::start().await;
    let read = h.token_up_to(Perm::Read);
    let sign = h.token_up_to(Perm::Sign);
    let head = h.sim.head().height;
    let available = |r: Reply| atto(&r.json());
    let at = format!("/v1/multisigs/t02000/available-balance?height={head}");
    let before = available(h.get(&at, Some(&read)).await);

    // A new proposal shows as pending.
    let r = post(
        &h,
        &sign,
        "/v1/multisigs/t02000/proposals",
        json!({"From": "t0100", "To": "t0105", "Value": "1 FIL"}),
    )
    .await;
    assert_pushed(&r);
    assert_eq!(r.json()["Message"]["To"], "t02000");
    assert_eq!(pending_ids(&h, &read, "t02000").await, vec![0, 1, 2, 3, 4]);

    // The second approval executes transaction 0 (10 FIL to t0105).
    assert_pushed(
        &post(
            &h,
            &sign,
            "/v1/multisigs/t02000/proposals/0/approvals",
            json!({"From": "t0101"}),
        )
        .await,
    );
    assert_eq!(pending_ids(&h, &read, "t02000").await, vec![1, 2, 3, 4]);
    assert_eq!(available(h.get(&at, Some(&read)).await), before - 10 * FIL);

    // Approving with the transaction's details.
    assert_pushed(
        &post(
            &h,
            &sign,
            "/v1/multisigs/t02000/proposals/3/approvals",
            json!({"From": "t0100", "Proposal": {"Proposer": "t0101", "To": "t0106", "Value": "5 FIL"}}),
        )
        .await,
    );
    assert_eq!(pending_ids(&h, &read, "t02000").await, vec![1, 2, 4]);

    // The proposer cancels its proposal, first with the wrong details.
    let r = h
        .send(
            Method::DELETE,
            "/v1/multisigs/t02000/proposals/4?from=t0100&to=t0105&value=2%20FIL",
            Some(&sign),
        )
        .await;
    assert!(r.status >= 400, "{}", r.text);
    let r = h
        .send(
            Method::DELETE,
            "/v1/multisigs/t02000/proposals/4?from=t0100&to=t0105&value=1%20FIL",
            Some(&sign),
        )
        .await;
    assert_pushed(&r);
    assert_eq!(pending_ids(&h, &read, "t02000").await, vec![1, 2]);
    h.send(
        Method::DELETE,
        "/v1/multisigs/t02000/proposals/4?from=t0100",
        Some(&sign),
    )
    .await
    .problem(404, "not_found");

    // Signers: the addition of t0103 approved, t0103 can propose.
    assert_pushed(
        &post(
            &h,
            &sign,
            "/v1/multisigs/t02000/signer-additions/1/approvals",
            json!({"From": "t0101", "Proposer": "t0100", "Signer": "t0103"}),
        )
        .await,
    );
    assert_pushed(
        &post(
            &h,
            &sign,
            "/v1/multisigs/t02000/proposals",
            json!({"From": "t0103", "To": "t0100", "Value": "1"}),
        )
        .await,
    );
    assert_eq!(pending_ids(&h, &read, "t02000").await, vec![2, 5]);
    // The swap proposal cancelled by its proposer.
    assert_pushed(
        &h.send(
            Method::DELETE,
            "/v1/multisigs/t02000/signer-swaps/2?from=t0100&old_signer=t0102&new_signer=t0104",
            Some(&sign),
        )
        .await,
    );
    // Removal and swap proposals are pending transactions of their own.
    assert_pushed(
        &h.send(
            Method::DELETE,
            "/v1/multisigs/t02000/signers/t0102?from=t0100",
            Some(&sign),
        )
        .await,
    );
    assert_pushed(
        &h.send_json(
            Method::PUT,
            "/v1/multisigs/t02000/signers/t0101",
            Some(&sign),
            Some(&json!({"From": "t0100", "NewSigner": "t0109"})),
        )
        .await,
    );
    let r = h
        .get("/v1/multisigs/t02000/proposals", Some(&read))
        .await
        .json();
    let methods: Vec<u64> = r
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Method"].as_u64().unwrap())
        .collect();
    assert_eq!(methods, vec![0, 6, 7]);
}

#[actix_web::test]
async fn multisig_creation_and_validation() {
    let h = Harness::start().await;
    let read = h.token_up_to(Perm::Read);
    let sign = h.token_up_to(Perm::Sign);
    let r = post(
        &h,
        &sign,
        "/v1/multisigs",
        json!({"From": "t0100", "Signers": ["t0100", "t0101", "t0102"], "Required": 2, "Value": "10 FIL", "UnlockDuration": 100}),
    )
    .await;
    assert_pushed(&r);
    assert_eq!(r.json()["Message"]["To"], "t01");
    let schedule = h
        .get("/v1/multisigs/t02002/vesting-schedule", Some(&read))
        .await;
    assert_eq!(schedule.status, 200, "{}", schedule.text);
    assert_eq!(schedule.json()["InitialBalance"], (10 * FIL).to_string());
    assert_eq!(schedule.json()["UnlockDuration"], 100);

    for (body, field) in [
        (
            json!({"From": "t0100", "Signers": [], "Required": 1}),
            "Signers",
        ),
        (
            json!({"From": "t0100", "Signers": ["t0100"], "Required": 2}),
            "Required",
        ),
        (
            json!({"From": "t0100", "Signers": ["t0100", "bad"], "Required": 1}),
            "Signers[1]",
        ),
        (
            json!({"From": "t0100", "Signers": ["t0100"], "Required": 1, "UnlockDuration": -1}),
            "UnlockDuration",
        ),
        (
            json!({"From": "t0100", "Signers": ["t0100"], "Required": 1, "Value": "x"}),
            "Value",
        ),
    ] {
        let p = post(&h, &sign, "/v1/multisigs", body)
            .await
            .problem(400, "invalid_body");
        assert!(p["detail"].as_str().unwrap().contains(field), "{p}");
    }
    let p = post(
        &h,
        &sign,
        "/v1/multisigs/t02000/proposals",
        json!({"From": "t0100", "To": "t0105", "Params": "!!"}),
    )
    .await
    .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("Params"), "{p}");
    let p = h
        .send(
            Method::DELETE,
            "/v1/multisigs/t02000/proposals/0",
            Some(&sign),
        )
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("from"), "{p}");
    let p = h
        .send(
            Method::DELETE,
            "/v1/multisigs/t02000/proposals/0?from=t0100&to=t0105",
            Some(&sign),
        )
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("value"), "{p}");
    let p = h
        .send(
            Method::DELETE,
            "/v1/multisigs/t02000/signers/t0102?from=t0100&decrease_threshold=maybe",
            Some(&sign),
        )
        .await
        .problem(400, "invalid_parameter");
    assert!(
        p["detail"].as_str().unwrap().contains("decrease_threshold"),
        "{p}"
    );
    post(
        &h,
        &sign,
        "/v1/multisigs/t09999/proposals/0/approvals",
        json!({"From": "t0101"}),
    )
    .await
    .problem(404, "actor_not_found");
    post(
        &h,
        &sign,
        "/v1/multisigs/t02000/proposals/77/approvals",
        json!({"From": "t0101"}),
    )
    .await
    .problem(404, "not_found");
}
