//! The wallet, message pool, gas and sending resources against the simulated node.

use base64::Engine;
use lotus_rest::auth::Perm;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{Harness, Sample};
use crate::table::SampleRequest;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A message from the sample account with every field given.
fn full_message(from: &str, nonce: u64) -> Value {
    json!({"From": from, "To": "t0101", "Nonce": nonce, "Value": "1 FIL", "GasLimit": 1_000_000,
        "GasFeeCap": "200000", "GasPremium": "50000"})
}

/// The sample request of each wallet, message pool, gas and sending operation.
pub fn samples(_h: &Harness, s: &Sample) -> Vec<SampleRequest> {
    let key = s.account.robust.clone();
    let id = s.account.id.clone();
    let send = json!({"Message": {"From": key, "To": "t0101", "Value": "0.5 FIL"}});
    // A nonce far ahead of the sender's: a local push accepts the gap, and the message waits for it to fill.
    let signed = json!({"Message": full_message(&key, 1_000_000), "Signature": {"Type": 1, "Data": b64(&[7; 65])}});
    let config = json!({"PriorityAddrs": [key], "SizeLimitHigh": 40000, "SizeLimitLow": 30000,
        "ReplaceByFeeRatio": 1.5, "PruneCooldown": 60_000_000_000i64, "GasLimitOverestimation": 1.5});
    vec![
        SampleRequest::get("list_wallet_keys", "/v1/wallet/keys"),
        SampleRequest::with(
            "create_wallet_key",
            Method::POST,
            "/v1/wallet/keys",
            Some(json!({"Type": "bls"})),
        ),
        SampleRequest::with(
            "create_imported_wallet_key",
            Method::POST,
            "/v1/wallet/keys/import",
            Some(json!({"Type": "secp256k1", "PrivateKey": b64(&[9; 32])})),
        ),
        SampleRequest::get("get_wallet_key", format!("/v1/wallet/keys/{key}")),
        SampleRequest::with(
            "delete_wallet_key",
            Method::DELETE,
            format!("/v1/wallet/keys/{key}"),
            None,
        ),
        SampleRequest::get(
            "get_wallet_private_key",
            format!("/v1/wallet/keys/{key}/private-key"),
        ),
        SampleRequest::with(
            "create_wallet_signature",
            Method::POST,
            format!("/v1/wallet/keys/{key}/sign"),
            Some(json!({"Data": "aGVsbG8="})),
        ),
        SampleRequest::with(
            "create_wallet_signed_message",
            Method::POST,
            format!("/v1/wallet/keys/{key}/sign-message"),
            Some(full_message(&key, 0)),
        ),
        SampleRequest::with(
            "post_wallet_verification",
            Method::POST,
            "/v1/wallet/verify",
            Some(
                json!({"Address": key, "Data": "aGVsbG8=", "Signature": {"Type": 1, "Data": b64(&[1; 65])}}),
            ),
        ),
        SampleRequest::get("get_wallet_default", "/v1/wallet/default"),
        SampleRequest::with(
            "update_wallet_default",
            Method::PUT,
            "/v1/wallet/default",
            Some(json!({"Address": key})),
        ),
        SampleRequest::get("get_wallet_balance", format!("/v1/wallet/balances/{id}")),
        SampleRequest::get(
            "get_wallet_address_validation",
            format!("/v1/wallet/addresses/{key}/validation"),
        ),
        SampleRequest::get("list_mpool_messages", "/v1/mpool/messages?limit=10"),
        SampleRequest::with(
            "delete_mpool_messages",
            Method::DELETE,
            "/v1/mpool/messages?local=true",
            None,
        ),
        SampleRequest::get("list_mpool_selection", "/v1/mpool/selection?quality=0.5"),
        SampleRequest::get("get_mpool_config", "/v1/mpool/config"),
        SampleRequest::with(
            "update_mpool_config",
            Method::PUT,
            "/v1/mpool/config",
            Some(config),
        ),
        SampleRequest::get(
            "get_mpool_sender_nonce",
            format!("/v1/mpool/senders/{id}/nonce"),
        ),
        SampleRequest::get(
            "get_mpool_sender_checks",
            format!("/v1/mpool/senders/{id}/checks"),
        ),
        SampleRequest::with(
            "post_mpool_checks",
            Method::POST,
            "/v1/mpool/checks",
            Some(json!({"Messages": [{"Message": full_message(&key, 0), "ValidNonce": true}]})),
        ),
        SampleRequest::with(
            "post_mpool_replace_checks",
            Method::POST,
            "/v1/mpool/replace-checks",
            Some(json!({"Messages": [full_message(&key, 0)]})),
        ),
        SampleRequest::with(
            "create_message_gas_estimate",
            Method::POST,
            "/v1/gas/estimates",
            Some(send.clone()),
        ),
        SampleRequest::with(
            "create_gas_limit_estimate",
            Method::POST,
            "/v1/gas/limit-estimates",
            Some(json!({"Message": {"From": key, "To": "t0101", "Value": "1 FIL"}})),
        ),
        SampleRequest::with(
            "create_gas_fee_cap_estimate",
            Method::POST,
            "/v1/gas/fee-cap-estimates",
            Some(
                json!({"Message": {"From": key, "To": "t0101", "GasPremium": "50000"}, "MaxQueueBlocks": 20}),
            ),
        ),
        SampleRequest::get(
            "get_gas_premium_estimate",
            format!("/v1/gas/premium-estimate?sender={id}&gas_limit=1000000&blocks=5"),
        ),
        SampleRequest::with("create_message", Method::POST, "/v1/messages", Some(send)),
        SampleRequest::with(
            "create_message_batch",
            Method::POST,
            "/v1/messages/batch",
            Some(
                json!({"Messages": [{"From": key, "To": "t0101", "Value": "1"},
                {"From": key, "To": "t0102", "Value": "2"}]}),
            ),
        ),
        SampleRequest::with(
            "create_signed_message",
            Method::POST,
            "/v1/messages/signed",
            Some(signed.clone()),
        ),
        SampleRequest::with(
            "create_signed_message_batch",
            Method::POST,
            "/v1/messages/signed/batch",
            Some(json!({"Messages": [signed]})),
        ),
    ]
}

/// A POST with a JSON body; an empty token sends none (anonymous read).
async fn post(h: &Harness, path: &str, token: &str, body: Value) -> crate::common::Reply {
    let token = (!token.is_empty()).then_some(token);
    h.send_json(Method::POST, path, token, Some(&body)).await
}

async fn nonce(h: &Harness, address: &str) -> u64 {
    let r = h
        .get(&format!("/v1/mpool/senders/{address}/nonce"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["Nonce"].as_u64().unwrap()
}

/// Every entry of the pool, following the cursors.
async fn pending(h: &Harness) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/v1/mpool/messages?limit=2&cursor={c}"),
            None => "/v1/mpool/messages?limit=2".to_string(),
        };
        let r = h.get(&url, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.json();
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => {
                assert_eq!(page["total"].as_u64().unwrap() as usize, out.len());
                return out;
            }
        }
    }
}

fn cids(list: &[Value]) -> Vec<String> {
    list.iter()
        .map(|m| m["CID"]["/"].as_str().unwrap().to_string())
        .collect()
}

/// Produces epochs until a new tipset is at the head (a null round produces none).
fn advance_tipset(h: &Harness) {
    let before = h.sim.head().height;
    while h.sim.head().height == before {
        h.sim.advance();
    }
}

#[actix_web::test]
async fn estimate_send_see_pending_then_mined() {
    let h = Harness::start().await;
    let s = h.sample().await;
    let from = s.account.robust.clone();
    let read = h.token_up_to(Perm::Read);
    let sign = h.token_up_to(Perm::Sign);

    let body = json!({"Message": {"From": from, "To": "t0101", "Value": "0.5 FIL"}});
    let r = post(&h, "/v1/gas/estimates", &read, body.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let estimate = r.json();
    assert!(estimate["GasLimit"].as_i64().unwrap() > 0, "{estimate}");
    assert_ne!(estimate["GasFeeCap"], "0");
    assert_ne!(estimate["GasPremium"], "0");
    assert_eq!(estimate["Value"], "500000000000000000");

    let before = nonce(&h, &s.account.id).await;
    let r = post(&h, "/v1/messages", &sign, body).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let signed = r.json();
    let cid = signed["CID"]["/"].as_str().unwrap().to_string();
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/messages/{cid}").as_str())
    );
    assert_eq!(signed["Message"]["Value"], "500000000000000000");
    assert_eq!(signed["Message"]["Nonce"].as_u64().unwrap(), before);
    assert_eq!(signed["Signature"]["Type"], 1);

    assert!(cids(&pending(&h).await).contains(&cid));
    assert_eq!(nonce(&h, &s.account.id).await, before + 1);
    let r = h.get(&format!("/v1/messages/{cid}/receipt"), None).await;
    r.problem(404, "message_not_found");

    // Included by the next tipset, executed by the one after.
    let mut receipt = None;
    for _ in 0..4 {
        advance_tipset(&h);
        let r = h.get(&format!("/v1/messages/{cid}/receipt"), None).await;
        if r.status == 200 {
            receipt = Some(r.json());
            break;
        }
    }
    let receipt = receipt.expect("the message is executed");
    assert_eq!(receipt["Receipt"]["ExitCode"], 0);
    assert_eq!(receipt["Message"]["/"], cid.as_str());
    let r = h.get(&format!("/v1/messages/{cid}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Value"], "500000000000000000");
    assert!(!cids(&pending(&h).await).contains(&cid));
    let actor = h.get(&format!("/v1/actors/{}", s.account.id), None).await;
    assert!(actor.json()["Nonce"].as_u64().unwrap() > before);
    assert!(nonce(&h, &s.account.id).await > before);
}

#[actix_web::test]
async fn sending_needs_sign_and_valid_amounts() {
    let h = Harness::start().await;
    let s = h.sample().await;
    let body = json!({"Message": {"From": s.account.robust, "To": "t0101", "Value": "0.5 FIL"}});
    for perm in [Perm::Read, Perm::Write] {
        h.sim.reset_calls();
        let r = post(&h, "/v1/messages", &h.token_up_to(perm), body.clone()).await;
        r.problem(403, "insufficient_permission");
        assert!(h.sim.calls().is_empty(), "{:?}", h.sim.calls());
    }
    let sign = h.token_up_to(Perm::Sign);
    for (message, field) in [
        (
            json!({"From": s.account.robust, "To": "t0101", "Value": "1.5 BTC"}),
            "Message.Value",
        ),
        (
            json!({"From": s.account.robust, "To": "t0101", "Value": "0.0000000000000000001 FIL"}),
            "Message.Value",
        ),
        (
            json!({"From": "f0100x", "To": "t0101", "Value": "1"}),
            "Message.From",
        ),
        (
            json!({"From": s.account.robust, "To": "x", "Value": "1"}),
            "Message.To",
        ),
        (
            json!({"From": s.account.robust, "To": "t0101", "Colour": "red"}),
            "Colour",
        ),
    ] {
        h.sim.reset_calls();
        let r = post(&h, "/v1/messages", &sign, json!({ "Message": message })).await;
        let p = r.problem(400, "invalid_body");
        assert!(p["detail"].as_str().unwrap().contains(field), "{p}");
        assert!(h.sim.calls().is_empty());
    }
    // A sender whose key the wallet does not hold cannot send.
    let r = post(
        &h,
        "/v1/messages",
        &sign,
        json!({"Message": {"From": "t0109", "To": "t0101", "Value": "1"}}),
    )
    .await;
    let p = r.problem(404, "not_found");
    assert!(
        p["detail"].as_str().unwrap().contains("key info not found"),
        "{p}"
    );
}

#[actix_web::test]
async fn wallet_keys_create_export_import_delete() {
    let h = Harness::start().await;
    let write = h.token_up_to(Perm::Write);
    let admin = h.token_up_to(Perm::Admin);
    let r = h.get("/v1/wallet/keys", Some(&write)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let start: Vec<String> = serde_json::from_value(r.json()).unwrap();
    assert_eq!(start.len(), 6);

    let r = post(&h, "/v1/wallet/keys", &write, json!({"Type": "bls"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let address = r.json()["Address"].as_str().unwrap().to_string();
    assert!(address.starts_with("t3"), "{address}");
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/wallet/keys/{address}").as_str())
    );
    let r = h
        .get(&format!("/v1/wallet/keys/{address}"), Some(&write))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = h.get("/v1/wallet/keys", Some(&write)).await;
    assert!(r.json().as_array().unwrap().contains(&json!(address)));
    // A new key has no actor until funded.
    let r = h.get(&format!("/v1/wallet/balances/{address}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Balance"], "0");

    let r = h
        .get(
            &format!("/v1/wallet/keys/{address}/private-key"),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let key = r.json();
    assert_eq!(key["Type"], "bls");

    let r = h
        .send(
            Method::DELETE,
            &format!("/v1/wallet/keys/{address}"),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = h
        .get(&format!("/v1/wallet/keys/{address}"), Some(&write))
        .await;
    r.problem(404, "not_found");
    let r = h
        .send(
            Method::DELETE,
            &format!("/v1/wallet/keys/{address}"),
            Some(&admin),
        )
        .await;
    r.problem(404, "not_found");
    let r = post(
        &h,
        &format!("/v1/wallet/keys/{address}/sign"),
        &h.token_up_to(Perm::Sign),
        json!({"Data": "aGVsbG8="}),
    )
    .await;
    r.problem(404, "not_found");

    // The exported key imports back to the same address.
    let r = post(&h, "/v1/wallet/keys/import", &admin, key).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["Address"], address.as_str());
    let r = h
        .get(&format!("/v1/wallet/keys/{address}"), Some(&write))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    for (body, field) in [
        (json!({"Type": "rsa"}), "Type"),
        (json!({"Type": "bls", "Extra": 1}), "Extra"),
    ] {
        let r = post(&h, "/v1/wallet/keys", &write, body).await;
        let p = r.problem(400, "invalid_body");
        assert!(p["detail"].as_str().unwrap().contains(field), "{p}");
    }
    let r = post(
        &h,
        "/v1/wallet/keys/import",
        &admin,
        json!({"Type": "bls", "PrivateKey": "c2hvcnQ="}),
    )
    .await;
    let p = r.problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("PrivateKey"), "{p}");
    // Deleting needs admin.
    let r = h
        .send(
            Method::DELETE,
            &format!("/v1/wallet/keys/{address}"),
            Some(&h.token_up_to(Perm::Sign)),
        )
        .await;
    r.problem(403, "insufficient_permission");
}

#[actix_web::test]
async fn wallet_default_sign_and_verify() {
    let h = Harness::start().await;
    let s = h.sample().await;
    let key = s.account.robust.clone();
    let write = h.token_up_to(Perm::Write);
    let sign = h.token_up_to(Perm::Sign);
    let admin = h.token_up_to(Perm::Admin);

    let r = h.get("/v1/wallet/default", Some(&write)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Address"], key.as_str());
    let other = h.sim.accounts()[1].robust.clone();
    let r = h
        .send_json(
            Method::PUT,
            "/v1/wallet/default",
            Some(&write),
            Some(&json!({"Address": other})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = h.get("/v1/wallet/default", Some(&write)).await;
    assert_eq!(r.json()["Address"], other.as_str());
    // Deleting the default key leaves no default.
    let r = h
        .send(
            Method::DELETE,
            &format!("/v1/wallet/keys/{other}"),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = h.get("/v1/wallet/default", Some(&write)).await;
    r.problem(404, "not_found");
    let r = h
        .send_json(
            Method::PUT,
            "/v1/wallet/default",
            Some(&write),
            Some(&json!({"Address": other})),
        )
        .await;
    r.problem(404, "not_found");

    // Sign and verify, by key address and by ID address.
    let r = post(
        &h,
        &format!("/v1/wallet/keys/{}/sign", s.account.id),
        &sign,
        json!({"Data": "aGVsbG8="}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let signature = r.json();
    assert_eq!(signature["Type"], 1);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(signature["Data"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes.len(), 65);
    let verify = |data: &str| json!({"Address": key, "Data": data, "Signature": signature});
    let r = post(&h, "/v1/wallet/verify", "", verify("aGVsbG8=")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Valid"], true);
    let r = post(&h, "/v1/wallet/verify", "", verify("aGVsbG9v")).await;
    assert_eq!(r.json()["Valid"], false);
    let r = post(&h, "/v1/wallet/verify", "", verify("not base64!")).await;
    let p = r.problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("\"Data\""), "{p}");

    // A BLS key signs with 96 bytes of type 2.
    let bls = h.sim.accounts()[3].robust.clone();
    let r = post(
        &h,
        &format!("/v1/wallet/keys/{bls}/sign"),
        &sign,
        json!({"Data": "aGVsbG8="}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Type"], 2);

    let r = h
        .get(&format!("/v1/wallet/addresses/{key}/validation"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Address"], key.as_str());
    let r = h.get("/v1/wallet/addresses/t9xyz/validation", None).await;
    r.problem(400, "invalid_parameter");
    let r = h.get("/v1/wallet/balances/t0100", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_ne!(r.json()["Balance"], "0");
}

#[actix_web::test]
async fn signed_messages_are_pushed_checked_and_mined() {
    let h = Harness::start().await;
    let s = h.sample().await;
    let key = s.account.robust.clone();
    let sign = h.token_up_to(Perm::Sign);
    let write = h.token_up_to(Perm::Write);
    let next = nonce(&h, &key).await;

    let r = post(
        &h,
        &format!("/v1/wallet/keys/{key}/sign-message"),
        &sign,
        full_message(&key, next),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let signed = r.json();
    let body = json!({"Message": full_message(&key, next), "Signature": signed["Signature"]});
    let r = post(&h, "/v1/messages/signed", &write, body.clone()).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let cid = r.json()["CID"]["/"].as_str().unwrap().to_string();
    assert_eq!(cid, signed["CID"]["/"].as_str().unwrap());
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/messages/{cid}").as_str())
    );
    assert!(cids(&pending(&h).await).contains(&cid));
    assert_eq!(nonce(&h, &key).await, next + 1);
    let r = h.get(&format!("/v1/messages/{cid}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // The same nonce again, without a higher premium, is refused; a nonce already used is too low.
    let mut again = body.clone();
    again["Message"]["Value"] = json!("2 FIL");
    let r = post(&h, "/v1/messages/signed", &write, again).await;
    r.problem(400, "invalid_body");
    // The signature's type must match the sender's key.
    let mut wrong = body.clone();
    wrong["Signature"] = json!({"Type": 2, "Data": b64(&[1; 96])});
    let r = post(&h, "/v1/messages/signed", &write, wrong).await;
    let p = r.problem(400, "invalid_body");
    assert!(
        p["detail"].as_str().unwrap().contains("Signature.Type"),
        "{p}"
    );
    let mut short = body.clone();
    short["Signature"] = json!({"Type": 1, "Data": b64(&[1; 10])});
    let r = post(&h, "/v1/messages/signed", &write, short).await;
    r.problem(400, "invalid_body");
    // An untrusted push refuses a nonce gap.
    let gap = json!({"Message": full_message(&key, next + 50), "Signature": {"Type": 1, "Data": b64(&[1; 65])}});
    let r = post(&h, "/v1/messages/signed?untrusted=true", &write, gap).await;
    r.problem(400, "invalid_body");
    let r = post(&h, "/v1/messages/signed?untrusted=maybe", &write, body).await;
    r.problem(400, "invalid_parameter");

    // The checks of the pending message, and of one whose sender cannot pay.
    let r = h
        .get(&format!("/v1/mpool/senders/{}/checks", s.account.id), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let checks = r.json();
    assert_eq!(checks.as_array().unwrap().len(), 1, "{checks}");
    let mut rich = full_message(&key, next + 1);
    rich["Value"] = json!("1000000 FIL");
    let r = post(
        &h,
        "/v1/mpool/checks",
        "",
        json!({"Messages": [{"Message": rich, "ValidNonce": true}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let balance = r.json()[0]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Code"] == 12)
        .cloned()
        .unwrap();
    assert_eq!(balance["OK"], false, "{balance}");

    // Mined by the next tipset, with the selection showing it first.
    let r = h.get("/v1/mpool/selection", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(cids(r.json()["items"].as_array().unwrap()).contains(&cid));
    advance_tipset(&h);
    assert!(!cids(&pending(&h).await).contains(&cid));
    // The block's own messages may include more from the same sender.
    assert!(nonce(&h, &key).await > next);
    let r = h.get(&format!("/v1/messages/{cid}"), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Nonce"].as_u64().unwrap(), next);
}

#[actix_web::test]
async fn pool_pages_clears_and_configures() {
    let h = Harness::start().await;
    let s = h.sample().await;
    let sign = h.token_up_to(Perm::Sign);
    let write = h.token_up_to(Perm::Write);
    let admin = h.token_up_to(Perm::Admin);
    assert!(pending(&h).await.is_empty());
    let r = post(
        &h,
        "/v1/messages/batch",
        &sign,
        json!({"Messages": (0..5).map(|i| json!({"From": s.account.robust, "To": "t0101", "Value": format!("{i} FIL")})).collect::<Vec<_>>()}),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let sent = cids(r.json().as_array().unwrap());
    assert_eq!(sent.len(), 5);
    let listed = cids(&pending(&h).await);
    assert_eq!(listed, sent, "every entry once, in order");

    let r = h.get("/v1/mpool/messages?limit=0", None).await;
    r.problem(400, "invalid_parameter");
    let r = h.get("/v1/mpool/selection?quality=2", None).await;
    r.problem(400, "invalid_parameter");

    let r = h
        .send(
            Method::DELETE,
            "/v1/mpool/messages?local=true",
            Some(&write),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(pending(&h).await.is_empty());

    let r = h.get("/v1/mpool/config", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut config = r.json();
    assert_eq!(config["ReplaceByFeeRatio"], 1.25);
    config["ReplaceByFeeRatio"] = json!(2.0);
    config["PriorityAddrs"] = json!([s.account.robust]);
    let r = h
        .send_json(Method::PUT, "/v1/mpool/config", Some(&write), Some(&config))
        .await;
    r.problem(403, "insufficient_permission");
    let r = h
        .send_json(Method::PUT, "/v1/mpool/config", Some(&admin), Some(&config))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = h.get("/v1/mpool/config", None).await;
    assert_eq!(r.json(), config);
    for (field, value) in [
        ("ReplaceByFeeRatio", json!(1.0)),
        ("GasLimitOverestimation", json!(0.5)),
        ("SizeLimitLow", json!(99_999_999)),
        ("PriorityAddrs", json!(["nope"])),
    ] {
        let mut bad = config.clone();
        bad[field] = value;
        let r = h
            .send_json(Method::PUT, "/v1/mpool/config", Some(&admin), Some(&bad))
            .await;
        let p = r.problem(400, "invalid_body");
        assert!(p["detail"].as_str().unwrap().contains(field), "{p}");
    }
}

#[actix_web::test]
async fn gas_estimates_and_their_errors() {
    let h = Harness::start().await;
    let s = h.sample().await;
    let from = s.account.robust.clone();
    let r = post(
        &h,
        "/v1/gas/limit-estimates",
        "",
        json!({"Message": {"From": from, "To": "t0101"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let limit = r.json()["GasLimit"].as_i64().unwrap();
    // The full estimate applies the pool's overestimation to the same limit.
    let r = post(
        &h,
        "/v1/gas/estimates",
        "",
        json!({"Message": {"From": from, "To": "t0101"}}),
    )
    .await;
    assert_eq!(r.json()["GasLimit"].as_i64().unwrap(), limit * 5 / 4);
    let r = post(
        &h,
        &format!("/v1/gas/estimates?height={}", s.height),
        "",
        json!({"Message": {"From": from, "To": "t0101"}, "Spec": {"MaxFee": "1000", "MaximizeFeeCap": true}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["GasFeeCap"], "0", "MaxFee caps the fee cap");
    let r = post(
        &h,
        "/v1/gas/fee-cap-estimates",
        "",
        json!({"Message": {"From": from, "To": "t0101"}, "MaxQueueBlocks": 10}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = post(
        &h,
        "/v1/gas/fee-cap-estimates",
        "",
        json!({"Message": {"From": from, "To": "t0101"}, "MaxQueueBlocks": -1}),
    )
    .await;
    let p = r.problem(400, "invalid_body");
    assert!(
        p["detail"].as_str().unwrap().contains("MaxQueueBlocks"),
        "{p}"
    );
    let r = h
        .get(
            "/v1/gas/premium-estimate?sender=t0100&gas_limit=1000000&blocks=1",
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let fast: u64 = r.json()["GasPremium"].as_str().unwrap().parse().unwrap();
    let r = h
        .get(
            "/v1/gas/premium-estimate?sender=t0100&gas_limit=1000000&blocks=100",
            None,
        )
        .await;
    let slow: u64 = r.json()["GasPremium"].as_str().unwrap().parse().unwrap();
    assert!(fast > slow);
    for url in [
        "/v1/gas/premium-estimate?gas_limit=1000000",
        "/v1/gas/premium-estimate?sender=t0100&gas_limit=abc",
        "/v1/gas/premium-estimate?sender=t0100&gas_limit=1&blocks=0",
    ] {
        let r = h.get(url, None).await;
        r.problem(400, "invalid_parameter");
    }
    // Unknown senders are 404.
    let r = h
        .get(
            "/v1/gas/premium-estimate?sender=t09999&gas_limit=1000000",
            None,
        )
        .await;
    r.problem(404, "actor_not_found");
    let r = h.get("/v1/mpool/senders/t09999/nonce", None).await;
    r.problem(404, "actor_not_found");
    let r = post(
        &h,
        "/v1/gas/limit-estimates",
        "",
        json!({"Message": {"From": "t09999", "To": "t0101"}}),
    )
    .await;
    r.problem(404, "actor_not_found");
}
