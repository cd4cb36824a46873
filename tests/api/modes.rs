//! The authentication modes: passthrough with the node's secret, passthrough asking the node, own secret;
//! anonymous access on or off.

use lotus_rest::auth::Perm;

use crate::common::{Harness, Options};

#[actix_web::test]
async fn passthrough_forwards_the_callers_token() {
    let h = Harness::start().await;
    // A token the node issued works unchanged through the gateway.
    let token = h.token_up_to(Perm::Read);
    let r = h.get("/v1/chain/head", Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[actix_web::test]
async fn passthrough_without_the_secret_asks_the_node_once() {
    let h = Harness::with(Options {
        secret_known: false,
        ..Options::default()
    })
    .await;
    // A token the gateway has not seen yet (the harness used a read token at start).
    let token = h.token_up_to(Perm::Write);
    h.sim.reset_calls();
    for _ in 0..3 {
        let r = h.get("/v1/chain/head", Some(&token)).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let verifies = h
        .sim
        .calls()
        .iter()
        .filter(|c| *c == "Filecoin.AuthVerify")
        .count();
    assert_eq!(
        verifies,
        1,
        "the node's answer is cached: {:?}",
        h.sim.calls()
    );

    // A token of another secret is refused by the node, and so by the gateway.
    let forged = lotus_rest::auth::Secret::generate().mint(Perm::Admin.up_to());
    let r = h.get("/v1/chain/head", Some(&forged)).await;
    r.problem(401, "unauthorized");
    // A token that is not even a JWT never reaches the node.
    h.sim.reset_calls();
    let r = h.get("/v1/chain/head", Some("garbage")).await;
    r.problem(401, "unauthorized");
    assert!(h.sim.calls().is_empty());
}

#[actix_web::test]
async fn own_mode_uses_the_gateways_secret_and_upstream_token() {
    let h = Harness::with(Options {
        mode: "own",
        ..Options::default()
    })
    .await;
    let own = h.own_secret.clone().unwrap();
    let r = h
        .get("/v1/chain/head", Some(&own.mint(Perm::Read.up_to())))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The node's own tokens are not the gateway's.
    let r = h
        .get("/v1/chain/head", Some(&h.token_up_to(Perm::Admin)))
        .await;
    r.problem(401, "unauthorized");
}

#[actix_web::test]
async fn anonymous_none_requires_a_token() {
    let h = Harness::with(Options {
        anonymous: "none",
        ..Options::default()
    })
    .await;
    let r = h.get("/v1/chain/head", None).await;
    let p = r.problem(401, "unauthorized");
    assert!(p["detail"].as_str().unwrap().contains("'read'"), "{p}");
    assert!(h.sim.calls().is_empty());
    let r = h
        .get("/v1/chain/head", Some(&h.token_up_to(Perm::Read)))
        .await;
    assert_eq!(r.status, 200);
    // Health needs no token.
    assert_eq!(h.get("/healthz", None).await.status, 200);
}
