//! The miner's storage routes: the sample request of each operation with parameters, and their own tests.

use lotus_rest::auth::Perm;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{Harness, Options};
use crate::table::SampleRequest;

/// The simulated miner's storage path `i` (0 to 3), as it makes them with its default seed.
fn path_id(i: u64) -> String {
    fn mix(seed: u64, n: u64) -> u64 {
        let mut x = seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x
    }
    format!(
        "{:08x}-1111-4000-8000-{:012x}",
        i + 1,
        mix(1, i) & 0xffff_ffff_ffff
    )
}

/// The simulated miner's first worker.
const WORKER: &str = "00000001-0000-4000-8000-000000000001";
/// Sector 90 is in PreCommit1 on the first worker: its job and the locks it holds.
const JOB: &str = "0000005a-2222-4000-8000-00000000005a";
/// Sector 93 is committing; its next task waits in the scheduler's queue.
const REQUEST: &str = "0000005d-5555-4000-8000-00000000005d";

fn attach_body(id: &str) -> Value {
    json!({
        "Info": {"ID": id, "URLs": ["http://10.0.0.5:3456/remote"], "Weight": 10, "CanSeal": true,
            "CanStore": false, "Groups": ["workers"], "DenyTypes": ["unsealed"]},
        "Stat": {"Capacity": 4398046511104u64, "Available": 3298534883328u64, "FSAvailable": 3298534883328u64,
            "Reserved": 0, "Max": 0, "Used": 1099511627776u64},
    })
}

/// The sample request of each of this module's operations that has path parameters or a body.
pub fn samples(h: &Harness) -> Vec<SampleRequest> {
    let id = path_id(1);
    let s = |op, method, path: String, body| SampleRequest::with(op, method, path, body);
    vec![
        s(
            "create_miner_storage_path",
            Method::POST,
            "/v1/miner/storage/paths".into(),
            Some(attach_body("9f1c2d3e-4b5a-4c6d-8e7f-101112131415")),
        ),
        SampleRequest::get(
            "get_miner_storage_path",
            format!("/v1/miner/storage/paths/{id}"),
        ),
        s(
            "delete_miner_storage_path",
            Method::DELETE,
            format!("/v1/miner/storage/paths/{id}"),
            None,
        ),
        SampleRequest::get(
            "get_miner_storage_path_stat",
            format!("/v1/miner/storage/paths/{id}/stat"),
        ),
        s(
            "put_miner_storage_path_health",
            Method::PUT,
            format!("/v1/miner/storage/paths/{id}/health"),
            Some(
                json!({"Stat": {"Capacity": 100, "Available": 50, "FSAvailable": 50, "Reserved": 0, "Max": 0, "Used": 50}}),
            ),
        ),
        SampleRequest::get(
            "list_miner_storage_path_sectors",
            format!("/v1/miner/storage/paths/{id}/sectors?limit=5"),
        ),
        s(
            "create_miner_storage_local",
            Method::POST,
            "/v1/miner/storage/local".into(),
            Some(json!({"Path": "/mnt/store9"})),
        ),
        s(
            "delete_miner_storage_local",
            Method::DELETE,
            format!("/v1/miner/storage/local?path=/var/lib/lotus-miner/{id}"),
            None,
        ),
        s(
            "redeclare_miner_storage_local",
            Method::POST,
            "/v1/miner/storage/local/redeclare".into(),
            Some(json!({"ID": id, "DropMissing": true})),
        ),
        SampleRequest::get(
            "list_miner_sector_locations",
            "/v1/miner/storage/sectors/9/locations?types=sealed,cache&allow_fetch=true",
        ),
        s(
            "create_miner_sector_location",
            Method::POST,
            "/v1/miner/storage/sectors/9/locations".into(),
            Some(json!({"ID": id, "Types": ["unsealed"], "Primary": false})),
        ),
        s(
            "delete_miner_sector_location",
            Method::DELETE,
            format!("/v1/miner/storage/sectors/9/locations/{id}?types=sealed"),
            None,
        ),
        SampleRequest::get(
            "list_miner_storage_allocations",
            "/v1/miner/storage/allocations?types=sealed,cache&path_type=storage",
        ),
        s(
            "create_miner_storage_lock",
            Method::POST,
            "/v1/miner/storage/locks?try=true".into(),
            Some(json!({"Sector": 9, "Read": ["sealed"]})),
        ),
        s(
            "verify_miner_storage_token",
            Method::POST,
            "/v1/miner/storage/auth/verify".into(),
            Some(json!({"Token": h.miner_token_up_to(Perm::Read)})),
        ),
        s(
            "connect_miner_worker",
            Method::POST,
            "/v1/miner/workers".into(),
            Some(json!({"Url": "http://10.0.0.7:3456/rpc/v0"})),
        ),
        SampleRequest::get("get_miner_worker", format!("/v1/miner/workers/{WORKER}")),
        SampleRequest::get("get_miner_job", format!("/v1/miner/jobs/{JOB}")),
        s(
            "delete_miner_job",
            Method::DELETE,
            format!("/v1/miner/jobs/{JOB}"),
            None,
        ),
        s(
            "delete_miner_scheduler_request",
            Method::DELETE,
            format!("/v1/miner/scheduler/requests/{REQUEST}"),
            None,
        ),
    ]
}

async fn harness() -> (Harness, String) {
    let h = Harness::with(Options {
        miner: true,
        ..Default::default()
    })
    .await;
    let admin = h.miner_token_up_to(Perm::Admin);
    (h, admin)
}

async fn send(
    h: &Harness,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> crate::common::Reply {
    h.send_json(method, path, Some(token), body.as_ref()).await
}

#[actix_web::test]
async fn an_attached_path_is_listed_and_gettable_until_detached() {
    let (h, admin) = harness().await;
    let id = "9f1c2d3e-4b5a-4c6d-8e7f-101112131415";
    let r = send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/storage/paths",
        Some(attach_body(id)),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/miner/storage/paths/{id}").as_str())
    );
    assert_eq!(r.json()["DenyTypes"], json!(["unsealed"]));

    let list = h.get("/v1/miner/storage/paths", Some(&admin)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let items = list.json()["items"].as_array().unwrap().clone();
    assert_eq!(list.json()["total"], 5);
    let entry = items.iter().find(|p| p["ID"] == id).expect("listed");
    assert_eq!(entry["SectorCount"], 0);
    assert_eq!(entry["LocalPath"], Value::Null);
    // the miner's own paths are local, with their sectors
    let first = items
        .iter()
        .find(|p| p["ID"] == path_id(0).as_str())
        .unwrap();
    assert!(first["LocalPath"].as_str().unwrap().starts_with('/'));
    assert_eq!(first["SectorCount"], 30);
    assert_eq!(first["FileCounts"]["sealed"], 30);

    let got = h
        .get(&format!("/v1/miner/storage/paths/{id}"), Some(&admin))
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json()["URLs"], json!(["http://10.0.0.5:3456/remote"]));
    assert_eq!(got.json()["Stat"]["Capacity"], 4398046511104u64);

    // attached again from another URL: both URLs; detaching one leaves the other
    let mut again = attach_body(id);
    again["Info"]["URLs"] = json!(["http://10.0.0.6:3456/remote"]);
    let r = send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/storage/paths",
        Some(again),
    )
    .await;
    assert_eq!(r.json()["URLs"].as_array().unwrap().len(), 2, "{}", r.text);
    let r = send(
        &h,
        &admin,
        Method::DELETE,
        &format!("/v1/miner/storage/paths/{id}?url=http://10.0.0.5:3456/remote"),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let got = h
        .get(&format!("/v1/miner/storage/paths/{id}"), Some(&admin))
        .await;
    assert_eq!(got.json()["URLs"], json!(["http://10.0.0.6:3456/remote"]));
    send(
        &h,
        &admin,
        Method::DELETE,
        &format!("/v1/miner/storage/paths/{id}?url=http://nowhere/remote"),
        None,
    )
    .await
    .problem(404, "not_found");

    let r = send(
        &h,
        &admin,
        Method::DELETE,
        &format!("/v1/miner/storage/paths/{id}"),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    h.get(&format!("/v1/miner/storage/paths/{id}"), Some(&admin))
        .await
        .problem(404, "not_found");
    h.get(&format!("/v1/miner/storage/paths/{id}/stat"), Some(&admin))
        .await
        .problem(404, "not_found");
    send(
        &h,
        &admin,
        Method::DELETE,
        &format!("/v1/miner/storage/paths/{id}"),
        None,
    )
    .await
    .problem(404, "not_found");
    let list = h.get("/v1/miner/storage/paths", Some(&admin)).await;
    assert_eq!(list.json()["total"], 4);
}

#[actix_web::test]
async fn paths_are_paged_by_id() {
    let (h, admin) = harness().await;
    let first = h.get("/v1/miner/storage/paths?limit=3", Some(&admin)).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let body = first.json();
    assert_eq!(body["items"].as_array().unwrap().len(), 3);
    let cursor = body["next_cursor"].as_str().unwrap().to_owned();
    let next = h
        .get(
            &format!("/v1/miner/storage/paths?limit=3&cursor={cursor}"),
            Some(&admin),
        )
        .await;
    let rest = next.json();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1, "{rest}");
    assert!(rest.get("next_cursor").is_none());
    assert_eq!(rest["items"][0]["ID"], path_id(3).as_str());
    // a cursor of another list is refused
    let sectors = h
        .get(
            &format!("/v1/miner/storage/paths/{}/sectors?limit=2", path_id(0)),
            Some(&admin),
        )
        .await;
    assert_eq!(sectors.status, 200, "{}", sectors.text);
    assert_eq!(sectors.json()["total"], 30);
    let types = sectors.json()["items"][0]["Types"].clone();
    assert!(types.as_array().unwrap().len() >= 2, "{types}");
    let other = sectors.json()["next_cursor"].as_str().unwrap().to_owned();
    h.get(
        &format!("/v1/miner/storage/paths?cursor={other}"),
        Some(&admin),
    )
    .await
    .problem(400, "invalid_parameter");
}

#[actix_web::test]
async fn a_declared_sector_location_is_found_until_dropped() {
    let (h, admin) = harness().await;
    let id = path_id(2);
    let find = "/v1/miner/storage/sectors/9/locations?types=update";
    let r = h.get(find, Some(&admin)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!([]));

    let r = send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/storage/sectors/9/locations",
        Some(json!({"ID": id, "Types": ["update", "update-cache"], "Primary": true})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.header("location"),
        Some("/v1/miner/storage/sectors/9/locations?types=update,update-cache")
    );
    let found = h.get(find, Some(&admin)).await.json();
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["ID"], id.as_str());
    assert_eq!(found[0]["Primary"], true);
    // the path's sector list shows the bitmask converted
    let list = h
        .get(
            &format!("/v1/miner/storage/paths/{id}/sectors?limit=1000"),
            Some(&admin),
        )
        .await
        .json();
    let decl = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["Number"] == 9)
        .unwrap()
        .clone();
    assert_eq!(decl["SectorFileType"], 8 | 16);
    assert_eq!(decl["Types"], json!(["update", "update-cache"]));

    let r = send(
        &h,
        &admin,
        Method::DELETE,
        &format!("/v1/miner/storage/sectors/9/locations/{id}?types=update"),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(h.get(find, Some(&admin)).await.json(), json!([]));
    let rest = h
        .get(
            "/v1/miner/storage/sectors/9/locations?types=update-cache",
            Some(&admin),
        )
        .await
        .json();
    assert_eq!(rest[0]["ID"], id.as_str());

    // declaring on a path the index does not have
    send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/storage/sectors/9/locations",
        Some(json!({"ID": "9f1c2d3e-4b5a-4c6d-8e7f-101112131415", "Types": ["sealed"]})),
    )
    .await
    .problem(404, "not_found");
}

#[actix_web::test]
async fn health_reports_show_in_stat_info_and_allocations() {
    let (h, admin) = harness().await;
    let id = path_id(1);
    let stat = json!({"Capacity": 1000u64 << 30, "Available": 100u64 << 30, "FSAvailable": 100u64 << 30,
        "Reserved": 0, "Max": 0, "Used": 900u64 << 30});
    let r = send(
        &h,
        &admin,
        Method::PUT,
        &format!("/v1/miner/storage/paths/{id}/health"),
        Some(json!({"Stat": stat})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let got = h
        .get(&format!("/v1/miner/storage/paths/{id}/stat"), Some(&admin))
        .await;
    assert_eq!(got.json(), stat);
    assert_eq!(
        h.get(&format!("/v1/miner/storage/paths/{id}"), Some(&admin))
            .await
            .json()["Stat"],
        stat
    );
    let alloc = "/v1/miner/storage/allocations?types=sealed&path_type=storage";
    let ids = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["ID"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(ids(h.get(alloc, Some(&admin)).await.json()).contains(&id));

    // a failing path: its stat cannot be read, and it gets no new files
    let r = send(
        &h,
        &admin,
        Method::PUT,
        &format!("/v1/miner/storage/paths/{id}/health"),
        Some(json!({"Stat": stat, "Err": "input/output error"})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let info = h
        .get(&format!("/v1/miner/storage/paths/{id}"), Some(&admin))
        .await
        .json();
    assert!(info.get("Stat").is_none(), "{info}");
    assert!(info["StatError"]
        .as_str()
        .unwrap()
        .contains("input/output error"));
    assert!(!ids(h.get(alloc, Some(&admin)).await.json()).contains(&id));

    send(
        &h,
        &admin,
        Method::PUT,
        "/v1/miner/storage/paths/9f1c2d3e-4b5a-4c6d-8e7f-101112131415/health",
        Some(json!({"Stat": stat})),
    )
    .await
    .problem(404, "not_found");
    let p = send(
        &h,
        &admin,
        Method::PUT,
        &format!("/v1/miner/storage/paths/{id}/health"),
        Some(json!({"Stat": {"Capacity": 1, "Available": 2, "FSAvailable": 2, "Reserved": 0, "Max": 0, "Used": 0}})),
    )
    .await
    .problem(400, "invalid_body");
    assert!(
        p["detail"].as_str().unwrap().contains("Stat.Available"),
        "{p}"
    );
}

#[actix_web::test]
async fn locks_held_by_a_job_conflict_until_it_is_aborted() {
    let (h, admin) = harness().await;
    let locks = h
        .get("/v1/miner/storage/locks?sector=90", Some(&admin))
        .await;
    assert_eq!(locks.status, 200, "{}", locks.text);
    let lock = locks.json()[0].clone();
    assert_eq!(lock["Sector"]["Number"], 90);
    assert_eq!(lock["WriteTypes"], json!(["sealed", "cache"]));
    assert_eq!(lock["ReadTypes"], json!(["unsealed"]));
    assert_eq!(lock["Write"], json!([0, 1, 1, 0, 0, 0]));

    let try_lock = |body: Value| {
        let h = &h;
        let admin = &admin;
        async move {
            send(
                h,
                admin,
                Method::POST,
                "/v1/miner/storage/locks?try=true",
                Some(body),
            )
            .await
        }
    };
    let p = try_lock(json!({"Sector": 90, "Write": ["sealed"]}))
        .await
        .problem(409, "conflict");
    assert!(p["detail"].as_str().unwrap().contains("sector 90"), "{p}");
    // reading the unsealed copy is free
    let r = try_lock(json!({"Sector": 90, "Read": ["unsealed"]})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Acquired"], true);
    assert_eq!(r.json()["Sector"], json!({"Miner": 1000, "Number": 90}));

    // the job holding them
    let jobs = h
        .get(
            &format!("/v1/miner/jobs?worker={WORKER}&sector=90"),
            Some(&admin),
        )
        .await
        .json();
    assert_eq!(jobs["total"], 1, "{jobs}");
    assert_eq!(jobs["items"][0]["ID"]["ID"], JOB);
    assert_eq!(jobs["items"][0]["Worker"], WORKER);

    let r = send(
        &h,
        &admin,
        Method::DELETE,
        &format!("/v1/miner/jobs/{JOB}"),
        None,
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    h.get(&format!("/v1/miner/jobs/{JOB}"), Some(&admin))
        .await
        .problem(404, "not_found");
    send(
        &h,
        &admin,
        Method::DELETE,
        &format!("/v1/miner/jobs/{JOB}"),
        None,
    )
    .await
    .problem(404, "not_found");
    let jobs = h.get("/v1/miner/jobs?sector=90", Some(&admin)).await.json();
    assert_eq!(jobs["total"], 0, "{jobs}");
    assert_eq!(
        h.get("/v1/miner/storage/locks?sector=90", Some(&admin))
            .await
            .json(),
        json!([])
    );
    let r = try_lock(json!({"Sector": 90, "Write": ["sealed", "cache"]})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // waiting for a lock that is free
    let r = send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/storage/locks",
        Some(json!({"Sector": 90, "Write": ["sealed"]})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[actix_web::test]
async fn bad_file_types_and_ids_are_400_naming_the_field() {
    let (h, admin) = harness().await;
    let p = h
        .get(
            "/v1/miner/storage/sectors/9/locations?types=sealed,sealy",
            Some(&admin),
        )
        .await
        .problem(400, "invalid_parameter");
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("types") && detail.contains("\"sealy\""),
        "{detail}"
    );
    let p = send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/storage/sectors/9/locations",
        Some(json!({"ID": path_id(0), "Types": ["cache", "hot"]})),
    )
    .await
    .problem(400, "invalid_body");
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("Types[1]") && detail.contains("hot"),
        "{detail}"
    );
    let p = send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/storage/sectors/9/locations",
        Some(json!({"ID": path_id(0), "Types": []})),
    )
    .await
    .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("Types"), "{p}");
    let p = send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/storage/sectors/9/locations",
        Some(json!({"ID": "not-a-uuid", "Types": ["sealed"]})),
    )
    .await
    .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("\"ID\""), "{p}");
    for path in [
        "/v1/miner/storage/paths/not-a-uuid",
        "/v1/miner/storage/paths/12345/stat",
        "/v1/miner/workers/worker-1",
        "/v1/miner/jobs?worker=nope",
    ] {
        let p = h
            .get(path, Some(&admin))
            .await
            .problem(400, "invalid_parameter");
        assert!(
            p["detail"].as_str().unwrap().contains("UUID"),
            "{path}: {p}"
        );
    }
    let p = h
        .get("/v1/miner/storage/sectors/x9/locations", Some(&admin))
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("number"), "{p}");
    let p = h
        .get(
            "/v1/miner/storage/allocations?types=sealed&path_type=fast",
            Some(&admin),
        )
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("path_type"), "{p}");
    let p = h
        .get("/v1/miner/storage/allocations", Some(&admin))
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("types"), "{p}");
    let p = h
        .get(
            "/v1/miner/storage/allocations?types=sealed&size=1000",
            Some(&admin),
        )
        .await
        .problem(400, "invalid_parameter");
    assert!(p["detail"].as_str().unwrap().contains("size"), "{p}");
    let mut bad = attach_body("9f1c2d3e-4b5a-4c6d-8e7f-101112131415");
    bad["Info"]["AllowTypes"] = json!(["sealed", "tape"]);
    let p = send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/storage/paths",
        Some(bad),
    )
    .await
    .problem(400, "invalid_body");
    assert!(
        p["detail"].as_str().unwrap().contains("Info.AllowTypes[1]"),
        "{p}"
    );
    let mut bad = attach_body("9f1c2d3e-4b5a-4c6d-8e7f-101112131415");
    bad["Info"]["URLs"] = json!(["ftp://x/remote"]);
    let p = send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/storage/paths",
        Some(bad),
    )
    .await
    .problem(400, "invalid_body");
    assert!(
        p["detail"].as_str().unwrap().contains("Info.URLs[0]"),
        "{p}"
    );
    let p = send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/storage/locks",
        Some(json!({"Sector": 9})),
    )
    .await
    .problem(400, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("Write"), "{p}");
    // nothing of this reached the miner but what validation needed
    let miner = h.miner.clone().unwrap();
    miner.reset_calls();
    h.get("/v1/miner/storage/paths/not-a-uuid", Some(&admin))
        .await;
    assert!(miner.calls().is_empty());
}

#[actix_web::test]
async fn local_paths_are_added_listed_and_detached() {
    let (h, admin) = harness().await;
    let r = send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/storage/local",
        Some(json!({"Path": "/mnt/store9"})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json()["ID"].as_str().unwrap().to_owned();
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/miner/storage/paths/{id}").as_str())
    );
    let local = h.get("/v1/miner/storage/local", Some(&admin)).await.json();
    assert!(local
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["ID"] == id.as_str() && p["Path"] == "/mnt/store9"));
    assert_eq!(
        h.get(&format!("/v1/miner/storage/paths/{id}"), Some(&admin))
            .await
            .status,
        200
    );
    send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/storage/local",
        Some(json!({"Path": "/mnt/store9"})),
    )
    .await
    .problem(409, "conflict");
    send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/storage/local",
        Some(json!({"Path": "relative/dir"})),
    )
    .await
    .problem(400, "invalid_body");

    let r = send(
        &h,
        &admin,
        Method::DELETE,
        "/v1/miner/storage/local?path=/mnt/store9",
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    h.get(&format!("/v1/miner/storage/paths/{id}"), Some(&admin))
        .await
        .problem(404, "not_found");
    send(
        &h,
        &admin,
        Method::DELETE,
        "/v1/miner/storage/local?path=/mnt/store9",
        None,
    )
    .await
    .problem(404, "not_found");
    send(&h, &admin, Method::DELETE, "/v1/miner/storage/local", None)
        .await
        .problem(400, "invalid_parameter");
}

#[actix_web::test]
async fn redeclaring_restores_what_is_on_disk() {
    let (h, admin) = harness().await;
    let id = path_id(0);
    // sector 0 is on path 0
    let find = "/v1/miner/storage/sectors/0/locations?types=sealed";
    assert_eq!(h.get(find, Some(&admin)).await.json()[0]["ID"], id.as_str());
    let r = send(
        &h,
        &admin,
        Method::DELETE,
        &format!("/v1/miner/storage/sectors/0/locations/{id}"),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(h.get(find, Some(&admin)).await.json(), json!([]));
    let r = send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/storage/local/redeclare",
        Some(json!({"ID": id})),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(h.get(find, Some(&admin)).await.json()[0]["ID"], id.as_str());
    send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/storage/local/redeclare",
        Some(json!({"ID": "9f1c2d3e-4b5a-4c6d-8e7f-101112131415"})),
    )
    .await
    .problem(404, "not_found");
}

#[actix_web::test]
async fn workers_connect_and_the_scheduler_queue_shrinks() {
    let (h, admin) = harness().await;
    let before = h.get("/v1/miner/workers", Some(&admin)).await.json();
    assert_eq!(before["total"], 3, "{before}");
    assert_eq!(before["items"][0]["ID"], WORKER);
    assert_eq!(before["items"][0]["Info"]["Hostname"], "worker-1");
    let r = send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/workers",
        Some(json!({"Url": "http://10.0.0.7:3456/rpc/v0"})),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.header("location"), Some("/v1/miner/workers"));
    let after = h.get("/v1/miner/workers", Some(&admin)).await.json();
    assert_eq!(after["total"], 4);
    assert!(after["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["Info"]["Hostname"] == "10.0.0.7"));
    send(
        &h,
        &admin,
        Method::POST,
        "/v1/miner/workers",
        Some(json!({"Url": "not a url"})),
    )
    .await
    .problem(400, "invalid_body");
    h.get(
        "/v1/miner/workers/0fffffff-0000-4000-8000-000000000000",
        Some(&admin),
    )
    .await
    .problem(404, "not_found");

    let diag = h.get("/v1/miner/scheduler", Some(&admin)).await.json();
    let requests = diag["SchedInfo"]["Requests"].as_array().unwrap().len();
    assert!(diag["SchedInfo"]["Requests"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["SchedId"] == REQUEST));
    let r = send(
        &h,
        &admin,
        Method::DELETE,
        &format!("/v1/miner/scheduler/requests/{REQUEST}"),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let diag = send(&h, &admin, Method::POST, "/v1/miner/scheduler/run", None).await;
    assert_eq!(diag.status, 200, "{}", diag.text);
    assert_eq!(
        diag.json()["SchedInfo"]["Requests"]
            .as_array()
            .unwrap()
            .len(),
        requests - 1
    );
    send(
        &h,
        &admin,
        Method::DELETE,
        &format!("/v1/miner/scheduler/requests/{REQUEST}"),
        None,
    )
    .await
    .problem(404, "not_found");
}

#[actix_web::test]
async fn storage_tokens_are_verified_by_the_miner() {
    let (h, _) = harness().await;
    let read = h.miner_token_up_to(Perm::Read);
    let write = h.miner_token_up_to(Perm::Write);
    let r = send(
        &h,
        &read,
        Method::POST,
        "/v1/miner/storage/auth/verify",
        Some(json!({"Token": write})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"Valid": true, "Permissions": ["read", "write"]})
    );
    let other = lotus_rest::auth::Secret::generate().mint(Perm::Admin.up_to());
    let r = send(
        &h,
        &read,
        Method::POST,
        "/v1/miner/storage/auth/verify",
        Some(json!({"Token": other})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["Valid"], false);
    assert!(r.json()["Reason"].as_str().is_some());
}
