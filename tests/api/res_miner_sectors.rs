//! The miner's sectors routes: the sample request of each operation with parameters, and their own tests.

use std::collections::BTreeSet;

use lotus_rest::auth::Perm;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{Harness, Options};
use crate::table::SampleRequest;

/// The sample request of each of this module's operations that has path parameters or a body.
pub fn samples(_h: &Harness) -> Vec<SampleRequest> {
    vec![
        SampleRequest::get(
            "get_miner_managed_sector",
            "/v1/miner/sectors/9?on_chain=true",
        ),
        SampleRequest::with(
            "delete_miner_sector",
            Method::DELETE,
            "/v1/miner/sectors/5",
            None,
        ),
        SampleRequest::with(
            "terminate_miner_sector",
            Method::POST,
            "/v1/miner/sectors/5/terminate",
            None,
        ),
        SampleRequest::with(
            "put_miner_sector_state",
            Method::PUT,
            "/v1/miner/sectors/91/state",
            Some(json!({"State": "PreCommit1"})),
        ),
        SampleRequest::with(
            "mark_miner_sector_for_upgrade",
            Method::POST,
            "/v1/miner/sectors/5/upgrade",
            None,
        ),
        // sector 98 is in UpdateReplica
        SampleRequest::with(
            "delete_miner_sector_upgrade",
            Method::DELETE,
            "/v1/miner/sectors/98/upgrade",
            None,
        ),
        // sector 99 waits for deals
        SampleRequest::with(
            "start_miner_sector_sealing",
            Method::POST,
            "/v1/miner/sectors/99/start-sealing",
            None,
        ),
        SampleRequest::with(
            "unseal_miner_sector",
            Method::POST,
            "/v1/miner/sectors/9/unseal",
            None,
        ),
        SampleRequest::with(
            "unseal_miner_sector_piece",
            Method::POST,
            "/v1/miner/sectors/9/pieces/unseal",
            Some(json!({"Offset": 0, "Size": 1016})),
        ),
        SampleRequest::with(
            "declare_miner_sector_recoveries",
            Method::POST,
            "/v1/miner/sectors/recoveries",
            Some(json!({"Sectors": [96]})),
        ),
        SampleRequest::with(
            "receive_miner_sector",
            Method::POST,
            "/v1/miner/sectors/received",
            Some(json!({"State": "Proving", "Sector": {"Miner": 1000, "Number": 500}, "Type": 8})),
        ),
        SampleRequest::get("list_miner_batch_sectors", "/v1/miner/batches/terminate"),
        SampleRequest::with(
            "flush_miner_batch",
            Method::POST,
            "/v1/miner/batches/precommit/flush",
            None,
        ),
        SampleRequest::get(
            "get_miner_sector_number_reservation",
            "/v1/miner/sector-numbers/reservations/snap-batch",
        ),
        SampleRequest::with(
            "create_miner_sector_number_reservation",
            Method::POST,
            "/v1/miner/sector-numbers/reservations",
            Some(json!({"Name": "import-1", "Count": 3})),
        ),
        SampleRequest::with(
            "delete_miner_sector_number_reservation",
            Method::DELETE,
            "/v1/miner/sector-numbers/reservations/snap-batch",
            None,
        ),
        SampleRequest::with(
            "add_miner_piece",
            Method::POST,
            "/v1/miner/pieces",
            Some(
                json!({"Size": 1016, "Data": {"Type": "null", "Info": "1016"},
                "Deal": {"DealID": 5432, "KeepUnsealed": true}}),
            ),
        ),
        SampleRequest::with(
            "put_miner_seal_delay",
            Method::PUT,
            "/v1/miner/sealing/seal-delay",
            Some(json!({"Duration": "1h30m"})),
        ),
        SampleRequest::with(
            "put_miner_expected_seal_duration",
            Method::PUT,
            "/v1/miner/sealing/expected-seal-duration",
            Some(json!({"Duration": 86400000000000i64})),
        ),
    ]
}

async fn harness() -> Harness {
    Harness::with(Options {
        miner: true,
        ..Default::default()
    })
    .await
}

/// Every sector of the list, page by page.
async fn all_pages(h: &Harness, token: &str, query: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut path = format!("/v1/miner/sectors?limit={limit}{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = h.get(&path, Some(token)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        let page = r.json();
        let got = page["items"].as_array().unwrap();
        assert!(got.len() <= limit);
        items.extend(got.iter().cloned());
        pages += 1;
        assert!(pages < 1000, "paging never ends");
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => {
                assert_eq!(page["total"].as_u64().unwrap() as usize, items.len());
                return items;
            }
        }
    }
}

#[actix_web::test]
async fn paging_gives_every_sector_once_and_the_state_filter_selects() {
    let h = harness().await;
    let miner = h.miner.clone().unwrap();
    let read = h.miner_token_up_to(Perm::Read);
    let items = all_pages(&h, &read, "", 25).await;
    let numbers: Vec<u64> = items
        .iter()
        .map(|i| i["SectorID"].as_u64().unwrap())
        .collect();
    let distinct: BTreeSet<u64> = numbers.iter().copied().collect();
    assert_eq!(distinct.len(), numbers.len(), "a sector came twice");
    let expected: Vec<(u64, String)> = miner.sectors();
    assert_eq!(
        numbers,
        expected.iter().map(|(n, _)| *n).collect::<Vec<_>>()
    );
    for (item, (_, state)) in items.iter().zip(&expected) {
        assert_eq!(item["State"], state.as_str(), "{item}");
    }

    // The filter, repeated or comma-separated.
    for query in ["&state=WaitDeals&state=Faulty", "&state=WaitDeals,Faulty"] {
        let filtered = all_pages(&h, &read, query, 2).await;
        let want: Vec<u64> = expected
            .iter()
            .filter(|(_, s)| s == "WaitDeals" || s == "Faulty")
            .map(|(n, _)| *n)
            .collect();
        assert!(!want.is_empty());
        let got: Vec<u64> = filtered
            .iter()
            .map(|i| i["SectorID"].as_u64().unwrap())
            .collect();
        assert_eq!(got, want, "{query}");
        assert!(filtered
            .iter()
            .all(|i| i["State"] == "WaitDeals" || i["State"] == "Faulty"));
    }

    // A bad state, limit or cursor names what is wrong.
    let p = h
        .get("/v1/miner/sectors?state=Provng", Some(&read))
        .await
        .problem(400, "invalid_parameter");
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("Provng") && detail.contains("state"),
        "{detail}"
    );
    h.get("/v1/miner/sectors?limit=0", Some(&read))
        .await
        .problem(400, "invalid_parameter");
    h.get("/v1/miner/sectors?cursor=nonsense", Some(&read))
        .await
        .problem(400, "invalid_parameter");
    // A cursor of the unfiltered list is not one of the filtered list.
    let first = h.get("/v1/miner/sectors?limit=5", Some(&read)).await.json();
    let c = first["next_cursor"].as_str().unwrap();
    h.get(
        &format!("/v1/miner/sectors?limit=5&state=Proving&cursor={c}"),
        Some(&read),
    )
    .await
    .problem(400, "invalid_parameter");
    h.get("/v1/miner/sectors?states=Proving", Some(&read))
        .await
        .problem(400, "invalid_query");
}

#[actix_web::test]
async fn a_pledged_sector_is_listed_and_a_removed_one_is_removed() {
    let h = harness().await;
    let admin = h.miner_token_up_to(Perm::Admin);
    let write = h.miner_token_up_to(Perm::Write);
    let before = h
        .get("/v1/miner/sectors/summary", Some(&admin))
        .await
        .json();

    let r = h
        .send(Method::POST, "/v1/miner/sectors", Some(&write))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let number = r.json()["Number"].as_u64().unwrap();
    assert_eq!(r.json()["Miner"], 1000);
    let location = r.header("location").unwrap().to_owned();
    assert_eq!(location, format!("/v1/miner/sectors/{number}"));
    let got = h.get(&location, Some(&admin)).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json()["SectorID"], number);
    let listed = all_pages(&h, &admin, "", 1000).await;
    assert!(listed.iter().any(|i| i["SectorID"] == number));
    let after = h
        .get("/v1/miner/sectors/summary", Some(&admin))
        .await
        .json();
    let count = |v: &Value| {
        v.as_object()
            .unwrap()
            .values()
            .map(|c| c.as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(count(&after), count(&before) + 1);

    let r = h
        .send(
            Method::DELETE,
            &format!("/v1/miner/sectors/{number}"),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.header("location"), Some(location.as_str()));
    let got = h.get(&location, Some(&admin)).await.json();
    assert_eq!(got["State"], "Removed");
    let removed = all_pages(&h, &admin, "&state=Removed", 100).await;
    assert!(removed.iter().any(|i| i["SectorID"] == number));

    // A sector number assigned to a pledge is allocated.
    let numbers = h.get("/v1/miner/sector-numbers", Some(&admin)).await.json();
    assert!(numbers["Next"].as_u64().unwrap() > number, "{numbers}");
}

#[actix_web::test]
async fn unknown_sectors_are_404_and_bad_values_400_naming_the_field() {
    let h = harness().await;
    let admin = h.miner_token_up_to(Perm::Admin);
    let p = h
        .get("/v1/miner/sectors/999999", Some(&admin))
        .await
        .problem(404, "not_found");
    assert!(p["detail"].as_str().unwrap().contains("999999"), "{p}");
    for (method, path) in [
        (Method::DELETE, "/v1/miner/sectors/999999"),
        (Method::POST, "/v1/miner/sectors/999999/terminate"),
        (Method::POST, "/v1/miner/sectors/999999/upgrade"),
        (Method::POST, "/v1/miner/sectors/999999/unseal"),
    ] {
        h.send(method, path, Some(&admin))
            .await
            .problem(404, "not_found");
    }
    let p = h
        .get("/v1/miner/sectors/nine", Some(&admin))
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("number"), "{p}");
    h.get("/v1/miner/sectors/9?on_chain=maybe", Some(&admin))
        .await
        .problem(400, "invalid_parameter");
    let p = h
        .send_json(
            Method::PUT,
            "/v1/miner/sectors/9/state",
            Some(&admin),
            Some(&json!({"State": "Sealed"})),
        )
        .await
        .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("\"State\""), "{p}");
    let p = h
        .send_json(
            Method::PUT,
            "/v1/miner/sealing/seal-delay",
            Some(&admin),
            Some(&json!({"Duration": "ninety minutes"})),
        )
        .await
        .problem(400, "invalid_body");
    assert!(
        p["detail"].as_str().unwrap().contains("\"Duration\""),
        "{p}"
    );
    h.send_json(
        Method::PUT,
        "/v1/miner/sealing/seal-delay",
        Some(&admin),
        Some(&json!({"Duration": "1h", "Extra": 1})),
    )
    .await
    .problem(400, "invalid_body");
    h.get("/v1/miner/batches/seal", Some(&admin))
        .await
        .problem(400, "invalid_parameter");
    let p = h
        .send_json(
            Method::POST,
            "/v1/miner/pieces",
            Some(&admin),
            Some(&json!({"Size": 1000, "Data": {"Type": "null", "Info": "1000"}, "Deal": {}})),
        )
        .await
        .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("\"Size\""), "{p}");
}

#[actix_web::test]
async fn durations_are_set_and_read_back_in_go_notation() {
    let h = harness().await;
    let write = h.miner_token_up_to(Perm::Write);
    let r = h
        .send_json(
            Method::PUT,
            "/v1/miner/sealing/seal-delay",
            Some(&write),
            Some(&json!({"Duration": "90m"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"Duration": "1h30m0s", "Nanoseconds": 5_400_000_000_000i64})
    );
    let got = h
        .get("/v1/miner/sealing/seal-delay", Some(&write))
        .await
        .json();
    assert_eq!(got["Duration"], "1h30m0s");
    let r = h
        .send_json(
            Method::PUT,
            "/v1/miner/sealing/expected-seal-duration",
            Some(&write),
            Some(&json!({"Duration": 60_000_000_000i64})),
        )
        .await;
    assert_eq!(r.json()["Duration"], "1m0s");
    let got = h
        .get("/v1/miner/sealing/expected-seal-duration", Some(&write))
        .await
        .json();
    assert_eq!(got["Nanoseconds"], 60_000_000_000i64);
}

#[actix_web::test]
async fn reservations_are_created_listed_and_freed() {
    let h = harness().await;
    let admin = h.miner_token_up_to(Perm::Admin);
    let r = h
        .send_json(
            Method::POST,
            "/v1/miner/sector-numbers/reservations",
            Some(&admin),
            Some(&json!({"Name": "batch-a", "Count": 4})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let created = r.json();
    assert_eq!(created["Count"], 4);
    let location = r.header("location").unwrap().to_owned();
    assert_eq!(location, "/v1/miner/sector-numbers/reservations/batch-a");
    assert_eq!(h.get(&location, Some(&admin)).await.json(), created);

    let r = h
        .send_json(
            Method::POST,
            "/v1/miner/sector-numbers/reservations",
            Some(&admin),
            Some(&json!({"Name": "batch-b", "Sectors": [1000, 1001, 1005]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json()["Sectors"], json!([1000, 2, 3, 1]));

    let list = h
        .get("/v1/miner/sector-numbers/reservations", Some(&admin))
        .await
        .json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"batch-a") && names.contains(&"batch-b"),
        "{list}"
    );
    let meta = h.get("/v1/miner/sector-numbers", Some(&admin)).await.json();
    let reserved = &meta["Reserved"];
    assert!(reserved.as_array().is_some_and(|r| !r.is_empty()), "{meta}");

    // Taken names and colliding numbers conflict; a bad name or body is 400.
    h.send_json(
        Method::POST,
        "/v1/miner/sector-numbers/reservations",
        Some(&admin),
        Some(&json!({"Name": "batch-a", "Count": 1})),
    )
    .await
    .problem(409, "conflict");
    h.send_json(
        Method::POST,
        "/v1/miner/sector-numbers/reservations",
        Some(&admin),
        Some(&json!({"Name": "batch-c", "Sectors": [1001]})),
    )
    .await
    .problem(409, "conflict");
    let p = h
        .send_json(
            Method::POST,
            "/v1/miner/sector-numbers/reservations",
            Some(&admin),
            Some(&json!({"Name": "bad name", "Count": 1})),
        )
        .await
        .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("\"Name\""), "{p}");
    h.send_json(
        Method::POST,
        "/v1/miner/sector-numbers/reservations",
        Some(&admin),
        Some(&json!({"Name": "both", "Count": 1, "Sectors": [7000]})),
    )
    .await
    .problem(400, "invalid_body");

    let r = h.send(Method::DELETE, &location, Some(&admin)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    h.get(&location, Some(&admin))
        .await
        .problem(404, "not_found");
    h.send(Method::DELETE, &location, Some(&admin))
        .await
        .problem(404, "not_found");
}

#[actix_web::test]
async fn sector_actions_change_what_later_reads_see() {
    let h = harness().await;
    let admin = h.miner_token_up_to(Perm::Admin);
    let state_of = |n: u64| {
        let h = &h;
        let admin = admin.clone();
        async move {
            h.get(&format!("/v1/miner/sectors/{n}"), Some(&admin))
                .await
                .json()["State"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };

    // Upgrade: mark, then abort.
    let r = h
        .send(Method::POST, "/v1/miner/sectors/7/upgrade", Some(&admin))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(state_of(7).await, "SnapDealsWaitDeals");
    let again = h
        .send(Method::POST, "/v1/miner/sectors/7/upgrade", Some(&admin))
        .await;
    again.problem(409, "conflict");
    let r = h
        .send(Method::DELETE, "/v1/miner/sectors/7/upgrade", Some(&admin))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(state_of(7).await, "Proving");

    // Sealing starts only from WaitDeals.
    let r = h
        .send(
            Method::POST,
            "/v1/miner/sectors/99/start-sealing",
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(state_of(99).await, "PreCommit1");
    h.send(
        Method::POST,
        "/v1/miner/sectors/99/start-sealing",
        Some(&admin),
    )
    .await
    .problem(409, "conflict");

    // Forced into the pre-commit batch, then flushed.
    let r = h
        .send_json(
            Method::PUT,
            "/v1/miner/sectors/12/state",
            Some(&admin),
            Some(&json!({"State": "SubmitPreCommitBatch"})),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let queued = h
        .get("/v1/miner/batches/precommit", Some(&admin))
        .await
        .json();
    assert_eq!(queued, json!([{"Miner": 1000, "Number": 12}]));
    let flushed = h
        .send(
            Method::POST,
            "/v1/miner/batches/precommit/flush",
            Some(&admin),
        )
        .await;
    assert_eq!(flushed.status, 200, "{}", flushed.text);
    assert_eq!(flushed.json()[0]["Sectors"], json!([12]));
    assert_eq!(
        h.get("/v1/miner/batches/precommit", Some(&admin))
            .await
            .json(),
        json!([])
    );

    // Terminated: queued, then flushed as one message.
    let r = h
        .send(Method::POST, "/v1/miner/sectors/3/terminate", Some(&admin))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let queued = h
        .get("/v1/miner/batches/terminate", Some(&admin))
        .await
        .json();
    assert_eq!(queued, json!([{"Miner": 1000, "Number": 3}]));
    let flushed = h
        .send(
            Method::POST,
            "/v1/miner/batches/terminate/flush",
            Some(&admin),
        )
        .await
        .json();
    assert_eq!(flushed[0]["Sectors"], json!([3]));
    assert!(flushed[0]["Msg"]["/"].is_string(), "{flushed}");
    assert_eq!(state_of(3).await, "TerminateWait");

    // A faulty sector recovers.
    let faulty = all_pages(&h, &admin, "&state=Faulty", 100).await;
    let n = faulty[0]["SectorID"].as_u64().unwrap();
    let r = h
        .send_json(
            Method::POST,
            "/v1/miner/sectors/recoveries",
            Some(&admin),
            Some(&json!({"Sectors": [n]})),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert!(r.header("location").unwrap().starts_with("/v1/messages/"));
    assert_eq!(state_of(n).await, "Proving");
    h.send_json(
        Method::POST,
        "/v1/miner/sectors/recoveries",
        Some(&admin),
        Some(&json!({"Sectors": [n, n]})),
    )
    .await
    .problem(400, "invalid_body");

    // A received sector is in the pipeline; receiving it twice conflicts.
    let body = json!({"State": "Proving", "Sector": {"Miner": 1000, "Number": 700}, "Type": 8});
    let r = h
        .send_json(
            Method::POST,
            "/v1/miner/sectors/received",
            Some(&admin),
            Some(&body),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(state_of(700).await, "Proving");
    h.send_json(
        Method::POST,
        "/v1/miner/sectors/received",
        Some(&admin),
        Some(&body),
    )
    .await
    .problem(409, "conflict");

    // A piece goes into an open sector, whose deals then list it.
    let r = h
        .send_json(
            Method::POST,
            "/v1/miner/pieces",
            Some(&admin),
            Some(&json!({"Size": 2032, "Data": {"Type": "http", "Info": "https://data.example.com/p.car"},
                "Deal": {"DealID": 777, "KeepUnsealed": true}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let sector = r.json()["Sector"].as_u64().unwrap();
    let status = h
        .get(r.header("location").unwrap(), Some(&admin))
        .await
        .json();
    assert_eq!(status["SectorID"], sector);
    assert!(status["Deals"].as_array().unwrap().contains(&json!(777)));
    let refs = h
        .get("/v1/miner/sectors/refs?limit=1000", Some(&admin))
        .await
        .json();
    assert!(refs["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["DealID"] == 777 && i["Refs"][0]["SectorID"] == sector));
    h.send_json(
        Method::POST,
        "/v1/miner/pieces",
        Some(&admin),
        Some(&json!({"Size": 2032, "Data": {"Type": "push", "Info": "x"}, "Deal": {}})),
    )
    .await
    .problem(400, "invalid_body");
}
