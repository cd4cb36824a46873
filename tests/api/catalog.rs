//! The method table test: every Lotus full-node method has a REST route or a stated reason why not, and the route
//! that serves it refuses a token just below its permission without calling the node, and succeeds with a token
//! at it, calling the method it serves.

use lotus_rest::auth::Perm;
use lotus_rest::lotus::methods::FULL_NODE;
use serde_json::Value;

use crate::common::{Harness, Options};
use crate::permissions::{just_below, operations};

fn options() -> Options {
    Options {
        vars: vec![
            ("LOTUS_REST_CACHE_ENTRIES", "0".into()),
            ("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into()),
        ],
        ..Default::default()
    }
}

#[actix_web::test]
async fn every_full_node_method_has_a_route_or_a_reason_and_its_permission_holds() {
    let h = Harness::with(options()).await;
    let r = h.get("/v1/methods", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let catalog = r.json();
    let entries = catalog["methods"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        FULL_NODE.len(),
        "every method of the table is listed"
    );
    assert!(h.sim.calls().is_empty(), "the catalogue calls no node");

    let sample = h.sample().await;
    let samples = crate::table::samples(&h, &sample);
    let ops = operations();
    let mut rows = Vec::new();
    let (mut routable, mut routed) = (0usize, 0usize);
    for entry in entries {
        let name = entry["method"].as_str().unwrap();
        let perm: Perm = entry["permission"].as_str().unwrap().parse().unwrap();
        let routes = entry["routes"].as_array().unwrap();
        let reason = entry["no_route_reason"].as_str();
        let exempt =
            entry["group"] == "Eth" || lotus_rest::routes::catalog::CHANNEL_METHODS.contains(&name);
        if !exempt {
            routable += 1;
        }
        let Some(route) = routes.first() else {
            let reason = reason.unwrap_or_else(|| panic!("{name}: no route and no reason"));
            rows.push(format!("{name:48} {perm:6} -  ({reason})"));
            continue;
        };
        assert!(reason.is_none(), "{name}: a route and a reason");
        if !exempt {
            routed += 1;
        }
        let op_id = route["operation_id"].as_str().unwrap();
        let op = ops
            .iter()
            .find(|o| o.operation_id == op_id)
            .unwrap_or_else(|| panic!("{name}: {op_id} is not in the spec"));
        let op_perm = op
            .perm
            .unwrap_or_else(|| panic!("{op_id} has no permission"));
        assert!(
            op_perm >= perm,
            "{name} needs {perm} but {op_id} asks only {op_perm}"
        );
        let req = crate::table::request_for(&samples, &sample, op);
        let label = format!("{name} via {} {}", req.method, req.path);

        // Just below the route's permission: 403, and nothing reaches the node.
        h.sim.reset_calls();
        let below = h.secret.mint(just_below(op_perm));
        let r = h.send_sample(&req, Some(&below)).await;
        r.problem(403, "insufficient_permission");
        assert!(
            h.sim.calls().is_empty(),
            "{label}: a refused request reached the node"
        );
        // A stream never ends: tests/api/streams.rs follows the events it carries.
        if lotus_rest::routes::catalog::CHANNEL_METHODS.contains(&name) {
            rows.push(format!(
                "{name:48} {perm:6} {} {} (a stream)",
                req.method, req.path
            ));
            continue;
        }

        // At it: success, and the node is asked for the method itself. A request that changes state gets a node
        // of its own.
        let fresh;
        let target = if req.method == reqwest::Method::GET {
            &h
        } else {
            fresh = Harness::with(options()).await;
            &fresh
        };
        target.sim.reset_calls();
        let token = target.token_up_to(op_perm);
        let r = target.send_sample(&req, Some(&token)).await;
        assert!(
            r.status < 300,
            "{label}: with a {op_perm} token: {} {}",
            r.status,
            r.text
        );
        let calls = target.sim.calls();
        assert!(
            calls.iter().any(|c| c == name) || op_serves_alternatives(op_id),
            "{label}: the node was not asked for {name}; it saw {calls:?}"
        );
        rows.push(format!(
            "{name:48} {perm:6} {} {} -> {}",
            req.method, req.path, r.status
        ));
    }
    eprintln!("{}", rows.join("\n"));
    assert_eq!(catalog["routable"], routable);
    assert_eq!(catalog["routed"], routed);
    assert!(
        routed * 100 >= routable * 95,
        "{routed} of {routable} methods outside Eth and the channel methods have a route: fewer than 95%"
    );
}

/// Whether the operation serves several Lotus methods chosen by its parameters (`x-lotus-serves`): its sample
/// request calls one of them.
fn op_serves_alternatives(op_id: &str) -> bool {
    let spec = serde_json::to_value(lotus_rest::openapi()).unwrap();
    spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .any(|op: &Value| op["operationId"] == op_id && op.get("x-lotus-serves").is_some())
}

#[actix_web::test]
async fn the_catalogue_filters_and_explains() {
    let h = Harness::start().await;
    let r = h
        .get("/v1/methods?group=Wallet&permission=admin", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    let names: Vec<&str> = body["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "Filecoin.WalletDelete",
            "Filecoin.WalletExport",
            "Filecoin.WalletImport"
        ]
    );
    let r = h.get("/v1/methods?group=Eth", None).await;
    let eth = r.json();
    assert!(eth["methods"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["routes"].as_array().unwrap().is_empty()
            && m["no_route_reason"].as_str().unwrap().contains("/rpc/v1")));
    let r = h.get("/v1/methods?permission=root", None).await;
    r.problem(400, "invalid_parameter");
    let r = h.get("/v1/methods?colour=blue", None).await;
    r.problem(400, "invalid_query");
}
