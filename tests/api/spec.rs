//! The OpenAPI document: committed, current, and complete for every operation.

use std::collections::HashSet;

use crate::common::Harness;

fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json")
}

#[test]
fn committed_spec_is_current() {
    let generated = lotus_rest::openapi::to_pretty_json(&lotus_rest::openapi());
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(committed_path(), &generated).unwrap();
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json differs from what the code generates: run `cargo run -- openapi > openapi/openapi.json` \
         (or the tests with UPDATE_OPENAPI=1) and commit it"
    );
}

#[test]
fn every_operation_is_documented() {
    let spec = serde_json::to_value(lotus_rest::openapi()).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    let tags: HashSet<&str> = spec["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut ids = HashSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (verb, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap();
            let prefix = id.split('_').next().unwrap();
            // CRUD verbs name CRUD routes; a POST to an action segment (`/settle`, `/verify`) is named for its
            // action, and a stream for what it streams.
            let action = verb == "post" && !path.rsplit('/').next().unwrap().starts_with('{');
            assert!(
                ["get", "list", "create", "update", "delete", "put", "post", "replace"]
                    .contains(&prefix)
                    || ["healthz", "readyz"].contains(&id)
                    || action
                    || (prefix == "stream" && path.starts_with("/v1/streams/")),
                "{verb} {path}: operationId {id} is not <verb>_<resource>"
            );
            assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{id}: summary"
            );
            let tag = op["tags"][0]
                .as_str()
                .unwrap_or_else(|| panic!("{id}: tag"));
            assert!(tags.contains(tag), "{id}: tag {tag} is not declared");
            assert!(op["security"].is_array(), "{id}: security");
            for param in op["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap();
                assert!(
                    param["description"].as_str().is_some(),
                    "{id}: {name} has no description"
                );
                assert!(param["schema"].is_object(), "{id}: {name} has no schema");
                assert!(
                    param.get("example").is_some() || param["schema"].get("example").is_some(),
                    "{id}: {name} has no example"
                );
            }
            let responses = op["responses"].as_object().unwrap();
            // A WebSocket upgrade succeeds with 101 Switching Protocols.
            let success: Vec<&String> = responses
                .keys()
                .filter(|k| k.starts_with('2') || *k == "101")
                .collect();
            assert!(!success.is_empty(), "{id}: no success response");
            for status in success {
                let Some(content) = responses[status]["content"].as_object() else {
                    assert!(
                        ["101", "201", "202", "204"].contains(&status.as_str()),
                        "{id}: {status} has no content"
                    );
                    continue;
                };
                let ok = content
                    .get("application/json")
                    .or_else(|| content.values().next())
                    .map(|c| &c["schema"])
                    .unwrap();
                assert!(ok.is_object(), "{id}: {status} has a schema");
                assert!(
                    ok.get("type").and_then(|t| t.as_str()) != Some("object")
                        || ok.get("properties").is_some()
                        || ok.get("additionalProperties").is_some(),
                    "{id}: {status} is modelled, not a bare object"
                );
            }
            // Routes that need a token (all of /v1/ but the public method catalogue) document its refusals.
            let guarded = op["security"]
                .as_array()
                .unwrap()
                .iter()
                .any(|req| req.get("lotus_token").is_some());
            if path.starts_with("/v1/") && guarded {
                for status in ["401", "403", "502", "503", "504"] {
                    assert_eq!(
                        op["responses"][status]["content"]["application/problem+json"]["schema"]
                            ["$ref"],
                        "#/components/schemas/Problem",
                        "{id}: {status}"
                    );
                }
            }
        }
    }
    for schema in [
        "TipSet",
        "BlockHeader",
        "Message",
        "MsgLookup",
        "Actor",
        "BlockMessages",
        "Problem",
    ] {
        assert!(
            spec["components"]["schemas"][schema].is_object(),
            "schema {schema}"
        );
    }
}

#[actix_web::test]
async fn the_spec_and_swagger_ui_are_served() {
    let h = Harness::start().await;
    let r = h.get("/openapi.json", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        serde_json::to_value(lotus_rest::openapi()).unwrap()
    );
    assert_eq!(r.headers["vary"], "accept-encoding");
    // Kept gzipped: a client that takes gzip gets it as it is (a tenth of the size), the same document.
    let gz = h
        .http
        .get(format!("{}/openapi.json", h.base))
        .header("accept-encoding", "br, gzip;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.status(), 200);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let packed = gz.bytes().await.unwrap();
    assert!(
        packed.len() * 5 < r.text.len(),
        "{} of {}",
        packed.len(),
        r.text.len()
    );
    let mut json = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&packed[..]), &mut json)
        .unwrap();
    assert_eq!(json, r.text);
    // Unpacked once, then kept a while for the clients that follow.
    assert_eq!(h.get("/openapi.json", None).await.text, r.text);
    let r = h.get("/docs/", None).await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("swagger-ui"), "{}", r.text);
    let r = h.get("/docs/swagger-initializer.js", None).await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("/openapi.json"), "{}", r.text);
    let r = h.get("/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.text.len() > 100_000,
        "the bundle is served from the binary"
    );
}

/// Validates the committed document with openapi-spec-validator (PyPI), which `.ci/run` installs; says so and
/// passes when it is not installed.
#[test]
fn the_spec_validates_as_openapi_3_1() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "skipped: openapi-spec-validator is not installed (pip install openapi-spec-validator)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(
        &path,
        lotus_rest::openapi::to_pretty_json(&lotus_rest::openapi()),
    )
    .unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, json; from openapi_spec_validator import validate; \
             from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator; \
             validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator); print('valid')",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the spec is not valid OpenAPI 3.1: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
