//! The paych resources against the simulated node.
//!
//! The simulated node tracks `t01100` (outbound, t0100 → t0101, 10 FIL, a 1 FIL voucher on lane 0), `t01101`
//! (inbound, t0103 → t0100, 5 FIL, a received 2 FIL voucher on lane 0) and `t01102` (outbound, t0104 → t0105,
//! 3 FIL, settling).

use base64::Engine;
use lotus_rest::auth::Perm;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{Harness, Sample};
use crate::table::SampleRequest;

const FIL: u128 = 1_000_000_000_000_000_000;

fn digest(tag: &str, parts: &[&str]) -> [u8; 32] {
    let mut state = blake2b_simd::Params::new().hash_length(32).to_state();
    state.update(tag.as_bytes());
    for p in parts {
        state.update(&(p.len() as u64).to_le_bytes());
        state.update(p.as_bytes());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(state.finalize().as_bytes());
    out
}

/// The voucher the simulated node starts with on the inbound channel `t01101`, signed by t0103 (a BLS key), as the
/// node lists it.
fn received_voucher() -> Value {
    let (channel, lane, nonce, amount) = ("t01101", 0u64, 1u64, 2 * FIL);
    let fields = format!("{channel}|{lane}|{nonce}|{amount}|0|0|0");
    let mut bytes = Vec::new();
    let mut i = 0u32;
    while bytes.len() < 96 {
        bytes.extend_from_slice(&digest(
            "voucher signature",
            &["t0103", &fields, &i.to_string()],
        ));
        i += 1;
    }
    bytes.truncate(96);
    json!({
        "ChannelAddr": channel, "TimeLockMin": 0, "TimeLockMax": 0, "SecretHash": null, "Extra": null,
        "Lane": lane, "Nonce": nonce, "Amount": amount.to_string(), "MinSettleHeight": 0, "Merges": null,
        "Signature": {"Type": 2, "Data": base64::engine::general_purpose::STANDARD.encode(bytes)},
    })
}

/// The message that created `t01100`.
fn creation_message() -> String {
    lotus_rest::lotus::address::cid_from_digest(&digest("channel created", &["t01100"]))
}

/// The sample request of each paych operation.
pub fn samples(_h: &Harness, _s: &Sample) -> Vec<SampleRequest> {
    let post = |op, path: &str, body: Option<Value>| {
        SampleRequest::with(op, Method::POST, path.to_string(), body)
    };
    vec![
        SampleRequest::get("list_payment_channels", "/v1/paych"),
        post(
            "create_payment_channel",
            "/v1/paych",
            Some(json!({"From": "t0100", "To": "t0101", "Amount": "1 FIL"})),
        ),
        post(
            "create_payment",
            "/v1/paych/payments",
            Some(json!({"From": "t0100", "To": "t0101", "Vouchers": [{"Amount": "0.5 FIL"}]})),
        ),
        SampleRequest::get(
            "get_payment_channel_by_message",
            format!("/v1/paych/by-message/{}", creation_message()),
        ),
        SampleRequest::get(
            "get_payment_channel_funds_by_parties",
            "/v1/paych/by-parties/t0100/t0101/funds",
        ),
        SampleRequest::get("get_payment_channel", "/v1/paych/t01100"),
        SampleRequest::get("get_payment_channel_funds", "/v1/paych/t01100/funds"),
        post(
            "add_payment_channel_funds",
            "/v1/paych/t01100/funds",
            Some(json!({"Amount": "1 FIL"})),
        ),
        post(
            "create_payment_channel_lane",
            "/v1/paych/t01100/lanes",
            None,
        ),
        post("settle_payment_channel", "/v1/paych/t01100/settle", None),
        post("collect_payment_channel", "/v1/paych/t01102/collect", None),
        SampleRequest::get("list_payment_channel_vouchers", "/v1/paych/t01100/vouchers"),
        post(
            "create_payment_channel_voucher",
            "/v1/paych/t01100/vouchers",
            Some(json!({"Amount": "2 FIL", "Lane": 0})),
        ),
        post(
            "add_payment_channel_voucher",
            "/v1/paych/t01101/vouchers/received",
            Some(json!({"Voucher": received_voucher()})),
        ),
        post(
            "check_payment_channel_voucher",
            "/v1/paych/t01101/vouchers/check",
            Some(json!({"Voucher": received_voucher()})),
        ),
        post(
            "submit_payment_channel_voucher",
            "/v1/paych/t01101/vouchers/submit",
            Some(json!({"Voucher": received_voucher()})),
        ),
    ]
}

async fn post(h: &Harness, token: &str, path: &str, body: Value) -> crate::common::Reply {
    h.send_json(Method::POST, path, Some(token), Some(&body))
        .await
}

#[actix_web::test]
async fn every_sample_succeeds_on_a_fresh_node() {
    let h = Harness::start().await;
    let s = h.sample().await;
    for req in samples(&h, &s) {
        let fresh = Harness::start().await;
        let token = fresh.token_up_to(Perm::Admin);
        let r = fresh.send_sample(&req, Some(&token)).await;
        assert!(
            r.status < 300,
            "{} {}: {} {}",
            req.op_id,
            req.path,
            r.status,
            r.text
        );
    }
}

#[actix_web::test]
async fn lists_and_reads_the_channels() {
    let h = Harness::start().await;
    let r = h.get("/v1/paych", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!(["t01100", "t01101", "t01102"]));

    let r = h.get("/v1/paych/t01100", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!({"ControlAddr": "t0100", "Direction": 2}));
    let r = h.get("/v1/paych/t01101", None).await;
    assert_eq!(r.json(), json!({"ControlAddr": "t0100", "Direction": 1}));

    let sign = h.token_up_to(Perm::Sign);
    let r = h.get("/v1/paych/t01100/funds", Some(&sign)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let f = r.json();
    assert_eq!(f["Channel"], "t01100");
    assert_eq!(f["From"], "t0100");
    assert_eq!(f["To"], "t0101");
    assert_eq!(f["ConfirmedAmt"], (10 * FIL).to_string());
    assert_eq!(f["VoucherReedeemedAmt"], FIL.to_string());
    assert_eq!(f["NonReservedAmt"], (9 * FIL).to_string());

    let r = h
        .get("/v1/paych/by-parties/t0100/t0101/funds", Some(&sign))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Channel"], "t01100");
    let r = h
        .get("/v1/paych/by-parties/t0101/t0100/funds", Some(&sign))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Channel"], Value::Null, "no channel that way");

    let r = h
        .get(
            &format!("/v1/paych/by-message/{}", creation_message()),
            Some(&sign),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!("t01100"));

    let write = h.token_up_to(Perm::Write);
    let r = h.get("/v1/paych/t01101/vouchers", Some(&write)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!([received_voucher()]));
}

#[actix_web::test]
async fn unknown_channels_are_404_and_bad_input_400() {
    let h = Harness::start().await;
    let sign = h.token_up_to(Perm::Sign);
    let r = h.get("/v1/paych/t09999", None).await;
    r.problem(404, "not_found");
    let r = h.get("/v1/paych/t09999/funds", Some(&sign)).await;
    r.problem(404, "not_found");
    let r = h
        .get(
            "/v1/paych/by-message/bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c",
            Some(&sign),
        )
        .await;
    r.problem(404, "not_found");
    let r = post(&h, &sign, "/v1/paych/t09999/settle", json!(null)).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = post(
        &h,
        &sign,
        "/v1/paych",
        json!({"From": "t09999", "To": "t0101", "Amount": "1 FIL"}),
    )
    .await;
    r.problem(404, "actor_not_found");

    h.sim.reset_calls();
    let r = h.get("/v1/paych/nope", None).await;
    let p = r.problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("channel"), "{p}");
    let r = h.get("/v1/paych/by-message/xyz", Some(&sign)).await;
    r.problem(400, "invalid_parameter");
    let r = h
        .get("/v1/paych/by-parties/t0100/bad/funds", Some(&sign))
        .await;
    let p = r.problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("to"), "{p}");
    let write = h.token_up_to(Perm::Write);
    let r = h
        .get("/v1/paych/t01100/vouchers?lane=-1", Some(&write))
        .await;
    let p = r.problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("lane"), "{p}");

    for (path, body, field) in [
        (
            "/v1/paych",
            json!({"From": "t0100", "To": "t0101", "Amount": "1 BTC"}),
            "Amount",
        ),
        (
            "/v1/paych",
            json!({"From": "t0100", "To": "x", "Amount": "1"}),
            "To",
        ),
        (
            "/v1/paych",
            json!({"From": "t0100", "To": "t0101", "Extra": 1}),
            "Extra",
        ),
        ("/v1/paych/t01100/funds", json!({"Amount": "0"}), "Amount"),
        (
            "/v1/paych/t01100/vouchers",
            json!({"Amount": "1 FIL"}),
            "Lane",
        ),
        (
            "/v1/paych/payments",
            json!({"From": "t0100", "To": "t0101", "Vouchers": []}),
            "Vouchers",
        ),
        (
            "/v1/paych/payments",
            json!({"From": "t0100", "To": "t0101", "Vouchers": [{"Amount": "1", "MinSettle": -1}]}),
            "Vouchers[0].MinSettle",
        ),
    ] {
        let r = post(&h, &sign, path, body).await;
        let p = r.problem(400, "invalid_body");
        assert!(
            p["detail"].as_str().unwrap().contains(field),
            "{path}: {field}: {p}"
        );
    }
    let mut other = received_voucher();
    other["ChannelAddr"] = json!("t01100");
    let mut unsigned = received_voucher();
    unsigned["Signature"] = Value::Null;
    let mut bad_secret = received_voucher();
    bad_secret["SecretHash"] = json!("***");
    for (voucher, field) in [
        (other, "Voucher.ChannelAddr"),
        (unsigned, "Voucher.Signature"),
        (bad_secret, "Voucher.SecretHash"),
    ] {
        for op in ["check", "submit", "received"] {
            let r = post(
                &h,
                &sign,
                &format!("/v1/paych/t01101/vouchers/{op}"),
                json!({"Voucher": voucher}),
            )
            .await;
            let p = r.problem(400, "invalid_body");
            assert!(p["detail"].as_str().unwrap().contains(field), "{op}: {p}");
        }
    }
    assert!(
        h.sim.calls().iter().all(|c| !c.contains("Paych")),
        "bad input never reaches the node: {:?}",
        h.sim.calls()
    );
}

#[actix_web::test]
async fn get_or_create_a_channel_and_fund_it() {
    let h = Harness::start().await;
    let sign = h.token_up_to(Perm::Sign);
    // The existing channel: 200, funded by a message.
    let r = post(
        &h,
        &sign,
        "/v1/paych",
        json!({"From": "t0100", "To": "t0101", "Amount": "1 FIL"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("location"), Some("/v1/paych/t01100"));
    assert_eq!(r.json()["Channel"], "t01100");
    assert!(r.json()["WaitSentinel"]["/"].is_string());
    let r = h.get("/v1/paych/t01100/funds", Some(&sign)).await;
    assert_eq!(r.json()["ConfirmedAmt"], (11 * FIL).to_string());

    // A new channel: 201, listed, readable, found by its message.
    let r = post(
        &h,
        &sign,
        "/v1/paych",
        json!({"From": "t0102", "To": "t0106", "Amount": "3 FIL"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let created = r.json();
    assert_eq!(created["Channel"], "t01103");
    assert_eq!(r.header("location"), Some("/v1/paych/t01103"));
    let sentinel = created["WaitSentinel"]["/"].as_str().unwrap().to_string();
    let r = h.get("/v1/paych", None).await;
    assert!(r.json().as_array().unwrap().contains(&json!("t01103")));
    let r = h.get("/v1/paych/t01103", None).await;
    assert_eq!(r.json(), json!({"ControlAddr": "t0102", "Direction": 2}));
    let r = h
        .get(&format!("/v1/paych/by-message/{sentinel}"), Some(&sign))
        .await;
    assert_eq!(r.json(), json!("t01103"));
    let r = h
        .get("/v1/paych/by-parties/t0102/t0106/funds", Some(&sign))
        .await;
    assert_eq!(r.json()["ConfirmedAmt"], (3 * FIL).to_string());

    // Funding through the channel's own resource.
    let r = post(
        &h,
        &sign,
        "/v1/paych/t01103/funds",
        json!({"Amount": "0.5 FIL"}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let cid = r.json()["WaitSentinel"]["/"].as_str().unwrap().to_string();
    assert_eq!(r.header("location"), Some(&*format!("/v1/messages/{cid}")));
    let r = h.get("/v1/paych/t01103/funds", Some(&sign)).await;
    assert_eq!(r.json()["ConfirmedAmt"], (3 * FIL + FIL / 2).to_string());
}

#[actix_web::test]
async fn vouchers_are_created_listed_and_checked() {
    let h = Harness::start().await;
    let sign = h.token_up_to(Perm::Sign);
    let write = h.token_up_to(Perm::Write);
    let r = post(&h, &sign, "/v1/paych/t01100/lanes", json!(null)).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json(), json!({"Lane": 1}));
    assert_eq!(
        r.header("location"),
        Some("/v1/paych/t01100/vouchers?lane=1")
    );
    let r = post(&h, &sign, "/v1/paych/t01100/lanes", json!(null)).await;
    assert_eq!(r.json(), json!({"Lane": 2}));

    let r = post(
        &h,
        &sign,
        "/v1/paych/t01100/vouchers",
        json!({"Amount": "3 FIL", "Lane": 1}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let made = r.json();
    assert_eq!(made["Shortfall"], "0");
    let voucher = made["Voucher"].clone();
    assert_eq!(voucher["Lane"], 1);
    assert_eq!(voucher["Nonce"], 1);
    assert_eq!(voucher["Amount"], (3 * FIL).to_string());
    assert_eq!(voucher["Signature"]["Type"], 1, "t0100 has a secp key");

    let r = h
        .get("/v1/paych/t01100/vouchers?lane=1", Some(&write))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!([voucher]));
    let r = h.get("/v1/paych/t01100/vouchers", Some(&write)).await;
    assert_eq!(r.json().as_array().unwrap().len(), 2);
    let r = h.get("/v1/paych/t01100/funds", Some(&sign)).await;
    assert_eq!(r.json()["VoucherReedeemedAmt"], (4 * FIL).to_string());

    // More than the channel holds: no voucher, the shortfall.
    let r = post(
        &h,
        &sign,
        "/v1/paych/t01100/vouchers",
        json!({"Amount": "8 FIL", "Lane": 2}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"Voucher": null, "Shortfall": (2 * FIL).to_string()})
    );

    // The voucher checks out; a tampered one does not.
    let r = post(
        &h,
        &sign,
        "/v1/paych/t01100/vouchers/check",
        json!({"Voucher": voucher}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!({"Valid": true, "Spendable": true}));
    let mut tampered = voucher.clone();
    tampered["Amount"] = json!("5 FIL");
    let r = post(
        &h,
        &sign,
        "/v1/paych/t01100/vouchers/check",
        json!({"Voucher": tampered}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Valid"], false);
    assert!(r.json()["Reason"].as_str().unwrap().contains("signature"));

    // A payment: a voucher on a new lane.
    let r = post(
        &h,
        &sign,
        "/v1/paych/payments",
        json!({"From": "t0100", "To": "t0101", "Vouchers": [{"Amount": "0.25 FIL"}, {"Amount": "0.5 FIL"}]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("location"), Some("/v1/paych/t01100/vouchers"));
    let paid = r.json();
    assert_eq!(paid["Channel"], "t01100");
    assert_eq!(paid["Vouchers"].as_array().unwrap().len(), 2);
    let r = h.get("/v1/paych/t01100/vouchers", Some(&write)).await;
    assert_eq!(r.json().as_array().unwrap().len(), 4);
}

#[actix_web::test]
async fn received_vouchers_are_added_checked_and_redeemed() {
    let h = Harness::start().await;
    let sign = h.token_up_to(Perm::Sign);
    let write = h.token_up_to(Perm::Write);
    let voucher = received_voucher();

    // Known already: nothing more.
    let r = post(
        &h,
        &write,
        "/v1/paych/t01101/vouchers/received",
        json!({"Voucher": voucher}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json(), json!({"Delta": "0"}));

    let r = post(
        &h,
        &sign,
        "/v1/paych/t01101/vouchers/check",
        json!({"Voucher": voucher}),
    )
    .await;
    assert_eq!(r.json(), json!({"Valid": true, "Spendable": true}));

    let r = post(
        &h,
        &sign,
        "/v1/paych/t01101/vouchers/submit",
        json!({"Voucher": voucher}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let cid = r.json()["CID"]["/"].as_str().unwrap().to_string();
    assert_eq!(r.header("location"), Some(&*format!("/v1/messages/{cid}")));

    // Redeemed: valid no more (its nonce is used), and a second submit is refused.
    let r = post(
        &h,
        &sign,
        "/v1/paych/t01101/vouchers/check",
        json!({"Voucher": voucher}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"Valid": false, "Reason": "nonce too low", "Spendable": false})
    );
    let r = post(
        &h,
        &sign,
        "/v1/paych/t01101/vouchers/submit",
        json!({"Voucher": voucher}),
    )
    .await;
    r.problem(400, "invalid_request");

    // A voucher with a forged signature is refused when added.
    let mut forged = voucher.clone();
    forged["Nonce"] = json!(2);
    forged["Amount"] = json!("3 FIL");
    let r = post(
        &h,
        &write,
        "/v1/paych/t01101/vouchers/received",
        json!({"Voucher": forged}),
    )
    .await;
    let p = r.problem(400, "invalid_request");
    assert!(p["detail"].as_str().unwrap().contains("signature"), "{p}");
    let r = h.get("/v1/paych/t01101/vouchers", Some(&write)).await;
    assert_eq!(r.json(), json!([voucher]));
}

#[actix_web::test]
async fn settling_then_collecting_a_channel() {
    let h = Harness::start().await;
    let sign = h.token_up_to(Perm::Sign);
    // Not settling yet: nothing to collect.
    let r = post(&h, &sign, "/v1/paych/t01100/collect", json!(null)).await;
    let p = r.problem(400, "invalid_request");
    assert!(
        p["detail"].as_str().unwrap().contains("not settling"),
        "{p}"
    );

    let r = post(&h, &sign, "/v1/paych/t01100/settle", json!(null)).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let cid = r.json()["CID"]["/"].as_str().unwrap().to_string();
    assert_eq!(r.header("location"), Some(&*format!("/v1/messages/{cid}")));
    // Settling: a second settle and new vouchers are refused; the next get-or-create makes a new channel.
    let r = post(&h, &sign, "/v1/paych/t01100/settle", json!(null)).await;
    r.problem(400, "invalid_request");
    let r = post(
        &h,
        &sign,
        "/v1/paych/t01100/vouchers",
        json!({"Amount": "2 FIL", "Lane": 0}),
    )
    .await;
    let p = r.problem(400, "invalid_request");
    assert!(p["detail"].as_str().unwrap().contains("settling"), "{p}");
    let r = h
        .get("/v1/paych/by-parties/t0100/t0101/funds", Some(&sign))
        .await;
    assert_eq!(r.json()["Channel"], Value::Null);

    let r = post(&h, &sign, "/v1/paych/t01100/collect", json!(null)).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let r = post(&h, &sign, "/v1/paych/t01100/collect", json!(null)).await;
    r.problem(400, "invalid_request");

    let r = post(
        &h,
        &sign,
        "/v1/paych",
        json!({"From": "t0100", "To": "t0101", "Amount": "1 FIL"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["Channel"], "t01103");
}

#[actix_web::test]
async fn permissions_are_enforced_before_the_node() {
    let h = Harness::start().await;
    let read = h.token_up_to(Perm::Read);
    h.sim.reset_calls();
    let r = h.get("/v1/paych/t01100/funds", Some(&read)).await;
    r.problem(403, "insufficient_permission");
    let r = h.get("/v1/paych/t01100/vouchers", Some(&read)).await;
    r.problem(403, "insufficient_permission");
    let write = h.token_up_to(Perm::Write);
    let r = post(&h, &write, "/v1/paych/t01100/settle", json!(null)).await;
    r.problem(403, "insufficient_permission");
    assert!(h.sim.calls().is_empty(), "{:?}", h.sim.calls());
}
