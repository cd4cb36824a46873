//! The miner's routes (`/v1/miner/...`) against the simulated miner: the same table test as the node's routes
//! (bad tokens 401, a token just below the route's permission 403, both without any call upstream; a token at it
//! succeeds, and the miner sees only the methods the route declares), the catalogue of miner methods, and the
//! gateway without a miner.

use lotus_rest::auth::Perm;
use lotus_rest::lotus::methods;
use serde_json::Value;

use crate::common::{Harness, Options};
use crate::permissions::{just_below, operations, Operation};
use crate::table::SampleRequest;

fn with_miner() -> Options {
    Options {
        miner: true,
        ..Default::default()
    }
}

/// The miner's operations in the spec.
fn miner_operations() -> Vec<Operation> {
    operations()
        .into_iter()
        .filter(|op| op.path.starts_with("/v1/miner/"))
        .collect()
}

/// The sample request of a miner operation: its resource module's, or the bare path for routes without
/// parameters.
fn sample_for(samples: &[SampleRequest], op: &Operation) -> SampleRequest {
    samples
        .iter()
        .find(|r| r.op_id == op.operation_id)
        .cloned()
        .unwrap_or_else(|| {
            assert!(
                !op.path.contains('{'),
                "{}: no sample request for a path with parameters",
                op.operation_id
            );
            SampleRequest {
                op_id: "",
                method: op.method.clone(),
                path: op.path.clone(),
                body: None,
            }
        })
}

#[actix_web::test]
async fn every_miner_route_checks_its_permission_before_calling_the_miner() {
    let h = Harness::with(with_miner()).await;
    let miner = h.miner.clone().expect("the harness runs a miner");
    let samples = crate::table::miner_samples(&h);
    let ops = miner_operations();
    assert!(!ops.is_empty(), "the spec lists the miner's routes");
    let node_admin = h.token_up_to(Perm::Admin);
    for op in &ops {
        let perm = op
            .perm
            .unwrap_or_else(|| panic!("{} has no permission", op.operation_id));
        let req = sample_for(&samples, op);
        let label = format!("{} {}", req.method, req.path);

        // A node token is not a miner token: the miner has a secret of its own.
        miner.reset_calls();
        let r = h.send_sample(&req, Some(&node_admin)).await;
        r.problem(401, "unauthorized");
        assert!(
            miner.calls().is_empty(),
            "{label}: a refused request reached the miner"
        );

        for insufficient in [
            just_below(perm),
            Perm::ALL.into_iter().filter(|p| *p != perm).collect(),
        ] {
            miner.reset_calls();
            let token = h.miner_secret.mint(insufficient);
            let r = h.send_sample(&req, Some(&token)).await;
            let p = r.problem(403, "insufficient_permission");
            assert!(
                p["detail"].as_str().unwrap().contains(&format!("'{perm}'")),
                "{label}: the detail names the permission: {p}"
            );
            assert!(
                miner.calls().is_empty(),
                "{label}: a refused request reached the miner"
            );
        }

        // At the permission: success. A request that changes state gets a miner of its own.
        let fresh;
        let target = if req.method == reqwest::Method::GET {
            &h
        } else {
            fresh = Harness::with(with_miner()).await;
            &fresh
        };
        let target_miner = target.miner.clone().unwrap();
        target_miner.reset_calls();
        let token = target.miner_secret.mint(perm.up_to());
        let r = target.send_sample(&req, Some(&token)).await;
        assert!(
            r.status < 300,
            "{label}: with a {perm} miner token: {} {}",
            r.status,
            r.text
        );
        let calls = target_miner.calls();
        assert!(!calls.is_empty(), "{label}: the route calls the miner");
        for call in calls {
            let needed = methods::lookup(methods::MINER, &call)
                .map(|m| m.perm)
                .unwrap_or_else(|| panic!("{label} calls {call}, which the miner does not have"));
            assert!(
                needed <= perm,
                "{label} ({perm}) calls {call}, which needs {needed}"
            );
            assert!(
                op.lotus_methods.contains(&call),
                "{label} calls {call}, which its x-lotus-methods does not declare"
            );
        }
    }
}

#[actix_web::test]
async fn the_catalogue_lists_every_miner_method_with_its_route_or_why_none() {
    let h = Harness::start().await;
    let r = h.get("/v1/methods?api=miner", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let catalog = r.json();
    let entries = catalog["methods"].as_array().unwrap();
    assert_eq!(entries.len(), methods::MINER.len());
    let mut missing = Vec::new();
    for entry in entries {
        let name = entry["method"].as_str().unwrap();
        let routes = entry["routes"].as_array().unwrap();
        assert_eq!(entry["json_rpc"], false, "{name}: /rpc/v1 is the node's");
        for route in routes {
            assert!(
                route["path"].as_str().unwrap().starts_with("/v1/miner/"),
                "{name}: {route}"
            );
        }
        if routes.is_empty() {
            let reason = entry["no_route_reason"].as_str().unwrap();
            if reason.contains("yet") {
                missing.push(name.to_string());
            }
        }
    }
    let routed = catalog["routed"].as_u64().unwrap() as usize;
    let routable = catalog["routable"].as_u64().unwrap() as usize;
    assert!(
        routed * 100 >= routable * 95,
        "{routed} of {routable} miner methods have a route; without one: {missing:?}"
    );
    let r = h.get("/v1/methods?api=worker", None).await;
    let p = r.problem(400, "invalid_query");
    assert!(
        p["detail"].as_str().unwrap().contains("worker"),
        "the detail names the bad value: {p}"
    );
}

#[actix_web::test]
async fn without_a_miner_its_routes_answer_503_naming_the_setting() {
    let h = Harness::start().await;
    for op in miner_operations() {
        if op.path.contains('{') || op.method != reqwest::Method::GET {
            continue;
        }
        let r = h.get(&op.path, Some(&h.token_up_to(Perm::Admin))).await;
        let p = r.problem(503, "upstream_unavailable");
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains("MINER_API_INFO") && detail.contains("[Miner] ApiInfo"),
            "{}: {detail}",
            op.path
        );
    }
    // The node's routes are unaffected.
    assert_eq!(h.get("/v1/chain/head", None).await.status, 200);
}

#[actix_web::test]
async fn miner_tokens_are_checked_by_asking_the_miner_when_its_secret_is_not_at_hand() {
    let h = Harness::with(Options {
        miner: true,
        miner_secret_known: false,
        ..Default::default()
    })
    .await;
    let miner = h.miner.clone().unwrap();
    let token = h.miner_secret.mint(Perm::Read.up_to());
    miner.reset_calls();
    let r = h.get("/v1/miner/version", Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        miner.calls(),
        vec!["Filecoin.AuthVerify", "Filecoin.Version"]
    );
    // The miner's verdict is remembered.
    miner.reset_calls();
    assert_eq!(h.get("/v1/miner/version", Some(&token)).await.status, 200);
    assert_eq!(miner.calls(), vec!["Filecoin.Version"]);
    // A token of another secret is refused by the miner, and so by the gateway.
    let other = lotus_rest::auth::Secret::generate().mint(Perm::Admin.up_to());
    h.get("/v1/miner/version", Some(&other))
        .await
        .problem(401, "unauthorized");
}

#[actix_web::test]
async fn own_mode_serves_the_miner_with_the_gateways_tokens() {
    let h = Harness::with(Options {
        mode: "own",
        miner: true,
        ..Default::default()
    })
    .await;
    let own = h.own_secret.clone().unwrap();
    let r = h
        .get("/v1/miner/version", Some(&own.mint(Perm::Read.up_to())))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v: Value = r.json();
    assert!(v["APIVersion"].is_u64(), "{v}");
    // A miner token is not the gateway's.
    h.get(
        "/v1/miner/version",
        Some(&h.miner_secret.mint(Perm::Admin.up_to())),
    )
    .await
    .problem(401, "unauthorized");
}
