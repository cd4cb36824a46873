//! Every route in the spec, five ways: no token, a malformed token, an `alg: none` token, a token just below the
//! route's permission and one at it. Refused requests never reach the node; every Lotus method a route calls needs
//! no more than the route's own permission.

use base64::Engine;
use lotus_rest::auth::{Perm, PermSet};
use lotus_rest::lotus::methods;

use crate::common::{shared_api_dir, Harness, Sample};

pub struct Operation {
    pub method: reqwest::Method,
    pub path: String,
    pub perm: Option<Perm>,
    pub operation_id: String,
    /// The Lotus methods the operation declares it calls (`x-lotus-methods`).
    pub lotus_methods: Vec<String>,
}

/// The operations of the spec, with the permission of their security scope.
pub fn operations() -> Vec<Operation> {
    let spec = serde_json::to_value(lotus_rest::openapi()).unwrap();
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (verb, op) in item.as_object().unwrap() {
            let method = verb.to_uppercase().parse().unwrap();
            let scopes: Vec<&str> = op["security"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|req| req.get("lotus_token"))
                .flat_map(|s| s.as_array().unwrap().iter().map(|v| v.as_str().unwrap()))
                .collect();
            assert!(scopes.len() <= 1, "{path}: one permission per operation");
            ops.push(Operation {
                method,
                path: path.clone(),
                perm: scopes.first().map(|s| s.parse().unwrap()),
                operation_id: op["operationId"].as_str().unwrap().to_string(),
                lotus_methods: op["x-lotus-methods"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| m.as_str().unwrap().to_string())
                    .collect(),
            });
        }
    }
    ops
}

/// A concrete URL for a route, with values the simulated node holds.
pub fn concrete(sample: &Sample, path: &str) -> String {
    let cid = if path.starts_with("/v1/messages") {
        &sample.message
    } else {
        &sample.block
    };
    path.replace("{height}", &sample.height.to_string())
        .replace("{key}", &sample.key)
        .replace("{cid}", cid)
        .replace("{address}", &sample.account.id)
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// The set just below `perm`: what `--perm` one level lower grants, or nothing at all below read.
pub fn just_below(perm: Perm) -> PermSet {
    match perm {
        Perm::Read => PermSet::EMPTY,
        Perm::Write => Perm::Read.up_to(),
        Perm::Sign => Perm::Write.up_to(),
        Perm::Admin => Perm::Sign.up_to(),
    }
}

#[actix_web::test]
async fn every_route_checks_its_permission_before_calling_the_node() {
    // With the cache off, every allowed request shows which methods its route calls.
    let options = || crate::common::Options {
        vars: vec![
            ("LOTUS_REST_CACHE_ENTRIES", "0".into()),
            ("LOTUS_REST_FULLNODE_HEADFROMSTREAM", "false".into()),
        ],
        ..Default::default()
    };
    let h = Harness::with(options()).await;
    let sample = h.sample().await;
    let samples = crate::table::samples(&h, &sample);
    let ops = operations();
    assert!(ops.len() >= 13, "the spec lists the routes");
    let malformed = "not.a-token";
    let alg_none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(r#"{"Allow":["read","write","sign","admin"]}"#)
    );
    let other_secret = lotus_rest::auth::Secret::generate().mint(Perm::Admin.up_to());
    for op in &ops {
        // The JSON-RPC endpoint checks each call's method; it has tests of its own. The miner's routes take the
        // miner's tokens and call the miner: tests/api/miner.rs walks them the same way.
        if op.path.starts_with("/rpc/") || op.path.starts_with("/v1/miner/") {
            continue;
        }
        let Some(perm) = op.perm else { continue };
        let req = crate::table::request_for(&samples, &sample, op);
        let url = req.path.clone();
        let label = format!("{} {url}", op.method);

        for bad in [malformed, alg_none.as_str(), other_secret.as_str()] {
            h.sim.reset_calls();
            let r = h.send_sample(&req, Some(bad)).await;
            r.problem(401, "unauthorized");
            assert!(
                r.header("www-authenticate")
                    .is_some_and(|v| v.starts_with("Bearer")),
                "{label}: WWW-Authenticate"
            );
            assert!(
                h.sim.calls().is_empty(),
                "{label}: a refused request reached the node"
            );
        }

        for insufficient in [
            just_below(perm),
            Perm::ALL.into_iter().filter(|p| *p != perm).collect(),
        ] {
            h.sim.reset_calls();
            let token = h.secret.mint(insufficient);
            let r = h.send_sample(&req, Some(&token)).await;
            let p = r.problem(403, "insufficient_permission");
            assert!(
                p["detail"].as_str().unwrap().contains(&format!("'{perm}'")),
                "{label}: the detail names the permission: {p}"
            );
            assert!(
                h.sim.calls().is_empty(),
                "{label}: a refused request reached the node"
            );
        }

        // A stream never ends: tests/api/streams.rs follows what the allowed ones carry.
        if op.path.starts_with("/v1/streams/") {
            continue;
        }
        h.sim.reset_calls();
        let r = h.send_sample(&req, None).await;
        if perm == Perm::Read {
            assert!(
                r.status < 300,
                "{label}: anonymous read: {} {}",
                r.status,
                r.text
            );
        } else {
            r.problem(401, "unauthorized");
            assert!(h.sim.calls().is_empty(), "{label}");
        }

        // A request that changes the node's state runs on a node of its own, as the samples expect a fresh one.
        let fresh;
        let target = if req.method == reqwest::Method::GET {
            &h
        } else {
            fresh = Harness::with(options()).await;
            &fresh
        };
        target.sim.reset_calls();
        let token = target.token_up_to(perm);
        let r = target.send_sample(&req, Some(&token)).await;
        assert!(
            r.status < 300,
            "{label}: with a {perm} token: {} {}",
            r.status,
            r.text
        );
        let calls = target.sim.calls();
        assert!(!calls.is_empty(), "{label}: the route calls the node");
        for call in calls {
            let needed = methods::full_node_perm(&call).unwrap_or_else(|| {
                panic!("{label} calls {call}, which is not in the method table")
            });
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
async fn a_read_token_never_causes_a_call_above_read() {
    let h = Harness::start().await;
    let token = h.token_up_to(Perm::Read);
    let sample = h.sample().await;
    let samples = crate::table::samples(&h, &sample);
    for op in operations().into_iter().filter(|op| {
        !op.path.starts_with("/rpc/")
            && !op.path.starts_with("/v1/streams/")
            && !op.path.starts_with("/v1/miner/")
    }) {
        let req = crate::table::request_for(&samples, &sample, &op);
        let url = &req.path;
        h.sim.reset_calls();
        let _ = h.send_sample(&req, Some(&token)).await;
        for call in h.sim.calls() {
            assert_eq!(
                methods::full_node_perm(&call),
                Some(Perm::Read),
                "{} {url} sent {call} for a read token",
                op.method
            );
        }
    }
}

#[test]
fn method_table_matches_the_lotus_api() {
    let Some(dir) = shared_api_dir() else {
        eprintln!("skipped: ../shared/lotus-api is not beside the project; the table is checked by its own unit tests");
        return;
    };
    for (file, table) in [
        ("methods-full.tsv", methods::FULL_NODE),
        ("methods-miner.tsv", methods::MINER),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let rows: Vec<(String, String)> = text
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                (cols[0].to_string(), cols[1].to_string())
            })
            .collect();
        assert_eq!(rows.len(), table.len(), "{file}: number of methods");
        for (name, perm) in rows {
            let m = methods::lookup(table, &name)
                .unwrap_or_else(|| panic!("{name} missing from the table"));
            assert_eq!(m.perm.as_str(), perm, "{name}");
        }
    }
}

/// The static half of the table test: every Lotus method a route declares exists, and needs no more than the
/// route's permission.
#[test]
fn declared_methods_need_no_more_than_the_route() {
    for op in operations() {
        if !op.path.starts_with("/v1/") {
            continue;
        }
        let Some(perm) = op.perm else {
            // Only an operation that calls no Lotus method (the method catalogue) may be open to all.
            assert!(
                op.lotus_methods.is_empty(),
                "{} calls the node without a permission scope",
                op.operation_id
            );
            continue;
        };
        assert!(
            !op.lotus_methods.is_empty(),
            "{} declares no x-lotus-methods",
            op.operation_id
        );
        for m in &op.lotus_methods {
            let table = if op.path.starts_with("/v1/miner/") {
                methods::MINER
            } else {
                methods::FULL_NODE
            };
            let needed = methods::lookup(table, m)
                .map(|method| method.perm)
                .unwrap_or_else(|| panic!("{}: {m} is not a Lotus method", op.operation_id));
            assert!(
                needed <= perm,
                "{} ({perm}) declares {m}, which needs {needed}",
                op.operation_id
            );
        }
    }
}
