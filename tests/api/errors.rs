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
    h.wait_network_learned().await;
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
        ("/v1/actors/f01000", "invalid_parameter", "'t' prefix"),
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
