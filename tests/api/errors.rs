//! Every error is a problem document; bad parameters are refused before the node is called.

use crate::common::Harness;

#[actix_web::test]
async fn unknown_routes_and_wrong_verbs() {
    let h = Harness::start().await;
    let r = h.get("/v1/no/such/thing", None).await;
    r.problem(404, "route_not_found");
    let r = h.get("/nothing", None).await;
    r.problem(404, "route_not_found");
    let r = h.send(reqwest::Method::POST, "/v1/chain/head", None).await;
    let p = r.problem(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("GET"), "{p}");
    let r = h
        .send(
            reqwest::Method::DELETE,
            "/v1/blocks/bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c",
            None,
        )
        .await;
    r.problem(405, "method_not_allowed");
    assert!(h.sim.calls().is_empty());
}

#[actix_web::test]
async fn bad_parameters_are_explained_and_never_sent() {
    let h = Harness::start().await;
    h.sim.reset_calls();
    let cases: &[(&str, &str, &str)] = &[
        (
            "/v1/blocks/bafyxx",
            "invalid_parameter",
            "invalid CID \"bafyxx\"",
        ),
        (
            "/v1/blocks/bafyxx/messages",
            "invalid_parameter",
            "expected a CID",
        ),
        ("/v1/messages/QmNot!", "invalid_parameter", "invalid CID"),
        (
            "/v1/tipsets/-1",
            "invalid_parameter",
            "non-negative integer",
        ),
        (
            "/v1/tipsets/abc",
            "invalid_parameter",
            "non-negative integer",
        ),
        (
            "/v1/tipsets/key/bafyxx,",
            "invalid_parameter",
            "separated by commas",
        ),
        ("/v1/actors/x01234", "invalid_parameter", "network prefix"),
        (
            "/v1/actors/t1abc",
            "invalid_parameter",
            "invalid Filecoin address",
        ),
        (
            "/v1/actors/t01000?height=-5",
            "invalid_parameter",
            "non-negative integer",
        ),
        (
            "/v1/actors/t01000?height=1&tipset=bafyxx",
            "invalid_parameter",
            "not both",
        ),
        (
            "/v1/actors/t01000?tipset=nope",
            "invalid_parameter",
            "invalid CID",
        ),
        ("/v1/actors/t01000?colour=blue", "invalid_query", "colour"),
        (
            "/v1/network?height=1.5",
            "invalid_parameter",
            "non-negative integer",
        ),
        (
            "/v1/chain/head?token=abc",
            "invalid_query",
            "takes no query parameters",
        ),
        (
            "/v1/network?hieght=5",
            "invalid_query",
            "height, null_round, tipset",
        ),
    ];
    for (path, code, words) in cases {
        let r = h.get(path, None).await;
        let p = r.problem(400, code);
        assert!(p["detail"].as_str().unwrap().contains(words), "{path}: {p}");
    }
    assert!(
        h.sim.calls().is_empty(),
        "bad requests reached the node: {:?}",
        h.sim.calls()
    );
}

#[actix_web::test]
async fn unknown_objects_are_404_with_the_rpc_error() {
    let h = Harness::start().await;
    let r = h
        .get(
            "/v1/blocks/bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c",
            None,
        )
        .await;
    let p = r.problem(404, "not_found");
    assert!(
        p["rpc"]["message"]
            .as_str()
            .unwrap()
            .contains("bafy2bzacedo7hjsumaajt6sbor42qycvjyk6goqe4oi4o4ddsjxkdeqrqf42c"),
        "{p}"
    );
    assert!(p["rpc"]["code"].is_i64());
}

#[actix_web::test]
async fn request_ids_are_echoed_or_made() {
    let h = Harness::start().await;
    let res = h
        .http
        .get(format!("{}/healthz", h.base))
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = h
        .http
        .get(format!("{}/v1/nope", h.base))
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a generated UUID: {id}");
    // A header that is not a plain token is replaced, never echoed.
    let res = h
        .http
        .get(format!("{}/healthz", h.base))
        .header("X-Request-Id", "x".repeat(500))
        .send()
        .await
        .unwrap();
    assert_ne!(
        res.headers()["x-request-id"].to_str().unwrap(),
        "x".repeat(500)
    );
}

#[actix_web::test]
async fn a_malformed_authorization_header_is_401() {
    let h = Harness::start().await;
    for value in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer "] {
        let res = h
            .http
            .get(format!("{}/v1/chain/head", h.base))
            .header("Authorization", value)
            .send()
            .await
            .unwrap();
        let r = crate::common::Reply::from(res).await;
        r.problem(401, "unauthorized");
    }
    assert!(h.sim.calls().is_empty());
}

/// An operation that takes a body, called without one, is a bad request (400) naming what is missing, not a
/// 415: schemathesis sends such requests and 415 is kept for a body that is there but not JSON.
#[actix_web::test]
async fn a_missing_body_is_400() {
    use lotus_rest::auth::Perm;
    let h = Harness::start().await;
    let admin = h.token_up_to(Perm::Admin);
    for (method, path) in [
        (reqwest::Method::POST, "/v1/auth/tokens"),
        (reqwest::Method::POST, "/v1/messages"),
        (reqwest::Method::POST, "/v1/chain/exports"),
        (reqwest::Method::PUT, "/v1/mpool/config"),
        (reqwest::Method::PUT, "/v1/wallet/default"),
    ] {
        let r = h.send(method.clone(), path, Some(&admin)).await;
        let p = r.problem(400, "invalid_body");
        assert!(
            p["detail"].as_str().unwrap().contains("body is missing"),
            "{method} {path}: {p}"
        );
    }
    // A body that is there but not JSON is still refused for its media type.
    let r = h
        .http
        .post(format!("{}/v1/auth/tokens", h.base))
        .bearer_auth(&admin)
        .header("content-type", "text/plain")
        .body("read")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert!(h.sim.calls().is_empty(), "{:?}", h.sim.calls());
}

/// Inputs the node refuses as out of range (a network version it has no actors for, a height range upside down,
/// randomness from the future, a state computation below its base, an index check at or above the head, an
/// unknown actor code, parameters that do not decode) are the caller's fault: 400, never a 502.
#[actix_web::test]
async fn inputs_the_node_refuses_are_400() {
    use lotus_rest::auth::Perm;
    use serde_json::json;
    let h = Harness::start().await;
    let admin = h.token_up_to(Perm::Admin);
    for path in [
        "/v1/actor-codes?network_version=999",
        "/v1/actor-codes/manifest?network_version=999",
        "/v1/events?to_height=0",
        "/v1/randomness/beacon?epoch=13939&personalization=2&height=100&null_round=previous",
        "/v1/randomness/tickets/digest?epoch=8589934592&null_round=next&height=100",
    ] {
        let r = h.get(path, Some(&admin)).await;
        let p = r.problem(400, "invalid_parameter");
        assert!(p["detail"].as_str().unwrap().len() > 10, "{path}: {p}");
    }
    let posts = [
        ("/v1/events/query", json!({"toHeight": 0}), "invalid_parameter"),
        ("/v1/state/compute", json!({"Height": 0}), "invalid_parameter"),
        (
            "/v1/chain/index/validate",
            json!({"Backfill": false, "Height": 9223372036854775806i64}),
            "invalid_parameter",
        ),
        (
            "/v1/actor-codes/bafk2bzacedudbf7fc5va57t3tmo63snmt3en4iaidv4vo3qlyacbxaa6hlx6y/params/encode",
            json!({"Method": 2, "Params": {}}),
            "invalid_parameter",
        ),
        (
            "/v1/actors/t01001/params/decode",
            json!({"Method": 1000220, "Params": "sLiWb+3Ey4TGwP1I"}),
            "invalid_body",
        ),
    ];
    for (path, body, code) in posts {
        let r = h
            .send_json(reqwest::Method::POST, path, Some(&admin), Some(&body))
            .await;
        r.problem(400, code);
    }
}

/// Calls that are well formed but conflict with the node's state are 409, documented on their operations.
#[actix_web::test]
async fn state_conflicts_are_409() {
    use lotus_rest::auth::Perm;
    use serde_json::json;
    let h = Harness::start().await;
    let admin = h.token_up_to(Perm::Admin);
    let r = h
        .send_json(
            reqwest::Method::POST,
            "/v1/market/reservations/t0100/releases",
            Some(&admin),
            Some(&json!({"Amount": "24634729 FIL"})),
        )
        .await;
    let p = r.problem(409, "conflict");
    assert!(
        p["rpc"]["message"]
            .as_str()
            .unwrap()
            .contains("not enough funds reserved"),
        "{p}"
    );
    let backup = json!({"Path": "/var/backups/lotus/twice.cbor"});
    let r = h
        .send_json(
            reqwest::Method::POST,
            "/v1/node/backups",
            Some(&admin),
            Some(&backup),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.json());
    let r = h
        .send_json(
            reqwest::Method::POST,
            "/v1/node/backups",
            Some(&admin),
            Some(&backup),
        )
        .await;
    r.problem(409, "conflict");
    let spec = h.get("/openapi.json", None).await.json();
    for (path, method) in [
        ("/v1/market/reservations/{address}/releases", "post"),
        ("/v1/node/backups", "post"),
        ("/v1/net/peers", "post"),
    ] {
        assert!(
            spec["paths"][path][method]["responses"]["409"].is_object(),
            "{method} {path} documents its 409"
        );
    }
}

/// Two response types of the same name used to share one schema in the spec, so one operation was documented
/// with the other's shape; and JSON scalars were documented as text/plain.
#[actix_web::test]
async fn answers_are_documented_with_their_own_schema_and_media_type() {
    let h = Harness::start().await;
    let spec = h.get("/openapi.json", None).await.json();
    let schema_of = |path: &str, method: &str, status: &str| {
        let r = &spec["paths"][path][method]["responses"][status]["content"]["application/json"]
            ["schema"]["$ref"];
        let name = r.as_str().unwrap_or_else(|| panic!("{method} {path}"));
        spec["components"]["schemas"][name.rsplit('/').next().unwrap()].clone()
    };
    let verify = schema_of("/v1/wallet/verify", "post", "200");
    assert!(verify["properties"]["Valid"].is_object(), "{verify}");
    assert!(verify["properties"]["Permissions"].is_null(), "{verify}");
    let tokens = schema_of("/v1/auth/tokens/verify", "post", "200");
    assert!(tokens["properties"]["Permissions"].is_object(), "{tokens}");
    let ticket = schema_of("/v1/f3/participation-tickets", "post", "200");
    assert!(ticket["properties"]["Ticket"].is_object(), "{ticket}");
    let block = &spec["components"]["schemas"]["Ticket"];
    assert!(block["properties"]["VRFProof"].is_object(), "{block}");
    // A market operation may push nothing (`"CID": null`); a message push always has a CID.
    let market = &spec["components"]["schemas"]["MarketPushedMessage"];
    assert!(
        market["properties"]["CID"]["oneOf"]
            .as_array()
            .is_some_and(|one_of| one_of.iter().any(|s| s["type"] == "null")),
        "{market}"
    );
    let pushed = &spec["components"]["schemas"]["PushedMessage"];
    assert_eq!(pushed["required"], serde_json::json!(["CID"]), "{pushed}");
    // A JSON-RPC result is whatever the method returns: null, a scalar, an array or an object.
    let result = &spec["components"]["schemas"]["JsonRpcResponse"]["properties"]["result"];
    assert!(result.is_object() && result["type"].is_null(), "{result}");
    for path in [
        "/v1/f3/running",
        "/v1/net/listening",
        "/v1/net/version",
        "/v1/net/peers/{peer_id}/agent",
        "/v1/net/peers/{peer_id}/connectedness",
        "/v1/net/peers/{peer_id}/latency",
    ] {
        let content = &spec["paths"][path]["get"]["responses"]["200"]["content"];
        assert!(
            content["application/json"].is_object() && content["text/plain"].is_null(),
            "{path}: {content}"
        );
    }
}

#[actix_web::test]
async fn either_network_prefix_is_accepted() {
    // Lotus and Forest decode both prefixes, whatever their network: the gateway refuses neither, and passes the
    // address on as it was written.
    let h = Harness::start().await;
    for address in ["t01000", "f01000"] {
        h.sim.reset_calls();
        let r = h.get(&format!("/v1/actors/{address}"), None).await;
        assert_eq!(r.status, 200, "{address}: {}", r.text);
        assert_eq!(h.sim.calls(), ["Filecoin.StateGetActor"], "{address}");
    }
}
